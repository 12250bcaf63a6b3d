"""Bytes to text for mail that lies about its charset: declared charset first, then sniffing."""
from __future__ import annotations

import binascii
import codecs
import re

# Charset labels real mail uses, mapped to the Python codec that decodes what they really carry
# (Shift_JIS mail is nearly always CP932; ISO-2022-JP often carries half-width kana / NEC
# extensions that only the _ext codec reads).
_ALIASES: dict[str, str] = {
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
    "windows-31j": "cp932", "ms932": "cp932", "cp932": "cp932",
    "iso-2022-jp": "iso2022_jp_ext", "iso-2022-jp-1": "iso2022_jp_ext",
    "iso-2022-jp-2": "iso2022_jp_2", "iso-2022-jp-3": "iso2022_jp_3", "csiso2022jp": "iso2022_jp_ext",
    "euc-jp": "euc_jis_2004", "x-euc-jp": "euc_jis_2004", "eucjp": "euc_jis_2004",
    "us-ascii": "utf-8", "ascii": "utf-8", "ansi_x3.4-1968": "utf-8", "unknown-8bit": "",
    "x-unknown": "", "unknown": "", "8bit": "", "default": "", "x-user-defined": "",
    "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252",
    "ks_c_5601-1987": "cp949", "gb2312": "gb18030", "gbk": "gb18030",
}
_ESC_JIS = re.compile(rb"\x1b\$[@B]|\x1b\(J|\x1b\(I")
# Sniffing order for 8-bit text: strict UTF-8 (rarely valid by accident), then EUC-JP (its
# strict byte pairs reject CP932 text), then CP932, then Windows Latin-1.
_SNIFF_ORDER = ("utf-8", "euc_jis_2004", "cp932", "cp1252")
#: Codecs that decode any byte string, so they prove nothing about the bytes.
_SINGLE_BYTE = frozenset({"cp1252", "latin-1", "iso8859-1", "iso8859-15", "cp1251", "koi8-r"})


def codec_for(charset: str | None) -> str:
    """The Python codec for a MIME charset label, or "" when the label says nothing usable."""
    if not charset:
        return ""
    label = charset.strip().strip('"').lower()
    if label in _ALIASES:
        return _ALIASES[label]
    try:
        return codecs.lookup(label).name
    except (LookupError, UnicodeError):  # unknown, or 8-bit junk in the label
        return ""


def decode_bytes(data: bytes, charset: str | None = None, strict: bool = False) -> str | None:
    """Decode ``data``: the declared charset when it fits, else the first that does.

    Never raises: when nothing fits exactly, the first candidate decodes with replacement
    characters, or, with ``strict``, the result is None.
    """
    if _ESC_JIS.search(data):
        found = _decode_first(data, ("iso2022_jp_ext", "iso2022_jp_2"), strict=True)
        return found if found is not None else jis_as_cp932(data, strict)
    if data.isascii():
        return data.decode("ascii")
    declared = codec_for(charset)
    order = ("utf-8",) + ((declared,) if declared and declared != "utf-8" else ()) + _SNIFF_ORDER[1:]
    return _decode_first(data, order, strict)


_JIS_SEGMENT = re.compile(rb"\x1b(\$[@B]|\([BJI])([^\x1b]*)")


def jis_as_cp932(data: bytes, strict: bool = False) -> str | None:
    """ISO-2022-JP as Windows mailers write it (CP50220: NEC row 13 "①㈱", IBM extensions
    "髙﨑", which no ISO-2022-JP codec knows): each JIS X 0208 pair becomes its Shift_JIS
    bytes, half-width kana its 8-bit byte, and the whole is read as CP932."""
    out = bytearray()
    pos = 0
    for match in _JIS_SEGMENT.finditer(data):
        out += data[pos:match.start()]
        pos = match.end()
        mode, segment = match.group(1), match.group(2)
        if mode == b"(I":
            out += bytes(b | 0x80 if 0x21 <= b <= 0x5F else b for b in segment)
        elif mode in (b"$@", b"$B"):
            out += _jis0208_as_sjis(segment)
        else:
            out += segment
    out += data[pos:]
    try:
        return out.decode("cp932")
    except UnicodeDecodeError:
        return None if strict else out.decode("cp932", errors="replace")


def _jis0208_as_sjis(segment: bytes) -> bytes:
    """JIS X 0208 byte pairs as Shift_JIS; bytes outside a pair (a stray newline) kept."""
    out = bytearray()
    i, size = 0, len(segment)
    while i < size:
        j1 = segment[i]
        j2 = segment[i + 1] if i + 1 < size else 0
        if not (0x21 <= j1 <= 0x7E and 0x21 <= j2 <= 0x7E):
            out.append(j1)
            i += 1
            continue
        out.append((j1 + 1) // 2 + (0x70 if j1 <= 0x5E else 0xB0))
        out.append(j2 + (0x1F + (j2 >= 0x60) if j1 % 2 else 0x7E))
        i += 2
    return bytes(out)


def _decode_first(data: bytes, order: tuple[str, ...], strict: bool = False) -> str | None:
    for codec in order:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    return None if strict else data.decode(order[0] if order else "utf-8", errors="replace")


# An RFC 2047 encoded word: =?charset?B|Q?text?= (charset may carry *language).
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,40})\?([BbQq])\?([^?\s]{0,2000})\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)[ \t\n]+(?==\?)")


def decode_header_value(value: str) -> str:
    """Decode RFC 2047 encoded words (and raw 8-bit bytes smuggled as surrogates) to text.

    Lenient: undecodable words stay as written, whitespace between adjacent encoded words
    is dropped (RFC 2047 section 6.2), a word's bytes are decoded with the charset it names
    or, if that fails, whatever fits (``decode_bytes``).
    """
    if "=?" not in value:
        return _unsmuggle(value)
    value = _BETWEEN_WORDS.sub(r"\1", value)
    out: list[str] = []
    pos = 0
    for match in _ENCODED_WORD.finditer(value):
        out.append(_unsmuggle(value[pos:match.start()]))
        out.append(_encoded_word(*match.groups()) or match.group(0))
        pos = match.end()
    out.append(_unsmuggle(value[pos:]))
    return "".join(out)


def decode_fields(fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(name, ``decode_header_value(value)``) for each field; plain ASCII values, which most
    are and which decode to themselves, are kept without a call."""
    return [(name, value if value.isascii() and "=?" not in value else decode_header_value(value))
            for name, value in fields]


def _encoded_word(charset: str, encoding: str, text: str) -> str:
    try:
        raw = text.encode("ascii")
        if encoding in "Bb":
            raw = binascii.a2b_base64(raw + b"=" * (-len(raw) % 4))
        else:
            raw = binascii.a2b_qp(raw, header=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return ""
    charset = charset.split("*", 1)[0]
    codec = codec_for(charset)
    if codec and codec not in _SINGLE_BYTE and not _ESC_JIS.search(raw):
        try:
            return raw.decode(codec)  # an encoded word's label is rarely wrong
        except UnicodeDecodeError as exc:
            if exc.start >= len(raw) - 3:  # a word cut inside its last character
                return raw.decode(codec, "replace")
        except LookupError:
            pass
    return decode_bytes(raw, charset) or ""


def _unsmuggle(value: str) -> str:
    """The email package keeps 8-bit header bytes as lone surrogates; decode them properly."""
    if value.isascii():
        return value
    try:
        raw = value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return value
    return decode_bytes(raw)


_TAG = re.compile(r"<[^<>]{0,2000}>")
_BREAK_TAG = re.compile(r"<(?:br|/p|/div|/tr|/li|/h\d)\b[^<>]{0,200}>", re.IGNORECASE)
#: Elements whose content is no text.
_HIDDEN = ("script", "style")
_ENTITIES = {"&nbsp;": " ", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&amp;": "&"}


def html_to_text(html: str) -> str:
    """A rough, linear-time HTML to text: drop scripts and tags, keep line breaks."""
    text = _drop_hidden(html)
    text = _BREAK_TAG.sub("\n", text)
    text = _TAG.sub("", text)
    for entity, char in _ENTITIES.items():
        text = text.replace(entity, char)
    return text


def _drop_hidden(html: str) -> str:
    """``html`` without <script>/<style> elements; an unclosed one runs to the end.

    Plain ``find`` calls, each resuming where the last stopped (a lazy ``.*?</script>``
    regex rescans the rest of the text for every unclosed tag: quadratic)."""
    lowered = lower_aligned(html)
    if "<script" not in lowered and "<style" not in lowered:
        return html
    out: list[str] = []
    pos = 0
    upcoming = {tag: lowered.find("<" + tag) for tag in _HIDDEN}
    while True:
        for tag, at in upcoming.items():  # refresh only the positions already passed
            if -1 < at < pos:
                upcoming[tag] = lowered.find("<" + tag, pos)
        found = [(at, tag) for tag, at in upcoming.items() if at != -1]
        if not found:
            break
        start, tag = min(found)
        out.append(html[pos:start])
        out.append(" ")
        end = lowered.find("</" + tag, start)
        close = lowered.find(">", end) if end != -1 else -1
        pos = close + 1 if close != -1 else len(html)
    out.append(html[pos:])
    return "".join(out)


def lower_aligned(text: str) -> str:
    """``text.lower()`` with every character at the same index as in ``text``, so positions
    found in one hold in the other (a few characters, like "İ", lengthen when lowercased;
    then non-ASCII characters become "?")."""
    lowered = text.lower()
    if len(lowered) != len(text):
        lowered = text.encode("ascii", "replace").decode("ascii").lower()
    return lowered


def fold(text: str) -> str:
    """Whitespace folded to single spaces, trimmed: the form diagnostics are compared in.
    (``str.split`` knows the same whitespace as the regex ``\\s+`` and costs less.)"""
    return " ".join(text.split())
