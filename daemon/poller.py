"""One pass over one mailbox: fetch what is new, record each message, then move it.

The order is what makes it exactly-once: a fetched batch of messages is recorded (stored,
classified, policy applied, cursor advanced) in one transaction, and only after that commit
is it moved on the server. A crash between the two leaves a *pending move*, finished first on the next
pass; a UIDVALIDITY change resets the cursor, and the content-hash dedupe in the store keeps
the rescan from counting anything twice.
"""
from __future__ import annotations

import contextlib
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from . import faults, metrics, store
from .config import AccountConfig, Config, LimitsConfig
from .db import describe_error, in_transaction, session_scope
from .imap import FetchedMessage, Inbox, chunks
from .mailboxlock import mailbox_lock
from .models import Disposition

log = structlog.get_logger(__name__)

#: Sizes are asked for this many batches' worth of UIDs at a time.
SIZE_WINDOW = 10
#: ``progress(done, total)`` after each batch (for a progress bar on a terminal).
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class PollResult:
    """What one pass did."""

    mailbox: str
    uidvalidity: int
    new: int = 0                     # messages recorded for the first time
    duplicates: int = 0              # already recorded (same location or same content)
    moved: int = 0                   # messages moved (or settled in place) on the server
    hard: int = 0                    # hard outcomes among the new messages
    suppressed: tuple[str, ...] = ()  # addresses suppressed by this pass
    dispositions: tuple[tuple[str, int], ...] = ()   # (disposition, count), sorted
    backlog: int = 0                 # new messages left for the next pass (stopped early)
    rescanned: bool = False          # UIDVALIDITY changed: the folder was read again
    stopped: bool = False            # the stop flag ended the pass early

    @property
    def processed(self) -> int:
        return self.new + self.duplicates


@dataclass
class _Tally:
    """The mutable counterpart of ``PollResult`` while a pass runs."""

    new: int = 0
    duplicates: int = 0
    moved: int = 0
    hard: int = 0
    suppressed: list[str] = field(default_factory=list)
    dispositions: Counter[str] = field(default_factory=Counter)

    def add(self, rec: store.Recorded) -> None:
        if rec.duplicate:
            self.duplicates += 1
        else:
            self.new += 1
            self.hard += rec.hard
            self.suppressed.extend(rec.suppressed)
        self.dispositions[str(rec.disposition)] += 1


def target_folder(account: AccountConfig, disposition: Disposition | str) -> str:
    """Where a message with ``disposition`` goes; "" means it stays where it is."""
    return {
        Disposition.PROCESSED: account.processed_folder,
        Disposition.UNPARSED: account.unparsed_folder,
        Disposition.OTHER: account.other_folder,
    }[Disposition(disposition)]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def poll_mailbox(engine: Engine, config: Config, account: AccountConfig, folder: str, *,
                 stop: threading.Event | None = None, inbox: Inbox | None = None,
                 progress: Progress | None = None) -> PollResult:
    """One pass over ``account``/``folder`` (see the module docstring).

    Opens its own connection unless ``inbox`` is given (the IDLE loop passes its own).
    Every pass is recorded with ``store.record_poll``; errors are recorded, then re-raised
    (``ImapError`` and its subclasses, ``ConfigError`` for a missing password).
    Raises ``MailboxBusy`` (nothing recorded) while another process polls the same mailbox.
    """
    mailbox = store.mailbox_key(account.name, folder)
    metrics.poll_started(mailbox)
    with mailbox_lock(engine, mailbox):
        try:
            with _connection(account, inbox) as conn:
                result = _poll(conn, engine, config, account, folder, mailbox, stop, progress)
        except Exception as exc:
            _record_poll(engine, mailbox, ok=False, error=describe_error(exc))
            raise
        _record_poll(engine, mailbox, ok=True, backlog=result.backlog)
    return result


@contextlib.contextmanager
def _connection(account: AccountConfig, inbox: Inbox | None) -> Iterator[Inbox]:
    if inbox is not None:
        yield inbox
        return
    with Inbox.open(account) as opened:
        yield opened


def _record_poll(engine: Engine, mailbox: str, *, ok: bool, error: str = "",
                 backlog: int = 0) -> None:
    metrics.poll_finished(mailbox, ok)
    try:
        with session_scope(engine) as session:
            store.record_poll(session, mailbox, ok=ok, error=error, backlog=backlog, at=_now())
    except Exception as exc:
        if ok:
            raise                    # the caller reports it (once)
        log.warning("cannot record the failed poll", mailbox=mailbox, error=describe_error(exc))


def _poll(inbox: Inbox, engine: Engine, config: Config, account: AccountConfig, folder: str,
          mailbox: str, stop: threading.Event | None, progress: Progress | None) -> PollResult:
    uidvalidity = inbox.select(folder).uidvalidity
    with session_scope(engine) as session:
        cursor = store.get_cursor(session, mailbox)
        rescanned = cursor is not None and cursor.uidvalidity != uidvalidity
        if cursor is None or rescanned:
            if rescanned:
                log.warning("uidvalidity changed: rescanning the folder", mailbox=mailbox,
                            old=cursor.uidvalidity if cursor else None, new=uidvalidity)
            store.reset_cursor(session, mailbox, uidvalidity)
            last_uid = 0
        else:
            last_uid = cursor.last_uid
        pending = store.pending_moves(session, mailbox, uidvalidity)

    tally = _Tally()
    if pending:
        log.info("finishing pending moves", mailbox=mailbox, count=len(pending))
        tally.moved += _settle(engine, inbox, account, mailbox, uidvalidity, pending)

    uids = inbox.uids_after(last_uid)
    done, stopped = 0, False
    for batch in _batches(inbox, uids, account.batch_size, config.limits):
        if stop is not None and stop.is_set():
            stopped = True
            break
        fetched = _fetch(inbox, batch, config.limits.max_message_bytes)
        recorded = _record(engine, config, mailbox, uidvalidity, fetched)
        for rec in recorded:
            tally.add(rec)
        done += len(recorded)
        if progress is not None:
            progress(done, len(uids))
        tally.moved += _settle(engine, inbox, account, mailbox, uidvalidity,
                               [(m.uid, rec.disposition) for m, rec in zip(fetched, recorded)])
    return PollResult(
        mailbox=mailbox, uidvalidity=uidvalidity, new=tally.new, duplicates=tally.duplicates,
        moved=tally.moved, hard=tally.hard, suppressed=tuple(tally.suppressed),
        dispositions=tuple(sorted(tally.dispositions.items())),
        backlog=len(uids) - done, rescanned=rescanned, stopped=stopped)


def _batches(inbox: Inbox, uids: list[int], size: int, limits: LimitsConfig) -> Iterator[list[int]]:
    """``uids`` in consecutive batches of at most ``size`` messages and ``limits.batch_bytes``
    octets (a message counts as what will be fetched of it: at most ``max_message_bytes + 1``;
    one bigger than the byte limit goes alone), so that memory stays bounded whatever the
    mail. Sizes are asked for a window of batches at a time."""
    for window in chunks(uids, size * SIZE_WINDOW):
        sizes = inbox.sizes(window)
        batch: list[int] = []
        total = 0
        for uid in window:
            cost = min(sizes.get(uid, 0), limits.max_message_bytes + 1)
            if batch and (len(batch) == size or total + cost > limits.batch_bytes):
                yield batch
                batch, total = [], 0
            batch.append(uid)
            total += cost
        if batch:
            yield batch


def _fetch(inbox: Inbox, uids: list[int], max_bytes: int) -> list[FetchedMessage]:
    """The batch in UID order, in one FETCH of at most ``max_bytes + 1`` octets per message:
    one over ``max_bytes`` comes back cut to that (the store keeps it as oversized, unparsed)."""
    messages = inbox.fetch(uids, max_bytes=max_bytes + 1)
    faults.point("fetched")
    return messages


def _record(engine: Engine, config: Config, mailbox: str, uidvalidity: int,
            messages: list[FetchedMessage]) -> list[store.Recorded]:
    """A fetched batch, one transaction (run again if it clashed with another instance
    writing the same rows); then each message's canonical log line. When the database
    refuses the batch, its messages are recorded one by one, so that one bad message stops
    the pass at itself (the error names it) and not before the messages ahead of it."""
    def record(session: Session) -> list[store.Recorded]:
        recorded = store.record_batch(session, mailbox=mailbox, uidvalidity=uidvalidity,
                                      messages=[(m.uid, m.raw) for m in messages], config=config)
        for _ in recorded:
            faults.point("classified")
        return recorded

    try:
        recorded = in_transaction(engine, record)
    except DBAPIError as exc:
        if len(messages) == 1:
            raise
        log.warning("batch refused by the database: recording its messages one by one",
                    mailbox=mailbox, uids=f"{messages[0].uid}-{messages[-1].uid}",
                    error=describe_error(exc))
        return [rec for m in messages for rec in _record(engine, config, mailbox, uidvalidity, [m])]
    for message, rec in zip(messages, recorded):
        faults.point("committed")
        metrics.message_recorded(rec)
        log.info("message recorded", mailbox=mailbox, uid=message.uid, size=message.size,
                 kind=rec.kind, disposition=str(rec.disposition), duplicate=rec.duplicate,
                 outcomes=rec.outcomes, hard=rec.hard, suppressed=list(rec.suppressed))
    return recorded


def _settle(engine: Engine, inbox: Inbox, account: AccountConfig, mailbox: str,
            uidvalidity: int, done: Iterable[tuple[int, Disposition | str]]) -> int:
    """Move recorded messages to their folders, then mark them moved (those whose target is
    "" stay in place and are only marked). Returns how many were settled."""
    by_target: dict[str, list[int]] = {}
    for uid, disposition in done:
        by_target.setdefault(target_folder(account, disposition), []).append(uid)
    settled = 0
    for target, uids in by_target.items():
        if target:
            inbox.move(uids, target)
            faults.point("moved")
        with session_scope(engine) as session:
            store.mark_moved(session, mailbox, uidvalidity, uids)
        settled += len(uids)
    return settled
