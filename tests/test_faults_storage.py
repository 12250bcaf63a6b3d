"""Storage faults, with the real ``bouncewatch`` process and a real SQLite file: the database
locked by another process, read-only, and the disk full while exporting. Each gives a clear
error, loses nothing (the mail stays on the server until it is recorded; the last good
export stays in place), and the next attempt does the work.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import insert

import faultmail
from daemon import cli
from daemon.db import make_engine, upgrade
from daemon.models import Address
from faultrun import FOLDER, bouncewatch, fill, server_folders, snapshot, write_config

pytestmark = pytest.mark.imap

HOLD_LOCK = """\
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("COMMIT")
"""


@contextlib.contextmanager
def locked(db: Path, seconds: float) -> Iterator[subprocess.Popen[str]]:
    """Another process holds an exclusive write lock on ``db`` for ``seconds``."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(db), str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def summary_row(stdout: str) -> dict[str, str]:
    header, row = stdout.strip().splitlines()[:2]
    return dict(zip(header.split(), row.split(maxsplit=len(header.split()) - 1)))


def in_inbox(server) -> int:
    return sum(n for (folder, _), n in server_folders(server).items() if folder == FOLDER)


def test_a_lock_held_for_a_while_is_waited_for(pymap, tmp_path):
    config = write_config(tmp_path, pymap)
    mail = faultmail.mailbox(20, seed=1)
    fill(pymap, mail)
    upgrade(f"sqlite:///{tmp_path / 'bw.sqlite3'}")
    with locked(tmp_path / "bw.sqlite3", 3.0) as holder:
        done = bouncewatch(config, "poll", "--once", password=pymap.password)
        assert holder.poll() is not None       # the lock was released before the poll ended
    assert done.returncode == 0, done.stdout + done.stderr
    assert summary_row(done.stdout)["new"] == str(len(set(mail)))
    assert in_inbox(pymap) == 0


def test_a_lock_held_too_long_is_a_clear_error_and_the_next_poll_catches_up(
        pymap, tmp_path, monkeypatch, capsys):
    from daemon import db as dbmodule
    monkeypatch.setattr(dbmodule, "SQLITE_BUSY_TIMEOUT_MS", 500)
    monkeypatch.setenv("BW_FAULT_PASSWORD", pymap.password)
    config = write_config(tmp_path, pymap)
    mail = faultmail.mailbox(20, seed=2)
    fill(pymap, mail)
    url = f"sqlite:///{tmp_path / 'bw.sqlite3'}"
    upgrade(url)
    with locked(tmp_path / "bw.sqlite3", 60):
        code = cli.main(["--config", str(config), "poll", "--once", "--no-upgrade"])
    out, err = capsys.readouterr()
    assert code == cli.EXIT_UNAVAILABLE
    result = summary_row(out)["result"]
    assert "database is locked" in result and "\n" not in result, result
    assert "Traceback" not in out + err
    assert in_inbox(pymap) == len(mail) and snapshot(url)["locations"] == 0   # nothing lost
    code = cli.main(["--config", str(config), "poll", "--once", "--no-upgrade"])
    assert code == 0 and snapshot(url)["locations"] == len(mail) and in_inbox(pymap) == 0


# --- a read-only database, a full disk: root mounts a tiny tmpfs -------------------------

def can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs",
                           str(where)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def remount(where: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(where)], check=True)


@contextlib.contextmanager
def read_only(directory: Path) -> Iterator[None]:
    """``directory`` (a tmpfs when root, where permissions do not stop writes) read-only."""
    if can_mount():
        remount(directory, "ro")
        try:
            yield
        finally:
            remount(directory, "rw")
        return
    modes = {p: p.stat().st_mode for p in [directory, *directory.iterdir()]}
    for p in modes:
        p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        yield
    finally:
        for p, mode in modes.items():
            p.chmod(mode)


@contextlib.contextmanager
def database_directory(tmp_path: Path) -> Iterator[Path]:
    if can_mount():
        with tmpfs(tmp_path / "db", "16m") as d:
            yield d
    else:
        (tmp_path / "db").mkdir()
        yield tmp_path / "db"


def test_a_read_only_database_is_a_clear_error_and_loses_nothing(pymap, tmp_path):
    with database_directory(tmp_path) as d:
        config = write_config(tmp_path, pymap, url=f"sqlite:///{d / 'bw.sqlite3'}")
        url = f"sqlite:///{d / 'bw.sqlite3'}"
        first, later = faultmail.mailbox(40, seed=3)[:20], faultmail.mailbox(40, seed=3)[20:]
        fill(pymap, first)
        assert bouncewatch(config, "poll", "--once", password=pymap.password).returncode == 0
        before = snapshot(url)
        fill(pymap, later)
        with read_only(d):
            done = bouncewatch(config, "poll", "--once", password=pymap.password)
        assert done.returncode == cli.EXIT_UNAVAILABLE, done.stdout + done.stderr
        text = done.stdout + done.stderr
        assert "not writable" in text and "Traceback" not in text, text
        assert snapshot(url) == before and in_inbox(pymap) == len(later)   # nothing lost
        done = bouncewatch(config, "poll", "--once", password=pymap.password)
        assert done.returncode == 0, done.stdout + done.stderr
        assert snapshot(url)["locations"] == 40 and in_inbox(pymap) == 0


def _suppress_many(url: str, n: int, start: int = 0) -> None:
    """``n`` suppressed addresses, inserted directly (the export only reads this table)."""
    now = datetime.now(timezone.utc)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(Address), [dict(
                address=f"gone{i}@example.net", state="suppressed", reason="userunknown",
                status="5.1.1", reply_code="550", note="", manual=False, first_seen=now,
                last_seen=now, bounce_count=1, soft_count=0, suppressed_at=now,
                source_message_id=f"<m{i}@example.net>", updated_at=now)
                for i in range(start, start + n)])
    finally:
        engine.dispose()


@pytest.mark.skipif(not can_mount(), reason="needs root to mount a small tmpfs")
def test_disk_full_while_exporting_keeps_the_last_good_export(pymap, tmp_path):
    config = write_config(tmp_path, pymap)
    url = f"sqlite:///{tmp_path / 'bw.sqlite3'}"
    upgrade(url)
    _suppress_many(url, 20)
    with tmpfs(tmp_path / "export", "64k") as export:
        done = bouncewatch(config, "export", password=pymap.password)
        assert done.returncode == 0, done.stderr
        good = {p.name: p.read_bytes() for p in export.iterdir()}
        assert sorted(good) == ["suppressions.csv", "suppressions.json"]
        _suppress_many(url, 3000, start=20)             # far more than 64 KiB of export
        done = bouncewatch(config, "export", password=pymap.password)
        assert done.returncode == cli.EXIT_UNAVAILABLE, done.stdout + done.stderr
        assert "No space left on device" in done.stderr and "Traceback" not in done.stderr, \
            done.stderr
        assert {p.name: p.read_bytes() for p in export.iterdir()} == good   # intact, no debris
        remount(export, "size=4m")
        done = bouncewatch(config, "export", password=pymap.password)
        assert done.returncode == 0, done.stderr
        assert len((export / "suppressions.csv").read_text().splitlines()) == 3021
