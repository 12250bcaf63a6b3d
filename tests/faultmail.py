"""Several hundred varied bounce mailbox messages for the fault tests, from a few templates.

``mailbox(n, seed)`` is deterministic: the same arguments give the same bytes. The mix has
hard and soft DSNs with one to three recipients (addresses drawn from a small pool, so that
counts per address add up across messages), delay notices, ARF complaints, auto-replies,
ordinary mail, undecodable "bounces" and a few exact copies (same content, a second UID).
"""
from __future__ import annotations

import random
from collections.abc import Callable

#: (status, SMTP reply, diagnostic) per failure: dead, transient and sender-side ones.
FAILURES = (
    ("5.1.1", "550", "Recipient address rejected: User unknown in virtual mailbox table"),
    ("5.1.1", "550", "No such user here"),
    ("5.1.2", "550", "Host or domain name not found. Name service error"),
    ("4.2.2", "452", "Mailbox full, try again later"),
    ("5.2.2", "552", "Mailbox quota exceeded"),
    ("5.7.1", "550", "Message rejected as spam by content filter"),
    ("4.4.1", "451", "Connection timed out"),
    ("5.3.4", "552", "Message size exceeds fixed limit"),
)
DOMAINS = ("example.net", "example.com", "example.org", "example.edu", "example.info")
POOL = tuple(f"{name}{i}@{DOMAINS[i % len(DOMAINS)]}"
             for i, name in enumerate(["ada", "bo", "cy", "di", "ed", "flo", "gus", "hal"] * 8))


def _date(n: int) -> str:
    return f"Mon, {1 + n % 28} Mar 2026 {n % 24:02d}:{n % 60:02d}:07 +0000"


def _dsn(n: int, rnd: random.Random, action: str = "failed") -> bytes:
    recipients = rnd.sample(POOL, rnd.choice((1, 1, 1, 2, 3)))
    failures = [rnd.choice(FAILURES) for _ in recipients]
    boundary = f"b{n}.{rnd.randrange(10**9)}/mx.lists.example.org"
    prose = "".join(f"<{r}>: host mx.{r.split('@')[1]}[192.0.2.{n % 250}] said: {code} {st}\n"
                    f"    {diag} (in reply to RCPT TO command)\n\n"
                    for r, (st, code, diag) in zip(recipients, failures))
    fields = "".join(
        f"Final-Recipient: rfc822; {r}\nAction: {action}\nStatus: {'4.4.7' if action == 'delayed' else st}\n"
        f"Remote-MTA: dns; mx.{r.split('@')[1]}\nDiagnostic-Code: smtp; {code} {st} {diag}\n\n"
        for r, (st, code, diag) in zip(recipients, failures))
    subject = ("Delayed Mail (still being retried)" if action == "delayed"
               else "Undelivered Mail Returned to Sender")
    return f"""Return-Path: <>
Date: {_date(n)}
From: MAILER-DAEMON@mx.lists.example.org (Mail Delivery System)
Subject: {subject}
To: bounces@lists.example.org
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="{boundary}"
Message-Id: <fault-{n}@mx.lists.example.org>

--{boundary}
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.lists.example.org.

{prose}
--{boundary}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.lists.example.org
Arrival-Date: {_date(n)}

{fields}
--{boundary}
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: News <news@lists.example.org>
To: {recipients[0]}
Subject: Issue {n}
Message-ID: <issue-{n}@lists.example.org>

--{boundary}--
""".encode()


def _complaint(n: int, rnd: random.Random) -> bytes:
    who = rnd.choice(POOL)
    return f"""Date: {_date(n)}
From: Feedback Loop <fbl@feedback.example.com>
To: bounces@lists.example.org
Subject: FW: Issue {n}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="arf{n}"
Message-ID: <arf-{n}@feedback.example.com>

--arf{n}
Content-Type: text/plain; charset="US-ASCII"

This is an email abuse report for a message received on {_date(n)}.

--arf{n}
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: ExampleFBL/1.0
Version: 1
Original-Rcpt-To: <{who}>

--arf{n}
Content-Type: message/rfc822

From: News <news@lists.example.org>
To: {who}
Subject: Issue {n}
Message-ID: <issue-{n}.{who}@lists.example.org>

Issue {n} of the newsletter.

--arf{n}--
""".encode()


def _autoreply(n: int, rnd: random.Random) -> bytes:
    who = rnd.choice(POOL)
    return f"""Date: {_date(n)}
From: <{who}>
To: bounces@lists.example.org
Subject: Automatic reply: Issue {n}
Auto-Submitted: auto-replied
Message-ID: <away-{n}@{who.split('@')[1]}>

I am out of the office until {1 + n % 28} April.
""".encode()


def _plain(n: int, rnd: random.Random) -> bytes:
    return f"""Date: {_date(n)}
From: Reader {n} <reader{n}@example.com>
To: bounces@lists.example.org
Subject: question about issue {n}
Message-ID: <q-{n}@example.com>

Hello, how do I change my address? ({rnd.randrange(10**6)})
""".encode()


def _garbled(n: int, rnd: random.Random) -> bytes:
    return f"""Date: {_date(n)}
From: MAILER-DAEMON@mx.lists.example.org
To: bounces@lists.example.org
Subject: Undelivered Mail Returned to Sender
Content-Type: multipart/report; report-type=delivery-status; boundary="never-closed-{n}"
Message-ID: <garbled-{n}@mx.lists.example.org>

{''.join(rnd.choice('=?;:<>@ ') for _ in range(40))}
""".encode()


#: (weight, builder): mostly hard and soft bounces, as in a real bounce mailbox.
TEMPLATES: tuple[tuple[int, Callable[[int, random.Random], bytes]], ...] = (
    (60, _dsn),
    (8, lambda n, rnd: _dsn(n, rnd, action="delayed")),
    (8, _complaint),
    (8, _autoreply),
    (8, _plain),
    (4, _garbled),
)


def crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def mailbox(n: int = 300, seed: int = 4) -> list[bytes]:
    """``n`` messages; about one in fifty is an exact copy of an earlier one."""
    rnd = random.Random(seed)
    weights = [w for w, _ in TEMPLATES]
    out: list[bytes] = []
    for i in range(n):
        if out and rnd.random() < 0.02:
            out.append(rnd.choice(out))
            continue
        build = rnd.choices([b for _, b in TEMPLATES], weights)[0]
        out.append(crlf(build(i, rnd)))
    return out
