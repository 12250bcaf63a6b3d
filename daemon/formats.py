"""The suppression list's file formats: one table, one pure row function per format.

``daemon.export`` streams the suppressions out of the database once and hands each one to a
writer per configured target; this module only knows how a ``Suppression`` becomes a row and
how rows become bytes (CSV with a header, JSON lines, one value per line, or the generic JSON
document). Every CSV cell a spreadsheet would evaluate is defused (``spreadsheet_safe``).

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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import IO, Any, Protocol

from classifiers import Reason

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: The generic CSV/JSON columns (``Suppression`` fields, in this order).
EXPORT_COLUMNS = ("address", "reason", "status", "reply_code", "first_seen", "last_seen",
                  "bounce_count", "source_message_id", "suppressed_at", "manual")
DEFAULT_REPLY_CODE = "550"      # Mailgun's own default for an imported bounce
TEXT_LIMIT = 500                # free-text cells (diagnostics) are cut to this length


@dataclass(frozen=True, slots=True)
class Suppression:
    """One active suppression as the exports see it (times are aware UTC datetimes)."""

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


def iso_utc(value: datetime | None) -> str:
    """``2026-01-05T09:00:00Z``; "" for no time."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


def rfc2822_utc(value: datetime | None) -> str:
    """``Mon, 05 Jan 2026 09:00:00 UTC`` (as Mailgun writes its own times); "" for none."""
    if value is None:
        return ""
    return format_datetime(value.astimezone(timezone.utc), usegmt=True).replace(" GMT", " UTC")


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
    return (s.address, s.reason, s.status, s.reply_code, iso_utc(s.first_seen),
            iso_utc(s.last_seen), s.bounce_count, s.source_message_id, iso_utc(s.suppressed_at),
            s.manual)


def ses_row(s: Suppression) -> tuple[Any, ...]:
    """SES knows two reasons; a complaint is a COMPLAINT, every other suppression a BOUNCE."""
    return (s.address, "COMPLAINT" if s.reason == Reason.FEEDBACK else "BOUNCE")


def mailgun_row(s: Suppression) -> tuple[Any, ...]:
    code = s.reply_code if len(s.reply_code) == 3 and s.reply_code.isdigit() else DEFAULT_REPLY_CODE
    return (s.address, code, smtp_text(s), rfc2822_utc(s.since))


def sendgrid_row(s: Suppression) -> tuple[Any, ...]:
    return (s.address, unix_time(s.since), smtp_text(s), s.status)


def listmonk_row(s: Suppression) -> tuple[Any, ...]:
    """Name: the local part (listmonk wants one); our facts under one ``bouncewatch`` key."""
    facts = {"reason": s.reason, "status": s.status, "suppressed_at": iso_utc(s.since)}
    return (s.address, s.address.rsplit("@", 1)[0],
            json.dumps({"bouncewatch": facts}, ensure_ascii=False, separators=(",", ":")))


def plain_row(s: Suppression) -> tuple[Any, ...]:
    return (s.address,)


# --- writers: rows -> text -----------------------------------------------------------------

class Writer(Protocol):
    def row(self, cells: tuple[Any, ...]) -> None: ...
    def end(self) -> None: ...


def _csv_cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return spreadsheet_safe(value) if isinstance(value, str) else value


class CsvWriter:
    """RFC 4180 CSV (CRLF) with a header row."""

    def __init__(self, fh: IO[str], columns: tuple[str, ...], now: datetime) -> None:
        self.writer = csv.writer(fh, lineterminator="\r\n")
        self.writer.writerow(columns)

    def row(self, cells: tuple[Any, ...]) -> None:
        self.writer.writerow([_csv_cell(c) for c in cells])

    def end(self) -> None:
        pass


class JsonLinesWriter:
    """One JSON object per line, keys in column order."""

    def __init__(self, fh: IO[str], columns: tuple[str, ...], now: datetime) -> None:
        self.fh, self.columns = fh, columns

    def row(self, cells: tuple[Any, ...]) -> None:
        self.fh.write(json.dumps(dict(zip(self.columns, cells)), ensure_ascii=False) + "\n")

    def end(self) -> None:
        pass


class LinesWriter:
    """The first cell of each row on a line of its own, nothing else."""

    def __init__(self, fh: IO[str], columns: tuple[str, ...], now: datetime) -> None:
        self.fh = fh

    def row(self, cells: tuple[Any, ...]) -> None:
        self.fh.write(f"{cells[0]}\n")

    def end(self) -> None:
        pass


class JsonDocumentWriter:
    """``{"generated_at": ..., "suppressions": [{...}, ...], "count": n}``, a row per line."""

    def __init__(self, fh: IO[str], columns: tuple[str, ...], now: datetime) -> None:
        self.fh, self.columns, self.count = fh, columns, 0
        fh.write('{"generated_at": %s, "suppressions": [' % json.dumps(iso_utc(now)))

    def row(self, cells: tuple[Any, ...]) -> None:
        record = json.dumps(dict(zip(self.columns, cells)), ensure_ascii=False)
        self.fh.write(("\n  " if self.count == 0 else ",\n  ") + record)
        self.count += 1

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
