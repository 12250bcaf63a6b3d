"""``bouncewatch poll --once``: one pass over every configured mailbox, then a summary.

Exit codes (daemon.cli): 0 all mailboxes polled, 1 a mailbox was busy (another process was
polling it), 3 configuration error (including a missing password), 4 a server or the
database could not be reached (or refused the login).
Without ``--once`` it keeps polling in the foreground, exactly like ``bouncewatch run``.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from dataclasses import dataclass
from typing import TextIO

import structlog

log = structlog.get_logger(__name__)

PROGRESS_MIN = 50          # show a progress bar from this many new messages on
PROGRESS_EVERY = 0.2       # seconds between redraws


EXAMPLES = """\
examples:
  bouncewatch -c bw.toml poll --once            # test the settings: one pass, a summary
  bouncewatch poll --once --account lists       # only one account
  bouncewatch poll                              # keep polling in the foreground (as 'run')

exit codes: 0 every mailbox polled, 1 a mailbox was busy (another process polls it),
3 configuration error (e.g. no password), 4 a server or the database unreachable or
the login refused.
"""


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.epilog = EXAMPLES
    parser.add_argument("--once", action="store_true",
                        help="one pass over all mailboxes, print a summary, exit")
    parser.add_argument("--account", action="append", metavar="NAME",
                        help="only this account (repeatable)")
    parser.add_argument("--no-progress", action="store_true", help="never draw a progress bar")
    parser.add_argument("--no-upgrade", action="store_true",
                        help="do not apply database migrations first")


@dataclass(frozen=True, slots=True)
class Row:
    """One mailbox's line in the summary."""

    mailbox: str
    new: int = 0
    duplicates: int = 0
    moved: int = 0
    hard: int = 0
    suppressed: int = 0
    backlog: int = 0
    result: str = "ok"


COLUMNS = ("mailbox", "new", "duplicates", "moved", "hard", "suppressed", "backlog", "result")


def print_summary(rows: list[Row], out: TextIO) -> None:
    cells = [[str(getattr(r, c)) for c in COLUMNS] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(COLUMNS)]
    for row in [list(COLUMNS), *cells]:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() + "\n")


class ProgressBar:
    """A one-line progress bar on a terminal for large backlogs; the per-message log lines
    are held back meanwhile (they would tear the bar)."""

    def __init__(self, mailbox: str, stream: TextIO, enabled: bool):
        self.mailbox = mailbox
        self.stream = stream
        self.enabled = enabled
        self.drawn = 0.0
        self._held: tuple[logging.Logger, int] | None = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total < PROGRESS_MIN:
            return
        if self._held is None:
            poller_log = logging.getLogger("daemon.poller")
            self._held = (poller_log, poller_log.level)
            poller_log.setLevel(logging.WARNING)
        now = time.monotonic()
        if done == total or now - self.drawn >= PROGRESS_EVERY:
            self.drawn = now
            width = 30
            filled = width * done // total
            self.stream.write(f"\r{self.mailbox}: [{'#' * filled}{'.' * (width - filled)}] "
                              f"{done}/{total}")
            self.stream.flush()

    def close(self) -> None:
        if self._held is not None:
            self.stream.write("\n")
            self._held[0].setLevel(self._held[1])
            self._held = None


def run(args: argparse.Namespace) -> int:
    if not args.once:
        from . import service
        return service.run(args)
    from .cli import EXIT_CONFIG, EXIT_OK, EXIT_PARTIAL, EXIT_UNAVAILABLE
    from .config import ConfigError
    from .imap import ImapError, announce_security_warnings
    from .startup import configured

    config = configured("poll", args.config)
    if config is None:
        return EXIT_CONFIG
    accounts = [a for a in config.accounts if not args.account or a.name in args.account]
    unknown = set(args.account or ()) - {a.name for a in config.accounts}
    if unknown or not accounts:
        print(f"bouncewatch poll: no such account: {', '.join(sorted(unknown)) or '(none configured)'}",
              file=sys.stderr)
        return EXIT_CONFIG
    announce_security_warnings(accounts)

    from sqlalchemy.exc import OperationalError

    from .db import describe_error, make_engine, upgrade
    from .mailboxlock import MailboxBusy
    from .poller import poll_mailbox

    try:
        if not args.no_upgrade:
            upgrade(config.database.url)
        engine = make_engine(config.database.url)
    except Exception as exc:  # noqa: BLE001 - an unreachable or broken database
        print(f"bouncewatch poll: {describe_error(exc)}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)}
    rows: list[Row] = []
    worst = EXIT_OK
    tty = sys.stderr.isatty() and not args.no_progress
    try:
        for account in accounts:
            for folder in account.folders:
                if stop.is_set():
                    break
                name = f"{account.name}/{folder}"
                bar = ProgressBar(name, sys.stderr, tty)
                try:
                    r = poll_mailbox(engine, config, account, folder, stop=stop, progress=bar)
                except ConfigError as exc:
                    rows.append(Row(name, result=f"config error: {exc}"))
                    worst = max(worst, EXIT_CONFIG)
                except (ImapError, OperationalError) as exc:
                    rows.append(Row(name, result=f"error: {describe_error(exc)}"))
                    worst = max(worst, EXIT_UNAVAILABLE)
                except MailboxBusy as exc:
                    rows.append(Row(name, result=f"busy: {exc}"))
                    worst = max(worst, EXIT_PARTIAL)
                else:
                    rows.append(Row(name, r.new, r.duplicates, r.moved, r.hard,
                                    len(r.suppressed), r.backlog,
                                    "stopped" if r.stopped else "ok"))
                finally:
                    bar.close()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        engine.dispose()
    print_summary(rows, sys.stdout)
    return worst
