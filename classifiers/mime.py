"""A small, lenient, linear-time MIME splitter for bounce mail.

The standard library's feedparser reads line by line and compiles a regular expression per
multipart boundary; bounces are many small messages, so that cost dominates. This splitter
works on bytes with ``find``, decodes transfer encodings itself and caps nesting depth and
part count, so hostile input costs time proportional to its size and nothing more.
Input must already have "\\n" line endings (``message.normalise_newlines``).
"""
from __future__ import annotations

import binascii
import re

from .text import decode_bytes, decode_fields, decode_header_value

#: Multiparts nested deeper than this are kept as opaque leaves.
MAX_DEPTH = 40
#: At most this many parts are split out of one multipart; the rest stays in the last part.
MAX_PARTS = 500
#: A header block longer than this many fields is cut (endless header folding/lines).
MAX_FIELDS = 2000

# One header field: name, colon, value and its continuation lines (each starting with
# blanks and then something), up to and including the line end. Linear: no overlapping runs.
_FIELD = re.compile(rb"([!-9;-~]{1,200})[ \t]*:([^\n]*(?:\n[ \t]+[^ \t\n][^\n]*)*)\n?")
_PARAMETER_LINE = re.compile(rb"[A-Za-z0-9_.*-]{1,80}=")
# The same field grammar for the fast path over a decoded header block. Possessive (no giving
# back: no shorter run could match instead), which spares the engine its backtracking records.
_FIELD_LINE = re.compile(r"^([!-9;-~]{1,200}+)[ \t]*+:([^\n]*+(?:\n[ \t]++[^ \t\n][^\n]*+)*+)",
                         re.MULTILINE)
_BLANKISH_LINE = re.compile(r"\n[ \t]+(?:\n|$)")
#: Header blocks up to this size take the fast path.
MAX_CLEAN_HEADER = 1024 * 1024
#: A field value longer than this is cut (endless folding).
MAX_VALUE = 64 * 1024
#: Parameter lines folded without a leading blank kept per field (real mail has one or two).
MAX_PARAMETER_LINES = 20
_BASE64_JUNK = re.compile(rb"[^A-Za-z0-9+/]")
_PARAM = re.compile(r';\s*([A-Za-z0-9_.*-]+)\s*=\s*("(?:[^"\\]|\\.){0,2000}"|[^;\s]{0,2000})')


class Entity:
    """One MIME entity: its raw header fields, content type, and body or children."""

    __slots__ = ("fields", "content_type", "params", "body", "children", "defects")

    def __init__(self, fields: list[tuple[str, str]], content_type: str, params: dict[str, str],
                 body: bytes = b"") -> None:
        self.fields = fields
        self.content_type = content_type
        self.params = params
        self.body = body
        self.children: list[Entity] = []
        self.defects: list[str] = []

    def get(self, name: str) -> str:
        name = name.lower()
        for key, value in self.fields:
            if key.lower() == name:
                return value
        return ""

    def decoded_headers(self) -> list[tuple[str, str]]:
        return decode_fields(self.fields)

    @property
    def filename(self) -> str:
        disposition = self.get("content-disposition")
        name = parse_params(disposition).get("filename") or self.params.get("name", "")
        return decode_header_value(name) if name else ""

    def payload(self) -> bytes:
        """The body with its Content-Transfer-Encoding undone (leniently)."""
        encoding = self.get("content-transfer-encoding").strip().lower()
        if encoding == "base64":
            return decode_base64(self.body)
        if encoding == "quoted-printable":
            return binascii.a2b_qp(self.body)
        return self.body

    def text(self, limit: int) -> str:
        """The payload decoded to text (declared charset, else sniffed), at most ``limit`` bytes."""
        data = self.payload()
        if len(data) > limit:
            data = data[:limit]
        return decode_bytes(data, self.params.get("charset"))


def decode_base64(body: bytes) -> bytes:
    """Base64 that tolerates junk characters, missing padding and a truncated tail."""
    try:
        return binascii.a2b_base64(body)  # well-formed (line breaks are fine): all in C
    except (binascii.Error, ValueError):
        pass
    cleaned = _BASE64_JUNK.sub(b"", body.split(b"=", 1)[0] if b"=" in body else body)
    cleaned = cleaned[: len(cleaned) - len(cleaned) % 4]
    try:
        return binascii.a2b_base64(cleaned)
    except (binascii.Error, ValueError):
        return b""


def parse_params(value: str) -> dict[str, str]:
    """``type/sub; a=1; b="x y"`` -> {"a": "1", "b": "x y"} (names lowercased)."""
    params: dict[str, str] = {}
    if ";" not in value:  # most values: no parameters (every one starts with ";")
        return params
    for match in _PARAM.finditer(value):
        name, raw = match.group(1).lower().rstrip("*"), match.group(2)
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = raw[1:-1].replace('\\"', '"')
        params.setdefault(name, raw)
    return params


def split_header(data: bytes) -> tuple[list[tuple[str, str]], bytes]:
    """The header fields at the start of ``data`` (unfolded) and the body after them.

    The header ends at the first blank line, or at the first line that is neither a field nor
    a continuation (a defect real mail has), which then starts the body.
    """
    fast = _split_clean_header(data)
    if fast is not None:
        return fast
    fields: list[tuple[str, str]] = []
    pos, size, folded = 0, len(data), 0
    while pos < size:
        match = _FIELD.match(data, pos)
        if match is None:
            end = data.find(b"\n", pos)
            line = data[pos:end if end != -1 else size].strip(b" \t")
            if not line:  # a blank line
                return fields, data[end + 1:] if end != -1 else b""
            if fields and fields[-1][1].endswith(";") and _PARAMETER_LINE.match(line):
                # A parameter folded without the leading blank: 'boundary="..."' alone.
                # Only the first few are kept: re-joining the value per line is quadratic.
                if folded < MAX_PARAMETER_LINES:
                    name, value = fields[-1]
                    fields[-1] = (name, f"{value} {_str(line)}")
                    folded += 1
                pos = end + 1 if end != -1 else size
                continue
            return fields, data[pos:]
        pos = match.end()
        folded = 0
        if len(fields) < MAX_FIELDS:
            value = match.group(2)
            if len(value) > MAX_VALUE:
                value = value[:MAX_VALUE]
            fields.append((_str(match.group(1)),
                           _str(b" ".join(value.split()) if b"\n" in value else value.strip())))
    return fields, b""


def _split_clean_header(data: bytes) -> tuple[list[tuple[str, str]], bytes] | None:
    """``split_header`` for the usual case, all in C: a header block of well-formed fields
    ending at a blank line. None when the block has any defect (the line loop handles it)."""
    end = data.find(b"\n\n")
    if end == -1 or end > MAX_CLEAN_HEADER:
        return None
    head = data[:end].decode("ascii", "surrogateescape")
    folded = head.count("\n ") + head.count("\n\t")  # lines starting with blanks
    if folded and _BLANKISH_LINE.search(head):
        return None
    fields = text_fields(head)
    if len(fields) != head.count("\n") + 1 - folded or len(fields) > MAX_FIELDS:
        return None
    return fields, data[end + 2:]


def text_fields(head: str) -> list[tuple[str, str]]:
    """Every well-formed field (unfolded) of a header block given as text; other lines are
    skipped. At most MAX_FIELDS + 1 fields (so callers can tell there were too many)."""
    items = _FIELD_LINE.findall(head)
    if len(items) > MAX_FIELDS:
        del items[MAX_FIELDS + 1:]
    return [(name, " ".join(value[:MAX_VALUE].split()) if "\n" in value else value.strip())
            for name, value in items]


def _str(raw: bytes) -> str:
    """Header bytes as str; 8-bit bytes survive as surrogates for ``decode_header_value``."""
    return raw.decode("ascii", "surrogateescape")


def parse_entity(data: bytes, depth: int = 0) -> Entity:
    """Parse one entity and, iteratively, every multipart below it."""
    root = _entity(data)
    stack: list[tuple[Entity, int]] = [(root, depth)]
    while stack:
        node, level = stack.pop()
        if not node.content_type.startswith("multipart/"):
            continue
        boundary = node.params.get("boundary", "")
        if not boundary:
            node.defects.append("multipart without boundary")
            continue
        if level >= MAX_DEPTH:
            node.defects.append("multipart nested too deep")
            continue
        bodies = split_multipart(node.body, boundary.encode("utf-8", "surrogateescape"))
        if bodies is None:
            node.defects.append("boundary not found")
            continue
        default = "message/rfc822" if node.content_type == "multipart/digest" else "text/plain"
        node.children = [_entity(body, default=default) for body in bodies]
        node.body = b""  # its parts hold it now (40 nested levels kept 40 copies of a big body)
        stack.extend((child, level + 1) for child in node.children)
    return root


def _entity(data: bytes, default: str = "text/plain") -> Entity:
    fields, body = split_header(data)
    entity = Entity(fields=fields, content_type=default, params={}, body=body)
    ctype = entity.get("content-type")
    if ctype:
        main = ctype.split(";", 1)[0].strip().lower()
        if "/" in main and " " not in main:
            entity.content_type = main
        entity.params = parse_params(ctype)
    return entity


def split_multipart(body: bytes, boundary: bytes) -> list[bytes] | None:
    """The bodies between ``--boundary`` lines; None when no delimiter line is found."""
    delimiter = b"--" + boundary
    starts: list[tuple[int, int, bool]] = []   # (line start, line end, is closing delimiter)
    pos = body.find(delimiter)
    while pos != -1 and len(starts) <= MAX_PARTS:
        line_end = body.find(b"\n", pos)
        if line_end == -1:
            line_end = len(body)
        rest = body[pos + len(delimiter):line_end].rstrip(b" \t")
        if (pos == 0 or body[pos - 1:pos] == b"\n") and rest in (b"", b"--"):
            starts.append((pos, line_end, rest == b"--"))
            if rest == b"--":
                break
        pos = body.find(delimiter, line_end)
    if not starts:
        return None
    parts: list[bytes] = []
    for (_, line_end, closing), nxt in zip(starts, starts[1:] + [(len(body) + 1, 0, True)]):
        if closing:
            break
        parts.append(body[line_end + 1:max(line_end + 1, nxt[0] - 1)])
    return parts
