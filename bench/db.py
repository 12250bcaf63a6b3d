#!/usr/bin/env python3
"""Database benchmark: a million addresses with history; status, history, suppression
check and export.

    python bench/db.py [--addresses N] [--database sqlite|postgres|both]

Fills a fresh database (migrated by Alembic) with N suppressed addresses, each with the
hard bounce that suppressed it, and one address in four with an earlier soft bounce as
well (messages, locations, outcomes, addresses: the rows the daemon writes; the stored raw
messages are 200-byte stand-ins). Then prints the median of several runs of ``status``
(``daemon.admin.status_data``), ``history ADDRESS``, a suppression check (one address's
state), and the time and peak resident memory (bench/measure.py) of
``bouncewatch export`` writing all N suppressions as CSV and JSON, beside the peak of
``bouncewatch db current`` (the same process doing no work) for comparison. PostgreSQL runs
in a throwaway cluster (tests/pgserver.py; root or any user with PostgreSQL installed).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from itertools import islice
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from sqlalchemy import Engine, Table, insert, select  # noqa: E402  (after the path is set)
from sqlalchemy.orm import Session  # noqa: E402

from daemon.admin import history_lines, status_data  # noqa: E402
from daemon.config import AccountConfig, Config, DatabaseConfig  # noqa: E402
from daemon.db import make_engine, upgrade  # noqa: E402
from daemon.models import Address, Location, Message, Outcome  # noqa: E402
from measure import Run, measure  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
MAILBOX = "bench/INBOX"
REASONS = ("userunknown", "hostunknown", "hasmoved", "notaccept")
CHUNK = 20_000
RUNS = 7
CONFIG = Config(accounts=(AccountConfig(name="bench", host="imap.example", username="u",
                                        password_env="UNUSED"),))


def address(i: int) -> str:
    return f"reader{i}@d{i % 5000}.example.com"


def message_rows(n: int) -> Iterator[dict[str, Any]]:
    """Soft bounces first (ids 1..n/4, for every fourth address), then one hard per address."""
    for pk in range(1, n + n // 4 + 1):
        at = T0 + timedelta(seconds=pk)
        yield dict(id=pk, sha256=f"{pk:064x}", size=200, raw=b"x" * 200, kind="bounce",
                   decoded_by="bench", disposition="processed", message_id=f"<ndr{pk}@mx.example>",
                   original_message_id="", list_id="", subject="Undelivered Mail", error="",
                   received_at=at, recorded_at=at, classified_at=at, first_mailbox=MAILBOX)


def location_rows(n: int) -> Iterator[dict[str, Any]]:
    for pk in range(1, n + n // 4 + 1):
        at = T0 + timedelta(seconds=pk)
        yield dict(id=pk, mailbox=MAILBOX, uidvalidity=1, uid=pk, message_pk=pk, seen_at=at,
                   moved_at=at)


def outcome_rows(n: int) -> Iterator[dict[str, Any]]:
    soft = n // 4
    for pk in range(1, n + soft + 1):
        hard = pk > soft
        i = pk - soft - 1 if hard else (pk - 1) * 4
        yield dict(id=pk, message_pk=pk, recipient=address(i), valid=True,
                   reason=REASONS[i % len(REASONS)] if hard else "mailboxfull", hard=hard,
                   action="failed", status="5.1.1" if hard else "4.2.2",
                   reply_code="550" if hard else "452", diagnostic="550 5.1.1 user unknown",
                   remote_mta="mx.example", command="RCPT", created_at=T0)


def address_rows(n: int) -> Iterator[dict[str, Any]]:
    soft = n // 4
    for i in range(n):
        pk = soft + i + 1
        at = T0 + timedelta(seconds=pk)
        yield dict(id=i + 1, address=address(i), state="suppressed", reason=REASONS[i % len(REASONS)],
                   status="5.1.1", reply_code="550", note="", manual=False,
                   first_seen=T0 + timedelta(seconds=i // 4 + 1) if i % 4 == 0 else at,
                   last_seen=at, bounce_count=2 if i % 4 == 0 else 1,
                   soft_count=1 if i % 4 == 0 else 0, suppressed_at=at, source_message_pk=pk,
                   source_message_id=f"<ndr{pk}@mx.example>", updated_at=at)


def load(engine: Engine, table: Table, rows: Iterator[dict[str, Any]]) -> None:
    """Bulk-load ``rows``: COPY on PostgreSQL, executemany on SQLite."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            cursor = conn.connection.cursor()
            first = next(rows)
            columns = list(first)
            with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                copy.write_row(list(first.values()))
                for row in rows:
                    copy.write_row(list(row.values()))
            return
        while chunk := list(islice(rows, CHUNK)):
            conn.execute(insert(table), chunk)


def fill(url: str, n: int) -> float:
    started = time.perf_counter()
    upgrade(url)
    engine = make_engine(url)
    try:
        for model, rows in ((Message, message_rows), (Location, location_rows),
                            (Outcome, outcome_rows), (Address, address_rows)):
            load(engine, model.__table__, rows(n))   # type: ignore[arg-type]
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                for model in (Message, Location, Outcome, Address):
                    table = model.__tablename__
                    conn.exec_driver_sql(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
                conn.exec_driver_sql("ANALYZE")
            else:
                conn.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()
    return time.perf_counter() - started


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
    print(f"[{label}] filled in {fill(url, n):.0f} s", flush=True)
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
