"""Detectors that read a DSN through rfc3464.findings_of keep each recipient's own words."""
from __future__ import annotations

from classifiers import classify

TWO_RECIPIENTS_NO_DIAGNOSTIC = b"""From: Mail Delivery System <MAILER-DAEMON@messagelabs.com>
To: bounces@lists.example.org
Subject: Mail Delivery Failure
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b"

--b
Content-Type: text/plain

This is the mail delivery agent at messagelabs.com.

I was unable to deliver your message to the following addresses:

carol@example.com
Reason: 550 5.1.1 carol@example.com... User unknown

dave@example.net
Reason: 452 4.2.2 Mailbox full

--b
Content-Type: message/delivery-status

Reporting-MTA: dns; server-1.messagelabs.com

Final-Recipient: rfc822; carol@example.com
Action: failed
Status: 5.1.1

Final-Recipient: rfc822; dave@example.net
Action: failed
Status: 4.2.2

--b--
"""


def test_each_recipient_reads_only_the_prose_that_names_it():
    report = classify(TWO_RECIPIENTS_NO_DIAGNOSTIC)
    by = {o.recipient: o for o in report.outcomes}
    assert report.decoded_by == "messagelabs"
    assert set(by) == {"carol@example.com", "dave@example.net"}
    assert "User unknown" in by["carol@example.com"].diagnostic
    assert "Mailbox full" not in by["carol@example.com"].diagnostic
    assert by["carol@example.com"].hard and not by["dave@example.net"].hard
    assert str(by["dave@example.net"].reason) == "mailboxfull"
