"""The format sisimai calls X1 (a Mail2000-style gateway): "Returned Mail: <cause>".

    ---The following addresses had delivery errors---

    user@example.co.jp [User unknown]
"""
from __future__ import annotations

import re

from ..lazyre import LazyPattern
from ..message import Message
from ..model import Kind
from .base import Detection
from .smtptext import claim, finding

NAME = "x1"

_MARKER = "---The following addresses had delivery errors---"
_LINE = LazyPattern(r"^([^\s<>\[\]]{1,256}@[^\s<>\[\]]{1,256})[ \t]{1,8}\[([^\]\n]{1,500})\]",
                    re.MULTILINE)


def detect(msg: Message) -> Detection | None:
    text = msg.text
    if _MARKER not in text:
        return None
    listed = text.split(_MARKER, 1)[1]
    first = {m.group(1).lower(): m for m in reversed(list(_LINE.finditer(listed)))}
    return claim(Kind.BOUNCE, tuple(
        finding(m.group(1), m.group(2)) for m in reversed(first.values())))
