"""Several instances, one PostgreSQL database: three real ``bouncewatch poll --once``
processes started at once, each watching its own mailbox, with the same addresses bouncing
in every mailbox and some NDRs delivered to all three. Nothing may be lost or counted twice:
each address's bounce_count is the sum over the distinct NDRs naming it.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bouncegen import bounce
from daemon import counters
from daemon.db import make_engine, session_scope
from daemon.models import Address, Location, Message, Outcome
from imapservers import append, folder_contents

pytestmark = [pytest.mark.imap, pytest.mark.postgres]

INSTANCES = 3
PER_MAILBOX = 40          # NDRs of each mailbox's own
SHARED = 8                # NDRs delivered to every mailbox (the same bytes)
POOL = [f"user{i}@pool.example" for i in range(6)]   # every address bounces in every mailbox

CONFIG = """\
[database]
url = "{url}"
[[accounts]]
name = "instance{k}"
host = "{host}"
port = {port}
security = "plain"
username = "{user}"
password_env = "BW_INSTANCES_PASSWORD"
folders = ["box{k}"]
processed_folder = "done{k}"
unparsed_folder = "unparsed{k}"
batch_size = 10
[logging]
format = "json"
level = "warning"
"""


def plan() -> dict[int, list[tuple[str, str, str]]]:
    """Per instance: its mailbox's NDRs as (kind, recipient, serial); a serial is one message."""
    shared = [("soft", POOL[j % len(POOL)], f"shared-{j}") for j in range(SHARED)]
    return {k: [("hard" if i % 15 == 0 else "soft", POOL[(i + k) % len(POOL)], f"{k}-{i}")
                for i in range(PER_MAILBOX)] + shared
            for k in range(1, INSTANCES + 1)}


def expected_addresses(mailboxes: dict[int, list[tuple[str, str, str]]]) -> dict[str, tuple]:
    """(state, reason, bounce_count, soft_count) per address, over the distinct messages."""
    distinct = {serial: (kind, rcpt) for rows in mailboxes.values() for kind, rcpt, serial in rows}
    bounces = Counter(rcpt for _kind, rcpt in distinct.values())
    softs = Counter(rcpt for kind, rcpt in distinct.values() if kind == "soft")
    hard = {rcpt for kind, rcpt in distinct.values() if kind == "hard"}
    return {a: ("suppressed" if a in hard else "active", "userunknown" if a in hard else "",
                bounces[a], softs[a]) for a in POOL}


def start(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "daemon.cli", "--config", str(config),
                             "poll", "--once", "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ))


def test_three_instances_at_once_lose_nothing_and_count_nothing_twice(
        imap_server, postgres_url, tmp_path, monkeypatch):
    monkeypatch.setenv("BW_INSTANCES_PASSWORD", imap_server.password)
    mailboxes = plan()
    configs = []
    for k, rows in mailboxes.items():
        append(imap_server, f"box{k}", [bounce(kind, rcpt, serial) for kind, rcpt, serial in rows])
        configs.append(tmp_path / f"instance{k}.toml")
        configs[-1].write_text(CONFIG.format(url=postgres_url, k=k, host=imap_server.host,
                                             port=imap_server.port, user=imap_server.username))

    procs = [start(c) for c in configs]     # all at once, on a database not even migrated yet
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    for code, out, err in results:
        assert code == 0, (out.decode(), err.decode()[-3000:])

    distinct = {serial for rows in mailboxes.values() for _k, _r, serial in rows}
    engine = make_engine(postgres_url)
    try:
        with session_scope(engine) as s:
            assert s.scalar(select(func.count(Message.id))) == len(distinct)
            assert s.scalar(select(func.count(Outcome.id))) == len(distinct)
            assert s.scalar(select(func.count(Location.id))) == sum(map(len, mailboxes.values()))
            got = {a.address: (a.state, a.reason, a.bounce_count, a.soft_count)
                   for a in s.scalars(select(Address))}
            stored, truth = counters.stored(s), counters.truth(s)   # no lost counter update
        assert got == expected_addresses(mailboxes)
        assert stored == truth and stored[("", "messages")] == len(distinct)
    finally:
        engine.dispose()
    contents = folder_contents(imap_server)
    for k, rows in mailboxes.items():
        assert contents[f"box{k}"] == [] and len(contents[f"done{k}"]) == len(rows)

    again = [start(c) for c in configs]     # a second round finds nothing new
    for p in again:
        code, (out, err) = p.wait(timeout=300), p.communicate()
        assert code == 0 and " 0 " in out.decode().splitlines()[1], (out, err)


def test_concurrent_writers_of_one_address_take_turns(postgres_url):
    """Two transactions record an NDR for the same address at once: the second waits for
    the first (row lock) and then counts both; without the lock it would count only its own
    and overwrite the first's count when it commits (a lost update)."""
    from daemon.config import Config
    from daemon.db import in_transaction, upgrade
    from daemon.store import record_message
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    address, config = POOL[0], Config()

    def record(session: Session, serial: str):
        return record_message(session, mailbox=f"box{serial}/INBOX", uidvalidity=1, uid=1,
                              raw=bounce("soft", address, serial), config=config)
    try:
        in_transaction(engine, lambda s: record(s, "1"))           # the address exists
        first = Session(engine)
        record(first, "2")
        first.flush()                                   # written, locks held, not committed
        second = threading.Thread(target=in_transaction, args=(engine, lambda s: record(s, "3")))
        second.start()
        deadline = time.monotonic() + 30
        with engine.connect() as watch:                             # until the second waits
            while not watch.execute(text("SELECT count(*) FROM pg_stat_activity WHERE "
                                         "wait_event_type = 'Lock' AND datname = current_database()")).scalar():
                assert time.monotonic() < deadline and second.is_alive(), "the second never waited"
                time.sleep(0.01)
        first.commit()
        first.close()
        second.join(timeout=30)
        with session_scope(engine) as s:
            row = s.scalar(select(Address).where(Address.address == address))
            assert (row.bounce_count, row.soft_count) == (3, 3)
    finally:
        engine.dispose()
