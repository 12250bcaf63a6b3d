"""Amazon WorkMail: a multipart/mixed NDR from ``MAILER-DAEMON@*.amazonses.com`` whose text
part lists the recipients and then gives RFC 3464 fields inline, after "Technical report:".

    An error occurred while trying to deliver the mail to the following recipients:
    kijitora@example.jp

    Technical report:

    Reporting-MTA: dsn; a27-80.smtp-out.us-west-2.amazonses.com

    Action: failed
    Final-Recipient: rfc822; kijitora@example.jp
    Diagnostic-Code: smtp; 550 5.1.1 <kijitora@example.jp>... User Unknown
    Status: 5.1.1
"""
from __future__ import annotations

from ..message import Message, parse_fields
from ..model import Kind
from ..smtp import best_reply_code, best_status, type_stripped
from .base import MAX_FINDINGS, Detection, Finding

NAME = "amazonworkmail"

_SENDER = "amazonses.com"
_REPORT = "Technical report:"


def detect(msg: Message) -> Detection | None:
    if msg.dsn_recipients or _SENDER not in msg.sender.lower():
        return None
    text = msg.text
    at = text.find(_REPORT)
    if at == -1:
        return None
    findings = []
    mta = ""
    for block in parse_fields(text[at + len(_REPORT):]):
        if "reporting-mta" in block:
            mta = type_stripped(block.get("reporting-mta"))
        recipient = block.get("final-recipient") or block.get("original-recipient")
        if not recipient:
            continue
        if len(findings) >= MAX_FINDINGS:
            break
        diagnostic = type_stripped(block.get("diagnostic-code"))
        status = best_status(block.get("status").split(" ")[0], diagnostic)
        findings.append(Finding(
            recipient=type_stripped(recipient), diagnostic=diagnostic, status=status,
            reply_code=best_reply_code("", diagnostic, status),
            action=block.get("action").lower() or "failed",
            remote_mta=type_stripped(block.get("remote-mta")) or mta))
    delayed = findings and all(f.action == "delayed" for f in findings)
    return Detection(kind=Kind.DELAY if delayed else Kind.BOUNCE, findings=tuple(findings))
