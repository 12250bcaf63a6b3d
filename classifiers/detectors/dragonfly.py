"""DragonFly Mail Agent (dma): "This is the DragonFly Mail Agent v0.13 at host.".

One recipient per report::

    There was an error delivering your mail to <user@example.org>.

    mx.example.org [192.0.2.25] did not like our RCPT TO:
    550 5.1.1 <user@example.org>: Recipient address rejected: User unknown

    Message headers follow.        (or "Original message follows.")

Local failures (DNS, queue expiry) put their own sentence where the server's reply would be.
"""
from __future__ import annotations

import re

from ..address import normalise
from ..lazyre import LazyPattern
from ..message import Message
from ..model import Kind
from ..smtp import COMMANDS
from .base import Detection
from .smtptext import claim, finding

NAME = "dragonfly"

_MARKER = "This is the DragonFly Mail Agent"
_RECIPIENT = LazyPattern(r"There was an error delivering your mail to <([^<>\s]{1,512})>\.?")
_ENDS = ("\nMessage headers follow.", "\nOriginal message follows.")
_DID_NOT_LIKE = LazyPattern(r"^([A-Za-z0-9][A-Za-z0-9.-]{0,253}) \[[0-9A-Fa-f:.]{2,45}\] "
                            r"did not like our (final DATA|[A-Z][A-Za-z ]{1,12}):[ \t]*$",
                            re.MULTILINE)


def detect(msg: Message) -> Detection | None:
    text = msg.text
    if _MARKER not in text:
        return None
    match = _RECIPIENT.search(text)
    if not match or not normalise(match.group(1)):
        return None
    rest = text[match.end():]
    rest = rest[:min((rest.find(end) for end in _ENDS if end in rest), default=len(rest))]
    said = _DID_NOT_LIKE.search(rest)
    command = remote = ""
    if said:
        remote = said.group(1).lower()
        verb = said.group(2).lower().replace("final ", "")
        command = COMMANDS.get(verb, "")
        rest = rest[said.end():]
    return claim(Kind.BOUNCE, (
        finding(match.group(1), " ".join(rest.split()), command=command, remote_mta=remote),))
