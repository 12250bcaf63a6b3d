"""Hostile input: classify never raises and its cost stays linear in the input's size.

Each case builds a message meant to hurt a parser (huge bodies, long runs of one character,
endless folding, deep nesting, broken encodings, a DSN with 10,000 recipients) and asserts
that classify returns a Report within a generous per-megabyte bound. The bound is only a
sanity limit against super-linear behaviour (a backtracking regex, a quadratic loop); the
real figures are printed by ``bench/classify.py``.
"""
from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classifiers import Kind, Report, classify
from classifiers.detectors.base import MAX_FINDINGS

#: Seconds allowed per megabyte of input (plus BASE_SECONDS): far above what linear code
#: takes (~0.1-0.3 s/MB here, more on a loaded CI box), far below any quadratic blow-up.
SECONDS_PER_MB = 2.0
BASE_SECONDS = 2.0

DSN_HEAD = (b"From: Mail Delivery Service <postmaster@mx.example.net>\n"
            b"To: news@example.org\nSubject: Delivery report\nMIME-Version: 1.0\n"
            b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
            b"--B\nContent-Type: text/plain\n\nDelivery failed.\n\n"
            b"--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n")


def _dsn(recipient_blocks: bytes) -> bytes:
    return DSN_HEAD + recipient_blocks + b"\n--B--\n"


def _block(address: bytes, diagnostic: bytes = b"smtp; 550 5.1.1 User unknown") -> bytes:
    return (b"Final-Recipient: rfc822; " + address + b"\nAction: failed\nStatus: 5.1.1\n"
            b"Diagnostic-Code: " + diagnostic + b"\n\n")


def huge_body() -> bytes:
    line = b"All work and no play makes a bounce parser dull. 550 5.1.1 user@example.com\n"
    return b"From: a@example.org\nSubject: big\n\n" + line * (20 * 1024 * 1024 // len(line))


def one_char_body() -> bytes:
    return b"From: MAILER-DAEMON@example.net\nSubject: Undeliverable\n\n" + b"a" * (1024 * 1024)


def one_char_in_every_place() -> bytes:
    run = b"@" * (256 * 1024)
    return (b"Subject: " + run + b"\nFrom: " + b"<" * (256 * 1024) + b"\n\n"
            + _dsn(_block(b"x" + run, b"smtp; 550 " + b"5." * (128 * 1024))))


def many_header_lines() -> bytes:
    return b"".join(b"X-Line-%d: value\n" % i for i in range(100_000)) + b"\nbody\n"


def endless_folding() -> bytes:
    return b"Subject: start\n" + b"\tcontinued words here\n" * 200_000 + b"\nbody\n"


def deep_nesting() -> bytes:
    raw = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (i, i)
                   for i in range(1000))
    return raw + b"Content-Type: text/plain\n\n" + b"Final-Recipient: rfc822; a@example.com\n"


def nul_bytes() -> bytes:
    return _dsn(_block(b"nul\x00@example.com") + b"\x00" * 100_000 + _block(b"ok@example.com"))


def eight_bit_headers() -> bytes:
    return ("From: 配信システム <mailer-daemon@example.jp>\nSubject: 配信エラー \xff\xfe\n"
            .encode("utf-8", "surrogateescape") + "To: 山田 <yamada@example.jp>\n\n本文\n".encode("cp932"))


def lying_charsets() -> bytes:
    return (b"Subject: =?utf-8?B?" + base64.b64encode("ユーザ不明".encode("cp932")) + b"?=\n"
            b"Content-Type: text/plain; charset=x-no-such-charset\n\n"
            + "宛先不明".encode("euc_jp") + b"\n")


def broken_base64() -> bytes:
    return (b"MIME-Version: 1.0\nContent-Type: message/delivery-status\n"
            b"Content-Transfer-Encoding: base64\n\n" + b"!!notbase64==\x00\xff" * 50_000)


def many_recipients() -> bytes:
    return _dsn(b"".join(_block(b"user%d@example.com" % i) for i in range(10_000)))


def many_recipients_read_from_prose() -> bytes:
    """No Diagnostic-Code: each recipient's words are looked up in 1 MB of prose."""
    blocks = b"".join(b"Final-Recipient: rfc822; u%d@example.com\nAction: failed\n"
                      b"Status: 5.0.0\n\n" % i for i in range(3000))
    prose = b"u1@example.com failed: no such user. " * 28_000
    return DSN_HEAD.replace(b"Delivery failed.", prose) + blocks + b"\n--B--\n"


def unclosed_html() -> bytes:
    return (b"From: postmaster@example.net\nSubject: Undeliverable\nContent-Type: text/html\n\n"
            + b"<style>" * 150_000 + b"<script" * 100_000 + b"<" * 200_000 + b"<br" * 100_000)


def long_lines_for_the_fallback() -> bytes:
    line = b"<" * 60_000 + b"a@example.com" + b"(" * 60_000 + b"\n"
    return b"From: MAILER-DAEMON@example.net\nSubject: Undeliverable\n\n" + line * 8


def unclosed_everything() -> bytes:
    return (b"Content-Type: multipart/report; boundary=\"" + b"x" * 100_000 + b"\n\n"
            + b"=?utf-8?B?" * 50_000 + b"<" * 100_000 + b"\"" * 100_000)


CASES: dict[str, Callable[[], bytes]] = {f.__name__: f for f in (
    huge_body, one_char_body, one_char_in_every_place, many_header_lines, endless_folding,
    deep_nesting, nul_bytes, eight_bit_headers, lying_charsets, broken_base64,
    many_recipients, many_recipients_read_from_prose, unclosed_html, long_lines_for_the_fallback, unclosed_everything)}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_input_completes_in_linear_time(name: str) -> None:
    raw = CASES[name]()
    started = time.process_time()
    report = classify(raw)
    elapsed = time.process_time() - started
    assert isinstance(report, Report)
    assert report.decoded_by != "error", report.errors
    limit = BASE_SECONDS + SECONDS_PER_MB * len(raw) / 1e6
    assert elapsed < limit, f"{name}: {elapsed:.2f}s for {len(raw) / 1e6:.1f} MB"


def test_a_dsn_with_ten_thousand_recipients_keeps_them_up_to_the_cap() -> None:
    report = classify(many_recipients())
    assert report.kind is Kind.BOUNCE
    assert len(report.outcomes) == min(10_000, MAX_FINDINGS)
    assert all(o.hard for o in report.outcomes)


def test_nul_bytes_do_not_hide_the_next_recipient() -> None:
    assert "ok@example.com" in {o.recipient for o in classify(nul_bytes()).outcomes}


def test_eight_bit_headers_are_decoded() -> None:
    assert classify(eight_bit_headers()).subject.startswith("配信エラー")


def test_cost_grows_linearly() -> None:
    """Doubling a run of one character (a regex's worst case) doubles the time, no more."""
    def cost(size: int) -> float:
        raw = _dsn(_block(b"a@example.com", b"smtp; 550 " + b"a" * size))
        started = time.process_time()
        classify(raw)
        return time.process_time() - started
    small, large = min(cost(250_000) for _ in range(3)), min(cost(1_000_000) for _ in range(3))
    assert large < 4 * small * 3 + 0.05, (small, large)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4000))
def test_random_bytes_never_raise(raw: bytes) -> None:
    assert classify(raw).decoded_by != "error"


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=len(DSN_HEAD) + 200), st.binary(min_size=1, max_size=40))
def test_mutated_dsn_never_raises(at: int, junk: bytes) -> None:
    raw = _dsn(_block(b"user@example.com"))
    assert classify(raw[:at] + junk + raw[at:]).decoded_by != "error"


#: Junk that hurts regexes: long runs without the character a pattern waits for.
_JUNK = (b"a" * 262_144, b"<a@b " * 52_428, b"550 5.1.1 " * 26_214, b"\n" * 262_144,
         b" " * 262_143 + b"x", b"Final-Recipient: " * 15_420, b"=?utf-8?B?" * 26_214,
         b"\xe3\x81\x82" * 87_381)
FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("*/*.eml"))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_fixture_padded_with_hostile_text_stays_fast(path: Path) -> None:
    """Each format's own detector claims its fixture; with hostile text in the body (at the
    top and at the end) its reading must stay linear too."""
    raw = path.read_bytes()
    junk = _JUNK[FIXTURES.index(path) % len(_JUNK)]
    head, sep, body = raw.partition(b"\n\n")
    for padded in (head + sep + junk + b"\n" + body, raw + b"\n" + junk):
        started = time.process_time()
        report = classify(padded)
        elapsed = time.process_time() - started
        assert report.decoded_by != "error", report.errors
        assert elapsed < BASE_SECONDS + SECONDS_PER_MB * len(padded) / 1e6, f"{elapsed:.2f}s"
