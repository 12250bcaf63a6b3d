"""The MTA behind Yahoo! JAPAN's mail (sisimai's "X2"): "Message from yahoo.co.jp.".

    Message from  yahoo.co.jp.
    Unable to deliver message to the following address(es).

    <kijitora@yahoo.co.jp>:
    This user doesn't have a yahoo.co.jp account (kijitora@yahoo.co.jp) [-5]

    --- Original message follows.

Each "<address>:" line starts a recipient; the lines after it, up to a blank line, are what
the server said (qmail-like: "Remote host said: 550 ...", "[#4.1.9]", "(#5.1.1)").
"""
from __future__ import annotations

from ..address import normalise
from ..message import Message
from ..model import Kind
from .base import Detection, Finding

NAME = "x2"

_MARKER = "Unable to deliver message to the following address(es)."
_END = "--- Original message follows."


def detect(msg: Message) -> Detection | None:
    text = msg.text
    start = text.find(_MARKER)
    if start < 0 or not text[:start].rstrip().rpartition("\n")[2].startswith("Message from "):
        return None
    findings: list[Finding] = []
    recipient, said = "", []
    for raw in text[start + len(_MARKER):].split(_END, 1)[0].split("\n") + [""]:
        line = raw.strip()
        if line.startswith("<") and line.endswith(">:"):
            recipient, said = normalise(line[:-1]), []
        elif recipient and line:
            said.append(line.lstrip("/"))
        elif recipient:
            findings.append(_finding(recipient, said))
            recipient, said = "", []
    return Detection(kind=Kind.BOUNCE, findings=tuple(findings))


def _finding(recipient: str, said: list[str]) -> Finding:
    diagnostic = " ".join(said)
    command = "DATA" if "failed after I sent the message" in diagnostic else ""
    return Finding(recipient=recipient, diagnostic=diagnostic, command=command, action="failed")
