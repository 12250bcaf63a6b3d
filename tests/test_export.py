"""The suppression list export: right rows, atomic files, spreadsheet-safe, bounded memory."""
from __future__ import annotations

import csv
import json
import os
import random
import stat
import time
import tracemalloc
from dataclasses import replace
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, insert, select

from classifiers import Kind, Reason
from daemon.config import Config, ExportConfig, PolicyConfig
from daemon.db import session_scope
from daemon.addresses import normalize_address
from daemon.export import (
    EXPORT_COLUMNS, FILE_MODE, _time_reader, is_canonical, spreadsheet_safe, suppressions,
    write_exports,
)
from daemon.models import Address, AddressAction, UTCDateTime
from daemon.policy import all_addresses, recompute
from daemon.store import mailbox_key, record_message
from storehelp import T0, days, db_url, engine, fixed, hard, outcome, raw_message, report, soft  # noqa: F401


def cfg(tmp_path, **export) -> Config:
    return Config(export=ExportConfig(directory=str(tmp_path / "out"), **export))


def read_csv(path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def fill(engine, config):
    with session_scope(engine) as s:
        for uid, rep in enumerate([
            report(Kind.BOUNCE, hard("dead@example.org"), soft("full@example.org")),
            report(Kind.BOUNCE, outcome("gone@example.net", Reason.HOSTUNKNOWN, True, status="5.1.2",
                                        reply_code="550")),
            report(Kind.COMPLAINT, outcome("angry@example.org", Reason.FEEDBACK)),
            report(Kind.BOUNCE, hard("dead@example.org")),
        ], start=1):
            record_message(s, mailbox=mailbox_key("a", "INBOX"), uidvalidity=1, uid=uid,
                           raw=raw_message(uid, at=T0 + days(uid)), config=config,
                           classify=fixed(rep), now=T0 + days(10))


@pytest.mark.parametrize("value, safe", [
    ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("plain", "plain"), ("", ""), ("a=b", "a=b"),
])
def test_spreadsheet_safe(value, safe):
    assert spreadsheet_safe(value) == safe


def test_export_writes_active_suppressions_as_csv_and_json(engine, tmp_path):
    config = cfg(tmp_path)
    fill(engine, config)
    now = T0 + days(11)
    paths = write_exports(engine, config, now=now)
    assert [p.name for p in paths] == ["suppressions.csv", "suppressions.json"]
    rows = read_csv(paths[0])
    assert [r["address"] for r in rows] == ["angry@example.org", "dead@example.org", "gone@example.net"]
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    dead = rows[1]
    assert (dead["reason"], dead["status"], dead["reply_code"], dead["bounce_count"]) == ("userunknown", "5.1.1", "550", "2")
    assert (dead["first_seen"], dead["last_seen"]) == ("2026-01-06T09:00:00Z", "2026-01-09T09:00:00Z")
    assert dead["source_message_id"] == "<ndr1@mx.example>" and dead["manual"] == "false"
    assert rows[0]["reason"] == "feedback"
    data = json.loads(paths[1].read_text())
    assert data["generated_at"] == "2026-01-16T09:00:00Z" and data["count"] == 3
    assert [r["address"] for r in data["suppressions"]] == [r["address"] for r in rows]
    assert data["suppressions"][1]["bounce_count"] == 2 and data["suppressions"][1]["manual"] is False
    assert stat.S_IMODE(os.stat(paths[0]).st_mode) == FILE_MODE
    assert sorted(os.listdir(tmp_path / "out")) == ["suppressions.csv", "suppressions.json"]


def test_empty_list_is_still_valid(engine, tmp_path):
    paths = write_exports(engine, cfg(tmp_path))
    assert read_csv(paths[0]) == []
    assert json.loads(paths[1].read_text())["suppressions"] == []


def test_formula_cells_are_defused_in_csv_but_kept_exact_in_json(engine, tmp_path):
    config = cfg(tmp_path)
    with session_scope(engine) as s:
        s.add(AddressAction(address="=1+2@example.org", action="suppress", reason="-", actor="op",
                            created_at=T0))
        s.add(AddressAction(address="ok@example.org", action="suppress", reason="", actor="op",
                            created_at=T0))
        s.flush()
        recompute(s, all_addresses(s), config.policy)
    csv_path, json_path = write_exports(engine, config)
    assert [r["address"] for r in read_csv(csv_path)] == ["'=1+2@example.org", "ok@example.org"]
    assert json.loads(json_path.read_text())["suppressions"][0]["address"] == "=1+2@example.org"


def test_malformed_and_allow_listed_addresses_are_never_exported(engine, tmp_path):
    config = cfg(tmp_path)
    with session_scope(engine) as s:
        for address in ("bad address", "good@example.org", "vip@example.org"):
            s.add(Address(address=address, state="suppressed", reason="manual", updated_at=T0))
    allowed = replace(config, policy=PolicyConfig(allow=("vip@example.org",)))
    rows = read_csv(write_exports(engine, allowed)[0])
    assert [r["address"] for r in rows] == ["good@example.org"]


def test_a_failed_export_leaves_the_old_files_and_no_temporaries(engine, tmp_path, monkeypatch):
    config = cfg(tmp_path)
    fill(engine, config)
    csv_path, json_path = write_exports(engine, config)
    before = (csv_path.read_bytes(), json_path.read_bytes())

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with session_scope(engine) as s:
        s.add(AddressAction(address="new@example.org", action="suppress", created_at=T0))
        s.flush()
        recompute(s, ["new@example.org"], config.policy)
    with pytest.raises(OSError, match="No space"):
        write_exports(engine, config)
    assert (csv_path.read_bytes(), json_path.read_bytes()) == before
    assert sorted(os.listdir(tmp_path / "out")) == ["suppressions.csv", "suppressions.json"]


def test_stale_temporaries_from_a_crash_are_removed_fresh_ones_kept(engine, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    stale, fresh = out / ".suppressions.csv.abc.tmp", out / ".suppressions.csv.def.tmp"
    stale.write_text("half")
    fresh.write_text("being written by another export")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    write_exports(engine, cfg(tmp_path, formats=("json",)))
    assert not stale.exists() and fresh.exists()
    assert not (out / "suppressions.csv").exists()


def test_export_streams_in_bounded_memory(engine, tmp_path):
    """20k suppressions peak under 8 MB (holding them all takes ~16 MB; a million, ~800 MB)."""
    n = 20_000
    with session_scope(engine) as s:
        for start in range(0, n, 5_000):
            s.execute(insert(Address), [
                dict(address=f"user{i:06d}@example.org", state="suppressed", reason="userunknown",
                     status="5.1.1", reply_code="550", note="", manual=False, bounce_count=1,
                     soft_count=0, source_message_id=f"<m{i}@mx.example>", first_seen=T0,
                     last_seen=T0, suppressed_at=T0, updated_at=T0)
                for i in range(start, start + 5_000)])
    tracemalloc.start()
    try:
        csv_path, json_path = write_exports(engine, cfg(tmp_path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert json.loads(json_path.read_text())["count"] == n
    assert csv_path.read_text().count("\n") == n + 1
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_export_times_are_utc(engine, tmp_path):
    config = cfg(tmp_path)
    fill(engine, config)
    row = read_csv(write_exports(engine, config)[0])[0]
    assert row["suppressed_at"].endswith("Z")
    assert T0.tzinfo is timezone.utc


#: Addresses near every edge of normalize_address; is_canonical's quick path must agree.
EDGES = [
    "user@example.org", "first.last+tag@sub.example.co.jp", "=1+2@example.org", "a@b.co",
    "o'brien@example.ie", "x_y@_dmarc.example.org", "a{b}|~`^#$%&*/?!@example.org",
    "User@example.org", "user@Example.org", " user@example.org", "user@example.org ",
    "user@example.org.", "user@example..org", "user@.example.org", "user@example", "user@-a.org",
    "user@a-.org", "user@a_.org", "user@a.b", "user@1.2", "@example.org", "user@", "",
    ".user@example.org", "user.@example.org", "us..er@example.org", "us er@example.org",
    "user@@example.org", "a@b@example.org", "<user@example.org>", "user@exa mple.org",
    'us"er@example.org', "us\\er@example.org", "us(er@example.org", "us,er@example.org",
    "us;er@example.org", "us:er@example.org", "us[er@example.org", "us\x7fer@example.org",
    "us\x00er@example.org", "user\n@example.org", "us\u00e9r@example.org", "user@b\u00fccher.example",
    "user@xn--bcher-kva.example", "user@\u0131.example", "\u212a@example.org", "us\u00a0er@example.org",
    "x" * 64 + "@example.org", "x" * 65 + "@example.org", "x@" + "a" * 63 + ".org",
    "x@" + "a" * 64 + ".org", "x" * 64 + "@" + ".".join(["a" * 61] * 3) + ".org",
    "x" * 64 + "@" + ".".join(["a" * 62] * 3) + ".org", "x@" + ".".join(["ab"] * 84),
    "x@" + ".".join(["ab"] * 85), "x@" + ".".join(["ab"] * 83) + ".a",
]


@pytest.mark.parametrize("address", EDGES)
def test_is_canonical_agrees_with_normalize_address(address):
    assert is_canonical(address) == (normalize_address(address) == address)


def test_is_canonical_agrees_with_normalize_address_on_random_addresses():
    rng = random.Random(5)
    alphabet = "abcxyzAZ09.-_+='@ \t\"<>(),;:[]\\!#$%&*/?^`{|}~\x7f\u00e9\u0131\u00a0"
    plain = "abcxyz09.-_+='!#$%&*/?^`{|}~"
    for _ in range(20_000):
        chars = alphabet if rng.random() < 0.5 else plain
        text = "".join(rng.choice(chars) for _ in range(rng.randint(0, 12)))
        if rng.random() < 0.7:
            text = text.replace("@", "") + "@" + rng.choice(["example.org", "a.b", "-x.org", "x.",
                                                             "ex_a.mp-le.org", "EX.org", ""])
        assert is_canonical(text) == (normalize_address(text) == text), repr(text)


@pytest.mark.parametrize("stored", [
    "2026-01-05 09:00:00.000000", "2026-01-05 09:00:00.123456", "2026-01-05 09:00:00",
    "2026-01-05T09:00", "2026-01-05", "0999-12-31 23:59:59.999999", "9999-12-31 23:59:59.999999",
    "2026-01-05 09:00:00+02:00", "2026-01-05 09:00:00Z", None,
])
def test_time_reader_are_read_as_utc_datetime_reads_them(stored):
    dialect = create_engine("sqlite://").dialect
    exact = UTCDateTime().dialect_impl(dialect).result_processor(dialect, None)
    try:
        expected = exact(stored)
    except ValueError:
        with pytest.raises(ValueError):
            _time_reader(dialect)(stored)
        return
    got = _time_reader(dialect)(stored)
    assert got == expected and (got is None or got.utcoffset() == expected.utcoffset() == days(0))


@pytest.mark.parametrize("value", [
    datetime(2026, 1, 5, 9, tzinfo=timezone.utc), datetime(2026, 1, 5, 9, tzinfo=ZoneInfo("Etc/UTC")),
    datetime(2026, 1, 5, 9, tzinfo=ZoneInfo("Europe/Berlin")), datetime(2026, 1, 5, 9), None,
])
def test_postgresql_times_are_read_as_utc_datetime_reads_them(value):
    from sqlalchemy.dialects import postgresql

    dialect = postgresql.psycopg.dialect()
    expected = UTCDateTime().dialect_impl(dialect).result_processor(dialect, None)(value)
    got = _time_reader(dialect)(value)
    assert got == expected and (got is None or got.tzinfo is timezone.utc)


def test_suppressions_carry_what_the_models_read(engine, tmp_path):
    config = cfg(tmp_path)
    fill(engine, config)
    with session_scope(engine) as s:
        exported = list(suppressions(s))
        rows = {a.address: a for a in s.scalars(select(Address))}
        assert exported and all(x.first_seen and x.last_seen and x.suppressed_at for x in exported)
        for x in exported:
            a = rows[x.address]
            assert (x.reason, x.status, x.reply_code, x.first_seen, x.last_seen, x.bounce_count,
                    x.source_message_id, x.suppressed_at, x.manual, x.note) == (
                a.reason, a.status, a.reply_code, a.first_seen, a.last_seen, a.bounce_count,
                a.source_message_id, a.suppressed_at, a.manual, a.note)
            assert x.suppressed_at.tzinfo is not None and x.suppressed_at.utcoffset() == days(0)
            assert type(x.manual) is bool
