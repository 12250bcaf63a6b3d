"""RFC 5965 abuse feedback reports (ARF): a recipient complained about the message.

Also Microsoft's junk mail reports (JMRP), which return the message with the complaining
address in its X-HmXmrOriginalRecipient field.

The complaining address is Original-Rcpt-To (one field per address) or the older
Removal-Recipient, else the To of the returned message, else sisimai's placeholder for "the
report names no one", so complaint counts stay comparable with sisimai's. Kind COMPLAINT;
the engine gives reason ``feedback``.
"""
from __future__ import annotations

from ..address import find_addresses, normalise
from ..message import Headers, Message, parse_fields
from ..model import Kind
from .base import Detection, Finding

NAME = "arf"

#: sisimai's address for a complaint whose report names no recipient.
UNDISCLOSED = "undisclosed-recipient-in-headers@libsisimai.org.invalid"
#: A Feedback-Type field written into the text of a report whose MIME is broken.
_MARKS = ("Feedback-Type:", "Feedback-type:", "feedback-type:", "FEEDBACK-TYPE:")


def detect(msg: Message) -> Detection | None:
    fields = msg.feedback
    if fields is None:
        fields = _fields_in_prose(msg) or _microsoft_jmrp(msg)
        if fields is None:
            return None
    recipients = [a for a in (normalise(v) for v in fields.get_all("original-rcpt-to")
                              + fields.get_all("removal-recipient")) if a]
    if not recipients:
        recipients = find_addresses(msg.original_headers.get("to"))
    if not recipients:
        recipients = [UNDISCLOSED]
    feedback_type = fields.get("feedback-type").strip().lower() or "abuse"
    diagnostic = " ".join(v for v in (feedback_type, fields.get("auth-failure"),
                                      fields.get("user-agent")) if v)
    findings = tuple(Finding(recipient=r, diagnostic=diagnostic, remote_mta=_source(fields))
                     for r in recipients)
    return Detection(kind=Kind.COMPLAINT, findings=findings)


def _fields_in_prose(msg: Message) -> Headers | None:
    """Feedback fields in a report whose MIME is broken: a block with Feedback-Type."""
    if msg.report_type != "feedback-report" and not any(m in msg.text for m in _MARKS):
        return None
    for part in msg.parts:
        for block in parse_fields(part.text):
            if "feedback-type" in block and ("user-agent" in block or "version" in block):
                return block
    return None


def _microsoft_jmrp(msg: Message) -> Headers | None:
    """Microsoft's junk mail reports (JMRP) are no ARF: the complaint is the returned
    message, whose X-HmXmrOriginalRecipient names the complaining address."""
    complainant = msg.original_headers.get("x-hmxmroriginalrecipient")
    if not complainant:
        return None
    return Headers([("Feedback-Type", "abuse"), ("User-Agent", "Microsoft JMRP"),
                    ("Original-Rcpt-To", complainant),
                    ("Source-IP", msg.original_headers.get("x-reporter-ip"))])


def _source(fields: Headers) -> str:
    return (fields.get("reporting-mta").partition(";")[2].strip().lower()
            or fields.get("source-ip").strip())
