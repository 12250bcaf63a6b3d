"""Configuration: the example documents every default, and bad input names the key."""
from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from daemon.config import (
    AccountConfig, Config, ConfigError, load_config, parse_config, redact_url, resolve_password,
    resolve_sqlite_url,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"
ACCOUNT = {"name": "a", "host": "imap.example.org", "username": "u", "password_env": "BW_PW"}
# Keys the example sets to something other than the default (required ones, or one of two).
EXAMPLE_NON_DEFAULTS = {"name", "host", "username", "password_env"}


def account(**over: object) -> dict[str, object]:
    return ACCOUNT | over


def error_of(data: dict[str, object]) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(data, Path("/srv/bw"))
    return str(info.value)


def test_example_loads_and_documents_every_key_with_its_default():
    config = load_config(EXAMPLE)
    raw = tomllib.loads(EXAMPLE.read_text())
    defaults = parse_config({}, EXAMPLE.parent)
    for section in ("database", "policy", "export", "logging", "limits", "webhook", "metrics"):
        field_names = {f.name for f in dataclasses.fields(getattr(config, section))}
        assert set(raw[section]) == field_names, section
        assert getattr(config, section) == getattr(defaults, section), section
    (acct,) = config.accounts
    assert set(raw["accounts"][0]) == {f.name for f in dataclasses.fields(AccountConfig)}
    default_acct = AccountConfig(**ACCOUNT)
    for f in dataclasses.fields(AccountConfig):
        if f.name not in EXAMPLE_NON_DEFAULTS:
            assert getattr(acct, f.name) == getattr(default_acct, f.name), f.name
    assert set(raw) == {f.name for f in dataclasses.fields(Config)}


def test_defaults_match_the_contract():
    acct = parse_config({"accounts": [ACCOUNT]}, Path("/srv/bw")).accounts[0]
    assert (acct.port, acct.security, acct.verify_certificate) == (993, "tls", True)
    assert acct.folders == ("INBOX",)
    assert parse_config({"accounts": [account(security="starttls")]}, Path("/")).accounts[0].port == 143
    assert parse_config({"accounts": [account(security="plain")]}, Path("/")).accounts[0].port == 143
    assert parse_config({"accounts": [account(port=1993)]}, Path("/")).accounts[0].port == 1993


@pytest.mark.parametrize("data, message", [
    ({"accounts": [account(prot=143)]}, "accounts[0].prot: unknown key"),
    ({"databse": {}}, "databse: unknown key"),
    ({"policy": {"escalation_count": "5"}}, "policy.escalation_count: expected an integer, got a string"),
    ({"policy": {"suppress_complaints": 1}}, "policy.suppress_complaints: expected true or false"),
    ({"accounts": [account(port=True)]}, "accounts[0].port: expected an integer, got a boolean"),
    ({"accounts": [account(port=70000)]}, "accounts[0].port: must be 1..65535"),
    ({"accounts": [account(security="ssl")]}, "accounts[0].security: must be one of tls, starttls, plain"),
    ({"accounts": [account(folders="INBOX")]}, "accounts[0].folders: expected a list, got a string"),
    ({"accounts": [account(folders=[])]}, "accounts[0].folders: must list at least one"),
    ({"accounts": [account(folders=["INBOX", 3])]}, "accounts[0].folders[1]: expected a string"),
    ({"accounts": [ACCOUNT, account(host="b")]}, "accounts: duplicate account name a"),
    ({"accounts": [{"name": "a", "host": "h", "password_env": "X"}]}, "accounts[0].username: required key missing"),
    ({"accounts": [account(password_env="")]}, "accounts[0].password_env: set password_env or password_file"),
    ({"accounts": [account(password="hunter2")]}, "accounts[0].password: passwords are not allowed"),
    ({"accounts": {"name": "a"}}, "accounts: expected a list, got a table"),
    ({"export": {"schedule": "0 3 * *"}}, "export.schedule: must be a cron expression of 5 fields"),
    ({"export": {"schedule": "0 25 * * *"}}, "export.schedule: invalid cron expression"),
    ({"export": {"formats": ["csv", "xlsx"]}}, "export.formats: must be a list of csv, json, ses-csv"),
    ({"export": {"basename": "../x"}}, "export.basename: must be a plain file name"),
    ({"logging": {"format": "xml"}}, "logging.format: must be one of auto, json, console"),
    ({"limits": {"max_message_bytes": 10}}, "limits.max_message_bytes: must be at least 1024"),
    ({"policy": {"allow": ["not an address"]}}, "policy.allow: not an address or '*@domain'"),
    ({"policy": {"allow": ["*@nodot"]}}, "policy.allow: not a domain"),
])
def test_errors_name_the_key_and_the_problem(data, message):
    assert message in error_of(data)


def test_password_value_never_appears_in_errors():
    assert "hunter2" not in error_of({"accounts": [account(password="hunter2")]})


def test_relative_paths_resolve_against_the_config_directory(tmp_path):
    (tmp_path / "bw.toml").write_text(
        '[database]\nurl = "sqlite:///data/bw.sqlite3"\n[export]\ndirectory = "out"\n'
        '[[accounts]]\nname = "a"\nhost = "h"\nusername = "u"\npassword_file = "./secret"\n'
        'ca_file = "ca.pem"\n'
    )
    config = load_config(tmp_path / "bw.toml")
    assert config.database.url == f"sqlite:///{tmp_path}/data/bw.sqlite3"
    assert config.export.directory == str(tmp_path / "out")
    assert config.accounts[0].ca_file == str(tmp_path / "ca.pem")
    assert config.accounts[0].password_file == str(tmp_path / "secret")


@pytest.mark.parametrize("url, expected", [
    ("sqlite:///x.db", "sqlite:////base/x.db"),
    ("sqlite:////abs/x.db", "sqlite:////abs/x.db"),
    ("sqlite://", "sqlite://"),
    ("sqlite:///:memory:", "sqlite:///:memory:"),
    ("sqlite+pysqlite:///x.db?timeout=5", "sqlite+pysqlite:////base/x.db?timeout=5"),
    ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
])
def test_resolve_sqlite_url(url, expected):
    assert resolve_sqlite_url(url, Path("/base")) == expected


def test_allow_entries_are_normalised():
    config = parse_config({"policy": {"allow": ["Admin@Example.ORG", "*@Example.COM."]}}, Path("/"))
    assert config.policy.allow == ("admin@example.org", "*@example.com")


def test_load_config_search_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BOUNCEWATCH_CONFIG", raising=False)
    if Path("/etc/bouncewatch/config.toml").exists():
        pytest.skip("a system configuration exists on this machine")
    with pytest.raises(ConfigError, match="no configuration file"):
        load_config(None)
    (tmp_path / "bouncewatch.toml").write_text('[logging]\nlevel = "DEBUG"\n')
    assert load_config(None).logging.level == "debug"
    env_file = tmp_path / "other.toml"
    env_file.write_text('[logging]\nlevel = "error"\n')
    monkeypatch.setenv("BOUNCEWATCH_CONFIG", str(env_file))
    assert load_config(None).logging.level == "error"


def test_unreadable_and_invalid_toml_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="missing.toml: cannot read"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[database\n")
    with pytest.raises(ConfigError, match="bad.toml: not valid TOML"):
        load_config(bad)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("[limits]\nmax_bytes = 1\n")
    with pytest.raises(ConfigError, match=r"wrong.toml: limits.max_bytes: unknown key"):
        load_config(wrong)


def test_resolve_password_from_env(monkeypatch):
    acct = AccountConfig(**ACCOUNT)
    monkeypatch.setenv("BW_PW", "s3cret")
    assert resolve_password(acct) == "s3cret"
    monkeypatch.delenv("BW_PW")
    with pytest.raises(ConfigError, match="accounts 'a': environment variable BW_PW is not set"):
        resolve_password(acct)


def test_resolve_password_from_file_and_credentials(tmp_path, monkeypatch):
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    assert resolve_password(AccountConfig(**account(password_file=str(secret)))) == "s3cret"
    bare = AccountConfig(**account(password_file="imap-pw"))
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    with pytest.raises(ConfigError, match=r"CREDENTIALS_DIRECTORY is not set"):
        resolve_password(bare)
    (tmp_path / "imap-pw").write_text("from-systemd")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert resolve_password(bare) == "from-systemd"
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        resolve_password(AccountConfig(**account(password_file=str(tmp_path / "empty"))))
    with pytest.raises(ConfigError, match="accounts 'a': cannot read password_file .*nope"):
        resolve_password(AccountConfig(**account(password_file=str(tmp_path / "nope"))))


def test_repr_never_shows_a_password(tmp_path, monkeypatch):
    monkeypatch.setenv("BW_PW", "s3cret-value")
    acct = AccountConfig(**ACCOUNT)
    assert resolve_password(acct) == "s3cret-value"
    assert "s3cret-value" not in repr(acct) + repr(Config(accounts=(acct,)))
    assert "password" not in {f.name for f in dataclasses.fields(AccountConfig)}


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().limits.max_message_bytes = 1  # type: ignore[misc]


def test_mailbox_names_must_fit_the_database():
    assert "accounts[0].folders: account name and folder name together" in error_of(
        {"accounts": [account(folders=["x" * 600])]})


def test_a_database_password_never_shows_in_reprs():
    config = parse_config({"database": {"url": "postgresql://bw:pa55w0rd@db.example/bw"}}, Path("/"))
    assert config.database.url == "postgresql://bw:pa55w0rd@db.example/bw"
    assert "pa55w0rd" not in repr(config)
    assert "postgresql://bw:***@db.example/bw" in repr(config.database)
    assert redact_url("sqlite:////var/lib/bw.sqlite3") == "sqlite:////var/lib/bw.sqlite3"
