"""au by KDDI (EZweb, ezweb.ne.jp / au.com): "Mail System Error - Returned Mail".

A Japanese paragraph, then English the detector reads: a stock sentence naming the failure
("The user(s) account is disabled.") followed by the recipients, or a transcript per recipient::

    Each of the following recipients was rejected by a remote
    mail server.

        Recipient: <kijitora@ezweb.ne.jp>
        >>> RCPT TO:<kijitora@ezweb.ne.jp>
        <<< 550 <kijitora@ezweb.ne.jp>: User unknown

A recipient the au filter refused carries ``X-SPASIGN: NG``.
"""
from __future__ import annotations

from ..message import Message
from ..model import Kind, Reason
from .base import MAX_FINDINGS, Detection, Finding, StockPhrases, new_address, stock_reason

NAME = "ezweb"

_SUBJECT = "mail system error - returned mail"
_HOSTS = ("ezweb.ne.jp", "au.com")
_POSTMASTERS = tuple(f"postmaster@{host}" for host in _HOSTS)
_STARTS = ("The user(s) ", "Your message ", "Each of the following", "<")
#: The stock sentences EZweb writes, lowercased, and the reason each names.
_STOCK: StockPhrases = (
    ("the user(s) account is temporarily over quota", Reason.MAILBOXFULL),
    ("the user(s) account is disabled", Reason.SUSPEND),
    ("the user(s) account is temporarily limited", Reason.SUSPEND),
    ("your message was not delivered within ", Reason.EXPIRED),
)
_GENERIC = "each of the following recipients was rejected by a remote"


class _Recipient:
    """What the notice says about one recipient, gathered line by line."""

    __slots__ = ("address", "reply", "said", "command")

    def __init__(self, address: str) -> None:
        self.address = address
        self.reply: list[str] = []   # "<<< 550 ..." or the words after "<a@b>:"
        self.said: list[str] = []    # other sentences after the address
        self.command = ""            # ">>> RCPT TO:<...>"


def detect(msg: Message) -> Detection | None:
    if not _is_ezweb(msg):
        return None
    filtered = msg.headers.get("x-spasign").strip().upper() == "NG"
    preamble: list[str] = []
    found: list[_Recipient] = []
    current: _Recipient | None = None   # None before the first recipient and after a repeat
    seen: set[str] = set()
    reading = False
    for raw in msg.text.split("\n"):
        line = raw.strip()
        reading = reading or raw.startswith(_STARTS)
        if not reading or not line or not line.isascii():
            continue
        if line.startswith("-----"):
            if found:
                break
        elif line.startswith(">>>"):
            if current:
                current.command = line[3:].strip().split(" ", 1)[0].split(":", 1)[0].upper()
        elif line.startswith("<<<"):
            if current:
                current.reply.append(line[3:].strip())
        elif line.startswith(("<", "Recipient:")):
            if len(found) >= MAX_FINDINGS:
                break
            address = _recipient(line, seen)
            current = _Recipient(address) if address else None
            if current:
                current.reply.append(line.partition(">:")[2].strip())
                found.append(current)
        elif current:
            current.said.append(line)
        elif not found:
            preamble.append(line)
    if not found:
        return None
    stock = " ".join(preamble)
    return Detection(kind=Kind.BOUNCE, findings=tuple(_finding(f, stock, filtered) for f in found))


def _is_ezweb(msg: Message) -> bool:
    """au's postmaster, or the subject plus one more trace of au's mail system."""
    sender = msg.sender.lower()
    if any(p in sender for p in _POSTMASTERS):
        return True
    if msg.subject.strip().lower() != _SUBJECT:
        return False
    message_id = msg.headers.get("message-id").strip().lower()
    return (message_id.endswith((".ezweb.ne.jp>", ".au.com>"))
            or any("(EZweb Mail) with" in r for r in msg.headers.get_all("received")))


def _recipient(line: str, seen: set[str]) -> str:
    """The address of "<a@b>", "<a@b>: reply" or "Recipient: <a@b>" not read before, else ""."""
    if line.startswith("Recipient:"):
        line = line[10:].strip()
    if not line.startswith("<") or ">" not in line:
        return ""
    return new_address(line[: line.index(">") + 1], seen)


def _finding(found: _Recipient, stock: str, filtered: bool) -> Finding:
    """A recipient's reply wins; else the sentences around it (a generic intro says nothing)."""
    said = " ".join([stock, *found.said]).strip()
    reason = Reason.FILTERED if filtered else stock_reason(said, _STOCK)
    reply = " ".join(found.reply).strip()
    diagnostic = reply or ("" if said.lower().startswith(_GENERIC) else said)
    return Finding(recipient=found.address, diagnostic=diagnostic, command=found.command,
                   action="failed", reason=reason)
