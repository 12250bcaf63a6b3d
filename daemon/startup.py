"""What the polling commands do first: load the configuration and set up logging as it says."""
from __future__ import annotations

import sys

from .config import Config, ConfigError, load_config
from .logs import configure_logging


def configured(command: str, path: str | None) -> Config | None:
    """The configuration at ``path`` (None: the default places), with logging set up; None
    after saying on stderr why it cannot be loaded (the caller exits with EXIT_CONFIG)."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(f"bouncewatch {command}: {exc}", file=sys.stderr)
        return None
    configure_logging(config.logging.format, config.logging.level)
    return config
