"""Verizon Wireless text (vtext.com) and picture (vzwpix.com) gateway NDRs.

    Error: Invalid user address

    Error message below:
    550 - Requested action not taken: no such user here

    Message details:
      Subject: ...
      MAIL FROM: sender@example.org
      RCPT TO: 5551234567@vtext.com

The picture gateway says "Message could not be delivered to mobile." and "Error: No valid
recipients for this MM", then quotes the original ("Original Message:" ... "To: ...").
"""
from __future__ import annotations

from ..address import find_addresses, normalise
from ..message import Message
from ..model import Kind, Reason
from ..smtp import reply_code_in, status_in
from .base import MAX_FINDINGS, Detection, Finding

NAME = "verizon"

_SENDERS = ("@vtext.com", "@vzwpix.com")
_ERROR = "Error message below:"
_DETAILS = "Message details:"
_RCPT = "RCPT TO:"
_TITLE = "Error:"
_MOBILE = "Message could not be delivered to mobile"
_ORIGINAL = "Original Message:"
_TO = "To:"
#: The picture gateway's own words and the reason they state.
_MM_REASONS = {"no valid recipients for this mm": Reason.USERUNKNOWN}


def detect(msg: Message) -> Detection | None:
    sender = msg.sender.lower()
    if not any(s in sender for s in _SENDERS):
        return None
    text = msg.text
    if _MOBILE in text:
        return _picture(text)
    at = text.find(_ERROR)
    if at == -1:
        return None
    said, _, details = text[at + len(_ERROR):].partition(_DETAILS)
    said = " ".join(said.split())
    title = next((line.strip() for line in reversed(text[:at].split("\n"))
                  if line.startswith(_TITLE)), "")
    recipients = [normalise(line.strip()[len(_RCPT):]) for line in details.split("\n")
                  if line.strip().upper().startswith(_RCPT)][:MAX_FINDINGS]
    diagnostic = f"{said} ({title})" if title else said
    return Detection(kind=Kind.BOUNCE, findings=tuple(
        Finding(recipient=r, diagnostic=diagnostic, status=status_in(said),
                reply_code=reply_code_in(said), command="RCPT", action="failed")
        for r in recipients if r))


def _picture(text: str) -> Detection:
    """vzwpix.com: the error line, and the recipients from the quoted original's To."""
    head, _, original = text.partition(_ORIGINAL)
    error = next((line.strip()[len(_TITLE):].strip() for line in head.split("\n")
                  if line.strip().startswith(_TITLE)), "")
    to = next((line.strip()[len(_TO):] for line in original.split("\n")
               if line.strip().startswith(_TO)), "")
    reason = _MM_REASONS.get(" ".join(error.lower().split()))
    return Detection(kind=Kind.BOUNCE, findings=tuple(
        Finding(recipient=r, diagnostic=error, action="failed", reason=reason)
        for r in find_addresses(to)))
