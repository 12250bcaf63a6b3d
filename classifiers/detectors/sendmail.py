"""Sendmail (V8 and V5): "Returned mail: see transcript for details" with a session transcript.

V8 writes a prose list ("----- The following addresses had permanent fatal errors -----",
``<addr>`` and ``(reason: ...)``), a transcript ("----- Transcript of session follows -----":
``... while talking to mx.example.com.:``, ``>>> RCPT To:<a>``, ``<<< 550 5.1.1 ...``, then
Sendmail's own verdict ``550 5.1.1 <a>... User unknown``), and a DSN whose Diagnostic-Code
keeps only the first line of the server's reply, or nothing. V5 has the transcript alone and
the returned message inline after "----- Unsent message follows -----". The transcript gives
the full reply and the SMTP command, so it is read first; the DSN gives the recipient list.
"""
from __future__ import annotations

from ..address import find_addresses, normalise
from ..lazyre import LazyPattern
from ..message import Headers, Message, parse, parse_header_block
from ..smtp import reply_code_in, type_stripped
from .base import Detection, Finding
from .rfc3464 import kind_of
from .smtptext import (claim, command_name, dsn_action, dsn_blocks, finding, first_word,
                       join_reply, per_recipient, unique)

NAME = "sendmail"

_SUBJECTS = ("returned mail:", "postmaster notify:", "warning: could not send message")
_TRANSCRIPT = "----- Transcript of session follows -----"
# A local delivery agent's own line in a transcript: "mail.local: unknown user: kijitora".
_LOCAL_MAILER = LazyPattern(r"[a-z][\w.-]{0,30}: \S")
_NOTES = 3  # local mailer lines kept before a verdict
_FATAL = "The following addresses had permanent"  # "... fatal errors -----", "... delivery errors"
_UNSENT = ("----- Unsent message follows -----", "----- Original message follows -----",
           "----- Message header follows -----")
_TALKING = LazyPattern(r"^\.{0,3} ?[Ww]hile talking to ([A-Za-z0-9][A-Za-z0-9.-]{0,253})")
_REPLY = LazyPattern(r"^<<< ?(([245])[0-9][0-9])([ -]?)(.*)$")
# Sendmail's own verdict on one recipient: "550 5.1.1 <a@b>... User unknown"
_VERDICT = LazyPattern(r"^(?:([245][0-9][0-9]) )?(?:([245]\.[0-9]{1,3}\.[0-9]{1,3}) )?"
                       r"<([^<>\s]{1,256}@[^<>\s]{1,256})>\.\.\. ?(.*)$")
# Its verdict on a whole host (V5): "421 example.com (smtp)... Deferred: Connection timed out"
_HOST_VERDICT = LazyPattern(r"^([245][0-9][0-9]) ([A-Za-z0-9][A-Za-z0-9.-]{0,253}) "
                            r"\([a-z]{1,20}\)\.\.\. ")
_RECENT = 50
_BARE = LazyPattern(r"^[245][0-9][0-9][ -]")


class _Reply:
    """One error reply of the remote server, with the command it answered."""

    __slots__ = ("host", "command", "argument", "lines")

    def __init__(self, host: str, command: str, argument: str, lines: list[str]) -> None:
        self.host, self.command, self.argument, self.lines = host, command, argument, lines

    @property
    def text(self) -> str:
        return join_reply(self.lines)


class _Transcript:
    """What a transcript holds: error replies, per-recipient and per-host verdicts."""

    __slots__ = ("replies", "to_rcpt", "verdicts", "bare", "hosts")

    def __init__(self) -> None:
        self.replies: list[_Reply] = []
        self.to_rcpt: dict[str, _Reply] = {}  # recipient -> the reply to its RCPT TO
        self.verdicts: dict[str, tuple[str, _Reply | None]] = {}
        self.bare: list[str] = []      # "550 sorry, no mailbox here by that name"
        self.hosts: dict[str, str] = {}  # "421 example.com (smtp)... Deferred: ..."


def detect(msg: Message, nested: bool = False) -> Detection | None:
    text = msg.text
    if not (msg.subject.strip().lower().startswith(_SUBJECTS) or _TRANSCRIPT in text
            or _FATAL in text):
        return None
    transcript = read_transcript(_section(text, _TRANSCRIPT))
    blocks = dsn_blocks(msg)
    if not blocks and not nested and _is_report(msg.original_headers):
        # A gateway wrapped Sendmail's report: the attached message is the real one.
        inner = detect(parse(msg.original_text.encode("utf-8", "surrogateescape")), nested=True)
        if inner is not None and inner.findings:
            return inner
    if blocks:
        return per_recipient(blocks, lambda block, recipient: _from_block(block, transcript,
                                                                          recipient))
    findings = [_from_transcript(a, transcript, "", "") for a in _recipients(text, transcript, msg)]
    return claim(kind_of(f.action for f in findings), unique(findings))


def _is_report(headers: Headers) -> bool:
    return ("report-type=delivery-status" in headers.get("content-type").lower()
            or "mailer-daemon" in headers.get("from").lower())


def _section(text: str, marker: str) -> str:
    """The lines after ``marker`` up to the next "   ----- ... -----" heading."""
    start = text.find(marker)
    if start < 0:
        return ""
    body = text[text.find("\n", start) + 1:] if "\n" in text[start:] else ""
    end = body.find("\n   -----")
    return body if end < 0 else body[:end]


def read_transcript(section: str) -> _Transcript:
    """The error replies and Sendmail's per-recipient verdicts, in order."""
    out = _Transcript()
    host, command, argument = "", "CONN", ""
    pending: _Reply | None = None
    continuing = False
    rcpt_args: dict[str, str] = {}  # ">>> RCPT To:<a>" line -> its address, read once
    notes: list[str] = []  # a local mailer's words before its verdict ("mail.local: unknown user: x")
    for raw in section.split("\n"):
        line = raw.strip()
        if not line:
            continue
        talking = _TALKING.match(line)
        if talking:
            host = talking.group(1).rstrip(".").lower()
            command, argument, continuing = "CONN", "", False
            continue
        if line.startswith(">>>"):
            said = line[3:].strip()
            command, continuing = command_name(said) or command, False
            if command != "RCPT":
                argument = ""
            elif said not in rcpt_args:
                argument = rcpt_args[said] = (find_addresses(said)[:1] or [""])[0]
            else:
                argument = rcpt_args[said]
            continue
        reply = _REPLY.match(line)
        if reply:
            if continuing and out.replies:
                out.replies[-1].lines.append(line[3:].strip())
            elif reply.group(2) in "45" and command != "QUIT":
                pending = _Reply(host, command, argument, [line[3:].strip()])
                out.replies.append(pending)
                if argument:
                    out.to_rcpt.setdefault(argument.lower(), pending)
            continuing = reply.group(3) == "-" and bool(out.replies) and out.replies[-1] is pending
            continue
        continuing = False
        verdict = _VERDICT.match(line)
        if verdict:
            address = normalise(verdict.group(3)).lower()
            words = verdict.group(4)
            if not reply_code_in(words):  # "554 <a>... 550 Host unknown": the inner code counts
                words = " ".join(w for w in (verdict.group(1), verdict.group(2), words) if w)
            if notes and pending is None:
                words = " ".join(notes[-_NOTES:] + [words])
            out.verdicts.setdefault(address, (words, pending))
            pending, notes = None, []
            continue
        mailer = _HOST_VERDICT.match(line)
        if mailer:
            out.hosts.setdefault(mailer.group(2).lower(), line)
        elif _BARE.match(line):
            out.bare.append(line)
        elif _LOCAL_MAILER.match(line):
            notes.append(line)
    return out


def _from_block(block: Headers, transcript: _Transcript, recipient: str) -> Finding:
    return _from_transcript(recipient, transcript, type_stripped(block.get("diagnostic-code")),
                            first_word(block.get("status")), dsn_action(block),
                            type_stripped(block.get("remote-mta")).lower())


def _from_transcript(recipient: str, transcript: _Transcript, dsn_diagnostic: str,
                     status: str, action: str = "failed", remote: str = "") -> Finding:
    """The recipient's reply: the one to its RCPT, its verdict's, or the DSN's own words."""
    key = normalise(recipient).lower()
    verdict, verdict_reply = transcript.verdicts.get(key, ("", None))
    reply = (transcript.to_rcpt.get(key) or verdict_reply
             or _matching(transcript.replies, dsn_diagnostic))
    if reply is not None:
        return finding(recipient, reply.text, status=status, command=reply.command,
                       remote_mta=reply.host or remote, action=action)
    verdict = (verdict or transcript.hosts.get(key.rpartition("@")[2], "")
               or (transcript.bare[-1] if transcript.bare and not transcript.replies else ""))
    # "X-Unix; 77" or nothing: Sendmail's own verdict line says more.
    words = dsn_diagnostic if reply_code_in(dsn_diagnostic) or not verdict else verdict
    return finding(recipient, words, status=status, remote_mta=remote, action=action)


def _matching(replies: list[_Reply], diagnostic: str) -> _Reply | None:
    """The transcript reply the DSN's (first-line-only) diagnostic was cut from."""
    head = _same_line(diagnostic)[:60]
    if not head:
        return None
    # A real transcript holds a handful of replies; looking at the last few keeps a report
    # with thousands of DSN blocks linear.
    return next((r for r in reversed(replies[-_RECENT:]) if _same_line(r.text).startswith(head)),
                None)


def _same_line(text: str) -> str:
    """Reply text in one comparable form: "552-5.7.0 x" and "552 5.7.0  x" alike."""
    if text[3:4] == "-":
        text = text.replace("-", " ", 1)
    return " ".join(text.split())


def _recipients(text: str, transcript: _Transcript, msg: Message) -> list[str]:
    """Without a DSN: the fatal-errors list, the verdicts, the refused RCPTs, else the
    returned message's To."""
    listed = [a for line in _section(text, _FATAL).split("\n")
              if not line.strip().startswith("(") for a in find_addresses(line)]
    refused = [r.argument for r in transcript.to_rcpt.values()]
    found = list(dict.fromkeys(listed + list(transcript.verdicts) + refused))
    if found:
        return found
    original = msg.original_headers if len(msg.original_headers) else _inline_original(text)
    return find_addresses(original.get("to"))[:1]


def _inline_original(text: str) -> Headers:
    for marker in _UNSENT:
        start = text.find(marker)
        if start >= 0:
            return parse_header_block(text[text.find("\n", start) + 1:])
    return Headers()
