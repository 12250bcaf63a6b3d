"""Push suppressions and releases to a webhook, from a durable outbox.

- ``record_change`` runs inside the policy's transaction: whenever an address enters the
  suppressed state (``suppressed``) or leaves it (``released``), one ``outbox`` row is added
  with the JSON to send. The decision and its outbox row commit together or not at all.
- ``deliver`` sends the rows in order, one POST each, signed with HMAC-SHA256 over
  ``timestamp + "." + body`` (headers ``X-Bouncewatch-Timestamp`` and
  ``X-Bouncewatch-Signature: sha256=<hex>``). A 2xx answer marks the row delivered; anything
  else ends the pass and retries that row after an exponential backoff (the rows behind it
  wait, so the receiver sees the changes in order). ``bouncewatch run`` calls it every
  ``webhook.interval`` seconds, ``bouncewatch webhook flush`` on demand.
- A row is claimed (``claimed_until``) before it is sent, so two processes never send the
  same row at once. Delivery is at least once: a receiver that crashes after taking a row
  but before answering gets it again; the body's ``id`` tells repeats apart.

Rows are written whether or not a webhook is configured (they are the log of suppression
changes): a webhook configured later first receives the changes it missed, oldest first,
unless ``bouncewatch webhook discard`` marks them done.
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, TextIO

import structlog
from sqlalchemy import Engine, func, or_, select, update
from sqlalchemy.orm import Session

from .config import Config, ConfigError, WebhookConfig, read_secret, redact_url
from .db import session_scope
from .formats import iso_utc
from .models import AddressState, OutboxEvent

if TYPE_CHECKING:
    from .policy import Decision

log = structlog.get_logger(__name__)

SUPPRESSED = "suppressed"
RELEASED = "released"
SIGNATURE_HEADER = "X-Bouncewatch-Signature"
TIMESTAMP_HEADER = "X-Bouncewatch-Timestamp"
USER_AGENT = "bouncewatch-webhook/1"
BACKOFF_BASE = 10.0        # seconds after the first failure, doubling ...
BACKOFF_CAP = 3600.0       # ... up to an hour
CLAIM_MARGIN = 30.0        # a claim outlives the request timeout by this much
PASS_LIMIT = 1000          # rows per pass at most (the next pass goes on)
ERROR_CHARS = 500


# --- writing the outbox (inside the decision's transaction) -------------------------------

def change_of(before: str | None, after: str) -> str | None:
    """``suppressed`` when an address enters the suppressed state, ``released`` when it
    leaves it (by hand, or because the evidence or the policy changed), else None."""
    was, now = before == AddressState.SUPPRESSED, after == AddressState.SUPPRESSED
    return None if was == now else SUPPRESSED if now else RELEASED


def payload_of(event: str, address: str, d: Decision, now: datetime) -> dict[str, Any]:
    """What the receiver gets (less the row's ``id``); pure."""
    return {
        "event": event, "address": address, "state": str(d.state),
        "reason": d.reason, "status": d.status, "reply_code": d.reply_code, "manual": d.manual,
        "note": d.note, "suppressed_at": iso_utc(d.suppressed_at) or None,
        "source_message_id": d.source_message_id, "bounce_count": d.bounce_count,
        "changed_at": iso_utc(now),
    }


def record_change(session: Session, address: str, before: str | None, d: Decision,
                  now: datetime) -> None:
    """Add an outbox row when the decision for ``address`` crosses the suppressed line."""
    event = change_of(before, str(d.state))
    if event is None:
        return
    session.add(OutboxEvent(
        event=event, address=address, created_at=now, attempts=0, next_attempt_at=now,
        last_error="", payload=json.dumps(payload_of(event, address, d, now), ensure_ascii=False)))


def body_of(row_id: int, payload: str) -> bytes:
    """The exact bytes POSTed for an outbox row: the same on every attempt."""
    return json.dumps({"id": row_id, **json.loads(payload)}, ensure_ascii=False).encode()


# --- signing -------------------------------------------------------------------------------

def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 keyed with ``secret`` over ``timestamp.body``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, *,
           now: float | None = None, tolerance: float = 300.0) -> bool:
    """What a receiver checks: the signature matches and the timestamp is recent (a
    replayed old request fails). Constant-time comparison."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature)


# --- sending -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Answer:
    """How one POST went: ``ok`` for a 2xx answer; ``error`` says what went wrong."""

    ok: bool
    status: int | None = None
    error: str = ""


Send = Callable[[str, bytes, dict[str, str], float], Answer]


def http_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST with urllib; redirects are not followed (a 3xx is a failure), errors become an
    ``Answer`` (the URL's password, if any, never appears in it)."""
    import urllib.error
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            status = response.status
            response.read(65536)
    except urllib.error.HTTPError as exc:
        return Answer(False, exc.code, f"HTTP {exc.code} {exc.reason}")
    except urllib.error.URLError as exc:
        return Answer(False, None, f"cannot reach {redact_url(url)}: {exc.reason}")
    except (OSError, ValueError) as exc:   # timeouts, resets, a malformed answer
        return Answer(False, None, f"{redact_url(url)}: {type(exc).__name__}: {exc}")
    return Answer(200 <= status < 300, status, "" if 200 <= status < 300 else f"HTTP {status}")


def backoff(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failed attempt: 10 s, 20 s, 40 s ... capped at 1 h."""
    return timedelta(seconds=min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** min(max(attempts, 1) - 1, 32)))


def secret_of(webhook: WebhookConfig) -> str:
    return read_secret("webhook", "secret_file", webhook.secret_file, webhook.secret_env)


@dataclass(frozen=True, slots=True)
class PassResult:
    """What one delivery pass did."""

    delivered: int = 0
    failed: int = 0          # 0 or 1: a pass stops at its first failure
    pending: int = 0         # rows left undelivered after the pass
    error: str = ""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def deliver(engine: Engine, config: Config, *, force: bool = False,
            send: Send = http_post, clock: Callable[[], datetime] = _now,
            limit: int = PASS_LIMIT) -> PassResult:
    """Send what is due, oldest first, until a failure, an empty queue or ``limit`` rows.

    ``force`` (``webhook flush``): ignore the backoff and ``max_attempts``. Without it, a
    row that failed ``max_attempts`` times is left for ``flush`` and the rows behind it go on.
    """
    webhook = config.webhook
    if not webhook.url:
        raise ConfigError("webhook.url: no webhook configured")
    secret = secret_of(webhook)
    delivered = 0
    for _ in range(limit):
        now = clock()
        row = _claim(engine, webhook, now, force)
        if row is None:
            break
        row_id, payload, attempts = row
        body = body_of(row_id, payload)
        stamp = str(int(now.timestamp()))
        answer = send(webhook.url, body, {
            "Content-Type": "application/json", "User-Agent": USER_AGENT,
            TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(secret, stamp, body),
        }, webhook.timeout)
        _settle(engine, row_id, answer, clock(), attempts + 1)
        if not answer.ok:
            log.warning("webhook delivery failed", id=row_id, url=redact_url(webhook.url),
                        status=answer.status, error=answer.error, attempts=attempts + 1,
                        retry_in=backoff(attempts + 1).total_seconds())
            return PassResult(delivered, 1, pending_count(engine), answer.error)
        log.info("webhook delivered", id=row_id, status=answer.status, attempts=attempts + 1)
        delivered += 1
    return PassResult(delivered, 0, pending_count(engine))


def _claim(engine: Engine, webhook: WebhookConfig, now: datetime,
           force: bool) -> tuple[int, str, int] | None:
    """The oldest undelivered row, if it is due, claimed for this process: (id, payload,
    attempts). None when the queue is empty, its head waits for its backoff, or another
    process holds it."""
    with session_scope(engine) as session:
        query = select(OutboxEvent.id, OutboxEvent.payload, OutboxEvent.attempts,
                       OutboxEvent.next_attempt_at).where(OutboxEvent.delivered_at.is_(None))
        if not force:
            query = query.where(OutboxEvent.attempts < webhook.max_attempts)
        head = session.execute(query.order_by(OutboxEvent.id).limit(1)).first()
        if head is None or (not force and head.next_attempt_at > now):
            return None
        until = now + timedelta(seconds=webhook.timeout + CLAIM_MARGIN)
        claimed = session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == head.id, OutboxEvent.delivered_at.is_(None),
                   or_(OutboxEvent.claimed_until.is_(None), OutboxEvent.claimed_until <= now))
            .values(claimed_until=until).execution_options(synchronize_session=False)
        ).rowcount
    return (head.id, head.payload, head.attempts) if claimed == 1 else None


def _settle(engine: Engine, row_id: int, answer: Answer, now: datetime, attempts: int) -> None:
    values: dict[str, Any] = {"attempts": attempts, "claimed_until": None}
    if answer.ok:
        values.update(delivered_at=now, last_error="")
    else:
        values.update(next_attempt_at=now + backoff(attempts), last_error=answer.error[:ERROR_CHARS])
    with session_scope(engine) as session:
        session.execute(update(OutboxEvent).where(OutboxEvent.id == row_id).values(**values)
                        .execution_options(synchronize_session=False))


def pending_count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count(OutboxEvent.id))
                              .where(OutboxEvent.delivered_at.is_(None))) or 0


def outbox_status(session: Session, max_attempts: int) -> dict[str, Any]:
    """The outbox at a glance (for ``status``): pending rows, those past ``max_attempts``,
    the oldest pending one's time and the last error."""
    pending = OutboxEvent.delivered_at.is_(None)
    count, oldest = session.execute(
        select(func.count(OutboxEvent.id), func.min(OutboxEvent.created_at)).where(pending)).one()
    failed = session.scalar(select(func.count(OutboxEvent.id)).where(
        pending, OutboxEvent.attempts >= max_attempts)) or 0
    last_error = session.scalar(select(OutboxEvent.last_error).where(pending, OutboxEvent.last_error != "")
                                .order_by(OutboxEvent.id).limit(1))
    return {"pending": count or 0, "given_up": failed,
            "oldest_pending": iso_utc(oldest) or None, "last_error": last_error or None}


def discard(engine: Engine, now: datetime | None = None) -> int:
    """Mark every pending row delivered without sending it; returns how many."""
    with session_scope(engine) as session:
        return session.execute(
            update(OutboxEvent).where(OutboxEvent.delivered_at.is_(None))
            .values(delivered_at=now or _now(), last_error="discarded", claimed_until=None)
            .execution_options(synchronize_session=False)).rowcount


# --- the command ---------------------------------------------------------------------------

ACTIONS = ("flush", "discard", "status")


EXAMPLES = """\
examples:
  bouncewatch webhook status      # how many suppressions and releases wait to be sent
  bouncewatch webhook flush       # send them now (the receiver is back)
  bouncewatch webhook discard     # drop them without sending
"""


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.epilog = EXAMPLES
    parser.add_argument("action", choices=ACTIONS, help=(
        "flush: send every pending change now, ignoring backoff and max_attempts; "
        "discard: mark every pending change as sent without sending it; "
        "status: how many changes wait"))


def run(args: argparse.Namespace) -> int:
    from . import admin

    return admin.run(args, handler=_handle)


def _handle(args: argparse.Namespace, config: Config, engine: Engine, out: TextIO) -> int:
    from .cli import EXIT_CONFIG, EXIT_OK, EXIT_UNAVAILABLE
    from .logs import configure_logging

    configure_logging(config.logging.format, config.logging.level)   # to stderr
    if args.action == "discard":
        out.write(f"discarded {discard(engine)} pending change(s)\n")
        return EXIT_OK
    if args.action == "status":
        with Session(engine) as session:
            out.write(json.dumps(outbox_status(session, config.webhook.max_attempts), indent=2) + "\n")
        return EXIT_OK
    try:
        result = deliver(engine, config, force=True, limit=2**62)
    except ConfigError as exc:
        print(f"bouncewatch webhook: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    out.write(f"delivered {result.delivered}, pending {result.pending}"
              + (f"; failed: {result.error}" if result.failed else "") + "\n")
    return EXIT_UNAVAILABLE if result.failed else EXIT_OK
