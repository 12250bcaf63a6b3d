"""The format sisimai calls X3: "Delivery status notification" from "Mail Delivery System".

    This is an automatically generated Delivery Status Notification.
    Delivery to the following recipients failed permanently:
       * user@example.com
    ...
                                 Technical details:
    SMTP:RCPT host 192.0.2.8: 553 5.3.0 <user@example.com>... No such user here

("Delevery" misspelt in some versions.)
"""
from __future__ import annotations

import re

from ..address import find_addresses
from ..lazyre import LazyPattern
from ..message import Message
from ..model import Kind
from ..smtp import COMMANDS
from .base import Detection
from .smtptext import claim, finding

NAME = "x3"

_MARKER = "This is an automatically generated Delivery Status Notification."
_FAILED = LazyPattern(r"Del[ie]very to the following recipients failed permanently:")
_DETAILS = "Technical details:"
_SMTP = LazyPattern(r"^SMTP:([A-Z]{4}) host [0-9A-Za-z.:-]{1,253}: (.*)$", re.MULTILINE)


def detect(msg: Message) -> Detection | None:
    text = msg.text
    failed = _FAILED.search(text)
    if _MARKER not in text or not failed:
        return None
    listed, _, details = text[failed.end():].partition(_DETAILS)
    lines = dict.fromkeys(line for line in listed.split("\n") if line.strip().startswith("*"))
    recipients = dict.fromkeys(a for line in lines for a in find_addresses(line))
    smtp = _SMTP.search(details)
    diagnostic = smtp.group(2).strip() if smtp else ""
    command = COMMANDS.get(smtp.group(1).lower(), "") if smtp else ""
    return claim(Kind.BOUNCE, tuple(
        finding(a, diagnostic, command=command) for a in recipients))
