"""SendGrid: "This is an automatically generated message from SendGrid." and a DSN part.

The prose names each recipient on one line with the remote's reply and the command:

    kijitora:000000:<kijitora@example.jp> : 192.0.2.250 : mx.example.jp:[192.0.2.153] :
    550 5.1.1 <kijitora@example.jp>... User Unknown  in RCPT TO

The delivery-status part (with ``X-SendGrid-*`` fields) carries Status and Diagnostic-Code;
this detector reads it as RFC 3464 and adds the command and host from the prose line.
"""
from __future__ import annotations

from ..address import normalise
from ..lazyre import LazyPattern
from ..message import Message
from .base import Detection
from .rfc3464 import findings_of, kind_of

NAME = "sendgrid"

_MARK = "This is an automatically generated message from SendGrid."
# "... : mx.example.jp:[192.0.2.153] : 550 5.1.1 ... in RCPT TO"
_LINE = LazyPattern(r"<([^<>\s@]{1,320}@[^<>\s@]{1,255})> : [^:\n]{0,64} : ([A-Za-z0-9.-]{1,253}):"
                    r"\[[^\]\n]{1,64}\] : ([^\n]{0,2000}?)[ ]{1,4}in (RCPT TO|MAIL FROM|DATA)\b")
_COMMANDS = {"RCPT TO": "RCPT", "MAIL FROM": "MAIL", "DATA": "DATA"}
#: SendGrid's notice opens with the sentence; further down it would be quoted text.
_OPENING = 2000


def detect(msg: Message) -> Detection | None:
    text = msg.text
    if text.find(_MARK, 0, _OPENING) == -1 or not msg.dsn_recipients:
        return None
    said = {normalise(m.group(1)).lower(): m for m in _LINE.finditer(text)}
    findings = []
    for found in findings_of(msg.dsn_recipients, text):
        line = said.get(normalise(found.recipient).lower())
        if line:
            found = found.replace(command=found.command or _COMMANDS[line.group(4)],
                                  remote_mta=found.remote_mta or line.group(2).lower(),
                                  diagnostic=found.diagnostic or line.group(3))
        findings.append(found)
    return Detection(kind=kind_of(f.action for f in findings), findings=tuple(findings))
