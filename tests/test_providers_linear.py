"""The provider detectors stay linear on hostile input: each row claims one provider's format
(its sender, marker sentence or header) and then repeats the piece its parser walks over
(recipient lines, JSON objects, code separators, card titles).

Half a megabyte must finish far below what quadratic slicing, one reason lookup per repeat or
a backtracking pattern would cost; the bound is loose so a busy machine does not fail it.
The repeats also exceed ``MAX_FINDINGS``, so the cap on outcomes is exercised.
"""
from __future__ import annotations

import time

import pytest

from classifiers import classify
from classifiers.detectors.base import MAX_FINDINGS

SIZE = 500_000
LIMIT_S = 2.0


def _msg(headers: str, lead: str, piece: str) -> bytes:
    return (headers + "\n\n" + lead + piece * (SIZE // len(piece))).encode()


CASES = [
    ("gmail", _msg("From: mailer-daemon@googlemail.com\nSubject: Delivery Status Notification",
                   "Delivery to the following recipient failed permanently:\n\n",
                   "     a@example.org\n")),
    ("gmail", _msg("From: mailer-daemon@googlemail.com\nSubject: x", "** Address not found **\n",
                   "Your message wasn't delivered to ")),
    ("googlegroups", _msg("From: mailer-daemon@googlemail.com\nX-Failed-Recipients: g@example.org",
                          "Google Groups\n", "\n\n x")),
    ("yahoo", _msg("From: MAILER-DAEMON@yahoo.com\nSubject: Failure Notice",
                   "Sorry, we were unable to deliver your message to the following address.\n",
                   "<a@example.org>:\nRemote host said: 550 [RCPT_TO]\n")),
    ("amazonses", _msg("From: no-reply@sns.amazonaws.com\nSubject: AWS Notification Message",
                       '{"notificationType":"Bounce","bounce":{"bouncedRecipients":[',
                       '{"emailAddress":"a@example.org","status":"5.1.1"},')),
    ("amazonses", _msg("From: no-reply@sns.amazonaws.com\nSubject: x", '"notificationType" "Bounce"',
                       '{"emailAddress":"' + "a" * 300)),
    ("amazonworkmail", _msg("From: MAILER-DAEMON@us-west-2.amazonses.com\nSubject: x",
                            "Technical report:\n\n", "Final-Recipient: rfc822; a@example.org\n\n")),
    ("zoho", _msg("From: mailer-daemon@mail.zoho.com\nSubject: x", "",
                  "a" * 300 + "@" + "b" * 250 + " Invalid Address, ERROR_CODE :")),
    ("zoho", _msg("From: mailer-daemon@mail.zoho.com\nSubject: x", "",
                  "[Status: Error, Address: <a@example.org>, ResponseCode 421, x]\n")),
    ("gmx", _msg("From: MAILER-DAEMON@mail.gmx.com\nSubject: x", "SMTP error from remote server\n",
                 "a@example.org:\nhost: mx\n") + b"\n--- The header of the original message is following. ---\n"),
    ("verizon", _msg("From: post_master@vtext.com\nSubject: x", "Error message below:\n",
                     "Message details:\n  RCPT TO: a@example.org\n")),
    ("mimecast", _msg("From: postmaster@example.org\nSubject: x",
                      "An email that you attempted to send to the following address could not be "
                      "delivered:\n", "-- a@example.org\n")),
    ("sendgrid", _msg("From: MAILER-DAEMON@example.org\nSubject: x",
                      "This is an automatically generated message from SendGrid.\n",
                      "<" + "a" * 300 + "@" + "b" * 250 + "> : x : ")),
]


@pytest.mark.parametrize(("name", "raw"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_hostile_provider_input_completes_fast(name: str, raw: bytes) -> None:
    started = time.perf_counter()
    report = classify(raw)
    elapsed = time.perf_counter() - started
    assert elapsed < LIMIT_S, f"{name}: {len(raw)} bytes took {elapsed:.2f}s"
    assert len(report.outcomes) <= MAX_FINDINGS
