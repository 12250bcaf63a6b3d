"""Logging for the daemon: one structlog pipeline for our events and for library loggers.

JSON lines when stderr is not a terminal (journald, files), coloured key-values on a terminal.
Everybody else just does ``log = structlog.get_logger(__name__)``; ``configure_logging`` is
called once by the commands that run the daemon.
"""
from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from structlog.typing import EventDict, Processor

FORMATS = ("auto", "json", "console")
LEVELS = ("debug", "info", "warning", "error", "critical")

#: Library loggers that are chatty at INFO speak from this level on; level "debug" lets all
#: through (imapclient redacts LOGIN/AUTHENTICATE in its own traces).
QUIET_LIBRARIES: dict[str, int] = {
    "apscheduler": logging.WARNING,   # "Running job ..." / "executed successfully" every poll
    # "skipped: maximum number of running instances reached" each interval while a long poll
    # runs (max_instances=1 is the point); the scheduler's own errors still show.
    "apscheduler.scheduler": logging.ERROR,
    "imapclient": logging.WARNING,    # protocol traces
    "sqlalchemy": logging.WARNING,
    "alembic": logging.WARNING,
}

#: Keys whose values are never rendered, whoever puts them into an event.
SECRET_KEYS = ("password", "passwd", "secret", "token", "credential")
REDACTED = "***"


def redact_secrets(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    """Replace the value of any key that looks like a secret (defence in depth)."""
    for key in event_dict:
        if any(word in key.lower() for word in SECRET_KEYS):
            event_dict[key] = REDACTED
    return event_dict


def shared_processors() -> list[Processor]:
    """The chain applied to structlog events and to stdlib records alike."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]


def resolve_format(fmt: str, stream: Any = None) -> str:
    """``auto`` -> ``console`` on a terminal, else ``json``."""
    if fmt not in FORMATS:
        raise ValueError(f"logging format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if fmt != "auto":
        return fmt
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return "console" if isatty is not None and isatty() else "json"


def _renderer(fmt: str) -> Processor:
    if fmt == "json":
        return structlog.processors.JSONRenderer(sort_keys=False)
    return structlog.dev.ConsoleRenderer(colors=True)


def _level_number(level: str) -> int:
    name = level.lower()
    if name not in LEVELS:
        raise ValueError(f"logging level {level!r}: expected one of {', '.join(LEVELS)}")
    return logging.getLevelNamesMapping()[name.upper()]


class _OurHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler we installed so a second ``configure_logging`` replaces it."""


def configure_logging(fmt: str = "auto", level: str = "info", stream: Any = None) -> None:
    """Route structlog and the stdlib ``logging`` tree through one renderer on ``stream``
    (default: stderr). Safe to call again (tests, re-configuration): the old handler goes."""
    stream = sys.stderr if stream is None else stream
    number = _level_number(level)
    chosen = resolve_format(fmt, stream)
    pre_chain = shared_processors()
    tail: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if chosen == "json":
        tail.append(structlog.processors.format_exc_info)
    tail.append(_renderer(chosen))

    handler = _OurHandler(stream)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=pre_chain, processors=tail))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(number)
    for name, quiet in QUIET_LIBRARIES.items():
        logging.getLogger(name).setLevel(number if number <= logging.DEBUG else max(quiet, number))

    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *pre_chain,
                    structlog.processors.StackInfoRenderer(),
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
