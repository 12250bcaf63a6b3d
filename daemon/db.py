"""Engines, sessions and migrations: the only place that knows how to open the database."""
from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

import migrations

SQLITE_BUSY_TIMEOUT_MS = 30_000
#: The Alembic script directory, found through the installed ``migrations`` package.
SCRIPT_LOCATION = Path(next(iter(migrations.__path__))).resolve()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``. SQLite gets WAL, a busy timeout and enforced foreign keys, and
    its file's directory is created when missing; ``postgresql://`` means psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":    # the driver our [postgres] extra installs
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True, **kwargs)
    if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


#: SQLite's terse complaints, and what to check (``describe_error``).
SQLITE_HINTS = {
    "database is locked": "another process holds a write lock on it",
    "unable to open database file": "the file or its directory is missing or not writable; "
                                    "SQLite keeps -wal and -shm files beside it",
    "attempt to write a readonly database": "the file or its directory is read-only",
    "database or disk is full": "the disk is full",
}


def describe_error(exc: BaseException) -> str:
    """One line for an error: for the database, the driver's own message (without
    SQLAlchemy's echo of the statement and its links), prefixed ``database:``, with what to
    check for SQLite's terse ones. Other errors: their first line."""
    from sqlalchemy.exc import SQLAlchemyError

    orig = getattr(exc, "orig", None)
    text = (str(orig if orig is not None else exc).strip().splitlines() or [type(exc).__name__])[0]
    if not isinstance(exc, SQLAlchemyError):
        return text
    hint = SQLITE_HINTS.get(text.lower())
    return f"database: {text} ({hint})" if hint else f"database: {text}"


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session whose transaction commits when the block succeeds and rolls back otherwise."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


#: SQLSTATEs of a clash with a concurrent transaction (another instance on the same
#: database): serialization failure, deadlock, unique violation. Worth running again.
CONFLICT_SQLSTATES = frozenset({"40001", "40P01", "23505"})
CONFLICT_ATTEMPTS = 5
T = TypeVar("T")


def is_conflict(exc: BaseException) -> bool:
    """Did a concurrent writer get there first? (PostgreSQL: serialization failure, deadlock,
    unique violation; SQLite: unique violation, or still locked after the busy timeout.)"""
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) in CONFLICT_SQLSTATES:
        return True
    return isinstance(orig, sqlite3.Error) and any(
        text in str(orig) for text in ("UNIQUE constraint failed", "database is locked"))


def in_transaction(engine: Engine, work: Callable[[Session], T], *,
                   attempts: int = CONFLICT_ATTEMPTS) -> T:
    """``work(session)`` in a transaction of its own (``session_scope``); when it clashes with
    a concurrent writer (``is_conflict``) it is rolled back and run again after a short random
    pause, up to ``attempts`` times. ``work`` must be safe to repeat."""
    from sqlalchemy.exc import DBAPIError

    for attempt in range(1, attempts + 1):
        try:
            with session_scope(engine) as session:
                return work(session)
        except DBAPIError as exc:
            if attempt == attempts or not is_conflict(exc):
                raise
            time.sleep(random.uniform(0.0, 0.02 * attempt))
    raise AssertionError("unreachable")


def upsert_insert(session: Session, table: Any) -> Any:
    """An INSERT into ``table`` in the dialect of ``session``'s database, which offers
    ``on_conflict_do_nothing`` / ``on_conflict_do_update`` (SQLite and PostgreSQL alike)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def alembic_config(url: str) -> Any:
    """An Alembic ``Config`` for ``url``, independent of the working directory."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig(str(SCRIPT_LOCATION / "alembic.ini"))
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    cfg.attributes["url"] = url  # not set_main_option: '%' in a password would break it
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Apply the migrations up to ``revision`` (``head``: the schema this code expects)."""
    _migrate(url, "upgrade", revision)


def downgrade(url: str, revision: str) -> None:
    """Revert the migrations down to ``revision`` (``base``: an empty database)."""
    _migrate(url, "downgrade", revision)


#: Instances starting together on one PostgreSQL database take turns to migrate it (the
#: others then find it at head); any constant will do.
MIGRATION_LOCK_ID = 0x62770001


def _migrate(url: str, direction: str, revision: str) -> None:
    from alembic import command

    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
            cfg = alembic_config(url)
            cfg.attributes["connection"] = connection
            getattr(command, direction)(cfg, revision)
    finally:
        engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
