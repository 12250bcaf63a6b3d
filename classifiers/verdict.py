"""Hard or not: one small function of the reason and the codes, separate from detection.

Only a dead address is hard: userunknown, hostunknown, hasmoved (unless the server said the
failure was temporary), and notaccept when a 5xx says so. Everything about spam, reputation,
policy, authentication, relaying or content is the sender's problem; full mailboxes, size
limits, timeouts, rate limits and every 4xx are transient. None of those is ever hard.
"""
from __future__ import annotations

from .model import DEAD_REASONS, Reason

#: Dead reasons that need a permanent (5xx / 5.x.x) code to be believed.
NEEDS_5XX: frozenset[Reason] = frozenset({Reason.NOTACCEPT})


def is_hard(reason: Reason, status: str = "", reply_code: str = "") -> bool:
    """True only when the address is permanently dead (see the module docstring)."""
    if reason not in DEAD_REASONS:
        return False
    status = status.strip().lstrip("#")
    reply_code = reply_code.strip()
    if reply_code.startswith("4") or status.startswith("4"):
        return False  # the server said: try again
    if reason in NEEDS_5XX:
        return reply_code.startswith("5") or status.startswith("5")
    return True
