"""The decode layer: MIME splitting, transfer encodings, charsets, line endings, report parts."""
from __future__ import annotations

import base64

import pytest

from classifiers.message import parse
from classifiers.mime import decode_base64, split_multipart

DSN = b"""From: Mail Delivery System <MAILER-DAEMON@mx.example.net>
To: list-bounces@example.org
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="B1"

--B1
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not be delivered.

--B1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; gone@example.com
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <gone@example.com>:
    Recipient address rejected: User unknown

--B1
Content-Type: message/rfc822

Message-ID: <abc@example.org>
From: news@example.org
Subject: =?UTF-8?B?44OL44Ol44O844K5?=
List-Id: <news.example.org>

body
--B1--
"""


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_dsn_parts_are_found_whatever_the_line_ending(ending):
    msg = parse(DSN.replace(b"\n", ending))
    assert msg.report_type == "delivery-status"
    assert msg.dsn_fields.get("reporting-mta") == "dns; mx.example.net"
    (recipient,) = msg.dsn_recipients
    assert recipient.get("final-recipient") == "rfc822; gone@example.com"
    assert recipient.get("diagnostic-code").endswith("Recipient address rejected: User unknown")
    assert msg.original_headers.get("message-id") == "<abc@example.org>"
    assert msg.original_headers.get("subject") == "ニュース"
    assert "could not be delivered" in msg.text
    assert "Final-Recipient" not in msg.text


def test_iso_2022_jp_body_and_encoded_word_subject():
    body = "宛先のメールアドレスが見つかりません".encode("iso2022_jp")
    raw = (b"Subject: =?ISO-2022-JP?B?" + base64.b64encode("配信エラー".encode("iso2022_jp")) + b"?=\n"
           b"Content-Type: text/plain; charset=ISO-2022-JP\n\n" + body + b"\n")
    msg = parse(raw)
    assert msg.subject == "配信エラー"
    assert "メールアドレスが見つかりません" in msg.text


@pytest.mark.parametrize("codec,label", [("cp932", "shift_jis"), ("euc_jp", "x-unknown"), ("cp932", "")])
def test_japanese_8bit_bodies_decode_with_or_without_a_true_label(codec, label):
    ctype = f"Content-Type: text/plain; charset={label}\n" if label else ""
    raw = (f"Subject: x\n{ctype}Content-Transfer-Encoding: 8bit\n\n").encode() + "ユーザが存在しません".encode(codec)
    assert "ユーザが存在しません" in parse(raw).text


def test_quoted_printable_and_mislabelled_utf8():
    raw = (b"Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n"
           b"Bo=C3=AEte pleine=\n suite\n")
    assert "Boîte pleine suite" in parse(raw).text


def test_broken_base64_still_decodes_what_it_can():
    good = base64.b64encode(b"550 5.1.1 user unknown here")
    assert decode_base64(good[:-3] + b"!!\n") .startswith(b"550 5.1.1 user unknown")


def test_multipart_split_ignores_boundary_prefixes_and_text_mentions():
    body = b"preamble --B1 inline\n--B1\nA\n--B1x\nstill A\n--B1 \nB\n--B1--\nepilogue"
    assert split_multipart(body, b"B1") == [b"A\n--B1x\nstill A", b"B"]


def test_missing_boundary_keeps_the_body_as_text():
    raw = b"Content-Type: multipart/report; report-type=delivery-status\n\nFinal-Recipient: rfc822; a@b.example\n"
    assert "Final-Recipient: rfc822; a@b.example" in parse(raw).text


def test_deep_nesting_is_cut_not_fatal():
    depth = 1000
    raw = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (i, i) for i in range(depth))
    raw += b"Content-Type: text/plain\n\nhello\n"
    msg = parse(raw)
    assert "multipart nested too deep" in msg.defects


def test_garbage_headers_become_body():
    msg = parse(b"this is not a header line\nSubject: no\n\nbody")
    assert msg.subject == ""
    assert msg.text.startswith("this is not a header line")


def test_eight_bit_junk_in_a_charset_label_is_ignored():
    """A label codecs cannot even encode (raw 8-bit bytes) must not stop decoding."""
    raw = b'Subject: x\nContent-Type: text/plain; charset="\xc9x"\n\ncaf\xc3\xa9\n'
    assert "café" in parse(raw).text
