"""The ``bouncewatch`` command line: one sub-command per module, loaded only when used.

Each command module exposes ``add_arguments(parser)`` and ``run(args) -> int`` (the exit code).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

#: name -> (module, one-line help). The module owns its arguments and its behaviour.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("daemon.service", "run the service: poll on a schedule, export nightly"),
    "poll": ("daemon.poll_cmd", "poll the configured mailboxes (use --once for one pass)"),
    "classify": ("daemon.classify_cmd", "classify files, Maildir folders or mbox files"),
    "export": ("daemon.admin", "write the suppression list now"),
    "status": ("daemon.admin", "per-mailbox state, counts by reason, suppressions"),
    "history": ("daemon.admin", "every outcome recorded for one address"),
    "suppress": ("daemon.admin", "suppress an address by hand"),
    "release": ("daemon.admin", "release a suppressed address by hand"),
    "reclassify": ("daemon.admin", "re-run the matcher over stored messages"),
    "db": ("daemon.admin", "database maintenance: 'db upgrade' applies migrations, "
                           "'db copy --to URL' copies everything into another database"),
    "webhook": ("daemon.webhook", "push pending suppressions and releases now ('webhook flush')"),
    "report": ("daemon.report", "write the HTML report: bounces per day, domains, suppressions"),
    "completion": ("daemon.completion", "print a shell completion script (bash, zsh or fish)"),
}

EXIT_OK = 0
EXIT_PARTIAL = 1      # the command ran but some input could not be processed
EXIT_USAGE = 2        # bad command line (argparse's own code)
EXIT_CONFIG = 3       # the configuration is missing or invalid
EXIT_UNAVAILABLE = 4  # a server or the database could not be reached, or a file not written
EXIT_INTERRUPTED = 130  # stopped by Ctrl-C (128 + SIGINT), as shells report it

#: What each exit code means, as ``bouncewatch --help`` documents it.
EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success",
    EXIT_PARTIAL: "done, but some input could not be processed or an action was refused "
                  "(an unreadable file, an allow-listed address)",
    EXIT_USAGE: "bad command line (unknown command or option, not an e-mail address)",
    EXIT_CONFIG: "the configuration is missing or invalid (also: no password, no such account)",
    EXIT_UNAVAILABLE: "an IMAP server or the database could not be reached or refused the "
                      "login, or an output file could not be written",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}


def exit_codes_epilog() -> str:
    """The exit-code table for ``--help``."""
    import textwrap  # only the main help needs it: not on every command's start-up path
    return "exit codes:\n" + "".join(
        textwrap.fill(text, 78, initial_indent=f"  {code:<4} ", subsequent_indent=" " * 7) + "\n"
        for code, text in EXIT_CODES.items())


EXAMPLES = """\
examples:
  bouncewatch -c /etc/bouncewatch/config.toml status
  bouncewatch classify bounce.eml ~/Maildir/.Bounces   # no configuration needed
  bouncewatch COMMAND --help                           # each command's options and examples
  source <(bouncewatch completion bash)                # tab completion in this shell
"""


def terminal_columns() -> int:
    """``shutil.get_terminal_size().columns`` (COLUMNS, else the terminal's, else 80), without
    importing shutil: argparse does for every parser it builds, and with zlib, bz2 and lzma it
    cost ~2 ms of every start."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """argparse's formatter for descriptions written as they should look, as wide as the
    terminal (``terminal_columns``)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         terminal_columns() - 2 if width is None else width)


def _chosen(argv: Sequence[str]) -> str | None:
    """The sub-command named on the command line, found without importing any command; None
    when there is none, or when the main help is asked for before it."""
    skip = False
    for token in argv:
        if skip:
            skip = False
        elif token in ("-c", "--config"):
            skip = True
        elif token in ("-h", "--help"):
            return None
        elif not token.startswith("-"):
            return token if token in COMMANDS else None
    return None


def build_parser(argv: Sequence[str] = (), *, every: bool = False) -> argparse.ArgumentParser:
    """The parser. With a command named, only that command's sub-parser is built and its module
    imported (``classify`` stays light: each sub-parser costs ~1 ms of start-up); without one
    (the main help, a usage error), or with ``every`` (shell completion), all of them."""
    chosen = None if every else _chosen(argv)
    parser = argparse.ArgumentParser(
        prog="bouncewatch",
        description="Read bounce mailboxes, classify NDRs, suppress dead addresses.",
        epilog=None if chosen else f"{EXAMPLES}\n{exit_codes_epilog()}",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("-c", "--config", help="configuration file (default: $BOUNCEWATCH_CONFIG, "
                        "./bouncewatch.toml, /etc/bouncewatch/config.toml)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        if chosen and name != chosen:
            continue
        p = sub.add_parser(name, help=help_text, description=help_text,
                           formatter_class=HelpFormatter)
        p.set_defaults(_module=module_name, _name=name)
        if chosen or every:
            importlib.import_module(module_name).add_arguments(p, name)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    module = importlib.import_module(args._module)
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
