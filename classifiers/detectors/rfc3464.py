"""RFC 3464 delivery status notifications: the generic decoder most NDRs fall back to.

One Finding per recipient block of the message/delivery-status part (or, when the MIME is
broken, of DSN fields found in the prose): Final-Recipient (else Original-Recipient, else
X-Actual-Recipient), Action, Status, Diagnostic-Code, Remote-MTA. The engine fills reply
code, a more specific status and the SMTP command from the diagnostic. The kind follows the
actions: any failure makes a bounce; else a delay notice; else a success report.
"""
from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from ..address import find_addresses, normalise
from ..lazyre import LazyPattern
from ..message import Headers, Message, parse_fields
from ..model import Kind
from ..smtp import command_in, status_in, type_stripped
from ..text import lower_aligned
from .base import MAX_FINDINGS, Detection, Finding

NAME = "rfc3464"

_RECIPIENT_FIELDS = ("final-recipient", "original-recipient", "x-actual-recipient")
_FIELD_MARK = LazyPattern(r"^(?:Final|Original)-Recipient:", re.IGNORECASE | re.MULTILINE)
_SKIP_TYPES = frozenset({"message/rfc822", "message/global", "text/rfc822-headers",
                         "message/rfc822-headers", "message/disposition-notification"})
#: Action values as real DSNs spell them -> the RFC 3464 word.
_ACTIONS = {"failed": "failed", "failure": "failed", "fail": "failed", "error": "failed",
            "delayed": "delayed", "delay": "delayed", "delivered": "delivered",
            "relayed": "relayed", "expanded": "expanded", "deliverable": "delivered"}
SUCCESS_ACTIONS = frozenset({"delivered", "relayed", "expanded"})
_PROSE_LIMIT = 1500
_NEARBY_LINES = 8
_SCAN_LIMIT = 64 * 1024


def detect(msg: Message) -> Detection | None:
    blocks, errors = msg.dsn_recipients, ()
    if not blocks:
        blocks = fields_in_prose(msg)
        if not blocks:
            return None
        errors = ("delivery-status fields read from the text: the report's MIME is broken",)
    findings = findings_of(blocks, msg.text)
    return Detection(kind=kind_of(f.action for f in findings), findings=findings, errors=errors)


def findings_of(blocks: Sequence[Headers], prose: str) -> tuple[Finding, ...]:
    """One Finding per recipient block (at most MAX_FINDINGS); with several recipients each
    reads only the prose that names it, not the others'."""
    blocks = blocks[:MAX_FINDINGS]
    recipients = [recipient_of(b) for b in blocks]
    others = frozenset(r.lower() for r in recipients if r) if len(blocks) > 1 else ()
    lowered = lower_aligned(prose)  # once, not once per recipient
    return tuple(finding(b, prose, others, r, lowered) for b, r in zip(blocks, recipients))


def fields_in_prose(msg: Message) -> tuple[Headers, ...]:
    """Recipient blocks of DSN fields written into a text part (no delivery-status part)."""
    for part in msg.parts:
        if (part.content_type in _SKIP_TYPES or "ecipient:" not in part.text
                and "ECIPIENT:" not in part.text or not _FIELD_MARK.search(part.text)):
            continue
        blocks = tuple(b for b in parse_fields(part.text)
                       if any(k in b for k in _RECIPIENT_FIELDS[:2])
                       and ("action" in b or "status" in b or "diagnostic-code" in b))
        if blocks:
            return blocks
    return ()


def recipient_of(block: Headers) -> str:
    """Final-Recipient, else Original-Recipient, else X-Actual-Recipient: the first valid
    one with a fully qualified domain (``user@server`` after a source route is a local
    name), else the first valid one."""
    found = []
    for name in _RECIPIENT_FIELDS:
        address = normalise(block.get(name))
        if "." in address.rpartition("@")[2]:
            return address
        found.append(address)
    return next(filter(None, found), "")


def action_of(block: Headers) -> str:
    """The Action field as one RFC 3464 word; a block without one is read from its Status."""
    words = block.get("action").lower().replace("(", " ").split()
    if words and words[0] in _ACTIONS:
        return _ACTIONS[words[0]]
    return "delivered" if block.get("status").strip().startswith("2") else "failed"


def kind_of(actions) -> Kind:
    """Any failure: a bounce; else any delay: a delay notice; else a success report."""
    seen = set(actions)
    if "failed" in seen or not seen:
        return Kind.BOUNCE
    if "delayed" in seen:
        return Kind.DELAY
    return Kind.DELIVERED


def finding(block: Headers, prose: str, others: Collection[str] = (),
            recipient: str | None = None, lowered: str | None = None) -> Finding:
    """One recipient block as a Finding; without Diagnostic-Code the prose stands in."""
    recipient = recipient_of(block) if recipient is None else recipient
    diagnostic = type_stripped(block.get("diagnostic-code"))
    action = action_of(block)
    if not diagnostic and action not in SUCCESS_ACTIONS:
        # A delay notice's prose is boilerplate about delays: only the recipient's own line.
        diagnostic = prose_about(prose, recipient, bool(others) or action == "delayed", others,
                                 lowered)
    return Finding(
        recipient=recipient, diagnostic=diagnostic, status=status_in(block.get("status")),
        action=action, remote_mta=type_stripped(block.get("remote-mta")).lower(),
        command=command_in(diagnostic) or (command_in(prose) if not others else ""),
    )


def prose_about(prose: str, recipient: str, multi: bool, others: Collection[str] = (),
                lowered: str | None = None) -> str:
    """What the prose says about ``recipient``. Alone: the paragraph naming it, else the
    whole prose. One of several: the line naming it and the lines after it, up to a blank
    line or a line naming one of the ``others`` (lowercase addresses; without them, any other
    address), or "" when they say nothing more than the address. ``lowered`` is
    ``lower_aligned(prose)`` when the caller has it already."""
    if lowered is None:
        lowered = lower_aligned(prose)
    # Only the first _SCAN_LIMIT characters: with many recipients absent from a long prose,
    # each would otherwise scan all of it.
    at = lowered.find(recipient.lower(), 0, _SCAN_LIMIT) if recipient else -1
    if at == -1:
        return "" if multi else prose[:_PROSE_LIMIT]
    if multi:
        start = prose.rfind("\n", 0, at) + 1
        lines = prose[start:start + _PROSE_LIMIT].split("\n")
        taken = [lines[0]]
        for line in lines[1:_NEARBY_LINES + 1]:
            if not line.strip() or "@" in line and _names_another(line, recipient, others):
                break
            taken.append(line)
        said = "\n".join(taken)
    else:
        start = prose.rfind("\n\n", 0, at) + 1
        end = prose.find("\n\n", at + len(recipient))
        said = prose[start:end if end != -1 else len(prose)][:_PROSE_LIMIT]
    rest = said.replace(prose[at:at + len(recipient)], " ", 1)
    if sum(1 for w in rest.split() if any(c.isalpha() for c in w)) >= 3:
        return said  # more than the address and a word or two
    return "" if multi else prose[:_PROSE_LIMIT]


def _names_another(line: str, recipient: str, others: Collection[str]) -> bool:
    lowered, own = line.lower(), recipient.lower()
    if others:
        return any(o in lowered for o in others if o != own)
    return any(a.lower() != own for a in find_addresses(line))
