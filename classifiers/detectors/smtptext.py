"""What the MTA detectors share on top of ``classifiers.smtp``: transcripts and prose reports.

``classifiers.smtp`` reads codes and the command out of one diagnostic; this module adds
what mail *servers'* own reports need: command verbs of a session transcript, the host named
in "host mx[ip] said:", the server's words without Postfix's wrapping, the status the server
spoke (which beats the MTA's guess), and DSN blocks read beside the prose. Pure and linear.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from ..lazyre import LazyPattern
from ..message import Headers, Message
from ..model import Kind, Reason
from ..reasons import phrase_reason
from ..smtp import command_in, is_generic, status_in, type_stripped
from ..text import fold
from .base import Detection, Finding
from .rfc3464 import fields_in_prose, kind_of, recipient_of

# "(in reply to end of\n    DATA command)": Postfix wraps it anywhere.
# Possessive words: at most three tries per "in reply to", whatever the text around it.
_IN_REPLY = LazyPattern(r"\(?in\s{1,8}+reply\s{1,8}+to\s{1,8}+(?:[A-Za-z]{2,8}+\s{1,8}+){1,3}?"
                        r"command\)?", re.IGNORECASE)
# "host mx.example.com[192.0.2.1] said:", "connect to mx.example.com[192.0.2.1]:25"
_HOST = LazyPattern(r"\b(?:host|connect to|connection with)[ \t\n]{1,4}"
                    r"([A-Za-z0-9][A-Za-z0-9.-]{0,253})[ \t\n]{0,4}\[")
#: Characters of a diagnostic worth reading (the engine keeps 1000 after folding).
MAX_DIAGNOSTIC = 4000
_SAID = LazyPattern(r"\bsaid:[ \t\n]{0,8}")
# "550-5.7.26 " heading each continuation line of a multi-line reply.
_CONTINUED = LazyPattern(r"^[245][0-9][0-9][ -](?:[245]\.[0-9]{1,3}\.[0-9]{1,3} {1,4})?")
#: SMTP verbs as a transcript writes them -> the command name outcomes carry.
VERBS: dict[str, str] = {
    "RCPT": "RCPT", "MAIL": "MAIL", "DATA": "DATA", "BDAT": "DATA", "EHLO": "EHLO",
    "HELO": "HELO", "LHLO": "HELO", "STARTTLS": "STARTTLS", "AUTH": "AUTH",
    "XFORWARD": "XFORWARD", "QUIT": "QUIT", "RSET": "RSET",
}


def command_name(verb: str) -> str:
    """``"RCPT To:<a@b>"`` -> ``"RCPT"``; "" when the line is no SMTP command."""
    words = verb.strip().upper().split(None, 1)
    return VERBS.get(words[0].split(":", 1)[0], "") if words else ""


def command_of(text: str) -> str:
    """The command a wrapped "(in reply to RCPT TO command)" names, or ""."""
    return command_in(fold(text))


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


def join_reply(lines: list[str]) -> str:
    """A multi-line reply as one line: "550-5.7.1 a" + "550 5.7.1 b" -> "550-5.7.1 a b"."""
    if not lines:
        return ""
    rest = [_CONTINUED.sub("", line.strip(), 1) for line in lines[1:]]
    return " ".join([lines[0].strip()] + rest)


def spoken_status(declared: str, diagnostic: str) -> str:
    """The status the server's own words give (same class, more than x.0.0), else the
    declared one: MTAs declare 5.0.0, or guess 4.4.7, while the reply said 5.7.1."""
    found = status_in(diagnostic)
    if found and not is_generic(found) and (not declared or found[0] == declared[0]):
        return found
    return declared or found


def finding(recipient: str, diagnostic: str, *, status: str = "", reply_code: str = "",
            command: str = "", remote_mta: str = "", action: str = "failed",
            reason: Reason | None = None) -> Finding:
    """A Finding whose status is the spoken one and whose command and host, when not
    given, come from the diagnostic (the engine completes the reply code)."""
    diagnostic = diagnostic[:MAX_DIAGNOSTIC]
    return Finding(
        recipient=recipient, diagnostic=diagnostic, status=spoken_status(status, diagnostic),
        reply_code=reply_code, action=action, remote_mta=remote_mta or host_in(diagnostic),
        command=command or command_of(diagnostic), reason=reason,
    )


class Findings:
    """One Finding per recipient, the first wins; ``wants`` lets a loop skip the work for
    an address it already has (hostile input may repeat one a million times)."""

    __slots__ = ("_by",)

    def __init__(self) -> None:
        self._by: dict[str, Finding] = {}

    def wants(self, recipient: str) -> bool:
        return recipient.strip().lower() not in self._by

    def add(self, found: Finding) -> None:
        self._by.setdefault(found.recipient.strip().lower(), found)

    def __bool__(self) -> bool:
        return bool(self._by)

    def all(self) -> tuple[Finding, ...]:
        return tuple(self._by.values())


def claim(kind: Kind, findings: Iterable[Finding]) -> Detection | None:
    """The Detection, or None when no recipient was found, so that a later detector (the
    generic decoders) may still read a message whose markers only looked like ours."""
    found = tuple(findings)
    return Detection(kind=kind, findings=found) if found else None


def unique(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """The first Finding per recipient: a report repeating an address (or hostile input
    repeating it a million times) yields one outcome, in linear time."""
    seen: dict[str, Finding] = {}
    for found in findings:
        seen.setdefault(found.recipient.strip().lower(), found)
    return tuple(seen.values())


def per_recipient(blocks: tuple[Headers, ...],
                  read: Callable[[Headers, str], Finding]) -> Detection | None:
    """``read(block, its recipient)`` for the first DSN block of each recipient: a report
    repeating one endlessly costs one reading of it; every block's action decides the kind."""
    found = Findings()
    for block in blocks:
        recipient = recipient_of(block)
        if found.wants(recipient):
            found.add(read(block, recipient))
    return claim(kind_of(dsn_action(b) for b in blocks), found.all())


def dsn_blocks(msg: Message) -> tuple[Headers, ...]:
    """The per-recipient DSN blocks: the delivery-status part's, else any in the prose
    (a bounce forwarded as plain text)."""
    return msg.dsn_recipients or fields_in_prose(msg)


def dsn_statuses(msg: Message) -> dict[str, str]:
    """Recipient (lowercased) -> the Status its DSN block declares, for prose-first readers."""
    return {recipient_of(b).lower(): first_word(b.get("status")) for b in dsn_blocks(msg)}


def first_word(value: str) -> str:
    """``"failed (permanent)"`` -> ``"failed"``; ``"5.0.0 (x)"`` -> ``"5.0.0"``."""
    words = value.split()
    return words[0].lower() if words else ""


def dsn_action(block: Headers) -> str:
    """A DSN recipient block's Action as one word, "failed" when it gives none."""
    return first_word(block.get("action")) or "failed"


def from_dsn(block: Headers, prose: str = "", recipient: str | None = None) -> Finding:
    """One DSN recipient block as a Finding; ``prose`` is the human text about it and
    ``recipient`` its ``recipient_of`` when the caller has it."""
    recipient = recipient_of(block) if recipient is None else recipient
    diagnostic = type_stripped(block.get("diagnostic-code"))
    remote = type_stripped(block.get("remote-mta")) or host_in(diagnostic) or host_in(prose)
    words = server_words(diagnostic or prose)
    # "x-unix; ..." comes from a local delivery program (pipe, maildrop): unless its words
    # say more, the mailer failed, which the phrase tables cannot know.
    local = block.get("diagnostic-code").split(";", 1)[0].strip().lower() == "x-unix"
    return finding(recipient, words, status=first_word(block.get("status")),
                   command=command_of(diagnostic) or command_of(prose),
                   remote_mta=remote.lower(), action=dsn_action(block),
                   reason=Reason.MAILERERROR if local and phrase_reason(words) is None else None)
