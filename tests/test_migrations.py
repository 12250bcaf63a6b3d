"""The schema exists only through Alembic: upgrade from empty, one head, models == schema."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from daemon.db import SCRIPT_LOCATION, alembic_config, current_revision, downgrade, make_engine, upgrade
from daemon.models import Base
from storehelp import db_url, sqlite_url  # noqa: F401 - db_url is a fixture

TABLES = {"messages", "locations", "outcomes", "addresses", "address_actions", "mailbox_state",
          "outbox", "counters"}


def test_single_head_and_script_dir_is_inside_the_package():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
    assert (SCRIPT_LOCATION / "__init__.py").is_file()
    assert (SCRIPT_LOCATION / "alembic.ini").is_file()
    # every revision file in versions/ is shipped as package data by pyproject's glob
    assert all(p.suffix == ".py" for p in (SCRIPT_LOCATION / "versions").glob("*.py"))


def test_upgrade_from_empty_creates_the_schema_and_matches_the_models(tmp_path):
    url = sqlite_url(tmp_path / "sub" / "dir" / "bw.sqlite3")   # directories are created
    upgrade(url)
    upgrade(url)                                                 # a second run is a no-op
    engine = make_engine(url)
    try:
        head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
        assert current_revision(engine) == head
        assert TABLES <= set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                    Base.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_sqlite_pragmas_are_on(tmp_path):
    url = sqlite_url(tmp_path / "bw.sqlite3")
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    finally:
        engine.dispose()


def test_downgrade_to_base_removes_everything_and_upgrade_again_works(tmp_path):
    url = sqlite_url(tmp_path / "bw.sqlite3")
    upgrade(url)
    downgrade(url, "base")
    engine = make_engine(url)
    try:
        assert not TABLES & set(inspect(engine).get_table_names())
        assert current_revision(engine) is None
        upgrade(url)
        assert TABLES <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_constraints_carry_conventional_names(tmp_path):
    url = sqlite_url(tmp_path / "bw.sqlite3")
    upgrade(url)
    engine = make_engine(url)
    try:
        uniques = {u["name"] for t in TABLES for u in inspect(engine).get_unique_constraints(t)}
        assert {"uq_locations_mailbox_uidvalidity_uid", "uq_messages_sha256",
                "uq_outcomes_message_pk_recipient", "uq_addresses_address"} <= uniques
    finally:
        engine.dispose()


def test_migrations_render_for_postgresql_without_sqlite_only_sql(capsys):
    """Offline mode (no server, no driver): the same migrations produce PostgreSQL DDL."""
    from alembic import command

    command.upgrade(alembic_config("postgresql://bouncewatch@localhost/bouncewatch"), "head", sql=True)
    ddl = capsys.readouterr().out
    assert "CREATE TABLE messages" in ddl and "BYTEA" in ddl and "TIMESTAMP WITH TIME ZONE" in ddl
    assert "PRAGMA" not in ddl and "AUTOINCREMENT" not in ddl
    assert "CONSTRAINT uq_locations_mailbox_uidvalidity_uid UNIQUE (mailbox, uidvalidity, uid)" in ddl


def test_postgresql_urls_use_psycopg3():
    pytest.importorskip("psycopg")
    engine = make_engine("postgresql://u@localhost/db")
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


def test_models_match_the_migrated_schema_on_every_backend(db_url):
    """Runs on PostgreSQL too with $BOUNCEWATCH_TEST_DB=postgres (see conftest)."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                    Base.metadata)
        assert diff == []
    finally:
        engine.dispose()
    downgrade(db_url, "base")
    engine = make_engine(db_url)
    try:
        assert not TABLES & set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
