"""Test-only fault injection: ``BOUNCEWATCH_FAULT=<point>:<n>`` kills this process with
SIGKILL the n-th time it reaches ``point`` (``tests/test_faults_kill.py``). Unset — as it
always is in production — ``point`` does nothing.

The points, all in ``daemon/poller.py``:
``fetched``    a batch is fetched from the server, nothing of it recorded yet;
``classified`` a batch is stored and classified, its transaction not yet committed (reached
               once per message of the batch, so that kill tests can aim within it);
``committed``  a batch is committed, not yet moved on the server (once per message too);
``moved``      a batch is moved on the server, not yet marked moved in the database.
"""
from __future__ import annotations

import os
import signal
from collections import Counter

ENV = "BOUNCEWATCH_FAULT"
POINTS = ("fetched", "classified", "committed", "moved")
_reached: Counter[str] = Counter()


def point(name: str) -> None:
    """Die here (SIGKILL, no cleanup at all) if $BOUNCEWATCH_FAULT asks for it."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    where, _, count = spec.partition(":")
    if where == name:
        _reached[name] += 1
        if _reached[name] >= int(count or 1):
            os.kill(os.getpid(), signal.SIGKILL)
