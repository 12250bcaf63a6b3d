"""The demo behind ``scripts/demo``: a local pymap, the shipped sample bounces, one poll.

Everything lands in ``demo-run/`` (git-ignored): the config, the SQLite database, the export.
The helpers that start pymap are shared with the tests (tests/imapservers.py).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator, Sequence, TextIO

SAMPLES_DIR = Path(__file__).parent / "samples"
HOST = "127.0.0.1"
DEMO_USER = "bounces"
DEMO_PASSWORD = "demo-only-password"
PASSWORD_ENV = "BOUNCEWATCH_DEMO_PASSWORD"
START_TIMEOUT = 20.0

DEMO_CONFIG = """\
# Written by the bouncewatch demo (daemon/demo.py). Everything else keeps its default.
[database]
url = "sqlite:///bouncewatch.sqlite3"       # relative to this file: demo-run/

[[accounts]]
name = "demo"
host = "{host}"
port = {port}
security = "plain"          # plain IMAP, deliberately: a throwaway server on loopback only
username = "{user}"
password_env = "{password_env}"
other_folder = "bouncewatch/other"

[export]
directory = "export"

[logging]
level = "info"
"""


def crlf(raw: bytes) -> bytes:
    """Line endings as IMAP wants them (CRLF), whatever the file had."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def samples() -> list[tuple[str, bytes]]:
    """The sample messages shipped in ``daemon/samples``: (file stem, raw CRLF bytes), by name."""
    return [(p.stem, crlf(p.read_bytes())) for p in sorted(SAMPLES_DIR.glob("*.eml"))]


# --- a local pymap ---------------------------------------------------------------------------

def free_port(host: str = HOST) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_for_greeting(port: int, proc: subprocess.Popen[bytes], timeout: float = START_TIMEOUT,
                      host: str = HOST) -> None:
    """Return once the server at ``port`` greets with ``* OK``; fail if it dies or the
    deadline passes (polled, never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"IMAP server exited with {proc.returncode} before its greeting")
        try:
            with socket.create_connection((host, port), timeout=2) as s:
                if s.recv(256).startswith(b"* OK"):
                    return
        except OSError as exc:
            last = exc
        time.sleep(0.05)
    raise RuntimeError(f"no IMAP greeting on port {port} within {timeout}s ({last})")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process we started; SIGKILL if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def pymap_command() -> str:
    """The ``pymap`` script of this interpreter's environment (or on $PATH)."""
    beside = Path(sys.executable).parent / "pymap"
    return str(beside) if beside.exists() else (shutil.which("pymap") or "pymap")


@contextlib.contextmanager
def pymap_server(user: str, password: str, *, port: int = 0, log_file: Path | None = None,
                 tls: tuple[Path, Path] | None = None) -> Iterator[tuple[int, int]]:
    """pymap's in-memory backend with one user on loopback: yields (port, pid). ``tls`` is a
    (cert, key) pair for STARTTLS; without it the server speaks plain IMAP."""
    port = port or free_port()
    cmd = [pymap_command(), "--host", HOST, "--port", str(port)]
    cmd += ["--cert", str(tls[0]), "--key", str(tls[1])] if tls else ["--no-tls"]
    cmd += ["dict", "--demo-user", user, "--demo-password", password]
    with open(log_file or os.devnull, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_greeting(port, proc)
            yield port, proc.pid
        finally:
            stop_process(proc)


# --- the demo ---------------------------------------------------------------------------------

def _section(out: TextIO, title: str) -> None:
    out.write(f"\n== {title}\n")
    out.flush()


def run_demo(root: Path, out: TextIO = sys.stdout) -> int:
    """Start pymap, fill it with the samples, poll once into ``root/demo-run``, show the
    status and the exported suppression list. Returns the first failing exit code, or 0."""
    from . import cli
    from .config import load_config
    from .imap import Inbox

    run_dir = root / "demo-run"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    os.environ[PASSWORD_ENV] = DEMO_PASSWORD
    with pymap_server(DEMO_USER, DEMO_PASSWORD, log_file=run_dir / "pymap.log") as (port, pid):
        _section(out, f"pymap (pid {pid}) listening on {HOST}:{port}, user {DEMO_USER}")
        config_path = run_dir / "bouncewatch.toml"
        config_path.write_text(DEMO_CONFIG.format(host=HOST, port=port, user=DEMO_USER,
                                                  password_env=PASSWORD_ENV))
        account = load_config(config_path).accounts[0]
        with Inbox.open(account) as inbox:
            for name, raw in samples():
                inbox.append("INBOX", raw)
                out.write(f"appended {name}.eml\n")
        code = 0
        for title, argv in (("bouncewatch poll --once", ["poll", "--once"]),
                            ("bouncewatch status", ["status"]),
                            ("bouncewatch export", ["export"])):
            _section(out, title)
            code = code or _run_cli(cli, ["--config", str(config_path), *argv], out)
    _section(out, f"exported suppression list ({run_dir / 'export'})")
    for path in sorted((run_dir / "export").glob("*.csv")):
        out.write(f"--- {path.name}\n{path.read_text(encoding='utf-8')}")
    out.write(f"\nEverything is in {run_dir} (config, database, export, pymap.log).\n")
    return code


def _run_cli(cli: object, argv: Sequence[str], out: TextIO) -> int:
    """Run one ``bouncewatch`` command in this process, its stdout going to ``out``."""
    with contextlib.redirect_stdout(out):
        code = int(cli.main(list(argv)))  # type: ignore[attr-defined]
    out.flush()
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    root = Path(args[0]) if args else Path(__file__).resolve().parent.parent
    return run_demo(root.resolve())


if __name__ == "__main__":
    sys.exit(main())
