"""The webhook: outbox rows in the decision's transaction, signed POSTs to a real HTTP server
on loopback, retries with backoff while it is down, nothing lost, nothing sent twice."""
from __future__ import annotations

import hashlib
import hmac
import io
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select

from classifiers import Kind
from daemon.admin import manual_action
from daemon.cli import EXIT_CONFIG, EXIT_OK, EXIT_UNAVAILABLE, main
from daemon.config import Config, ConfigError, ExportConfig, WebhookConfig, parse_config
from daemon.db import session_scope
from daemon.logs import configure_logging
from daemon.models import Address, ManualAction, OutboxEvent
from daemon.store import mailbox_key, record_message
from daemon.webhook import (
    BACKOFF_BASE, SIGNATURE_HEADER, TIMESTAMP_HEADER, backoff, change_of, deliver, sign, verify,
)
from storehelp import T0, days, db_url, engine, fixed, hard, raw_message, report  # noqa: F401

SECRET = "whsec-7c1e0b9a-not-for-logs"
SECRET_ENV = "BOUNCEWATCH_TEST_WEBHOOK_SECRET"


@dataclass
class Receiver:
    """A real HTTP server on loopback that records every POST and answers with the next
    scripted status (200 once the script is used up)."""

    port: int = 0
    statuses: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    delay: float = 0.0
    server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(receiver.delay)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                if status == 200:
                    receiver.received.append((dict(self.headers), body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/bouncewatch"

    def events(self) -> list[dict]:
        return [json.loads(body) for _, body in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def secret(monkeypatch) -> str:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    return SECRET


def webhook_config(url: str, **kw: object) -> Config:
    return Config(webhook=WebhookConfig(url=url, secret_env=SECRET_ENV, **kw))  # type: ignore[arg-type]


def bounce(engine, config: Config, uid: int, address: str) -> None:
    with session_scope(engine) as s:
        record_message(s, mailbox=mailbox_key("a", "INBOX"), uidvalidity=1, uid=uid,
                       raw=raw_message(uid, at=T0 + days(uid)), config=config,
                       classify=fixed(report(Kind.BOUNCE, hard(address))), now=T0 + days(uid))


def outbox(engine) -> list[OutboxEvent]:
    with session_scope(engine) as s:
        return list(s.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


# --- pure parts ----------------------------------------------------------------------------

@pytest.mark.parametrize("before, after, event", [
    (None, "suppressed", "suppressed"), ("active", "suppressed", "suppressed"),
    ("released", "suppressed", "suppressed"), ("suppressed", "released", "released"),
    ("suppressed", "active", "released"), ("suppressed", "suppressed", None),
    ("active", "active", None), (None, "active", None), ("active", "released", None),
])
def test_change_of(before, after, event):
    assert change_of(before, after) == event


def test_signature_is_hmac_sha256_over_timestamp_dot_body():
    body = b'{"id": 1}'
    expected = hmac.new(SECRET.encode(), b"1767600000." + body, hashlib.sha256).hexdigest()
    assert sign(SECRET, "1767600000", body) == "sha256=" + expected
    assert verify(SECRET, "1767600000", body, "sha256=" + expected, now=1767600100)
    assert not verify(SECRET, "1767600000", body + b" ", "sha256=" + expected, now=1767600100)
    assert not verify("other", "1767600000", body, "sha256=" + expected, now=1767600100)
    assert not verify(SECRET, "1767600000", body, "sha256=" + expected, now=1767600000 + 3600)
    assert not verify(SECRET, "soon", body, "sha256=" + expected)


def test_backoff_doubles_and_is_capped():
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert backoff(30).total_seconds() == 3600 and backoff(10_000).total_seconds() == 3600


@pytest.mark.parametrize("webhook, message", [
    ({"url": "ftp://x.example/"}, "webhook.url: must be an http:// or https:// URL"),
    ({"url": "https://"}, "webhook.url: must be an http:// or https:// URL"),
    ({"url": "https://x.example/h"}, "webhook.secret_env: set secret_env or secret_file"),
    ({"timeout": 0}, "webhook.timeout: must be positive"),
    ({"max_attempts": 0}, "webhook.max_attempts: must be at least 1"),
    ({"secret": "x"}, "webhook.secret: unknown key"),
])
def test_webhook_config_errors(webhook, message):
    with pytest.raises(ConfigError) as info:
        parse_config({"webhook": webhook}, Path("/srv/bw"))
    assert message in str(info.value)


def test_url_credentials_never_show_in_reprs():
    config = parse_config({"webhook": {"url": "https://u:pa55@hook.example/x", "secret_env": "S"}},
                          Path("/"))
    assert "pa55" not in repr(config) and "https://u:***@hook.example/x" in repr(config.webhook)


# --- the outbox ----------------------------------------------------------------------------

def test_suppressions_and_releases_are_pushed_signed_in_order(engine, receiver, secret):
    config = webhook_config(receiver.url)
    bounce(engine, config, 1, "dead@example.org")
    bounce(engine, config, 2, "dead@example.org")           # already suppressed: no new event
    manual_action(engine, config, "dead@example.org", ManualAction.RELEASE, "mistake", "op",
                  now=T0 + days(5))
    manual_action(engine, config, "gone@example.org", ManualAction.SUPPRESS, "asked", "op",
                  now=T0 + days(6))
    assert [(r.event, r.address) for r in outbox(engine)] == [
        ("suppressed", "dead@example.org"), ("released", "dead@example.org"),
        ("suppressed", "gone@example.org")]

    result = deliver(engine, config)
    assert (result.delivered, result.failed, result.pending) == (3, 0, 0)
    events = receiver.events()
    assert [(e["event"], e["address"]) for e in events] == [
        ("suppressed", "dead@example.org"), ("released", "dead@example.org"),
        ("suppressed", "gone@example.org")]
    first = events[0]
    assert (first["reason"], first["status"], first["reply_code"], first["manual"]) == (
        "userunknown", "5.1.1", "550", False)
    assert first["suppressed_at"] == "2026-01-06T09:00:00Z" and first["source_message_id"] == "<ndr1@mx.example>"
    assert (events[1]["state"], events[1]["note"]) == ("released", "mistake")
    assert (events[2]["reason"], events[2]["manual"]) == ("manual", True)
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    for headers, body in receiver.received:
        assert headers["Content-Type"] == "application/json"
        assert verify(SECRET, headers[TIMESTAMP_HEADER], body, headers[SIGNATURE_HEADER])
        expected = hmac.new(SECRET.encode(), headers[TIMESTAMP_HEADER].encode() + b"." + body,
                            hashlib.sha256).hexdigest()
        assert headers[SIGNATURE_HEADER] == f"sha256={expected}"
    assert all(r.delivered_at is not None and r.attempts == 1 for r in outbox(engine))

    assert deliver(engine, config).delivered == 0                # nothing twice
    assert len(receiver.received) == 3


def test_the_outbox_row_commits_with_the_decision_or_not_at_all(engine, secret):
    config = webhook_config("http://127.0.0.1:9/")
    with pytest.raises(RuntimeError):
        with session_scope(engine) as s:
            record_message(s, mailbox=mailbox_key("a", "INBOX"), uidvalidity=1, uid=1,
                           raw=raw_message(1), config=config,
                           classify=fixed(report(Kind.BOUNCE, hard("dead@example.org"))))
            s.flush()
            assert s.scalar(select(func.count(OutboxEvent.id))) == 1
            raise RuntimeError("crash before commit")
    assert outbox(engine) == []
    with session_scope(engine) as s:
        assert s.scalar(select(func.count(Address.id))) == 0


def test_receiver_down_then_up_delivers_everything_later_exactly_once(engine, secret):
    down = Receiver().start()
    port = down.port
    down.stop()                                              # nobody listens there now
    config = webhook_config(f"http://127.0.0.1:{port}/hook", timeout=2.0)
    for uid, address in enumerate(["a@example.org", "b@example.org", "c@example.org"], start=1):
        bounce(engine, config, uid, address)
    clock = Clock(datetime.now(timezone.utc))

    failed = deliver(engine, config, clock=clock)
    assert (failed.delivered, failed.failed, failed.pending) == (0, 1, 3)
    assert "cannot reach" in failed.error
    head = outbox(engine)[0]
    assert head.attempts == 1 and head.claimed_until is None
    assert head.next_attempt_at == clock.at + timedelta(seconds=BACKOFF_BASE)
    assert deliver(engine, config, clock=clock).failed == 0   # backing off: not even tried
    assert outbox(engine)[0].attempts == 1

    up = Receiver(port=port, statuses=[503]).start()        # back, but not ready yet
    try:
        clock.at += timedelta(seconds=BACKOFF_BASE + 1)
        again = deliver(engine, config, clock=clock)
        assert (again.delivered, again.failed, outbox(engine)[0].last_error) == (0, 1, "HTTP 503 Service Unavailable")
        assert outbox(engine)[0].next_attempt_at == clock.at + timedelta(seconds=2 * BACKOFF_BASE)
        clock.at += timedelta(seconds=2 * BACKOFF_BASE + 1)
        done = deliver(engine, config, clock=clock)
        assert (done.delivered, done.failed, done.pending) == (3, 0, 0)
        assert [e["address"] for e in up.events()] == ["a@example.org", "b@example.org", "c@example.org"]
        assert [r.attempts for r in outbox(engine)] == [3, 1, 1]
    finally:
        up.stop()


def test_after_max_attempts_the_job_moves_on_and_flush_retries(engine, receiver, secret, capsys,
                                                               tmp_path):
    config = webhook_config(receiver.url, max_attempts=2)
    bounce(engine, config, 1, "a@example.org")
    bounce(engine, config, 2, "b@example.org")
    receiver.statuses = [400, 400]                           # a's event is refused twice
    clock = Clock(datetime.now(timezone.utc))
    assert deliver(engine, config, clock=clock).failed == 1
    clock.at += timedelta(hours=1)
    assert deliver(engine, config, clock=clock).failed == 1
    clock.at += timedelta(hours=1)
    result = deliver(engine, config, clock=clock)            # a given up: b goes through
    assert (result.delivered, result.pending) == (1, 1)
    assert [e["address"] for e in receiver.events()] == ["b@example.org"]

    conf = tmp_path / "bw.toml"
    conf.write_text(f'[database]\nurl = "{config_url(engine)}"\n'
                    f'[webhook]\nurl = "{receiver.url}"\nsecret_env = "{SECRET_ENV}"\nmax_attempts = 2\n')
    capsys.readouterr()                 # structlog's default output so far
    assert main(["-c", str(conf), "webhook", "status"]) == EXIT_OK
    status = json.loads(capsys.readouterr().out)
    assert (status["pending"], status["given_up"], status["last_error"]) == (1, 1, "HTTP 400 Bad Request")
    assert main(["-c", str(conf), "webhook", "flush"]) == EXIT_OK
    assert capsys.readouterr().out == "delivered 1, pending 0\n"
    assert [e["address"] for e in receiver.events()] == ["b@example.org", "a@example.org"]


def config_url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_flush_command_exit_codes(engine, secret, capsys, tmp_path):
    config = webhook_config("http://127.0.0.1:9/")
    bounce(engine, config, 1, "a@example.org")
    down = Receiver().start()
    port = down.port
    down.stop()
    conf = tmp_path / "bw.toml"
    conf.write_text(f'[database]\nurl = "{config_url(engine)}"\n'
                    f'[webhook]\nurl = "http://127.0.0.1:{port}/"\nsecret_env = "{SECRET_ENV}"\n')
    capsys.readouterr()
    assert main(["-c", str(conf), "webhook", "flush"]) == EXIT_UNAVAILABLE
    assert capsys.readouterr().out.startswith("delivered 0, pending 1; failed: cannot reach")
    conf.write_text(f'[database]\nurl = "{config_url(engine)}"\n')
    assert main(["-c", str(conf), "webhook", "flush"]) == EXIT_CONFIG
    assert "webhook.url: no webhook configured" in capsys.readouterr().err
    assert main(["-c", str(conf), "webhook", "discard"]) == EXIT_OK
    assert capsys.readouterr().out == "discarded 1 pending change(s)\n"
    assert all(r.delivered_at is not None for r in outbox(engine))


def test_a_missing_secret_is_a_config_error_naming_the_variable(engine, monkeypatch):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    with pytest.raises(ConfigError, match=f"webhook: environment variable {SECRET_ENV} is not set"):
        deliver(engine, webhook_config("http://127.0.0.1:9/"))


def test_two_senders_at_once_never_send_a_row_twice(engine, receiver, secret):
    config = webhook_config(receiver.url)
    for uid in range(1, 13):
        bounce(engine, config, uid, f"user{uid:02d}@example.org")
    receiver.delay = 0.02
    threads = [threading.Thread(target=deliver, args=(engine, config)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    deliver(engine, config)              # whatever a claim race left for later
    ids = [e["id"] for e in receiver.events()]
    assert sorted(ids) == [r.id for r in outbox(engine)] and len(set(ids)) == 12


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("json", "info", stream)
    yield stream
    configure_logging("json", "info", io.StringIO())   # detach (as tests/test_logs.py does)


def test_the_secret_is_never_logged(engine, secret, log_stream):
    stream = log_stream
    down = Receiver().start()
    port = down.port
    down.stop()
    config = webhook_config(f"http://127.0.0.1:{port}/")
    bounce(engine, config, 1, "a@example.org")
    deliver(engine, config)
    up = Receiver(port=port).start()
    try:
        deliver(engine, config, force=True)
    finally:
        up.stop()
    log = stream.getvalue()
    assert "webhook delivery failed" in log and "webhook delivered" in log
    assert SECRET not in log and SECRET not in repr(config)


def test_the_service_pushes_from_the_outbox(engine, receiver, secret, tmp_path):
    from daemon.config import DatabaseConfig
    from daemon.service import Service

    config = replace(webhook_config(receiver.url, interval=1),
                     database=DatabaseConfig(url=config_url(engine)),
                     export=ExportConfig(directory=str(tmp_path / "out")))
    bounce(engine, config, 1, "a@example.org")
    service = Service(config, notify=lambda *a: True)
    service.start()
    try:
        deadline = time.monotonic() + 10
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.05)
        bounce(engine, config, 2, "b@example.org")           # picked up by a later run
        while len(receiver.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        service.shutdown()
    assert [e["address"] for e in receiver.events()] == ["a@example.org", "b@example.org"]


def test_the_service_job_survives_a_missing_secret(engine, monkeypatch, log_stream, tmp_path):
    from daemon.config import DatabaseConfig
    from daemon.service import Service

    monkeypatch.delenv(SECRET_ENV, raising=False)
    config = replace(webhook_config("http://127.0.0.1:9/"),
                     database=DatabaseConfig(url=config_url(engine)))
    bounce(engine, config, 1, "a@example.org")
    service = Service(config, notify=lambda *a: True)
    try:
        service.push()                                  # logs, does not raise
    finally:
        service.shutdown()
    (line,) = [json.loads(x) for x in log_stream.getvalue().splitlines() if "webhook" in x]
    assert line["event"] == "webhook not sent" and SECRET_ENV in line["error"]
    assert outbox(engine)[0].attempts == 0              # nothing was tried, nothing lost
