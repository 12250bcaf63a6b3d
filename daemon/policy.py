"""Suppression policy: replay an address's events (outcomes, manual actions) into a decision.

The rules, in the order events happened (an outcome happens when its NDR is dated):

- a hard outcome suppresses at once; a complaint does too when ``suppress_complaints``;
- a transient failure keeps the address and is counted; with escalation on, N transient
  failures of the recipient's side over at least D days with no success in between suppress
  it ("escalated"); failures that are the sender's problem (blocked, spam, policy, auth ...)
  never count towards that, and never suppress even when a detector calls them hard;
- a manual suppress wins over everything but the allow-list; a manual release stands until
  NEW evidence arrives after it: a hard bounce (or a complaint) — never old evidence, never
  escalation;
- an allow-listed address is never suppressed; a malformed one is never even considered.

``decide`` is pure; ``recompute`` stores its result in ``addresses`` for the given addresses.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from itertools import islice

from sqlalchemy import select
from sqlalchemy.orm import Session

from classifiers import Kind, Reason

from . import counters
from .addresses import allow_matches
from .db import upsert_insert
from .config import PolicyConfig
from .models import Address, AddressAction, AddressState, ManualAction, Message, Outcome
from .webhook import record_change

REASON_MANUAL = "manual"
REASON_ESCALATED = "escalated"
CHUNK = 500   # addresses recomputed per round of queries

#: Transient failures that are the sender's problem (or the message's), not the recipient's:
#: they never escalate to a suppression.
SENDER_SIDE: frozenset[str] = frozenset({
    Reason.BLOCKED, Reason.SPAMDETECTED, Reason.POLICYVIOLATION, Reason.AUTHFAILURE,
    Reason.BADREPUTATION, Reason.NORELAYING, Reason.SECURITYERROR, Reason.REJECTED,
    Reason.REQUIREPTR, Reason.CONTENTERROR, Reason.VIRUSDETECTED, Reason.NOTCOMPLIANTRFC,
    Reason.SYNTAXERROR, Reason.FAILEDSTARTTLS, Reason.SPEEDING, Reason.TOOMANYCONN,
    Reason.MESGTOOBIG, Reason.EXCEEDLIMIT,
})


class Effect(StrEnum):
    """What one event means for an address."""

    HARD = "hard"                # permanently dead
    SOFT = "soft"                # a transient failure
    COMPLAINT = "complaint"      # the recipient complained (ARF)
    SUCCESS = "success"          # delivered: breaks an escalation streak
    IGNORE = "ignore"            # delay notice, auto-reply
    SUPPRESS = "suppress"        # manual
    RELEASE = "release"          # manual


#: RFC 3464 Action of one recipient -> effect (``failed`` depends on ``hard``).
_ACTION_EFFECTS: dict[str, Effect] = {
    "delivered": Effect.SUCCESS, "relayed": Effect.SUCCESS, "expanded": Effect.SUCCESS,
    "delayed": Effect.IGNORE,
}
#: Message kind -> effect, when neither the action nor the reason decide.
_KIND_EFFECTS: dict[str, Effect] = {
    Kind.DELIVERED: Effect.SUCCESS, Kind.DELAY: Effect.IGNORE, Kind.AUTOREPLY: Effect.IGNORE,
}


def effect_of(kind: str, reason: str, hard: bool, action: str = "") -> Effect:
    """The effect of one outcome of a message of ``kind``; the per-recipient action wins."""
    if kind == Kind.COMPLAINT or reason == Reason.FEEDBACK:
        return Effect.COMPLAINT
    action = action.strip().lower()
    if action in _ACTION_EFFECTS:
        return _ACTION_EFFECTS[action]
    if reason == Reason.DELIVERED:
        return Effect.SUCCESS
    if reason == Reason.VACATION:
        return Effect.IGNORE
    if action == "failed" or kind == Kind.BOUNCE:
        # the sender's problem never kills an address, whatever a detector said
        return Effect.HARD if hard and reason not in SENDER_SIDE else Effect.SOFT
    return _KIND_EFFECTS.get(kind, Effect.IGNORE)


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened to an address, in the policy's terms."""

    at: datetime
    effect: Effect
    reason: str = ""
    status: str = ""
    reply_code: str = ""
    message_pk: int | None = None
    message_id: str = ""         # the NDR's Message-ID
    note: str = ""               # a manual action's stated reason


@dataclass(frozen=True, slots=True)
class Decision:
    """The policy's verdict on one address, and the counts behind it."""

    state: AddressState = AddressState.ACTIVE
    reason: str = ""
    status: str = ""
    reply_code: str = ""
    note: str = ""
    manual: bool = False
    suppressed_at: datetime | None = None
    source_message_pk: int | None = None
    source_message_id: str = ""
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    bounce_count: int = 0
    soft_count: int = 0


_MANUAL = (Effect.SUPPRESS, Effect.RELEASE)


def decide(events: Iterable[Event], policy: PolicyConfig, *, allowed: bool = False) -> Decision:
    """Replay ``events`` (any order; sorted by time, outcomes before manual actions on ties)."""
    d = Decision()
    streak: list[datetime] = []   # recipient-side transient failures since the last success
    seen: list[datetime] = []
    bounces = softs = 0
    for ev in sorted(events, key=lambda e: (e.at, e.effect in _MANUAL)):
        if ev.effect not in _MANUAL:
            seen.append(ev.at)
        if ev.effect is Effect.HARD:
            bounces += 1
        elif ev.effect is Effect.SOFT:
            bounces, softs = bounces + 1, softs + 1
            if ev.reason not in SENDER_SIDE:
                streak.append(ev.at)
        elif ev.effect in (Effect.SUCCESS, Effect.RELEASE):
            streak.clear()
        d = _step(d, ev, streak, policy, allowed)
    return replace(d, first_seen=seen[0] if seen else None, last_seen=seen[-1] if seen else None,
                   bounce_count=bounces, soft_count=softs)


def _step(d: Decision, ev: Event, streak: list[datetime], policy: PolicyConfig,
          allowed: bool) -> Decision:
    """The decision after one event (the counts are the caller's)."""
    suppressed = d.state is AddressState.SUPPRESSED
    if ev.effect is Effect.RELEASE:
        return replace(d, state=AddressState.RELEASED, manual=True, reason="", status="",
                       reply_code="", note=ev.note, suppressed_at=None, source_message_pk=None,
                       source_message_id="")
    if allowed:
        return _allowed_note(d, ev, streak, policy)
    if ev.effect is Effect.SUPPRESS:
        return _suppress(d, ev, REASON_MANUAL, manual=True)
    if suppressed:
        return d
    if ev.effect is Effect.HARD:
        return _suppress(d, ev, ev.reason)
    if ev.effect is Effect.COMPLAINT and policy.suppress_complaints:
        return _suppress(d, ev, str(Reason.FEEDBACK))
    if d.state is AddressState.ACTIVE and _escalates(streak, policy):
        days = (streak[-1] - streak[0]).days
        note = f"{len(streak)} transient failures over {days} days, last {ev.reason}"
        return _suppress(d, replace(ev, note=note), REASON_ESCALATED)
    return d


def _escalates(streak: Sequence[datetime], policy: PolicyConfig) -> bool:
    return (policy.escalation_enabled and len(streak) >= policy.escalation_count
            and streak[-1] - streak[0] >= timedelta(days=policy.escalation_days))


def _suppress(d: Decision, ev: Event, reason: str, *, manual: bool = False) -> Decision:
    return replace(d, state=AddressState.SUPPRESSED, reason=reason, status=ev.status,
                   reply_code=ev.reply_code, note=ev.note, manual=manual, suppressed_at=ev.at,
                   source_message_pk=ev.message_pk, source_message_id=ev.message_id)


def _allowed_note(d: Decision, ev: Event, streak: list[datetime], policy: PolicyConfig) -> Decision:
    """Allow-listed: stay as we are, but say what would have happened."""
    would = (ev.effect in (Effect.HARD, Effect.SUPPRESS)
             or (ev.effect is Effect.COMPLAINT and policy.suppress_complaints)
             or (ev.effect is Effect.SOFT and _escalates(streak, policy)))
    if not would:
        return d
    return replace(d, note=f"allow-listed; not suppressed for {ev.reason or ev.effect} at {ev.at:%Y-%m-%d}")


# --- the database side -------------------------------------------------------------------

def recompute(session: Session, addresses: Iterable[str], policy: PolicyConfig, *,
              outbox: bool = False, now: datetime | None = None,
              progress: Callable[[int], None] | None = None) -> tuple[str, ...]:
    """Store the decision for each address; return those that became suppressed. With
    ``outbox`` (a webhook is configured), each suppression and release is queued for it."""
    now = now or datetime.now(timezone.utc)
    newly: list[str] = []
    it = iter(dict.fromkeys(addresses))
    while chunk := list(islice(it, CHUNK)):
        rows, created = _locked_rows(session, chunk, now)
        events = _load_events(session, chunk)
        for address in chunk:
            decision = decide(events.get(address, ()), policy,
                              allowed=allow_matches(address, policy.allow))
            row = rows[address]
            before = None if address in created else (row.state, row.reason)
            _store(row, decision, now)
            counters.add(session, counters.address_deltas(before, (row.state, row.reason)))
            if outbox:
                record_change(session, address, before and before[0], decision, now)
            if decision.state is AddressState.SUPPRESSED and (before and before[0]) != AddressState.SUPPRESSED:
                newly.append(address)
        if progress:
            progress(len(chunk))
    return tuple(newly)


def _locked_rows(session: Session, chunk: list[str],
                 now: datetime) -> tuple[dict[str, Address], set[str]]:
    """The chunk's rows, locked (``FOR UPDATE``, in address order), and the addresses that
    had none (this transaction created their rows; one created by a concurrent writer
    meanwhile is locked and read like any other). Writers of the same address (instances on one
    PostgreSQL database) take turns, and the events read after the lock include all those
    committed before it: no lost update. (SQLite has a single writer anyway.)"""
    rows = _lock(session, chunk)
    missing = sorted(set(chunk) - rows.keys())
    created: set[str] = set()
    if missing:
        table = Address.__table__
        created = set(session.scalars(   # not those another writer created meanwhile
            upsert_insert(session, table).on_conflict_do_nothing(index_elements=["address"])
            .returning(table.c.address),
            [dict(address=a, state=str(AddressState.ACTIVE), updated_at=now) for a in missing]))
        rows |= _lock(session, missing)
    return rows, created


def _lock(session: Session, addresses: list[str]) -> dict[str, Address]:
    stmt = (select(Address).where(Address.address.in_(addresses)).order_by(Address.address)
            .with_for_update().execution_options(populate_existing=True))
    return {a.address: a for a in session.scalars(stmt)}


def _load_events(session: Session, chunk: list[str]) -> dict[str, list[Event]]:
    """Every event of the chunk's addresses (plain rows: the ORM's per-row work would cost
    more than the policy itself on a long history)."""
    session.flush()
    connection = session.connection()
    events: dict[str, list[Event]] = defaultdict(list)
    outcome_rows = connection.execute(
        select(Outcome.recipient, Outcome.reason, Outcome.hard, Outcome.action, Outcome.status,
               Outcome.reply_code, Message.kind, Message.received_at, Message.id, Message.message_id)
        .join(Message, Outcome.message_pk == Message.id)
        .where(Outcome.recipient.in_(chunk), Outcome.valid.is_(True))
    )
    for rcpt, reason, hard, action, status, reply, kind, at, pk, mid in outcome_rows:
        events[rcpt].append(Event(at, effect_of(kind, reason, hard, action), reason, status,
                                  reply, pk, mid))
    actions = connection.execute(
        select(AddressAction.address, AddressAction.action, AddressAction.created_at,
               AddressAction.reason).where(AddressAction.address.in_(chunk)))
    for address, action, at, note in actions:
        effect = Effect.SUPPRESS if action == ManualAction.SUPPRESS else Effect.RELEASE
        events[address].append(Event(at, effect, note=note))
    return events


def _store(row: Address, d: Decision, now: datetime) -> None:
    for name in ("reason", "status", "reply_code", "note", "manual", "suppressed_at",
                 "source_message_pk", "source_message_id", "first_seen", "last_seen",
                 "bounce_count", "soft_count"):
        setattr(row, name, getattr(d, name))
    row.state = str(d.state)
    row.updated_at = now


def all_addresses(session: Session) -> list[str]:
    """Every address with any event or decision (for a full recompute)."""
    seen: dict[str, None] = {}
    for query in (select(Outcome.recipient).where(Outcome.valid.is_(True)).distinct(),
                  select(AddressAction.address).distinct(), select(Address.address)):
        seen.update(dict.fromkeys(session.scalars(query)))
    return sorted(seen)
