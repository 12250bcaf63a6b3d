"""Shared fixtures: real IMAP servers (pymap always, Dovecot when installed and root)."""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator

import pytest

from daemon.config import AccountConfig
from imapservers import SERVERS, ImapServer, dovecot_skip_reason, empty_account

PASSWORD_ENV = "BOUNCEWATCH_TEST_IMAP_PASSWORD"


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
def make_config(tmp_path):
    """``make_config(*accounts, **policy)``: a Config with a migrated SQLite file and an
    export directory in ``tmp_path``."""
    from daemon.config import Config, DatabaseConfig, ExportConfig, PolicyConfig
    from daemon.db import upgrade

    def make(*accounts: AccountConfig, **policy: object) -> Config:
        url = f"sqlite:///{tmp_path / 'bouncewatch.sqlite3'}"
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
