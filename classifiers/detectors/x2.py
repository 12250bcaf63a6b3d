"""The MTA behind Yahoo! JAPAN's mail (sisimai's "X2"), in its two notice layouts.

The classic one, "Message from yahoo.co.jp."::

    Message from  yahoo.co.jp.
    Unable to deliver message to the following address(es).

    <kijitora@yahoo.co.jp>:
    This user doesn't have a yahoo.co.jp account (kijitora@yahoo.co.jp) [-5]

    --- Original message follows.

Each "<address>:" line starts a recipient; the lines after it, up to a blank line, are what
the server said (qmail-like: "Remote host said: 550 ...", "[#4.1.9]", "(#5.1.1)").

The newer one, "NOTICE: Delivery Failure."::

    Delivery failed: kijitora@example.co.jp
    192.0.2.1 failed after I sent the message.
    Remote host said[Response Message]: 554 5.4.14 Hop count exceeded - possible mail loop
    STEP: DATA SEND
"""
from __future__ import annotations

from ..message import Message
from ..model import Kind
from .base import MAX_FINDINGS, Detection, Finding, new_address

NAME = "x2"

_MARKER = "Unable to deliver message to the following address(es)."
_END = "--- Original message follows."
_NOTICE = "Your delivery to the following address has been failed."
_FAILED = "Delivery failed:"
_SAID = "Remote host said[Response Message]:"
_AFTER_DATA = "failed after I sent the message"
#: "STEP: ..." words -> the SMTP command the failure answered.
_STEPS = {"CONNECT": "CONN", "EHLO": "EHLO", "HELO": "HELO", "MAIL": "MAIL", "RCPT": "RCPT",
          "DATA": "DATA"}


def detect(msg: Message) -> Detection | None:
    text = msg.text
    start = text.find(_MARKER)
    if start >= 0 and text[:start].rstrip().rpartition("\n")[2].startswith("Message from "):
        findings = _classic(text[start + len(_MARKER):])
    elif (start := text.find(_NOTICE)) >= 0:
        findings = _notice(text[start:])
    else:
        return None
    return Detection(kind=Kind.BOUNCE, findings=tuple(findings)) if findings else None


def _classic(text: str) -> list[Finding]:
    findings: list[Finding] = []
    seen: set[str] = set()
    recipient, said = "", []
    for raw in text.split(_END, 1)[0].split("\n") + [""]:
        line = raw.strip()
        if line.startswith("<") and line.endswith(">:"):
            if recipient:
                findings.append(_finding(recipient, said))
            if len(findings) >= MAX_FINDINGS:
                break
            recipient, said = new_address(line[:-1], seen), []
        elif recipient and line:
            said.append(line.lstrip("/"))
        elif recipient:
            findings.append(_finding(recipient, said))
            recipient, said = "", []
    return findings


def _notice(text: str) -> list[Finding]:
    findings: list[Finding] = []
    seen: set[str] = set()
    recipient, said, command = "", [], ""
    for raw in text.split("\n") + [""]:
        line = raw.strip()
        if line.startswith(_FAILED):
            if recipient:
                findings.append(_finding(recipient, said, command))
            if len(findings) >= MAX_FINDINGS:
                break
            recipient, said, command = new_address(line[len(_FAILED):], seen), [], ""
        elif recipient and line.startswith("STEP:"):
            words = line[5:].split()
            command = _STEPS.get(words[0].upper(), "") if words else ""
        elif recipient and line:
            said.append(line.replace(_SAID, "", 1).strip())
        elif recipient:
            findings.append(_finding(recipient, said, command))
            recipient, said, command = "", [], ""
    return findings


def _finding(recipient: str, said: list[str], command: str = "") -> Finding:
    diagnostic = " ".join(said)
    if not command and _AFTER_DATA in diagnostic:
        command = "DATA"
    return Finding(recipient=recipient, diagnostic=diagnostic, command=command, action="failed")
