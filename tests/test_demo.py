"""The demo's Python part (scripts/demo = bootstrap + this): pymap, samples, one poll, export."""
from __future__ import annotations

import io
import os

import pytest

from daemon.demo import PASSWORD_ENV, crlf, run_demo, samples

pytestmark = pytest.mark.imap


def test_samples_are_crlf_and_named():
    shipped = samples()
    assert len(shipped) == 9 and all(b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
                                     for _name, raw in shipped)
    assert crlf(b"a\nb\r\nc") == b"a\r\nb\r\nc"


def test_demo_polls_the_samples_and_prints_the_suppression_list(tmp_path, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "")            # restored afterwards
    out = io.StringIO()
    assert run_demo(tmp_path, out) == 0
    text = out.getvalue()
    run_dir = tmp_path / "demo-run"
    assert (run_dir / "bouncewatch.sqlite3").is_file()
    assert 'security = "plain"' in (run_dir / "bouncewatch.toml").read_text()
    poll_row = next(line for line in text.splitlines() if line.startswith("demo/INBOX"))
    assert poll_row.split()[:6] == ["demo/INBOX", "9", "0", "9", "2", "3"]
    csv_text = (run_dir / "export" / "suppressions.csv").read_text()
    assert csv_text in text
    assert [line.split(",")[0] for line in csv_text.splitlines()[1:]] == \
        ["angry@example.com", "gone@example.net", "someone@no-such-domain.example"]
    pid = int(text.split("(pid ")[1].split(")")[0])
    with pytest.raises(ProcessLookupError):             # pymap was stopped
        os.kill(pid, 0)
    assert run_demo(tmp_path, io.StringIO()) == 0       # again: a fresh run, same result
    assert (run_dir / "export" / "suppressions.csv").read_text() == csv_text
