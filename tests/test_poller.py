"""poll_mailbox over a real pymap and a real SQLite file: the mechanics of exactly-once.

These tests use plain (non-bounce) messages and an ``other_folder``, so they do not depend on
the matcher's verdicts; tests/test_e2e.py covers the verdicts.
"""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DataError

from daemon import store
from daemon.db import session_scope
from daemon.imap import ImapAuthError, ImapUnavailable, Inbox
from daemon.models import Location, MailboxState, Message
from daemon.config import LimitsConfig
from daemon.poller import _batches, poll_mailbox, target_folder
from imapservers import append, folder_contents, free_port

pytestmark = pytest.mark.imap

PLAIN = [f"From: member{i}@example.org\r\nTo: bounces@lists.example.org\r\n"
         f"Subject: hello {i}\r\nMessage-ID: <m{i}@example.org>\r\n\r\nJust saying hi ({i}).\r\n"
         .encode() for i in range(7)]


class Killed(BaseException):
    """Stands in for SIGKILL: escapes every ``except Exception``."""


@pytest.fixture
def setup(pymap, make_account, make_config, engine_of):
    account = make_account(pymap, other_folder="other", batch_size=3)
    config = make_config(account)
    return pymap, account, config, engine_of(config)


def counts(engine) -> tuple[int, int]:
    with session_scope(engine) as s:
        return (s.scalar(select(func.count(Message.id))),
                s.scalar(select(func.count(Location.id))))


def mailbox_state(engine, mailbox: str) -> MailboxState:
    with session_scope(engine) as s:
        return s.get(MailboxState, mailbox)


def test_target_folder(make_account, pymap):
    account = make_account(pymap, other_folder="")
    assert target_folder(account, "processed") == "bouncewatch/processed"
    assert target_folder(account, "unparsed") == "bouncewatch/unparsed"
    assert target_folder(account, "other") == ""


class SizedInbox:
    """Stands in for ``Inbox.sizes`` (a unit test of the batching arithmetic)."""

    def __init__(self, sizes: dict[int, int]) -> None:
        self.known, self.asked = sizes, []

    def sizes(self, uids):
        self.asked.append(list(uids))
        return {u: self.known[u] for u in uids if u in self.known}


def test_batches_are_bounded_by_count_and_by_bytes():
    limits = LimitsConfig(max_message_bytes=20_000, batch_bytes=10_000)
    inbox = SizedInbox({1: 3000, 2: 3000, 3: 3000, 4: 3000, 5: 900_000, 6: 100, 7: 100, 8: 100,
                        9: 9900, 10: 2000, 12: 1})      # 5 is fetched cut to 20,001 bytes
    uids = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]      # 11 was expunged meanwhile
    assert list(_batches(inbox, uids, 3, limits)) == [
        [1, 2, 3], [4], [5], [6, 7, 8], [9], [10, 11, 12]]
    assert inbox.asked == [uids]                         # one size query per window
    alone = SizedInbox({1: 10, 2: 20_000, 3: 10})       # bigger than the batch limit: alone
    assert list(_batches(alone, [1, 2, 3], 100, LimitsConfig(batch_bytes=4096))) == [[1], [2], [3]]
    many = SizedInbox({u: 1 for u in range(1, 96)})
    assert [len(b) for b in _batches(many, list(range(1, 96)), 4, limits)] == [4] * 23 + [3]
    assert [len(w) for w in many.asked] == [40, 40, 15]


def test_poll_records_moves_and_is_idempotent(setup):
    server, account, config, engine = setup
    append(server, "INBOX", PLAIN)
    first = poll_mailbox(engine, config, account, "INBOX")
    assert (first.new, first.duplicates, first.moved, first.backlog) == (7, 0, 7, 0)
    assert first.dispositions == (("other", 7),) and not first.rescanned
    assert folder_contents(server) == {"INBOX": [], "other": PLAIN}
    assert counts(engine) == (7, 7)
    second = poll_mailbox(engine, config, account, "INBOX")
    assert (second.new, second.duplicates, second.moved) == (0, 0, 0)
    assert counts(engine) == (7, 7)
    state = mailbox_state(engine, "pymap/INBOX")
    assert state.consecutive_failures == 0 and state.last_success_at is not None
    assert (state.uidvalidity, state.last_uid) != (None, 0)     # the cursor is persisted


def test_left_in_place_messages_are_not_read_again(pymap, make_account, make_config, engine_of):
    account = make_account(pymap, other_folder="")
    config = make_config(account)
    engine = engine_of(config)
    append(pymap, "INBOX", PLAIN[:3])
    assert poll_mailbox(engine, config, account, "INBOX").new == 3
    append(pymap, "INBOX", PLAIN[3:4])
    again = poll_mailbox(engine, config, account, "INBOX")
    assert (again.new, again.duplicates) == (1, 0)
    assert folder_contents(pymap) == {"INBOX": PLAIN[:4]}
    with session_scope(engine) as s:
        assert store.pending_moves(s, "pymap/INBOX", again.uidvalidity) == []


def test_kill_between_commit_and_move_loses_and_doubles_nothing(setup, monkeypatch):
    server, account, config, engine = setup
    append(server, "INBOX", PLAIN)

    def killed(self, uids, folder):
        raise Killed()
    with monkeypatch.context() as m:
        m.setattr(Inbox, "move", killed)
        with pytest.raises(Killed):
            poll_mailbox(engine, config, account, "INBOX")
    assert counts(engine) == (3, 3)                     # the first batch was committed ...
    assert folder_contents(server)["INBOX"] == PLAIN    # ... but nothing moved
    after = poll_mailbox(engine, config, account, "INBOX")
    assert (after.new, after.duplicates, after.moved) == (4, 0, 7)
    assert counts(engine) == (7, 7)
    assert folder_contents(server) == {"INBOX": [], "other": PLAIN}


def test_stop_flag_ends_the_pass_between_batches(setup):
    server, account, config, engine = setup
    append(server, "INBOX", PLAIN)
    stop = threading.Event()

    def progress(done: int, total: int) -> None:
        assert total == 7
        if done == 3:                                   # the first batch of three
            stop.set()
    result = poll_mailbox(engine, config, account, "INBOX", stop=stop, progress=progress)
    assert result.stopped and (result.new, result.moved, result.backlog) == (3, 3, 4)
    assert mailbox_state(engine, "pymap/INBOX").backlog == 4
    assert folder_contents(server) == {"INBOX": PLAIN[3:], "other": PLAIN[:3]}
    rest = poll_mailbox(engine, config, account, "INBOX")
    assert (rest.new, rest.duplicates, rest.backlog, rest.stopped) == (4, 0, 0, False)
    assert counts(engine) == (7, 7)


def test_a_batch_the_database_refuses_is_recorded_one_by_one_up_to_the_bad_message(
        setup, monkeypatch):
    server, account, config, engine = setup
    append(server, "INBOX", PLAIN)
    poison = PLAIN[4]                                   # the second message of the second batch
    real = store.record_batch

    def refusing(session, **kwargs):
        if any(raw == poison for _uid, raw in kwargs["messages"]):
            raise DataError("INSERT INTO messages ...", None, ValueError("value out of range"))
        return real(session, **kwargs)
    with monkeypatch.context() as m:
        m.setattr(store, "record_batch", refusing)
        with pytest.raises(DataError):
            poll_mailbox(engine, config, account, "INBOX")
    assert counts(engine) == (4, 4)                     # the first batch and the one before it
    assert mailbox_state(engine, "pymap/INBOX").last_error.endswith("value out of range")
    after = poll_mailbox(engine, config, account, "INBOX")   # the database takes it now
    assert (after.new, after.duplicates, after.moved) == (3, 0, 4)   # the pending one too
    assert counts(engine) == (7, 7)
    assert folder_contents(server) == {"INBOX": [], "other": PLAIN}


def test_uidvalidity_change_rescans_without_double_counting(setup):
    server, account, config, engine = setup
    account_folder = "lists/bounces"
    append(server, account_folder, PLAIN[:4])
    first = poll_mailbox(engine, config, account, account_folder)
    assert first.new == 4
    with server.client() as c:                     # the folder is recreated, mail put back
        c.select_folder("INBOX")
        c.delete_folder(account_folder)
    append(server, account_folder, PLAIN[:4] + PLAIN[4:5])
    second = poll_mailbox(engine, config, account, account_folder)
    assert second.rescanned and second.uidvalidity != first.uidvalidity
    assert (second.new, second.duplicates, second.moved) == (1, 4, 5)
    assert counts(engine) == (5, 9)                # 5 messages, seen at 9 locations
    assert folder_contents(server)[account_folder] == []
    third = poll_mailbox(engine, config, account, account_folder)
    assert (third.new, third.duplicates, third.rescanned) == (0, 0, False)


def test_oversized_messages_are_kept_unparsed_without_fetching_all(setup, make_config):
    server, account, _config, engine = setup
    from dataclasses import replace
    from daemon.config import LimitsConfig
    config = replace(_config, limits=LimitsConfig(max_message_bytes=2048))
    big = PLAIN[0].rstrip(b"\r\n") + b"\r\n" + b"x" * 5000 + b"\r\n"
    append(server, "INBOX", [big, PLAIN[1]])
    result = poll_mailbox(engine, config, account, "INBOX")
    assert result.dispositions == (("other", 1), ("unparsed", 1))
    with session_scope(engine) as s:
        sizes = dict(s.execute(select(Message.kind, Message.size)).all())
    assert sizes == {"oversized": 2049, "not-bounce": len(PLAIN[1])}
    assert folder_contents(server)["bouncewatch/unparsed"] == [big]


def test_failures_are_recorded_and_raised(setup, make_account):
    server, account, config, engine = setup
    down = make_account(server, port=free_port(), timeout=2.0)
    for attempt in (1, 2):
        with pytest.raises(ImapUnavailable):
            poll_mailbox(engine, config, down, "INBOX")
        state = mailbox_state(engine, "pymap/INBOX")
        assert state.consecutive_failures == attempt and "connect to" in state.last_error
    poll_mailbox(engine, config, account, "INBOX")
    assert mailbox_state(engine, "pymap/INBOX").consecutive_failures == 0


def test_wrong_password_is_recorded_without_the_password(setup, monkeypatch):
    server, account, config, engine = setup
    monkeypatch.setenv(account.password_env, "Wr0ng-Secret-xyz")
    with pytest.raises(ImapAuthError):
        poll_mailbox(engine, config, account, "INBOX")
    state = mailbox_state(engine, "pymap/INBOX")
    assert "login refused" in state.last_error and "Wr0ng-Secret-xyz" not in state.last_error


def test_progress_bar_only_for_large_backlogs_and_holds_back_message_lines():
    import io
    import logging

    from daemon.poll_cmd import PROGRESS_MIN, ProgressBar

    out = io.StringIO()
    small = ProgressBar("a/INBOX", out, enabled=True)
    small(1, PROGRESS_MIN - 1)
    small.close()
    assert out.getvalue() == ""
    bar = ProgressBar("a/INBOX", out, enabled=True)
    before = logging.getLogger("daemon.poller").level
    for done in range(1, PROGRESS_MIN + 1):
        bar(done, PROGRESS_MIN)
        assert logging.getLogger("daemon.poller").level == logging.WARNING
    bar.close()
    assert logging.getLogger("daemon.poller").level == before
    assert out.getvalue().startswith("\ra/INBOX: [") and out.getvalue().endswith(
        f"] {PROGRESS_MIN}/{PROGRESS_MIN}\n")
    off = ProgressBar("a/INBOX", io.StringIO(), enabled=False)
    off(1, 10 * PROGRESS_MIN)
    assert off.stream.getvalue() == ""
