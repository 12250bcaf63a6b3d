"""bouncewatch's shared matcher: turn the raw bytes of one message into per-recipient outcomes.

A pure library: standard library only at run time, never imports ``daemon``.

    >>> from classifiers import classify
    >>> report = classify(raw_bytes)
    >>> [(o.recipient, o.reason, o.hard) for o in report.outcomes]
"""
from .engine import classify
from .model import DEAD_REASONS, Kind, Outcome, Reason, Report

__all__ = ["DEAD_REASONS", "Kind", "Outcome", "Reason", "Report", "classify"]
