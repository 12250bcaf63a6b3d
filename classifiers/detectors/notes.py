"""Lotus Notes (the SMTP MTA of Notes R4/R5): "Undeliverable message".

    ------- Failure Reasons  --------

    User not listed in public Name & Address Book       (Japanese: ディレクトリのリストにありません)
    kijitora@example.co.jp

    ------- Returned Message --------

Reason lines and addresses alternate; a reason applies to the addresses after it.
"""
from __future__ import annotations

from ..address import find_addresses
from ..message import Message, parse_header_block
from ..model import Kind, Reason
from .base import MAX_FINDINGS, Detection, Finding, StockPhrases, new_address, stock_reason

NAME = "notes"

_SUBJECT = "undeliverable message"
_REASONS = "------- Failure Reasons"
_RETURNED = "------- Returned Message"
#: Notes' stock failure reasons. The Japanese directory miss stays ``onhold`` (kept for
#: review, never suppressed): a labeled corpus of real Notes mail files it there.
_STOCK: StockPhrases = (
    ("not listed in public name & address book", Reason.USERUNKNOWN),
    ("not listed in public name and address book", Reason.USERUNKNOWN),
    ("ディレクトリのリストにありません", Reason.ONHOLD),
    ("message has exceeded maximum hop count", Reason.NETWORKERROR),
)


def detect(msg: Message) -> Detection | None:
    if not msg.subject.strip().lower().startswith(_SUBJECT) or _REASONS not in msg.text:
        return None
    block, _, returned = msg.text.split(_REASONS, 1)[1].partition(_RETURNED)
    findings: list[Finding] = []
    seen: set[str] = set()
    said, pending = "", []
    for raw in block.split("\n")[1:]:
        line = raw.strip()
        first = line.split(" ", 1)[0]
        if "@" not in first:
            if line:
                pending.append(line)
            continue
        said, pending = (" ".join(pending), []) if pending else (said, pending)
        address = new_address(first, seen)
        if address:
            findings.append(_finding(address, said))
            if len(findings) >= MAX_FINDINGS:
                break
    if not findings:
        original = msg.original_headers or parse_header_block(returned.partition("\n")[2])
        findings = [_finding(a, " ".join(pending)) for a in find_addresses(original.get("to"))[:1]]
    return Detection(kind=Kind.BOUNCE, findings=tuple(findings))


def _finding(address: str, said: str) -> Finding:
    diagnostic = " ".join(said.split())
    return Finding(recipient=address, diagnostic=diagnostic, action="failed",
                   reason=stock_reason(diagnostic, _STOCK))
