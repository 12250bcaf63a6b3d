"""Helpers for the storage tests: a migrated database, hand-built reports and messages."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine

from classifiers import Kind, Outcome, Reason, Report
from daemon.config import Config, PolicyConfig
from daemon.db import make_engine, upgrade

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture
def db_url(database_url: str) -> str:
    """The test's database (a SQLite file, or PostgreSQL with $BOUNCEWATCH_TEST_DB=postgres:
    see conftest) migrated to head."""
    upgrade(database_url)
    return database_url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def config(**policy: object) -> Config:
    return Config(policy=PolicyConfig(**policy))  # type: ignore[arg-type]


def outcome(recipient: str, reason: Reason, hard: bool = False, **kw: str) -> Outcome:
    return Outcome(recipient=recipient, reason=reason, hard=hard, **kw)


def hard(recipient: str) -> Outcome:
    return outcome(recipient, Reason.USERUNKNOWN, True, action="failed", status="5.1.1",
                   reply_code="550")


def soft(recipient: str, reason: Reason = Reason.MAILBOXFULL) -> Outcome:
    return outcome(recipient, reason, False, action="failed", status="4.2.2", reply_code="452")


def report(kind: Kind, *outcomes: Outcome, message_id: str = "<orig@list.example>") -> Report:
    return Report(kind=kind, decoded_by="test", outcomes=outcomes, message_id=message_id)


def fixed(rep: Report) -> Callable[[bytes], Report]:
    """A classify seam that returns ``rep`` whatever it is given."""
    return lambda _raw: rep


def raw_message(n: int, at: datetime = T0, subject: str = "Undelivered Mail") -> bytes:
    """A distinct little message (its own Message-ID and Date)."""
    return (f"From: MAILER-DAEMON@mx.example\r\nTo: bounces@list.example\r\n"
            f"Subject: {subject}\r\nMessage-ID: <ndr{n}@mx.example>\r\n"
            f"Date: {at:%a, %d %b %Y %H:%M:%S +0000}\r\n\r\nbody {n}\r\n").encode()


def days(n: float) -> timedelta:
    return timedelta(days=n)
