#!/usr/bin/env python3
"""End-to-end benchmark: a Dovecot mailbox preloaded with N bounces, one ``poll --once``.

    python bench/e2e.py [N ...] [--database sqlite|postgres]    (root; N: 2000 20000)

For each N: a throwaway Dovecot (tests/imapservers.py) gets N bounces made from templates
(tests/bouncegen.py: hard and soft, 1,000 recipients) dropped straight into the maildir's
``new/``; the floor is the bare IMAP fetch of the same mailbox (imapclient, BODY.PEEK[] in
batches of the default ``batch_size``, nothing else); then one ``bouncewatch poll --once``
process (default settings but for logging) records every message into a fresh SQLite file
(or PostgreSQL database) and moves it. Prints messages per second of each (the poll's also
per second of its own CPU time, the steadier figure on a busy machine) and the poll
process's peak resident memory (bench/measure.py): flat memory means the same peak for
every N.
"""
from __future__ import annotations

import argparse
from dataclasses import fields
import os
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from bouncegen import bounce  # noqa: E402  (after the path is set)
from imapservers import ImapServer, empty_account, run_dovecot  # noqa: E402
from measure import Run, measure  # noqa: E402

from daemon.config import AccountConfig  # noqa: E402

#: The default ``batch_size``, as the poll uses it.
BATCH = next(f.default for f in fields(AccountConfig) if f.name == "batch_size")
RECIPIENTS = 1000
CONFIG = """\
[database]
url = "{url}"
[[accounts]]
name = "bench"
host = "{host}"
port = {port}
security = "plain"
username = "{user}"
password_env = "BW_BENCH_PASSWORD"
[logging]
format = "json"
level = "warning"
"""


def maildir(server: ImapServer) -> Path:
    """The user's maildir: beside the ``-c`` config of the Dovecot process we started."""
    argv = Path(f"/proc/{server.pid}/cmdline").read_bytes().split(b"\0")
    conf = Path(argv[argv.index(b"-c") + 1].decode())
    return conf.parent / "mail" / server.username


def preload(server: ImapServer, n: int) -> int:
    """Drop ``n`` bounces into INBOX (a hard one in ten); returns their total size."""
    empty_account(server)
    new = maildir(server) / "new"
    for sub in ("new", "cur", "tmp"):
        (new.parent / sub).mkdir(parents=True, exist_ok=True)
    size, stamp = 0, int(time.time())
    for i in range(n):
        raw = bounce("hard" if i % 10 == 0 else "soft", f"reader{i % RECIPIENTS}@example.com", i)
        path = new / f"{stamp}.M{i}P{os.getpid()}.bench"
        path.write_bytes(raw)
        shutil.chown(path, "dovecot", "dovecot")
        size += len(raw)
    for sub in ("new", "cur", "tmp"):
        shutil.chown(new.parent / sub, "dovecot", "dovecot")
    shutil.chown(new.parent, "dovecot", "dovecot")
    return size


def fetch_floor(server: ImapServer) -> tuple[int, float]:
    """(messages, seconds) of fetching the whole INBOX, BODY.PEEK[] in batches, nothing else."""
    with server.client() as c:
        c.select_folder("INBOX", readonly=True)
        uids = sorted(c.search(["ALL"]))      # Dovecot indexes new/ here: not timed
        started = time.perf_counter()
        for i in range(0, len(uids), BATCH):
            c.fetch(uids[i:i + BATCH], ["BODY.PEEK[]"])
        return len(uids), time.perf_counter() - started


def run_poll(config: Path, password: str) -> Run:
    """One ``poll --once`` process, measured."""
    return measure([sys.executable, "-m", "daemon.cli", "--config", str(config), "poll", "--once",
                    "--no-progress"], env=dict(os.environ, BW_BENCH_PASSWORD=password), cwd=ROOT)


def database_url(kind: str, stack: ExitStack, directory: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{directory / 'bench.sqlite3'}"
    from pgserver import run_postgres

    server = stack.enter_context(run_postgres(settings=()))   # durable settings, as deployed
    return stack.enter_context(server.database("bw_bench"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[2000, 20000])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    print(f"{'N':>7}  {'MB':>6}  {'fetch floor':>14}  {'poll --once':>14}  {'per CPU second':>14}  "
          f"{'peak RSS':>9}  result")
    with ExitStack() as stack:
        server = stack.enter_context(run_dovecot())
        for n in args.sizes:
            size = preload(server, n)
            fetched, floor = fetch_floor(server)
            assert fetched == n, (fetched, n)
            with tempfile.TemporaryDirectory(prefix="bw-bench-") as tmp, ExitStack() as db:
                config = Path(tmp) / "bouncewatch.toml"
                url = database_url(args.database, db, Path(tmp))
                config.write_text(CONFIG.format(url=url, host=server.host, port=server.port,
                                                user=server.username))
                run = run_poll(config, server.password)
            lines = run.stdout.strip().splitlines()
            row = dict(zip(lines[0].split(), lines[1].split())) if len(lines) > 1 else {}
            ok = run.code == 0 and row.get("new") == str(n)
            print(f"{n:>7}  {size / 1e6:6.1f}  {n / floor:8.0f} msg/s  {n / run.seconds:8.0f} msg/s  "
                  f"{n / run.cpu_seconds:8.0f} msg/s  "
                  f"{run.peak_mb:6.0f} MB  {'ok' if ok else f'FAILED ({run.code}): {run.stdout.strip()}'}"
                  f"  ({run.seconds:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
