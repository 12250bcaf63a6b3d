"""Addresses as bounces print them, reduced to one comparable form; VERP return paths decoded."""
from __future__ import annotations

import pytest

from classifiers.address import find_addresses, normalise, verp_recipient


@pytest.mark.parametrize(("raw", "want"), [
    ("rfc822; Gone.Away@Example.COM", "Gone.Away@example.com"),
    ("RFC822;<user@example.org>", "user@example.org"),
    ("<user@example.org.>", "user@example.org"),
    ('"Yamada, Taro" <taro@example.jp>', "taro@example.jp"),
    ("mailto:info@example.net", "info@example.net"),
    ("utf-8; user@例え.jp", "user@xn--r8jz45g.jp"),
    ("@relay.example.net:mika@store7", "mika@store7"),
    ("(user@example.com)", "user@example.com"),
    ('"john doe"@example.com', '"john doe"@example.com'),
    ("not an address", ""),
    ("user@", ""),
    ("@example.com", ""),
    ("user@exa mple.com", ""),
    ("john doe@example.com", ""),
    ("nul\x00@example.com", ""),
    ("user@-bad-.example", ""),
    ("", ""),
])
def test_normalise(raw: str, want: str) -> None:
    assert normalise(raw) == want


def test_find_addresses_in_order_without_repeats() -> None:
    text = "<a@example.com>: no; B@Example.com said; a@example.com again; c@example.net."
    assert find_addresses(text) == ["a@example.com", "B@example.com", "c@example.net"]


def test_find_addresses_stops_at_japanese_prose() -> None:
    assert find_addresses("yuki@example.ne.jp宛のメールは届きませんでした") == ["yuki@example.ne.jp"]


def test_find_addresses_is_linear_on_a_long_run() -> None:
    assert find_addresses("a" * 200_000 + "@" * 200_000) == []


@pytest.mark.parametrize(("raw", "want"), [
    ("list-bounces+alice=example.org@lists.example.net", "alice@example.org"),
    ("<news-bounces+carol=example.com@lists.example.org>", "carol@example.com"),
    ("list-return-12-bob=example.jp@example.net", "bob@example.jp"),
    ("bounce-mary-jane=example.com@mailer.example.net", "mary-jane@example.com"),
    ("news-bounces@example.org", ""),
    ("a=b@example.org", ""),
    ("bounces+x=nodot@example.org", ""),
])
def test_verp_recipient(raw: str, want: str) -> None:
    assert verp_recipient(raw) == want
