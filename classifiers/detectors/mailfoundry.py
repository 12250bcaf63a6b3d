"""MailFoundry: "Message delivery has failed".

    Unable to deliver message to: <user@example.org>
    Delivery failed for the following reason:
    mx.example.org[192.0.2.222] responded with failure: 552 mailbox is over quota (#5.1.1)

    This has been a permanent failure. No further delivery attempts will be made.
"""
from __future__ import annotations

import re

from ..lazyre import LazyPattern
from ..message import Message
from ..model import Kind
from .base import Detection, Finding
from .smtptext import claim, finding, unique

NAME = "mailfoundry"

_RECIPIENT = LazyPattern(r"^Unable to deliver message to: <([^<>\s]{1,256}@[^<>\s]{1,256})>",
                         re.MULTILINE)
_REASON = "Delivery failed for the following reason:"
_RESPONDED = LazyPattern(r"^([A-Za-z0-9][A-Za-z0-9.-]{0,253})\[[0-9A-Fa-f:.]{2,45}\] responded with "
                         r"failure:[ \t]{0,4}")
_END = "This has been a "


def detect(msg: Message) -> Detection | None:
    text = msg.text
    if _REASON not in text:
        return None
    findings: list[Finding] = []
    seen: set[str] = set()
    for match in _RECIPIENT.finditer(text):
        if match.group(1).lower() in seen:
            continue
        seen.add(match.group(1).lower())
        rest = text[match.end():match.end() + 4000]
        rest = rest.split(_REASON, 1)[1] if _REASON in rest[:200] else ""
        cause = rest.split(_END, 1)[0].split("\n\n", 1)[0].strip()
        host = _RESPONDED.match(cause)
        findings.append(finding(match.group(1), cause[host.end():] if host else cause,
                                remote_mta=host.group(1).lower() if host else ""))
    return claim(Kind.BOUNCE, unique(findings))
