"""au one net (KDDI, dion.ne.jp / auone-net.jp): "メールエラー通知".

A Japanese summary ("送信先のメールボックスが一杯のため、送信できませんでした。"), then the
server's English, one block per recipient::

    Your mail sent on: Thu, 29 Apr 2010 23:34:45 +0900
         Could not be delivered to: <kijitora@example.dion.ne.jp>
         As their mailbox is full.

The sentence after the address is a stock one naming the reason; a recipient au's filter
refused carries ``X-SPASIGN: NG``.
"""
from __future__ import annotations

from ..message import Message
from ..model import Kind, Reason
from .base import MAX_FINDINGS, Detection, Finding, StockPhrases, new_address, stock_reason

NAME = "kddi"

_MARKER = "Could not be delivered to:"
#: The stock sentences, lowercased, and the reason each names.
_STOCK: StockPhrases = (
    ("as their mailbox is full", Reason.MAILBOXFULL),
    ("as the remote domain doesnt exist", Reason.HOSTUNKNOWN),
    ("as the remote domain doesn't exist", Reason.HOSTUNKNOWN),
    ("due to the following smtp relay error", Reason.NORELAYING),
)


def detect(msg: Message) -> Detection | None:
    if _MARKER not in msg.text or not _is_kddi(msg):  # the marker first: a scan in C
        return None
    filtered = msg.headers.get("x-spasign").strip().upper() == "NG"
    findings: list[Finding] = []
    seen: set[str] = set()
    recipient, said = "", []
    for raw in msg.text.split("\n") + [""]:
        line = raw.strip()
        if _MARKER in line:
            if recipient:
                findings.append(_finding(recipient, said, filtered))
            if len(findings) >= MAX_FINDINGS:
                break
            recipient, said = new_address(line.split(_MARKER, 1)[1], seen), []
        elif recipient and line and raw[:1] in (" ", "\t"):
            said.append(line)
        elif recipient and (not line or line.startswith("Your mail ")):
            findings.append(_finding(recipient, said, filtered))
            recipient, said = "", []
    return Detection(kind=Kind.BOUNCE, findings=tuple(findings)) if findings else None


def _is_kddi(msg: Message) -> bool:
    sender = msg.sender.lower()
    if "no-reply@" in sender and sender.rstrip("> ").endswith(".dion.ne.jp"):
        return True
    if "no-reply@app.auone-net.jp" in msg.headers.get("reply-to").lower():
        return True
    return any("auone-net.jp" in r for r in msg.headers.get_all("received"))


def _finding(recipient: str, said: list[str], filtered: bool) -> Finding:
    diagnostic = " ".join(said)
    reason = Reason.FILTERED if filtered else stock_reason(diagnostic, _STOCK)
    return Finding(recipient=recipient, diagnostic=diagnostic, action="failed", reason=reason)
