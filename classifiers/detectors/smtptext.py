"""Reading SMTP replies out of the prose mail servers write: codes, the command, the host.

Shared by the MTA detectors (Postfix, Sendmail, Exim, qmail, ...). Every function is pure,
linear in its input and safe on any text; none of them raises.
"""
from __future__ import annotations

import re

from ..message import Headers, Message, parse_fields
from ..model import Reason
from ..text import fold
from .base import Finding

# An RFC 3463 enhanced status code standing alone ("5.1.1", "4.7.26"), not part of an IP.
_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d]|\.\d)")
# An SMTP reply code that begins a reply: at the start, or after "said:" / ":" / ";".
_REPLY = re.compile(r"(?:^|[:;>]|said)[ \t\n]{0,8}([245][0-9][0-9])(?=[ \t\n-]|$)")
_IN_REPLY = re.compile(r"\(?in\s{1,8}reply\s{1,8}to\s{1,8}(RCPT\s{1,8}TO|MAIL\s{1,8}FROM|end\s{1,8}of"
                       r"\s{1,8}DATA|DATA|EHLO|HELO|LHLO|STARTTLS|AUTH|BDAT|XFORWARD|QUIT|RSET)\b"
                       r"[^()]{0,20}\)?", re.IGNORECASE)
# "host mx.example.com[192.0.2.1] said:", "connect to mx.example.com[192.0.2.1]:25"
_HOST = re.compile(r"\b(?:host|connect to|connection with)[ \t\n]{1,4}"
                   r"([A-Za-z0-9][A-Za-z0-9.-]{0,253})[ \t\n]{0,4}\[")
_SAID = re.compile(r"\bsaid:[ \t\n]{0,8}")
#: SMTP verbs (as a transcript or prose names them) -> the command name outcomes carry.
COMMANDS: dict[str, str] = {
    "RCPT": "RCPT", "RCPT TO": "RCPT", "MAIL": "MAIL", "MAIL FROM": "MAIL", "DATA": "DATA",
    "END OF DATA": "DATA", "BDAT": "DATA", "EHLO": "EHLO", "HELO": "HELO", "LHLO": "HELO",
    "STARTTLS": "STARTTLS", "AUTH": "AUTH", "XFORWARD": "XFORWARD", "QUIT": "QUIT",
    "RSET": "RSET", "CONNECT": "CONN", "CONN": "CONN", "MESSAGE BODY": "DATA",
}
_GENERIC_STATUS = re.compile(r"[245]\.0\.0")


def status_in(text: str) -> str:
    """The first enhanced status code in ``text`` ("5.1.1"), or ""."""
    match = _STATUS.search(text)
    return ".".join(match.groups()) if match else ""


def reply_code_in(text: str) -> str:
    """The SMTP reply code that begins the server's reply in ``text`` ("550"), or ""."""
    match = _REPLY.search(text)
    return match.group(1) if match else ""


def command_in(text: str) -> str:
    """The command named by "(in reply to RCPT TO command)" and the like, or ""."""
    match = _IN_REPLY.search(text)
    return COMMANDS.get(" ".join(match.group(1).upper().split()), "") if match else ""


def command_name(verb: str) -> str:
    """``"RCPT To:<a@b>"`` -> ``"RCPT"``; "" when it is no SMTP command."""
    words = verb.strip().upper().split()
    if not words:
        return ""
    two = " ".join(words[:2]).split(":", 1)[0]
    return COMMANDS.get(two) or COMMANDS.get(words[0].split(":", 1)[0], "")


def host_in(text: str) -> str:
    """The remote host named by "host mx.example.com[192.0.2.1] said:", or ""."""
    match = _HOST.search(text)
    return match.group(1).rstrip(".").lower() if match else ""


def server_words(text: str) -> str:
    """What the remote server said: the text after "said:" without "(in reply to ...)"."""
    match = _SAID.search(text)
    if match:
        text = text[match.end():]
    return fold(_IN_REPLY.sub(" ", text))


def best_status(declared: str, diagnostic: str) -> str:
    """The status the server's own words give (same class, not x.0.0), else the declared one.

    MTAs often declare 5.0.0 (or a guess like 4.4.7) while the reply says 5.7.1.
    """
    found = status_in(diagnostic)
    if not declared:
        return found
    if found and not _GENERIC_STATUS.fullmatch(found) and found[0] == declared[0]:
        return found
    return declared


def consistent_reply(reply_code: str, status: str) -> str:
    """The reply code, dropped when its class contradicts the status (554 with 4.0.0)."""
    if reply_code and status and reply_code[0] != status[0]:
        return ""
    return reply_code


def finding(recipient: str, diagnostic: str, *, status: str = "", reply_code: str = "",
            command: str = "", remote_mta: str = "", action: str = "failed",
            reason: Reason | None = None) -> Finding:
    """A Finding with codes, command and host filled from the diagnostic where not given."""
    status = best_status(status, diagnostic)
    reply_code = consistent_reply(reply_code or reply_code_in(diagnostic), status)
    return Finding(
        recipient=recipient, diagnostic=diagnostic, status=status, reply_code=reply_code,
        action=action, remote_mta=remote_mta or host_in(diagnostic),
        command=command or command_in(diagnostic), reason=reason,
    )


def field_value(value: str) -> str:
    """``"smtp; 550 5.1.1 ..."`` -> ``"550 5.1.1 ..."``: a DSN field without its type."""
    kind, sep, rest = value.partition(";")
    if sep and kind.strip() and " " not in kind.strip():
        return rest.strip()
    return value.strip()


def dsn_blocks(msg: Message) -> tuple[Headers, ...]:
    """The per-recipient DSN blocks: the message/delivery-status part's, else any in the prose."""
    if msg.dsn_recipients:
        return msg.dsn_recipients
    if "inal-Recipient:" not in msg.text:
        return ()
    return tuple(b for b in parse_fields(msg.text)
                 if "final-recipient" in b and ("status" in b or "action" in b))


def from_dsn(block: Headers, prose: str = "") -> Finding:
    """One DSN recipient block as a Finding; ``prose`` is the human text for this recipient."""
    recipient = field_value(block.get("final-recipient") or block.get("original-recipient"))
    diagnostic = field_value(block.get("diagnostic-code"))
    words = server_words(diagnostic or prose)
    command = command_in(diagnostic) or command_in(prose)
    remote = field_value(block.get("remote-mta")) or host_in(diagnostic) or host_in(prose)
    return finding(recipient, words, status=_first_word(block.get("status")), command=command,
                   remote_mta=remote.lower(), action=_first_word(block.get("action")) or "failed")


def _first_word(value: str) -> str:
    words = value.split()
    return words[0].lower() if words else ""
