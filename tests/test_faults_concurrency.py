"""Two daemons started by mistake against the same database and mailbox: the mailbox lock
(daemon/mailboxlock.py) lets one poll while the other waits its turn with a clear message;
no message is fetched, recorded or moved by both, and nothing is counted twice.
"""
from __future__ import annotations

import json
import time

import pytest

import faultmail
from daemon.db import make_engine, upgrade
from daemon.mailboxlock import MailboxBusy, mailbox_lock
from faultrun import (FOLDER, fill, server_folders, snapshot, start_bouncewatch, wait_until,
                      write_config)

pytestmark = pytest.mark.imap


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def lock_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bw.sqlite3'}"
    return request.getfixturevalue("postgres_url")


def test_the_mailbox_lock_is_exclusive_across_engines_and_released(lock_url):
    first, second = make_engine(lock_url), make_engine(lock_url)
    try:
        with mailbox_lock(first, "acct/INBOX"):
            with pytest.raises(MailboxBusy, match="acct/INBOX is being polled by"):
                with mailbox_lock(second, "acct/INBOX"):
                    pass
            with mailbox_lock(second, "acct/Other"):     # another mailbox is free
                pass
        with mailbox_lock(second, "acct/INBOX"):         # released
            pass
    finally:
        first.dispose()
        second.dispose()


def _events(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_two_poll_once_at_the_same_time_one_polls_the_other_says_busy(imap_server, tmp_path,
                                                                      database_url):
    server = imap_server
    mail = faultmail.mailbox(200, seed=11)
    fill(server, mail)
    upgrade(database_url)
    config = write_config(tmp_path, server, url=database_url)
    procs = [start_bouncewatch(config, "poll", "--once", "--no-upgrade",
                               password=server.password) for _ in range(2)]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    codes = sorted(code for code, _out, _err in results)
    assert codes == [0, 1], results
    busy = next(out for code, out, _err in results if code == 1)
    assert "busy: faults/INBOX is being polled by" in busy, busy
    recorded = [e["uid"] for _c, _o, err in results for e in _events(err)
                if e["event"] == "message recorded"]
    assert sorted(recorded) == sorted(set(recorded)) and len(recorded) == len(mail)
    result = snapshot(database_url)
    assert result["locations"] == len(mail) and result["unmoved"] == 0
    assert server_folders(server) == result["folders"]


def test_two_services_on_one_mailbox_never_process_a_message_twice(imap_server, tmp_path,
                                                                   database_url):
    server = imap_server
    upgrade(database_url)
    config = write_config(tmp_path, server, url=database_url, poll_interval=1, batch_size=10)
    procs = [start_bouncewatch(config, "run", "--no-upgrade", password=server.password)
             for _ in range(2)]
    mail = faultmail.mailbox(150, seed=12)
    try:
        for start in range(0, len(mail), 30):           # mail keeps arriving meanwhile
            fill(server, mail[start:start + 30])
            time.sleep(0.5)
        wait_until(lambda: (s := snapshot(database_url))["locations"] == len(mail)
                   and s["unmoved"] == 0, timeout=120, what="both services to settle")
    finally:
        for p in procs:
            p.terminate()
        outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    events = [_events(err) for _out, err in outputs]
    recorded = [e["uid"] for ev in events for e in ev if e["event"] == "message recorded"]
    assert sorted(recorded) == sorted(set(recorded)), "a message was processed by both"
    assert len(recorded) == len(mail)
    busy = [e for ev in events for e in ev if e["event"] == "poll failed"]
    assert all("is being polled by" in e["error"] and e["level"] == "warning" for e in busy), busy
    result = snapshot(database_url)
    assert server_folders(server) == result["folders"]
    assert not any(folder == FOLDER for folder, _raw in server_folders(server))
    print(f"\n[faults/concurrency {server.kind}] two services, {len(mail)} messages, each "
          f"recorded once; the second found the mailbox busy {len(busy)} times")
