"""Japanese mail details the fixture rows cannot show: charsets Windows mailers write, the
provider host an NDR names, and the stock-sentence lookup the Japanese detectors share."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from classifiers import Reason, classify
from classifiers.detectors.base import MAX_FINDINGS, stock_reason
from classifiers.engine import host_name
from classifiers.message import parse
from classifiers.text import decode_bytes

# ISO-2022-JP as Windows writes it (CP50220): NEC row 13 and NEC-selected IBM extensions
# inside ESC $ B, which the standard codecs reject.
JIS_CASES = [
    (b"\x1b$B-!\x1b(B", "①"),                                   # NEC row 13: circled one
    (b"\x1b$B-j\x1b(B", "㈱"),                                  # NEC row 13: parenthesised kabu
    (b"\x1b$B|b\x1b(B", "\u9ad9"),                                # NEC-selected IBM ext: 髙
    (b"\x1b$B%a!<%k\x1b(B \x1b(I6E\x1b(B ok", "メール ｶﾅ ok"),    # plain JIS + half-width kana
    (b"Subject \x1b$B%a!<%k-!\x1b(B\nnext", "Subject メール①\nnext"),
]


@pytest.mark.parametrize("raw,text", JIS_CASES)
def test_iso2022jp_with_windows_extensions(raw: bytes, text: str) -> None:
    assert decode_bytes(raw, "ISO-2022-JP") == text


def test_undecodable_jis_is_replaced_or_refused() -> None:
    raw = b"\x1b$B)!\x1b(B"  # row 9: unassigned in JIS X 0208 and in CP932
    assert decode_bytes(raw, "ISO-2022-JP", strict=True) is None
    assert "\ufffd" in decode_bytes(raw, "ISO-2022-JP")


def test_nec_characters_reach_the_detector() -> None:
    """An au one net notice whose Japanese line carries "①" is still read, not mangled."""
    jis = "送信先のメールボックスが一杯のため".encode("iso2022_jp").replace(b"\x1b(B", b"-!\x1b(B")
    body = jis + (b"\n\nYour mail sent on: Thu, 16 Oct 2025 21:45:22 +0900\n"
                  b"     Could not be delivered to: <box@example.dion.ne.jp>\n"
                  b"     As their mailbox is full.\n")
    raw = (b"From: no-reply@example.dion.ne.jp\nReply-To: no-reply@app.auone-net.jp\n"
           b"Subject: mail\nContent-Type: text/plain; charset=ISO-2022-JP\n\n" + body)
    assert parse(raw).text.startswith("送信先のメールボックスが一杯のため①\n")
    report = classify(raw)
    assert report.decoded_by == "kddi"
    assert [(o.recipient, o.reason) for o in report.outcomes] == [
        ("box@example.dion.ne.jp", Reason.MAILBOXFULL)]


@pytest.mark.parametrize("remote,host", [
    ("dns; lsean.ezweb.ne.jp. (192.0.2.228, the server for the domain ezweb.ne.jp.)",
     "lsean.ezweb.ne.jp"),
    ("mfsmax.docomo.ne.jp", "mfsmax.docomo.ne.jp"),
    ("dns;lsean.ezweb.ne.jp (TCP|192.0.2.1|19454|192.0.2.2|25) (au mail)", "lsean.ezweb.ne.jp"),
    ("[203.138.181.240]", ""),
    ("dns; [IPv6:2001:db8::1]", ""),
    ("192.0.2.7", ""),
    ("", ""),
])
def test_host_name(remote: str, host: str) -> None:
    assert host_name(remote) == host


def test_stock_reason_takes_the_first_phrase_found() -> None:
    table = (("mailbox is full", Reason.MAILBOXFULL), ("full", Reason.SYSTEMFULL))
    assert stock_reason("As their MAILBOX IS FULL.", table) is Reason.MAILBOXFULL
    assert stock_reason("disk full", table) is Reason.SYSTEMFULL
    assert stock_reason("nothing here", table) is None


def test_mfilter_without_address_list_reads_the_returned_header() -> None:
    """Older m-FILTER notices may list no address; the returned header block's To names it."""
    body = ("このメールは「m-FILTER」が自動的に生成して送信しています。\n\n"
            "-------server message\n550 5.1.1 unknown user\n\n-------SMTP command\nRCPT\n\n"
            "-------original message\nFrom: a@example.jp\nTo: Kijitora <kijitora@example.co.jp>\n"
            "Subject: x\n\nbody\n")
    raw = (b"From: postmaster@example.co.jp\nSubject: failure notice\nX-Mailer: m-FILTER\n"
           b"Content-Type: text/plain; charset=ISO-2022-JP\n\n" + body.encode("iso2022_jp"))
    report = classify(raw)
    assert report.decoded_by == "mfilter"
    assert [(o.recipient, o.reason, o.hard, o.command) for o in report.outcomes] == [
        ("kijitora@example.co.jp", Reason.USERUNKNOWN, True, "RCPT")]


# Hostile notices in each Japanese layout: an address repeated or listed endlessly costs one
# lookup per distinct address and at most MAX_FINDINGS outcomes, in linear time.
HOSTILE = [
    ("mfilter", b"X-Mailer: m-FILTER\nSubject: failure notice\n\n"
     + b"".join(b"a%d@example.jp\n" % i for i in range(60000)) + b"-------server message\n550 x\n"),
    ("ezweb", b"From: Postmaster@ezweb.ne.jp\nSubject: Mail System Error - Returned Mail\n\n"
     b"Each of the following recipients was rejected by a remote mail server.\n"
     + b"    Recipient: <a@example.jp>\n    >>> RCPT TO:<a@example.jp>\n    <<< 550 x\n" * 30000),
    ("kddi", b"From: no-reply@x.dion.ne.jp\nSubject: x\n\n" + b"Your mail sent on: x\n"
     b"     Could not be delivered to: <a@example.jp>\n     As their mailbox is full.\n" * 20000),
    ("notes", b"Subject: Undeliverable message\n\n------- Failure Reasons  --------\n"
     + b"".join(b"x\na%d@example.jp\n" % i for i in range(60000))),
    ("domino", b"Subject: DELIVERY FAILURE: x\n\n"
     + b"was not delivered to:\n\n  a@example.jp\n\nbecause:\n\n  x\n\n" * 20000),
    ("x2", b"Subject: x\n\nYour delivery to the following address has been failed.\n"
     + b"Delivery failed: a@example.jp\nSTEP: DATA SEND\n" * 50000),
    ("biglobe", b"From: postmaster@biglobe.ne.jp\nSubject: Returned mail: x\n\n"
     b"   ----- The following addresses had delivery problems -----\n" + b"a@example.jp " * 200000),
]


@pytest.mark.parametrize("name,raw", HOSTILE, ids=[name for name, _ in HOSTILE])
def test_hostile_notice_is_bounded(name: str, raw: bytes) -> None:
    started = time.perf_counter()
    report = classify(raw)
    elapsed = time.perf_counter() - started
    assert report.decoded_by == name
    assert 1 <= len(report.outcomes) <= MAX_FINDINGS
    assert elapsed < 2.0, f"{name}: {elapsed:.2f}s for {len(raw) / 1e6:.1f} MB"


FIXTURES = sorted((Path(__file__).parent / "fixtures" / "japan").glob("*.eml"))


@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
def test_fixture_reads_the_same_with_crlf_and_cr(path: Path) -> None:
    """Mail stored by Windows tools (CRLF) or old Macs (CR) gives the same outcomes."""
    raw = path.read_bytes()

    def outcomes(data: bytes) -> list[tuple[str, str, bool, str, str]]:
        return [(o.recipient, o.reason, o.hard, o.status, o.reply_code)
                for o in classify(data).outcomes]

    expected = outcomes(raw)
    assert outcomes(raw.replace(b"\n", b"\r\n")) == expected
    assert outcomes(raw.replace(b"\n", b"\r")) == expected


@pytest.mark.parametrize("name", ["kddi-mailboxfull.eml", "ezweb-userunknown.eml"])
def test_au_spam_filter_sign_means_filtered(name: str) -> None:
    """au marks a recipient its filter refused with X-SPASIGN: NG, whatever the text says."""
    raw = (Path(__file__).parent / "fixtures" / "japan" / name).read_bytes()
    report = classify(b"X-SPASIGN: NG\n" + raw)
    assert report.outcomes
    assert all(o.reason is Reason.FILTERED and not o.hard for o in report.outcomes)
