"""Running counts for ``status`` and the metrics, kept in step with the rows they count.

Counting a mailbox's history on every ``status`` costs seconds at a million addresses;
reading these rows costs one indexed query. Keys are (scope, name):

    ("", "messages")                          messages stored
    ("addresses", "state:<state>")            addresses in each policy state
    ("addresses", "suppressed:<reason>")      suppressed addresses by reason
    (<mailbox>, "kind:<kind>")                messages seen in the mailbox, by kind
    (<mailbox>, "reason:<reason>")            their outcomes by reason
    (<mailbox>, "severity:hard|soft")         their outcomes, hard or not

A message seen twice in one mailbox (a UIDVALIDITY rescan) counts once there. Writers call
``add`` with deltas; the deltas are summed in the session and written in one statement just
before it commits, in key order: the counter rows are the last locks every transaction takes,
always in the same order, so instances sharing a PostgreSQL database wait for each other
briefly but never deadlock on them. ``truth`` counts the same things from the history (slow;
for tests and ``recount``, which ``bouncewatch db recount`` runs).
"""
from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable, Mapping

from sqlalchemy import case, delete, event, func, insert, literal, select
from sqlalchemy.orm import Session

from .db import upsert_insert
from .models import Address, AddressState, Counter, Location, Message, Outcome

Key = tuple[str, str]
GLOBAL, ADDRESSES = "", "addresses"
MESSAGES = "messages"
_PENDING = "bouncewatch.counter_deltas"   # the session.info key of deltas not yet written


def add(session: Session, deltas: Mapping[Key, int]) -> None:
    """Count ``deltas`` when ``session`` commits (nothing, if it rolls back)."""
    pending: Tally[Key] = session.info.setdefault(_PENDING, Tally())
    pending.update(deltas)


def message_deltas(mailbox: str, kind: str, outcomes: Iterable[tuple[str, bool]],
                   sign: int = 1) -> Tally[Key]:
    """A message of ``kind`` with ``outcomes`` (reason, hard) arriving in (sign -1: leaving)
    ``mailbox``'s counts."""
    deltas: Tally[Key] = Tally({(mailbox, f"kind:{kind}"): sign})
    for reason, hard in outcomes:
        deltas[(mailbox, f"reason:{reason}")] += sign
        deltas[(mailbox, f"severity:{'hard' if hard else 'soft'}")] += sign
    return deltas


def address_deltas(before: tuple[str, str] | None, after: tuple[str, str]) -> Tally[Key]:
    """An address going from (state, reason) ``before`` (None: it had no row) to ``after``."""
    deltas: Tally[Key] = Tally()
    for sign, side in ((-1, before), (1, after)):
        if side is None:
            continue
        state, reason = side
        deltas[(ADDRESSES, f"state:{state}")] += sign
        if state == AddressState.SUPPRESSED:
            deltas[(ADDRESSES, f"suppressed:{reason}")] += sign
    return deltas


@event.listens_for(Session, "before_commit")
def _write(session: Session) -> None:
    pending: Tally[Key] | None = session.info.pop(_PENDING, None)
    rows = [dict(scope=s, name=n, value=v) for (s, n), v in sorted((pending or {}).items()) if v]
    if not rows:
        return
    insert_ = upsert_insert(session, Counter.__table__)
    session.execute(insert_.on_conflict_do_update(
        index_elements=["scope", "name"], set_={"value": Counter.__table__.c.value + insert_.excluded.value}),
        rows)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)


# --- reading -----------------------------------------------------------------------------

def read(session: Session, scope: str) -> dict[str, int]:
    """name -> value of the non-zero counters of ``scope``."""
    return dict(session.execute(select(Counter.name, Counter.value)
                                .where(Counter.scope == scope, Counter.value != 0)).all())


def group(values: Mapping[str, int], prefix: str) -> dict[str, int]:
    """The counters named ``prefix:<key>`` as key -> value, largest first (then by key)."""
    found = [(name[len(prefix) + 1:], v) for name, v in values.items() if name.startswith(prefix + ":")]
    return dict(sorted(found, key=lambda kv: (-kv[1], kv[0])))


# --- from the history ---------------------------------------------------------------------

def truth(session: Session) -> dict[Key, int]:
    """Every counter, counted from the rows themselves (reads the whole history)."""
    here = select(Location.mailbox, Location.message_pk).distinct().subquery()
    severity = case((Outcome.hard, "severity:hard"), else_="severity:soft")
    queries = [
        select(literal(GLOBAL), literal(MESSAGES), func.count(Message.id)),
        select(literal(ADDRESSES), literal("state:") + Address.state, func.count())
        .group_by(Address.state),
        select(literal(ADDRESSES), literal("suppressed:") + Address.reason, func.count())
        .where(Address.state == AddressState.SUPPRESSED).group_by(Address.reason),
        select(here.c.mailbox, literal("kind:") + Message.kind, func.count())
        .join(Message, Message.id == here.c.message_pk).group_by(here.c.mailbox, Message.kind),
        select(here.c.mailbox, literal("reason:") + Outcome.reason, func.count())
        .join(Outcome, Outcome.message_pk == here.c.message_pk).group_by(here.c.mailbox, Outcome.reason),
        select(here.c.mailbox, severity, func.count())
        .join(Outcome, Outcome.message_pk == here.c.message_pk).group_by(here.c.mailbox, severity),
    ]
    return {(scope, name): value for query in queries
            for scope, name, value in session.execute(query) if value}


def stored(session: Session) -> dict[Key, int]:
    """Every non-zero counter as stored."""
    return {(s, n): v for s, n, v in session.execute(
        select(Counter.scope, Counter.name, Counter.value).where(Counter.value != 0))}


def recount(session: Session) -> None:
    """Replace the counters with ``truth`` (after a bulk load, or to repair them)."""
    session.info.pop(_PENDING, None)
    session.execute(delete(Counter))
    rows = [dict(scope=s, name=n, value=v) for (s, n), v in sorted(truth(session).items())]
    if rows:
        session.execute(insert(Counter), rows)
