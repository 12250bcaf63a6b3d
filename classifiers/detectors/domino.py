"""IBM/HCL Domino: "DELIVERY FAILURE: ..." (English frame, reason in the server's language).

    Your message

      Subject: 会議のご案内

    was not delivered to:

      kijitora@example.co.jp

    because:

      ユーザー Kijitora (kijitora@example.co.jp) は Domino ディレクトリには見つかりません。

A message/delivery-status part (``Diagnostic-Code: X-Notes; ...``) usually follows: when it
does, its Final-Recipient fields name the recipients and the prose says why.
"""
from __future__ import annotations

from ..address import find_addresses, normalise
from ..message import Message
from ..model import Kind, Reason
from .base import MAX_FINDINGS, Detection, Finding, StockPhrases, stock_reason

NAME = "domino"

_SUBJECTS = ("delivery failure:", "delivery_failure:")
_NOT_DELIVERED = "was not delivered to:"
_BECAUSE = "because:"
#: Domino's stock reasons. The Japanese directory miss stays ``onhold`` (kept for review,
#: never suppressed): a labeled corpus of real Domino mail files it there.
_STOCK: StockPhrases = (
    ("not listed in domino directory", Reason.USERUNKNOWN),
    ("not listed in public name & address book", Reason.USERUNKNOWN),
    ("no se encuentra en el directorio de domino", Reason.USERUNKNOWN),
    ("non elencato nel directory domino", Reason.USERUNKNOWN),
    ("domino ディレクトリには見つかりません", Reason.ONHOLD),
    ("several matches found in domino directory", Reason.SYSTEMERROR),
    ("cannot route mail to user", Reason.FILTERED),
    ("maximum hop count exceeded", Reason.NETWORKERROR),
)


def detect(msg: Message) -> Detection | None:
    notes_dsn = any(b.get("diagnostic-code").lower().startswith("x-notes")
                    for b in msg.dsn_recipients)
    if not msg.subject.strip().lower().startswith(_SUBJECTS) and not notes_dsn:
        return None
    text = msg.text
    if _NOT_DELIVERED not in text and not notes_dsn:
        return None
    blocks = text.split(_NOT_DELIVERED, MAX_FINDINGS)[1:]
    prose = {a.lower(): (a, said) for block in blocks for a, said in _block(block)}
    if not msg.dsn_recipients:
        findings = [_finding(address, said) for address, said in prose.values()] or [
            _finding(address, "") for address in find_addresses(msg.original_headers.get("to"))[:1]]
        return Detection(kind=Kind.BOUNCE, findings=tuple(findings))
    only = next(iter(prose.values()))[1] if len(prose) == 1 else ""
    findings = []
    for block in msg.dsn_recipients[:MAX_FINDINGS]:
        address = normalise(block.get("final-recipient") or block.get("original-recipient"))
        said = (prose.get(address.lower(), ("", ""))[1] or only
                or block.get("diagnostic-code").partition(";")[2])
        findings.append(_finding(address, said, block.get("status")))
    return Detection(kind=Kind.BOUNCE, findings=tuple(findings))


def _block(block: str) -> list[tuple[str, str]]:
    """One "was not delivered to: ... because: ..." block: (address, reason) for each address."""
    listed, _, because = block.partition(_BECAUSE)
    paragraphs = [p for p in because.split("\n\n") if p.strip()]
    said = paragraphs[0] if paragraphs else ""
    return [(address, said) for address in find_addresses(listed)]


def _finding(address: str, said: str, status: str = "") -> Finding:
    diagnostic = " ".join(said.split())
    return Finding(recipient=address, diagnostic=diagnostic, status=status.split(" ", 1)[0],
                   action="failed", reason=stock_reason(diagnostic, _STOCK))
