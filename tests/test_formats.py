"""Export formats for the sending tools: each against its published columns and row shape."""
from __future__ import annotations

import csv
import email.utils
import io
import json
from datetime import datetime, timedelta, timezone
from enum import IntEnum, StrEnum
from pathlib import Path

import pytest

from classifiers import Kind, Reason
from daemon.config import Config, ConfigError, ExportConfig, ExportTarget, parse_config
from daemon.db import session_scope
from daemon.export import export_files, write_exports
from daemon.formats import (
    FORMATS, CsvWriter, JsonDocumentWriter, JsonLinesWriter, LinesWriter, Suppression, generic_row,
    iso_utc, rfc2822_utc, spreadsheet_safe,
)
from daemon.models import AddressAction
from daemon.policy import recompute
from daemon.store import mailbox_key, record_message
from storehelp import T0, days, db_url, engine, fixed, outcome, raw_message, report  # noqa: F401

#: The published column sets, in order (see the README's "Export formats").
PUBLISHED = {
    "ses-csv": ["EmailAddress", "Reason"],          # SES CreateImportJob, DataFormat CSV
    "ses-json": ["EmailAddress", "Reason"],         # SES CreateImportJob, DataFormat JSON
    "mailgun": ["address", "code", "error", "created_at"],  # Mailgun bounces import
    "sendgrid": ["email", "created", "reason", "status"],   # SendGrid bounce records
    "listmonk": ["email", "name", "attributes"],    # listmonk subscriber import
}
DEAD = Suppression(address="dead@example.org", reason="userunknown", status="5.1.1",
                   reply_code="550", suppressed_at=datetime(2026, 1, 6, 9, 0, tzinfo=timezone.utc),
                   diagnostic="550 5.1.1 <dead@example.org>:\n   user unknown")
ANGRY = Suppression(address="angry@example.org", reason="feedback",
                    last_seen=datetime(2026, 1, 7, 10, 30, tzinfo=timezone.utc))


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def all_formats(tmp_path, **export) -> Config:
    return Config(export=ExportConfig(directory=str(tmp_path / "out"), formats=tuple(FORMATS),
                                      **export))


def fill(engine, config: Config) -> None:
    with session_scope(engine) as s:
        for uid, rep in enumerate([
            report(Kind.BOUNCE, outcome("dead@example.org", Reason.USERUNKNOWN, True, action="failed",
                                        status="5.1.1", reply_code="550",
                                        diagnostic="550 5.1.1 <dead@example.org>: user unknown")),
            report(Kind.COMPLAINT, outcome("angry@example.org", Reason.FEEDBACK)),
        ], start=1):
            record_message(s, mailbox=mailbox_key("a", "INBOX"), uidvalidity=1, uid=uid,
                           raw=raw_message(uid, at=T0 + days(uid)), config=config,
                           classify=fixed(rep), now=T0 + days(10))
        s.add(AddressAction(address="=1+2@example.org", action="suppress", reason="asked",
                            actor="op", created_at=T0))
        s.flush()
        recompute(s, ["=1+2@example.org"], config.policy, now=T0)


@pytest.mark.parametrize("name", ["ses-csv", "mailgun", "sendgrid", "listmonk"])
def test_csv_formats_have_exactly_the_published_header(name, engine, tmp_path):
    config = all_formats(tmp_path)
    fill(engine, config)
    paths = dict(zip(FORMATS, write_exports(engine, config, now=T0 + days(11))))
    header, rows = read_csv(paths[name])
    assert header == PUBLISHED[name]
    assert len(rows) == 3 and all(set(r) == set(header) and None not in r.values() for r in rows)
    assert paths[name].read_bytes().endswith(b"\r\n")


def test_each_format_writes_its_rows(engine, tmp_path):
    config = all_formats(tmp_path)
    fill(engine, config)
    paths = dict(zip(FORMATS, write_exports(engine, config, now=T0 + days(11))))
    assert {n: p.name for n, p in paths.items()} == {
        "csv": "suppressions.csv", "json": "suppressions.json",
        "ses-csv": "suppressions.ses.csv", "ses-json": "suppressions.ses.jsonl",
        "mailgun": "suppressions.mailgun.csv", "sendgrid": "suppressions.sendgrid.csv",
        "listmonk": "suppressions.listmonk.csv", "plain": "suppressions.txt"}

    # SES: BOUNCE or COMPLAINT, nothing else; the same in CSV and JSON lines
    ses = read_csv(paths["ses-csv"])[1]
    assert [(r["EmailAddress"], r["Reason"]) for r in ses] == [
        ("'=1+2@example.org", "BOUNCE"), ("angry@example.org", "COMPLAINT"),
        ("dead@example.org", "BOUNCE")]
    lines = [json.loads(line) for line in paths["ses-json"].read_text().splitlines()]
    assert lines == [{"EmailAddress": "=1+2@example.org", "Reason": "BOUNCE"},
                     {"EmailAddress": "angry@example.org", "Reason": "COMPLAINT"},
                     {"EmailAddress": "dead@example.org", "Reason": "BOUNCE"}]

    # Mailgun: a 3-digit code, the server's text, an RFC 2822 time
    mailgun = {r["address"]: r for r in read_csv(paths["mailgun"])[1]}
    dead = mailgun["dead@example.org"]
    assert (dead["code"], dead["error"]) == ("550", "550 5.1.1 <dead@example.org>: user unknown")
    assert dead["created_at"] == "Tue, 06 Jan 2026 09:00:00 UTC"
    assert email.utils.parsedate_to_datetime(dead["created_at"]) == T0 + days(1)
    assert mailgun["angry@example.org"]["code"] == "550"            # Mailgun's default

    # SendGrid: created is unix time, status the enhanced code
    sendgrid = {r["email"]: r for r in read_csv(paths["sendgrid"])[1]}
    assert sendgrid["dead@example.org"]["created"] == str(int((T0 + days(1)).timestamp()))
    assert sendgrid["dead@example.org"]["status"] == "5.1.1"
    assert sendgrid["dead@example.org"]["reason"].startswith("550 5.1.1")

    # listmonk: a name, and attributes that are a JSON object
    listmonk = {r["email"]: r for r in read_csv(paths["listmonk"])[1]}
    assert listmonk["dead@example.org"]["name"] == "dead"
    assert json.loads(listmonk["dead@example.org"]["attributes"]) == {"bouncewatch": {
        "reason": "userunknown", "status": "5.1.1", "suppressed_at": "2026-01-06T09:00:00Z"}}

    # plain: the addresses exactly, one per line, nothing else
    assert paths["plain"].read_text() == "=1+2@example.org\nangry@example.org\ndead@example.org\n"


@pytest.mark.parametrize("name", list(FORMATS))
def test_every_format_of_an_empty_list_is_valid(name, engine, tmp_path):
    (path,) = write_exports(engine, Config(export=ExportConfig(directory=str(tmp_path), formats=(name,))))
    text = path.read_bytes().decode()
    if FORMATS[name].writer.__name__ == "CsvWriter":
        assert text == ",".join(FORMATS[name].columns) + "\r\n"
    elif name == "json":
        assert json.loads(text)["count"] == 0
    else:
        assert text == ""


@pytest.mark.parametrize("name", list(FORMATS))
def test_row_functions_are_pure_and_match_their_columns(name):
    fmt = FORMATS[name]
    for s in (DEAD, ANGRY):
        assert fmt.row(s) == fmt.row(s)
        assert len(fmt.row(s)) == len(fmt.columns)
        assert all(isinstance(c, (str, int, bool)) for c in fmt.row(s))
        assert all("\n" not in c for c in fmt.row(s) if isinstance(c, str))


def test_time_fallbacks():
    assert FORMATS["mailgun"].row(ANGRY)[3] == "Wed, 07 Jan 2026 10:30:00 UTC"  # last_seen
    assert FORMATS["sendgrid"].row(Suppression(address="x@example.org", reason="manual"))[1] == ""
    assert rfc2822_utc(None) == ""
    assert FORMATS["mailgun"].row(Suppression(address="x@example.org", reason="hasmoved",
                                              reply_code="5.1.6", status="5.1.6"))[1:3] == (
        "550", "5.1.6 5.1.6 hasmoved")


def test_targets_write_more_files_where_asked(engine, tmp_path):
    config = Config(export=ExportConfig(directory=str(tmp_path / "out"), formats=("csv",), targets=(
        ExportTarget(format="mailgun", path=str(tmp_path / "mg" / "bounces.csv")),
        ExportTarget(format="plain", path="lists/dead.txt"),
        ExportTarget(format="listmonk"))))
    fill(engine, config)
    paths = write_exports(engine, config)
    assert paths == [tmp_path / "out" / "suppressions.csv", tmp_path / "mg" / "bounces.csv",
                     tmp_path / "out" / "lists" / "dead.txt",
                     tmp_path / "out" / "suppressions.listmonk.csv"]
    assert read_csv(paths[1])[0] == PUBLISHED["mailgun"]
    assert paths[2].read_text().count("\n") == 3
    assert sorted(p.name for p in (tmp_path / "mg").iterdir()) == ["bounces.csv"]  # no temporaries


def test_targets_in_the_config_file(tmp_path):
    (tmp_path / "bw.toml").write_text(
        '[export]\ndirectory = "out"\nformats = []\n'
        '[[export.targets]]\nformat = "ses-json"\n'
        '[[export.targets]]\nformat = "sendgrid"\npath = "sg.csv"\n')
    from daemon.config import load_config

    export = load_config(tmp_path / "bw.toml").export
    assert [(f.name, p) for f, p in export_files(export)] == [
        ("ses-json", tmp_path / "out" / "suppressions.ses.jsonl"), ("sendgrid", tmp_path / "out" / "sg.csv")]


@pytest.mark.parametrize("export, message", [
    ({"targets": [{"format": "xlsx"}]}, "export.targets[0].format: must be one of csv, json, ses-csv"),
    ({"targets": [{"format": "plain", "path": "out/"}]}, "export.targets[0].path: must name a file"),
    ({"targets": [{"format": "plain", "path": "a/.hidden"}]}, "export.targets[0].path: must name a file"),
    ({"targets": [{"path": "x.csv"}]}, "export.targets[0].format: required key missing"),
    ({"formats": ["csv"], "targets": [{"format": "csv"}]}, "export.targets: two exports would write suppressions.csv"),
    ({"targets": [{"format": "csv", "path": "a.csv"}, {"format": "plain", "path": "./a.csv"}]},
     "export.targets: two exports would write a.csv"),
    ({"formats": []}, "export.formats: must not be empty when there are no [[export.targets]]"),
])
def test_target_errors_name_the_key(export, message):
    with pytest.raises(ConfigError) as info:
        parse_config({"export": export}, Path("/srv/bw"))
    assert message in str(info.value)


def test_reasons_without_server_text_are_spelt_out():
    assert FORMATS["mailgun"].row(ANGRY)[2] == "complaint (ARF feedback report)"
    assert FORMATS["sendgrid"].row(Suppression(address="x@example.org", reason="manual"))[2] == "suppressed by hand"


# --- the batch writers write exactly what csv.writer / json.dumps write row by row ----------

class Colour(StrEnum):
    RED = "=red"


class Level(IntEnum):
    HIGH = 3


#: Cells that stress quoting, escaping, defusing and JSON's encoder.
NASTY = [
    ("plain", 'a "quoted", comma', "line\nbreak", "cr\rret", "=cmd()", "+1", "-1", "@x", "\tt", "\rr"),
    ("ünïcödé ✓ 😀", "\u2028\u2029", "back\\slash", "%s %d %%", "\x00\x1f\x7f", "", "'", "\"", ",", " "),
    (0, -5, 10**20, True, False, None, 1.5, float("nan"), Colour.RED, Level.HIGH),
    ("x", 7, "", True, "y", "=1+2@example.org", "{\"a\":1}", ["l", 1], {"k": "v"}, "z"),
]
COLUMNS = ("a", "b", "c", "d", "e", "f", "g", "h", "i", "j")


def _csv_reference(rows, columns=COLUMNS) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for cells in rows:
        writer.writerow([("true" if c else "false") if isinstance(c, bool)
                         else spreadsheet_safe(c) if isinstance(c, str) else c for c in cells])
    return out.getvalue()


def _written(cls, batches, columns=COLUMNS, now=T0) -> str:
    out = io.StringIO(newline="")
    writer = cls(out, columns, now)
    for batch in batches:
        writer.rows(batch)
    writer.end()
    return out.getvalue()


BATCHINGS = [[NASTY], [NASTY[:1], [], NASTY[1:3], NASTY[3:]], [[row] for row in NASTY], []]


@pytest.mark.parametrize("batches", BATCHINGS)
def test_csv_writer_writes_what_csv_writerow_writes(batches):
    rows = [cells for batch in batches for cells in batch]
    assert _written(CsvWriter, batches) == _csv_reference(rows)
    assert _written(CsvWriter, batches, columns=("=a", "b,c")).startswith('=a,"b,c"\r\n')


@pytest.mark.parametrize("batches", BATCHINGS)
def test_json_writers_write_what_json_dumps_writes(batches):
    rows = [cells for batch in batches for cells in batch]
    records = [json.dumps(dict(zip(COLUMNS, cells)), ensure_ascii=False) for cells in rows]
    assert _written(JsonLinesWriter, batches) == "".join(r + "\n" for r in records)
    document = ('{"generated_at": %s, "suppressions": [' % json.dumps(iso_utc(T0))
                + "".join(("\n  " if i == 0 else ",\n  ") + r for i, r in enumerate(records))
                + ("\n" if records else "") + '], "count": %d}\n' % len(records))
    assert _written(JsonDocumentWriter, batches) == document
    assert _written(LinesWriter, batches) == "".join(f"{cells[0]}\n" for cells in rows)


def test_json_keys_are_encoded_like_json_dumps():
    columns = ('per%cent', 'quo"te', "ünï")
    cells = ("1", 2, None)
    assert _written(JsonLinesWriter, [[cells]], columns=columns) == json.dumps(
        dict(zip(columns, cells)), ensure_ascii=False) + "\n"
    with pytest.raises(ValueError):
        _written(JsonLinesWriter, [[("only one",)]], columns=columns)


def test_single_row_writes_match_batches():
    for cls in (CsvWriter, JsonLinesWriter, JsonDocumentWriter, LinesWriter):
        out = io.StringIO(newline="")
        writer = cls(out, COLUMNS, T0)
        for cells in NASTY:
            writer.row(cells)
        writer.end()
        assert out.getvalue() == _written(cls, [NASTY])


# --- the time helpers write what strftime / email.utils.format_datetime write ---------------

TIMES = [
    datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc), datetime(2026, 1, 5, 9, 0, 59, 999999, tzinfo=timezone.utc),
    datetime(1, 1, 1, tzinfo=timezone.utc), datetime(999, 12, 31, 23, 59, 59, tzinfo=timezone.utc),
    datetime(1000, 1, 1, tzinfo=timezone.utc), datetime(9999, 12, 31, 23, 59, 59, 1, tzinfo=timezone.utc),
    datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=timezone.utc),
    datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=-9, minutes=-30))),
    datetime(2024, 2, 29, 23, 0, 1, tzinfo=timezone(timedelta(hours=14))),
] + [datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(days=d, seconds=d * 3607.25) for d in range(0, 800, 7)]


@pytest.mark.parametrize("value", TIMES, ids=str)
def test_time_helpers_match_the_standard_library(value):
    utc = value.astimezone(timezone.utc)
    assert iso_utc(value) == utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert rfc2822_utc(value) == email.utils.format_datetime(utc, usegmt=True).replace(" GMT", " UTC")
    assert iso_utc(None) == "" and rfc2822_utc(None) == ""


def test_generic_row_writes_each_time_as_iso_utc_would():
    t = datetime(2026, 1, 5, 9, 0, 0, 500, tzinfo=timezone.utc)
    berlin = t.astimezone(timezone(timedelta(hours=1)))          # the same instant
    later = t + timedelta(microseconds=1)                        # the same second, not equal
    for first, last, suppressed in [(t, t, t), (None, None, None), (None, t, None), (t, None, t),
                                    (berlin, t, berlin), (t, later, t), (later, t, None),
                                    (t, t + timedelta(days=1), t + timedelta(days=2))]:
        s = Suppression(address="a@example.org", reason="userunknown", first_seen=first,
                        last_seen=last, suppressed_at=suppressed)
        assert generic_row(s)[4:6] + generic_row(s)[8:9] == (
            iso_utc(first), iso_utc(last), iso_utc(suppressed))
