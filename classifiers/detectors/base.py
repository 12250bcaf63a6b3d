"""The shape every detector has: a cheap "is this mine?" test, then one Finding per recipient.

A detector is a module with ``NAME: str`` and ``detect(msg: Message) -> Detection | None``.
``None`` means "not mine"; the engine then tries the next detector. A detector reports what
the NDR *says* (address, codes, the server's words); the engine derives ``reason`` and ``hard``
from that through the shared tables, unless the format itself names the reason (``reason``).
"""
from __future__ import annotations

from collections.abc import Callable

from ..address import normalise
from ..frozen import Frozen, init_field as _set
from ..message import Message
from ..model import Kind, Reason

#: Recipients read from one NDR at most: real ones list a few, hostile ones endless lists
#: (line-walking detectors stop there; the engine keeps no more outcomes).
MAX_FINDINGS = 1000


class Finding(Frozen):
    """What an NDR says about one recipient, before reason and verdict are derived."""

    recipient: str
    diagnostic: str          # the remote server's words (any length; the engine folds it)
    status: str              # RFC 3463 code if the NDR gives one ("5.1.1")
    reply_code: str          # SMTP reply code if given ("550")
    action: str              # failed / delayed / delivered / relayed / expanded
    remote_mta: str
    command: str             # SMTP command answered: CONN, HELO, MAIL, RCPT, DATA, ...
    reason: Reason | None    # only when the format states the reason itself
    __slots__ = ("recipient", "diagnostic", "status", "reply_code", "action", "remote_mta",
                 "command", "reason")

    def __init__(self, recipient: str, diagnostic: str = "", status: str = "",
                 reply_code: str = "", action: str = "", remote_mta: str = "", command: str = "",
                 reason: Reason | None = None) -> None:
        _set(self, "recipient", recipient)
        _set(self, "diagnostic", diagnostic)
        _set(self, "status", status)
        _set(self, "reply_code", reply_code)
        _set(self, "action", action)
        _set(self, "remote_mta", remote_mta)
        _set(self, "command", command)
        _set(self, "reason", reason)


class Detection(Frozen):
    """What a detector read from a message it recognised."""

    kind: Kind
    findings: tuple[Finding, ...]
    errors: tuple[str, ...]
    __slots__ = ("kind", "findings", "errors")

    def __init__(self, kind: Kind, findings: tuple[Finding, ...] = (),
                 errors: tuple[str, ...] = ()) -> None:
        _set(self, "kind", kind)
        _set(self, "findings", findings)
        _set(self, "errors", errors)


Detect = Callable[[Message], "Detection | None"]


#: A format's stock sentences (lowercase) and the reason each names, in the order to try them.
StockPhrases = tuple[tuple[str, Reason], ...]


def stock_reason(text: str, phrases: StockPhrases) -> Reason | None:
    """The reason the first of a format's own stock sentences found in ``text`` names."""
    lowered = text.lower()
    return next((reason for phrase, reason in phrases if phrase in lowered), None)


def new_address(token: str, seen: set[str]) -> str:
    """The address ``token`` names, or "" when the same token was read before: a notice
    repeating an address (or a hostile one repeating it endlessly) costs one lookup."""
    key = token.strip().lower()
    if key in seen:
        return ""
    seen.add(key)
    return normalise(token)
