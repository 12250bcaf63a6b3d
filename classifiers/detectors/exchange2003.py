"""Microsoft Exchange 2000/2003 (and Exchange 5.5 IMS): "Your message ... did not reach ...".

Plain prose, no DSN::

    Your message
      To:      user@example.org
      Subject: ...
    did not reach the following recipient(s):

    user@example.org on Thu, 29 Apr 2007 16:51:51 -0500
        The recipient name is not recognized
        MSEXCH:IMS:ORG:SITE:SERVER 0 (000C05A6) Unknown Recipient

The eight-digit MSEXCH code names the cause; the table below holds the ones whose meaning
is fixed (sisimai's Exchange2003 table), the rest is left to the phrase tables.
"""
from __future__ import annotations

from ..address import normalise
from ..lazyre import LazyPattern
from ..message import Message
from ..model import Kind, Reason
from .base import Detection, Finding
from .smtptext import Findings, claim, dsn_statuses, finding

NAME = "exchange2003"

_LIST_HEADS = ("did not reach the following recipient(s):",
               "The following recipient(s) could not be reached:")
_ENTRY = LazyPattern(r"^[ \t]{0,8}(\S{1,256}@\S{1,256}) on [A-Z0-9][^\n]{4,60}$")
_CODE = LazyPattern(r"MSEXCH:[^\n]{0,200}\(([0-9A-F]{8})\)")
#: MSEXCH error codes -> the reason they always mean.
MSEXCH_CODES: dict[str, Reason] = {
    "000C05A6": Reason.USERUNKNOWN,     # Unknown Recipient
    "000C0595": Reason.FILTERED,        # Ambiguous Recipient
    "00010256": Reason.SYSTEMERROR,     # Too many recipients
    "000D06B5": Reason.SYSTEMERROR,     # No proxy for recipient
    "00120270": Reason.NETWORKERROR,    # Too many hops
    "00050311": Reason.CONTENTERROR,    # Conversion to Internet format failed
    "000502CC": Reason.CONTENTERROR,    # Conversion to Internet format failed
    "000B0981": Reason.SECURITYERROR,   # 502 Server does not support AUTH
}


def detect(msg: Message) -> Detection | None:
    text = msg.text
    head = next((text.find(h) + len(h) for h in _LIST_HEADS if h in text), -1)
    if head < 0 or "MSEXCH:" not in text and not msg.subject.startswith("Undeliverable"):
        return None
    statuses = dsn_statuses(msg)
    found = Findings()
    lines: list[str] = []
    recipient = ""
    for line in text[head:].split("\n") + [""]:
        entry = _ENTRY.match(line)
        if entry or (recipient and not line.strip() and lines):
            if recipient and found.wants(recipient):
                found.add(_finding(recipient, lines, statuses.get(recipient.lower(), "")))
            recipient, lines = (entry.group(1) if entry else ""), []
        elif recipient and line.strip():
            lines.append(line.strip())
    return claim(Kind.BOUNCE, found.all())


def _finding(recipient: str, lines: list[str], status: str) -> Finding:
    # "The MTS-ID of the original message is: c=jp;a= ;p=x\n;l=X" is bookkeeping, not a cause.
    words = [w for w in lines if not w.startswith(("The MTS-ID", ";"))]
    diagnostic = " ".join(words)
    code = _CODE.search(diagnostic)
    return finding(normalise(recipient) or recipient, diagnostic, status=status,
                   reason=MSEXCH_CODES.get(code.group(1)) if code else None)
