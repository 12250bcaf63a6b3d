"""classify(raw) -> Report: decode once, let the first detector that knows the format read it,
then derive reason and verdict for every recipient through the shared tables."""
from __future__ import annotations

from .address import normalise
from .detectors import DETECTORS, Detection, Finding
from .message import Message, parse
from .model import Kind, Outcome, Reason, Report
from .reasons import reason_for
from .text import fold
from .verdict import is_hard

#: The reason every outcome of these kinds carries, whatever the detector found.
_KIND_REASON = {Kind.DELIVERED: Reason.DELIVERED, Kind.COMPLAINT: Reason.FEEDBACK,
                Kind.AUTOREPLY: Reason.VACATION}
_MAX_DIAGNOSTIC = 1000


def classify(raw: bytes) -> Report:
    """The matcher's reading of one message; never raises, whatever ``raw`` holds."""
    try:
        return _classify(raw)
    except Exception as exc:  # the contract: any input gives a Report
        return Report(kind=Kind.UNPARSEABLE, decoded_by="error",
                      errors=(f"{type(exc).__name__}: {exc}"[:500],))


def _classify(raw: bytes) -> Report:
    msg = parse(raw)
    name, detection = detect(msg)
    outcomes = tuple(_outcomes(detection))
    kind = detection.kind
    if kind is Kind.BOUNCE and not outcomes:
        kind = Kind.UNPARSEABLE
    original = msg.original_headers
    return Report(
        kind=kind, decoded_by=name, outcomes=outcomes,
        message_id=original.get("message-id").strip(),
        original_sender=original.get("from"), original_subject=original.get("subject"),
        list_id=original.get("list-id"), subject=msg.subject, errors=detection.errors,
    )


def detect(msg: Message) -> tuple[str, Detection]:
    for name, detector in DETECTORS:
        found = detector(msg)
        if found is not None:
            return name, found
    return "none", Detection(kind=Kind.NOT_BOUNCE)


def _outcomes(detection: Detection) -> list[Outcome]:
    by_recipient: dict[str, Outcome] = {}
    for finding in detection.findings:
        outcome = to_outcome(finding, detection.kind)
        if outcome is not None and outcome.recipient.lower() not in by_recipient:
            by_recipient[outcome.recipient.lower()] = outcome
    return list(by_recipient.values())


def to_outcome(finding: Finding, kind: Kind) -> Outcome | None:
    """One Finding made into an Outcome: normalised address, reason, verdict."""
    recipient = normalise(finding.recipient)
    if not recipient:
        return None
    diagnostic = fold(finding.diagnostic)[:_MAX_DIAGNOSTIC]
    host = finding.remote_mta or recipient.rpartition("@")[2]
    reason = _KIND_REASON.get(kind) or finding.reason or reason_for(
        diagnostic, finding.status, finding.reply_code, finding.command, host)
    hard = kind is Kind.BOUNCE and is_hard(reason, finding.status, finding.reply_code)
    return Outcome(
        recipient=recipient, reason=reason, hard=hard, action=finding.action.lower(),
        status=finding.status, reply_code=finding.reply_code, diagnostic=diagnostic,
        remote_mta=finding.remote_mta, command=finding.command.upper(),
    )
