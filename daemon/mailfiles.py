"""Read messages from the paths a user names: single files, Maildir folders, mbox files."""
from __future__ import annotations

import os
import re
from collections.abc import Iterator

# An mbox "From " separator: "From sender  Thu Jul  2 12:05:05 2020" (asctime at the end).
_FROM_LINE = re.compile(rb"From \S*[ \t]+.*\d\d:\d\d(?::\d\d)?.*\d{4}[ \t]*\r?$")
_MAILDIR_SUBDIRS = ("new", "cur")


class MailFile:
    """One message read from disk; ``source`` is the path as the user gave it.

    A plain class: importing ``dataclasses`` cost ``bouncewatch classify`` ~20 ms per start."""

    __slots__ = ("source", "index", "raw")

    def __init__(self, source: str, index: int, raw: bytes) -> None:
        self.source = source
        self.index = index  # position inside an mbox (0 for a single file)
        self.raw = raw


class UnreadableInput(Exception):
    """A path that cannot be read; the message names the path and the cause."""


def iter_messages(path: str) -> Iterator[MailFile]:
    """Every message under ``path``; raises UnreadableInput for a path that cannot be read."""
    try:
        if os.path.isdir(path):
            yield from _maildir(path)
            return
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise UnreadableInput(f"{path}: {exc.strerror or exc}") from None
    for index, raw in enumerate(split_mbox(data)):
        yield MailFile(path, index, raw)


def _maildir(path: str) -> Iterator[MailFile]:
    subdirs = [os.path.join(path, d) for d in _MAILDIR_SUBDIRS if os.path.isdir(os.path.join(path, d))]
    folders = subdirs or [path]
    for folder in folders:
        for name in sorted(os.listdir(folder)):
            full = os.path.join(folder, name)
            if name.startswith(".") or not os.path.isfile(full):
                continue
            yield from iter_messages(full)


def split_mbox(data: bytes) -> list[bytes]:
    """Split an mbox into messages; a file that is not an mbox is one message.

    A separator is a ``From `` line with a date, at the start of the file or after a blank
    line. The separator line itself is dropped; ``>From`` quoting is left as it is.
    """
    if not data.startswith(b"From ") or not _FROM_LINE.match(data.split(b"\n", 1)[0]):
        return [data]
    messages: list[bytes] = []
    current: list[bytes] = []
    previous_blank = True
    for line in data.splitlines(keepends=True):
        if previous_blank and line.startswith(b"From ") and _FROM_LINE.match(line.rstrip(b"\n")):
            if current:
                messages.append(b"".join(current))
            current = []
        else:
            current.append(line)
        previous_blank = line.strip(b"\r\n") == b""
    if current:
        messages.append(b"".join(current))
    return messages or [data]
