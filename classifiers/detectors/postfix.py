"""Postfix: "Undelivered Mail Returned to Sender" and "Postfix SMTP server: errors from ...".

Postfix's bounce(8) writes a prose report ("This is the mail system at host ...", then one
paragraph per recipient: ``<addr>: host mx[ip] said: 550 5.1.1 ... (in reply to RCPT TO
command)``) and, usually, a message/delivery-status part whose Status is often only 5.0.0.
The prose names the SMTP command; the diagnostic may carry a more specific status. Both are
read: the DSN block gives the recipient list, the prose fills what the DSN lacks, and a
report without a DSN (a forwarded copy, or an old Postfix) is read from the prose alone.
The postmaster notice "errors from" carries an SMTP session transcript instead.
"""
from __future__ import annotations

from ..address import find_addresses
from ..lazyre import LazyPattern
from ..message import Message
from ..model import Kind
from ..smtp import status_in
from .base import Detection, Finding
from .rfc3464 import kind_of
from .smtptext import (claim, command_name, command_of, dsn_blocks, finding, from_dsn, host_in,
                       per_recipient, server_words, unique)

NAME = "postfix"

_SUBJECTS = ("undelivered mail returned to sender", "undeliverable mail returned to sender")
_SESSION_SUBJECT = "postfix smtp server: errors from"
_MARKERS = ("This is the mail system at host", "This is the Postfix program at host")
# One recipient paragraph: "<a@b> (expanded from <c@d>): what happened"
_PARAGRAPH = LazyPattern(r"<([^<>\s]{1,256}@[^<>\s]{1,256})>[ \t\n]{0,8}"
                         r"(?:\(expanded[ \t\n]{1,8}from[ \t\n]{1,8}<[^<>\n]{0,256}>\))?"
                         r":[ \t\n]{0,8}")
_TRANSCRIPT = LazyPattern(r"^ (In|Out):[ \t]{1,4}(.*)$")
_CODE = LazyPattern(r"[245][0-9][0-9][ -]")


def detect(msg: Message) -> Detection | None:
    subject = msg.subject.strip().lower()
    if subject.startswith(_SESSION_SUBJECT):
        return _session(msg.text)
    if (subject not in _SUBJECTS and not any(m in msg.text for m in _MARKERS)
            and "x-postfix-queue-id" not in msg.dsn_fields):
        return None
    prose = paragraphs(msg.text)
    blocks = dsn_blocks(msg)
    if blocks:
        return per_recipient(blocks, lambda block, recipient: from_dsn(
            block, prose.get(recipient.lower(), ""), recipient))
    findings = [_from_prose(addr, text) for addr, text in prose.items()]
    if not findings:
        # "--- Delivery report unavailable ---": the returned message names the recipient.
        findings = [Finding(recipient=a, action="failed")
                    for a in find_addresses(msg.original_headers.get("to"))[:1]]
    return claim(kind_of(f.action for f in findings), unique(findings))


def paragraphs(text: str) -> dict[str, str]:
    """Recipient (lowercased) -> what the report says about it, from the prose paragraphs."""
    out: dict[str, str] = {}
    for paragraph in text.split("\n\n"):
        paragraph = paragraph.strip()
        if not paragraph.startswith("<"):
            continue
        match = _PARAGRAPH.match(paragraph)
        if match:
            out.setdefault(match.group(1).lower(), paragraph[match.end():])
    return out


def _from_prose(address: str, text: str) -> Finding:
    return finding(address, server_words(text), status=status_in(text), remote_mta=host_in(text),
                   command=command_of(text) if "said:" in text else _conn(text))


def _conn(text: str) -> str:
    """Failures before any command ("connect to", "refused to talk to me") answer CONN."""
    lowered = text.lower()
    return "CONN" if "connect to" in lowered or "refused to talk to me" in lowered else ""


def _session(text: str) -> Detection | None:
    """The postmaster copy of a failed SMTP session: the last error reply and its command."""
    recipients: list[str] = []
    command = error = rejected = ""
    for line in _joined_transcript(text):
        who, said = line
        if who == "In":
            command = command_name(said)
            if command == "RCPT":
                recipients.extend(find_addresses(said.split("ORCPT", 1)[0])[:1])
        elif _CODE.match(said) and said[0] in "45":
            error = said
            rejected = recipients[-1] if command == "RCPT" and recipients else ""
            break
    if not error:
        return None
    targets = [rejected] if rejected else recipients
    return claim(Kind.BOUNCE, unique(
        finding(r, error, command=command) for r in targets))


def _joined_transcript(text: str) -> list[tuple[str, str]]:
    """" In:"/" Out:" lines with their indented continuation lines joined."""
    lines: list[tuple[str, list[str]]] = []  # pieces joined once: re-joining was quadratic
    for raw in text.split("\n"):
        match = _TRANSCRIPT.match(raw)
        if match:
            lines.append((match.group(1), [match.group(2).strip()]))
        elif lines and raw.startswith("     ") and raw.strip():
            lines[-1][1].append(raw.strip())
    return [(who, " ".join(pieces)) for who, pieces in lines]
