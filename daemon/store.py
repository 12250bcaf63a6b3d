"""Recording messages: store the raw bytes, classify, record outcomes, apply the policy.

Everything here runs inside the caller's transaction (see ``daemon.db.session_scope``), so a
message, its outcomes, the suppressions they cause and the advanced cursor commit together
or not at all. Unique keys — (mailbox, UIDVALIDITY, UID) on ``locations``, the content hash
on ``messages``, (message, recipient) on ``outcomes`` — make counting anything twice
impossible, whether the cause is a crash, a re-run or a UIDVALIDITY rescan.
"""
from __future__ import annotations

import email.utils
import hashlib
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from itertools import islice

from sqlalchemy import Select, func, insert, select, update
from sqlalchemy.orm import Session

import classifiers
from classifiers import Kind, Report
from classifiers import Outcome as ReportOutcome
from classifiers.message import Headers, normalise_newlines
from classifiers.mime import split_header
from classifiers.text import decode_header_value

from . import counters, policy
from .addresses import normalize_address
from .config import Config
from .models import Address, Disposition, Location, MailboxState, Message, Outcome

__all__ = [
    "Classified", "Cursor", "Disposition", "KIND_ERROR", "KIND_OVERSIZED", "Recorded",
    "get_cursor", "mailbox_key", "mark_moved", "pending_moves", "reclassify_message",
    "record_batch", "record_message", "record_poll", "reset_cursor",
]

KIND_OVERSIZED = "oversized"   # larger than limits.max_message_bytes: kept, never parsed
KIND_ERROR = "error"           # the matcher raised: kept with the error text

#: Where each kind of message goes on the server.
DISPOSITIONS: dict[str, Disposition] = {
    Kind.BOUNCE: Disposition.PROCESSED,
    Kind.DELAY: Disposition.PROCESSED,
    Kind.DELIVERED: Disposition.PROCESSED,
    Kind.COMPLAINT: Disposition.PROCESSED,
    Kind.AUTOREPLY: Disposition.PROCESSED,
    Kind.NOT_BOUNCE: Disposition.OTHER,
    Kind.UNPARSEABLE: Disposition.UNPARSED,
    KIND_OVERSIZED: Disposition.UNPARSED,
    KIND_ERROR: Disposition.UNPARSED,
}
HEADER_BYTES = 64 * 1024      # how much of a message is read for its own headers
ERROR_CHARS = 2000            # stored error texts are cut to this length
IN_CHUNK = 500                # ids per IN (...) clause

Classify = Callable[[bytes], Report]


def mailbox_key(account: str, folder: str) -> str:
    """The name a mailbox is stored under: ``account/folder``."""
    return f"{account}/{folder}"


@dataclass(frozen=True, slots=True)
class Recorded:
    """What ``record_message`` did (or found already done, when ``duplicate``)."""

    message_pk: int
    duplicate: bool
    kind: str
    disposition: Disposition
    outcomes: int
    hard: int
    suppressed: tuple[str, ...]   # addresses this message newly suppressed
    reasons: tuple[tuple[str, bool], ...] = ()   # (reason, hard) of each outcome


@dataclass(frozen=True, slots=True)
class Cursor:
    uidvalidity: int
    last_uid: int


@dataclass(frozen=True, slots=True)
class Classified:
    """The matcher's verdict, or why there is none."""

    kind: str
    report: Report | None = None
    error: str = ""

    @property
    def disposition(self) -> Disposition:
        return DISPOSITIONS.get(self.kind, Disposition.UNPARSED)


def clean(text: str, limit: int | None = None) -> str:
    """Text as every database takes it: valid UTF-8 (8-bit header bytes decoded, lone
    surrogates replaced), no NUL characters (PostgreSQL refuses them), at most ``limit`` long."""
    try:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text.replace("\x00", "")[:limit]


def classify_raw(raw: bytes, config: Config, classify: Classify | None = None) -> Classified:
    """Run the matcher on ``raw``: never raises; too big or failing gives an UNPARSED kind."""
    if len(raw) > config.limits.max_message_bytes:
        return Classified(KIND_OVERSIZED, error=f"{len(raw)} bytes > limits.max_message_bytes "
                                                f"{config.limits.max_message_bytes}")
    try:
        report = (classify or classifiers.classify)(raw)
    except Exception as exc:  # noqa: BLE001 - a matcher bug must not lose the message
        return Classified(KIND_ERROR, error=clean(f"{type(exc).__name__}: {exc}", ERROR_CHARS))
    return Classified(str(report.kind), report)


def record_message(session: Session, *, mailbox: str, uidvalidity: int, uid: int, raw: bytes,
                   config: Config, classify: Classify | None = None,
                   now: datetime | None = None) -> Recorded:
    """Store, classify and record one message seen at (mailbox, uidvalidity, uid): a batch of
    one (see ``record_batch``)."""
    return record_batch(session, mailbox=mailbox, uidvalidity=uidvalidity, messages=[(uid, raw)],
                        config=config, classify=classify, now=now)[0]


def record_batch(session: Session, *, mailbox: str, uidvalidity: int,
                 messages: Sequence[tuple[int, bytes]], config: Config,
                 classify: Classify | None = None, now: datetime | None = None) -> list[Recorded]:
    """Store, classify and record messages seen at (mailbox, uidvalidity, uid), given as
    (uid, raw bytes) in UID order; one ``Recorded`` for each, in the same order.

    Idempotent: a message already recorded at this location, or with the same content
    anywhere (this batch included), is not counted again; its result then has
    ``duplicate=True`` and the original kind and disposition (a new location is remembered
    so that it gets moved too). The whole batch is a handful of set-based statements: one
    INSERT each into messages, locations and outcomes, and one policy pass over every
    recipient the batch names.
    """
    now = now or datetime.now(timezone.utc)
    if not messages:
        return []
    advance_cursor(session, mailbox, uidvalidity, max(uid for uid, _ in messages))
    at_location = _recorded_at(session, mailbox, uidvalidity, [uid for uid, _ in messages])
    hashes = {uid: hashlib.sha256(raw).hexdigest() for uid, raw in messages if uid not in at_location}
    by_hash = _recorded_by_hash(session, set(hashes.values()))
    results: list[tuple[_Row, bool]] = []     # (message, duplicate) for each of ``messages``
    fresh: list[_Row] = []                      # new messages, to insert
    located: list[tuple[int, _Row]] = []        # new locations, to insert
    for uid, raw in messages:
        if uid in at_location:
            results.append((at_location[uid], True))
            continue
        row = by_hash.get(hashes[uid])
        duplicate = row is not None
        if row is None:
            row = by_hash[hashes[uid]] = _new_row(raw, hashes[uid], mailbox, config, classify, now)
            fresh.append(row)
        results.append((row, duplicate))
        located.append((uid, row))
    counters.add(session, _new_here(session, mailbox, fresh, located))
    _insert(session, fresh, located, mailbox, uidvalidity, now)
    newly = policy.recompute(session, [r for row in fresh for r in row.valid_recipients],
                             config.policy, outbox=config.webhook.enabled, now=now)
    causes = _causes(session, newly, fresh)
    return [row.recorded(duplicate, () if duplicate else causes.get(row.pk, ()))
            for row, duplicate in results]


@dataclass(slots=True)
class _Row:
    """A message as a batch sees it: stored already, or about to be (``pk`` 0 until then)."""

    pk: int
    kind: str
    disposition: str
    outcomes: list[dict[str, Any]] = field(default_factory=list)  # at least recipient, valid,
    fields: dict[str, Any] = field(default_factory=dict)          # reason, hard; new: all

    @property
    def valid_recipients(self) -> list[str]:
        return [o["recipient"] for o in self.outcomes if o["valid"]]

    @property
    def reasons(self) -> tuple[tuple[str, bool], ...]:
        return tuple((o["reason"], o["hard"]) for o in self.outcomes)

    def recorded(self, duplicate: bool, suppressed: tuple[str, ...]) -> Recorded:
        return Recorded(message_pk=self.pk, duplicate=duplicate, kind=self.kind,
                        disposition=Disposition(self.disposition), outcomes=len(self.outcomes),
                        hard=sum(o["hard"] for o in self.outcomes), suppressed=suppressed,
                        reasons=self.reasons)


def _new_row(raw: bytes, sha: str, mailbox: str, config: Config, classify: Classify | None,
             now: datetime) -> _Row:
    """A new ``messages`` row for ``raw``, classified, with its outcome rows."""
    headers = _headers(raw)
    verdict = classify_raw(raw, config, classify)
    fields = dict(sha256=sha, size=len(raw), raw=raw, first_mailbox=mailbox,
                  message_id=_header(headers, "Message-ID"), subject=_header(headers, "Subject"),
                  received_at=_sent_at(headers, now), recorded_at=now,
                  **_verdict_fields(verdict, now))
    outcomes = [dict(o, created_at=now) for o in _outcome_rows(verdict.report)]
    return _Row(0, fields["kind"], fields["disposition"], outcomes, fields)


def _insert(session: Session, fresh: Sequence[_Row], located: Sequence[tuple[int, _Row]],
            mailbox: str, uidvalidity: int, now: datetime) -> None:
    """Write the batch: new messages (their keys come back in order), their outcomes, and
    every new location."""
    if fresh:
        messages = Message.__table__
        keys = session.scalars(insert(messages).returning(messages.c.id, sort_by_parameter_order=True),
                               [row.fields for row in fresh]).all()
        for row, pk in zip(fresh, keys, strict=True):
            row.pk = pk
        outcomes = [dict(o, message_pk=row.pk) for row in fresh for o in row.outcomes]
        if outcomes:
            session.execute(insert(Outcome.__table__), outcomes)
    if located:
        session.execute(insert(Location.__table__), [
            dict(mailbox=mailbox, uidvalidity=uidvalidity, uid=uid, message_pk=row.pk, seen_at=now,
                 moved_at=None) for uid, row in located])


def _new_here(session: Session, mailbox: str, fresh: Sequence[_Row],
              located: Sequence[tuple[int, _Row]]) -> Tally[counters.Key]:
    """The counters' deltas of a batch (before its rows are written): each new message, and
    each message seen in ``mailbox`` for the first time (a rescan sees some again)."""
    new = {row.pk for row in fresh}
    known = {row.pk for _uid, row in located if row.pk not in new and row.pk}
    seen = _in_mailbox(session, mailbox, known)
    deltas: Tally[counters.Key] = Tally({(counters.GLOBAL, counters.MESSAGES): len(fresh)})
    for row in {id(row): row for _uid, row in located if row.pk not in seen}.values():
        deltas += counters.message_deltas(mailbox, row.kind, row.reasons)
    return deltas


def _in_mailbox(session: Session, mailbox: str, pks: set[int]) -> set[int]:
    """Those of the messages ``pks`` already seen in ``mailbox``."""
    seen: set[int] = set()
    it = iter(sorted(pks))
    while chunk := list(islice(it, IN_CHUNK)):
        seen.update(session.scalars(select(Location.message_pk).distinct().where(
            Location.mailbox == mailbox, Location.message_pk.in_(chunk))))
    return seen


def _recorded_at(session: Session, mailbox: str, uidvalidity: int,
                 uids: Sequence[int]) -> dict[int, _Row]:
    """uid -> the message already recorded at that location."""
    here = (Location.mailbox == mailbox, Location.uidvalidity == uidvalidity)
    return _stored(session, uids, lambda chunk: (
        select(Location.uid, Message.id, Message.kind, Message.disposition)
        .join(Message, Location.message_pk == Message.id).where(*here, Location.uid.in_(chunk))))


def _recorded_by_hash(session: Session, hashes: set[str]) -> dict[str, _Row]:
    """sha256 -> the message already stored with that content."""
    return _stored(session, sorted(hashes), lambda chunk: (
        select(Message.sha256, Message.id, Message.kind, Message.disposition)
        .where(Message.sha256.in_(chunk))))


def _stored(session: Session, keys: Sequence[Any],
            query: Callable[[list[Any]], Select[Any]]) -> dict[Any, _Row]:
    """key -> stored message, by ``query(chunk of keys)`` giving (key, pk, kind, disposition),
    with each message's outcomes (one ``_Row`` per message, however many keys name it)."""
    by_pk: dict[int, _Row] = {}
    found: dict[Any, _Row] = {}
    it = iter(keys)
    while chunk := list(islice(it, IN_CHUNK)):
        for key, pk, kind, disposition in session.execute(query(chunk)):
            found[key] = by_pk.setdefault(pk, _Row(pk, kind, disposition))
    pks = iter(sorted(by_pk))
    while chunk := list(islice(pks, IN_CHUNK)):
        for o in session.execute(select(Outcome.message_pk, Outcome.recipient, Outcome.valid,
                                        Outcome.reason, Outcome.hard)
                                 .where(Outcome.message_pk.in_(chunk)).order_by(Outcome.id)):
            by_pk[o.message_pk].outcomes.append(
                dict(recipient=o.recipient, valid=o.valid, reason=o.reason, hard=o.hard))
    return found


def _causes(session: Session, newly: Sequence[str], fresh: Sequence[_Row]) -> dict[int, tuple[str, ...]]:
    """message pk -> the addresses it newly suppressed: the message the policy names as the
    source, else (the source is older evidence) the batch's last message naming the address."""
    if not newly:
        return {}
    sources = dict(session.execute(select(Address.address, Address.source_message_pk)
                                   .where(Address.address.in_(newly))).all())
    last_naming = {r: row.pk for row in fresh for r in row.valid_recipients}
    batch = {row.pk for row in fresh}
    causes: dict[int, list[str]] = {}
    for address in newly:
        source = sources.get(address)
        causes.setdefault(source if source in batch else last_naming[address], []).append(address)
    return {pk: tuple(addresses) for pk, addresses in causes.items()}


def _verdict_fields(verdict: Classified, now: datetime) -> dict[str, Any]:
    """The message's columns that come from its classification."""
    report = verdict.report
    return dict(kind=verdict.kind, disposition=str(verdict.disposition),
                error=clean(verdict.error or "; ".join(report.errors if report else ()), ERROR_CHARS),
                decoded_by=clean(report.decoded_by if report else ""),
                original_message_id=clean(report.message_id if report else ""),
                list_id=clean(report.list_id if report else ""), classified_at=now)


def _outcome_rows(report: Report | None) -> Iterable[dict[str, Any]]:
    """One row per distinct recipient; when a recipient is listed twice the graver outcome
    wins (hard over failed over anything else), the first among equals."""
    best: dict[str, tuple[tuple[bool, bool], str | None, ReportOutcome]] = {}
    for o in report.outcomes if report else ():
        address = normalize_address(o.recipient)
        recipient = address or clean(o.recipient.strip(), 320)
        rank = (o.hard, o.action.strip().lower() == "failed")
        if recipient not in best or rank > best[recipient][0]:
            best[recipient] = (rank, address, o)
    for recipient, (_, address, o) in best.items():
        yield dict(recipient=recipient, valid=address is not None, reason=clean(str(o.reason), 32),
                   hard=o.hard, action=clean(o.action), status=clean(o.status),
                   reply_code=clean(o.reply_code), diagnostic=clean(o.diagnostic),
                   remote_mta=clean(o.remote_mta), command=clean(o.command))


def _valid_recipients(outcomes: Iterable[Outcome]) -> list[str]:
    return [o.recipient for o in outcomes if o.valid]


def reclassify_message(session: Session, message: Message, config: Config,
                       classify: Classify | None = None,
                       now: datetime | None = None) -> set[str]:
    """Run the matcher again on a stored message and replace its outcomes.

    Mail that was left in place as "not a bounce" and now is one is queued to be moved again
    (see ``_requeue_left_in_place``). Returns the addresses whose decision may have changed
    (old and new recipients); the caller recomputes them (once, after a whole batch).
    """
    now = now or datetime.now(timezone.utc)
    before = set(_valid_recipients(message.outcomes))
    old_disposition = message.disposition
    _count_in_mailboxes(session, message, -1)
    verdict = classify_raw(message.raw, config, classify)
    message.outcomes = []
    session.flush()  # delete the old rows before the new ones meet the unique key
    for name, value in _verdict_fields(verdict, now).items():
        setattr(message, name, value)
    message.outcomes = [Outcome(**o, created_at=now) for o in _outcome_rows(verdict.report)]
    _count_in_mailboxes(session, message, +1)
    if old_disposition == Disposition.OTHER and message.disposition != Disposition.OTHER:
        _requeue_left_in_place(message, config)
    session.flush()
    return before | set(_valid_recipients(message.outcomes))


def _count_in_mailboxes(session: Session, message: Message, sign: int) -> None:
    """Count ``message`` in (sign -1: out of) each mailbox it was seen in."""
    reasons = [(o.reason, o.hard) for o in message.outcomes]
    for mailbox in sorted({location.mailbox for location in message.locations}):
        counters.add(session, counters.message_deltas(mailbox, message.kind, reasons, sign))


def _requeue_left_in_place(message: Message, config: Config) -> None:
    """Non-bounce mail of an account without ``other_folder`` stayed where it was found, under
    the same UID: clear ``moved_at`` so that the next poll moves it where it now belongs.
    (Mail already moved to another folder has a UID we do not know; it stays there.)"""
    left_in_place = {a.name for a in config.accounts if not a.other_folder}
    for location in message.locations:
        if location.moved_at is not None and location.mailbox.split("/", 1)[0] in left_in_place:
            location.moved_at = None


# --- message headers ---------------------------------------------------------------------

def _headers(raw: bytes) -> Headers:
    """The message's own header fields (read with the matcher's linear splitter)."""
    fields, _body = split_header(normalise_newlines(raw[:HEADER_BYTES]))
    return Headers(fields)


def _header(headers: Headers, name: str) -> str:
    """A header decoded (RFC 2047, 8-bit UTF-8) and unfolded; "" when absent."""
    return clean(" ".join(decode_header_value(headers.get(name)).split()), 998)


def _sent_at(headers: Headers, now: datetime) -> datetime:
    """When the message says it was sent (its Date:), never later than ``now``; else ``now``."""
    try:
        sent = email.utils.parsedate_to_datetime(_header(headers, "Date"))
    except (TypeError, ValueError, IndexError):
        return now
    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=timezone.utc)
    if sent > now or sent < now - timedelta(days=3650):
        return now
    return sent.astimezone(timezone.utc)


# --- cursors, moves, poll health -----------------------------------------------------------

def get_cursor(session: Session, mailbox: str) -> Cursor | None:
    """The mailbox's cursor, or None when it was never polled."""
    state = session.get(MailboxState, mailbox)
    if state is None or state.uidvalidity is None:
        return None
    return Cursor(state.uidvalidity, state.last_uid)


def reset_cursor(session: Session, mailbox: str, uidvalidity: int) -> None:
    """Start the mailbox over under a new UIDVALIDITY (content hashes prevent recounting)."""
    state = _mailbox_state(session, mailbox)
    state.uidvalidity, state.last_uid = uidvalidity, 0


def advance_cursor(session: Session, mailbox: str, uidvalidity: int, uid: int) -> None:
    """last_uid = max(last_uid, uid); a different UIDVALIDITY starts the cursor over."""
    state = _mailbox_state(session, mailbox)
    if state.uidvalidity != uidvalidity:
        state.uidvalidity, state.last_uid = uidvalidity, 0
    state.last_uid = max(state.last_uid or 0, uid)


def _mailbox_state(session: Session, mailbox: str) -> MailboxState:
    state = session.get(MailboxState, mailbox)
    if state is None:
        state = MailboxState(mailbox=mailbox, last_uid=0, last_error="", consecutive_failures=0,
                             backlog=0)
        session.add(state)
    return state


def pending_moves(session: Session, mailbox: str, uidvalidity: int) -> list[tuple[int, Disposition]]:
    """Messages recorded at this mailbox but not yet moved: (uid, where to), by uid.

    OTHER is listed too: when the account leaves non-bounce mail in place, the poller still
    calls ``mark_moved`` for it, so that it is not listed again.
    """
    rows = session.execute(
        select(Location.uid, Message.disposition)
        .join(Message, Location.message_pk == Message.id)
        .where(Location.mailbox == mailbox, Location.uidvalidity == uidvalidity,
               Location.moved_at.is_(None))
        .order_by(Location.uid)
    )
    return [(uid, Disposition(disposition)) for uid, disposition in rows]


def mark_moved(session: Session, mailbox: str, uidvalidity: int, uids: Sequence[int],
               at: datetime | None = None) -> None:
    """Remember that these messages were moved (or deliberately left) on the server."""
    at = at or datetime.now(timezone.utc)
    it = iter(uids)
    while chunk := list(islice(it, IN_CHUNK)):
        session.execute(
            update(Location)
            .where(Location.mailbox == mailbox, Location.uidvalidity == uidvalidity,
                   Location.uid.in_(chunk), Location.moved_at.is_(None))
            .values(moved_at=at)
            .execution_options(synchronize_session=False)
        )


def record_poll(session: Session, mailbox: str, *, ok: bool, error: str = "", backlog: int = 0,
                at: datetime) -> None:
    """Remember how a poll of ``mailbox`` went (shown by ``bouncewatch status``)."""
    state = _mailbox_state(session, mailbox)
    state.last_poll_at = at
    state.backlog = backlog
    if ok:
        state.last_success_at = at
        state.consecutive_failures = 0
    else:
        state.last_error = clean(error, ERROR_CHARS)
        state.last_error_at = at
        state.consecutive_failures = (state.consecutive_failures or 0) + 1


def message_count(session: Session) -> int:
    return session.scalar(select(func.count(Message.id))) or 0
