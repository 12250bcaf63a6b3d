"""SMTP words inside NDR text: reply codes, enhanced status codes, the command answered.

Pure, linear-time helpers shared by the engine (which fills what a detector left empty from
the diagnostic) and by detectors that read prose. None of them raises.
"""
from __future__ import annotations

import re

# An RFC 3463 enhanced status code standing alone ("5.1.1", "4.7.26"), not part of an IP.
_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?!\d|\.\d)")
# A reply code that begins a reply: at the start, after ":", ";", ">", "]", ")" or "said", or
# anywhere when an enhanced status follows it ("... 552 5.2.2 ..."); not any number in the
# prose ("retry in 450 seconds").
_REPLY = re.compile(r"(?:^|[:;>\])]|\bsaid)[ \t\n]{0,8}([245][0-5][0-9])(?=[ \t\n-]|$)"
                    r"|(?<![\w.])([245][0-5][0-9])[ -](?=[245]\.\d{1,3}\.\d{1,3})")
# "(in reply to RCPT TO command)", "after end of data", "while sending MAIL FROM", a session
# transcript's ">>> RCPT To:<...>", Yahoo's "[RCPT_TO]", qmail's "RCPT TO response".
_COMMAND = re.compile(
    r"(?:in reply to|in response to|after|while sending)[ \t\n]{1,4}(?:the[ \t\n]{1,4})?"
    r"(rcpt to|mail from|end of data|data|ehlo|helo|lhlo|starttls|auth|bdat|quit|rset|"
    r"message body|rcpt|mail)\b"
    r"|>>> ?(rcpt to|mail from|data|ehlo|helo|lhlo|starttls|auth|bdat)\b"
    r"|\[(rcpt_to|mail_from|data)\]"
    r"|\b(rcpt to|mail from)(?: command)? response")  # on lowercased text: no IGNORECASE
#: What every match of ``_COMMAND`` begins with.
_COMMAND_STARTS = ("in re", "after", "while sending", ">>>", "[rcpt_to]", "[mail_from]", "[data]",
                   "rcpt to", "mail from")
#: Command words as NDRs write them -> the name outcomes carry.
COMMANDS: dict[str, str] = {
    "rcpt to": "RCPT", "rcpt": "RCPT", "mail from": "MAIL", "mail": "MAIL", "data": "DATA",
    "end of data": "DATA", "bdat": "DATA", "message body": "DATA", "ehlo": "EHLO",
    "helo": "HELO", "lhlo": "HELO", "starttls": "STARTTLS", "auth": "AUTH", "quit": "QUIT",
    "rset": "RSET", "rcpt_to": "RCPT", "mail_from": "MAIL",
}


def status_in(text: str) -> str:
    """The first enhanced status code in ``text`` ("5.1.1"), or ""."""
    match = _STATUS.search(text)
    return ".".join(match.groups()) if match else ""


def reply_code_in(text: str) -> str:
    """The SMTP reply code that begins the server's reply in ``text`` ("550"), or ""."""
    match = _REPLY.search(text[:4000])
    return (match.group(1) or match.group(2)) if match else ""


def command_in(text: str) -> str:
    """The command named by "(in reply to RCPT TO command)" and the like, or ""."""
    match = _search_at(_COMMAND, text[:8000].lower(), _COMMAND_STARTS)
    return COMMANDS.get(next(filter(None, match.groups())), "") if match else ""


def _search_at(pattern: re.Pattern[str], text: str, starts: tuple[str, ...]) -> re.Match[str] | None:
    """``pattern.search(text)`` for a pattern whose every match begins with one of ``starts``:
    it is tried only where one of them occurs, leftmost first (found with ``str.find``, in C).
    A search from every position cost ~60 ns a character: most of the time spent on prose
    that names no command. Linear: each word's next occurrence is looked for once."""
    found = list(map(text.find, starts))
    if max(found) == -1:  # most prose: none of the words
        return None
    upcoming = dict(zip(starts, found))
    while True:
        at = min((found for found in upcoming.values() if found != -1), default=-1)
        if at == -1:
            return None
        match = pattern.match(text, at)
        if match:
            return match
        for word, found in upcoming.items():
            if found == at:
                upcoming[word] = text.find(word, at + 1)


def is_generic(status: str) -> bool:
    """True for "5.0.0"/"4.0.0"-like codes that say only the class."""
    return status.endswith(".0.0") or status in ("5.0", "4.0")


def best_status(declared: str, diagnostic: str) -> str:
    """The declared status, or the more specific one of the same class the diagnostic gives."""
    found = status_in(diagnostic)
    if not declared:
        return found
    if not found or found[0] != declared[0] or found == declared:
        return declared
    if is_generic(declared) and not is_generic(found):
        return found
    # "5.2.0" declared, "5.2.2" said: the same subject, in more detail.
    subject, detail = declared.split(".")[1:] if declared.count(".") == 2 else ("", "")
    if detail == "0" and found.split(".")[1] == subject:
        return found
    return declared


def best_reply_code(declared: str, diagnostic: str, status: str) -> str:
    """The reply code given, else the one in the diagnostic; dropped when its class
    contradicts the status (a "250" quoted in a 5.x.x failure is not the reply)."""
    code = declared or reply_code_in(diagnostic)
    if code and status and code[0] != status[0]:
        return "" if not declared else code
    return code


def type_stripped(value: str) -> str:
    """``"smtp; 550 5.1.1 ..."`` -> ``"550 5.1.1 ..."``: a DSN field without its type."""
    kind, sep, rest = value.partition(";")
    if sep and kind.strip() and " " not in kind.strip() and len(kind) <= 20:
        return rest.strip()
    return value.strip()
