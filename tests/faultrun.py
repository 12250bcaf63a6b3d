"""Shared by the fault tests: a config file for a server, the real ``bouncewatch`` process,
and a comparable snapshot of what the database says (and of what the folders must hold)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import select

from daemon.db import make_engine, session_scope
from daemon.models import Address, Location, Message
from imapservers import ImapServer, folder_contents

PASSWORD_ENV = "BW_FAULT_PASSWORD"
FOLDER = "INBOX"
TARGETS = {"processed": "bouncewatch/processed", "unparsed": "bouncewatch/unparsed",
           "other": "bouncewatch/other"}

CONFIG = """\
[database]
url = "{url}"
[[accounts]]
name = "faults"
host = "{host}"
port = {port}
security = "{security}"
username = "{user}"
password_env = "{password_env}"
folders = ["{folder}"]
other_folder = "{other}"
batch_size = {batch_size}
timeout = {timeout}
poll_interval = {poll_interval}
{account_extra}
[export]
directory = "export"
[logging]
format = "json"
level = "{level}"
{extra}
"""


def write_config(directory: Path, server: ImapServer, *, url: str = "sqlite:///bw.sqlite3",
                 batch_size: int = 25, timeout: float = 10.0, poll_interval: int = 3600,
                 port: int | None = None, account_extra: str = "", extra: str = "",
                 level: str = "info", name: str = "bouncewatch.toml") -> Path:
    """A configuration for ``server`` (``port`` overrides its port, e.g. for a proxy)."""
    path = directory / name
    path.write_text(CONFIG.format(
        url=url, host=server.host, port=port or server.port, security=server.security,
        user=server.username, password_env=PASSWORD_ENV, folder=FOLDER, other=TARGETS["other"],
        batch_size=batch_size, timeout=timeout, poll_interval=poll_interval,
        account_extra=account_extra, extra=extra, level=level))
    return path


def bouncewatch(config: Path, *args: str, password: str, env: dict[str, str] | None = None,
                timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``bouncewatch --config CONFIG ARGS`` as its own process; output captured."""
    return subprocess.run([sys.executable, "-m", "daemon.cli", "--config", str(config), *args],
                          env=process_env(password, env), capture_output=True, text=True,
                          timeout=timeout)


def start_bouncewatch(config: Path, *args: str, password: str,
                      env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "daemon.cli", "--config", str(config), *args],
                            env=process_env(password, env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def process_env(password: str, env: dict[str, str] | None = None) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith(("BOUNCEWATCH_FAULT",
                                                                     "NOTIFY_SOCKET"))}
    out[PASSWORD_ENV] = password
    out.update(env or {})
    return out


def snapshot(url: str) -> dict[str, Any]:
    """What an uninterrupted run and an interrupted one must agree on, and the state of the
    moves: every message by content hash with its kind and outcomes, every address decision
    (counts, dates, the message that caused it), how many locations, how many unmoved."""
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            messages = {m.sha256: (m.kind, m.disposition, tuple(sorted(
                (o.recipient, o.reason, o.hard, o.status, o.reply_code) for o in m.outcomes)))
                for m in s.scalars(select(Message))}
            addresses = {a.address: (a.state, a.reason, a.status, a.reply_code, a.bounce_count,
                                     a.soft_count, a.first_seen, a.last_seen, a.source_message_id)
                         for a in s.scalars(select(Address))}
            locations = s.scalars(select(Location)).all()
            per_message = Counter(loc.message.sha256 for loc in locations)
            folders = Counter((TARGETS[loc.message.disposition], loc.message.raw)
                              for loc in locations if loc.moved_at is not None)
            return {"messages": messages, "addresses": addresses,
                    "locations": len(locations), "per_message": per_message,
                    "unmoved": sum(loc.moved_at is None for loc in locations),
                    "folders": folders}
    finally:
        engine.dispose()


def fill(server: ImapServer, messages: list[bytes], folder: str = FOLDER) -> None:
    """APPEND ``messages`` in order with MULTIAPPEND (one command per 100: fast on both servers)."""
    with server.client() as c:
        for start in range(0, len(messages), 100):
            c.multiappend(folder, messages[start:start + 100])


def server_folders(server: ImapServer) -> Counter[tuple[str, bytes]]:
    """(folder, raw) of every message on the server, the polled folder included."""
    return Counter((folder, raw) for folder, raws in folder_contents(server).items()
                   for raw in raws)


def wait_until(predicate: Callable[[], object], timeout: float = 30.0, what: str = "it") -> None:
    """Poll ``predicate`` until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def run_service_until(config: Path, password: str, *texts: str, timeout: float = 60.0,
                      env: dict[str, str] | None = None,
                      until: Callable[[], object] = lambda: True) -> tuple[str, str]:
    """``bouncewatch run`` until its stderr has shown every one of ``texts`` (default: the
    "service started" event) and ``until()`` holds, then SIGTERM; returns (stdout,
    stderr) and checks the clean exit."""
    import signal
    import threading

    proc = start_bouncewatch(config, "run", password=password, env=env)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")),
                              daemon=True)
    reader.start()
    wanted = texts or ('"event": "service started"',)
    try:
        wait_until(lambda: all(any(t in line for line in list(lines)) for t in wanted)
                   and until(), timeout=timeout, what=f"the service to log {wanted}")
        time.sleep(0.3)              # past the signal handlers' installation
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.stdout.read() if proc.stdout else ""
        proc.wait(timeout=60)
        reader.join(timeout=10)
    err = "".join(lines)
    assert proc.returncode == 0, err[-2000:]
    return out, err
