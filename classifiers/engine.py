"""classify(raw) -> Report: decode once, let the first detector that knows the format read it,
then derive codes, reason and verdict for every recipient through the shared tables."""
from __future__ import annotations

from .address import normalise, verp_recipient
from .detectors import DETECTORS, Detection, Finding
from .detectors.base import MAX_FINDINGS
from .message import Message, parse
from .model import Kind, Outcome, Reason, Report
from .reasons import reason_for
from .smtp import best_reply_code, best_status, command_in
from .text import fold
from .verdict import is_hard

#: The reason every outcome of these kinds carries, whatever the detector found.
_KIND_REASON = {Kind.DELIVERED: Reason.DELIVERED, Kind.COMPLAINT: Reason.FEEDBACK,
                Kind.AUTOREPLY: Reason.VACATION}
#: Per-recipient actions that are no failure, in a report that may mix them with failures.
_SUCCESS_ACTIONS = frozenset({"delivered", "relayed", "expanded"})
_UNDECIDED = frozenset({Reason.UNDEFINED, Reason.ONHOLD})
_MAX_DIAGNOSTIC = 1000
#: Header fields of the NDR that may carry a VERP-encoded return path, in order of trust.
_VERP_FIELDS = ("x-original-to", "delivered-to", "to", "envelope-to", "x-envelope-to")


def classify(raw: bytes) -> Report:
    """The matcher's reading of one message; never raises, whatever ``raw`` holds."""
    try:
        return _classify(raw)
    except Exception as exc:  # the contract: any input gives a Report
        return Report(kind=Kind.UNPARSEABLE, decoded_by="error",
                      errors=(f"{type(exc).__name__}: {exc}"[:500],))


def _classify(raw: bytes, forwarded: bool = True) -> Report:
    msg = parse(raw)
    name, detection = detect(msg)
    if forwarded and name == "none" and _is_report(msg.original_headers.get("content-type")):
        # Ordinary mail carrying a delivery report as its attachment: someone forwarded a
        # bounce. Read the report itself (one level deep only).
        return _classify(msg.original_text.encode("utf-8", "surrogateescape"), forwarded=False)
    verp = verp_of(msg)
    outcomes = tuple(_outcomes(detection, verp))
    kind = detection.kind
    if kind is Kind.BOUNCE and not outcomes:
        kind = Kind.UNPARSEABLE
    original = msg.original_headers
    return Report(
        kind=kind, decoded_by=name, outcomes=outcomes,
        message_id=original.get("message-id").strip(),
        original_sender=original.get("from") or original.get("return-path"),
        original_subject=original.get("subject"), list_id=original.get("list-id"),
        verp_recipient=verp, subject=msg.subject, errors=detection.errors + msg.defects,
    )


def _is_report(content_type: str) -> bool:
    lowered = content_type.lower()
    return lowered.startswith("multipart/report") and "delivery-status" in lowered


def detect(msg: Message) -> tuple[str, Detection]:
    """The first detector that claims ``msg`` and what it found; "none" when none does."""
    for name, detector in DETECTORS:
        found = detector(msg)
        if found is not None:
            return name, found
    return "none", Detection(kind=Kind.NOT_BOUNCE)


def verp_of(msg: Message) -> str:
    """The recipient a VERP return path of the NDR encodes, or ""."""
    for name in _VERP_FIELDS:
        for value in msg.headers.get_all(name):
            address = verp_recipient(value)
            if address:
                return address
    return ""


def _outcomes(detection: Detection, verp: str) -> list[Outcome]:
    """One outcome per recipient (the first finding wins), at most ``MAX_FINDINGS``: an NDR
    listing the same or endless addresses costs one reason lookup per distinct address."""
    by_recipient: dict[str, Outcome] = {}
    seen: set[str] = set()
    for finding in detection.findings:
        key = finding.recipient.strip().lower()
        if key in seen:
            continue
        seen.add(key)
        if len(by_recipient) >= MAX_FINDINGS:
            break
        outcome = to_outcome(finding, detection.kind, verp)
        if outcome is not None and outcome.recipient.lower() not in by_recipient:
            by_recipient[outcome.recipient.lower()] = outcome
    return list(by_recipient.values())


def to_outcome(finding: Finding, kind: Kind, verp: str = "") -> Outcome | None:
    """One Finding made into an Outcome: normalised address (the VERP one when the NDR names
    none), codes completed from the diagnostic, reason, verdict."""
    recipient = normalise(finding.recipient) or (verp if kind is Kind.BOUNCE else "")
    if not recipient:
        return None
    diagnostic = fold(finding.diagnostic)[:_MAX_DIAGNOSTIC]
    status = best_status(finding.status, diagnostic)
    reply_code = best_reply_code(finding.reply_code, diagnostic, status)
    command = finding.command.upper() or command_in(diagnostic)
    action = finding.action.lower() or ("delayed" if kind is Kind.DELAY else "")
    host = host_name(finding.remote_mta) or recipient.rpartition("@")[2]
    if action in _SUCCESS_ACTIONS:
        reason = Reason.DELIVERED
    else:
        reason = _KIND_REASON.get(kind) or finding.reason or reason_for(
            diagnostic, status, reply_code, command, host)
        if action == "delayed" and (reason in _UNDECIDED or not diagnostic
                                    and (not status or status.endswith(".0"))):
            reason = Reason.EXPIRED  # still queued, nothing more specific said: sisimai's rule
    hard = (kind is Kind.BOUNCE and action not in _SUCCESS_ACTIONS and action != "delayed"
            and is_hard(reason, status, reply_code))
    return Outcome(
        recipient=recipient, reason=reason, hard=hard, action=action, status=status,
        reply_code=reply_code, diagnostic=diagnostic, remote_mta=finding.remote_mta,
        command=command,
    )


def host_name(remote_mta: str) -> str:
    """``"dns; mx.example.jp. (192.0.2.1, ...)"`` -> ``"mx.example.jp"``; "" for an IP literal,
    so the provider tables then look at the recipient's domain instead."""
    words = remote_mta.rpartition(";")[2].split()
    name = words[0].strip("[]<>").rstrip(".").lower() if words else ""
    return name if "." in name and ":" not in name and not name.replace(".", "").isdigit() else ""
