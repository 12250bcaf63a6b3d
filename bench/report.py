"""The HTML report on a generated SQLite database of N outcomes (default a million): how long
its queries and its rendering take. Run: .venv/bin/python bench/report.py [N]"""
from __future__ import annotations

import random
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy.orm import Session

from daemon.db import make_engine, upgrade
from daemon.report import render_html, report_data

REASONS = [("userunknown", 1), ("hostunknown", 1), ("mailboxfull", 0), ("expired", 0),
           ("spamdetected", 0), ("blocked", 0), ("networkerror", 0), ("suspend", 0), ("filtered", 0)]


def fill(path: Path, outcomes: int) -> None:
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    rnd = random.Random(1)
    db = sqlite3.connect(path)
    messages = outcomes // 2
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    db.executemany(
        "INSERT INTO messages (id, sha256, size, raw, kind, decoded_by, disposition, message_id, "
        "original_message_id, list_id, subject, error, received_at, recorded_at, classified_at, "
        "first_mailbox) VALUES (?, ?, 10, x'00', 'bounce', 'x', 'processed', ?, '', '', '', '', ?, ?, ?, 'a/INBOX')",
        ((i, f"{i:064x}", f"<m{i}@x>", (at := (now - timedelta(minutes=rnd.randrange(60 * 24 * 120)))).strftime(fmt),
          at.strftime(fmt), at.strftime(fmt)) for i in range(1, messages + 1)))
    db.executemany(
        "INSERT INTO outcomes (message_pk, recipient, valid, reason, hard, action, status, reply_code, "
        "diagnostic, remote_mta, command, created_at) VALUES (?, ?, 1, ?, ?, 'failed', '5.1.1', '550', "
        "'550 5.1.1 user unknown', '', 'RCPT', ?)",
        ((i // 2 + 1, f"u{rnd.randrange(400_000)}.{i % 2}@d{rnd.randrange(5000)}.example", *rnd.choice(REASONS),
          now.strftime(fmt)) for i in range(messages * 2)))
    db.executemany(
        "INSERT INTO addresses (address, state, reason, status, reply_code, note, manual, bounce_count, "
        "soft_count, suppressed_at, source_message_pk, source_message_id, updated_at) "
        "VALUES (?, 'suppressed', 'userunknown', '5.1.1', '550', '', 0, 1, 0, ?, ?, '', ?)",
        ((f"s{i}@d{i % 5000}.example", (now - timedelta(minutes=i)).strftime(fmt), i % messages + 1,
          now.strftime(fmt)) for i in range(outcomes // 5)))
    db.commit()
    db.close()


def main(outcomes: int = 1_000_000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        url = f"sqlite:///{path}"
        upgrade(url)
        t0 = time.perf_counter()
        fill(path, outcomes)
        print(f"filled {outcomes} outcomes in {time.perf_counter() - t0:.1f} s")
        engine = make_engine(url)
        for days in (30, 120):
            t0 = time.perf_counter()
            with Session(engine) as session:
                data = report_data(session, days)
            t1 = time.perf_counter()
            page = render_html(data)
            t2 = time.perf_counter()
            print(f"--days {days}: queries {t1 - t0:.2f} s, rendering {(t2 - t1) * 1000:.0f} ms, "
                  f"{len(page) // 1024} KiB, {data.totals.failures} failures shown")
        engine.dispose()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
