"""``bouncewatch classify``: run the matcher over files, Maildir folders and mbox files."""
from __future__ import annotations

import argparse
import json
import sys

TYPE_CHECKING = False  # typing costs start-up time; only type checkers need it
if TYPE_CHECKING:
    from typing import TextIO

from classifiers import Outcome, Report, classify

from .cli import EXIT_OK, EXIT_PARTIAL
from .mailfiles import MailFile, UnreadableInput, iter_messages

#: Outcome fields in each row, read directly (``Outcome.as_dict`` would build a dict twice).
OUTCOME_FIELDS = Outcome.__match_args__
TABLE_COLUMNS = ("file", "recipient", "reason", "hard", "status", "reply_code", "kind", "decoded_by")
#: One encoder for every row (``json.dumps`` with an option builds a new one per call).
_ENCODE_JSON = json.JSONEncoder(ensure_ascii=False).encode


EXAMPLES = """\
examples:
  bouncewatch classify bounce.eml                   # a table: recipient, reason, hard ...
  bouncewatch classify --jsonl ~/Maildir/.Bounces   # one JSON object per outcome
  bouncewatch classify archive.mbox | grep userunknown

No configuration or database needed. Exit code 1 when a path could not be read.
"""


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.epilog = EXAMPLES
    parser.add_argument("paths", nargs="+", metavar="PATH", help="message file, Maildir or mbox")
    parser.add_argument("--jsonl", action="store_true", help="one JSON object per outcome")


def rows(mail: MailFile, report: Report) -> list[dict[str, object]]:
    """One row per outcome; a message without outcomes still gives one row (recipient null)."""
    base: dict[str, object] = {
        "file": mail.source, "index": mail.index, "kind": str(report.kind),
        "decoded_by": report.decoded_by, "message_id": report.message_id,
        "list_id": report.list_id, "verp_recipient": report.verp_recipient,
    }
    if not report.outcomes:
        return [base | {"recipient": None, "reason": None, "hard": False, "status": "",
                        "reply_code": ""}]
    return [base | {name: getattr(o, name) for name in OUTCOME_FIELDS} | {"reason": str(o.reason)}
            for o in report.outcomes]


def _print_table(all_rows: list[dict[str, object]], out: TextIO) -> None:
    cells = [[str(r.get(c) if r.get(c) is not None else "-") for c in TABLE_COLUMNS] for r in all_rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(TABLE_COLUMNS)]
    fmt = "  ".join(f"{{:{w}}}" for w in widths)
    out.write(fmt.format(*TABLE_COLUMNS).rstrip() + "\n")
    for row in cells:
        out.write(fmt.format(*row).rstrip() + "\n")


def run(args: argparse.Namespace) -> int:
    out, failures, table = sys.stdout, 0, []
    for path in args.paths:
        try:
            for mail in iter_messages(path):
                for row in rows(mail, classify(mail.raw)):
                    if args.jsonl:
                        out.write(_ENCODE_JSON(row) + "\n")
                    else:
                        table.append(row)
        except UnreadableInput as exc:
            failures += 1
            print(f"bouncewatch classify: cannot read {exc}", file=sys.stderr)
    if not args.jsonl:
        _print_table(table, out)
    return EXIT_PARTIAL if failures else EXIT_OK
