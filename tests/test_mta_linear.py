"""The MTA detectors stay linear on hostile input: repeated markers, addresses and replies.

Each row is a message that claims one detector's format and then repeats the piece of it a
naive parser would loop over (quadratic slicing, one outcome per repeat, backtracking).
Half a megabyte must finish far below the quadratic blow-up (seconds to minutes) these
once showed; the bound is loose so a busy machine does not fail it.
"""
from __future__ import annotations

import time

import pytest

from classifiers import classify

SIZE = 500_000
LIMIT_S = 2.0

CASES = [
    ("postfix", b"Subject: Undelivered Mail Returned to Sender\n\n<a@example.org>: "
     + b"in reply to RCPT " * (SIZE // 17)),
    ("postfix", b"Subject: Undelivered Mail Returned to Sender\n\n"
     + b"<a@example.org>: x\n\n" * (SIZE // 20)),
    ("sendmail", b"Subject: Returned mail: x\n\n----- Transcript of session follows -----\n"
     + b">>> RCPT To:<a@example.org>\n<<< 550 5.1.1 x\n" * (SIZE // 40)),
    ("exim", b"Subject: Mail delivery failed\n\nThis message was created automatically by mail "
     b"delivery software.\nThe following address(es) failed:\n\n  a@example.org\n    "
     + b"SMTP error from remote mail server after " * (SIZE // 42)),
    ("exim", b"Subject: Mail delivery failed\n\nA message that you sent could not be delivered\n"
     b"failed:\n" + b"  a@example.org\n    x\n" * (SIZE // 22)),
    ("qmail", b"Subject: failure notice\n\nHi. This is the qmail-send program at x.\n\n"
     + b"<a@example.org>:\nx\n\n" * (SIZE // 20)),
    ("opensmtpd", b"Subject: x\n\nThis is the MAILER-DAEMON, please DO NOT REPLY to this email\n"
     + b"a@example.org: 550 x\n" * (SIZE // 21)),
    ("x6", b"Subject: x\n\nWe had trouble delivering your message. Full details follow:\n"
     + b"The following recipients returned permanent errors: " * (SIZE // 53)),
    ("trendmicro", b"From: InterScan MSS <postmaster@example.org>\nSubject: x\n\n"
     + b"Sent <<< RCPT TO:<a@example.org>\nReceived >>> 550 x\n" * (SIZE // 50)),
    ("exchange2003", b"Subject: Undeliverable: x\n\ndid not reach the following recipient(s):\n"
     + b"a@example.org on Mon, 2 Mar 2026\n    MSEXCH:IMS:X 0 (000C05A6)\n" * (SIZE // 60)),
]


@pytest.mark.parametrize(("name", "raw"), CASES,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_hostile_input_stays_linear(name: str, raw: bytes) -> None:
    started = time.perf_counter()
    report = classify(raw)
    elapsed = time.perf_counter() - started
    # A detector that finds no recipient passes the message on (claim -> None).
    assert report.decoded_by == name or not report.outcomes
    assert len(report.outcomes) <= 1          # one address repeated is one outcome
    assert elapsed < LIMIT_S, f"{name}: {elapsed:.2f}s for {len(raw)} bytes"
