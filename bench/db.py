#!/usr/bin/env python3
"""Database benchmark: a million addresses with history; status, history, suppression
check and export.

    python bench/db.py [--addresses N] [--database sqlite|postgres|both]

Fills a fresh database (migrated by Alembic) with N suppressed addresses, each with the
hard bounce that suppressed it, and one address in four with an earlier soft bounce as
well (messages, locations, outcomes, addresses: the rows the daemon writes; the stored raw
messages are 200-byte stand-ins), the mailbox's state, and the counters (``daemon.counters.
recount``). The load is quick (sqlite3 executemany / COPY with the secondary indexes and keys
re-created afterwards) but leaves the database exactly as the daemon would: migrated by
Alembic, every index and key in place, WAL mode; SQLite gets no ANALYZE (the daemon never
runs one), PostgreSQL does (autovacuum would). Prints how long each step of the fill took,
then the median of several runs of ``status``
(``daemon.admin.status_data``), ``history ADDRESS``, a suppression check (one address's
state), and the time and peak resident memory (bench/measure.py) of
``bouncewatch export`` writing all N suppressions as CSV and JSON, beside the peak of
``bouncewatch db current`` (the same process doing no work) for comparison. PostgreSQL runs
in a throwaway cluster (tests/pgserver.py; root or any user with PostgreSQL installed).
"""
from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from sqlalchemy import Engine, func, select  # noqa: E402  (after the path is set)
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from daemon.admin import history_lines, status_data  # noqa: E402
from daemon.config import AccountConfig, Config  # noqa: E402
from daemon.counters import recount  # noqa: E402
from daemon.db import make_engine, session_scope, upgrade  # noqa: E402
from daemon.models import Address, Base, MailboxState, Message, Outcome  # noqa: E402
from measure import Run, measure  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
MAILBOX = "bench/INBOX"
REASONS = ("userunknown", "hostunknown", "hasmoved", "notaccept")
RUNS = 7
CONFIG = Config(accounts=(AccountConfig(name="bench", host="imap.example", username="u",
                                        password_env="UNUSED"),))


def address(i: int) -> str:
    return f"reader{i}@d{i % 5000}.example.com"


#: Times are stored as naive UTC text on SQLite (SQLAlchemy's storage format, checked against
#: its own bind processor in ``fill``) and read as UTC on PostgreSQL (the fill sets the
#: session's time zone to UTC).
T0_NAIVE = T0.replace(tzinfo=None)
RAW = b"x" * 200


def stamp(seconds: int) -> str:
    """T0 + ``seconds`` as SQLAlchemy stores a UTC datetime in SQLite."""
    return (T0_NAIVE + timedelta(seconds=seconds)).isoformat(" ", "microseconds")


MESSAGE_COLUMNS = ("id", "sha256", "size", "raw", "kind", "decoded_by", "disposition",
                   "message_id", "original_message_id", "list_id", "subject", "error",
                   "received_at", "recorded_at", "classified_at", "first_mailbox")
LOCATION_COLUMNS = ("id", "mailbox", "uidvalidity", "uid", "message_pk", "seen_at", "moved_at")
OUTCOME_COLUMNS = ("id", "message_pk", "recipient", "valid", "reason", "hard", "action", "status",
                   "reply_code", "diagnostic", "remote_mta", "command", "created_at")
ADDRESS_COLUMNS = ("id", "address", "state", "reason", "status", "reply_code", "note", "manual",
                   "first_seen", "last_seen", "bounce_count", "soft_count", "suppressed_at",
                   "source_message_pk", "source_message_id", "updated_at")


def message_rows(n: int) -> Iterator[tuple[Any, ...]]:
    """Soft bounces first (ids 1..n/4, for every fourth address), then one hard per address."""
    for pk in range(1, n + n // 4 + 1):
        at = stamp(pk)
        yield (pk, f"{pk:064x}", 200, RAW, "bounce", "bench", "processed", f"<ndr{pk}@mx.example>",
               "", "", "Undelivered Mail", "", at, at, at, MAILBOX)


def location_rows(n: int) -> Iterator[tuple[Any, ...]]:
    for pk in range(1, n + n // 4 + 1):
        at = stamp(pk)
        yield (pk, MAILBOX, 1, pk, pk, at, at)


def outcome_rows(n: int) -> Iterator[tuple[Any, ...]]:
    soft = n // 4
    t0 = stamp(0)
    for pk in range(1, soft + 1):
        yield (pk, pk, address((pk - 1) * 4), True, "mailboxfull", False, "failed", "4.2.2", "452",
               "550 5.1.1 user unknown", "mx.example", "RCPT", t0)
    for pk in range(soft + 1, n + soft + 1):
        i = pk - soft - 1
        yield (pk, pk, address(i), True, REASONS[i % len(REASONS)], True, "failed", "5.1.1", "550",
               "550 5.1.1 user unknown", "mx.example", "RCPT", t0)


def address_rows(n: int) -> Iterator[tuple[Any, ...]]:
    soft = n // 4
    for i in range(n):
        pk = soft + i + 1
        at = stamp(pk)
        earlier = i % 4 == 0      # an earlier soft bounce (message i // 4 + 1)
        yield (i + 1, address(i), "suppressed", REASONS[i % len(REASONS)], "5.1.1", "550", "", False,
               stamp(i // 4 + 1) if earlier else at, at, 2 if earlier else 1, 1 if earlier else 0, at,
               pk, f"<ndr{pk}@mx.example>", at)


TABLES = (("messages", MESSAGE_COLUMNS, message_rows), ("locations", LOCATION_COLUMNS, location_rows),
          ("outcomes", OUTCOME_COLUMNS, outcome_rows), ("addresses", ADDRESS_COLUMNS, address_rows))
LOADED = tuple(name for name, _, _ in TABLES)


def fill(url: str, n: int) -> dict[str, float]:
    """A database as the daemon would have it after recording the rows above: migrated by
    Alembic, every index and constraint in place, counters recounted. Returns the seconds
    each step took. Bulk-load shortcuts touch only how the rows get in: the load runs with
    the secondary indexes (and on PostgreSQL the unique and foreign keys) dropped and
    re-created from their own stored definitions afterwards, foreign keys checked after."""
    steps: dict[str, float] = {}
    started = time.perf_counter()
    upgrade(url)
    steps["migrate"] = time.perf_counter() - started
    engine = make_engine(url)
    try:
        assert_column_order(engine)
        if engine.dialect.name == "postgresql":
            steps.update(load_postgres(engine, n))
        else:
            steps.update(load_sqlite(engine, n))
        started = time.perf_counter()
        with session_scope(engine) as session:
            session.add(MailboxState(mailbox=MAILBOX, uidvalidity=1, last_uid=n + n // 4,
                                     last_poll_at=T0 + timedelta(seconds=n + n // 4),
                                     last_success_at=T0 + timedelta(seconds=n + n // 4)))
            session.flush()
            recount(session)
        steps["counters"] = time.perf_counter() - started
        check_fill(engine, n)
    finally:
        engine.dispose()
    return steps


def assert_column_order(engine: Engine) -> None:
    """The column lists above name every column of their tables, and times are stored as
    SQLAlchemy would store them."""
    for name, columns, _ in TABLES:
        assert set(columns) == set(Base.metadata.tables[name].columns.keys()), name
    if engine.dialect.name == "sqlite":
        column_type = Message.__table__.c.received_at.type
        bind = column_type.dialect_impl(engine.dialect).bind_processor(engine.dialect)
        assert bind(T0 + timedelta(seconds=1)) == stamp(1), (bind(T0 + timedelta(seconds=1)), stamp(1))


def load_sqlite(engine: Engine, n: int) -> dict[str, float]:
    """sqlite3 directly, one transaction, no journal while loading (the file is thrown away if
    it fails), a large cache; secondary indexes dropped and re-created from their own SQL."""
    path = make_url(engine.url).database
    steps = {}
    started = time.perf_counter()
    con = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -524288",
                       "temp_store = MEMORY", "foreign_keys = OFF"):
            con.execute(f"PRAGMA {pragma}")
        con.execute("BEGIN")
        indexes = con.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({', '.join('?' * len(LOADED))}) ORDER BY name", LOADED).fetchall()
        for name, _ in indexes:
            con.execute(f'DROP INDEX "{name}"')
        for table, columns, rows in TABLES:
            con.executemany(f"INSERT INTO {table} ({', '.join(columns)}) "
                            f"VALUES ({', '.join('?' * len(columns))})", rows(n))
        steps["load"] = time.perf_counter() - started
        started = time.perf_counter()
        for _, sql in indexes:
            con.execute(sql)
        con.execute("COMMIT")
        steps["indexes"] = time.perf_counter() - started
        started = time.perf_counter()
        problems = con.execute("PRAGMA foreign_key_check").fetchall()
        assert not problems, problems[:5]
        steps["foreign key check"] = time.perf_counter() - started
        con.execute("PRAGMA journal_mode = WAL")     # what the daemon sets (it persists)
    finally:
        con.close()
    return steps


def load_postgres(engine: Engine, n: int) -> dict[str, float]:
    """COPY in one transaction; unique and foreign keys and plain indexes of the loaded tables
    dropped first and re-created from their own definitions (pg_get_constraintdef,
    pg_indexes) afterwards: building an index once beats maintaining it row by row, and a
    foreign key added to a full table is checked in one pass."""
    steps = {}
    started = time.perf_counter()
    with engine.begin() as conn:
        cursor = conn.connection.cursor()
        for setting in ("synchronous_commit = off", "maintenance_work_mem = '512MB'",
                        "TIME ZONE 'UTC'"):
            cursor.execute(f"SET LOCAL {setting}")
        tables = list(LOADED)
        constraints = cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype "
            "FROM pg_constraint WHERE contype IN ('u', 'f') AND conrelid::regclass::text = ANY(%s) "
            "ORDER BY contype = 'f', conname", (tables,)).fetchall()
        indexes = cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = ANY(%s) AND indexname NOT IN (SELECT conname FROM pg_constraint) "
            "ORDER BY indexname", (tables,)).fetchall()
        for table, name, _, _ in sorted(constraints, key=lambda c: c[3] != "f"):  # foreign first
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        for table, columns, rows in TABLES:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows(n):
                    copy.write_row(row)
        steps["load"] = time.perf_counter() - started
        started = time.perf_counter()
        for _, sql in indexes:
            cursor.execute(sql)
        for table, name, definition, _ in constraints:        # unique first, then foreign
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for table in tables:
            cursor.execute(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
        steps["indexes and keys"] = time.perf_counter() - started
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")      # autovacuum's job on a live server, done now
    steps["analyze"] = time.perf_counter() - started
    return steps


def check_fill(engine: Engine, n: int) -> None:
    """A few rows read back through the models: the times and flags the daemon would read."""
    probe = n // 2 + 4 * 7
    with Session(engine) as s:
        a = s.scalar(select(Address).where(Address.address == address(probe)))
        assert a is not None and a.manual is False and a.bounce_count == 2
        at = T0 + timedelta(seconds=n // 4 + probe + 1)
        assert (a.first_seen, a.last_seen, a.suppressed_at) == (
            T0 + timedelta(seconds=probe // 4 + 1), at, at), a
        last = s.get(Message, n + n // 4)
        assert last is not None and last.received_at == T0 + timedelta(seconds=n + n // 4)
        assert last.raw == RAW
        o = s.get(Outcome, 1)
        assert o is not None and o.hard is False and o.valid is True and o.created_at == T0
        assert s.scalar(select(func.count()).select_from(Address)) == n


def median_ms(work: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def run_cli(config: Path, *argv: str) -> Run:
    """One ``bouncewatch`` process, measured."""
    return measure([sys.executable, "-m", "daemon.cli", "--config", str(config), *argv], cwd=ROOT)


def bench(url: str, label: str, n: int, directory: Path) -> None:
    print(f"[{label}] filling {n:,} addresses ...", flush=True)
    steps = fill(url, n)
    print(f"[{label}] filled in {sum(steps.values()):.0f} s ("
          + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in steps.items()) + ")", flush=True)
    engine = make_engine(url)
    probe = address(n // 2 + 4 * 7)     # an address in the middle (with a soft bounce too)
    try:
        with Session(engine) as s:
            figures = {
                "status": median_ms(lambda: status_data(s, CONFIG)),
                "history ADDRESS": median_ms(lambda: (
                    s.scalar(select(Address).where(Address.address == probe)),
                    history_lines(s, probe))),
                "suppression check": median_ms(lambda: s.scalar(
                    select(Address.state).where(Address.address == probe))),
            }
            assert len(history_lines(s, probe)) == 2
            shown = status_data(s, CONFIG)      # the counters tell the truth about the fill
            assert shown["messages"] == n + n // 4 and shown["suppressions"]["total"] == n, shown
            assert shown["mailboxes"][0]["outcomes_by_severity"] == {"hard": n, "soft": n // 4}
    finally:
        engine.dispose()
    for name, ms in figures.items():
        print(f"[{label}] {name:18} {ms:8.1f} ms (median of {RUNS})", flush=True)
    config = directory / f"{label}.toml"
    config.write_text(f'[database]\nurl = "{url}"\n[export]\ndirectory = "export-{label}"\n')
    idle = run_cli(config, "db", "current")
    export = run_cli(config, "export")
    assert idle.code == 0 and export.code == 0, (idle, export)
    lines = sum(1 for _ in open(directory / f"export-{label}" / "suppressions.csv", "rb")) - 1
    assert lines == n, lines
    print(f"[{label}] export {n:,} suppressions: {export.seconds:.1f} s "
          f"({export.cpu_seconds:.1f} s CPU), peak RSS {export.peak_mb:.0f} MB "
          f"(the same process idle: {idle.peak_mb:.0f} MB)", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--addresses", type=int, default=1_000_000)
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bw-benchdb-") as tmp, ExitStack() as stack:
        directory = Path(tmp)
        if args.database in ("sqlite", "both"):
            bench(f"sqlite:///{directory / 'bench.sqlite3'}", "sqlite", args.addresses, directory)
        if args.database in ("postgres", "both"):
            from pgserver import postgres_skip_reason, run_postgres

            if postgres_skip_reason():
                print(f"[postgres] skipped: {postgres_skip_reason()}")
                return 0
            server = stack.enter_context(run_postgres(settings=()))
            url = stack.enter_context(server.database("bw_bench"))
            bench(url, "postgres", args.addresses, directory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
