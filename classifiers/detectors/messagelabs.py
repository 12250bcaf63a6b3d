"""MessageLabs (Symantec/Broadcom Email Security.cloud): "This is the mail delivery agent at
messagelabs.com." with a DSN part.

The prose lists the addresses under "I was unable to deliver your message to the following
addresses:" and quotes the remote server's reply as ``Reason: 550 <addr>... No such user``.
The DSN carries no SMTP command; a remote reply that names the recipient's own address is that
server's answer to the recipient (RCPT TO) — replies after DATA name a queue id, not an
address — so the command is set to RCPT there, and the shared tables decide the reason.
"""
from __future__ import annotations

from ..message import Message
from .base import Detection, Finding
from .rfc3464 import findings_of, kind_of

NAME = "messagelabs"

_MARK = "This is the mail delivery agent at messagelabs.com"
#: The sentence opens the notice; further down it would be quoted text.
_OPENING = 2000


def detect(msg: Message) -> Detection | None:
    if not msg.dsn_recipients or msg.text.find(_MARK, 0, _OPENING) == -1:
        return None
    findings = tuple(_with_command(f) for f in findings_of(msg.dsn_recipients, msg.text))
    return Detection(kind=kind_of(f.action for f in findings), findings=findings)


def _with_command(found: Finding) -> Finding:
    if found.command or not found.recipient:
        return found
    named = found.recipient.strip("<> ").lower() in found.diagnostic.lower()
    return found.replace(command="RCPT") if named else found
