"""Mimecast's own delivery failure alert ("[Postmaster] Email Delivery Failure").

    An email that you attempted to send to the following address could not be delivered:
    -- kijitora@example.org

    The problem appears to be :
    -- Recipient email address is possibly incorrect

    Additional information follows :
    -- 5.4.1 Recipient address rejected: Access denied. [...]

One alert per failed recipient. Mimecast's relayed DSNs (``*.mimecast.com`` as Remote-MTA)
are RFC 3464 and read by that decoder.
"""
from __future__ import annotations

from ..address import normalise
from ..message import Message
from ..model import Kind
from ..smtp import reply_code_in, status_in
from .base import Detection, Finding

NAME = "mimecast"

_LEAD = "An email that you attempted to send to the following address could not be delivered:"
_PROBLEM = "The problem appears to be :"
_INFO = "Additional information follows :"
_ITEM = "-- "
#: The alert opens with the sentence; further down it would be quoted text.
_OPENING = 2000


def detect(msg: Message) -> Detection | None:
    text = msg.text
    at = text.find(_LEAD, 0, _OPENING)
    if at == -1:
        return None
    body = text[at + len(_LEAD):]
    recipient = normalise(_item(body))
    if not recipient:
        return Detection(kind=Kind.BOUNCE)
    problem = _item(body.partition(_PROBLEM)[2])
    info = _item(body.partition(_INFO)[2])
    diagnostic = f"{info} ({problem})" if info and problem else info or problem
    return Detection(kind=Kind.BOUNCE, findings=(Finding(
        recipient=recipient, diagnostic=diagnostic, status=status_in(info),
        reply_code=reply_code_in(info), action="failed"),))


def _item(text: str) -> str:
    """The "-- value" paragraph at the start of ``text``, lines joined."""
    lines: list[str] = []
    for line in text.lstrip("\n").split("\n"):
        if not line.strip():
            break
        lines.append(line.strip())
    joined = " ".join(lines)
    return joined[len(_ITEM):].strip() if joined.startswith(_ITEM) else ""
