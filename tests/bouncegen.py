"""Bounces made from templates, for the multi-instance test and the benchmarks.

The templates are the shipped Postfix samples (daemon/samples): a hard bounce (550 5.1.1
user unknown) and a soft one (4.2.2 mailbox full). ``bounce`` puts another recipient in and
gives the NDR a Message-ID of its own, so that every serial is a distinct message.
"""
from __future__ import annotations

import re
from functools import cache

from daemon.demo import SAMPLES_DIR, crlf

#: kind -> (sample file stem, the recipient it names)
TEMPLATES = {
    "hard": ("01-hard-userunknown", "gone@example.net"),
    "soft": ("03-soft-mailboxfull", "full@example.com"),
}
_MESSAGE_ID = re.compile(rb"^Message-Id: <[^>]*>", re.IGNORECASE | re.MULTILINE)


@cache
def _template(kind: str) -> tuple[bytes, bytes]:
    stem, recipient = TEMPLATES[kind]
    return crlf((SAMPLES_DIR / f"{stem}.eml").read_bytes()), recipient.encode()


def bounce(kind: str, recipient: str, serial: int | str) -> bytes:
    """A ``kind`` ("hard" or "soft") bounce for ``recipient``, distinct for each ``serial``."""
    raw, original = _template(kind)
    raw = raw.replace(original, recipient.encode())
    raw, n = _MESSAGE_ID.subn(f"Message-Id: <ndr-{serial}@bench.example>".encode(), raw, count=1)
    assert n == 1, kind
    return raw
