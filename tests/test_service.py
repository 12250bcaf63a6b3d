"""The service: backoff policy, sd_notify, surviving failures, IDLE pickup, SIGTERM."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon import sdnotify
from daemon.db import session_scope
from daemon.models import MailboxState, Message
from daemon.service import Backoff, Service
from imapservers import PASSWORD, append, folder_contents, free_port, run_pymap

PLAIN = [f"From: m{i}@example.org\r\nSubject: hi {i}\r\nMessage-ID: <s{i}@example.org>\r\n\r\n"
         f"hello {i}\r\n".encode() for i in range(3)]
FAST = Backoff(base=0.2, cap=0.5, jitter=0.5)


def wait_until(predicate, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# --- backoff: a pure function ---------------------------------------------------------------

def test_backoff_doubles_then_caps():
    b = Backoff(base=5, cap=60, jitter=0.5)
    assert [b.delay(n, rand=0.0) for n in range(0, 6)] == [0.0, 5, 10, 20, 40, 60]
    assert b.delay(1000, rand=0.0) == 60
    assert b.delay(3, rand=0.5) == 15.0          # jitter shortens by up to half


@given(st.integers(min_value=1, max_value=10_000), st.floats(min_value=0, max_value=0.999))
def test_backoff_stays_within_bounds(failures, rand):
    b = Backoff(base=2, cap=300, jitter=0.25)
    ceiling = min(300, 2 * 2 ** (failures - 1))
    assert ceiling * 0.75 <= b.delay(failures, rand) <= ceiling
    assert b.delay(failures + 1, 0.0) >= b.delay(failures, 0.0)


# --- sd_notify --------------------------------------------------------------------------------

@pytest.fixture
def notify_socket(tmp_path):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10)
    yield path, sock
    sock.close()


def test_sd_notify_sends_datagrams(notify_socket):
    path, sock = notify_socket
    assert sdnotify.notify("READY=1", "STATUS=two\nlines", env={"NOTIFY_SOCKET": path})
    assert sock.recv(4096) == b"READY=1\nSTATUS=two lines"
    assert not sdnotify.notify("READY=1", env={})
    assert not sdnotify.notify("READY=1", env={"NOTIFY_SOCKET": str(Path(path).parent / "none")})


def test_sd_notify_abstract_socket():
    name = f"bouncewatch-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        assert sdnotify.notify("WATCHDOG=1", env={"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(100) == b"WATCHDOG=1"


def test_watchdog_period():
    pid = str(os.getpid())
    assert sdnotify.watchdog_period({"WATCHDOG_USEC": "10000000"}) == 5.0
    assert sdnotify.watchdog_period({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": pid}) == 5.0
    assert sdnotify.watchdog_period({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "1"}) is None
    assert sdnotify.watchdog_period({}) is None
    assert sdnotify.watchdog_period({"WATCHDOG_USEC": "soon"}) is None


# --- the service loop -------------------------------------------------------------------------

class Recorder:
    """Collects what the service would tell systemd."""

    def __init__(self) -> None:
        self.fields: list[str] = []

    def __call__(self, *fields: str) -> bool:
        self.fields.extend(fields)
        return True


@pytest.fixture
def start_service():
    """``start_service(config)`` runs ``Service.serve`` in a thread; stopped at teardown."""
    started: list[tuple[Service, threading.Thread]] = []

    def start(config) -> tuple[Service, threading.Thread, Recorder, list[int]]:
        notes = Recorder()
        service = Service(config, backoff=FAST, notify=notes)
        codes: list[int] = []
        thread = threading.Thread(target=lambda: codes.append(service.serve(tick=0.1)),
                                  daemon=True)
        started.append((service, thread))
        thread.start()
        return service, thread, notes, codes
    yield start
    for service, thread in started:    # a failed test must not leave a service running
        service.stop.set()
        thread.join(timeout=60)


def stop_service(service: Service, thread: threading.Thread, codes: list[int]) -> None:
    service.stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive() and codes == [0]


def failures_in_db(engine, mailbox: str) -> int:
    with session_scope(engine) as s:
        state = s.get(MailboxState, mailbox)
        return state.consecutive_failures if state else 0


def messages_in_db(engine) -> int:
    with session_scope(engine) as s:
        return s.query(Message).count()


@pytest.mark.imap
def test_service_survives_an_unreachable_server_and_recovers(make_account, make_config, engine_of,
                                                             start_service):
    port = free_port()
    account = make_account(_fake_server(port), poll_interval=2, timeout=2.0)
    config = make_config(account)
    engine = engine_of(config)
    service, thread, notes, codes = start_service(config)
    worker = service.workers[0]
    wait_until(lambda: worker.failures >= 3, what="three failed attempts")
    assert thread.is_alive()
    assert failures_in_db(engine, worker.name) >= 3
    assert "connect to" in worker.last_error
    wait_until(lambda: any("failing" in f for f in notes.fields), what="STATUS naming the failure")
    with run_pymap(port=port) as server:                # the server comes back
        append(server, "INBOX", PLAIN)
        wait_until(lambda: worker.failures == 0 and worker.processed == 3, what="recovery")
        stop_service(service, thread, codes)
        assert folder_contents(server) == {"INBOX": PLAIN}   # not bounces: left in place
    assert failures_in_db(engine, worker.name) == 0 and messages_in_db(engine) == 3
    assert notes.fields[0] == "READY=1" and "STOPPING=1" in notes.fields


def _fake_server(port: int):
    """The address a server will have (nothing listens there yet)."""
    from imapservers import HOST, USERNAME, ImapServer
    return ImapServer("pymap", HOST, port, USERNAME, PASSWORD, pid=0)


@pytest.mark.imap
def test_service_keeps_retrying_a_wrong_password(pymap, make_account, make_config, monkeypatch,
                                                 start_service):
    account = make_account(pymap, poll_interval=3600)
    monkeypatch.setenv(account.password_env, "definitely-Wrong-42")
    config = make_config(account)
    service, thread, notes, codes = start_service(config)
    worker = service.workers[0]
    wait_until(lambda: worker.failures >= 2, what="two refused logins")
    assert "login refused" in worker.last_error
    assert not any("definitely-Wrong-42" in f for f in notes.fields)
    monkeypatch.setenv(account.password_env, PASSWORD)      # fixed: the next retry works
    wait_until(lambda: worker.failures == 0, what="recovery")
    stop_service(service, thread, codes)


@pytest.mark.imap
def test_idle_picks_up_new_mail_at_once(imap_server, make_account, make_config, engine_of,
                                        start_service):
    account = make_account(imap_server, poll_interval=3600, idle=True, other_folder="other")
    config = make_config(account)
    engine = engine_of(config)
    service, thread, notes, codes = start_service(config)
    worker = service.workers[0]
    wait_until(lambda: worker.processed == 0 and not worker.lock.locked()
               and bool(service._threads) and service._threads[0].is_alive(),
               what="the IDLE thread")
    time.sleep(1.0)                                   # the first polls are over; IDLE waits
    append(imap_server, "INBOX", PLAIN[:1])
    wait_until(lambda: messages_in_db(engine) == 1, timeout=10, what="the IDLE pickup")
    wait_until(lambda: folder_contents(imap_server).get("other") == PLAIN[:1], timeout=10,
               what="the move")
    stop_service(service, thread, codes)


# --- the real process: READY, WATCHDOG, SIGTERM -----------------------------------------------

CONFIG = """\
[database]
url = "{url}"
[[accounts]]
name = "local"
host = "127.0.0.1"
port = {port}
security = "plain"
username = "{user}"
password_env = "BW_PW"
poll_interval = 3600
other_folder = "other"
[logging]
format = "json"
"""


@pytest.mark.imap
def test_bouncewatch_run_notifies_systemd_and_stops_on_sigterm(pymap, tmp_path, notify_socket,
                                                               database_url):
    path, sock = notify_socket
    append(pymap, "INBOX", PLAIN)
    (tmp_path / "bw.toml").write_text(CONFIG.format(port=pymap.port, user=pymap.username,
                                                    url=database_url))
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="400000", BW_PW=pymap.password)
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen([sys.executable, "-m", "daemon.cli", "--config", str(tmp_path / "bw.toml"),
                             "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        seen: list[bytes] = []
        while not any(b"WATCHDOG=1" in m for m in seen):
            seen.append(sock.recv(4096))
        assert seen[0].startswith(b"READY=1")
        wait_until(lambda: folder_contents(pymap).get("other") == PLAIN, what="the first poll")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    while b"STOPPING=1" not in seen[-1]:
        seen.append(sock.recv(4096))
    err = proc.stderr.read().decode()
    assert '"event": "service started"' in err and '"event": "stopped"' in err
    assert pymap.password not in err


# --- the unit file ----------------------------------------------------------------------------

UNIT = Path(__file__).resolve().parent.parent / "deploy" / "bouncewatch.service"


def unit_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_unit_file_is_a_sandboxed_notify_service():
    s = unit_settings()
    assert s["Type"] == ["notify"] and s["Restart"] == ["on-failure"]
    assert s["ExecStart"][0].endswith(" run")
    assert int(s["WatchdogSec"][0].rstrip("s")) / 2 > 10     # pinged every STATUS_EVERY <= 10 s
    assert s["LoadCredential"][0].startswith("imap-password:")
    for key in ("ProtectSystem", "ProtectHome", "PrivateTmp", "NoNewPrivileges",
                "RestrictAddressFamilies", "StateDirectory"):
        assert key in s, key
    assert s["ProtectSystem"] == ["strict"]


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_unit_file_passes_systemd_analyze_verify(tmp_path):
    unit = tmp_path / "bouncewatch.service"
    unit.write_text(UNIT.read_text().replace("/opt/bouncewatch/venv/bin/bouncewatch",
                                             str(Path(sys.executable).parent / "bouncewatch")))
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr
