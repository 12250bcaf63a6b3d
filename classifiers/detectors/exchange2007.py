"""Microsoft Exchange Server 2007 and later, on premises, when the NDR carries no DSN part.

(With a delivery-status part the generic RFC 3464 decoder reads it; Exchange Online is the
``office365`` detector.) The card lists the recipients, then, after "Diagnostic information
for administrators:" (localised), "Generating server: host" and per recipient::

    user@example.org
    #550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##
    user@example.org
    mx.example.org #< #5.0.0 smtp; 550 5.1.1 User unknown> #SMTP#
    Remote Server returned '550 5.1.1 User unknown'

then "Original message headers:" (localised) and the returned headers.
"""
from __future__ import annotations

from ..address import find_addresses, normalise
from ..lazyre import LazyPattern
from ..message import Message
from ..model import Kind
from ..smtp import status_in
from .base import Detection
from .smtptext import Findings, claim, finding

NAME = "exchange2007"

#: "Diagnostic information for administrators:" as Exchange localises it.
_DIAGNOSTIC_HEADS = (
    "Diagnostic information for administrators:",
    "Informations de diagnostic pour les administrateurs",
    "Información de diagnóstico para administradores",
    "Diagnoseinformationen für Administratoren",
    "Informazioni di diagnostica per gli amministratori",
    "Diagnostische gegevens voor beheerders",
    "Informações de diagnóstico para administradores",
    "管理者向けの診断情報",
)
#: "Original message headers:" as Exchange localises it.
_ORIGINAL_HEADS = (
    "Original message headers:", "tes de message d'origine :", "Encabezados del mensaje original:",
    "Kopfzeilen der ursprünglichen Nachricht:", "Intestazioni originali del messaggio:",
    "Cabeçalhos da mensagem original:", "Originalmeddelandets rubriker:", "元のメッセージ ヘッダー:",
)
_GENERATOR = LazyPattern(r"^[^\n:]{1,40}:[ \t]{0,8}([A-Za-z0-9][A-Za-z0-9.-]{0,253})[ \t]*$")
# "#550 5.1.1 RESOLVER... ##", "host #< #5.0.0 smtp; 550 ...> #SMTP#",
# "Remote Server returned '...'"
_HASHED = LazyPattern(r"^(?:([A-Za-z0-9][A-Za-z0-9.-]{0,253}) )?#(?:< ?#)?(.{1,2000}?)"
                      r"(?:>? ?#SMTP#|##)?[ \t]*$")
_RETURNED = LazyPattern(r"Remote Server returned '(.{1,2000})'")


def detect(msg: Message) -> Detection | None:
    if msg.is_dsn:
        return None
    text = msg.text
    head = next((h for h in _DIAGNOSTIC_HEADS if h in text), "")
    if not head:
        return None
    card, _, section = text.partition(head)
    for end in _ORIGINAL_HEADS:
        section = section.split(end, 1)[0]
    lines = [line.strip() for line in section.split("\n") if line.strip()]
    generator = _GENERATOR.match(lines[0]) if lines else None
    found = Findings()
    for i, line in enumerate(lines):
        address = normalise(line) if "@" in line and " " not in line else ""
        if not address or not found.wants(address) or i + 1 >= len(lines):
            continue
        said = lines[i + 1]
        returned = _RETURNED.search(said)
        hashed = None if returned else _HASHED.match(said)
        if returned or hashed:
            words = returned.group(1) if returned else hashed.group(2)  # type: ignore[union-attr]
            host = hashed.group(1) if hashed and hashed.group(1) else ""
            # "#5.0.0 smtp;550 5.1.1 ...": Exchange's own status, then the remote's reply.
            declared, sep, reply = words.partition("smtp;")
            status = declared.strip() if sep and status_in(declared) else ""
            host = host or (generator.group(1) if generator else "")
            found.add(finding(address, (reply if status else words).strip(), status=status,
                              remote_mta=host.lower()))
    if not found:
        for address in find_addresses(card)[:50]:
            found.add(finding(address, ""))
    return claim(Kind.BOUNCE, found.all())
