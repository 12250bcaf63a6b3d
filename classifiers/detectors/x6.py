"""The format sisimai calls X6: "There was an error sending your mail".

    We had trouble delivering your message. Full details follow:
    ...
    The following recipients returned permanent errors: user@example.org. Reason: SMTP
    Server <192.0.2.223> refused to accept your message (DATA), with the following error
    message: [554 5.4.6 Hop count exceeded - possible mail loop]
"""
from __future__ import annotations

import re

from ..address import find_addresses
from ..message import Message
from ..model import Kind
from ..smtp import COMMANDS
from .base import Detection
from .smtptext import finding

NAME = "x6"

_MARKER = "We had trouble delivering your message. Full details follow:"
_ERRORS = re.compile(r"The following recipients returned (permanent|temporary) errors: "
                     r"([^\n]{1,2000}?)\. Reason: ([^\n]{0,2000})")
_REFUSED = re.compile(r"refused to accept your message \(([A-Z ]{4,9})\), with the following error "
                      r"message: \[([^\]\n]{1,1000})\]")


def detect(msg: Message) -> Detection | None:
    text = msg.text
    if _MARKER not in text:
        return None
    findings = []
    for match in _ERRORS.finditer(text):
        reason = match.group(3)
        refused = _REFUSED.search(reason)
        diagnostic = refused.group(2) if refused else reason
        command = COMMANDS.get(refused.group(1).strip().lower(), "") if refused else ""
        action = "failed" if match.group(1) == "permanent" else "delayed"
        findings += [finding(a, diagnostic, command=command, action=action)
                     for a in find_addresses(match.group(2))]
    kind = Kind.DELAY if findings and all(f.action == "delayed" for f in findings) else Kind.BOUNCE
    return Detection(kind=kind, findings=tuple(findings))
