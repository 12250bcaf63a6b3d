"""Outlook.com / Hotmail (the consumer service before Office 365): "Delivery Status
Notification (Failure)" from ``postmaster@mail.hotmail.com``, stamped ``X-Message-Delivery``
and ``X-Message-Info``, with an RFC 3464 part.

Hotmail's own refusals carry its own words, which name the reason:
"The mail could not be delivered to the recipient because the domain is not reachable" and
"Requested action not taken: mailbox unavailable" (its relay's verdict on the recipient).
"""
from __future__ import annotations

from ..message import Message
from ..model import Reason
from .base import Detection
from .rfc3464 import findings_of, kind_of

NAME = "outlook"

_STAMPS = ("x-message-delivery", "x-message-info")
# Hotmail stamps every message it receives, so the sender must be its postmaster too.
_SENDER = "postmaster@"
_SERVICES = ("hotmail", "outlook", "live.com", "msn.com")
#: Hotmail's own words -> the reason (lowercase, whitespace folded).
_OWN_WORDS: tuple[tuple[str, Reason], ...] = (
    ("the mail could not be delivered to the recipient because the domain is not reachable",
     Reason.HOSTUNKNOWN),
    ("requested action not taken: mailbox unavailable", Reason.USERUNKNOWN),
)


def detect(msg: Message) -> Detection | None:
    if not msg.dsn_recipients or not all(stamp in msg.headers for stamp in _STAMPS):
        return None
    sender = msg.sender.lower()
    if _SENDER not in sender or not any(service in sender for service in _SERVICES):
        return None
    findings = []
    for found in findings_of(msg.dsn_recipients, msg.text):
        words = " ".join(found.diagnostic.lower().split())
        reason = next((r for phrase, r in _OWN_WORDS if phrase in words), None)
        findings.append(found.replace(reason=reason) if reason else found)
    return Detection(kind=kind_of(f.action for f in findings), findings=tuple(findings))
