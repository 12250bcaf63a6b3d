"""Export the active suppression list in every configured format, atomically, streamed.

The suppressions are read from the database once, in address order, and each is handed to
one writer per target file (the formats and their row functions: ``daemon.formats``). Each
file is written to a temporary file in its directory, fsynced, renamed over the old one and
the directory fsynced: a reader sees the old list or the new one, never half a file. CSV
cells that a spreadsheet would run as a formula are defused with a leading apostrophe.
"""
from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, and_, select
from sqlalchemy.orm import Session

from .addresses import allow_matches, normalize_address
from .config import Config, ExportConfig
from .formats import (  # noqa: F401 - spreadsheet_safe and iso_utc are part of this API
    EXPORT_COLUMNS, FORMATS, Format, Suppression, generic_row, iso_utc, spreadsheet_safe,
)
from .models import Address, AddressState, Outcome

FILE_MODE = 0o640   # the list is personal data: owner and group only
YIELD_PER = 1000
_FIELDS = tuple(Suppression.__dataclass_fields__)


def suppressions(session: Session, allow: tuple[str, ...] = ()) -> Iterator[Suppression]:
    """Every exportable suppression, by address, streamed; malformed and allow-listed skipped.
    ``diagnostic`` is the SMTP text of the outcome that caused it (its source message)."""
    columns = [getattr(Address, f) for f in _FIELDS if f != "diagnostic"]
    stmt = (select(*columns, Outcome.diagnostic)
            .outerjoin(Outcome, and_(Outcome.message_pk == Address.source_message_pk,
                                     Outcome.recipient == Address.address))
            .where(Address.state == AddressState.SUPPRESSED)
            .order_by(Address.address).execution_options(yield_per=YIELD_PER))
    for row in session.execute(stmt):
        s = Suppression(*row[:-1], diagnostic=row[-1] or "")
        if normalize_address(s.address) != s.address or allow_matches(s.address, allow):
            continue
        yield s


def suppression_rows(session: Session, allow: tuple[str, ...] = ()) -> Iterator[dict[str, Any]]:
    """``suppressions`` as the generic export's records (times as ISO strings)."""
    for s in suppressions(session, allow):
        yield dict(zip(EXPORT_COLUMNS, generic_row(s)))


STALE_TEMPORARY_SECONDS = 3600


def export_files(export: ExportConfig) -> list[tuple[Format, Path]]:
    """(format, absolute path) of every file the export writes."""
    directory = Path(export.directory)
    return [(FORMATS[name], directory / path) for name, path in export.files()]


def write_exports(engine: Engine, config: Config, now: datetime | None = None) -> list[Path]:
    """Write the active suppressions in every configured format; return the files written.

    All files are filled from one pass over the database, then renamed into place.
    """
    now = now or datetime.now(timezone.utc)
    targets = export_files(config.export)
    for directory in dict.fromkeys(path.parent for _, path in targets):
        directory.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(Path(config.export.directory) / config.export.basename)
    for _, path in targets:
        _remove_stale_temporaries(path)
    with ExitStack() as stack:
        files = [stack.enter_context(_AtomicFile(path)) for _, path in targets]
        writers = [fmt.writer(file.fh, fmt.columns, now) for (fmt, _), file in zip(targets, files)]
        rows = [fmt.row for fmt, _ in targets]
        with Session(engine) as session:
            for s in suppressions(session, config.policy.allow):
                for row, writer in zip(rows, writers):
                    writer.row(row(s))
        for writer, file in zip(writers, files):
            writer.end()
            file.commit()
    for directory in dict.fromkeys(path.parent for _, path in targets):
        _fsync_dir(directory)
    return [path for _, path in targets]


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
            with suppress(OSError):      # closing flushes, and the disk may still be full
                self.fh.close()
            self.temp.unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_stale_temporaries(target: Path) -> None:
    """Temporaries of ``target`` (or of any file named ``target.*``) left by a crash in the
    middle of an export (not a running one's: those are younger than an hour)."""
    cutoff = time.time() - STALE_TEMPORARY_SECONDS
    for path in target.parent.glob(f".{target.name}.*.tmp"):
        with suppress(OSError):
            if path.stat().st_mtime < cutoff:
                path.unlink()


def write_atomic(target: Path, text: str) -> Path:
    """Replace ``target`` with ``text`` the way the exports are written (temporary file,
    fsync, rename, directory fsync); the directory is created when missing. Used by
    ``daemon.report`` (report.html)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with _AtomicFile(target) as file:
        file.fh.write(text)
        file.commit()
    _fsync_dir(target.parent)
    return target
