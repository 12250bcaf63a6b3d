"""Kill -9 of the real daemon process at random points while it polls a mailbox of a few
hundred bounces, restarted each time: at the end every message is recorded exactly once,
every outcome once, the suppressions and counts are exactly those of an uninterrupted run,
and the server's folders agree with the database.

Faults come from two sides: ``BOUNCEWATCH_FAULT`` (daemon/faults.py) kills the process at
a chosen point (after a fetch, after classifying but before the commit, between the commit
and the move, between the move and marking it moved), and a timer in the test kills
``poll --once`` or ``run`` from outside at a random moment. Figures print with ``pytest -s``.
"""
from __future__ import annotations

import hashlib
import random
import signal
import subprocess
import time
from collections import Counter

import pytest

import faultmail
from daemon.faults import ENV as FAULT_ENV
from daemon.faults import POINTS
from faultrun import (FOLDER, bouncewatch, fill, server_folders, snapshot, start_bouncewatch,
                      write_config)
from imapservers import empty_account

pytestmark = pytest.mark.imap

MESSAGES = 300
ROUNDS = 12
SEED = 20261123


def summary_row(stdout: str) -> dict[str, str]:
    header, row = stdout.strip().splitlines()[:2]
    return dict(zip(header.split(), row.split(maxsplit=len(header.split()) - 1)))


def run_killed_by_timer(config, password: str, command: list[str], delay: float) -> bool:
    """Start the daemon, SIGKILL it after ``delay`` seconds; True if it was still running."""
    proc = start_bouncewatch(config, *command, password=password)
    try:
        proc.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        return True
    finally:
        proc.communicate()


def test_kill_9_at_random_points_loses_nothing_and_counts_nothing_twice(imap_server, tmp_path,
                                                                        new_database_url):
    server = imap_server
    mail = faultmail.mailbox(MESSAGES)
    rnd = random.Random(SEED)

    # The reference: one uninterrupted run over the same mailbox.
    (tmp_path / "ref").mkdir()
    ref_url, url = new_database_url(), new_database_url()
    ref_config = write_config(tmp_path / "ref", server, url=ref_url)
    fill(server, mail)
    done = bouncewatch(ref_config, "poll", "--once", password=server.password)
    assert done.returncode == 0, done.stderr[-2000:]
    reference = snapshot(ref_url)
    reference_folders = server_folders(server)
    assert reference["unmoved"] == 0 and reference["locations"] == MESSAGES

    # The same mailbox again, polled by a daemon that keeps being killed.
    empty_account(server)
    fill(server, mail)
    config = write_config(tmp_path, server, url=url)
    injected: Counter[str] = Counter()
    for round_ in range(ROUNDS):
        how = POINTS[round_ % len(POINTS)] if round_ % 3 else "timer"
        if how == "timer":
            command = ["run"] if round_ % 2 else ["poll", "--once"]
            if run_killed_by_timer(config, server.password, command, rnd.uniform(1.0, 5.0)):
                injected[f"timer:{command[0]}"] += 1
            continue
        # Early enough in the pass that most rounds still find work: 300 messages go in a
        # handful of passes, and a pass that empties the mailbox reaches no fault point.
        nth = rnd.randint(1, 3) if how in ("fetched", "moved") else rnd.randint(2, 20)
        done = bouncewatch(config, "poll", "--once", password=server.password,
                           env={FAULT_ENV: f"{how}:{nth}"})
        assert done.returncode in (0, -signal.SIGKILL), done.stderr[-2000:]
        if done.returncode == -signal.SIGKILL:
            injected[how] += 1
    faults = sum(injected.values())
    progress = snapshot(url)

    # The restart after the last kill finishes the work; one more pass finds nothing to do.
    done = bouncewatch(config, "poll", "--once", password=server.password)
    assert done.returncode == 0, done.stderr[-2000:]
    again = bouncewatch(config, "poll", "--once", password=server.password)
    row = summary_row(again.stdout)
    assert again.returncode == 0 and (row["new"], row["moved"]) == ("0", "0"), again.stdout

    result = snapshot(url)
    assert result["messages"] == reference["messages"]          # each message once, same verdict
    assert result["addresses"] == reference["addresses"]        # same suppressions and counts
    assert result["locations"] == MESSAGES and result["unmoved"] == 0
    assert result["per_message"] == Counter(m for m in map(_sha, mail))
    folders = server_folders(server)
    assert folders == result["folders"], "the server's folders disagree with the database"
    assert folders == reference_folders
    assert not any(folder == FOLDER for folder, _raw in folders)
    # The kills were real and of several kinds (a quick machine empties the mailbox before the
    # last rounds, which then finish cleanly: those are checked by the assertions above).
    assert faults >= ROUNDS // 3 and len(injected) >= 3, injected
    print(f"\n[faults/kill {server.kind}] faults injected: {faults} {dict(sorted(injected.items()))}; "
          f"messages checked: {len(mail)} ({len(result['messages'])} distinct, "
          f"{sum(len(v[2]) for v in result['messages'].values())} outcomes, "
          f"{len(result['addresses'])} addresses); recorded before the final restart: "
          f"{len(progress['messages'])}")


def _sha(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()
