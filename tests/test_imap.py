"""daemon.imap.Inbox against real servers: fetch, cursor quirks, moves, TLS, errors, IDLE."""
from __future__ import annotations

import threading
import time

import pytest

from daemon.imap import (ImapAuthError, ImapUnavailable, Inbox, chunks, security_warnings,
                         uids_above)
from imapservers import append, folder_contents, free_port

pytestmark = pytest.mark.imap

MESSAGES = [f"From: a@example.org\r\nSubject: m{i}\r\n\r\nbody {i}\r\n".encode() for i in range(5)]


def test_uids_above_filters_the_star_quirk():
    assert uids_above([7], 9) == []                 # "UID 10:*" still matches the last message
    assert uids_above([12, 10, 11, 9, 12], 9) == [10, 11, 12]


def test_chunks():
    assert list(chunks([1, 2, 3, 4, 5], 2)) == [[1, 2], [3, 4], [5]]
    assert list(chunks([], 3)) == []


def test_security_warnings(make_account, pymap):
    assert security_warnings(make_account(pymap)) != []          # plain
    assert security_warnings(make_account(pymap, security="tls")) == []
    assert "verification is off" in security_warnings(
        make_account(pymap, security="tls", verify_certificate=False))[0]


def test_select_search_and_fetch(imap_server, make_account):
    append(imap_server, "INBOX", MESSAGES)
    with Inbox.open(make_account(imap_server)) as inbox:
        state = inbox.select("INBOX")
        assert state.uidvalidity > 0 and state.exists == len(MESSAGES)
        uids = inbox.uids_after(0)
        assert len(uids) == len(MESSAGES) and uids == sorted(uids)
        assert inbox.uids_after(uids[-1]) == []
        assert inbox.uids_after(uids[1]) == uids[2:]
        fetched = inbox.fetch(uids)
        assert [m.raw for m in fetched] == MESSAGES
        assert [m.uid for m in fetched] == uids
        assert all(m.size == len(m.raw) for m in fetched)
        assert inbox.sizes(uids[:2]) == {u: len(MESSAGES[i]) for i, u in enumerate(uids[:2])}
        head = inbox.fetch(uids[:1], max_bytes=10)
        assert head[0].raw == MESSAGES[0][:10] and head[0].size == len(MESSAGES[0])
    with imap_server.client() as c:                 # BODY.PEEK leaves messages unseen
        c.select_folder("INBOX", readonly=True)
        assert all(b"\\Seen" not in f for f in c.get_flags(uids).values())


@pytest.mark.parametrize("without", [(), ("MOVE",), ("MOVE", "UIDPLUS")])
def test_move_with_and_without_move_capability(imap_server, make_account, without):
    append(imap_server, "INBOX", MESSAGES)
    with Inbox.open(make_account(imap_server)) as inbox:
        inbox.capabilities = inbox.capabilities - set(without)
        inbox.select("INBOX")
        uids = inbox.uids_after(0)
        inbox.move(uids[:2], "bouncewatch/processed")
        inbox.move(uids[4:], "bouncewatch/unparsed")
        assert inbox.uids_after(0) == uids[2:4]
    contents = folder_contents(imap_server)
    assert contents["INBOX"] == MESSAGES[2:4]
    assert contents["bouncewatch/processed"] == MESSAGES[:2]
    assert contents["bouncewatch/unparsed"] == MESSAGES[4:]


def test_ensure_folder_is_idempotent(imap_server, make_account):
    with Inbox.open(make_account(imap_server)) as inbox:
        inbox.ensure_folder("a/b")
        inbox.ensure_folder("a/b")
    with Inbox.open(make_account(imap_server)) as inbox:
        inbox.ensure_folder("a/b")
        assert inbox.select("a/b").exists == 0


def test_wrong_password_is_an_auth_error_without_the_password(imap_server, make_account):
    account = make_account(imap_server)
    with pytest.raises(ImapAuthError) as info:
        Inbox.open(account, password="not-the-Password-42")
    assert "login refused" in str(info.value) and imap_server.username in str(info.value)
    assert "not-the-Password-42" not in repr(info.value) and imap_server.password not in str(info.value)


def test_unreachable_server_is_unavailable(make_account, pymap):
    account = make_account(pymap, port=free_port(), timeout=2.0)
    with pytest.raises(ImapUnavailable, match="connect to"):
        Inbox.open(account)


def test_tls_to_a_plain_server_fails_cleanly(make_account, pymap):
    with pytest.raises(ImapUnavailable):
        Inbox.open(make_account(pymap, security="tls"))


def test_starttls_verifies_the_certificate(tls_server, make_account):
    with Inbox.open(make_account(tls_server)) as inbox:      # ca_file = the self-signed cert
        assert inbox.select("INBOX").uidvalidity > 0
    with pytest.raises(ImapUnavailable, match="certificate not trusted"):
        Inbox.open(make_account(tls_server, ca_file=""))
    with Inbox.open(make_account(tls_server, ca_file="", verify_certificate=False)) as inbox:
        inbox.noop()


def test_idle_wakes_up_on_new_mail(imap_server, make_account):
    with Inbox.open(make_account(imap_server)) as inbox:
        assert inbox.can_idle
        inbox.select("INBOX")
        timer = threading.Timer(0.5, append, (imap_server, "INBOX", MESSAGES[:1]))
        timer.start()
        started = time.monotonic()
        assert inbox.idle_wait(15) is True
        assert time.monotonic() - started < 10
        timer.join()
        assert len(inbox.uids_after(0)) == 1


def test_idle_returns_when_asked_to_stop(imap_server, make_account):
    with Inbox.open(make_account(imap_server)) as inbox:
        inbox.select("INBOX")
        stop = threading.Event()
        threading.Timer(0.3, stop.set).start()
        started = time.monotonic()
        assert inbox.idle_wait(30, stop.is_set) is False
        assert time.monotonic() - started < 5
        inbox.noop()                                   # the connection is still usable


def test_idle_notices_mail_that_arrived_before_it_started(imap_server, make_account):
    with Inbox.open(make_account(imap_server)) as inbox:
        inbox.select("INBOX")
        append(imap_server, "INBOX", MESSAGES[:1])     # arrives while we are busy elsewhere
        inbox.noop()
        started = time.monotonic()
        assert inbox.idle_wait(20) is True
        assert time.monotonic() - started < 5


@pytest.mark.dovecot
def test_imaps_and_starttls_against_dovecot(dovecot_tls_server, make_account):
    server = dovecot_tls_server
    imaps = make_account(server, security="tls", port=server.imaps_port)
    with Inbox.open(imaps) as inbox:
        assert inbox.select("INBOX").uidvalidity > 0
    with Inbox.open(make_account(server, security="starttls")) as inbox:
        inbox.noop()
    with pytest.raises(ImapUnavailable, match="certificate not trusted"):
        Inbox.open(make_account(server, security="tls", port=server.imaps_port, ca_file=""))


def test_unreadable_ca_file_is_a_config_error(make_account, tls_server, tmp_path):
    from daemon.config import ConfigError
    with pytest.raises(ConfigError, match="ca_file"):
        Inbox.open(make_account(tls_server, ca_file=str(tmp_path / "missing.pem")))
