"""Google Groups: "the group you tried to contact (NAME) may not exist, or you may not have
permission to post messages to the group".

Sent by ``mailer-daemon@googlemail.com`` in the poster's language, signed "Google Groups" and
linking to groups.google.com; the group's address is in ``X-Failed-Recipients``. The sender
was refused by the group, so the reason is ``rejected`` (never a dead address).
"""
from __future__ import annotations

from ..address import find_addresses
from ..message import Message
from ..model import Kind, Reason
from .base import Detection, Finding

NAME = "googlegroups"

_SENDER = "@googlemail.com"
_MARKS = ("https://groups.google.com/", "Google Groups")
_ORIGINAL = "----- Original message -----"


def detect(msg: Message) -> Detection | None:
    failed = msg.headers.get("x-failed-recipients")
    if not failed or _SENDER not in msg.sender.lower():
        return None
    text = msg.text.partition(_ORIGINAL)[0]
    if not any(mark in text for mark in _MARKS):
        return None
    diagnostic = _first_paragraph(text)
    return Detection(kind=Kind.BOUNCE, findings=tuple(
        Finding(recipient=r, diagnostic=diagnostic, action="failed", reason=Reason.REJECTED)
        for r in find_addresses(failed)))


def _first_paragraph(text: str) -> str:
    """The sentence that says why: the first paragraph after the greeting."""
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    return paragraphs[1] if len(paragraphs) > 1 else (paragraphs[0] if paragraphs else "")
