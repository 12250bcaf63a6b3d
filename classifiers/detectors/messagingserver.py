"""Sun Java System / Oracle Communications Messaging Server, when the report has no DSN part.

(With one, the generic RFC 3464 decoder reads it.) The prose lists each recipient as a
block of fields::

    Your message cannot be delivered to the following recipients:

      Recipient address: user@example.jp
      Reason: Remote SMTP server has rejected address
      Diagnostic code: smtp;550 5.1.1 <user@example.jp>... User Unknown
      Remote system: dns;mx.example.jp (TCP|192.0.2.1|33442|192.0.2.2|25) (ESMTP)
"""
from __future__ import annotations

from ..message import Message
from ..model import Kind
from ..smtp import type_stripped
from .base import Detection
from .smtptext import Findings, claim, finding

NAME = "messagingserver"

_MARKER = "This report relates to a message you sent with the following header fields:"
_LISTS = ("cannot be delivered to the following recipients:",
          "has been delayed for the following recipients:")
#: "Reason:" sentences that name the SMTP stage.
_STAGES = (("has rejected address", "RCPT"), ("rejected the message", "DATA"))
_FIELDS = frozenset({"recipient address", "original address", "reason", "diagnostic code",
                     "remote system"})


def detect(msg: Message) -> Detection | None:
    text = msg.text
    if msg.is_dsn or _MARKER not in text:
        return None
    head = next((h for h in _LISTS if h in text), "")
    if not head:
        return None
    delayed = head.startswith("has been delayed")
    found = Findings()
    for block in blocks(text.split(head, 1)[1]):
        recipient = block.get("recipient address") or block.get("original address", "")
        if not recipient or not found.wants(recipient):
            continue
        reason = block.get("reason", "")
        command = next((c for phrase, c in _STAGES if phrase in reason.lower()), "")
        diagnostic = type_stripped(block.get("diagnostic code", "")) or reason
        remote = type_stripped(block.get("remote system", "")).split(" ", 1)[0]
        found.add(finding(recipient, diagnostic, command=command, remote_mta=remote.lower(),
                          action="delayed" if delayed else "failed"))
    return claim(Kind.DELAY if delayed else Kind.BOUNCE, found.all())


def blocks(text: str) -> list[dict[str, str]]:
    """The indented "Name: value" blocks, one per recipient, split at blank lines."""
    out: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in text.split("\n"):
        name, sep, value = line.strip().partition(": ")
        if sep and name.lower() in _FIELDS:
            current.setdefault(name.lower(), value.strip())
        elif not line.strip() and current:
            out.append(current)
            current = {}
    if current:
        out.append(current)
    return out
