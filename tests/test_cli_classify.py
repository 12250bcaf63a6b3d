"""The classify command reads files, Maildir folders and mbox files and goes on after bad input."""
from __future__ import annotations

import json

from daemon.cli import main
from daemon.mailfiles import split_mbox

PLAIN = b"From: a@example.org\nTo: b@example.org\nSubject: hello\n\nJust mail.\n"


def test_split_mbox_keeps_a_plain_file_whole():
    assert split_mbox(PLAIN) == [PLAIN]


def test_split_mbox_splits_on_dated_separators_only():
    mbox = (b"From MAILER-DAEMON  Thu Jul  2 12:05:05 2020\n" + PLAIN + b"\n"
            b"From bob@example.org Fri Jul  3 01:00:00 2020\n" + PLAIN
            + b"From here on the body goes\n")
    parts = split_mbox(mbox)
    assert len(parts) == 2
    assert parts[0].startswith(b"From: a@example.org")
    assert parts[1].endswith(b"From here on the body goes\n")


def test_classify_reports_unreadable_path_and_goes_on(tmp_path, capsys):
    good = tmp_path / "good.eml"
    good.write_bytes(PLAIN)
    code = main(["classify", "--jsonl", str(tmp_path / "missing.eml"), str(good)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "missing.eml" in err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["file"] for line in lines] == [str(good)]


def test_classify_reads_a_maildir(tmp_path, capsys):
    for sub in ("new", "cur", "tmp"):
        (tmp_path / sub).mkdir()
    (tmp_path / "new" / "1.eml").write_bytes(PLAIN)
    (tmp_path / "cur" / "2.eml").write_bytes(PLAIN)
    assert main(["classify", "--jsonl", str(tmp_path)]) == 0
    files = [json.loads(line)["file"] for line in capsys.readouterr().out.splitlines()]
    assert sorted(files) == sorted([str(tmp_path / "new" / "1.eml"), str(tmp_path / "cur" / "2.eml")])


def test_classify_jsonl_rows_carry_the_contract_keys(tmp_path, capsys):
    from pathlib import Path
    fixture = Path(__file__).parent / "fixtures" / "rfc" / "rfc3464-run-together.eml"
    mbox = tmp_path / "box.mbox"
    mbox.write_bytes(b"From MAILER-DAEMON  Thu Jul  2 12:05:05 2020\n" + fixture.read_bytes()
                     + b"\nFrom bob@example.org Fri Jul  3 01:00:00 2020\n" + PLAIN)
    assert main(["classify", "--jsonl", str(mbox)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["index"], r["recipient"], r["hard"]) for r in rows] == [
        (0, "full@example.jp", False), (0, "unknown@example.jp", True), (1, None, False)]
    for key in ("file", "recipient", "reason", "hard", "status", "reply_code", "kind", "decoded_by"):
        assert all(key in r for r in rows)
    assert rows[1]["reason"] == "userunknown" and rows[1]["status"] == "5.1.1"
    assert rows[2]["kind"] == "not-bounce"
