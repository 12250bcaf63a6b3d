"""RFC 3834 auto-replies and vacation notices: the recipient is away, not gone.

Claimed by the RFC 3834 header (Auto-Submitted: auto-replied), the de-facto ones
(X-Autoreply, X-Autorespond, Precedence: auto_reply, X-Vacation) or a vacation Subject in one
of several languages, unless the message looks like a delivery failure (those set
Auto-Submitted too). One ``vacation`` outcome for the address that replied (its From).
"""
from __future__ import annotations

from ..address import find_addresses
from ..message import Message
from ..model import Kind
from .base import Detection, Finding
from .generic import looks_like_failure

NAME = "autoreply"

#: Header fields whose mere presence marks an auto-reply.
_FLAG_FIELDS = ("x-autoreply", "x-autorespond", "x-autoresponder", "x-vacation",
                "x-mail-autoreply")
#: Subject beginnings (lowercase) of vacation and auto-reply notices.
_SUBJECTS = (
    "auto:", "auto reply", "auto-reply", "autoreply", "auto response", "auto-response",
    "autoresponse", "autorespons", "automatic reply", "automatic response", "automated reply",
    "out of office", "out of the office", "ooo:", "away from my mail", "vacation",
    "on vacation", "abwesenheitsnotiz", "abwesend", "automatische antwort",
    "réponse automatique", "reponse automatique", "absence", "risposta automatica",
    "fuori sede", "respuesta automática", "respuesta automatica", "fuera de la oficina",
    "resposta automática", "automatisch antwoord", "afwezig", "automatisk svar",
    "autosvar", "automaattinen vastaus", "odpowiedź automatyczna", "automatická odpověď",
    "автоответ", "自動応答", "自動返信", "自動返答", "不在", "休暇", "自动回复", "자동 응답",
)
#: Subject words anywhere (lowercase) that mark one: "Re: Nyaan (Auto-reply)".
_SUBJECT_WORDS = ("(auto-reply)", "(autoreply)", "[auto-reply]", "out of office",
                  "自動応答", "自動返信", "不在通知", "休暇中")


def detect(msg: Message) -> Detection | None:
    if not is_autoreply(msg) or looks_like_failure(msg):
        return None
    replied = find_addresses(msg.headers.get("reply-to") if not msg.sender else msg.sender)
    diagnostic = msg.subject or msg.text[:200]
    return Detection(kind=Kind.AUTOREPLY, findings=tuple(
        Finding(recipient=a, diagnostic=diagnostic) for a in replied[:1]))


def is_autoreply(msg: Message) -> bool:
    headers = msg.headers
    if headers.get("auto-submitted").strip().lower().startswith("auto-replied"):
        return True
    if any(name in headers for name in _FLAG_FIELDS):
        return True
    if headers.get("precedence").strip().lower() in ("auto_reply", "auto-reply"):
        return True
    subject = msg.subject.strip().lower()
    return subject.startswith(_SUBJECTS) or any(w in subject for w in _SUBJECT_WORDS)
