"""The last resort for a message that looks like a delivery failure no detector could read.

Recipients come from X-Failed-Recipients (Exim and others set it); the prose stands in for
the diagnostic. With no recipient the engine falls back to the VERP address of the NDR's
own envelope, and failing that the report is UNPARSEABLE ("a bounce, but whose?").
"""
from __future__ import annotations

from ..address import find_addresses
from ..message import Message
from ..model import Kind
from .base import Detection, Finding

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
    "mail system error", "rejected", "error sending", "message failure",
    "配信エラー", "配送エラー", "未配達", "送信エラー", "配信不能", "エラーメール", "不達",
)
_PROSE_LIMIT = 1500


def detect(msg: Message) -> Detection | None:
    if not looks_like_failure(msg):
        return None
    recipients = []
    for value in msg.headers.get_all("x-failed-recipients"):
        recipients.extend(find_addresses(value))
    diagnostic = msg.text[:_PROSE_LIMIT]
    findings = tuple(Finding(recipient=r, diagnostic=diagnostic, action="failed")
                     for r in recipients) or (Finding(recipient="", diagnostic=diagnostic,
                                                      action="failed"),)
    return Detection(kind=Kind.BOUNCE, findings=findings)


def looks_like_failure(msg: Message) -> bool:
    """From a mail daemon, a failure Subject, X-Failed-Recipients, or a DSN report type."""
    if msg.report_type == "delivery-status" or "x-failed-recipients" in msg.headers:
        return True
    sender = msg.sender.lower()
    local = next(iter(find_addresses(sender)), "").rpartition("@")[0]
    if local in _DAEMONS or any(w in sender for w in _FROM_WORDS):
        return True
    subject = msg.subject.lower()
    return any(w in subject for w in _SUBJECT_WORDS)
