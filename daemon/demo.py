"""The demo behind ``scripts/demo``: a local pymap, the shipped sample bounces, one poll.

Everything lands in ``demo-run/`` (git-ignored): the config, the SQLite database, the export.
"""
from __future__ import annotations

from pathlib import Path

SAMPLES_DIR = Path(__file__).parent / "samples"


def crlf(raw: bytes) -> bytes:
    """Line endings as IMAP wants them (CRLF), whatever the file had."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def samples() -> list[tuple[str, bytes]]:
    """The sample messages shipped in ``daemon/samples``: (file stem, raw CRLF bytes), by name."""
    return [(p.stem, crlf(p.read_bytes())) for p in sorted(SAMPLES_DIR.glob("*.eml"))]
