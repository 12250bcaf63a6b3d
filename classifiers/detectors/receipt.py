"""RFC 8098 message disposition notifications (read receipts): the message arrived.

Kind DELIVERED, one outcome for the Final-Recipient (else Original-Recipient, else the
sender of the receipt), whatever the disposition (displayed, deleted, ...): a receipt is
never a failure.
"""
from __future__ import annotations

from ..address import find_addresses, normalise
from ..message import Message, parse_fields
from ..model import Kind
from .base import Detection, Finding

NAME = "receipt"

_MDN_TYPE = "message/disposition-notification"


def detect(msg: Message) -> Detection | None:
    if msg.report_type != "disposition-notification" and not any(
            p.content_type == _MDN_TYPE for p in msg.parts):
        return None
    fields = next((b for p in msg.parts if p.content_type == _MDN_TYPE
                   for b in parse_fields(p.text) if "disposition" in b), None)
    recipient = ""
    if fields is not None:
        recipient = (normalise(fields.get("final-recipient"))
                     or normalise(fields.get("original-recipient")))
    if not recipient:
        found = find_addresses(msg.sender)
        recipient = found[0] if found else ""
    disposition = fields.get("disposition") if fields is not None else ""
    return Detection(kind=Kind.DELIVERED, findings=(
        Finding(recipient=recipient, diagnostic=disposition, action="delivered"),))
