"""Ipswitch IMail Server: "Undeliverable Mail" from "Postmaster", X-Mailer ``<SMTP32 v...>``.

One line per recipient, the cause first and the address after a colon or "to"::

    Unknown user: user@example.com
    User mailbox exceeds allowed size: user@example.com
    undeliverable to user@example.com
    Body of message generated response:
    550-REJECTED - Blacklisted URL in message ...

then "Original message follows.". IMail's cause words state the reason (``CAUSES``); after
"undeliverable to", the remote reply that follows "generated response:" is the diagnostic.
"""
from __future__ import annotations

import re

from ..lazyre import LazyPattern
from ..message import Message
from ..model import Kind, Reason
from .base import Detection
from .smtptext import Findings, claim, finding, join_reply

NAME = "imailserver"

_LINE = LazyPattern(r"^(Unknown user|User mailbox exceeds allowed size|undeliverable to|"
                    r"Unknown host|Invalid final delivery userid|Delivery failed \d{1,4} attempts|"
                    r"Requested action not taken: virus detected)[: ]{1,3}"
                    r"<?([^\s<>]{1,256}@[^\s<>]{1,256})>?", re.IGNORECASE)
#: IMail's own cause words -> the reason they state ("undeliverable to" states none).
CAUSES: dict[str, Reason] = {
    "unknown user": Reason.USERUNKNOWN,
    "invalid final delivery userid": Reason.USERUNKNOWN,
    "user mailbox exceeds allowed size": Reason.MAILBOXFULL,
    "unknown host": Reason.HOSTUNKNOWN,
    "requested action not taken: virus detected": Reason.VIRUSDETECTED,
}
_RESPONSE = "Body of message generated response:"
_ORIGINAL = "\nOriginal message follows."


def detect(msg: Message) -> Detection | None:
    if "SMTP32" not in msg.headers.get("x-mailer") and not (
            msg.subject.strip().startswith("Undeliverable Mail") and _ORIGINAL in msg.text):
        return None
    text = msg.text.split(_ORIGINAL, 1)[0]
    response = _response(text)
    found = Findings()
    for line in text.split("\n"):
        match = _LINE.match(line.strip())
        if match and found.wants(match.group(2)):
            cause = match.group(1)
            diagnostic = response if response and cause.lower() == "undeliverable to" else cause
            reason = CAUSES.get(cause.lower())
            if cause.lower().startswith("delivery failed"):
                reason = Reason.EXPIRED
            found.add(finding(match.group(2), diagnostic, reason=reason))
    return claim(Kind.BOUNCE, found.all())


def _response(text: str) -> str:
    at = text.find(_RESPONSE)
    if at < 0:
        return ""
    lines = text[at + len(_RESPONSE):].strip().split("\n\n", 1)[0].split("\n")
    return join_reply([line.strip() for line in lines if line.strip()])
