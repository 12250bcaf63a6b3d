"""qmail (and netqmail, vpopmail, notqmail): "Hi. This is the qmail-send program at host.".

Subject "failure notice"; one paragraph per recipient, ``<user@example.org>:`` then what
happened in qmail's stock sentences, which name the SMTP stage ("does not like recipient",
"Connected to ... but sender was rejected", "failed after I sent the message"), then the
server's words after "Remote host said:". Local failures carry a status as "(#5.1.1)". The
returned message follows "--- Below this line is a copy of the message.".
"""
from __future__ import annotations

from ..lazyre import LazyPattern
from ..message import Message
from ..model import Kind
from .base import Detection, Finding
from .smtptext import claim, command_of, finding, join_reply

NAME = "qmail"

_MARKERS = ("This is the qmail-send program", "I'm afraid I wasn't able to deliver your message",
            "I wasn't able to deliver your message to the following addresses",
            "\n--- Below this line is a copy of the message.")  # qmail-send's separator itself
_COPY = ("\n--- Below this line is a copy of the message",
         "\n--- Enclosed is a copy of the message",
         "\n--- Below this line is the original message")
_RECIPIENT = LazyPattern(r"^<([^<>\s]{1,512}@[^<>\s]{1,512})>:[ \t]*$")
_SAID = LazyPattern(r"[Rr]emote host (?:[0-9A-Za-z.:-]{1,253} )?said:[ \t]{0,4}")
_GIVING_UP = LazyPattern(r"^Giving up on [0-9A-Fa-f.:]{2,45}\.?$|^I'm not going to try again")
_TOO_LONG = "I'm not going to try again; this message has been in the queue too long."
#: qmail-remote's sentences -> the SMTP command they report (qmail-remote.c).
STAGES: tuple[tuple[str, str], ...] = (
    ("does not like recipient", "RCPT"),
    ("most progress was RCPT TO response", "RCPT"),
    ("does not like sender", "MAIL"),
    ("but sender was rejected", "MAIL"),
    ("most progress was MAIL FROM response", "MAIL"),
    ("but my name was rejected", "HELO"),
    ("but greeting failed", "CONN"),
    ("failed on DATA command", "DATA"),
    ("failed after I sent the message", "DATA"),
)


def detect(msg: Message) -> Detection | None:
    text = msg.text
    if not any(m in text for m in _MARKERS):
        return None
    for marker in _COPY:
        text = text.split(marker, 1)[0]
    findings = [_finding(addr, lines) for addr, lines in paragraphs(text)]
    return claim(Kind.BOUNCE, tuple(findings))


def paragraphs(text: str) -> list[tuple[str, list[str]]]:
    """(recipient, the lines about it) for every "<user@host>:" paragraph."""
    out: list[tuple[str, list[str]]] = []
    seen: set[str] = set()
    current: list[str] | None = None
    for line in text.split("\n"):
        match = _RECIPIENT.match(line.strip())
        if match:
            current = []
            if match.group(1).lower() not in seen:
                seen.add(match.group(1).lower())
                out.append((match.group(1), current))
        elif current is not None:
            if not line.strip():
                current = None
            else:
                current.append(line.strip())
    return out


def _finding(recipient: str, lines: list[str]) -> Finding:
    joined = " ".join(lines)
    command = next((c for phrase, c in STAGES if phrase in joined), "") or command_of(joined)
    said = next((i for i, line in enumerate(lines) if _SAID.search(line)), -1)
    if said < 0:
        # The queue-lifetime sentence only says why qmail stopped; the failure itself wins.
        cause = joined.replace(_TOO_LONG, " ").strip()
        return finding(recipient, cause or joined, command=command)
    reply = [_SAID.split(lines[said], 1)[1]]
    reply += [line for line in lines[said + 1:] if not _GIVING_UP.match(line)]
    return finding(recipient, join_reply(reply), command=command)
