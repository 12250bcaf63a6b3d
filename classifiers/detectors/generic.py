"""The last resort for a message that looks like a delivery failure no detector could read.

Recipients come from X-Failed-Recipients (Exim and others set it), else from the prose: an
address the NDR's text names (before any inline copy of the original) that the returned
message was addressed to, or that stands on a line saying what went wrong ("550 ...",
"unknown", "見つかりません") or alone on its line, as lists of failed addresses do. The
NDR's own sender and addressee and the original sender are never candidates. The prose
around each address stands in for the diagnostic. With no recipient the engine falls back to
the VERP address of the NDR's own envelope, and failing that the report is UNPARSEABLE.
"""
from __future__ import annotations

import re

from ..address import find_addresses
from ..lazyre import LazyPattern
from ..message import Message, split_inline_original
from ..model import Kind
from ..text import lower_aligned
from .base import MAX_FINDINGS, Detection, Finding
from .rfc3464 import prose_about

NAME = "generic"

#: Local parts of addresses that send delivery failures.
_DAEMONS = ("mailer-daemon", "postmaster", "mail-daemon", "maildaemon", "mailerdaemon",
            "mail.delivery.system", "bounce", "bounces", "nobody", "root")
#: Display names / From words (lowercase) of delivery systems.
_FROM_WORDS = ("mailer-daemon", "mail delivery", "delivery subsystem", "mail administrator")
#: Subject words (lowercase) of delivery failure notices, several languages.
_SUBJECT_WORDS = (
    "undeliverable", "undelivered", "undeliverd", "delivery status notification",
    "delivery failure", "delivery failed", "delivery has failed", "failure notice",
    "returned mail", "mail delivery failed", "could not be delivered", "not delivered",
    "delivery notification", "non-delivery", "nondeliverable", "non remis", "non recapitabile",
    "unzustellbar", "nicht zustellbar", "returned to sender", "delivery problem",
    "mail system error", "message failure",
    "配信エラー", "配送エラー", "未配達", "送信エラー", "配信不能", "エラーメール", "不達",
)
#: A line saying what went wrong: an SMTP reply or status code, or a failure word.
_FAILURE_LINE = LazyPattern(
    r"(?<![\d.])[245]\d\d(?![\d.])|(?<![\d.])[245]\.\d{1,3}\.\d{1,3}|unknown|not found|"
    r"no such|does not exist|doesn't exist|invalid|rejected|refused|denied|failed|failure|"
    r"unavailable|not recognized|disabled|inactive|suspended|quota|full|too large|too big|"
    r"expired|timed out|timeout|not deliver|undeliverable|could not|couldn't|unable|"
    r"permanent|error|存在しません|見つかりません|宛先不明|エラー|失敗|できません")
#: What may surround an address that stands alone on its line: "  <a@example.com>:".
_AROUND_ADDRESS = " \t<>\"'(),;:.[]"
_SENDER_LABELS = ("from:", "sender:", "reply-to:", "return-path:", "envelope-from:", "mail from:")
_ALIAS = LazyPattern(r"\((?:generated|expanded) from", re.IGNORECASE)
_PROSE_LIMIT = 1500
_SCAN_LIMIT = 64 * 1024
_NEARBY_LINES = 2


def detect(msg: Message) -> Detection | None:
    if not looks_like_failure(msg):
        return None
    prose = own_prose(msg.text)
    recipients = []
    for value in msg.headers.get_all("x-failed-recipients"):
        recipients.extend(find_addresses(value))
    if not recipients:
        recipients = prose_recipients(msg, prose)
    if not recipients:
        return Detection(kind=Kind.BOUNCE, findings=(
            Finding(recipient="", diagnostic=prose[:_PROSE_LIMIT], action="failed"),))
    recipients = recipients[:MAX_FINDINGS]
    others = frozenset(r.lower() for r in recipients) if len(recipients) > 1 else frozenset()
    lowered = lower_aligned(prose)
    return Detection(kind=Kind.BOUNCE, findings=tuple(
        Finding(recipient=r, diagnostic=prose_about(prose, r, bool(others), others, lowered),
                action="failed") for r in recipients))


def looks_like_failure(msg: Message) -> bool:
    """From a mail daemon, a failure Subject, X-Failed-Recipients, or a DSN report type."""
    if msg.report_type == "delivery-status" or "x-failed-recipients" in msg.headers:
        return True
    sender = msg.sender.lower()
    local = next(iter(find_addresses(sender)), "").rpartition("@")[0]
    if local in _DAEMONS or any(w in sender for w in _FROM_WORDS):
        return True
    subject = msg.subject.lower().lstrip()
    if subject.startswith(("re:", "aw:", "sv:", "返信:")):  # a person's reply about a failure
        return False
    return any(w in subject for w in _SUBJECT_WORDS)


def own_prose(text: str) -> str:
    """The NDR's own words: the text before an inline copy of the original message."""
    return split_inline_original(text[:_SCAN_LIMIT])[0]


def prose_recipients(msg: Message, prose: str) -> list[str]:
    """Addresses the prose names as failed (see the module docstring), in order."""
    excluded = {a.lower() for name in ("from", "to", "reply-to", "return-path", "sender",
                                       "delivered-to", "x-original-to", "errors-to")
                for value in msg.headers.get_all(name) for a in find_addresses(value)}
    excluded |= {a.lower() for name in ("from", "sender", "return-path", "reply-to")
                 for a in find_addresses(msg.original_headers.get(name))}
    addressed = {a.lower() for name in ("to", "cc", "bcc", "resent-to")
                 for value in msg.original_headers.get_all(name) for a in find_addresses(value)}
    lines = prose.split("\n")
    chosen: dict[str, None] = {}
    for index, line in enumerate(lines):
        if "@" not in line:
            continue
        nearby = "\n".join(lines[index:index + 1 + _NEARBY_LINES]).lower()
        alias = _ALIAS.search(line)  # "(expanded from <list@...>)" names no failed address
        for address in find_addresses(line[:alias.start()] if alias else line):
            key = address.lower()
            if key in excluded or key in chosen or "=" in key.partition("@")[0]:
                continue  # "=" in the local part: a VERP return path, not a recipient
            before = line[:max(0, line.lower().find(key))].rstrip(" <\t").lower()
            if before.endswith(_SENDER_LABELS):  # "From: <postmaster@...>" names a sender
                continue
            if (key in addressed or line.strip(_AROUND_ADDRESS).lower() == key
                    or _FAILURE_LINE.search(nearby)):
                chosen[address] = None
    return list(chosen)
