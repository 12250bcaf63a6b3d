"""One poller per mailbox: a second bouncewatch started by mistake against the same database
and mailbox finds the mailbox taken and says so, instead of fetching, classifying and moving
the same messages at the same time (the unique keys would keep the counts right, but the
work would be done twice and the moves would race).

SQLite: an exclusive ``flock`` on a small file beside the database (``<db>.locks/``), which
names the holder. PostgreSQL: a session advisory lock on a connection held for the pass.
The operating system or the server drops either when the holder dies, even by SIGKILL.
Other databases (and SQLite in memory) are not locked.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, text


class MailboxBusy(Exception):
    """Another process is polling this mailbox of this database right now."""


def lock_key(mailbox: str) -> int:
    """A stable signed 64-bit number for ``mailbox`` (PostgreSQL's advisory lock key)."""
    digest = hashlib.sha256(b"bouncewatch mailbox " + mailbox.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextlib.contextmanager
def mailbox_lock(engine: Engine, mailbox: str) -> Iterator[None]:
    """Hold ``mailbox`` for the length of the block; ``MailboxBusy`` if someone else has it."""
    backend = engine.url.get_backend_name()
    database = engine.url.database or ""
    if backend == "postgresql":
        with _advisory_lock(engine, mailbox):
            yield
    elif backend == "sqlite" and database and database != ":memory:" \
            and not database.startswith("file:"):
        with _file_lock(Path(database), mailbox):
            yield
    else:
        yield


@contextlib.contextmanager
def _file_lock(database: Path, mailbox: str) -> Iterator[None]:
    path = database.parent / f"{database.name}.locks" / f"{lock_key(mailbox) & 0xFFFFFFFFFFFF:012x}.lock"
    try:
        path.parent.mkdir(exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
    except OSError:
        # The database's directory is not writable: SQLite cannot write there either, and
        # will say so in its own words when the poll touches the database.
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            raise MailboxBusy(f"{mailbox} is being polled by {holder} (same database "
                              f"{database}); this one waits for its turn") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)       # releases the lock


@contextlib.contextmanager
def _advisory_lock(engine: Engine, mailbox: str) -> Iterator[None]:
    key = lock_key(mailbox)
    with engine.connect() as conn:
        taken = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
        conn.commit()
        if not taken:
            raise MailboxBusy(f"{mailbox} is being polled by another bouncewatch on the same "
                              "database; this one waits for its turn")
        try:
            yield
        finally:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
            except Exception:  # noqa: BLE001 - a broken connection: drop it, the lock goes too
                conn.invalidate()
