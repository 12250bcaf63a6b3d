"""``bouncewatch run``: the service. Polls every mailbox on a schedule, exports nightly.

- One APScheduler interval job per (account, folder), ``max_instances=1``, coalesced; the
  first poll runs at start. Optionally an IMAP IDLE thread per mailbox picks mail up at once.
- A failed poll (server down, login refused, missing password) is logged once and retried
  after an exponential backoff with jitter, capped; the service never dies of it.
- SIGTERM/SIGINT only set a flag: the message in hand is finished and committed, then the
  process exits 0.
- systemd: READY=1 once started, STATUS= with the mailboxes' health, WATCHDOG=1 pings.
"""
from __future__ import annotations

import argparse
import random
import signal
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable

import structlog

from . import sdnotify
from .cli import EXIT_OK
from .config import AccountConfig, Config, ConfigError

if TYPE_CHECKING:
    from .imap import Inbox
    from .metrics import Endpoint

log = structlog.get_logger(__name__)

STATUS_EVERY = 10.0     # seconds between STATUS= updates (and the loop's tick)


# --- backoff -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter: ``base * 2**(failures-1)``, capped at ``cap``, then
    shortened by up to ``jitter`` (a fraction) so that many clients do not retry in step."""

    base: float = 5.0
    cap: float = 900.0
    jitter: float = 0.5

    def delay(self, failures: int, rand: float | None = None) -> float:
        """Seconds to wait after the ``failures``-th consecutive failure (``rand`` in [0, 1))."""
        if failures <= 0:
            return 0.0
        ceiling = min(self.cap, self.base * 2.0 ** min(failures - 1, 64))
        r = random.random() if rand is None else rand
        return ceiling * (1.0 - self.jitter * r)


# --- one mailbox ---------------------------------------------------------------------------

class MailboxWorker:
    """Polls one (account, folder); remembers its failures. Shared by the scheduled job and
    the IDLE thread; a lock keeps them from polling the same mailbox at once."""

    def __init__(self, service: Service, account: AccountConfig, folder: str):
        self.service = service
        self.account = account
        self.folder = folder
        self.name = f"{account.name}/{folder}"
        self.lock = threading.Lock()
        self.failures = 0
        self.last_error = ""
        self.retry_in = 0.0
        self.processed = 0

    def poll(self, inbox: Inbox | None = None, *, blocking: bool = False) -> bool | None:
        """One pass: True when it worked, False when it failed (logged, counted), None when
        another pass of this mailbox was running (and not ``blocking``)."""
        from .poller import poll_mailbox

        if not self.lock.acquire(blocking=blocking):
            return None
        try:
            result = poll_mailbox(self.service.engine, self.service.config, self.account,
                                  self.folder, stop=self.service.stop, inbox=inbox)
        except Exception as exc:  # noqa: BLE001 - the service must survive anything a poll does
            self._failed(exc)
            return False
        finally:
            self.lock.release()
        if self.failures:
            log.info("mailbox recovered", mailbox=self.name, after_failures=self.failures)
        self.failures, self.last_error = 0, ""
        self.processed += result.processed
        if result.processed or result.moved:
            log.info("poll done", mailbox=self.name, new=result.new,
                     duplicates=result.duplicates, moved=result.moved, hard=result.hard,
                     suppressed=len(result.suppressed), backlog=result.backlog)
        return True

    def _failed(self, exc: Exception) -> None:
        """Count the failure, choose the backoff delay, log one line."""
        from sqlalchemy.exc import OperationalError

        from .db import describe_error
        from .imap import ImapError
        from .mailboxlock import MailboxBusy

        self.failures += 1
        self.last_error = describe_error(exc)
        self.retry_in = self.service.backoff.delay(self.failures)
        known = isinstance(exc, (ImapError, ConfigError, OperationalError, MailboxBusy))
        (log.warning if known else log.error)(
            "poll failed", mailbox=self.name, error=self.last_error, error_type=type(exc).__name__,
            failures=self.failures, retry_in=round(self.retry_in, 1), exc_info=not known)

    def scheduled(self) -> None:
        """The interval job: poll; after a failure the next run comes after the backoff
        delay instead of the regular interval."""
        if not self.service.stop.is_set() and self.poll() is False:
            self.service.reschedule(self.job_id, self.retry_in)

    @property
    def job_id(self) -> str:
        return f"poll:{self.name}"

    def idle_loop(self) -> None:
        """Keep a connection IDLE on the folder; poll whenever the server reports new mail.
        Falls back to the scheduled polls alone when the server has no IDLE."""
        from .imap import Inbox

        stop = self.service.stop
        while not stop.is_set():
            try:
                with Inbox.open(self.account) as inbox:
                    if not inbox.can_idle:
                        log.warning("server has no IDLE: polling on the schedule only",
                                    mailbox=self.name)
                        return
                    inbox.select(self.folder)
                    log.info("idle watching", mailbox=self.name)
                    while not stop.is_set():
                        if not self.poll(inbox, blocking=True):
                            break
                        inbox.idle_wait(self.account.poll_interval, stop.is_set)
            except Exception as exc:  # noqa: BLE001
                self._failed(exc)
            if not stop.is_set():
                stop.wait(self.retry_in if self.failures else 1.0)


# --- the service ---------------------------------------------------------------------------

class Service:
    """The scheduler, the workers, the signal flag and the systemd conversation."""

    def __init__(self, config: Config, *, backoff: Backoff = Backoff(),
                 notify: Callable[..., bool] = sdnotify.notify):
        from .db import make_engine

        self.config = config
        self.backoff = backoff
        self.notify = notify
        self.stop = threading.Event()
        self.engine = make_engine(config.database.url)
        self.workers = [MailboxWorker(self, a, f) for a in config.accounts for f in a.folders]
        self.scheduler = self._scheduler()
        self._threads: list[threading.Thread] = []
        self.metrics: Endpoint | None = None     # the Prometheus endpoint ([metrics] listen)

    def _scheduler(self):  # type: ignore[no-untyped-def]
        from apscheduler.schedulers.background import BackgroundScheduler

        return BackgroundScheduler(job_defaults={"max_instances": 1, "coalesce": True,
                                                 "misfire_grace_time": None})

    def reschedule(self, job_id: str, delay: float) -> None:
        when = datetime.now(timezone.utc) + timedelta(seconds=delay)
        try:
            self.scheduler.modify_job(job_id, next_run_time=when)
        except Exception:  # noqa: BLE001 - the scheduler is shutting down
            pass

    def start(self) -> None:
        """Add the jobs, start the scheduler and the IDLE threads (returns at once)."""
        from apscheduler.triggers.cron import CronTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        now = datetime.now(timezone.utc)
        for worker in self.workers:
            self.scheduler.add_job(worker.scheduled, IntervalTrigger(
                seconds=worker.account.poll_interval), id=worker.job_id, next_run_time=now,
                name=worker.job_id)
            if worker.account.idle:
                thread = threading.Thread(target=worker.idle_loop, name=f"idle:{worker.name}",
                                          daemon=True)
                self._threads.append(thread)
        self.scheduler.add_job(self.export, CronTrigger.from_crontab(self.config.export.schedule),
                               id="export", name="export")
        if self.config.webhook.url:
            self.scheduler.add_job(self.push, IntervalTrigger(seconds=self.config.webhook.interval),
                                   id="webhook", name="webhook", next_run_time=now)
        if self.config.metrics.listen:
            from .metrics import serve

            self.metrics = serve(self.engine, self.config)   # MetricsUnavailable: not started
        self.scheduler.start()
        for thread in self._threads:
            thread.start()

    def push(self) -> None:
        """The webhook job: send what is due from the outbox (a failed delivery waits for its
        backoff; the outbox keeps it)."""
        from .webhook import deliver

        try:
            deliver(self.engine, self.config)
        except ConfigError as exc:   # e.g. the secret file went missing: say so, go on
            log.error("webhook not sent", error=str(exc))
        except Exception:  # noqa: BLE001
            log.exception("webhook pass failed")

    def export(self) -> None:
        """The nightly export job; a failure is logged and retried the next night."""
        from .export import write_exports
        from .report import write_report

        try:
            paths = write_exports(self.engine, self.config)
        except Exception:  # noqa: BLE001
            log.exception("export failed")
            return
        log.info("export written", files=[str(p) for p in paths])
        try:
            log.info("report written", file=str(write_report(self.engine, self.config)))
        except Exception:  # noqa: BLE001 - the list is out; the report waits for tomorrow
            log.exception("report failed")

    def status_line(self) -> str:
        failing = [w for w in self.workers if w.failures]
        text = (f"{len(self.workers)} mailbox(es), {len(self.workers) - len(failing)} ok, "
                f"{sum(w.processed for w in self.workers)} message(s) processed")
        if failing:
            text += "; failing: " + "; ".join(f"{w.name}: {w.last_error}"[:200] for w in failing)
        return text

    def serve(self, tick: float = STATUS_EVERY) -> int:
        """Start, tell systemd, then ping the watchdog and update STATUS until ``stop``."""
        self.start()
        self.notify("READY=1", f"STATUS={self.status_line()}")
        log.info("service started", mailboxes=[w.name for w in self.workers],
                 export_schedule=self.config.export.schedule)
        period = sdnotify.watchdog_period()
        wait = min(tick, period) if period else tick
        while not self.stop.wait(wait):
            self.notify(*(["WATCHDOG=1"] if period else []), f"STATUS={self.status_line()}")
        self.notify("STOPPING=1", "STATUS=stopping: finishing the current message")
        log.info("stopping")
        self.shutdown()
        log.info("stopped")
        return EXIT_OK

    def shutdown(self) -> None:
        """Stop the jobs (the running ones finish their message) and the IDLE threads."""
        self.stop.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        for thread in self._threads:
            thread.join(timeout=30)
        if self.metrics is not None:
            self.metrics.close()
        self.engine.dispose()


def install_signal_handlers(stop: threading.Event) -> None:
    """SIGTERM and SIGINT only set the flag; the loops notice it between messages."""
    def handler(signum: int, _frame: object) -> None:
        log.info("signal received", signal=signal.Signals(signum).name)
        stop.set()
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


# --- the command ---------------------------------------------------------------------------

EXAMPLES = """\
examples:
  bouncewatch -c /etc/bouncewatch/config.toml run   # what the systemd unit starts
  bouncewatch run --no-upgrade                      # leave the database schema alone

Stops cleanly on SIGTERM or Ctrl-C (exit 0) after finishing the message in hand.
"""


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.epilog = EXAMPLES
    parser.add_argument("--no-upgrade", action="store_true",
                        help="do not apply database migrations at start")


def run(args: argparse.Namespace) -> int:
    from .cli import EXIT_CONFIG, EXIT_UNAVAILABLE
    from .imap import announce_security_warnings
    from .startup import configured

    config = configured("run", args.config)
    if config is None:
        return EXIT_CONFIG
    if not config.accounts:
        log.error("no [[accounts]] configured: nothing to poll")
        return EXIT_CONFIG
    announce_security_warnings(config.accounts)
    if not args.no_upgrade:
        from .db import upgrade

        try:
            upgrade(config.database.url)
        except Exception as exc:  # noqa: BLE001 - unreachable/locked database
            from .db import describe_error
            log.error("cannot upgrade the database", error=describe_error(exc))
            return EXIT_UNAVAILABLE
    from .metrics import MetricsUnavailable

    service = Service(config)
    install_signal_handlers(service.stop)
    try:
        return service.serve()
    except MetricsUnavailable as exc:
        log.error(str(exc))
        return EXIT_CONFIG
