"""Generators of hostile and broken messages for the matcher (tests/test_fuzz.py, bench/fuzz.py).

Every generator takes a target size (bytes, or a count) so the tests can run small and the
bench large. ``crafted(size)`` is the named table of crafted messages; ``marker_floods(size)``
builds, for every registered detector, messages made of nothing but that detector's own
marker phrases (harvested from the module: its string constants, tuples, dict keys and the
literal words of its regexes), so a new detector is covered without a line here; ``mutate``
damages a real message the ways mail gets damaged; ``compiled_patterns`` lists every
module-level regex of ``classifiers`` for the backtracking audit.
"""
from __future__ import annotations

import importlib
import pkgutil
import random
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import classifiers
import classifiers.detectors
from classifiers import DEAD_REASONS, Kind, Reason, Report
from classifiers.address import normalise
from classifiers.detectors import DETECTORS
from classifiers.lazyre import LazyPattern

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
CORPUS = ROOT.parent / "shared" / "corpus" / "emails"

DSN_HEAD = (b"From: Mail Delivery Service <postmaster@mx.example.net>\n"
            b"To: news@example.org\nSubject: Delivery report\nMIME-Version: 1.0\n"
            b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
            b"--B\nContent-Type: text/plain\n\nDelivery failed.\n\n"
            b"--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n")
BOUNCE_HEAD = b"From: MAILER-DAEMON@example.net\nSubject: Undeliverable: hello\n\n"


#: Kinds whose outcomes may never suppress an address.
NEVER_HARD = frozenset({Kind.DELAY, Kind.AUTOREPLY, Kind.COMPLAINT, Kind.DELIVERED,
                        Kind.NOT_BOUNCE, Kind.UNPARSEABLE})


def violations(report: object) -> list[str]:
    """The promises ``report`` breaks (none, always): a Report, no caught exception, a valid
    Kind, recipients normalised, hard only for a dead address in a bounce, never on a 4xx."""
    if not isinstance(report, Report):
        return [f"not a Report: {type(report).__name__}"]
    found = []
    if report.decoded_by == "error":
        found.append(f"exception: {report.errors}")
    if not isinstance(report.kind, Kind):
        found.append(f"kind {report.kind!r}")
    for o in report.outcomes:
        if not o.recipient or normalise(o.recipient) != o.recipient:
            found.append(f"recipient not normalised: {o.recipient!r}")
        if not isinstance(o.reason, Reason):
            found.append(f"reason {o.reason!r}")
        if o.hard and (report.kind is not Kind.BOUNCE or o.reason not in DEAD_REASONS
                       or o.status.startswith("4") or o.reply_code.startswith("4")):
            found.append(f"hard {report.kind} {o.reason} {o.status} {o.reply_code}: {o.recipient}")
    if report.kind in NEVER_HARD and report.hard_recipients:
        found.append(f"{report.kind} with hard recipients")
    return found


def dsn(blocks: bytes) -> bytes:
    return DSN_HEAD + blocks + b"\n--B--\n"


def dsn_block(address: bytes, diagnostic: bytes = b"smtp; 550 5.1.1 User unknown") -> bytes:
    return (b"Final-Recipient: rfc822; " + address + b"\nAction: failed\nStatus: 5.1.1\n"
            b"Diagnostic-Code: " + diagnostic + b"\n\n")


def _fill(unit: bytes, size: int) -> bytes:
    return unit * max(1, size // max(1, len(unit)))


# --- crafted messages -------------------------------------------------------------------------

def crafted(size: int) -> dict[str, bytes]:
    """Named hostile messages of about ``size`` bytes each (counts scale with it)."""
    return {name: build(size) for name, build in CRAFTED.items()}


def _one_char(char: bytes) -> Callable[[int], bytes]:
    return lambda size: BOUNCE_HEAD + _fill(char, size)


#: Name -> builder(size) of each crafted message.
CRAFTED: dict[str, Callable[[int], bytes]] = {
    "huge-body": lambda size: BOUNCE_HEAD + _fill(b"550 5.1.1 user@example.com: no such user here\n", size),
    "header-lines": lambda size: b"".join(b"X-Line-%d: v\n" % i for i in range(max(1000, size // 20)))
    + b"\nbody\n",
    "header-folding": lambda size: b"Subject: x\n" + _fill(b"\t folded words\n", size) + b"\nbody\n",
    "header-one-line": lambda size: b"Subject: " + _fill(b"=?utf-8?B?", size) + b"\n\nbody\n",
    "mime-nested": lambda size: b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (i, i) for i in range(1000))
    + b"Content-Type: text/plain\n\nx\n",
    "mime-nested-big": lambda size: b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (i, i) for i in range(60))
    + b"Content-Type: text/plain\n\n" + _fill(b"550 5.1.1 <a@example.com> unknown\n", size),
    "mime-many-parts": lambda size: b"Content-Type: multipart/mixed; boundary=b\n\n"
    + _fill(b"--b\nContent-Type: text/plain\n\n550 x@example.com\n", size),
    "mime-boundary-damage": lambda size: b"Content-Type: multipart/report; boundary=\""
    + _fill(b"-", size // 2) + b"\"\n\n" + _fill(b"--\n-- \n---\n", size // 2),
    "nul-bytes": lambda size: dsn(dsn_block(b"nul\x00@example.com") + _fill(b"\x00", size)
                                  + dsn_block(b"ok@example.com")),
    "eight-bit-headers": lambda size: b"Subject: " + _fill(b"\xff\xfe\x82\xa0", size // 2)
    + b"\nFrom: " + "山田 <yamada@example.jp>\n\n本文\n".encode("cp932"),
    "lying-charset": lambda size: b"Content-Type: text/plain; charset=iso-2022-jp\n\n"
    + _fill("宛先不明 ".encode("euc_jp") + b"\x1b$B\xff\xfe", size),
    "unknown-charset": lambda size: b"Content-Type: text/plain; charset=\"x-no-such\xff\"\n\n"
    + _fill("ユーザ不明".encode("cp932"), size),
    "broken-base64": lambda size: b"Content-Type: message/delivery-status\n"
    b"Content-Transfer-Encoding: base64\n\n" + _fill(b"!!not=base64==\x00\xff\n", size),
    "broken-qp": lambda size: b"Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable"
    b"\n\n" + _fill(b"=\n=ZZ=3=\r=", size),
    "encoded-words": lambda size: b"Subject: "
    + _fill(b"=?iso-2022-jp?B?GyRCJDMkcyRLJEEkTxsoQg==?= ", size) + b"\n\nbody\n",
    "html-tags": lambda size: b"Content-Type: text/html\n\n" + _fill(b"<a <b <script>", size),
    "dsn-recipients": lambda size: dsn(b"".join(dsn_block(b"user%d@example.com" % i)
                                                for i in range(max(1000, size // 100)))),
    "dsn-one-block": lambda size: dsn(b"Final-Recipient: rfc822; a@example.com\n"
                                      + _fill(b"Action: failed\nStatus: 5.1.1\n", size)),
    "prose-addresses": lambda size: BOUNCE_HEAD + b"".join(
        b"<u%d@example.com>: 550 unknown\n" % i for i in range(max(1000, size // 30))),
    "address-chain": lambda size: BOUNCE_HEAD + b"a@example.com" + _fill(b"a@", size) + b" x\n",
    "dsn-folded-field": lambda size: dsn(b"Final-Recipient: rfc822; a@example.com\nAction: failed\n"
                                         b"Diagnostic-Code: smtp; 550\n" + _fill(b" more\n", size)),
    "postfix-session-folded": lambda size: b"Subject: Postfix SMTP server: errors from x\n\n"
    b" Out: 550 5.1.1 x\n" + _fill(b"     more\n", size),
    "parameter-lines": lambda size: b"Content-Type: multipart/mixed;\n" + _fill(b"a=b;\n", size)
    + b"\nbody\n",
    "dash-run-marker": lambda size: b"Subject: hi\n\n" + _fill(b"-", size) + b" original\n",
    "unterminated": lambda size: b"Content-Type: multipart/report; boundary=\""
    + _fill(b"x", size // 4) + b"\n\n" + _fill(b"=?utf-8?B?<\"", size),
    "one-char-everywhere": lambda size: b"Subject: " + b"@" * (size // 4) + b"\nFrom: "
    + b"<" * (size // 4) + b"\n\n" + dsn(dsn_block(b"x" + b"@" * (size // 4),
                                                     b"smtp; 550 " + b"5." * (size // 8))),
    "one-char-japanese": _one_char("あ".encode("utf-8")),
    **{f"one-char-{c:02x}": _one_char(bytes([c])) for c in b" .a0@<-=:;>\"'\t\n"},
}


# --- marker floods: every detector's own phrases, endlessly -----------------------------------

_LITERAL = re.compile(r"[^\\^$()\[\]{}|*+?]{6,}")


def marker_phrases(module: object) -> list[str]:
    """The string constants a detector module keys on, and the literal words of its regexes."""
    found: list[str] = []
    for key, value in vars(module).items():
        if key.startswith("__"):
            continue
        items = value if isinstance(value, (tuple, frozenset, list, dict)) else (value,)
        for item in items:
            if isinstance(item, tuple) and item:
                item = item[0]
            if isinstance(item, str) and len(item) >= 3:
                found.append(item)
            elif isinstance(item, (re.Pattern, LazyPattern)) and isinstance(item.pattern, str):
                found.extend(m.strip() for m in _LITERAL.findall(item.pattern))
    return list(dict.fromkeys(p for p in found if p))


def _domains(phrases: list[str]) -> list[str]:
    names = [p.strip("@.") for p in phrases if re.fullmatch(r"[@.]?[a-z0-9-]+(\.[a-z0-9-]+)+", p)]
    return names or ["example.net"]


def marker_floods(size: int) -> Iterator[tuple[str, bytes]]:
    """(label, message) pairs: per detector, its phrases as header, lines, one line, and
    each followed by a fresh recipient and an SMTP reply."""
    for name, detect in DETECTORS:
        phrases = marker_phrases(sys.modules[detect.__module__])
        if not phrases:
            continue
        domain = _domains(phrases)[0]
        fields = [p for p in phrases if re.fullmatch(r"x-[a-z0-9-]+", p)]
        short = [p for p in phrases if len(p) < 70 and "\n" not in p] or ["Undeliverable"]
        head = (f"From: Mail Delivery <postmaster@{domain}>\nTo: a@example.org\n"
                f"Subject: {short[len(short) // 2]}\nMessage-ID: <1@{domain}>\n"
                + "".join(f"{f}: NG\n" for f in fields) + "\n").encode("utf-8")
        text = "\n".join(phrases)
        per = len(text.encode("utf-8")) + 1
        reps = max(1, size // per)
        yield f"{name}-lines", head + ((text + "\n") * reps).encode("utf-8")
        yield f"{name}-one-line", head + ((text.replace("\n", " ") + " ") * reps).encode("utf-8")
        yield f"{name}-recipients", head + "".join(
            f"{phrases[i % len(phrases)]} <u{i}@{domain}>: 550 5.1.1 u{i}@{domain}... User "
            "unknown (in reply to RCPT TO command)\n" for i in range(max(1, size // 120))
        ).encode("utf-8")
        yield f"{name}-subject-flood", (
            f"From: postmaster@{domain}\nSubject: " + " ".join(short) * max(1, size // 4 // per)
            + "\n\n" + text + "\n").encode("utf-8")


# --- mutation of real messages ----------------------------------------------------------------

def real_messages(limit: int | None = None) -> list[tuple[str, bytes]]:
    """Our fixtures, and the shared corpus when it is beside the project (never copied in)."""
    paths = sorted(FIXTURES.glob("*/*.eml"))
    if CORPUS.is_dir():
        paths += sorted(p for p in CORPUS.iterdir() if p.is_file())
    return [(p.name, p.read_bytes()) for p in paths[:limit]]


_CHARSETS = (b"utf-8", b"iso-2022-jp", b"shift_jis", b"euc-jp", b"us-ascii", b"x-unknown",
             b"utf-7", b"utf-16", b"cp1252", b"gb2312", b"\xff\xfe", b"", b"base64")


def _flip(raw: bytes, rnd: random.Random) -> bytes:
    out = bytearray(raw)
    for _ in range(rnd.randint(1, 16)):
        at = rnd.randrange(len(out))
        out[at] = rnd.randrange(256) if rnd.random() < 0.5 else out[at] ^ (1 << rnd.randrange(8))
    return bytes(out)


def _truncate(raw: bytes, rnd: random.Random) -> bytes:
    return raw[:rnd.randrange(len(raw))]


def _duplicate_lines(raw: bytes, rnd: random.Random) -> bytes:
    lines = raw.split(b"\n")
    at = rnd.randrange(len(lines))
    span = lines[at:at + rnd.randint(1, 5)]
    return b"\n".join(lines[:at] + span * rnd.choice((2, 10, 500)) + lines[at:])


def _drop_lines(raw: bytes, rnd: random.Random) -> bytes:
    lines = raw.split(b"\n")
    at = rnd.randrange(len(lines))
    return b"\n".join(lines[:at] + lines[at + rnd.randint(1, 20):])


def _swap_charset(raw: bytes, rnd: random.Random) -> bytes:
    return re.sub(rb"(?i)charset=\"?[A-Za-z0-9_.:-]{0,40}\"?",
                  lambda _: b"charset=" + rnd.choice(_CHARSETS), raw, count=rnd.randint(1, 5))


def _damage_boundary(raw: bytes, rnd: random.Random) -> bytes:
    found = re.search(rb"(?i)boundary=\"?([^\"\s;]{1,100})", raw)
    if not found:
        return _insert(raw, rnd)
    boundary = found.group(1)
    choice = rnd.randrange(4)
    if choice == 0:
        return raw.replace(b"--" + boundary + b"--", b"", 1)          # never closed
    if choice == 1:
        return raw.replace(b"--" + boundary, b"--" + boundary[:-1], rnd.randint(1, 3))
    if choice == 2:
        return raw.replace(boundary, b"", 1)                          # empty boundary
    return raw.replace(b"--" + boundary + b"\n", b"--" + boundary + b"\n--" + boundary + b"\n")


def _repeat_marker(raw: bytes, rnd: random.Random) -> bytes:
    lines = [line for line in raw.split(b"\n") if line.strip()] or [b"x"]
    line = rnd.choice(lines)
    at = rnd.randrange(len(raw) + 1)
    return raw[:at] + (line + b"\n") * rnd.choice((100, 1000, 5000)) + raw[at:]


def _insert(raw: bytes, rnd: random.Random) -> bytes:
    junk = rnd.choice((b"\x00", b"\r", b"=?", b"?=", b"<", b">", b"@", b"--", b"\n\n", b"\t",
                       b";", b'"', b"\x1b$B", b"\x1b(B", b"\xff", b"=\n", b": ", b"\n "))
    at = rnd.randrange(len(raw) + 1)
    return raw[:at] + junk * rnd.choice((1, 3, 100, 5000)) + raw[at:]


def _line_endings(raw: bytes, rnd: random.Random) -> bytes:
    return raw.replace(b"\n", rnd.choice((b"\r\n", b"\r", b"\n\r", b"\r\r\n")))


MUTATORS: dict[str, Callable[[bytes, random.Random], bytes]] = {
    "flip": _flip, "truncate": _truncate, "duplicate-lines": _duplicate_lines,
    "drop-lines": _drop_lines, "charset-swap": _swap_charset, "boundary-damage": _damage_boundary,
    "repeat-marker": _repeat_marker, "insert": _insert, "line-endings": _line_endings,
}


def mutate(raw: bytes, rnd: random.Random, rounds: int = 3) -> tuple[str, bytes]:
    """``raw`` damaged by 1..``rounds`` random mutators; returns (their names, the result)."""
    names = []
    for _ in range(rnd.randint(1, rounds)):
        if not raw:
            break
        name = rnd.choice(tuple(MUTATORS))
        raw = MUTATORS[name](raw, rnd)
        names.append(name)
    return "+".join(names), raw


# --- the regex audit --------------------------------------------------------------------------

def compiled_patterns() -> dict[str, re.Pattern]:
    """Every module-level compiled regex in ``classifiers`` and its detectors, by dotted name."""
    found: dict[str, re.Pattern] = {}
    for package in (classifiers, classifiers.detectors):
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            for key, value in vars(module).items():
                if isinstance(value, (re.Pattern, LazyPattern)):
                    found[f"{module.__name__}.{key}"] = (value.compile() if isinstance(value, LazyPattern)
                                                         else value)
    return found


#: Runs a regex may like: blanks, punctuation mail is made of, letters, digits, kana.
RUN_UNITS = tuple(" .a0@<>-=\n\t:;\"()[]ア\\/?_#|*+,'!") + (
    "a@", "a.", "<a", "a ", "=?", "0.", "5.", "550 ", " \n", "\n ", "@a", "a@a.", ">>>", "a: ",
    "\n\n", "?=", "5.1.1 ", "550-", "a=", "\"a", "mx[", "a [", "a@ ", " a@", "-- ", "<a@")


def attack_strings(pattern: re.Pattern, repeat: int) -> Iterator[str | bytes]:
    """Long runs of each unit (and of the pattern's own literal words), with and without a
    tail that makes a match fail at the very end."""
    source = pattern.pattern if isinstance(pattern.pattern, str) else pattern.pattern.decode("latin-1")
    words = [w.strip() for w in _LITERAL.findall(source) if w.strip()]
    units = RUN_UNITS + tuple(words) + tuple(w + " " for w in words)
    for unit in units:
        for tail in ("", "\x01 x"):
            text = unit * max(1, repeat // len(unit)) + tail
            yield text.encode("utf-8") if isinstance(pattern.pattern, bytes) else text
