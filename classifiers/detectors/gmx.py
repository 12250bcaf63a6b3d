"""GMX, WEB.DE and 1&1 / IONOS (kundenserver.de): one block per failed address, then
"--- The header of the original message is following. ---".

    "kijitora@example.jp":
    SMTP error from remote server after RCPT command:
    host: mx.example.jp
    5.1.1 <kijitora@example.jp>... User Unknown

1&1 writes the block on one line: "SMTP error from remote server for TEXT command, host:
smtp-in.example.fr (192.0.2.1) reason: 550 5.2.0 ...", or, for its own refusals, the bare
address followed by "For the following reason:" and its words ("Mail size limit exceeded").
"""
from __future__ import annotations

from ..address import normalise
from ..lazyre import LazyPattern
from ..message import Message
from ..model import Kind
from ..smtp import reply_code_in, status_in
from .base import MAX_FINDINGS, Detection, Finding

NAME = "gmx"

_END = "--- The header of the original message is following. ---"
_ERROR = "SMTP error from remote server"
_COMMAND = LazyPattern(r"(?:after|for) (RCPT|MAIL|DATA|TEXT|EHLO|HELO|CONNECT)\b")
_COMMANDS = {"TEXT": "DATA", "CONNECT": "CONN"}
_HOST = LazyPattern(r"host:\s{0,4}([A-Za-z0-9][A-Za-z0-9.-]{0,253})")
_REASON = "reason:"
_OWN_REASON = "For the following reason:"


def detect(msg: Message) -> Detection | None:
    text = msg.text
    end = text.find(_END)
    if end == -1 or (_ERROR not in text[:end] and _OWN_REASON not in text[:end]):
        return None
    findings: list[Finding] = []
    recipient, lines = "", []
    for line in text[:end].split("\n"):
        stripped = line.strip()
        address = normalise(stripped.rstrip(":")) if "@" in stripped and " " not in stripped else ""
        if address:
            if recipient:
                findings.append(_finding(recipient, lines))
                if len(findings) >= MAX_FINDINGS:
                    return Detection(kind=Kind.BOUNCE, findings=tuple(findings))
            recipient, lines = address, []
        elif recipient and stripped and stripped != _OWN_REASON:
            lines.append(stripped)
    if recipient:
        findings.append(_finding(recipient, lines))
    return Detection(kind=Kind.BOUNCE, findings=tuple(findings))


def _finding(recipient: str, lines: list[str]) -> Finding:
    block = " ".join(lines)
    command = _COMMAND.search(block)
    host = _HOST.search(block)
    if _REASON in block:
        said = block.partition(_REASON)[2].strip()
    else:  # the server's words are the lines after "host: ..."
        said = " ".join(l for l in lines if not l.startswith((_ERROR, "host:")))
    name = command.group(1) if command else ""
    return Finding(recipient=recipient, diagnostic=said, status=status_in(said),
                   reply_code=reply_code_in(said), action="failed",
                   command=_COMMANDS.get(name, name),
                   remote_mta=host.group(1).rstrip(".").lower() if host else "")
