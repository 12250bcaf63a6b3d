"""Prometheus metrics for ``bouncewatch run`` (optional: ``pip install bouncewatch[metrics]``).

Two kinds of figures:

- counters and a histogram of this process, updated where the poller already logs its
  canonical line: messages processed by kind, duplicates, outcomes by reason and hard/soft,
  poll errors and poll durations per mailbox;
- gauges read from the database on each scrape (``DatabaseCollector``): active suppressions
  by reason, last successful poll, consecutive failures and backlog per mailbox, changes
  waiting in the webhook outbox. They are right after a restart and across processes.

The poller calls ``message_recorded``, ``poll_started`` and ``poll_finished`` always (one
mailbox is polled by one thread at a time); they do nothing unless
``serve`` started the endpoint in this process (``bouncewatch poll --once`` never does).
prometheus-client is imported only by ``serve``.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator

import structlog

from .config import Config

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from .store import Recorded

log = structlog.get_logger(__name__)

PREFIX = "bouncewatch"
#: Poll duration buckets in seconds: a quick empty poll to a first pass over a backlog.
POLL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)


class ProcessMetrics:
    """This process's counters and histogram, registered on ``registry``."""

    def __init__(self, registry: Any) -> None:
        from prometheus_client import Counter, Histogram

        self.messages = Counter(f"{PREFIX}_messages_processed", "Messages recorded for the "
                                "first time, by kind", ["kind"], registry=registry)
        self.duplicates = Counter(f"{PREFIX}_messages_duplicate", "Messages seen again and "
                                  "not counted (same location or same content)", registry=registry)
        self.outcomes = Counter(f"{PREFIX}_outcomes", "Per-recipient outcomes of new messages, "
                                "by reason and hard (true/false)", ["reason", "hard"],
                                registry=registry)
        self.poll_errors = Counter(f"{PREFIX}_poll_errors", "Failed polls, by mailbox",
                                   ["mailbox"], registry=registry)
        self.poll_seconds = Histogram(f"{PREFIX}_poll_duration_seconds", "Duration of one pass "
                                      "over a mailbox (failed ones too), by mailbox", ["mailbox"],
                                      buckets=POLL_BUCKETS, registry=registry)

    def message(self, rec: Recorded) -> None:
        if rec.duplicate:
            self.duplicates.inc()
            return
        self.messages.labels(kind=rec.kind).inc()
        for reason, hard in rec.reasons:
            self.outcomes.labels(reason=reason, hard="true" if hard else "false").inc()

    def poll(self, mailbox: str, seconds: float, ok: bool) -> None:
        self.poll_seconds.labels(mailbox=mailbox).observe(seconds)
        if not ok:
            self.poll_errors.labels(mailbox=mailbox).inc()


_active: ProcessMetrics | None = None
_active_lock = threading.Lock()


def message_recorded(rec: Recorded) -> None:
    """Count one recorded message (no-op unless the endpoint runs in this process)."""
    if _active is not None:
        _active.message(rec)


_poll_started: dict[str, float] = {}


def poll_started(mailbox: str) -> None:
    """A pass over ``mailbox`` begins (its duration is observed by ``poll_finished``)."""
    if _active is not None:
        _poll_started[mailbox] = time.monotonic()


def poll_finished(mailbox: str, ok: bool) -> None:
    """Count one pass over a mailbox (no-op unless the endpoint runs in this process)."""
    started = _poll_started.pop(mailbox, None)
    if _active is not None and started is not None:
        _active.poll(mailbox, time.monotonic() - started, ok)


# --- gauges from the database ------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Figures:
    """What the database says now (the same numbers ``status --json`` shows)."""

    suppressions_by_reason: dict[str, int]
    mailboxes: dict[str, tuple[float | None, int, int]]   # last success (unix), failures, backlog
    outbox_pending: int
    outbox_given_up: int


def database_figures(session: Any, config: Config) -> Figures:
    """Read the gauges' values: cheap, indexed queries only (a scrape runs every few seconds)."""
    from sqlalchemy import select

    from . import counters
    from .models import MailboxState
    from .webhook import outbox_status

    by_reason = counters.group(counters.read(session, counters.ADDRESSES), "suppressed")
    mailboxes = {
        m.mailbox: (m.last_success_at.timestamp() if m.last_success_at else None,
                    m.consecutive_failures or 0, m.backlog or 0)
        for m in session.scalars(select(MailboxState))}
    outbox = outbox_status(session, config.webhook.max_attempts)
    return Figures(by_reason, mailboxes, outbox["pending"], outbox["given_up"])


class DatabaseCollector:
    """A custom collector: every scrape reads ``database_figures``. A database that cannot
    be read gives ``bouncewatch_database_up 0`` (and the error in the log), not a failed scrape."""

    def __init__(self, engine: Engine, config: Config) -> None:
        self.engine, self.config = engine, config

    def describe(self) -> list[Any]:
        return []     # no descriptions: the registry must not call collect() at registration

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily
        from sqlalchemy.orm import Session

        up = GaugeMetricFamily(f"{PREFIX}_database_up", "1 when the last scrape could read the database")
        try:
            with Session(self.engine) as session:
                figures = database_figures(session, self.config)
        except Exception as exc:  # noqa: BLE001 - a locked or gone database must not kill scrapes
            log.warning("metrics: cannot read the database", error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        active = GaugeMetricFamily(f"{PREFIX}_suppressions_active", "Addresses suppressed now, by "
                                   "reason", labels=["reason"])
        for reason, count in sorted(figures.suppressions_by_reason.items()):
            active.add_metric([reason], count)
        yield active
        last = GaugeMetricFamily(f"{PREFIX}_last_successful_poll_timestamp_seconds",
                                 "Unix time of the last successful poll, by mailbox", labels=["mailbox"])
        failures = GaugeMetricFamily(f"{PREFIX}_mailbox_consecutive_failures",
                                     "Failed polls in a row, by mailbox", labels=["mailbox"])
        backlog = GaugeMetricFamily(f"{PREFIX}_mailbox_backlog", "Messages left for the next "
                                    "pass, by mailbox", labels=["mailbox"])
        for mailbox, (success, failed, waiting) in sorted(figures.mailboxes.items()):
            if success is not None:
                last.add_metric([mailbox], success)
            failures.add_metric([mailbox], failed)
            backlog.add_metric([mailbox], waiting)
        yield from (last, failures, backlog)
        if not self.config.webhook.url:
            return
        yield GaugeMetricFamily(f"{PREFIX}_webhook_pending", "Suppression changes not yet "
                                "delivered to the webhook", value=figures.outbox_pending)
        yield GaugeMetricFamily(f"{PREFIX}_webhook_given_up", "Changes that failed "
                                "webhook.max_attempts times (bouncewatch webhook flush)",
                                value=figures.outbox_given_up)


# --- the endpoint --------------------------------------------------------------------------

@dataclass
class Endpoint:
    """The running HTTP endpoint; ``close`` stops it and the counting."""

    server: Any
    thread: threading.Thread
    registry: Any

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def close(self) -> None:
        global _active
        with _active_lock:
            _active = None
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class MetricsUnavailable(Exception):
    """prometheus-client is not installed, or the address cannot be bound."""


def serve(engine: Engine, config: Config) -> Endpoint:
    """Start the endpoint on ``metrics.listen`` and start counting in this process."""
    global _active
    try:
        from prometheus_client import CollectorRegistry, start_http_server
        from prometheus_client.gc_collector import GCCollector
        from prometheus_client.platform_collector import PlatformCollector
        from prometheus_client.process_collector import ProcessCollector
    except ImportError:
        raise MetricsUnavailable("metrics.listen is set but prometheus-client is not installed "
                                 "(pip install bouncewatch[metrics])") from None
    registry = CollectorRegistry()
    for standard in (ProcessCollector, PlatformCollector, GCCollector):
        standard(registry=registry)
    counting = ProcessMetrics(registry)
    registry.register(DatabaseCollector(engine, config))
    host, port = config.metrics.address
    try:
        server, thread = start_http_server(port, host, registry=registry)
    except OSError as exc:
        raise MetricsUnavailable(f"metrics.listen {config.metrics.listen!r}: {exc.strerror or exc}") from None
    with _active_lock:
        _active = counting
    log.info("metrics endpoint listening", listen=config.metrics.listen,
             port=int(server.server_address[1]))
    return Endpoint(server, thread, registry)
