"""McAfee Email Gateway / Email and Web Security, when the report has no DSN part.

(With one, the generic RFC 3464 decoder reads it.) The prose, often attached as
"deliveryproblems.txt"::

        --- The following addresses had delivery problems ---

    <user@example.com>   (user@example.com... No such user)
"""
from __future__ import annotations

import re

from ..lazyre import LazyPattern
from ..message import Message
from ..model import Kind
from .base import Detection
from .smtptext import Findings, claim, finding

NAME = "mcafee"

_MARKER = "--- The following addresses had delivery problems ---"
_LINE = LazyPattern(r"^<([^<>\s]{1,256}@[^<>\s]{1,256})>[ \t]{1,20}\(([^\n]{1,2000})\)[ \t]*$",
                    re.MULTILINE)


def detect(msg: Message) -> Detection | None:
    if msg.is_dsn:
        return None
    text = "\n".join(p.text for p in msg.parts if _MARKER in p.text)
    found = Findings()
    for match in _LINE.finditer(text):
        if found.wants(match.group(1)):
            found.add(finding(match.group(1), match.group(2)))
    return claim(Kind.BOUNCE, found.all())
