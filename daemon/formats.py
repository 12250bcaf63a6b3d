"""The suppression list's file formats: one table, one pure row function per format.

``daemon.export`` streams the suppressions out of the database once and hands each one to a
writer per configured target; this module only knows how a ``Suppression`` becomes a row and
how rows become bytes (CSV with a header, JSON lines, one value per line, or the generic JSON
document). Every CSV cell a spreadsheet would evaluate is defused (``spreadsheet_safe``).

Writers take rows a batch at a time (``Writer.rows``) and write each batch as one string: a
million suppressions are a million rows per file, so the per-row work is kept to a few
C-level calls (``csv.writer.writerows``, ``json.encoder.encode_basestring``, ``%``
templates). The output is byte for byte what ``csv.writer.writerow`` and ``json.dumps``
would write row by row (``tests/test_formats.py`` checks it against them).

The formats and what they are for:

========== ================================================ ===================================
name       columns                                          for
========== ================================================ ===================================
csv        address, reason, status, reply_code, ...         anything (the generic list)
json       {"generated_at", "suppressions": [...], "count"} anything (the generic list)
ses-csv    EmailAddress, Reason (BOUNCE | COMPLAINT)        Amazon SES suppression import job
ses-json   {"EmailAddress": ..., "Reason": ...} per line    Amazon SES suppression import job
mailgun    address, code, error, created_at (RFC 2822)      Mailgun bounces import
sendgrid   email, created (unix time), reason, status       SendGrid bounces (as it exports)
listmonk   email, name, attributes (JSON)                   listmonk import in blocklist mode
plain      one address per line                             anything else
========== ================================================ ===================================
"""
from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from json.encoder import encode_basestring
from typing import IO, Any, NamedTuple, Protocol

from classifiers import Reason

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset(FORMULA_PREFIXES)     # each prefix is one character
#: The generic CSV/JSON columns (``Suppression`` fields, in this order).
EXPORT_COLUMNS = ("address", "reason", "status", "reply_code", "first_seen", "last_seen",
                  "bounce_count", "source_message_id", "suppressed_at", "manual")
DEFAULT_REPLY_CODE = "550"      # Mailgun's own default for an imported bounce
TEXT_LIMIT = 500                # free-text cells (diagnostics) are cut to this length


class Suppression(NamedTuple):
    """One active suppression as the exports see it (times are aware UTC datetimes). A named
    tuple: an export makes one per row, and a tuple is made five times faster than a frozen
    dataclass."""

    address: str
    reason: str
    status: str = ""
    reply_code: str = ""
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    bounce_count: int = 0
    source_message_id: str = ""
    suppressed_at: datetime | None = None
    manual: bool = False
    note: str = ""
    diagnostic: str = ""        # the SMTP text of the outcome that caused it, when known

    @property
    def since(self) -> datetime | None:
        """When it was suppressed (else when it was last seen)."""
        return self.suppressed_at or self.last_seen


# --- cell helpers (pure) -------------------------------------------------------------------

def spreadsheet_safe(value: str) -> str:
    """``=cmd()`` -> ``'=cmd()``: a cell a spreadsheet would evaluate becomes plain text."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"


def iso_utc(value: datetime | None) -> str:
    """``2026-01-05T09:00:00Z`` (whole seconds: any fraction is cut); "" for no time."""
    if not value:
        return ""
    if value.tzinfo is not timezone.utc:
        value = value.astimezone(timezone.utc)
    if value.year < 1000:                    # strftime's %Y does not pad these to 4 digits
        return value.strftime(ISO_UTC)
    return value.isoformat()[:19] + "Z"      # the same text as strftime(ISO_UTC), 2x faster


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def rfc2822_utc(value: datetime | None) -> str:
    """``Mon, 05 Jan 2026 09:00:00 UTC`` (as Mailgun writes its own times); "" for none.
    The text of ``email.utils.format_datetime(value, usegmt=True)`` with UTC for GMT."""
    if value is None:
        return ""
    v = value.astimezone(timezone.utc)
    return "%s, %02d %s %04d %02d:%02d:%02d UTC" % (
        _DAYS[v.weekday()], v.day, _MONTHS[v.month - 1], v.year, v.hour, v.minute, v.second)


def unix_time(value: datetime | None) -> int | str:
    """Whole seconds since the epoch; "" for no time."""
    return int(value.timestamp()) if value else ""


def one_line(text: str, limit: int = TEXT_LIMIT) -> str:
    """Whitespace runs (newlines too) folded to one space, cut to ``limit``."""
    return " ".join(text.split())[:limit]


#: Words for the reasons that have no server text behind them.
REASON_TEXT = {
    str(Reason.FEEDBACK): "complaint (ARF feedback report)",
    "manual": "suppressed by hand",
    "escalated": "repeated transient failures",
}


def smtp_text(s: Suppression) -> str:
    """The server's words when we have them, else what we know: ``550 5.1.1 userunknown``."""
    return one_line(s.diagnostic) or " ".join(
        p for p in (s.reply_code, s.status, REASON_TEXT.get(s.reason, s.reason)) if p)


# --- row functions (pure: Suppression -> cells, in the format's column order) --------------

def generic_row(s: Suppression) -> tuple[Any, ...]:
    # most addresses bounced once and were suppressed then: one time, written once
    first, last, suppressed = s.first_seen, s.last_seen, s.suppressed_at
    last_text = iso_utc(last)
    return (s.address, s.reason, s.status, s.reply_code,
            last_text if first == last else iso_utc(first), last_text, s.bounce_count,
            s.source_message_id, last_text if suppressed == last else iso_utc(suppressed),
            s.manual)


def ses_row(s: Suppression) -> tuple[Any, ...]:
    """SES knows two reasons; a complaint is a COMPLAINT, every other suppression a BOUNCE."""
    return (s.address, "COMPLAINT" if s.reason == Reason.FEEDBACK else "BOUNCE")


def mailgun_row(s: Suppression) -> tuple[Any, ...]:
    code = s.reply_code if len(s.reply_code) == 3 and s.reply_code.isdigit() else DEFAULT_REPLY_CODE
    return (s.address, code, smtp_text(s), rfc2822_utc(s.since))


def sendgrid_row(s: Suppression) -> tuple[Any, ...]:
    return (s.address, unix_time(s.since), smtp_text(s), s.status)


#: ``json.dumps(..., ensure_ascii=False, separators=(",", ":"))`` without building an encoder
#: per call (json.dumps makes a new one whenever it is given arguments).
_COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def listmonk_row(s: Suppression) -> tuple[Any, ...]:
    """Name: the local part (listmonk wants one); our facts under one ``bouncewatch`` key."""
    facts = {"reason": s.reason, "status": s.status, "suppressed_at": iso_utc(s.since)}
    return (s.address, s.address.rsplit("@", 1)[0], _COMPACT_JSON({"bouncewatch": facts}))


def plain_row(s: Suppression) -> tuple[Any, ...]:
    return (s.address,)


# --- writers: rows -> text -----------------------------------------------------------------

Cells = tuple[Any, ...]


class Writer(Protocol):
    def rows(self, batch: Sequence[Cells]) -> None: ...
    def row(self, cells: Cells) -> None: ...
    def end(self) -> None: ...


def _csv_cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return spreadsheet_safe(value) if isinstance(value, str) else value


def _csv_rows(batch: Sequence[Cells]) -> list[list[Any]]:
    """``[[_csv_cell(c) for c in cells] for cells in batch]``, plain strings, ints and bools
    handled inline (a million rows of ten cells)."""
    return [[("'" + c if c[:1] in _FORMULA_FIRST else c) if type(c) is str
             else c if type(c) is int else ("true" if c else "false") if type(c) is bool
             else _csv_cell(c) for c in cells] for cells in batch]


class _Lines(list[str]):
    """Where a csv.writer puts its lines until a batch is written out as one string."""

    def __init__(self) -> None:
        super().__init__()
        self.write = self.append


class CsvWriter:
    """RFC 4180 CSV (CRLF) with a header row."""

    def __init__(self, fh: IO[str], columns: tuple[str, ...], now: datetime) -> None:
        self.fh, self.lines = fh, _Lines()
        self.writer = csv.writer(self.lines, lineterminator="\r\n")
        self.writer.writerow(columns)
        fh.write(self.lines.pop())

    def rows(self, batch: Sequence[Cells]) -> None:
        self.writer.writerows(_csv_rows(batch))
        self.fh.write("".join(self.lines))
        self.lines.clear()

    def row(self, cells: Cells) -> None:
        self.rows([cells])

    def end(self) -> None:
        pass


_JSON_ENCODE = json.JSONEncoder(ensure_ascii=False).encode   # json.dumps(v, ensure_ascii=False)


def _json_value(value: Any) -> str:
    """``json.dumps(value, ensure_ascii=False)`` as it appears inside a record."""
    if isinstance(value, str):
        return encode_basestring(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    return _JSON_ENCODE(value)


class _JsonRecords:
    """``json.dumps(dict(zip(columns, cells)), ensure_ascii=False)`` for a batch of rows: the
    keys are encoded once, into a template, and each value with json's own C string encoder."""

    def __init__(self, columns: tuple[str, ...]) -> None:
        assert len(set(columns)) == len(columns), columns
        self.width = len(columns)
        self.template = "{" + ", ".join(
            encode_basestring(c).replace("%", "%%") + ": %s" for c in columns) + "}"

    def __call__(self, batch: Sequence[Cells]) -> list[str]:
        width = self.width
        if set(map(len, batch)) - {width}:
            raise ValueError(f"rows of {width} cells expected")
        encode, template = encode_basestring, self.template
        return [template % tuple([encode(c) if type(c) is str else int.__repr__(c) if type(c) is int
                                  else ("true" if c else "false") if type(c) is bool
                                  else _json_value(c) for c in cells]) for cells in batch]


class JsonLinesWriter:
    """One JSON object per line, keys in column order."""

    def __init__(self, fh: IO[str], columns: tuple[str, ...], now: datetime) -> None:
        self.fh, self.records = fh, _JsonRecords(columns)

    def rows(self, batch: Sequence[Cells]) -> None:
        if batch:
            self.fh.write("\n".join(self.records(batch)) + "\n")

    def row(self, cells: Cells) -> None:
        self.rows([cells])

    def end(self) -> None:
        pass


class LinesWriter:
    """The first cell of each row on a line of its own, nothing else."""

    def __init__(self, fh: IO[str], columns: tuple[str, ...], now: datetime) -> None:
        self.fh = fh

    def rows(self, batch: Sequence[Cells]) -> None:
        self.fh.write("".join([f"{cells[0]}\n" for cells in batch]))

    def row(self, cells: Cells) -> None:
        self.rows([cells])

    def end(self) -> None:
        pass


class JsonDocumentWriter:
    """``{"generated_at": ..., "suppressions": [{...}, ...], "count": n}``, a row per line."""

    def __init__(self, fh: IO[str], columns: tuple[str, ...], now: datetime) -> None:
        self.fh, self.records, self.count = fh, _JsonRecords(columns), 0
        fh.write('{"generated_at": %s, "suppressions": [' % json.dumps(iso_utc(now)))

    def rows(self, batch: Sequence[Cells]) -> None:
        if batch:
            self.fh.write(("\n  " if self.count == 0 else ",\n  ")
                          + ",\n  ".join(self.records(batch)))
            self.count += len(batch)

    def row(self, cells: Cells) -> None:
        self.rows([cells])

    def end(self) -> None:
        self.fh.write(("\n" if self.count else "") + '], "count": %d}\n' % self.count)


WriterFactory = Callable[[IO[str], tuple[str, ...], datetime], Writer]


@dataclass(frozen=True, slots=True)
class Format:
    """How one file format is written: its columns, its row function and its encoding."""

    name: str
    suffix: str                  # appended to export.basename: "suppressions.mailgun.csv"
    columns: tuple[str, ...]
    row: Callable[[Suppression], tuple[Any, ...]]
    writer: WriterFactory


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("csv", ".csv", EXPORT_COLUMNS, generic_row, CsvWriter),
    Format("json", ".json", EXPORT_COLUMNS, generic_row, JsonDocumentWriter),
    Format("ses-csv", ".ses.csv", ("EmailAddress", "Reason"), ses_row, CsvWriter),
    Format("ses-json", ".ses.jsonl", ("EmailAddress", "Reason"), ses_row, JsonLinesWriter),
    Format("mailgun", ".mailgun.csv", ("address", "code", "error", "created_at"), mailgun_row,
           CsvWriter),
    Format("sendgrid", ".sendgrid.csv", ("email", "created", "reason", "status"), sendgrid_row,
           CsvWriter),
    Format("listmonk", ".listmonk.csv", ("email", "name", "attributes"), listmonk_row, CsvWriter),
    Format("plain", ".txt", ("address",), plain_row, LinesWriter),
)}

__all__ = [
    "EXPORT_COLUMNS", "FORMATS", "Format", "Suppression", "iso_utc", "rfc2822_utc",
    "spreadsheet_safe", "unix_time",
]
