"""Gmail and Google Workspace bounces that carry no usable RFC 3464 fields.

Two shapes, both sent by ``mailer-daemon@googlemail.com``:

* the classic text NDR: "Delivery to the following recipient failed permanently:" (or
  "... has been delayed:"), the addresses indented, then "Technical details of permanent
  failure:" with Google's words and, after "The error that the other server returned was:",
  the remote server's reply, often ending in Gmail's session state "(state 14)";
* the newer "** Message not delivered **" card whose delivery-status part is empty (a
  "Send mail as" or relay failure); the recipient is then the original message's To.

Gmail's newer bounces with a filled delivery-status part are left to the RFC 3464 decoder.
"""
from __future__ import annotations

import re

from ..address import find_addresses, normalise
from ..message import Message
from ..model import Kind, Reason
from ..smtp import reply_code_in, status_in
from .base import MAX_FINDINGS, Detection, Finding

NAME = "gmail"

_SENDERS = ("mailer-daemon@googlemail.com", "mailer-daemon@google.com")
_LEAD = "Delivery to the following recipient"
_DELAYED = "has been delayed"
_DETAILS = "Technical details of "
_REMOTE = "The error that the other server returned was:"
_END_MARKS = ("----- Original message -----", "----- Message header follows -----",
              "\n--\n", "----- Original Message -----")
_CARD = "** Message not delivered **"
_CARD_RESPONSE = "The response was:"
_STATE = re.compile(r"\(state (\d{1,2})\)")

#: Gmail's own words (not the remote server's) and the reason they state.
_GOOGLE_PHRASES: tuple[tuple[str, Reason], ...] = (
    ("the recipient server did not accept our requests to connect", Reason.EXPIRED),
    ("dns error: could not contact dns servers", Reason.NETWORKERROR),
    ("dns error: domain name not found", Reason.HOSTUNKNOWN),
    ("dns error: dns server returned answer with no data", Reason.HOSTUNKNOWN),
    ("storage quota exceeded", Reason.MAILBOXFULL),
    ("the email account that you tried to reach is over quota", Reason.MAILBOXFULL),
    ("the email account that you tried to reach does not exist", Reason.USERUNKNOWN),
    ("the email account that you tried to reach is disabled", Reason.SUSPEND),
    ("message rejected. please visit", Reason.SPAMDETECTED),
    ("send mail as", Reason.REJECTED),
    ("smtp server does not advertise auth capability", Reason.REJECTED),
)

#: Gmail's SMTP session state -> (command, reason). The state names the phase that failed;
#: state 14 (RCPT) says nothing beyond the remote's words, so it fixes no reason.
_STATES: dict[str, tuple[str, Reason | None]] = {
    "6": ("MAIL", Reason.FAILEDSTARTTLS),      # remote server does not support TLS
    "8": ("AUTH", Reason.SYSTEMERROR),         # SMTP AUTH failed with the remote server
    "9": ("AUTH", Reason.FAILEDSTARTTLS),      # TLS certificate trouble
    "12": ("AUTH", Reason.NORELAYING),         # remote refuses authenticated relay
    "13": ("EHLO", Reason.BLOCKED),            # refused at connection/greeting
    "14": ("RCPT", None),                      # refused at RCPT: the reply says why
    "15": ("DATA", Reason.FILTERED),
    "17": ("DATA", Reason.FILTERED),
    "18": ("DATA", Reason.FILTERED),
}


def detect(msg: Message) -> Detection | None:
    if not any(s in msg.sender.lower() for s in _SENDERS):
        return None
    text = msg.text
    if _LEAD in text:
        return _classic(text)
    if _CARD in text and not msg.dsn_recipients:
        return _card(msg)
    return None


def _classic(text: str) -> Detection:
    body = _cut(text[text.index(_LEAD):])
    lead, _, rest = body.partition(":")
    recipients, details = _split_recipients(rest)
    kind = Kind.DELAY if _DELAYED in lead else Kind.BOUNCE
    _, _, details = details.partition(_DETAILS)
    details = details.partition(":")[2].strip()
    remote = details.partition(_REMOTE)[2].strip() if _REMOTE in details else details
    reply_code, status = reply_code_in(remote), status_in(remote)
    command, reason = _state(remote)
    reason = _google_reason(details) or reason
    if kind is Kind.DELAY:
        reason = Reason.EXPIRED
    findings = tuple(Finding(recipient=r, diagnostic=details, status=status,
                             reply_code=reply_code, command=command, reason=reason,
                             action="delayed" if kind is Kind.DELAY else "failed")
                     for r in recipients)
    return Detection(kind=kind, findings=findings)


def _card(msg: Message) -> Detection:
    text = msg.text
    words = text.partition(_CARD)[2]
    response = words.partition(_CARD_RESPONSE)[2].strip()
    diagnostic = response or words.strip()
    recipients = find_addresses(msg.original_headers.get("to")) or find_addresses(
        msg.headers.get("x-failed-recipients"))
    reply_code, status = reply_code_in(response), status_in(response)
    reason = _google_reason(words)
    return Detection(kind=Kind.BOUNCE, findings=tuple(
        Finding(recipient=r, diagnostic=diagnostic, status=status, reply_code=reply_code,
                action="failed", reason=reason) for r in recipients))


def _cut(text: str) -> str:
    """``text`` up to the returned message."""
    end = len(text)
    for mark in _END_MARKS:
        at = text.find(mark)
        if at != -1:
            end = min(end, at)
    return text[:end]


def _split_recipients(rest: str) -> tuple[list[str], str]:
    """The indented address lines after the lead sentence, and the text that follows."""
    recipients: list[str] = []
    lines = rest.split("\n")
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        address = normalise(stripped)
        if address and " " not in stripped:
            recipients.append(address)
            if len(recipients) >= MAX_FINDINGS:
                return recipients, ""
            continue
        return recipients, "\n".join(lines[i:])
    return recipients, ""


def _state(remote: str) -> tuple[str, Reason | None]:
    match = _STATE.search(remote)
    if not match:
        return "", None
    return _STATES.get(match.group(1), ("", None))


def _google_reason(words: str) -> Reason | None:
    lowered = " ".join(words.lower().split())
    for phrase, reason in _GOOGLE_PHRASES:
        if phrase in lowered:
            return reason
    return None
