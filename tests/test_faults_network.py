"""The network misbehaves between the service and a real server (a TCP proxy in the test):
the connection is cut in the middle of a FETCH answer and right after a MOVE is sent, the
server answers too slowly for the timeout, and it goes away for a while. Each time the
service logs the failure once, shows it in ``status`` and the systemd STATUS line, retries
after an exponential backoff with jitter, and catches up: at the end every message is
recorded once and the folders agree with the database.
"""
from __future__ import annotations

import io
import json
import threading
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

import faultmail
from daemon.admin import status_data
from daemon.config import load_config
from daemon.db import make_engine, session_scope, upgrade
from daemon.models import Message
from daemon.logs import configure_logging
from daemon.service import Backoff, Service
from faultrun import (PASSWORD_ENV, bouncewatch, fill, server_folders, snapshot, wait_until,
                      write_config)
from imapservers import free_port, run_pymap
from tcpproxy import TcpProxy

pytestmark = pytest.mark.imap

BACKOFF = Backoff(base=0.4, cap=3.0, jitter=0.5)
TIMEOUT = 1.5


class Notes:
    """What the service would tell systemd."""

    def __init__(self) -> None:
        self.fields: list[str] = []

    def __call__(self, *fields: str) -> bool:
        self.fields.extend(fields)
        return True

    def statuses(self) -> list[str]:
        return [f for f in self.fields if f.startswith("STATUS=")]


def events(buffer: io.StringIO, name: str | None) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]
    return [e for e in lines if name is None or e.get("event") == name]


@pytest.fixture
def logs():
    buffer = io.StringIO()
    configure_logging("json", "info", stream=buffer)
    yield buffer
    configure_logging("json", "warning")


def test_cuts_stalls_and_outages_are_retried_with_backoff_and_caught_up(
        imap_server, tmp_path, monkeypatch, logs, database_url):
    server = imap_server
    monkeypatch.setenv(PASSWORD_ENV, server.password)
    mail = faultmail.mailbox(120, seed=7)
    with TcpProxy(server.host, server.port) as proxy:
        config = load_config(write_config(tmp_path, server, port=proxy.port, batch_size=10,
                                          timeout=TIMEOUT, poll_interval=1, url=database_url))
        upgrade(config.database.url)
        notes = Notes()
        service = Service(config, backoff=BACKOFF, notify=notes)
        codes: list[int] = []
        thread = threading.Thread(target=lambda: codes.append(service.serve(tick=0.1)), daemon=True)
        thread.start()
        worker = service.workers[0]
        seen_failures = 0
        try:
            stages = [
                ("cut mid-FETCH", lambda: _twice(proxy.cut_after, b"BODY.PEEK[]", 400), mail[:30],
                 "FETCH"),
                ("cut after MOVE", lambda: _twice(proxy.cut_after, b"MOVE", 0), mail[30:60],
                 "MOVE"),
                ("stalled answers", lambda: setattr(proxy, "stalled", True), mail[60:90],
                 "timed out"),
                ("server away", lambda: setattr(proxy, "refusing", True), mail[90:], ""),
            ]
            total = 0
            for what, fault, batch, error in stages:
                notes_before = len(notes.fields)
                fault()
                fill(server, batch)
                total += len(batch)
                wait_until(lambda: len(events(logs, "poll failed")) >= seen_failures + 2,
                           what=f"{what}: two failed polls")
                wait_until(lambda: any("failing: faults/INBOX" in f
                                       for f in notes.fields[notes_before:]),
                           what=f"{what}: STATUS naming the failure")
                status = _mailbox_status(service, config)
                assert status["last_error"] and error in status["last_error"], (what, status)
                proxy.stalled = proxy.refusing = False
                wait_until(lambda: worker.failures == 0 and _done(config) == total, timeout=60,
                           what=f"{what}: catching up")
                assert _mailbox_status(service, config)["consecutive_failures"] == 0
                failed = events(logs, "poll failed")
                _assert_logged_once_with_backoff(failed[seen_failures:], what)
                seen_failures = len(failed)
        finally:
            service.stop.set()
            thread.join(timeout=30)
        assert codes == [0]
    assert proxy.cuts == [b"BODY.PEEK[]"] * 2 + [b"MOVE"] * 2
    result = snapshot(config.database.url)
    assert result["locations"] == len(mail) and result["unmoved"] == 0
    assert sum(result["per_message"].values()) == len(mail)
    assert server_folders(server) == result["folders"]
    assert len(events(logs, "mailbox recovered")) == len(stages)
    loud = [e["event"] for e in events(logs, None) if e["level"] in ("warning", "error")]
    assert loud == ["poll failed"] * seen_failures, loud     # each failure logged once
    print(f"\n[faults/network {server.kind}] faults injected: 4 cuts, a stall, an outage: "
          f"{seen_failures} failed polls in all; connections: {proxy.accepted}; "
          f"messages checked: {len(mail)}")


def _done(config) -> int:
    """Messages recorded and settled (moved) so far."""
    s = snapshot(config.database.url)
    return s["locations"] - s["unmoved"]


def _mailbox_status(service: Service, config) -> dict[str, Any]:
    with session_scope(service.engine) as session:
        return status_data(session, config)["mailboxes"][0]


def _twice(arm, *args) -> None:
    arm(*args)
    arm(*args)


def _assert_logged_once_with_backoff(failed: list[dict[str, Any]], what: str) -> None:
    """One log line per failed attempt, numbered 1, 2, ... within a streak of failures (a
    busy machine may add a streak of its own, e.g. a login timeout); each retry delay within
    the jittered window of an exponentially growing ceiling."""
    assert failed, what
    numbers = [e["failures"] for e in failed]
    assert all(n == 1 or n == before + 1 for before, n in zip([0, *numbers], numbers)), \
        (what, numbers)
    for event in failed:
        ceiling = min(BACKOFF.cap, BACKOFF.base * 2 ** (event["failures"] - 1))
        assert ceiling * (1 - BACKOFF.jitter) - 0.05 <= event["retry_in"] <= ceiling + 0.05, \
            (what, event)


# --- the size cap: an oversized message is not downloaded whole -----------------------------

CAP = 8192


def test_a_message_over_the_size_cap_is_kept_unparsed_without_downloading_it(pymap, tmp_path):
    """``limits.max_message_bytes``: the poller reads RFC822.SIZE first and fetches only
    the first CAP + 1 octets of a bigger message; the store keeps that prefix as evidence
    (kind "oversized", never parsed) and the whole message goes to the unparsed folder on
    the server, where it stays complete."""
    big = faultmail.crlf(faultmail.mailbox(1, seed=9)[0].replace(
        b"\r\n\r\n", b"\r\n\r\n" + b"x" * 76 + b"\r\n", 1).replace(b"Issue", b"Big issue")
        + b"y" * 75 * 30_000 + b"\r\n")
    small = faultmail.mailbox(3, seed=10)
    fill(pymap, [small[0], big, *small[1:]])
    with TcpProxy(pymap.host, pymap.port) as proxy:
        config = write_config(tmp_path, pymap, port=proxy.port,
                              extra=f"[limits]\nmax_message_bytes = {CAP}")
        done = bouncewatch(config, "poll", "--once", password=pymap.password)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(big) > 2_000_000 and proxy.downstream < 100_000, proxy.downstream
    url = f"sqlite:///{tmp_path / 'bw.sqlite3'}"
    result = snapshot(url)
    kinds = sorted(kind for kind, _disposition, _outcomes in result["messages"].values())
    assert kinds.count("oversized") == 1 and len(kinds) == 4
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            kept = s.scalar(select(Message).where(Message.kind == "oversized"))
            assert kept.raw == big[:CAP + 1] and kept.outcomes == [] and kept.error
    finally:
        engine.dispose()
    assert server_folders(pymap)[("bouncewatch/unparsed", big)] == 1    # whole, on the server


def test_server_stopped_and_restarted_is_retried_and_caught_up(tmp_path, monkeypatch, logs,
                                                              database_url):
    """A real server goes away (its process stopped) and a new one comes up on the same
    port; the new one's mail is picked up once it is there."""
    port = free_port()
    mail = faultmail.mailbox(40, seed=13)
    with run_pymap(port=port) as first:
        monkeypatch.setenv(PASSWORD_ENV, first.password)
        config = load_config(write_config(tmp_path, first, timeout=5.0, poll_interval=1,
                                          url=database_url))
        upgrade(config.database.url)
        notes = Notes()
        service = Service(config, backoff=BACKOFF, notify=notes)
        codes: list[int] = []
        thread = threading.Thread(target=lambda: codes.append(service.serve(tick=0.1)),
                                  daemon=True)
        thread.start()
        worker = service.workers[0]
        try:
            fill(first, mail[:20])
            wait_until(lambda: _done(config) == 20, what="the first server's mail")
            stopped = len(notes.fields)      # the first server stops at the end of this block
        except BaseException:
            service.stop.set()
            raise
    try:
        wait_until(lambda: worker.failures >= 2, what="failed polls while the server is down")
        assert any("failing: faults/INBOX" in f for f in notes.fields[stopped:])
        assert _mailbox_status(service, config)["consecutive_failures"] >= 1
        with run_pymap(port=port) as second:
            fill(second, mail[20:])
            wait_until(lambda: worker.failures == 0 and _done(config) == 40, timeout=60,
                       what="catching up with the restarted server")
            service.stop.set()
            thread.join(timeout=30)
            on_server = server_folders(second)
    finally:
        service.stop.set()
        thread.join(timeout=30)
    settled = snapshot(config.database.url)["folders"]
    assert on_server == Counter({k: n for k, n in settled.items() if k[1] in mail[20:]})
    assert codes == [0]
    _assert_logged_once_with_backoff(events(logs, "poll failed"), "server restarted")
    assert len(events(logs, "mailbox recovered")) == 1
