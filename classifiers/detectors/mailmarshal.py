"""MailMarshal (Trustwave/Marshal): "Undeliverable Mail: <subject>".

    Your message:
       From:    sender@example.com
       Subject: ...
    Could not be delivered because of

    550 5.1.1 User unknown

    The following recipients were affected:
        user@example.org

An "Additional Information" block follows with "Remote-MTA: <host>".
"""
from __future__ import annotations

import re

from ..address import find_addresses
from ..lazyre import LazyPattern
from ..message import Message
from ..model import Kind
from .base import Detection
from .smtptext import claim, finding, unique

NAME = "mailmarshal"

_CAUSE = "Could not be delivered because of"
_AFFECTED = "The following recipients were affected:"
_ADDITIONAL = "\nAdditional Information"
_REMOTE = LazyPattern(r"^Remote-MTA:[ \t]{1,20}<?([^<>\s]{1,253})>?", re.MULTILINE)


def detect(msg: Message) -> Detection | None:
    text = msg.text
    if _CAUSE not in text or _AFFECTED not in text:
        return None
    cause = text.split(_CAUSE, 1)[1].split(_AFFECTED, 1)[0]
    listed = text.split(_AFFECTED, 1)[1].split(_ADDITIONAL, 1)[0]
    remote = _REMOTE.search(text)
    host = remote.group(1).lower() if remote else ""
    return claim(Kind.BOUNCE, unique(
        finding(a, " ".join(cause.split()), remote_mta=host) for a in find_addresses(listed)))
