"""Courier MTA: "This is a delivery status notification from host, running the Courier mail
server". A DSN part follows the prose; the prose keeps the SMTP exchange per recipient::

    <user@example.org>:
        mx.example.org [192.0.2.1]:
    >>> RCPT TO:<user@example.org>
    <<< 550 5.1.1 <user@example.org>... User Unknown

so the command and the full (multi-line) reply come from there, the status from the DSN.
"""
from __future__ import annotations

from ..lazyre import LazyPattern
from ..message import Message
from .base import Detection, Finding
from .rfc3464 import kind_of, recipient_of
from .smtptext import (Findings, claim, command_name, dsn_blocks, finding, first_word,
                       join_reply)

NAME = "courier"

_MARKER = "running the Courier mail server"
_RECIPIENT = LazyPattern(r"^<([^<>\s]{1,256}@[^<>\s]{1,256})>:[ \t]*$")
_HOST = LazyPattern(r"^([A-Za-z0-9][A-Za-z0-9.-]{0,253}) \[[0-9A-Fa-f:.]{2,45}\]:$")


def detect(msg: Message) -> Detection | None:
    if _MARKER not in msg.text:
        return None
    prose = exchanges(msg.text)
    found = Findings()
    for block in dsn_blocks(msg):
        recipient = recipient_of(block)
        if recipient and found.wants(recipient):
            found.add(_finding(recipient, prose.get(recipient.lower()), block.get("status"),
                               first_word(block.get("action")) or "failed",
                               block.get("diagnostic-code").partition(";")[2]))
    for recipient, exchange in prose.items():
        if found.wants(recipient):
            found.add(_finding(recipient, exchange, "", "failed", ""))
    findings = found.all()
    return claim(kind_of(f.action for f in findings), findings)


class Exchange:
    """What the prose says about one recipient: host, last command, its reply, other lines."""

    __slots__ = ("host", "command", "reply", "other")

    def __init__(self) -> None:
        self.host = self.command = ""
        self.reply: list[str] = []
        self.other: list[str] = []


def exchanges(text: str) -> dict[str, Exchange]:
    """Recipient (lowercased) -> its Exchange, from the prose paragraphs."""
    out: dict[str, Exchange] = {}
    current: Exchange | None = None
    for line in text.split("\n"):
        stripped = line.strip()
        match = _RECIPIENT.match(stripped)
        if match:
            current = out.setdefault(match.group(1).lower(), Exchange())
            continue
        if current is None:
            continue
        host = _HOST.match(stripped)
        if not stripped or stripped.startswith("-----"):
            current = None
        elif stripped.startswith(">>>"):
            current.command, current.reply = command_name(stripped[3:]), []
        elif stripped.startswith("<<<"):
            current.reply.append(stripped[3:].strip())
        elif host:
            current.host = host.group(1).lower()
        else:
            current.other.append(stripped)
    return out


def _finding(recipient: str, exchange: Exchange | None, status: str, action: str,
             dsn_words: str) -> Finding:
    exchange = exchange or Exchange()
    words = join_reply(exchange.reply) or dsn_words.strip() or " ".join(exchange.other)
    return finding(recipient, words, status=first_word(status), command=exchange.command,
                   remote_mta=exchange.host, action=action)
