"""Placeholder until the dispatcher lands: every message is 'not a bounce'."""
from __future__ import annotations

from .model import Kind, Report


def classify(raw: bytes) -> Report:
    return Report(kind=Kind.NOT_BOUNCE, decoded_by="none")
