"""BIGLOBE (and the cable ISPs on its mail system): "Returned mail: ..." from postmaster.

    ----- The following addresses had delivery problems -----
 kijitora@biglobe.ne.jp

    ----- Non-delivered information -----
 The number of messages in recipient's mailbox exceeded the local limit.

The information block is the server's words for every address listed above it.
"""
from __future__ import annotations

from itertools import islice

from ..message import Message
from ..model import Kind, Reason
from .base import MAX_FINDINGS, Detection, Finding, StockPhrases, new_address, stock_reason

NAME = "biglobe"

_DOMAINS = ("biglobe.ne.jp", "inacatv.ne.jp", "tmtv.ne.jp", "ttv.ne.jp")
_POSTMASTERS = tuple(f"postmaster@{domain}" for domain in _DOMAINS)
_ADDRESSES = "----- The following addresses had delivery problems -----"
_INFORMATION = "----- Non-delivered information -----"
#: BIGLOBE's stock sentences, lowercased, and the reason each names.
_STOCK: StockPhrases = (
    ("recipient's mailbox exceeded the local limit", Reason.MAILBOXFULL),
    ("mail delivery failed... user unknown", Reason.FILTERED),
)


def detect(msg: Message) -> Detection | None:
    sender = msg.sender.lower()
    if not any(p in sender for p in _POSTMASTERS):
        return None
    text = msg.text
    if _ADDRESSES not in text or not msg.subject.lower().startswith("returned mail:"):
        return None
    listed, _, info = text.partition(_ADDRESSES)[2].partition(_INFORMATION)
    diagnostic = " ".join(info.split("\n-----", 1)[0].split())
    reason = stock_reason(diagnostic, _STOCK)
    seen: set[str] = set()
    tokens = (word for line in listed.split("\n") for word in line.split() if "@" in word)
    addresses = list(islice(filter(None, (new_address(t, seen) for t in tokens)), MAX_FINDINGS))
    findings = tuple(Finding(recipient=a, diagnostic=diagnostic, action="failed", reason=reason)
                     for a in addresses)
    return Detection(kind=Kind.BOUNCE, findings=findings) if findings else None
