"""``bouncewatch db copy --to URL``: copy every row of the configured database into another.

The way from SQLite to PostgreSQL when one file is no longer enough (or back): both sides
are migrated to the same head first, the target must be empty, rows are streamed table by
table in foreign-key order in one target transaction (all or nothing), and PostgreSQL's id
sequences are moved past the copied ids. Stop the daemon first: rows written meanwhile
would not be copied.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TextIO

from sqlalchemy import Connection, Table, func, insert, select

from .config import Config, redact_url
from .db import make_engine, upgrade
from .models import Base

CHUNK = 5000


class CopyError(Exception):
    """The copy cannot start (the message says why); nothing was written."""


def copy_database(source_url: str, target_url: str,
                  progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Copy every table of ``source_url`` into the empty ``target_url``; rows per table."""
    if source_url == target_url:
        raise CopyError("the target is the configured database itself")
    upgrade(source_url)
    upgrade(target_url)
    source, target = make_engine(source_url), make_engine(target_url)
    tables = Base.metadata.sorted_tables
    try:
        with source.connect() as src, target.begin() as dst:
            filled = [t.name for t in tables if dst.scalar(select(func.count()).select_from(t))]
            if filled:
                raise CopyError(f"the target is not empty (rows in {', '.join(filled)})")
            counts = {t.name: _copy_table(src, dst, t, progress) for t in tables}
            if dst.dialect.name == "postgresql":
                _advance_sequences(dst, tables)
        return counts
    finally:
        source.dispose()
        target.dispose()


def _copy_table(src: Connection, dst: Connection, table: Table,
                progress: Callable[[str, int], None] | None) -> int:
    rows = src.execution_options(yield_per=CHUNK).execute(
        select(table).order_by(*table.primary_key.columns))
    copied = 0
    for part in rows.partitions():
        dst.execute(insert(table), [row._asdict() for row in part])
        copied += len(part)
        if progress:
            progress(table.name, copied)
    return copied


def _advance_sequences(dst: Connection, tables: list[Table]) -> None:
    """Serial ids continue after the copied ones (COPY-like inserts bypass the sequence)."""
    for table in tables:
        if "id" in table.c and table.c.id.primary_key:
            dst.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"coalesce(max(id), 1), max(id) IS NOT NULL) FROM {table.name}")


def run_copy(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    """The ``db copy`` action (daemon.admin runs it with its error handling)."""
    from .cli import EXIT_OK, EXIT_USAGE

    try:
        counts = copy_database(config.database.url, args.to)
    except CopyError as exc:
        out.write(f"bouncewatch db copy: {exc}\n")
        return EXIT_USAGE
    out.write(f"copied {redact_url(config.database.url)} -> {redact_url(args.to)}\n")
    for name, n in counts.items():
        out.write(f"  {name:16} {n} rows\n")
    return EXIT_OK
