"""End to end over real IMAP (pymap and Dovecot), a real SQLite file and real migrations:
the shipped sample bounces polled with ``bouncewatch poll --once`` give exactly the expected
rows, suppressions, folder moves and export; re-runs, rescans and crashes count nothing twice.
"""
from __future__ import annotations

import csv
import hashlib
import io
import os
import signal
import subprocess
import sys
import time
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from daemon import cli
from daemon.db import make_engine, session_scope
from daemon.demo import samples
from daemon.export import write_exports
from daemon.imap import Inbox
from daemon.config import load_config
from daemon.models import Address, Location, Message, Outcome
from imapservers import append, folder_contents, free_port

pytestmark = pytest.mark.imap

ANY = object()
PROCESSED, UNPARSED, OTHER = "bouncewatch/processed", "bouncewatch/unparsed", "bouncewatch/other"


@dataclass(frozen=True)
class Expected:
    kind: str
    folder: str
    outcomes: tuple[tuple[str, object, bool], ...] = ()   # (recipient, reason, hard)


#: One row per shipped sample (daemon/samples): what the daemon must make of it.
EXPECTED: dict[str, Expected] = {
    "01-hard-userunknown": Expected("bounce", PROCESSED, (("gone@example.net", "userunknown", True),)),
    "02-hard-hostunknown": Expected("bounce", PROCESSED,
                                    (("someone@no-such-domain.example", "hostunknown", True),)),
    "03-soft-mailboxfull": Expected("bounce", PROCESSED, (("full@example.com", "mailboxfull", False),)),
    "04-delay": Expected("delay", PROCESSED, (("slow@example.info", ANY, False),)),
    "05-blocked-spam": Expected("bounce", PROCESSED, (("reader@example.edu", "spamdetected", False),)),
    "06-complaint-arf": Expected("complaint", PROCESSED, (("angry@example.com", "feedback", False),)),
    "07-autoreply": Expected("autoreply", PROCESSED, (("holiday@example.org", "vacation", False),)),
    "08-not-bounce": Expected("not-bounce", OTHER),
    "09-garbled-bounce": Expected("unparseable", UNPARSED),
}
SUPPRESSED = {"gone@example.net": "userunknown", "someone@no-such-domain.example": "hostunknown",
              "angry@example.com": "feedback"}
#: Every address the samples mention: (state, reason, bounce_count, soft_count).
ADDRESSES = {
    "gone@example.net": ("suppressed", "userunknown", 1, 0),
    "someone@no-such-domain.example": ("suppressed", "hostunknown", 1, 0),
    "angry@example.com": ("suppressed", "feedback", 0, 0),
    "full@example.com": ("active", "", 1, 1),
    "reader@example.edu": ("active", "", 1, 1),
    "slow@example.info": ("active", "", 0, 0),
    "holiday@example.org": ("active", "", 0, 0),
}
SAMPLES = dict(samples())
FOLDER = "lists/bounces"

CONFIG = """\
[database]
url = "{url}"
[[accounts]]
name = "e2e"
host = "{host}"
port = {port}
security = "plain"
username = "{user}"
password_env = "BW_E2E_PASSWORD"
folders = ["{folder}"]
other_folder = "{other}"
batch_size = 4
[export]
directory = "export"
[logging]
format = "json"
level = "warning"
"""


def test_samples_match_the_table():
    assert sorted(SAMPLES) == sorted(EXPECTED)


@pytest.fixture
def env(imap_server, tmp_path, monkeypatch, database_url):
    """A config file for ``imap_server`` and the test's database, and the samples appended
    to the polled folder."""
    monkeypatch.setenv("BW_E2E_PASSWORD", imap_server.password)
    path = tmp_path / "bouncewatch.toml"
    path.write_text(CONFIG.format(host=imap_server.host, port=imap_server.port, folder=FOLDER,
                                  user=imap_server.username, other=OTHER, url=database_url))
    append(imap_server, FOLDER, list(SAMPLES.values()))
    engine = make_engine(database_url)
    yield imap_server, path, engine
    engine.dispose()


def poll(path: Path, *extra: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = cli.main(["--config", str(path), "poll", "--once", *extra])
    return code, out.getvalue()


def summary(text: str) -> dict[str, str]:
    header, row = text.strip().splitlines()[:2]
    return dict(zip(header.split(), row.split(maxsplit=len(header.split()) - 1)))


def db_rows(engine) -> dict[str, tuple[str, tuple]]:
    """The messages table by sample name: (kind, sorted (recipient, reason, hard) rows)."""
    by_sha = {hashlib.sha256(raw).hexdigest(): name for name, raw in SAMPLES.items()}
    with session_scope(engine) as s:
        out = {}
        for m in s.scalars(select(Message)):
            rows = tuple(sorted((o.recipient, o.reason, o.hard) for o in m.outcomes))
            out[by_sha[m.sha256]] = (m.kind, rows)
        return out


def addresses(engine) -> dict[str, tuple[str, str, int, int]]:
    with session_scope(engine) as s:
        return {a.address: (a.state, a.reason, a.bounce_count, a.soft_count)
                for a in s.scalars(select(Address))}


def expected_folders() -> dict[str, list[bytes]]:
    folders: dict[str, list[bytes]] = {FOLDER: [], PROCESSED: [], UNPARSED: [], OTHER: []}
    for name, exp in EXPECTED.items():
        folders[exp.folder].append(SAMPLES[name])
    return folders


def assert_everything_as_expected(server, engine, tmp_path: Path) -> None:
    rows = db_rows(engine)
    assert sorted(rows) == sorted(EXPECTED)
    for name, exp in EXPECTED.items():
        kind, outcomes = rows[name]
        assert kind == exp.kind, name
        assert len(outcomes) == len(exp.outcomes), name
        for got, want in zip(outcomes, sorted(exp.outcomes, key=lambda o: o[0])):
            assert all(w is ANY or g == w for g, w in zip(got, want)), (name, got, want)
    assert addresses(engine) == ADDRESSES
    contents = folder_contents(server)
    for folder, messages in expected_folders().items():
        assert sorted(contents.get(folder, [])) == sorted(messages), folder
    config = load_config(tmp_path / "bouncewatch.toml")
    write_exports(engine, config)
    with open(tmp_path / "export" / "suppressions.csv", newline="", encoding="utf-8") as fh:
        exported = {r["address"]: r for r in csv.DictReader(fh)}
    assert {a: r["reason"] for a, r in exported.items()} == SUPPRESSED
    assert exported["gone@example.net"]["status"] == "5.1.1"
    assert exported["gone@example.net"]["bounce_count"] == "1"
    assert exported["gone@example.net"]["source_message_id"] == \
        "<20260302091407.4Q1aB2cD3e@mail.lists.example.org>"


def test_one_poll_gives_exactly_the_expected_result_and_a_second_changes_nothing(env, tmp_path):
    server, path, engine = env
    code, out = poll(path)
    assert code == 0, out
    first = summary(out)
    assert (first["mailbox"], first["new"], first["moved"], first["hard"], first["suppressed"],
            first["result"]) == (f"e2e/{FOLDER}", "9", "9", "2", "3", "ok")
    assert_everything_as_expected(server, engine, tmp_path)
    code, out = poll(path)
    assert code == 0 and (summary(out)["new"], summary(out)["moved"]) == ("0", "0")
    assert_everything_as_expected(server, engine, tmp_path)


def test_uidvalidity_change_loses_nothing_and_counts_nothing_twice(env, tmp_path):
    server, path, engine = env
    assert poll(path)[0] == 0
    with server.client() as c:        # the folder is deleted and recreated with the same mail
        c.select_folder("INBOX")
        c.delete_folder(FOLDER)
    append(server, FOLDER, list(SAMPLES.values()))
    code, out = poll(path)
    assert code == 0 and (summary(out)["new"], summary(out)["duplicates"]) == ("0", "9")
    with session_scope(engine) as s:
        assert len(s.scalars(select(Location)).all()) == 18
        assert len(s.scalars(select(Outcome)).all()) == 7
    for name, raw in SAMPLES.items():   # every copy moved again, to the right folder
        assert folder_contents(server)[EXPECTED[name].folder].count(raw) == 2
    assert addresses(engine) == ADDRESSES


class Killed(BaseException):
    """Stands in for SIGKILL between the commit and the move."""


def test_restart_after_a_kill_between_commit_and_move(env, tmp_path, monkeypatch):
    server, path, engine = env

    def killed(self, uids, folder):
        raise Killed()
    with monkeypatch.context() as m:
        m.setattr(Inbox, "move", killed)
        with pytest.raises(Killed):
            poll(path)
    assert len(db_rows(engine)) == 4                           # the first batch committed
    assert sorted(folder_contents(server)[FOLDER]) == sorted(SAMPLES.values())  # none moved
    code, out = poll(path)                                     # the restart
    assert code == 0 and summary(out)["new"] == "5" and summary(out)["moved"] == "9"
    assert_everything_as_expected(server, engine, tmp_path)


def test_wrong_password_is_a_clear_error(env, tmp_path, monkeypatch):
    server, path, engine = env
    monkeypatch.setenv("BW_E2E_PASSWORD", "Not-The-Password-7")
    code, out = poll(path)
    assert code == cli.EXIT_UNAVAILABLE
    assert "login refused" in summary(out)["result"] and "Not-The-Password-7" not in out
    assert db_rows(engine) == {}


def test_missing_password_is_a_config_error(env, monkeypatch):
    _server, path, _engine = env
    monkeypatch.delenv("BW_E2E_PASSWORD")
    code, out = poll(path)
    assert code == cli.EXIT_CONFIG and "BW_E2E_PASSWORD" in summary(out)["result"]


def test_unreachable_server_is_a_clear_error(env, tmp_path):
    _server, path, _engine = env
    path.write_text(path.read_text().replace(f"port = {_server.port}", f"port = {free_port()}"))
    code, out = poll(path)
    assert code == cli.EXIT_UNAVAILABLE and "connect to" in summary(out)["result"]


def test_sigkill_in_the_middle_of_a_poll_then_restart(env, tmp_path):
    """A real SIGKILL wherever it lands: the next poll loses nothing and counts nothing twice."""
    server, path, engine = env
    extra = [f"From: m{i}@example.org\r\nSubject: filler {i}\r\nMessage-ID: <f{i}@example.org>"
             f"\r\n\r\nfiller {i}\r\n".encode() for i in range(80)]
    append(server, FOLDER, extra)
    proc = subprocess.Popen([sys.executable, "-m", "daemon.cli", "--config", str(path), "poll",
                             "--once"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with session_scope(engine) as s:
                if len(s.scalars(select(Message.id)).all()) >= 10:
                    break
        except Exception:  # noqa: BLE001 - the schema may not exist yet
            pass
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    with session_scope(engine) as s:
        killed_at = len(s.scalars(select(Message.id)).all())
    assert 0 < killed_at < len(SAMPLES) + len(extra)         # it really died half-way
    assert poll(path)[0] == 0
    with session_scope(engine) as s:
        assert len(s.scalars(select(Message.id)).all()) == len(SAMPLES) + len(extra)
        assert len(s.scalars(select(Location.id)).all()) == len(SAMPLES) + len(extra)
    assert addresses(engine) == ADDRESSES
    contents = folder_contents(server)
    assert contents[FOLDER] == []
    assert sorted(contents[OTHER]) == sorted(extra + [SAMPLES["08-not-bounce"]])
