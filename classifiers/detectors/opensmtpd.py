"""OpenSMTPD: "Delivery status notification: error|failed|delayed" from its MAILER-DAEMON.

The prose (bounce.c) is indented four spaces except the recipient lines, which start at
the margin, one per recipient, with the server's reply or OpenSMTPD's own words::

        This is the MAILER-DAEMON, please DO NOT REPLY to this email.
        An error has occurred while attempting to deliver a message for
        the following list of recipients:

    user@example.org: 550 5.1.1 <user@example.org>... User Unknown

        Below is a copy of the original message:

Newer versions add a DSN whose Status (often 5.0.0) is refined by the reply.
"""
from __future__ import annotations

from ..address import normalise
from ..lazyre import LazyPattern
from ..message import Message
from ..model import Kind
from .base import Detection, Finding
from .smtptext import claim, dsn_statuses, finding

NAME = "opensmtpd"

_MARKER = "This is the MAILER-DAEMON, please DO NOT REPLY to this e"
_COPY = "Below is a copy of the original "
_LINE = LazyPattern(r"^([^\s:<>@]{1,256}@[A-Za-z0-9.-]{1,253}):[ \t]{0,4}(.*)$")
#: The intro sentence -> what kind of notification it is.
_KINDS = (("A message is delayed", Kind.DELAY), ("successfully delivered", Kind.DELIVERED))
_ACTIONS = {Kind.DELAY: "delayed", Kind.DELIVERED: "delivered", Kind.BOUNCE: "failed"}


def detect(msg: Message) -> Detection | None:
    text = msg.text
    if _MARKER not in text:
        return None
    text = text.split(_COPY, 1)[0]
    kind = next((k for phrase, k in _KINDS if phrase in text), Kind.BOUNCE)
    statuses = dsn_statuses(msg)
    findings: dict[str, Finding] = {}
    for line in text.split("\n"):
        match = _LINE.match(line)
        address = normalise(match.group(1)) if match else ""
        if address and address.lower() not in findings:
            words = match.group(2).strip()  # type: ignore[union-attr]
            findings[address.lower()] = finding(address, words, action=_ACTIONS[kind],
                                                status=statuses.get(address.lower(), ""))
    return claim(kind, tuple(findings.values()))
