"""Bytes to text for mail that lies about its charset: declared charset first, then sniffing."""
from __future__ import annotations

import codecs
import re
from email.header import decode_header

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


def codec_for(charset: str | None) -> str:
    """The Python codec for a MIME charset label, or "" when the label says nothing usable."""
    if not charset:
        return ""
    label = charset.strip().strip('"').lower()
    if label in _ALIASES:
        return _ALIASES[label]
    try:
        return codecs.lookup(label).name
    except LookupError:
        return ""


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Decode ``data``: the declared charset when it fits, else the first that does; never raises."""
    if _ESC_JIS.search(data):
        return _decode_first(data, ("iso2022_jp_ext", "iso2022_jp_2"))
    if data.isascii():
        return data.decode("ascii")
    declared = codec_for(charset)
    order = ("utf-8",) + ((declared,) if declared and declared != "utf-8" else ()) + _SNIFF_ORDER[1:]
    return _decode_first(data, order)


def _decode_first(data: bytes, order: tuple[str, ...]) -> str:
    for codec in order:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode(order[0] if order else "utf-8", errors="replace")


def decode_header_value(value: str) -> str:
    """Decode RFC 2047 encoded words (and raw 8-bit bytes smuggled as surrogates) to text."""
    if "=?" not in value:
        return _unsmuggle(value)
    try:
        chunks = decode_header(value)
    except Exception:  # malformed encoded words: keep the text as it stands
        return _unsmuggle(value)
    out: list[str] = []
    for chunk, charset in chunks:
        out.append(decode_bytes(chunk, charset) if isinstance(chunk, bytes) else _unsmuggle(chunk))
    return "".join(out)


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
_SCRIPT = re.compile(r"<(script|style)\b[^<>]{0,200}>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_ENTITIES = {"&nbsp;": " ", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&amp;": "&"}


def html_to_text(html: str) -> str:
    """A rough, linear-time HTML to text: drop scripts and tags, keep line breaks."""
    text = _SCRIPT.sub(" ", html)
    text = _BREAK_TAG.sub("\n", text)
    text = _TAG.sub("", text)
    for entity, char in _ENTITIES.items():
        text = text.replace(entity, char)
    return text


_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Whitespace folded to single spaces, trimmed: the form diagnostics are compared in."""
    return _SPACES.sub(" ", text).strip()
