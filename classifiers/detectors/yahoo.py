"""Yahoo! Mail (Yahoo Inc., also the same software at other hosts): "Failure Notice".

    Sorry, we were unable to deliver your message to the following address.

    <kijitora@example.org>:
    Remote host said: 550 5.1.1 <kijitora@example.org>... User Unknown [RCPT_TO]

    --- Below this line is a copy of the message.

The reply may also follow on its own lines, or come as "550: 5.2.2 ..." without "Remote host
said:"; the bracketed tag names the SMTP command ([RCPT_TO], [MAIL_FROM], [DATA]).
"""
from __future__ import annotations

from ..address import normalise
from ..lazyre import LazyPattern
from ..message import Message
from ..model import Kind
from ..smtp import reply_code_in, status_in
from .base import MAX_FINDINGS, Detection, Finding

NAME = "yahoo"

_LEAD = "Sorry, we were unable to deliver your message to the following address"
_END = "--- Below this line is a copy of the message."
#: The sentence opens the NDR; further down it would be quoted text, not this format.
_OPENING = 2000
_SAID = "Remote host said:"
_TAG = LazyPattern(r"\[(RCPT_TO|MAIL_FROM|DATA|CONNECT|EHLO|HELO|BDAT)\]")
_TAG_COMMANDS = {"RCPT_TO": "RCPT", "MAIL_FROM": "MAIL", "DATA": "DATA", "BDAT": "DATA",
                 "CONNECT": "CONN", "EHLO": "EHLO", "HELO": "HELO"}
_REPLY_COLON = LazyPattern(r"^([245]\d\d):\s")


def detect(msg: Message) -> Detection | None:
    text = msg.text
    start = text.find(_LEAD, 0, _OPENING)
    if start == -1:
        return None
    body = text[start + len(_LEAD):].partition(_END)[0]
    findings: list[Finding] = []
    recipient, words = "", []
    for line in body.split("\n")[1:]:
        stripped = line.strip()
        if stripped.startswith("<") and stripped.endswith(">:"):
            if recipient:
                findings.append(_finding(recipient, words))
                if len(findings) >= MAX_FINDINGS:
                    return Detection(kind=Kind.BOUNCE, findings=tuple(findings))
            recipient, words = normalise(stripped[:-1]), []
        elif recipient and stripped:
            words.append(stripped)
    if recipient:
        findings.append(_finding(recipient, words))
    return Detection(kind=Kind.BOUNCE, findings=tuple(findings))


def _finding(recipient: str, words: list[str]) -> Finding:
    said = " ".join(words)
    if said.startswith(_SAID):
        said = said[len(_SAID):].strip()
    tag = _TAG.search(said)
    command = _TAG_COMMANDS[tag.group(1)] if tag else ""
    if tag:
        said = (said[:tag.start()] + said[tag.end():]).strip()
    colon = _REPLY_COLON.match(said)
    reply_code = colon.group(1) if colon else reply_code_in(said)
    return Finding(recipient=recipient, diagnostic=said, status=status_in(said),
                   reply_code=reply_code, command=command, action="failed")
