"""Export the active suppression list as CSV and JSON, atomically and in bounded memory.

Each file is written to a temporary file in the target directory, fsynced, renamed over the
old one and the directory fsynced: a reader sees the old list or the new one, never half a
file. Rows are streamed from the database. CSV cells that a spreadsheet would run as a
formula are defused with a leading apostrophe.
"""
from __future__ import annotations

import csv
import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from .addresses import allow_matches, normalize_address
from .config import Config
from .models import Address, AddressState

EXPORT_COLUMNS = ("address", "reason", "status", "reply_code", "first_seen", "last_seen",
                  "bounce_count", "source_message_id", "suppressed_at", "manual")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FILE_MODE = 0o640   # the list is personal data: owner and group only
YIELD_PER = 1000


def spreadsheet_safe(value: str) -> str:
    """``=cmd()`` -> ``'=cmd()``: a cell a spreadsheet would evaluate becomes plain text."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def iso_utc(value: datetime | None) -> str:
    """``2026-01-05T09:00:00Z``; "" for no time."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


def suppression_rows(session: Session, allow: tuple[str, ...] = ()) -> Iterator[dict[str, Any]]:
    """Every exportable suppression, by address, streamed; malformed and allow-listed skipped."""
    columns = [getattr(Address, c) for c in EXPORT_COLUMNS]
    stmt = (select(*columns).where(Address.state == AddressState.SUPPRESSED)
            .order_by(Address.address).execution_options(yield_per=YIELD_PER))
    for row in session.execute(stmt):
        record = dict(zip(EXPORT_COLUMNS, row))
        if normalize_address(record["address"]) != record["address"]:
            continue
        if allow_matches(record["address"], allow):
            continue
        for key in ("first_seen", "last_seen", "suppressed_at"):
            record[key] = iso_utc(record[key])
        yield record


def _csv_cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return spreadsheet_safe(value) if isinstance(value, str) else value


class _CsvOut:
    """RFC 4180 CSV with a header row."""

    suffix = "csv"

    def __init__(self, fh: IO[str], now: datetime) -> None:
        self.writer = csv.writer(fh, lineterminator="\r\n")
        self.writer.writerow(EXPORT_COLUMNS)

    def row(self, record: dict[str, Any]) -> None:
        self.writer.writerow([_csv_cell(v) for v in record.values()])

    def end(self) -> None:
        pass


class _JsonOut:
    """``{"generated_at": ..., "suppressions": [{...}, ...], "count": n}``, a row per line."""

    suffix = "json"

    def __init__(self, fh: IO[str], now: datetime) -> None:
        self.fh, self.count = fh, 0
        fh.write('{"generated_at": %s, "suppressions": [' % json.dumps(iso_utc(now)))

    def row(self, record: dict[str, Any]) -> None:
        self.fh.write(("\n  " if self.count == 0 else ",\n  ") + json.dumps(record, ensure_ascii=False))
        self.count += 1

    def end(self) -> None:
        self.fh.write(("\n" if self.count else "") + '], "count": %d}\n' % self.count)


FORMATS: dict[str, type[_CsvOut] | type[_JsonOut]] = {"csv": _CsvOut, "json": _JsonOut}
STALE_TEMPORARY_SECONDS = 3600


def write_exports(engine: Engine, config: Config, now: datetime | None = None) -> list[Path]:
    """Write the active suppressions in every configured format; return the files written.

    All formats are filled from one pass over the database, then renamed into place.
    """
    now = now or datetime.now(timezone.utc)
    directory = Path(config.export.directory)
    directory.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(directory, config.export.basename)
    formats = [FORMATS[f] for f in config.export.formats]
    targets = [directory / f"{config.export.basename}.{f.suffix}" for f in formats]
    with ExitStack() as stack:
        files = [stack.enter_context(_AtomicFile(t)) for t in targets]
        outs = [f(file.fh, now) for f, file in zip(formats, files)]
        with Session(engine) as session:
            for record in suppression_rows(session, config.policy.allow):
                for out in outs:
                    out.row(record)
        for out, file in zip(outs, files):
            out.end()
            file.commit()
    _fsync_dir(directory)
    return targets


class _AtomicFile:
    """A temporary file beside ``target`` that replaces it on ``commit`` (else is removed)."""

    def __init__(self, target: Path) -> None:
        self.target = target
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        self.temp = Path(name)
        self.fh: IO[str] = os.fdopen(fd, "w", encoding="utf-8", newline="")
        self.done = False

    def __enter__(self) -> _AtomicFile:
        return self

    def commit(self) -> None:
        self.fh.flush()
        os.fsync(self.fh.fileno())
        os.fchmod(self.fh.fileno(), FILE_MODE)
        self.fh.close()
        os.replace(self.temp, self.target)
        self.done = True

    def __exit__(self, *exc: object) -> None:
        if not self.done:
            self.fh.close()
            self.temp.unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_stale_temporaries(directory: Path, basename: str) -> None:
    """Temporaries left by a crash in the middle of an export (not a running one's)."""
    cutoff = time.time() - STALE_TEMPORARY_SECONDS
    for path in directory.glob(f".{basename}.*.tmp"):
        with suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()


def write_atomic(target: Path, text: str) -> Path:
    """Replace ``target`` with ``text`` the way the exports are written (temporary file,
    fsync, rename, directory fsync); the directory is created when missing."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with _AtomicFile(target) as file:
        file.fh.write(text)
        file.commit()
    _fsync_dir(target.parent)
    return target
