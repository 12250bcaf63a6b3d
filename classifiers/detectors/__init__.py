"""The detectors, in the order the engine tries them: first hit wins.

Specific formats come first, the generic decoders (RFC 3464, ARF, RFC 3834) after them, so a
provider whose DSN needs special reading is read by its own detector. Adding a format is one
module with ``NAME`` and ``detect`` and one line here.
"""
from __future__ import annotations

from . import postfix, sendmail  # MTA formats
from .base import Detect, Detection, Finding

#: (name, detect) in dispatch order. Filled by the modules below as they land.
DETECTORS: tuple[tuple[str, Detect], ...] = (
    (postfix.NAME, postfix.detect),
    (sendmail.NAME, sendmail.detect),
)

__all__ = ["DETECTORS", "Detect", "Detection", "Finding"]
