"""Export the active suppression list in every configured format, atomically, streamed.

The suppressions are read from the database once, in address order, a batch at a time; each
row function (``daemon.formats``) turns a batch into rows once, however many target files
share it (``csv`` and ``json`` both take the generic row), and each writer writes its rows. Each
file is written to a temporary file in its directory, fsynced, renamed over the old one and
the directory fsynced: a reader sees the old list or the new one, never half a file. CSV
cells that a spreadsheet would run as a formula are defused with a leading apostrophe.
"""
from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, suppress
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, and_, func, select, text, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from .addresses import allow_matches, normalize_address
from .config import Config, ExportConfig
from .formats import (  # noqa: F401 - spreadsheet_safe and iso_utc are part of this API
    EXPORT_COLUMNS, FORMATS, Format, Suppression, Writer, iso_utc, spreadsheet_safe,
)
from .models import Address, AddressState, Outcome, UTCDateTime

FILE_MODE = 0o640   # the list is personal data: owner and group only
YIELD_PER = 2000
_FIELDS = Suppression._fields
_TIMES = ("first_seen", "last_seen", "suppressed_at")
# the query's columns are the fields, in order; suppression_batches unpacks them by position
assert [_FIELDS.index(f) for f in (*_TIMES, "diagnostic")] == [4, 5, 8, 11], _FIELDS

#: A plain lowercase ASCII ``local@domain.tld`` that ``normalize_address`` returns unchanged
#: (local part of 1-64 ordinary characters, no leading, trailing or double dot; domain labels
#: as ``daemon.addresses``). Most addresses match, and skip ``normalize_address``; the others
#: (non-ASCII, odd characters, malformed) are checked by it. ``tests/test_export.py`` holds
#: the two to the same answers.
_LOCAL_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_CANONICAL = re.compile(
    rf"(?=[^@]{{1,64}}@){_LOCAL_ATOM}(?:\.{_LOCAL_ATOM})*@{_LABEL}(?:\.{_LABEL})+").fullmatch
MAX_ADDRESS = 254


def is_canonical(address: str) -> bool:
    """``normalize_address(address) == address``, quickly for the usual address."""
    if len(address) <= MAX_ADDRESS and _CANONICAL(address):
        return True
    return normalize_address(address) == address


def _query(raw_times: bool = False) -> Any:
    """The suppressions, by address; ``raw_times``: the time columns as the driver gives them
    (for ``_time_reader``)."""
    columns = [type_coerce(getattr(Address, f), NullType()).label(f) if raw_times and f in _TIMES
               else getattr(Address, f) for f in _FIELDS if f != "diagnostic"]
    return (select(*columns, func.coalesce(Outcome.diagnostic, ""))
            .outerjoin(Outcome, and_(Outcome.message_pk == Address.source_message_pk,
                                     Outcome.recipient == Address.address))
            .where(Address.state == AddressState.SUPPRESSED)
            .order_by(Address.address))


def suppression_batches(session: Session, allow: tuple[str, ...] = (),
                        size: int = YIELD_PER) -> Iterator[list[Suppression]]:
    """``suppressions`` in lists of at most ``size``, streamed (a server-side cursor on
    PostgreSQL): memory stays bounded however long the list is."""
    connection = session.connection()
    make, t = Suppression._make, _time_reader(connection.dialect)
    result = connection.execute(_query(raw_times=True).execution_options(yield_per=size))

    def convert(rows: Any) -> list[Suppression]:
        return [make((a, b, c, d, t(e), t(f), g, h, t(i), j, k, m))
                for a, b, c, d, e, f, g, h, i, j, k, m in rows if is_canonical(a)]
    for rows in result.partitions():
        batch = convert(rows)
        if allow:
            batch = [s for s in batch if not allow_matches(s.address, allow)]
        if batch:
            yield batch


def _time_reader(dialect: Dialect) -> Callable[[Any], datetime | None]:
    """What ``models.UTCDateTime`` makes of a time column as the driver gives it, faster.
    SQLite: SQLAlchemy stores UTC as naive ISO text, and ``fromisoformat`` of that text with
    ``+00:00`` is that time in UTC (five times faster than parsing it and then attaching
    UTC). PostgreSQL: a time already in UTC (``write_exports`` asks for UTC) is taken as it
    comes. Anything else goes the column type's own way."""
    exact = UTCDateTime().dialect_impl(dialect).result_processor(dialect, None)
    assert exact is not None
    parse, utc = datetime.fromisoformat, timezone.utc
    if dialect.name != "sqlite":
        def read_aware(value: Any) -> datetime | None:
            if value is None or getattr(value, "tzinfo", None) is utc:
                return value
            return exact(value)   # type: ignore[no-any-return]
        return read_aware

    def read(value: Any) -> datetime | None:
        if type(value) is str:
            try:
                parsed = parse(value + "+00:00")
            except ValueError:
                pass
            else:
                if parsed.tzinfo is utc:
                    return parsed
        return exact(value)   # type: ignore[no-any-return]
    return read


def suppressions(session: Session, allow: tuple[str, ...] = ()) -> Iterator[Suppression]:
    """Every exportable suppression, by address, streamed; malformed and allow-listed skipped.
    ``diagnostic`` is the SMTP text of the outcome that caused it (its source message)."""
    for batch in suppression_batches(session, allow):
        yield from batch


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
        # each row function once per batch, for every writer that takes its rows
        by_row: dict[Callable[[Suppression], tuple[Any, ...]], list[Writer]] = {}
        for (fmt, _), writer in zip(targets, writers):
            by_row.setdefault(fmt.row, []).append(writer)
        with Session(engine) as session:
            if session.connection().dialect.name == "postgresql":
                # times come as UTC (tzinfo timezone.utc), not converted one by one; the same
                # instants (this transaction only)
                session.execute(text("SET LOCAL TIME ZONE 'UTC'"))
            for batch in suppression_batches(session, config.policy.allow):
                for row, takers in by_row.items():
                    rows = list(map(row, batch))
                    for writer in takers:
                        writer.rows(rows)
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
