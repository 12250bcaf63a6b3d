"""Gmail and Google Workspace bounces that carry no usable RFC 3464 fields.

Two shapes, both sent by ``mailer-daemon@googlemail.com``:

* the classic text NDR: "Delivery to the following recipient failed permanently:" (or
  "... has been delayed:"), the addresses indented, then "Technical details of permanent
  failure:" with Google's words and, after "The error that the other server returned was:",
  the remote server's reply, often ending in Gmail's session state "(state 14)";
* the newer card ("** Address not found **", "** Message not delivered **", "** Message
  blocked **", "** Delivery incomplete **") when its delivery-status part is empty or missing:
  the recipient is the one the card names ("wasn't delivered to a@b"), else the original
  message's To (a "Send mail as" failure names nobody), else X-Failed-Recipients.

Gmail's newer bounces with a filled delivery-status part are left to the RFC 3464 decoder.
"""
from __future__ import annotations

from ..address import find_addresses, normalise
from ..lazyre import LazyPattern
from ..message import Message
from ..model import Kind, Reason
from ..reasons import SPECIFIC_STATUS
from ..smtp import reply_code_in, status_in
from .base import MAX_FINDINGS, Detection, Finding

NAME = "gmail"

_SENDERS = ("mailer-daemon@googlemail.com", "mailer-daemon@google.com")
_LEAD = "Delivery to the following recipient"
_DELAYED = "has been delayed"
#: Gmail opens with the lead (after a short warning on delays); later it would be quoted.
_OPENING = 2000
_DETAILS = "Technical details of "
_REMOTE = "The error that the other server returned was:"
_END_MARKS = ("----- Original message -----", "----- Message header follows -----",
              "\n--\n", "----- Original Message -----")
#: Card titles; "Delivery incomplete" is a delay (Gmail keeps trying).
_CARDS = ("** Address not found **", "** Message not delivered **", "** Message blocked **",
          "** Delivery incomplete **")
_CARD_DELAY = "** Delivery incomplete **"
_CARD_RESPONSE = "The response was:"
# "Your message wasn't delivered to a@b because ...", "... delivering your message to a@b."
_CARD_NAMES = LazyPattern(r"(?:wasn't delivered to|delivering your message to|"
                          r"has been delayed to) ([^\s<>()]{1,320}@[^\s<>()]{1,255})")
_STATE = LazyPattern(r"\(state (\d{1,2})\)")
# "... rejected by the server for the recipient domain example.jp by mx.example.jp. [192.0.2.1]."
_REMOTE_HOST = LazyPattern(r"for the recipient domain \S{1,255} by ([A-Za-z0-9][A-Za-z0-9.-]{0,253}?)\.? \[")

#: Gmail's own words (not the remote server's) and the reason they state.
_GOOGLE_PHRASES: tuple[tuple[str, Reason], ...] = (
    ("the recipient server did not accept our requests to connect", Reason.EXPIRED),
    ("dns error: could not contact dns servers", Reason.EXPIRED),  # retried until it gave up
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
#: state 14 (RCPT) says nothing beyond the remote's words, so it fixes no reason, and a
#: specific status in the reply (5.2.2, 5.3.4 ...) outranks any state.
_STATES: dict[str, tuple[str, Reason | None]] = {
    "6": ("MAIL", Reason.SYSTEMERROR),         # "500 Remote server does not support TLS"
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
    sender = msg.sender.lower()
    if not any(s in sender for s in _SENDERS):
        return None
    text = msg.text
    if text.find(_LEAD, 0, _OPENING) != -1:
        return _classic(text)
    if not msg.dsn_recipients:
        title = next((t for t in _CARDS if t in text), "")
        if title:
            return _card(msg, title)
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
    if status in SPECIFIC_STATUS:
        reason = None
    reason = _google_reason(details) or reason
    if kind is Kind.DELAY:
        reason = Reason.EXPIRED
    host = _REMOTE_HOST.search(" ".join(details.split()))
    findings = tuple(Finding(recipient=r, diagnostic=details, status=status,
                             reply_code=reply_code, command=command, reason=reason,
                             action="delayed" if kind is Kind.DELAY else "failed",
                             remote_mta=host.group(1).lower() if host else "")
                     for r in recipients)
    return Detection(kind=kind, findings=findings)


def _card(msg: Message, title: str) -> Detection:
    words = msg.text.partition(title)[2]
    response = words.partition(_CARD_RESPONSE)[2].strip()
    diagnostic = response or words.strip()
    named = _CARD_NAMES.search(words.partition(_CARD_RESPONSE)[0])
    recipients = ([normalise(named.group(1).rstrip("."))] if named else
                  find_addresses(msg.original_headers.get("to"))
                  or find_addresses(msg.headers.get("x-failed-recipients")))
    reply_code, status = reply_code_in(response), status_in(response)
    delayed = title == _CARD_DELAY
    reason = Reason.EXPIRED if delayed else _google_reason(words)
    return Detection(kind=Kind.DELAY if delayed else Kind.BOUNCE, findings=tuple(
        Finding(recipient=r, diagnostic=diagnostic, status=status, reply_code=reply_code,
                action="delayed" if delayed else "failed", reason=reason)
        for r in recipients if r))


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
        address = normalise(stripped.split()[0])  # "a@b" or "a@b (Name)"
        if address:
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
