"""Verizon Wireless (vtext.com / vzwpix.com) text-gateway NDRs.

    Error: Invalid user address

    Error message below:
    550 - Requested action not taken: no such user here

    Message details:
      Subject: ...
      MAIL FROM: sender@example.org
      RCPT TO: 5551234567@vtext.com
"""
from __future__ import annotations

from ..address import normalise
from ..message import Message
from ..model import Kind
from ..smtp import reply_code_in, status_in
from .base import Detection, Finding

NAME = "verizon"

_SENDERS = ("@vtext.com", "@vzwpix.com")
_ERROR = "Error message below:"
_DETAILS = "Message details:"
_RCPT = "RCPT TO:"
_TITLE = "Error:"


def detect(msg: Message) -> Detection | None:
    if not any(s in msg.sender.lower() for s in _SENDERS):
        return None
    text = msg.text
    at = text.find(_ERROR)
    if at == -1:
        return None
    said, _, details = text[at + len(_ERROR):].partition(_DETAILS)
    said = " ".join(said.split())
    title = next((line.strip() for line in reversed(text[:at].split("\n"))
                  if line.startswith(_TITLE)), "")
    recipients = [normalise(line.strip()[len(_RCPT):]) for line in details.split("\n")
                  if line.strip().upper().startswith(_RCPT)]
    diagnostic = f"{said} ({title})" if title else said
    return Detection(kind=Kind.BOUNCE, findings=tuple(
        Finding(recipient=r, diagnostic=diagnostic, status=status_in(said),
                reply_code=reply_code_in(said), command="RCPT", action="failed")
        for r in recipients if r))
