"""Why a delivery failed, from what the NDR says. (Placeholder: the tables are being written.)"""
from __future__ import annotations

from .model import Reason


def reason_for(diagnostic: str, status: str = "", reply_code: str = "", command: str = "",
               host: str = "") -> Reason:
    """The reason for one recipient's failure: status code first, then phrases, then reply code."""
    if status.startswith("5.1.1") or status.startswith("5.1.10"):
        return Reason.USERUNKNOWN
    if status.startswith(("4.", "5.")) or reply_code[:1] in ("4", "5"):
        return Reason.UNDEFINED
    return Reason.UNDEFINED
