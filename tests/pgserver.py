"""A throwaway PostgreSQL server for the tests and benchmarks (Debian's packages, or any
``initdb`` on $PATH).

The cluster lives in its own temp dir: ``initdb`` with trust authentication, then ``pg_ctl
start`` on a free loopback port with the socket in that dir; ready when a connection succeeds
(polled with a deadline, never a fixed sleep); stopped with ``pg_ctl stop``. As root, the
server runs as the ``postgres`` user (PostgreSQL refuses root); otherwise as ourselves.
``$BOUNCEWATCH_TEST_POSTGRES_URL`` points the tests at an existing server instead (a role
that may CREATE DATABASE): nothing is started then.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy.engine import make_url

HOST = "127.0.0.1"
SUPERUSER = "postgres"
EXTERNAL_ENV = "BOUNCEWATCH_TEST_POSTGRES_URL"
START_TIMEOUT = 60.0
#: Settings for a disposable cluster: durability traded for speed.
FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def postgres_bindir() -> Path | None:
    """The directory of ``initdb`` and ``pg_ctl``: Debian's newest version, else $PATH."""
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                    key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if debian:
        return debian[-1].parent
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


def postgres_skip_reason() -> str:
    """Why a throwaway PostgreSQL cannot run here, or "" when it can."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -e '.[postgres]')"
    if os.environ.get(EXTERNAL_ENV):
        return ""
    if postgres_bindir() is None:
        return "PostgreSQL is not installed (apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SUPERUSER)
        except KeyError:
            return "running as root without a 'postgres' user to run the server as"
    return ""


@dataclass(frozen=True)
class PostgresServer:
    """A running server; ``url(name)`` is a SQLAlchemy URL of one of its databases."""

    base_url: str      # any database on the server, as a role that may CREATE DATABASE
    pid: int = 0       # 0 when the server is not ours

    def url(self, database: str) -> str:
        return make_url(self.base_url).set(database=database).render_as_string(hide_password=False)

    def execute(self, *statements: str) -> None:
        """Run statements outside a transaction (CREATE/DROP DATABASE need that)."""
        import psycopg

        with psycopg.connect(_libpq(self.base_url), autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)  # type: ignore[arg-type]

    @contextlib.contextmanager
    def database(self, prefix: str = "bw_test") -> Iterator[str]:
        """A new empty database, dropped afterwards (even with connections left open)."""
        name = f"{prefix}_{os.getpid()}_{next(_serial)}"
        self.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\'')
        try:
            yield self.url(name)
        finally:
            self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_serial = itertools.count(1)


def _libpq(url: str) -> str:
    """A SQLAlchemy URL as libpq takes it (no ``+driver``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _as_owner(owner: pwd.struct_passwd | None) -> Callable[[], None] | None:
    """A ``preexec_fn`` that becomes ``owner`` (root only), or None to stay ourselves."""
    if owner is None:
        return None

    def become() -> None:
        os.setgid(owner.pw_gid)
        os.initgroups(owner.pw_name, owner.pw_gid)
        os.setuid(owner.pw_uid)
    return become


@contextlib.contextmanager
def run_postgres(*, settings: tuple[str, ...] = FAST_SETTINGS,
                 timeout: float = START_TIMEOUT) -> Iterator[PostgresServer]:
    """The server named by $BOUNCEWATCH_TEST_POSTGRES_URL, or a throwaway cluster."""
    reason = postgres_skip_reason()
    if reason:
        raise RuntimeError(reason)
    external = os.environ.get(EXTERNAL_ENV)
    if external:
        yield PostgresServer(external)
        return
    bindir = postgres_bindir()
    assert bindir is not None
    owner = pwd.getpwnam(SUPERUSER) if os.geteuid() == 0 else None
    become = _as_owner(owner)
    tmp = Path(tempfile.mkdtemp(prefix="bw-pg-"))
    try:
        if owner is not None:
            os.chown(tmp, owner.pw_uid, owner.pw_gid)
        data, port = tmp / "data", _free_port()
        env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8")
        subprocess.run([str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER,
                        "--auth=trust", "-E", "UTF8", "--no-sync"],
                       check=True, capture_output=True, preexec_fn=become, env=env, cwd=tmp)
        options = " ".join([f"-p {port}", f"-k {tmp}", f"-c listen_addresses={HOST}",
                            *(f"-c {s}" for s in settings)])
        pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data)]
        subprocess.run([*pg_ctl, "-l", str(tmp / "server.log"), "-o", options, "start"],
                       check=True, capture_output=True, preexec_fn=become, env=env, cwd=tmp)
        try:
            url = f"postgresql+psycopg://{SUPERUSER}@{HOST}:{port}/postgres"
            pid = _wait_until_ready(url, data, timeout)
            yield PostgresServer(url, pid)
        finally:
            subprocess.run([*pg_ctl, "stop", "-m", "fast", "-t", "60"], capture_output=True,
                           preexec_fn=become, env=env, cwd=tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _wait_until_ready(url: str, data: Path, timeout: float) -> int:
    """Connect until it works or the deadline passes; returns the postmaster's pid."""
    import psycopg

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(_libpq(url), connect_timeout=2):
                return int((data / "postmaster.pid").read_text().split()[0])
        except (psycopg.OperationalError, OSError) as exc:
            last = exc
        time.sleep(0.05)
    log = data.parent / "server.log"
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise RuntimeError(f"PostgreSQL not ready within {timeout}s ({last})\n{tail}")
