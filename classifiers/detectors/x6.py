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
from ..lazyre import LazyPattern
from ..message import Message
from ..smtp import COMMANDS
from .base import Detection
from .rfc3464 import kind_of
from .smtptext import claim, finding, unique

NAME = "x6"

_MARKER = "We had trouble delivering your message. Full details follow:"
_ERRORS = LazyPattern(r"^The following recipients returned (permanent|temporary) errors: ",
                      re.MULTILINE)
_REASON = ". Reason: "
_REFUSED = LazyPattern(r"refused to accept your message \(([A-Z ]{4,9})\), with the following error "
                       r"message: \[([^\]\n]{1,1000})\]")


def detect(msg: Message) -> Detection | None:
    text = msg.text
    if _MARKER not in text:
        return None
    findings = []
    for match in _ERRORS.finditer(text):
        end = text.find("\n", match.end())
        line = text[match.end():end if end >= 0 else len(text)]
        who, _, reason = line.partition(_REASON)
        refused = _REFUSED.search(reason)
        diagnostic = refused.group(2) if refused else reason
        command = COMMANDS.get(refused.group(1).strip().lower(), "") if refused else ""
        action = "failed" if match.group(1) == "permanent" else "delayed"
        findings += [finding(a, diagnostic, command=command, action=action)
                     for a in find_addresses(who)]
    return claim(kind_of(f.action for f in findings), unique(findings))
