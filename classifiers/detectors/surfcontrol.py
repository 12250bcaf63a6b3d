"""SurfControl E-mail Filter (Websense), when the report has no DSN part.

(With one, the generic RFC 3464 decoder reads it.)::

    Your message could not be sent.
    A transcript of the attempts to send the message follows.
    The number of attempts made: 1
    Addressed To: user@example.com

    Thu 29 Apr 2010 23:34:45 +0900
    Failed to send to identified host,
    user@example.com: [192.0.2.5], 550 user@example.com... No such user
    --- Message non-deliverable.
"""
from __future__ import annotations

import re

from ..lazyre import LazyPattern
from ..message import Message
from ..model import Kind
from .base import Detection
from .smtptext import Findings, claim, finding

NAME = "surfcontrol"

_MARKER = "A transcript of the attempts to send the message follows."
_ADDRESSED = LazyPattern(r"^Addressed To: ?([^\s]{1,512}@[^\s]{1,512})", re.MULTILINE)
_FAILED = LazyPattern(r"^([^\s:]{1,256}@[^\s:]{1,256}): \[[0-9A-Fa-f:.]{2,45}\], ([^\n]{1,2000})$",
                      re.MULTILINE)


def detect(msg: Message) -> Detection | None:
    text = msg.text
    if msg.is_dsn or _MARKER not in text:
        return None
    found = Findings()
    for match in _FAILED.finditer(text):
        if found.wants(match.group(1)):
            found.add(finding(match.group(1), match.group(2)))
    for match in _ADDRESSED.finditer(text):
        if found.wants(match.group(1)):
            found.add(finding(match.group(1), ""))
    return claim(Kind.BOUNCE, found.all())
