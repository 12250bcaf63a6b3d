"""The daemon's configuration: a TOML file read into a tree of frozen dataclasses.

Every key has a default (``config.example.toml`` documents them all). Unknown keys, wrong
types and bad values are errors that name the key, e.g. ``accounts[0].prot: unknown key``.
Passwords are never part of the configuration: ``resolve_password`` reads them from an
environment variable or a file (systemd credentials) when the connection needs one.
"""
from __future__ import annotations

import os
import re
import tomllib
import typing
from dataclasses import MISSING, dataclass, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, Mapping

from .addresses import ascii_domain, normalize_address, valid_domain
from .formats import FORMATS as EXPORT_FORMATS

#: Where ``load_config(None)`` looks, in order, after $BOUNCEWATCH_CONFIG.
DEFAULT_PATHS = ("bouncewatch.toml", "/etc/bouncewatch/config.toml")
SECURITY_PORTS = {"tls": 993, "starttls": 143, "plain": 143}
LOG_FORMATS = ("auto", "json", "console")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
MAX_MAILBOX_KEY = 512   # "account/folder" is stored in a column of this size


class ConfigError(Exception):
    """The configuration is missing or invalid; the message names the key and the problem."""


def _require(ok: bool, key: str, problem: str) -> None:
    if not ok:
        raise ConfigError(f"{key}: {problem}")


@dataclass(frozen=True, slots=True, kw_only=True)
class DatabaseConfig:
    url: str = "sqlite:///bouncewatch.sqlite3"

    def __post_init__(self) -> None:
        _require("://" in self.url, "url", f"not a database URL: {redact_url(self.url)!r}")

    def __repr__(self) -> str:
        return f"DatabaseConfig(url={redact_url(self.url)!r})"


def redact_url(url: str) -> str:
    """``postgresql://user:secret@host/db`` -> ``postgresql://user:***@host/db``."""
    return _URL_PASSWORD.sub(r"\1***\2", url)


_URL_PASSWORD = re.compile(r"^([^:/?#]+://[^:/?#@]*:)[^@/?#]*(@)")


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountConfig:
    """One IMAP account. There is deliberately no password field: see ``resolve_password``."""

    name: str
    host: str
    username: str
    port: int = 0                   # 0: the default for ``security`` (993 tls, 143 otherwise)
    security: str = "tls"           # "tls" (IMAPS), "starttls" or "plain"
    verify_certificate: bool = True
    ca_file: str = ""
    password_env: str = ""
    password_file: str = ""
    folders: tuple[str, ...] = ("INBOX",)
    processed_folder: str = "bouncewatch/processed"
    unparsed_folder: str = "bouncewatch/unparsed"
    other_folder: str = ""          # "": leave non-bounce mail where it is
    poll_interval: int = 300
    idle: bool = False
    batch_size: int = 500          # messages per FETCH and per transaction, at most
    timeout: float = 60.0

    def __post_init__(self) -> None:
        _require(bool(self.name.strip()) and "/" not in self.name, "name",
                 "must be non-empty and contain no '/'")
        _require(bool(self.host.strip()), "host", "must not be empty")
        _require(bool(self.username), "username", "must not be empty")
        _require(self.security in SECURITY_PORTS, "security",
                 f"must be one of {', '.join(SECURITY_PORTS)}, not {self.security!r}")
        if self.port == 0:
            object.__setattr__(self, "port", SECURITY_PORTS[self.security])
        _require(0 < self.port < 65536, "port", f"must be 1..65535, not {self.port}")
        _require(bool(self.password_env or self.password_file), "password_env",
                 "set password_env or password_file (passwords never go in the config)")
        _require(bool(self.folders) and all(f.strip() for f in self.folders), "folders",
                 "must list at least one non-empty folder name")
        _require(all(len(self.name) + len(f) < MAX_MAILBOX_KEY for f in self.folders), "folders",
                 f"account name and folder name together must stay under {MAX_MAILBOX_KEY} characters")
        for key in ("processed_folder", "unparsed_folder"):
            _require(bool(getattr(self, key).strip()), key, "must not be empty")
        _require(self.poll_interval >= 1, "poll_interval", "must be at least 1 (seconds)")
        _require(self.batch_size >= 1, "batch_size", "must be at least 1")
        _require(self.timeout > 0, "timeout", "must be positive (seconds)")


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyConfig:
    suppress_complaints: bool = True
    escalation_enabled: bool = False
    escalation_count: int = 5
    escalation_days: int = 14
    allow: tuple[str, ...] = ()     # full addresses or "*@domain", stored lowercased

    def __post_init__(self) -> None:
        _require(self.escalation_count >= 1, "escalation_count", "must be at least 1")
        _require(self.escalation_days >= 0, "escalation_days", "must not be negative")
        object.__setattr__(self, "allow", tuple(_allow_entry(e) for e in self.allow))


def _allow_entry(entry: str) -> str:
    if entry.startswith("*@"):
        domain = ascii_domain(entry[2:].strip().lower().rstrip("."))
        _require(valid_domain(domain), "allow", f"not a domain: {entry!r}")
        return f"*@{domain}"
    address = normalize_address(entry)
    _require(address is not None, "allow", f"not an address or '*@domain': {entry!r}")
    return typing.cast(str, address)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportTarget:
    """One more file in one format: ``path`` is relative to ``export.directory`` (or absolute);
    "" means the format's usual name, e.g. ``suppressions.mailgun.csv``."""

    format: str
    path: str = ""

    def __post_init__(self) -> None:
        _require(self.format in EXPORT_FORMATS, "format",
                 f"must be one of {', '.join(EXPORT_FORMATS)}, not {self.format!r}")
        name = os.path.basename(self.path)
        _require(not self.path or (name not in ("", ".", "..") and not name.startswith(".")),
                 "path", f"must name a file, not {self.path!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportConfig:
    directory: str = "export"
    schedule: str = "0 3 * * *"     # cron: minute hour day month weekday
    formats: tuple[str, ...] = ("csv", "json")
    basename: str = "suppressions"
    targets: tuple[ExportTarget, ...] = ()

    def __post_init__(self) -> None:
        _require(len(self.schedule.split()) == 5, "schedule",
                 f"must be a cron expression of 5 fields, not {self.schedule!r}")
        _require(_cron_problem(self.schedule) == "", "schedule", _cron_problem(self.schedule))
        _require(set(self.formats) <= set(EXPORT_FORMATS), "formats",
                 f"must be a list of {', '.join(EXPORT_FORMATS)}")
        _require(bool(self.formats or self.targets), "formats",
                 "must not be empty when there are no [[export.targets]]")
        _require(bool(self.basename) and "/" not in self.basename and not self.basename.startswith("."),
                 "basename", "must be a plain file name")
        paths = [p for _, p in self.files()]
        dupes = sorted({p for p in paths if paths.count(p) > 1})
        _require(not dupes, "targets", f"two exports would write {', '.join(dupes)}")

    def files(self) -> list[tuple[str, str]]:
        """(format, path) of every file an export writes; relative paths are relative to
        ``directory``. ``formats`` first, then ``targets``."""
        def default(fmt: str) -> str:
            return self.basename + EXPORT_FORMATS[fmt].suffix
        return ([(f, default(f)) for f in dict.fromkeys(self.formats)]
                + [(t.format, os.path.normpath(t.path) if t.path else default(t.format))
                   for t in self.targets])


def _cron_problem(expression: str) -> str:
    """APScheduler's complaint about a crontab expression, or "" when it is valid."""
    from apscheduler.triggers.cron import CronTrigger  # lazy: only the daemon needs it

    try:
        CronTrigger.from_crontab(expression, timezone="UTC")
    except ValueError as exc:
        return f"invalid cron expression {expression!r}: {exc}"
    return ""


@dataclass(frozen=True, slots=True, kw_only=True)
class LoggingConfig:
    format: str = "auto"            # "auto": JSON when not on a terminal, console on one
    level: str = "info"

    def __post_init__(self) -> None:
        _require(self.format in LOG_FORMATS, "format", f"must be one of {', '.join(LOG_FORMATS)}")
        _require(self.level.lower() in LOG_LEVELS, "level", f"must be one of {', '.join(LOG_LEVELS)}")
        object.__setattr__(self, "level", self.level.lower())


@dataclass(frozen=True, slots=True, kw_only=True)
class LimitsConfig:
    max_message_bytes: int = 25 * 1024 * 1024
    batch_bytes: int = 32 * 1024 * 1024   # a fetched batch's size at most (one message may exceed it)

    def __post_init__(self) -> None:
        _require(self.max_message_bytes >= 1024, "max_message_bytes", "must be at least 1024")
        _require(self.batch_bytes >= 1024, "batch_bytes", "must be at least 1024")


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookConfig:
    """Push each new suppression and release to ``url`` (off when "") as signed JSON; the
    signing secret comes from ``secret_file`` or ``secret_env``, never from the config."""

    url: str = ""
    secret_env: str = ""
    secret_file: str = ""
    timeout: float = 10.0           # seconds per attempt
    max_attempts: int = 50          # then the event waits for `bouncewatch webhook flush`
    interval: int = 10              # seconds between looks at the outbox

    @property
    def enabled(self) -> bool:
        """A receiver is configured: suppressions and releases are queued for it."""
        return bool(self.url)

    def __post_init__(self) -> None:
        _require(self.timeout > 0, "timeout", "must be positive (seconds)")
        _require(self.max_attempts >= 1, "max_attempts", "must be at least 1")
        _require(self.interval >= 1, "interval", "must be at least 1 (seconds)")
        if not self.url:
            return
        scheme, _, rest = self.url.partition("://")
        _require(scheme in ("http", "https") and bool(rest.split("/", 1)[0]), "url",
                 f"must be an http:// or https:// URL, not {redact_url(self.url)!r}")
        _require(bool(self.secret_env or self.secret_file), "secret_env",
                 "set secret_env or secret_file (the signing secret never goes in the config)")

    def __repr__(self) -> str:
        return (f"WebhookConfig(url={redact_url(self.url)!r}, secret_env={self.secret_env!r}, "
                f"secret_file={self.secret_file!r}, timeout={self.timeout!r}, "
                f"max_attempts={self.max_attempts!r}, interval={self.interval!r})")


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricsConfig:
    listen: str = ""                # "host:port" of the Prometheus endpoint; "": off

    def __post_init__(self) -> None:
        if self.listen:
            host, sep, port = self.listen.rpartition(":")
            _require(bool(sep and host) and port.isdigit() and 0 < int(port) < 65536, "listen",
                     f"must be host:port, e.g. 127.0.0.1:9464, not {self.listen!r}")

    @property
    def address(self) -> tuple[str, int]:
        """(host, port); an IPv6 host may be written in brackets: ``[::1]:9464``."""
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    database: DatabaseConfig = DatabaseConfig()
    accounts: tuple[AccountConfig, ...] = ()
    policy: PolicyConfig = PolicyConfig()
    export: ExportConfig = ExportConfig()
    logging: LoggingConfig = LoggingConfig()
    limits: LimitsConfig = LimitsConfig()
    webhook: WebhookConfig = WebhookConfig()
    metrics: MetricsConfig = MetricsConfig()

    def __post_init__(self) -> None:
        names = [a.name for a in self.accounts]
        dupes = sorted({n for n in names if names.count(n) > 1})
        _require(not dupes, "accounts", f"duplicate account name {', '.join(dupes)}")


# --- loading -----------------------------------------------------------------------------

def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the configuration file (see ``DEFAULT_PATHS`` when ``path`` is None)."""
    found = Path(path) if path is not None else find_config()
    try:
        data = tomllib.loads(found.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{found}: cannot read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{found}: not valid TOML: {exc}") from None
    try:
        return parse_config(data, found.resolve().parent)
    except ConfigError as exc:
        raise ConfigError(f"{found}: {exc}") from None


def find_config() -> Path:
    """$BOUNCEWATCH_CONFIG, else the first of ``DEFAULT_PATHS`` that exists."""
    env = os.environ.get("BOUNCEWATCH_CONFIG")
    if env:
        return Path(env)
    for candidate in map(Path, DEFAULT_PATHS):
        if candidate.is_file():
            return candidate
    raise ConfigError("no configuration file: use --config, $BOUNCEWATCH_CONFIG, "
                      f"or create one of {', '.join(DEFAULT_PATHS)}")


def parse_config(data: Mapping[str, Any], base_dir: Path) -> Config:
    """Build a ``Config`` from parsed TOML; relative paths resolve against ``base_dir``."""
    config = _build(Config, data, "")
    return _resolve_paths(config, base_dir)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _build(cls: type, table: Any, where: str) -> Any:
    """One dataclass from one TOML table, checking keys and types against the field hints."""
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: expected a table, got {_type_name(table)}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    for key in table:
        if key == "password":
            raise ConfigError(f"{_join(where, key)}: passwords are not allowed in the "
                              "configuration; use password_env or password_file")
        if key not in known:
            raise ConfigError(f"{_join(where, key)}: unknown key")
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name in table:
            values[f.name] = _convert(hints[f.name], table[f.name], _join(where, f.name))
        elif f.default is MISSING and f.default_factory is MISSING:
            raise ConfigError(f"{_join(where, f.name)}: required key missing")
    try:
        return cls(**values)
    except ConfigError as exc:
        raise ConfigError(_join(where, str(exc))) from None


def _convert(hint: Any, value: Any, where: str) -> Any:
    if is_dataclass(hint):
        return _build(typing.cast(type, hint), value, where)
    if typing.get_origin(hint) is tuple:
        item = typing.get_args(hint)[0]
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {_type_name(value)}")
        return tuple(_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (str, int, bool, float) and type(value) is hint:
        return value
    raise ConfigError(f"{where}: expected {_HINT_NAMES.get(hint, hint)}, got {_type_name(value)}")


_HINT_NAMES = {str: "a string", int: "an integer", bool: "true or false", float: "a number"}


def _type_name(value: Any) -> str:
    names = {str: "a string", int: "an integer", bool: "a boolean", float: "a number",
             list: "a list", dict: "a table"}
    return names.get(type(value), type(value).__name__)


def _resolve_paths(config: Config, base: Path) -> Config:
    def path(p: str) -> str:
        return str(base / p) if p and not os.path.isabs(p) else p

    accounts = tuple(
        replace(a, ca_file=path(a.ca_file),
                password_file=path(a.password_file) if "/" in a.password_file else a.password_file)
        for a in config.accounts
    )
    return replace(
        config,
        database=replace(config.database, url=resolve_sqlite_url(config.database.url, base)),
        accounts=accounts,
        export=replace(config.export, directory=path(config.export.directory)),
        webhook=replace(config.webhook, secret_file=path(config.webhook.secret_file)
                        if "/" in config.webhook.secret_file else config.webhook.secret_file),
    )


def resolve_sqlite_url(url: str, base: Path) -> str:
    """``sqlite:///rel.db`` -> ``sqlite:////abs/base/rel.db``; other URLs are returned as is."""
    scheme, _, rest = url.partition("://")
    if not scheme.startswith("sqlite") or not rest.startswith("/"):
        return url
    file, sep, query = rest[1:].partition("?")
    if not file or file == ":memory:" or file.startswith("file:") or os.path.isabs(file):
        return url
    return f"{scheme}:///{base / file}{sep}{query}"


# --- secrets -----------------------------------------------------------------------------

def resolve_password(account: AccountConfig) -> str:
    """The account's password from ``password_file`` (a bare name is a systemd credential in
    $CREDENTIALS_DIRECTORY) or else the environment variable ``password_env``.

    Errors name the account and the file or variable, never the value.
    """
    return read_secret(f"accounts '{account.name}'", "password_file", account.password_file,
                       account.password_env)


def read_secret(where: str, file_key: str, file: str, env: str) -> str:
    """A secret from ``file`` (a bare name is a systemd credential in $CREDENTIALS_DIRECTORY)
    or else the environment variable ``env``; errors name ``where``, the key and the file or
    variable, never the value."""
    if file:
        if "/" not in file:
            creds = os.environ.get("CREDENTIALS_DIRECTORY")
            if not creds:
                raise ConfigError(f"{where}: {file_key} {file!r} is a credential name but "
                                  "$CREDENTIALS_DIRECTORY is not set (give a path like ./name)")
            file = os.path.join(creds, file)
        try:
            with open(file, encoding="utf-8") as fh:
                secret = fh.read().rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            raise ConfigError(f"{where}: cannot read {file_key} {file}: {reason}") from None
        if not secret:
            raise ConfigError(f"{where}: {file_key} {file} is empty")
        return secret
    secret = os.environ.get(env, "")
    if not secret:
        raise ConfigError(f"{where}: environment variable {env} is not set or empty")
    return secret


__all__ = [
    "AccountConfig", "Config", "ConfigError", "DatabaseConfig", "ExportConfig", "ExportTarget",
    "LimitsConfig",
    "LoggingConfig", "MetricsConfig", "PolicyConfig", "WebhookConfig", "find_config",
    "load_config", "parse_config", "read_secret", "redact_url", "resolve_password",
    "resolve_sqlite_url",
]
