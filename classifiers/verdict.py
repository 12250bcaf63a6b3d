"""Hard or not: one small function of the reason and the codes, separate from detection."""
from __future__ import annotations

from .model import DEAD_REASONS, Reason


def is_hard(reason: Reason, status: str = "", reply_code: str = "") -> bool:
    """True only when the address is permanently dead.

    userunknown, hostunknown and hasmoved are dead unless the server said it was temporary
    (a 4xx reply or 4.x.x status); notaccept only with a 5xx reply or 5.x.x status.
    """
    if reason not in DEAD_REASONS:
        return False
    temporary = reply_code.startswith("4") or status.startswith("4.")
    if temporary:
        return False
    if reason is Reason.NOTACCEPT:
        return reply_code.startswith("5") or status.startswith("5.")
    return True
