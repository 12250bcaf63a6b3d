"""Recording messages: store the raw bytes, classify, record outcomes, apply the policy.

Everything here runs inside the caller's transaction (see ``daemon.db.session_scope``), so a
message, its outcomes, the suppressions they cause and the advanced cursor commit together
or not at all. Unique keys — (mailbox, UIDVALIDITY, UID) on ``locations``, the content hash
on ``messages``, (message, recipient) on ``outcomes`` — make counting anything twice
impossible, whether the cause is a crash, a re-run or a UIDVALIDITY rescan.
"""
from __future__ import annotations

import email.policy
import email.utils
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import Message as EmailMessage
from email.parser import BytesHeaderParser
from itertools import islice

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

import classifiers
from classifiers import Kind, Report
from classifiers import Outcome as ReportOutcome

from . import policy
from .addresses import normalize_address
from .config import Config
from .models import Disposition, Location, MailboxState, Message, Outcome

__all__ = [
    "Classified", "Cursor", "Disposition", "KIND_ERROR", "KIND_OVERSIZED", "Recorded",
    "get_cursor", "mailbox_key", "mark_moved", "pending_moves", "reclassify_message",
    "record_message", "record_poll", "reset_cursor",
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
    """Store, classify and record one message seen at (mailbox, uidvalidity, uid).

    Idempotent: a message already recorded at this location, or with the same content
    anywhere, is not counted again; the result then has ``duplicate=True`` and the original
    kind and disposition (a new location is remembered so that it gets moved too).
    """
    now = now or datetime.now(timezone.utc)
    advance_cursor(session, mailbox, uidvalidity, uid)
    location = session.scalar(select(Location).where(
        Location.mailbox == mailbox, Location.uidvalidity == uidvalidity, Location.uid == uid))
    if location is not None:
        return _recorded(location.message, duplicate=True, suppressed=())
    sha = hashlib.sha256(raw).hexdigest()
    message = session.scalar(select(Message).where(Message.sha256 == sha))
    if message is not None:
        session.add(Location(mailbox=mailbox, uidvalidity=uidvalidity, uid=uid,
                             message=message, seen_at=now))
        return _recorded(message, duplicate=True, suppressed=())

    verdict = classify_raw(raw, config, classify)
    headers = _headers(raw)
    message = Message(sha256=sha, size=len(raw), raw=raw, first_mailbox=mailbox,
                      message_id=_header(headers, "Message-ID"), subject=_header(headers, "Subject"),
                      received_at=_sent_at(headers, now), recorded_at=now)
    session.add(message)
    session.add(Location(mailbox=mailbox, uidvalidity=uidvalidity, uid=uid, message=message,
                         seen_at=now))
    _apply_verdict(message, verdict, now)
    session.flush()
    suppressed = policy.recompute(session, _valid_recipients(message.outcomes), config.policy, now=now)
    return _recorded(message, duplicate=False, suppressed=suppressed)


def _apply_verdict(message: Message, verdict: Classified, now: datetime) -> None:
    """Set the message's classification and (re)build its outcomes from ``verdict``."""
    report = verdict.report
    message.kind = verdict.kind
    message.disposition = str(verdict.disposition)
    message.error = clean(verdict.error or "; ".join(report.errors if report else ()), ERROR_CHARS)
    message.decoded_by = clean(report.decoded_by if report else "")
    message.original_message_id = clean(report.message_id if report else "")
    message.list_id = clean(report.list_id if report else "")
    message.classified_at = now
    message.outcomes = list(_outcome_rows(report, now)) if report else []


def _outcome_rows(report: Report, now: datetime) -> Iterable[Outcome]:
    """One row per distinct recipient; when a recipient is listed twice the graver outcome
    wins (hard over failed over anything else), the first among equals."""
    best: dict[str, tuple[tuple[bool, bool], str | None, ReportOutcome]] = {}
    for o in report.outcomes:
        address = normalize_address(o.recipient)
        recipient = address or clean(o.recipient.strip(), 320)
        rank = (o.hard, o.action.strip().lower() == "failed")
        if recipient not in best or rank > best[recipient][0]:
            best[recipient] = (rank, address, o)
    for recipient, (_, address, o) in best.items():
        yield Outcome(recipient=recipient, valid=address is not None, reason=clean(str(o.reason), 32),
                      hard=o.hard, action=clean(o.action), status=clean(o.status),
                      reply_code=clean(o.reply_code), diagnostic=clean(o.diagnostic),
                      remote_mta=clean(o.remote_mta), command=clean(o.command),
                      created_at=now)


def _valid_recipients(outcomes: Iterable[Outcome]) -> list[str]:
    return [o.recipient for o in outcomes if o.valid]


def _recorded(message: Message, *, duplicate: bool, suppressed: tuple[str, ...]) -> Recorded:
    return Recorded(message_pk=message.id, duplicate=duplicate, kind=message.kind,
                    disposition=Disposition(message.disposition), outcomes=len(message.outcomes),
                    hard=sum(o.hard for o in message.outcomes), suppressed=suppressed,
                    reasons=tuple((o.reason, o.hard) for o in message.outcomes))


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
    verdict = classify_raw(message.raw, config, classify)
    message.outcomes = []
    session.flush()  # delete the old rows before the new ones meet the unique key
    _apply_verdict(message, verdict, now)
    if old_disposition == Disposition.OTHER and message.disposition != Disposition.OTHER:
        _requeue_left_in_place(message, config)
    session.flush()
    return before | set(_valid_recipients(message.outcomes))


def _requeue_left_in_place(message: Message, config: Config) -> None:
    """Non-bounce mail of an account without ``other_folder`` stayed where it was found, under
    the same UID: clear ``moved_at`` so that the next poll moves it where it now belongs.
    (Mail already moved to another folder has a UID we do not know; it stays there.)"""
    left_in_place = {a.name for a in config.accounts if not a.other_folder}
    for location in message.locations:
        if location.moved_at is not None and location.mailbox.split("/", 1)[0] in left_in_place:
            location.moved_at = None


# --- message headers ---------------------------------------------------------------------

def _headers(raw: bytes) -> EmailMessage:
    return BytesHeaderParser(policy=email.policy.default).parsebytes(raw[:HEADER_BYTES])


def _header(headers: EmailMessage, name: str) -> str:
    """A header decoded (RFC 2047, 8-bit UTF-8) and unfolded; "" when absent or unreadable."""
    try:
        value = headers.get(name)
        text = "" if value is None else str(value)
    except Exception:  # noqa: BLE001 - the email package raises odd errors on broken headers
        return ""
    return clean(" ".join(text.split()), 998)


def _sent_at(headers: EmailMessage, now: datetime) -> datetime:
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
