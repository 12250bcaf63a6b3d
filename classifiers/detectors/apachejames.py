"""Apache James: "Error: <cause>", "Error message below:", then "Message details:".

    Error: Invalid user address

    Error message below:
    550 - Requested action not taken: no such user here

    Message details:
      Subject: ...
      MAIL FROM: sender@example.com
      RCPT TO: user@example.org

(Verizon's text gateway runs this format; ``verizon`` reads it for vtext.com first.)
"""
from __future__ import annotations

from ..address import find_addresses
from ..message import Message
from ..model import Kind
from .base import Detection
from .smtptext import claim, finding, unique

NAME = "apachejames"

_ERROR = "\nError message below:"
_DETAILS = "\nMessage details:"
_RCPT = "RCPT TO:"
_TITLE = "Error:"


def detect(msg: Message) -> Detection | None:
    text = msg.text
    at = text.find(_ERROR)
    if at < 0 or _DETAILS not in text[at:]:
        return None
    said, _, details = text[at + len(_ERROR):].partition(_DETAILS)
    title = next((line.strip()[len(_TITLE):].strip() for line in reversed(text[:at].split("\n"))
                  if line.strip().startswith(_TITLE)), "")
    diagnostic = " ".join(said.split()) + (f" ({title})" if title else "")
    recipients = [a for line in details.split("\n") if line.strip().upper().startswith(_RCPT)
                  for a in find_addresses(line)]
    # "RCPT TO:" among the details is the envelope, not the command the error answered: a
    # "no such user" here proves no dead mailbox (it reads as filtered; see reasons.py).
    return claim(Kind.BOUNCE, unique(finding(r, diagnostic) for r in recipients))
