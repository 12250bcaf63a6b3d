"""Zoho Mail (``mailer-daemon@mail.zoho.com``): failures and delay warnings in one text part.

    This message was created automatically by mail delivery software.
    A message that you sent could not be delivered to one or more of its recipients. ...

    kijitora@example.jp Invalid Address, ERROR_CODE :550, ERROR_CODE :5.1.1 <...>... User Unknown

Delay warnings ("THIS IS A WARNING MESSAGE ONLY") list
``[Status: Error, Address: <a@b>, ResponseCode 421, , Host not reachable.]``.
"""
from __future__ import annotations

import re

from ..address import normalise
from ..lazyre import LazyPattern
from ..message import Message
from ..model import Kind, Reason
from ..smtp import status_in
from .base import Detection, Finding

NAME = "zoho"

_SENDER = "zoho.com"
_FAILED = LazyPattern(r"^([^\s@]{1,320}@[^\s@]{1,255}) ([^,\n]{0,80}), ERROR_CODE :([^\n]{0,2000})$",
                      re.MULTILINE)
_CODE_SEP = ", ERROR_CODE :"
_WARNED = LazyPattern(r"^\[Status: ([^,\]]{0,40}), Address: <([^>]{1,320})>, "
                      r"ResponseCode (\d{3}), ([^\]]{0,2000})\]", re.MULTILINE)
_WARNING = "THIS IS A WARNING MESSAGE ONLY"


def detect(msg: Message) -> Detection | None:
    if _SENDER not in msg.sender.lower():
        return None
    text = msg.text
    findings = [_failed(m) for m in _FAILED.finditer(text)]
    if findings:
        return Detection(kind=Kind.BOUNCE, findings=tuple(findings))
    warned = [_warned(m) for m in _WARNED.finditer(text)]
    if not warned:
        return None
    kind = Kind.DELAY if _WARNING in text else Kind.BOUNCE
    return Detection(kind=kind, findings=tuple(warned))


def _failed(match: re.Match[str]) -> Finding:
    """``ERROR_CODE :550, ERROR_CODE :5.1.1 <a@b>... User Unknown`` -> code, status, words."""
    pieces = match.group(3).split(_CODE_SEP)
    reply_code = pieces[0].strip() if pieces[0].strip().isdigit() else ""
    # Zoho's own label ("Invalid Address") is on every line; the server's words say why.
    words = " ".join(p.strip() for p in pieces[1:] if p.strip()) or match.group(2)
    return Finding(recipient=normalise(match.group(1)), diagnostic=words,
                   status=status_in(words), reply_code=reply_code, action="failed")


def _warned(match: re.Match[str]) -> Finding:
    """A delay line: Zoho keeps retrying, so the outcome is "expired" until it gives up."""
    words = match.group(4).strip(" ,")
    return Finding(recipient=normalise(match.group(2)), diagnostic=words, status=status_in(words),
                   reply_code=match.group(3), action="delayed", reason=Reason.EXPIRED)
