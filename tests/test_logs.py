"""The logging pipeline: JSON lines off a terminal, library records routed, secrets redacted."""
from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from daemon.logs import configure_logging, resolve_format


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def stream():
    buf = io.StringIO()
    yield buf
    configure_logging("json", "info", stream=io.StringIO())  # detach from the closed buffer


def _lines(buf: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buf.getvalue().splitlines()]


def test_json_lines_for_structlog_and_library_loggers(stream):
    configure_logging("json", "info", stream=stream)
    structlog.get_logger("daemon.test").info("message processed", uid=7, hard=1)
    logging.getLogger("some.library").warning("library says %s", "hi")
    first, second = _lines(stream)
    assert first["event"] == "message processed" and first["uid"] == 7 and first["hard"] == 1
    assert first["level"] == "info" and first["logger"] == "daemon.test"
    assert first["timestamp"].endswith("Z")
    assert second == second | {"event": "library says hi", "level": "warning",
                               "logger": "some.library"}


def test_secrets_are_redacted(stream):
    configure_logging("json", "info", stream=stream)
    structlog.get_logger().info("login", password="hunter2", imap_password="hunter2", user="u")
    text = stream.getvalue()
    assert "hunter2" not in text
    (line,) = _lines(stream)
    assert line["password"] == "***" and line["user"] == "u"


def test_level_filters_and_quiet_libraries(stream):
    configure_logging("json", "warning", stream=stream)
    structlog.get_logger().info("dropped")
    structlog.get_logger().error("kept")
    logging.getLogger("apscheduler.executors.default").info("Running job")
    assert [line["event"] for line in _lines(stream)] == ["kept"]


def test_reconfigure_replaces_the_handler(stream):
    configure_logging("json", "info", stream=io.StringIO())
    configure_logging("json", "info", stream=stream)
    structlog.get_logger().info("once")
    assert len(_lines(stream)) == 1


def test_exceptions_render_into_json(stream):
    configure_logging("json", "info", stream=stream)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        structlog.get_logger().exception("failed")
    (line,) = _lines(stream)
    assert "RuntimeError: boom" in line["exception"]


def test_auto_format_follows_the_terminal():
    assert resolve_format("auto", _Tty()) == "console"
    assert resolve_format("auto", io.StringIO()) == "json"
    tty = _Tty()
    configure_logging("auto", "info", stream=tty)
    structlog.get_logger().info("hello", n=1)
    assert "hello" in tty.getvalue() and not tty.getvalue().lstrip().startswith("{")
    configure_logging("json", "info", stream=io.StringIO())


@pytest.mark.parametrize("fmt, level", [("xml", "info"), ("json", "loud")])
def test_bad_values_are_clear_errors(fmt, level):
    with pytest.raises(ValueError, match="expected one of"):
        configure_logging(fmt, level, stream=io.StringIO())
