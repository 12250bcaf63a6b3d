"""m-FILTER (Digital Arts): the "failure notice" its SMTP relay writes, in Japanese.

The template (Digital Arts FAQ 2686)::

    Subject: failure notice
    このメールは「m-FILTER」が自動的に生成して送信しています。
    ...
    以下のメールアドレスへの送信に失敗しました。
    kijitora@example.jp

    -------server message
    550 5.1.1 <kijitora@example.jp>: Recipient address rejected: User unknown

    -------SMTP command
    DATA

    -------original mail info      (older versions: "-------original message")

The server message is the remote server's reply to the SMTP command that follows it. Rebranded
installs change the product name in the first line, so the section markers decide, not the name.
"""
from __future__ import annotations

from itertools import islice

from ..address import find_addresses
from ..message import Message, parse_header_block
from ..model import Kind
from .base import MAX_FINDINGS, Detection, Finding, new_address

NAME = "mfilter"

_SERVER = "-------server message"
_COMMAND = "-------SMTP command"
_SECTION = "-------"
_ORIGINAL = "-------original message"
_VERBS = frozenset({"CONN", "EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "BDAT",
                    "QUIT", "RSET"})


def detect(msg: Message) -> Detection | None:
    text = msg.text
    if msg.headers.get("x-mailer").strip() != "m-FILTER" and (
            msg.subject.strip().lower() != "failure notice" or _SERVER not in text):
        return None
    head, _, rest = text.partition(_SERVER)
    if not rest:
        return None
    server, _, rest = rest.partition(_COMMAND)
    verb = _first_line(rest.split(_SECTION, 1)[0]).split(" ", 1)[0].split(":", 1)[0].upper()
    command = verb if verb in _VERBS else ""
    diagnostic = " ".join(server.split("\n" + _SECTION, 1)[0].split())
    seen: set[str] = set()
    listed = (line for line in head.split("\n") if "@" in line and " " not in line.strip())
    recipients = list(islice(filter(None, (new_address(line, seen) for line in listed)),
                             MAX_FINDINGS))
    if not recipients:
        # Older versions attach the original's header block: its To names the recipient.
        original = rest.partition(_ORIGINAL)[2].partition("\n")[2]
        recipients = find_addresses(parse_header_block(original).get("to"))[:1]
    if not recipients:
        return None
    findings = tuple(Finding(recipient=r, diagnostic=diagnostic, command=command, action="failed")
                     for r in recipients)
    return Detection(kind=Kind.BOUNCE, findings=findings)


def _first_line(text: str) -> str:
    for line in text.split("\n"):
        if line.strip():
            return line.strip()
    return ""
