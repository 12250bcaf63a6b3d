"""Decode one raw message once into the view every detector reads.

``parse(raw)`` never raises on bad mail: it normalises line endings, parses MIME with the
a small linear-time MIME splitter (``mime``), decodes every text part from whatever charset it
claims or really has, and splits out the machine-readable parts of a report (RFC 3464
delivery-status fields, RFC 5965 feedback-report fields) and the returned original message.
"""
from __future__ import annotations

import re

from . import mime
from .frozen import Frozen, init_field as _set
from .text import decode_fields, html_to_text, lower_aligned

_HEADER_LINE = re.compile(r"([!-9;-~]{1,80}):[ \t]?(.*)")
_REPORT_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_PLAIN_TYPES = frozenset({"text/plain", "text/x-plain", "text/enriched"})
_FEEDBACK_TYPES = frozenset({"message/feedback-report"})
_ORIGINAL_TYPES = frozenset({"message/rfc822", "message/global", "text/rfc822-headers",
                             "message/rfc822-headers", "message/global-headers",
                             "message/partial"})
_MEDIA_TYPES = ("image/", "audio/", "video/", "font/")
#: Where an NDR's prose ends and a copy of the original begins: its marker line, or the copy's
#: first "Received: from" line.
_INLINE_ORIGINAL = re.compile(
    r"below this line is a copy of the message|original message follows|"
    r"this is a copy of the message|included is a copy of the message|"
    r"(?<!-)-{2,} ?original message ?-{2,}|original message headers|"  # (?<!-): one try per run
    r"message header follows|copy of the original message|^received: ?from |"
    r"元のメッセージ|以下、?元のメール|送信したメール", re.MULTILINE)  # on lowercased text
_MARKER_WORDS = ("original", "copy of the message", "received:", "message header", "元のメ",
                 "送信したメール")
_ORIGINAL_FIELDS = frozenset({"from", "to", "subject", "message-id", "date", "received"})
#: How far into the text an inline original is looked for.
_SCAN_LIMIT = 64 * 1024
#: Text kept per part: NDR prose is short; a 20 MB attachment is not read as prose.
MAX_PART_TEXT = 2 * 1024 * 1024


class Headers:
    """Case-insensitive, ordered, decoded header fields; ``get`` returns "" when absent."""

    __slots__ = ("_items", "_index")

    def __init__(self, items: list[tuple[str, str]] | None = None) -> None:
        self._items: list[tuple[str, str]] = items or []
        self._index: dict[str, list[str]] | None = None  # built on first lookup

    def _lookup(self) -> dict[str, list[str]]:
        if self._index is None:
            self._index = {}
            for name, value in self._items:
                self._index.setdefault(name.lower(), []).append(value)
        return self._index

    def get(self, name: str, default: str = "") -> str:
        values = (self._index if self._index is not None else self._lookup()).get(name.lower())
        return values[0] if values else default

    def get_all(self, name: str) -> list[str]:
        return list(self._lookup().get(name.lower(), ()))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._lookup()

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


class Part(Frozen):
    """One leaf of the NDR's MIME tree (parts of an attached original are not leaves)."""

    content_type: str
    text: str
    filename: str
    __slots__ = ("content_type", "text", "filename")

    def __init__(self, content_type: str, text: str, filename: str = "") -> None:
        _set(self, "content_type", content_type)
        _set(self, "text", text)
        _set(self, "filename", filename)


class Message(Frozen):
    """Everything detectors read about one message, decoded once."""

    headers: Headers                    # the NDR's own header fields, decoded
    text: str                           # the human-readable body, "\n" line ends
    parts: tuple[Part, ...]             # every leaf part, decoded
    dsn_fields: Headers                 # per-message DSN fields
    dsn_recipients: tuple[Headers, ...]  # one block of DSN fields per recipient
    feedback: Headers | None            # ARF feedback-report fields
    original_headers: Headers           # the returned message's
    original_text: str                  # the returned message as text, if attached
    content_type: str                   # the top-level content type
    report_type: str                    # multipart/report's report-type parameter
    defects: tuple[str, ...]            # what was wrong with the MIME
    subject: str                        # headers' Subject, read once: every detector asks
    sender: str                         # headers' From, likewise
    __slots__ = ("headers", "text", "parts", "dsn_fields", "dsn_recipients", "feedback",
                 "original_headers", "original_text", "content_type", "report_type", "defects",
                 "subject", "sender")
    _derived = ("subject", "sender")

    def __init__(self, headers: Headers, text: str, parts: tuple[Part, ...] = (),
                 dsn_fields: Headers | None = None, dsn_recipients: tuple[Headers, ...] = (),
                 feedback: Headers | None = None, original_headers: Headers | None = None,
                 original_text: str = "", content_type: str = "text/plain",
                 report_type: str = "", defects: tuple[str, ...] = ()) -> None:
        _set(self, "headers", headers)
        _set(self, "text", text)
        _set(self, "parts", parts)
        _set(self, "dsn_fields", Headers() if dsn_fields is None else dsn_fields)
        _set(self, "dsn_recipients", dsn_recipients)
        _set(self, "feedback", feedback)
        _set(self, "original_headers", Headers() if original_headers is None else original_headers)
        _set(self, "original_text", original_text)
        _set(self, "content_type", content_type)
        _set(self, "report_type", report_type)
        _set(self, "defects", defects)
        _set(self, "subject", headers.get("subject"))
        _set(self, "sender", headers.get("from"))


    @property
    def is_dsn(self) -> bool:
        return bool(self.dsn_recipients)


def normalise_newlines(raw: bytes) -> bytes:
    """CRLF and lone CR become LF, so every later step sees one line ending."""
    if b"\r" not in raw:
        return raw
    return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def parse(raw: bytes) -> Message:
    """The decoded view of ``raw``; never raises for any input."""
    data = normalise_newlines(raw)
    if b"\x00" in data:  # NUL has no place in mail text; it only hides what follows it
        data = data.replace(b"\x00", b"")
    # A leading mbox "From " line is not a header field.
    if data.startswith(b"From "):
        data = data.split(b"\n", 1)[1] if b"\n" in data else b""
    root = mime.parse_entity(data)
    walker = _Walker()
    walker.walk(root)
    text = walker.body_text()
    if not walker.original_text:  # no attached original: perhaps one copied into the text
        walker.original_text, walker.original_headers = _copied_original(text)
    return Message(
        headers=Headers(root.decoded_headers()),
        text=text,
        parts=tuple(walker.parts),
        dsn_fields=walker.dsn_fields,
        dsn_recipients=tuple(walker.dsn_recipients),
        feedback=walker.feedback,
        original_headers=walker.original_headers,
        original_text=walker.original_text,
        content_type=root.content_type,
        report_type=root.params.get("report-type", "").lower() if root.children else "",
        defects=tuple(walker.defects),
    )


def split_inline_original(text: str) -> tuple[str, str]:
    """(the NDR's own words, the copy of the original message it quotes in its text or "").

    The copy starts after a line such as "--- Below this line is a copy of the message." or
    "Original message follows", or at a "Received: from" line in the text.
    """
    found = _first_marker(lower_aligned(text[:_SCAN_LIMIT]))
    if found is None:
        return text, ""
    if found.group(0)[:1] == "r":  # the copy's own header line
        return text[:found.start()], text[found.start():]
    line_end = text.find("\n", found.end())
    return text[:found.start()], text[line_end + 1:] if line_end != -1 else ""


def _first_marker(lowered: str) -> re.Match[str] | None:
    """``_INLINE_ORIGINAL.search(lowered)``, searching only the lines that hold one of the
    marker words: every marker lies within a line and holds one (the regex, run from the first
    of them to the end of a long text, cost ~30 instructions a character)."""
    upcoming = {word: lowered.find(word) for word in _MARKER_WORDS}
    while True:
        at = min((found for found in upcoming.values() if found != -1), default=-1)
        if at == -1:
            return None
        end = lowered.find("\n", at)
        end = len(lowered) if end == -1 else end
        found = _INLINE_ORIGINAL.search(lowered, lowered.rfind("\n", 0, at) + 1, end)
        if found:
            return found
        for word, where in upcoming.items():
            if -1 < where < end:
                upcoming[word] = lowered.find(word, end)


def inline_original(text: str) -> str:
    """The copy of the original in the text (from its header block on), or "" when there is
    none, or what follows the marker does not start with header fields of a message."""
    return _copied_original(text)[0]


def _copied_original(text: str) -> tuple[str, Headers]:
    """``inline_original(text)`` and its header fields (read once for both)."""
    copy = split_inline_original(text)[1].lstrip(" \t\n-=")
    end = copy.find("\n\n")
    head = copy if end == -1 else copy[:end]
    fields = mime.text_fields(head[:_SCAN_LIMIT])
    if len({name.lower() for name, _ in fields} & _ORIGINAL_FIELDS) < 2:
        return "", Headers()
    if len(head) > _SCAN_LIMIT:
        fields = mime.text_fields(head)
    return copy, Headers(decode_fields(fields))


def parse_fields(text: str) -> list[Headers]:
    """Blocks of ``Name: value`` fields separated by blank lines (folded lines joined)."""
    return [Headers(items) for items in field_blocks(text)]


def field_blocks(text: str) -> list[list[tuple[str, str]]]:
    """``parse_fields`` as plain lists of (name, value); lines that are no field are skipped."""
    blocks: list[list[tuple[str, str]]] = []
    # (name, pieces): continuation lines are joined once the block ends (re-joining the value
    # at every line was quadratic: 200,000 folded lines took 7 s).
    items: list[tuple[str, list[str]]] = []
    for line in text.split("\n"):
        if not line.strip():
            if items:
                blocks.append([(name, " ".join(pieces)) for name, pieces in items])
                items = []
            continue
        if items and line[0] in " \t":
            items[-1][1].append(line.strip())
            continue
        match = _HEADER_LINE.match(line)
        if match:
            items.append((match.group(1), [match.group(2).strip()]))
    if items:
        blocks.append([(name, " ".join(pieces)) for name, pieces in items])
    return blocks


#: DSN fields that open a recipient block.
_RECIPIENT_OPENERS = ("final-recipient", "original-recipient")
#: DSN fields that belong to a recipient block (RFC 3464 section 2.3 and common extensions).
_RECIPIENT_FIELDS = frozenset(_RECIPIENT_OPENERS + (
    "action", "status", "remote-mta", "diagnostic-code", "last-attempt-date",
    "final-log-id", "will-retry-until", "x-actual-recipient", "x-remote-mta",
    "x-supplementary-info", "x-display-name"))


def dsn_blocks(text: str) -> tuple[Headers, tuple[Headers, ...]]:
    """(per-message fields, one ``Headers`` per recipient) of delivery-status text.

    Blocks are meant to be separated by blank lines, but real reports run them together:
    a recipient block also starts where a Final-/Original-Recipient field repeats, or where
    one follows per-message fields without a blank line.
    """
    per_message: list[tuple[str, str]] = []
    recipients: list[Headers] = []
    for block in field_blocks(text):
        current: list[tuple[str, str]] = []
        names: set[str] = set()
        for name, value in block:
            key = name.lower()
            if key in _RECIPIENT_OPENERS and current and (
                    key in names or not names & _RECIPIENT_FIELDS):
                _flush(current, names, per_message, recipients)
                current, names = [], set()
            current.append((name, value))
            names.add(key)
        _flush(current, names, per_message, recipients)
    return Headers(per_message), tuple(recipients)


def _flush(items: list[tuple[str, str]], names: set[str], per_message: list[tuple[str, str]],
           recipients: list[Headers]) -> None:
    if not items:
        return
    if names.intersection(_RECIPIENT_OPENERS):
        recipients.append(Headers(items))
    elif not recipients:
        per_message.extend(items)


def parse_header_block(text: str) -> Headers:
    """The header fields at the start of ``text`` (up to the first blank line), decoded."""
    end = text.find("\n\n")
    return Headers(decode_fields(mime.text_fields(text if end == -1 else text[:end])))


class _Walker:
    """Collects the leaves of the NDR, the report fields and the returned original."""

    def __init__(self) -> None:
        self.parts: list[Part] = []
        self.dsn_fields = Headers()
        self.dsn_recipients: list[Headers] = []
        self.feedback: Headers | None = None
        self.original_headers = Headers()
        self.original_text = ""
        self.defects: list[str] = []

    def walk(self, root: mime.Entity) -> None:
        # An explicit stack: hostile nesting cannot exhaust Python's recursion limit.
        stack: list[mime.Entity] = [root]
        while stack:
            node = stack.pop()
            self.defects.extend(node.defects)
            if node.content_type in _ORIGINAL_TYPES:
                self._original(node)
            elif node.children:
                stack.extend(reversed(node.children))
            else:
                self._leaf(node)

    def _leaf(self, node: mime.Entity) -> None:
        ctype = node.content_type
        # Pictures and the like carry no words: not worth decoding (icons in Gmail's NDRs).
        text = "" if ctype.startswith(_MEDIA_TYPES) else node.text(MAX_PART_TEXT)
        self.parts.append(Part(ctype, text, node.filename))
        if ctype in _REPORT_TYPES and not self.dsn_recipients:
            self.dsn_fields, recipients = dsn_blocks(text)
            self.dsn_recipients = list(recipients)
        elif ctype in _FEEDBACK_TYPES and self.feedback is None:
            blocks = parse_fields(text)
            self.feedback = Headers([kv for b in blocks for kv in b.items()])

    def _original(self, node: mime.Entity) -> None:
        if self.original_text:
            return
        text = node.text(MAX_PART_TEXT)
        self.original_headers = parse_header_block(text)
        self.original_text = text
        self.parts.append(Part(node.content_type, text))

    def body_text(self) -> str:
        """Prose of the NDR: text/plain leaves, else text/html leaves as text, else all text."""
        # A multipart whose boundary is missing or wrong stays a leaf: read it as plain text.
        plain = "\n".join(p.text for p in self.parts if p.content_type in _PLAIN_TYPES
                          or p.content_type.startswith("multipart/"))
        if plain.strip():
            return plain
        html = "\n".join(html_to_text(p.text) for p in self.parts if p.content_type == "text/html")
        if html.strip():
            return html
        return "\n".join(p.text for p in self.parts if p.content_type not in _ORIGINAL_TYPES)
