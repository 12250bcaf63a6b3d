"""Addresses reduced to one comparable form, and malformed ones refused ("" is never suppressed).

``normalise`` lowercases and IDNA-encodes the domain, keeps the local part as written, strips
angle brackets, display names, ``rfc822;`` type prefixes, ``mailto:`` and trailing dots, and
keeps quoted local parts quoted. Anything that is no single mailbox gives "": the engine then
makes no outcome of it, so it can never be suppressed or exported.
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifiers import classify
from classifiers.address import _VALID_DOMAIN, normalise


@pytest.mark.parametrize(("raw", "want"), [
    # the domain's case, never the local part's
    ("User.Name@EXAMPLE.COM", "User.Name@example.com"),
    ("user+tag@Mail.Example.ORG", "user+tag@mail.example.org"),
    # IDNA: Unicode domains in their ASCII form; ASCII (punycode) ones as they are
    ("user@bücher.de", "user@xn--bcher-kva.de"),
    ("user@BÜCHER.DE", "user@xn--bcher-kva.de"),
    ("user@xn--bcher-kva.de", "user@xn--bcher-kva.de"),
    ("taro@例え.テスト", "taro@xn--r8jz45g.xn--zckzah"),
    ("user@ｅｘａｍｐｌｅ.com", "user@example.com"),     # full-width letters (NFKC via IDNA)
    ("ユーザ@example.jp", "ユーザ@example.jp"),           # SMTPUTF8 local parts kept
    # angle brackets and display names
    ("<user@example.com>", "user@example.com"),
    ("<<user@example.com>>", "user@example.com"),
    ("Taro Yamada <taro@example.jp>", "taro@example.jp"),
    ('"Yamada, Taro" <taro@example.jp>', "taro@example.jp"),
    ("<user@example.com", "user@example.com"),
    # trailing dots of a fully qualified domain
    ("user@example.com.", "user@example.com"),
    ("<user@Example.COM.>", "user@example.com"),
    # quoted local parts stay quoted; a whole address in quotes is unquoted
    ('"john doe"@Example.COM', '"john doe"@example.com'),
    ('"john.doe"@example.com', '"john.doe"@example.com'),
    ('"a@b"@example.com', '"a@b"@example.com'),
    ('"a\\"b"@example.com', '"a\\"b"@example.com'),
    ('"user@example.com"', "user@example.com"),
    # DSN address types, mailto:, source routes
    ("rfc822; Gone.Away@Example.COM", "Gone.Away@example.com"),
    ("RFC822;<user@example.org>", "user@example.org"),
    ("utf-8; ユーザ@例え.jp", "ユーザ@xn--r8jz45g.jp"),
    ("x400; user@example.com", "user@example.com"),
    ("mailto:info@example.net", "info@example.net"),
    ("@relay.example.net:mika@example.jp", "mika@example.jp"),
    # what Japanese carriers really issued
    ("taro.@example.ne.jp", "taro.@example.ne.jp"),
    ("taro..jiro@example.ne.jp", "taro..jiro@example.ne.jp"),
])
def test_normalised(raw: str, want: str) -> None:
    assert normalise(raw) == want
    assert normalise(want) == want


MALFORMED = [
    "", "   ", "user", "@", "<>", "rfc822;", "rfc822; <>", "user@", "@example.com",
    "user@@example.com", "a@b@example.com", "a,b@example.com", "a;b@example.com",
    "a(b)@example.com", "a\\b@example.com", 'a"b"c@example.com', '"a"b@example.com',
    '"a"b"@example.com', "us er@example.com", "user\t@example.com", "u\x00ser@example.com",
    "user\x07@example.com", "user@exa mple.com", "user@exa\x00mple.com", "user@example..com",
    "user@.example.com", "user@-example.com", "user@example-.com", "user@exa;mple.com",
    "user@exa/mple.com", "user@" + "a" * 64 + ".com", "user@" + ("a" * 60 + ".") * 5 + "com",
    "user@example.com (comment)", "user@example.com, other@example.com",
    "user@example.com other@example.com", "user@xn--.com",
]


@pytest.mark.parametrize("raw", MALFORMED)
def test_malformed_gives_empty(raw: str) -> None:
    assert normalise(raw) == ""


@pytest.mark.parametrize("raw", [a for a in MALFORMED if "@" in a and "\x00" not in a])
def test_malformed_recipient_is_never_an_outcome(raw: str) -> None:
    """A DSN naming a malformed recipient as dead yields no outcome, so nothing to suppress."""
    message = ("From: MAILER-DAEMON@mx.example.net\nSubject: Undelivered Mail\nMIME-Version: 1.0\n"
               "Content-Type: multipart/report; report-type=delivery-status; boundary=B\n\n"
               "--B\nContent-Type: text/plain\n\nDelivery failed.\n\n"
               "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n"
               f"Final-Recipient: rfc822; {raw}\nAction: failed\nStatus: 5.1.1\n"
               "Diagnostic-Code: smtp; 550 5.1.1 User unknown\n\n--B--\n")
    report = classify(message.encode("utf-8"))
    assert not report.hard_recipients, report.outcomes
    assert all(normalise(o.recipient) == o.recipient != "" for o in report.outcomes)


_ADDRESSISH = st.lists(st.sampled_from(list("aZ0.@-_+\"<>()[]:;,\\ \t\x00é例。") + [
    "rfc822;", "mailto:", "example.com", "xn--", "EXAMPLE"]), max_size=30).map("".join)


@settings(max_examples=500, deadline=None)
@given(_ADDRESSISH)
def test_normalise_is_idempotent_and_valid(raw: str) -> None:
    """Whatever goes in: "" or one mailbox whose domain is valid, lowercase ASCII, and which
    normalises to itself (so the same address is always stored under one key)."""
    address = normalise(raw)
    if not address:
        return
    assert normalise(address) == address
    local, _, domain = address.rpartition("@")
    assert local and domain.isascii() and domain == domain.lower() and len(domain) <= 253
    assert _VALID_DOMAIN.fullmatch(domain)
    assert address.isprintable() and not address.endswith(".")
