"""Shared fixtures: real IMAP servers (pymap always, Dovecot when installed and root) and
the test databases (a SQLite file; PostgreSQL when $BOUNCEWATCH_TEST_DB=postgres)."""
from __future__ import annotations

import contextlib
import itertools
import os
from pathlib import Path
from typing import Callable, Iterator

import pytest

from daemon.config import AccountConfig
from imapservers import SERVERS, ImapServer, dovecot_skip_reason, empty_account
from pgserver import PostgresServer, postgres_skip_reason, run_postgres

PASSWORD_ENV = "BOUNCEWATCH_TEST_IMAP_PASSWORD"
#: Which database the tests use: "sqlite" (the default) or "postgres".
TEST_DB_ENV = "BOUNCEWATCH_TEST_DB"
TEST_DBS = ("sqlite", "postgres")


def test_db() -> str:
    backend = os.environ.get(TEST_DB_ENV, "") or "sqlite"
    if backend not in TEST_DBS:
        raise pytest.UsageError(f"${TEST_DB_ENV} must be one of {', '.join(TEST_DBS)}, not {backend!r}")
    return backend


def pytest_configure(config: pytest.Config) -> None:
    """Asked for PostgreSQL explicitly: fail at once rather than skip every database test."""
    if test_db() == "postgres" and postgres_skip_reason():
        raise pytest.UsageError(f"${TEST_DB_ENV}=postgres, but {postgres_skip_reason()}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL cluster for the session (skipped cleanly where none can run)."""
    if postgres_skip_reason():
        pytest.skip(postgres_skip_reason())
    with run_postgres() as server:
        yield server


@pytest.fixture
def new_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """``new_database_url()``: the URL of a fresh, empty database, each call a new one — a
    SQLite file in ``tmp_path``, or a new PostgreSQL database (dropped after the test) when
    $BOUNCEWATCH_TEST_DB=postgres. The one place tests get a database from."""
    with contextlib.ExitStack() as stack:
        serial = itertools.count(1)

        def new() -> str:
            if test_db() == "postgres":
                server = request.getfixturevalue("postgres_server")
                return stack.enter_context(server.database())
            n = next(serial)
            return f"sqlite:///{tmp_path / ('bouncewatch.sqlite3' if n == 1 else f'bouncewatch-{n}.sqlite3')}"
        yield new


@pytest.fixture
def database_url(new_database_url: Callable[[], str]) -> str:
    """A fresh, empty database for this test (see ``new_database_url``)."""
    return new_database_url()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh PostgreSQL database whatever $BOUNCEWATCH_TEST_DB says (for PostgreSQL-only tests)."""
    with postgres_server.database() as url:
        yield url


@contextlib.contextmanager
def _server(kind: str, tls: bool = False) -> Iterator[ImapServer]:
    if kind == "dovecot" and dovecot_skip_reason():
        pytest.skip(dovecot_skip_reason())
    with SERVERS[kind](tls=tls) as server:
        yield server


@pytest.fixture(scope="session", params=["pymap", pytest.param("dovecot", marks=pytest.mark.dovecot)])
def any_server(request: pytest.FixtureRequest) -> Iterator[ImapServer]:
    """Each real server once per session (Dovecot skipped cleanly where it cannot run)."""
    with _server(request.param) as server:
        yield server


@pytest.fixture(scope="session")
def pymap_server() -> Iterator[ImapServer]:
    with _server("pymap") as server:
        yield server


@pytest.fixture(scope="session")
def tls_server() -> Iterator[ImapServer]:
    """pymap with STARTTLS and a self-signed certificate (``ca_file`` trusts it)."""
    with _server("pymap", tls=True) as server:
        yield server


@pytest.fixture(scope="session")
def dovecot_tls_server() -> Iterator[ImapServer]:
    """Dovecot with STARTTLS required and an IMAPS port, self-signed (root only)."""
    with _server("dovecot", tls=True) as server:
        yield server


@pytest.fixture
def imap_server(any_server: ImapServer) -> ImapServer:
    """A real server with an empty account, parametrized over pymap and Dovecot."""
    empty_account(any_server)
    return any_server


@pytest.fixture
def pymap(pymap_server: ImapServer) -> ImapServer:
    """pymap with an empty account."""
    empty_account(pymap_server)
    return pymap_server


@pytest.fixture
def make_account(monkeypatch: pytest.MonkeyPatch) -> Callable[..., AccountConfig]:
    """``make_account(server, **overrides)``: an AccountConfig for the server, its password
    in an environment variable as the configuration demands."""
    def make(server: ImapServer, **overrides: object) -> AccountConfig:
        monkeypatch.setenv(PASSWORD_ENV, server.password)
        values: dict[str, object] = dict(
            name=server.kind, host=server.host, port=server.port, username=server.username,
            security=server.security, ca_file=server.ca_file, password_env=PASSWORD_ENV,
            timeout=10.0, poll_interval=1)
        values.update(overrides)
        return AccountConfig(**values)  # type: ignore[arg-type]
    return make


@pytest.fixture
def make_config(tmp_path, database_url):
    """``make_config(*accounts, **policy)``: a Config with the test's migrated database and an
    export directory in ``tmp_path``."""
    from daemon.config import Config, DatabaseConfig, ExportConfig, PolicyConfig
    from daemon.db import upgrade

    def make(*accounts: AccountConfig, **policy: object) -> Config:
        url = database_url
        upgrade(url)
        return Config(database=DatabaseConfig(url=url), accounts=accounts,
                      export=ExportConfig(directory=str(tmp_path / "export")),
                      policy=PolicyConfig(**policy))  # type: ignore[arg-type]
    return make


@pytest.fixture
def engine_of():
    """``engine_of(config)``: its engine, disposed after the test."""
    from daemon.db import make_engine

    engines = []

    def make(config):
        engines.append(make_engine(config.database.url))
        return engines[-1]
    yield make
    for engine in engines:
        engine.dispose()
