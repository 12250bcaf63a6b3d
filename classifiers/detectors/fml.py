"""fml (the Japanese mailing-list manager): notices to the list's admin address.

Header ``X-MLServer: fml [fml 4.0.3 ...]``; the Subject and body say what happened
("Loop Alert: Duplicated Message-ID (neko ML)", "NOT MEMBER article from ...",
"Security Alert"), and the body names the address concerned in angle brackets. The cause
words state the reason (``CAUSES``, after sisimai's table).
"""
from __future__ import annotations

from ..address import find_addresses
from ..message import Message
from ..model import Kind, Reason
from .base import Detection
from .smtptext import claim, finding, unique

NAME = "fml"

#: The Subject of fml's notices.
TITLES = ("are not member", "not member article from", "reject mail ", "spam mail from a spammer",
          "fml system error message", "loop alert:", "loop back warning:", "unix from loop",
          "security alert")
#: Words of fml's notices -> the reason they state.
CAUSES: tuple[tuple[str, Reason], ...] = (
    ("duplicated message-id", Reason.SYSTEMERROR),
    ("loop alert:", Reason.SYSTEMERROR),
    ("loop back warning:", Reason.SYSTEMERROR),
    ("has detected a loop condition", Reason.SYSTEMERROR),
    ("unix from loop", Reason.SYSTEMERROR),
    ("fml system error message", Reason.SYSTEMERROR),
    ("not member article from", Reason.REJECTED),
    ("you are not a member of", Reason.REJECTED),
    ("are not member", Reason.REJECTED),
    ("spam mail from a spammer is rejected", Reason.REJECTED),
    ("security alert", Reason.SECURITYERROR),
)


def detect(msg: Message) -> Detection | None:
    if "fml" not in msg.headers.get("x-mlserver").lower():
        return None
    # fml titles its notices; an ordinary list post (same header) merely quoting the words
    # in its body is not one.
    subject = msg.subject.lower()
    if not any(title in subject for title in TITLES):
        return None
    words = f"{subject}\n{msg.text.lower()}"
    reason = next((r for phrase, r in CAUSES if phrase in words), None)
    if reason is None:
        return None
    first = msg.text.strip().split("\n\n", 1)[0]
    return claim(Kind.BOUNCE, unique(
        finding(a, " ".join(first.split()), reason=reason) for a in find_addresses(first)[:1]))
