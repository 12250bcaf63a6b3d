"""Hostile input, as properties: ``classify`` never raises, never hangs, stays linear, and what
it returns keeps the matcher's promises (normalised addresses, hard only for dead addresses).

Messages come from ``tests/hostile.py``: crafted ones (huge bodies, endless headers, deep MIME,
lying charsets, NUL, 10,000 recipients ...), every detector's own marker phrases repeated
without end, our fixtures mutated the ways mail gets damaged, and arbitrary bytes. Time bounds
are hang guards only (generous, per megabyte); ``bench/fuzz.py`` prints the real figures.
"""
from __future__ import annotations

import random
import re
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classifiers import Kind, Report, classify
from classifiers.message import normalise_newlines

sys.path.insert(0, str(Path(__file__).parent))
import hostile  # noqa: E402  (a helper module beside the tests)

#: Crafted messages are about this big here (the bench uses 20-50 MB).
SIZE = 2 * 1024 * 1024
#: Marker floods per detector: four messages of about this size each.
FLOOD_SIZE = 64 * 1024
#: Hang guard: CPU seconds allowed per MB of input, plus one. Real cost is ~20-50x lower.
SECONDS_PER_MB = 2.0
FIXTURES = [(p.name, p.read_bytes()) for p in sorted(hostile.FIXTURES.glob("*/*.eml"))]


def check(report: object) -> None:
    """The promises every Report keeps, whatever the input was (``hostile.violations``)."""
    assert not hostile.violations(report)


def timed(raw: bytes) -> tuple[Report, float]:
    started = time.process_time()
    report = classify(raw)
    return report, time.process_time() - started


def assert_in_time(label: str, raw: bytes, elapsed: float) -> None:
    limit = 1.0 + SECONDS_PER_MB * len(raw) / 1e6
    assert elapsed < limit, f"{label}: {elapsed:.2f}s for {len(raw) / 1e6:.2f} MB"


CRAFTED = hostile.crafted(SIZE)


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_crafted_message(name: str) -> None:
    raw = CRAFTED[name]
    report, elapsed = timed(raw)
    check(report)
    assert_in_time(name, raw, elapsed)


#: Peak memory allowed while classifying, in multiples of the input's size (lines split into
#: Python strings cost ~20x on short lines; a copy of the body per MIME level cost 40x).
MEMORY_FACTOR = 25


@pytest.mark.parametrize("name", ["mime-nested-big", "huge-body", "header-folding",
                                  "dsn-recipients", "mime-many-parts"])
def test_memory_stays_proportional(name: str) -> None:
    raw = hostile.CRAFTED[name](SIZE // 2)
    tracemalloc.start()
    try:
        classify(raw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_FACTOR * len(raw), f"{name}: peak {peak / len(raw):.1f}x the input"


FLOODS = list(hostile.marker_floods(FLOOD_SIZE))


@pytest.mark.parametrize(("label", "raw"), FLOODS, ids=[label for label, _ in FLOODS])
def test_marker_flood(label: str, raw: bytes) -> None:
    """A message that is nothing but one detector's own phrases, endlessly."""
    report, elapsed = timed(raw)
    check(report)
    assert_in_time(label, raw, elapsed)


def test_every_detector_has_marker_floods() -> None:
    from classifiers.detectors import DETECTORS
    flooded = {label.rsplit("-", 2)[0] for label, _ in FLOODS}
    missing = [name for name, _ in DETECTORS if not any(f.startswith(name) for f in flooded)]
    assert not missing


@pytest.mark.parametrize(("unit", "small", "why"), [
    ("dash-run-marker", 16 * 1024, "message._INLINE_ORIGINAL backtracked: 64 KB took ~100 s"),
    ("address-chain", 16 * 1024, "generic's address-line regex backtracked: 64 KB ~100 s"),
    ("dsn-folded-field", 128 * 1024, "message.field_blocks re-joined each folded line: 7 s/2 MB"),
    ("postfix-session-folded", 128 * 1024, "postfix re-joined each transcript line: 4 s/3 MB"),
    ("parameter-lines", 128 * 1024, "mime.split_header re-joined parameter lines: 3 s/0.5 MB"),
])
def test_fixed_superlinear_cases_stay_linear(unit: str, small: int, why: str) -> None:
    """Each was quadratic before its fix; four times the input now costs about four times."""
    def cost(size: int) -> float:
        raw = hostile.CRAFTED[unit](size)
        return min(timed(raw)[1] for _ in range(3))
    base, grown = cost(small), cost(4 * small)
    assert grown < 0.5 and grown < 8 * base + 0.05, (why, base, grown)


def test_ten_thousand_recipients_are_capped_linearly() -> None:
    from classifiers.detectors.base import MAX_FINDINGS
    raw = hostile.dsn(b"".join(hostile.dsn_block(b"user%d@example.com" % i) for i in range(10_000)))
    report, elapsed = timed(raw)
    assert report.kind is Kind.BOUNCE and len(report.outcomes) == MAX_FINDINGS
    assert_in_time("10k recipients", raw, elapsed)


# --- hypothesis -------------------------------------------------------------------------------

@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=6000))
def test_arbitrary_bytes(raw: bytes) -> None:
    check(classify(raw))


_MAILISH = st.lists(st.sampled_from([
    b"\n", b"\r\n", b"\r", b" ", b"\t", b":", b";", b"@", b"<", b">", b"=?", b"?=", b"--", b"\"",
    b"From: ", b"Subject: ", b"Content-Type: multipart/report; boundary=b\n", b"--b\n",
    b"Content-Type: message/delivery-status\n", b"Final-Recipient: rfc822; ", b"Action: failed\n",
    b"Status: 5.1.1\n", b"Diagnostic-Code: smtp; 550 ", b"user@example.com", b"MAILER-DAEMON",
    b"Undeliverable", b"charset=iso-2022-jp", b"\x1b$B", b"base64\n", b"\xff", b"\x00",
]), max_size=300).map(b"".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_MAILISH)
def test_mail_shaped_bytes(raw: bytes) -> None:
    check(classify(raw))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FIXTURES), st.randoms(use_true_random=False))
def test_mutated_fixture(fixture: tuple[str, bytes], rnd: random.Random) -> None:
    name, raw = fixture
    how, mutated = hostile.mutate(raw, rnd)
    report, elapsed = timed(mutated)
    check(report)
    assert_in_time(f"{name} {how}", mutated, elapsed)


@pytest.mark.parametrize(("name", "raw"), FIXTURES, ids=[n for n, _ in FIXTURES])
def test_line_endings_do_not_matter(name: str, raw: bytes) -> None:
    """The same fixture with LF, CRLF and CR line endings gives the same Report."""
    lf = normalise_newlines(raw)
    want = classify(lf)
    check(want)
    assert classify(lf.replace(b"\n", b"\r\n")) == want
    assert classify(lf.replace(b"\n", b"\r")) == want


def test_fixture_reports_hold_their_promises() -> None:
    for name, raw in FIXTURES:
        check(classify(raw))


# --- regex audit ------------------------------------------------------------------------------

PATTERNS = hostile.compiled_patterns()
_USE = re.compile(r"\b(_[A-Z0-9_]+)\.(search|match|fullmatch|finditer|findall|sub|subn|split)\(")
_SCANS = {"search": "search", "match": "match", "fullmatch": "fullmatch"}


def _uses() -> dict[str, set[str]]:
    """Pattern name -> the operations the code applies to it (a scan for sub/findall ...)."""
    uses: dict[str, set[str]] = {}
    for path in Path(sys.modules["classifiers"].__file__).parent.rglob("*.py"):
        module = ".".join(path.relative_to(hostile.ROOT).with_suffix("").parts)
        for name, op in _USE.findall(path.read_text(encoding="utf-8")):
            uses.setdefault(f"{module}.{name}", set()).add(_SCANS.get(op, "finditer"))
    return uses


USES = _uses()


def _cost(pattern: re.Pattern, text, ops: set[str]) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for op in ops:
            if op == "finditer":
                for _ in pattern.finditer(text):
                    pass
            else:
                getattr(pattern, op)(text)
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_regex_cost_is_linear(name: str) -> None:
    """Every module-level regex, run the ways the code runs it, on long runs of what it likes
    (with and without its own words and a failing tail): 4x the input costs about 4x."""
    pattern = PATTERNS[name]
    ops = USES.get(name) or {"search", "match", "fullmatch", "finditer"}
    slow = []
    sizes = (1500, 6000, 24000)
    for small, large, huge in zip(*(hostile.attack_strings(pattern, n) for n in sizes)):
        base = _cost(pattern, small, ops)
        if base < 0.0005:
            continue   # too cheap to matter at this size; quadratic would already show
        grown = _cost(pattern, large, ops)
        # Quadratic grows 16x per step; a busy machine may fake one step, not two in a row.
        if grown > 10 * base + 0.005 and _cost(pattern, huge, ops) > 10 * grown:
            slow.append((small[:12], round(base * 1e3, 2), round(grown * 1e3, 2)))
    assert not slow, f"{name} ({sorted(ops)}): super-linear on {slow}"
