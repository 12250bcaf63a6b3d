"""Admin commands through ``bouncewatch`` itself, on a real SQLite file and real migrations."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import select

import classifiers
from classifiers import Kind
from daemon.admin import format_table, reclassify
from daemon.cli import EXIT_CONFIG, EXIT_PARTIAL, EXIT_UNAVAILABLE, EXIT_USAGE, main
from daemon.config import load_config
from daemon.db import alembic_config, make_engine, session_scope
from daemon.models import Address, Message
from daemon.store import mailbox_key, record_message, record_poll
from storehelp import T0, days, fixed, hard, raw_message, report, soft

SAMPLES = Path(__file__).resolve().parent.parent / "daemon" / "samples"
BOX = mailbox_key("lists", "INBOX")


@pytest.fixture
def conf(tmp_path, database_url) -> Path:
    path = tmp_path / "bw.toml"
    path.write_text(
        f'[database]\nurl = "{database_url}"\n'
        '[export]\ndirectory = "out"\n'
        '[policy]\nallow = ["*@vip.example"]\n'
        '[[accounts]]\nname = "lists"\nhost = "imap.example.org"\nusername = "u"\n'
        'password_env = "BW_TEST_UNUSED"\nfolders = ["INBOX", "Junk"]\n')
    return path


def cli(capsys, conf: Path, *argv: str) -> tuple[int, str, str]:
    code = main(["--config", str(conf), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def engine_for(conf: Path):
    return make_engine(load_config(conf).database.url)


def record(conf: Path, uid: int, rep, at=T0) -> None:
    eng = engine_for(conf)
    with session_scope(eng) as s:
        record_message(s, mailbox=BOX, uidvalidity=3, uid=uid, raw=raw_message(uid, at=at),
                       config=load_config(conf), classify=fixed(rep), now=at + days(1))
    eng.dispose()


def state_of(conf: Path, address: str) -> str | None:
    eng = engine_for(conf)
    with session_scope(eng) as s:
        state = s.scalar(select(Address.state).where(Address.address == address))
    eng.dispose()
    return state


def test_format_table():
    assert format_table(["a", "bb"], [["xxx", None], ["y", 2]]) == "a    bb\nxxx  -\ny    2\n"


def test_db_upgrade_and_current(capsys, conf):
    code, out, _ = cli(capsys, conf, "db", "current")
    assert code == 0 and "none (empty database)" in out
    code, out, _ = cli(capsys, conf, "db", "upgrade")
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert code == 0 and f"schema revision {head}" in out


def test_a_relative_sqlite_path_is_created_beside_the_config(capsys, tmp_path):
    conf = tmp_path / "bw.toml"
    conf.write_text('[database]\nurl = "sqlite:///data/bw.sqlite3"\n')
    assert cli(capsys, conf, "db", "upgrade")[0] == 0
    assert (tmp_path / "data" / "bw.sqlite3").is_file()


def test_config_errors_are_one_line_and_exit_3(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[policy]\nsuppress = true\n")
    code, out, err = cli(capsys, bad, "status")
    assert code == EXIT_CONFIG and out == ""
    assert err == f"bouncewatch status: {bad}: policy.suppress: unknown key\n"
    code, _, err = cli(capsys, tmp_path / "missing.toml", "export")
    assert code == EXIT_CONFIG and "cannot read" in err and len(err.splitlines()) == 1


def test_an_unusable_database_exits_4(capsys, tmp_path):
    (tmp_path / "afile").write_text("")
    conf = tmp_path / "bw.toml"
    conf.write_text('[database]\nurl = "sqlite:///afile/bw.sqlite3"\n')
    code, _, err = cli(capsys, conf, "status")
    assert code == EXIT_UNAVAILABLE and err.startswith("bouncewatch status: database:")


def test_suppress_release_history(capsys, conf):
    code, out, _ = cli(capsys, conf, "suppress", "Someone@Example.org", "--reason", "asked to leave")
    assert code == 0 and out.startswith("someone@example.org: suppressed by hand")
    assert state_of(conf, "someone@example.org") == "suppressed"
    code, out, _ = cli(capsys, conf, "release", "someone@example.org")
    assert code == 0 and "released by hand" in out
    code, out, _ = cli(capsys, conf, "release", "someone@example.org")
    assert code == 0 and "nothing to do" in out
    code, out, _ = cli(capsys, conf, "history", "someone@example.org")
    lines = out.splitlines()
    assert lines[0].startswith("someone@example.org: released")
    assert lines[1].split() == ["date", "event", "reason", "status", "reply_code", "message_id",
                                "mailbox", "diagnostic"]
    assert ["manual suppress" in lines[2], "manual release" in lines[3]] == [True, True]
    assert "asked to leave" in lines[2] and len(lines) == 4


def test_manual_commands_refuse_bad_and_allow_listed_addresses(capsys, conf):
    code, _, err = cli(capsys, conf, "suppress", "not an address")
    assert code == EXIT_USAGE and "not a valid e-mail address" in err
    code, _, err = cli(capsys, conf, "suppress", "boss@vip.example")
    assert code == EXIT_PARTIAL and "allow-list" in err
    assert state_of(conf, "boss@vip.example") is None
    code, _, err = cli(capsys, conf, "history", "x@")
    assert code == EXIT_USAGE


def test_history_shows_every_outcome(capsys, conf):
    cli(capsys, conf, "db", "upgrade")
    record(conf, 1, report(Kind.BOUNCE, soft("user@example.org")), at=T0)
    record(conf, 2, report(Kind.BOUNCE, hard("user@example.org")), at=T0 + days(3))
    code, out, _ = cli(capsys, conf, "history", "USER@example.org", "--json")
    data = json.loads(out)
    assert code == 0 and (data["state"], data["reason"]) == ("suppressed", "userunknown")
    assert [(e["event"], e["reason"], e["status"], e["message_id"], e["mailbox"]) for e in data["events"]] == [
        ("soft", "mailboxfull", "4.2.2", "<ndr1@mx.example>", BOX),
        ("hard", "userunknown", "5.1.1", "<ndr2@mx.example>", BOX)]
    code, out, _ = cli(capsys, conf, "history", "user@example.org")
    assert "suppressed (userunknown) since 2026-01-08 09:00:00 UTC; 2 bounces (1 transient)" in out


def test_status_text_and_json(capsys, conf):
    cli(capsys, conf, "db", "upgrade")
    record(conf, 7, report(Kind.BOUNCE, hard("dead@example.org"), soft("full@example.org")))
    record(conf, 8, report(Kind.NOT_BOUNCE))
    eng = engine_for(conf)
    with session_scope(eng) as s:
        record_poll(s, BOX, ok=False, error="login failed", at=T0 + days(2))
    eng.dispose()
    code, out, _ = cli(capsys, conf, "status", "--json")
    data = json.loads(out)
    assert code == 0
    inbox, junk = data["mailboxes"]
    assert (inbox["mailbox"], inbox["uidvalidity"], inbox["last_uid"]) == (BOX, 3, 8)
    assert (inbox["pending_moves"], inbox["consecutive_failures"], inbox["last_error"]) == (2, 1, "login failed")
    assert inbox["messages_by_kind"] == {"bounce": 1, "not-bounce": 1}
    assert inbox["outcomes_by_reason"] == {"mailboxfull": 1, "userunknown": 1}
    assert (junk["mailbox"], junk["uidvalidity"], junk["configured"]) == ("lists/Junk", None, True)
    assert data["suppressions"] == {"total": 1, "by_reason": {"userunknown": 1}}
    assert data["addresses"] == {"active": 1, "suppressed": 1, "released": 0}
    code, out, _ = cli(capsys, conf, "status")
    assert "lists/INBOX\n  cursor         uidvalidity 3, last uid 8\n" in out
    assert "1 failures in a row" in out and "login failed" in out
    assert "lists/Junk\n  cursor         never polled" in out
    assert "suppressed: 1 (userunknown 1)" in out
    conf.write_text(conf.read_text().replace('folders = ["INBOX", "Junk"]', 'folders = ["Junk"]'))
    code, out, _ = cli(capsys, conf, "status")
    assert "lists/INBOX  (no longer configured)\n" in out and out.index("lists/Junk") < out.index("lists/INBOX")


def test_export_command(capsys, conf, tmp_path):
    cli(capsys, conf, "suppress", "gone@example.org")
    code, out, _ = cli(capsys, conf, "export")
    assert code == 0 and out.splitlines() == [f"wrote {tmp_path}/out/suppressions.csv",
                                              f"wrote {tmp_path}/out/suppressions.json"]
    code, out, _ = cli(capsys, conf, "export", "--output-dir", str(tmp_path / "elsewhere"))
    assert code == 0
    data = json.loads((tmp_path / "elsewhere" / "suppressions.json").read_text())
    assert [(r["address"], r["reason"], r["manual"]) for r in data["suppressions"]] == [
        ("gone@example.org", "manual", True)]


def test_reclassify_replaces_outcomes_and_keeps_manual_decisions(capsys, conf):
    cli(capsys, conf, "db", "upgrade")
    record(conf, 1, report(Kind.NOT_BOUNCE))
    record(conf, 2, report(Kind.BOUNCE, hard("kept@example.org")))
    cli(capsys, conf, "release", "kept@example.org")
    cli(capsys, conf, "suppress", "manual@example.org")
    config = load_config(conf)
    eng = engine_for(conf)
    better = {raw_message(1): report(Kind.BOUNCE, hard("new@example.org")),
              raw_message(2): report(Kind.BOUNCE, hard("kept@example.org"))}
    seen: list[tuple[int, int]] = []
    summary = reclassify(eng, config, classify=lambda raw: better[raw],
                         progress=lambda done, total: seen.append((done, total)))
    assert (summary.messages, summary.changed_kind, summary.newly_suppressed) == (2, 1, ("new@example.org",))
    assert (summary.suppressed_before, summary.suppressed_after) == (1, 2)
    assert seen == [(2, 2)]
    # old evidence does not undo the release; the manual suppression stands
    assert state_of(conf, "kept@example.org") == "released"
    assert state_of(conf, "manual@example.org") == "suppressed"
    assert state_of(conf, "new@example.org") == "suppressed"
    # a second run finds the same and changes nothing
    again = reclassify(eng, config, classify=lambda raw: better[raw])
    assert (again.changed_kind, again.newly_suppressed, again.suppressed_after) == (0, (), 2)
    only = reclassify(eng, config, kinds=["not-bounce"], classify=lambda raw: better[raw])
    assert only.messages == 0
    eng.dispose()


def test_reclassify_batches_are_bounded_by_bytes(capsys, conf, monkeypatch):
    import daemon.admin

    cli(capsys, conf, "db", "upgrade")
    for uid in (1, 2, 3):
        record(conf, uid, report(Kind.NOT_BOUNCE))
    monkeypatch.setattr(daemon.admin, "RECLASSIFY_BYTES", 1)   # every message is "big"
    seen: list[tuple[int, int]] = []
    eng = engine_for(conf)
    summary = reclassify(eng, load_config(conf), classify=fixed(report(Kind.NOT_BOUNCE)),
                         progress=lambda done, total: seen.append((done, total)))
    eng.dispose()
    assert summary.messages == 3 and seen == [(1, 3), (2, 3), (3, 3)]


def test_reclassify_command_runs_the_real_matcher_over_stored_messages(capsys, conf):
    """Store the shipped samples as if no matcher existed, then let the real one run."""
    samples = sorted(SAMPLES.glob("*.eml"))
    if not samples:
        pytest.skip("no sample messages shipped")
    cli(capsys, conf, "db", "upgrade")
    config = load_config(conf)
    eng = engine_for(conf)
    with session_scope(eng) as s:
        for uid, path in enumerate(samples, start=1):
            record_message(s, mailbox=BOX, uidvalidity=1, uid=uid, raw=path.read_bytes(),
                           config=config, classify=fixed(report(Kind.NOT_BOUNCE)))
    expected: set[str] = set()
    for path in samples:
        rep = classifiers.classify(path.read_bytes())
        expected |= set(rep.hard_recipients)
        if rep.kind is Kind.COMPLAINT:
            expected |= {o.recipient.lower() for o in rep.outcomes}
    code, out, _ = cli(capsys, conf, "reclassify")
    assert code == 0 and out.startswith(f"reclassified {len(samples)} messages")
    with session_scope(eng) as s:
        suppressed = set(s.scalars(select(Address.address).where(Address.state == "suppressed")))
        kinds = {m.kind for m in s.scalars(select(Message))}
    eng.dispose()
    assert suppressed == {a.lower() for a in expected}
    assert kinds != {"not-bounce"}


def test_a_bad_database_url_is_a_config_error_without_the_password(capsys, tmp_path):
    conf = tmp_path / "bw.toml"
    conf.write_text('[database]\nurl = "nosuchdb://bw:pa55w0rd@host/db"\n')
    code, _, err = cli(capsys, conf, "status")
    assert code == EXIT_CONFIG and "pa55w0rd" not in err
    assert "database.url 'nosuchdb://bw:***@host/db': not a usable database URL" in err


def test_policy_only_applies_a_changed_policy_to_every_address(capsys, conf):
    cli(capsys, conf, "db", "upgrade")
    record(conf, 1, report(Kind.BOUNCE, hard("boss@vip.example")))
    cli(capsys, conf, "suppress", "manual@example.org")
    assert state_of(conf, "boss@vip.example") == "active"            # allow-listed
    conf.write_text(conf.read_text().replace('allow = ["*@vip.example"]', "allow = []"))
    code, out, _ = cli(capsys, conf, "reclassify", "--policy-only")
    assert code == 0 and out == "2 addresses recomputed\nsuppressed: 1 before, 2 now (1 newly suppressed)\n"
    assert state_of(conf, "boss@vip.example") == "suppressed"
    assert state_of(conf, "manual@example.org") == "suppressed"
