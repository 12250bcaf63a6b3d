"""Amazon SES notifications in JSON: bounce, complaint and delivery, sent by email directly or
wrapped in an Amazon SNS envelope ("AWS Notification Message", ``"Message": "{...}"``).

SES's own bounce DSNs (``MAILER-DAEMON@*.amazonses.com``, multipart/report) are plain
RFC 3464 and left to that decoder, except the early form whose Diagnostic-Code puts SES's
own guess before the remote server's quoted reply ("5.1.0 - Unknown address error
550-'5.2.2 <a@b>... Mailbox Full'"): there the quoted reply is what the remote said. Fields read: ``notificationType``/``eventType``,
``bounce.bounceType``/``bounceSubType``/``bouncedRecipients[]`` (emailAddress, action,
status, diagnosticCode), ``bounce.reportingMTA``, ``complaint.complainedRecipients[]``,
``delivery.recipients[]``/``smtpResponse``, ``deliveryDelay.delayedRecipients[]``. Other
events (Send, Reject, Open, Click, ...) are reported as not a bounce.
"""
from __future__ import annotations

import json
TYPE_CHECKING = False  # typing costs start-up time; only type checkers need Any
if TYPE_CHECKING:
    from typing import Any

from ..lazyre import LazyPattern
from ..message import Message
from ..model import Kind, Reason
from ..smtp import reply_code_in, status_in, type_stripped
from .base import Detection, Finding

NAME = "amazonses"

_SENDERS = ("amazonaws.com", "amazonses.com")
_MARKERS = ('"notificationType"', '"eventType"', '\\"notificationType\\"', '\\"eventType\\"')
#: bounceSubType values that state the reason themselves.
_SUBTYPES: dict[str, Reason] = {
    "NoEmail": Reason.USERUNKNOWN,
    "MailboxFull": Reason.MAILBOXFULL,
    "MessageTooLarge": Reason.MESGTOOBIG,
}
_KINDS = {"Bounce": Kind.BOUNCE, "Complaint": Kind.COMPLAINT, "Delivery": Kind.DELIVERED,
          "DeliveryDelay": Kind.DELAY}
# Last resort for JSON too damaged to load: each bounced recipient object, flat.
_RECIPIENT = LazyPattern(r'\{[^{}]{0,2000}?"emailAddress"\s{0,4}:\s{0,4}"([^"]{1,320})"[^{}]{0,2000}\}')
_FIELD = LazyPattern(r'"(action|status|diagnosticCode)"\s{0,4}:\s{0,4}"([^"]{0,1000})"')
# "5.1.0 - Unknown address error 550-'5.2.2 <a@b>... Mailbox Full' (delivery attempts: 0)"
_QUOTED_REPLY = LazyPattern(r"^[245]\.\d{1,3}\.\d{1,3} - [A-Za-z ]{1,80} ([245]\d\d)-'(.{0,2000})'")


def detect(msg: Message) -> Detection | None:
    sender = msg.sender.lower()
    if not any(s in sender for s in _SENDERS) and "x-amz-sns-message-id" not in msg.headers:
        return None
    text = msg.text
    if not any(m in text for m in _MARKERS):
        return _quoted_dsn(msg) if msg.dsn_recipients else None
    notification = _load(text)
    if notification is None:
        return _salvage(text)
    kind = _KINDS.get(str(notification.get("notificationType") or notification.get("eventType")))
    if kind is None:
        return Detection(kind=Kind.NOT_BOUNCE)
    return Detection(kind=kind, findings=_READERS[kind](notification))


def _load(text: str) -> dict[str, Any] | None:
    """The SES notification object, unwrapped from an SNS envelope; None if unreadable."""
    start, end = text.find("{"), text.rfind("}")
    if start == -1 or end < start:
        return None
    blob = text[start:end + 1]
    obj = _loads(blob)
    if obj is None:  # a mail system folded the long lines: newlines are never JSON content
        obj = _loads(blob.replace("\n", ""))
    if obj is None:
        return None
    inner = obj.get("Message")
    if isinstance(inner, str):
        obj = _loads(inner)
    return obj if isinstance(obj, dict) else None


def _loads(blob: str) -> Any:
    try:
        return json.loads(blob)
    except ValueError:
        return None


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _bounced(notification: dict[str, Any]) -> tuple[Finding, ...]:
    bounce = notification.get("bounce") or {}
    reason = _SUBTYPES.get(str(bounce.get("bounceSubType", "")))
    mta = type_stripped(str(bounce.get("reportingMTA", "")))
    return tuple(_finding(r, reason, mta) for r in _dicts(bounce.get("bouncedRecipients")))


def _delayed(notification: dict[str, Any]) -> tuple[Finding, ...]:
    delay = notification.get("deliveryDelay") or {}
    mta = type_stripped(str(delay.get("reportingMTA", "")))
    return tuple(_finding(r | {"action": "delayed"}, None, mta)
                 for r in _dicts(delay.get("delayedRecipients")))


def _complained(notification: dict[str, Any]) -> tuple[Finding, ...]:
    complaint = notification.get("complaint") or {}
    return tuple(Finding(recipient=str(r.get("emailAddress", "")))
                 for r in _dicts(complaint.get("complainedRecipients")))


def _finding(fields: dict[str, Any], reason: Reason | None, mta: str = "") -> Finding:
    diagnostic = type_stripped(str(fields.get("diagnosticCode", "")))
    status = str(fields.get("status", "")) or status_in(diagnostic)
    return Finding(recipient=str(fields.get("emailAddress", "")), diagnostic=diagnostic,
                   status=status, reply_code=reply_code_in(diagnostic),
                   action=str(fields.get("action", "failed")), reason=reason, remote_mta=mta)


def _delivered(notification: dict[str, Any]) -> tuple[Finding, ...]:
    delivery = notification.get("delivery") or {}
    response = str(delivery.get("smtpResponse", ""))
    mta = str(delivery.get("reportingMTA", ""))
    recipients = delivery.get("recipients")
    return tuple(Finding(recipient=str(r), diagnostic=response, status=status_in(response),
                         reply_code=reply_code_in(response), action="delivered", remote_mta=mta)
                 for r in (recipients if isinstance(recipients, list) else ()))


_READERS = {Kind.BOUNCE: _bounced, Kind.DELAY: _delayed, Kind.COMPLAINT: _complained,
            Kind.DELIVERED: _delivered}


def _quoted_dsn(msg: Message) -> Detection | None:
    """The early SES DSN: the remote's reply quoted inside SES's Diagnostic-Code."""
    findings = []
    for fields in msg.dsn_recipients:
        match = _QUOTED_REPLY.match(type_stripped(fields.get("diagnostic-code")))
        if not match:
            return None
        said = match.group(2)
        findings.append(Finding(
            recipient=fields.get("final-recipient") or fields.get("original-recipient"),
            diagnostic=said, status=status_in(said) or fields.get("status").split(" ")[0],
            reply_code=match.group(1), action=fields.get("action") or "failed",
            remote_mta=type_stripped(fields.get("remote-mta"))))
    return Detection(kind=Kind.BOUNCE, findings=tuple(findings))


def _salvage(text: str) -> Detection | None:
    """Bounced recipients read field by field from JSON that does not load."""
    flat = text.replace("\\\"", '"').replace("\n", "")
    if '"Bounce"' not in flat:
        return None
    findings = []
    for match in _RECIPIENT.finditer(flat):
        fields = {"emailAddress": match.group(1)} | dict(_FIELD.findall(match.group(0)))
        findings.append(_finding(fields, None))
    return Detection(kind=Kind.BOUNCE, findings=tuple(findings))
