"""Admin commands: ``export``, ``status``, ``history``, ``suppress``, ``release``,
``reclassify`` and ``db upgrade``.

Each loads the configuration, brings the database schema up to date (except ``db``, which
does exactly that on request), and prints readable text (``status``/``history`` also JSON).
Exit codes are daemon.cli's: 3 for a bad configuration, 4 for an unreachable database.
"""
from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Engine, Select, func, select
from sqlalchemy.orm import Session

from . import counters
from .addresses import allow_matches, normalize_address
from .cli import EXIT_CONFIG, EXIT_OK, EXIT_PARTIAL, EXIT_UNAVAILABLE, EXIT_USAGE
from .config import Config, ConfigError, load_config, redact_url
from .db import make_engine, session_scope, upgrade
from .export import iso_utc, write_exports
from .models import (
    Address, AddressAction, AddressState, Location, MailboxState, ManualAction, Message, Outcome,
)
from .policy import all_addresses, effect_of, recompute
from .store import Classify, mailbox_key, reclassify_message
from .webhook import outbox_status

Handler = Callable[[argparse.Namespace, Config, Engine, TextIO], int]


# --- arguments ---------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.epilog = "examples:\n" + "".join(f"  {line}\n" for line in EXAMPLES[name])
    ARGUMENTS[name](parser)


#: A few command lines per command, shown by ``bouncewatch COMMAND --help``.
EXAMPLES: dict[str, tuple[str, ...]] = {
    "export": ("bouncewatch export                       # to export.directory, atomically",
               "bouncewatch export --output-dir /srv/lists/suppressions"),
    "status": ("bouncewatch status                       # per mailbox, then the suppressions",
               "bouncewatch status --json | jq .suppressions.total"),
    "history": ("bouncewatch history someone@example.org",
                "bouncewatch history someone@example.org --json"),
    "suppress": ("bouncewatch suppress someone@example.org --reason 'asked to be removed'",
                 "(exit code 1: the address is on the allow-list; 2: not an e-mail address)"),
    "release": ("bouncewatch release someone@example.org --reason 'mailbox fixed'",
                "(holds until a new hard bounce or complaint arrives)"),
    "reclassify": ("bouncewatch reclassify                   # re-run the matcher over every message",
                   "bouncewatch reclassify --kind unparseable --kind not-bounce",
                   "bouncewatch reclassify --policy-only     # after changing [policy]"),
    "db": ("bouncewatch db upgrade                   # apply the migrations",
           "bouncewatch db current                   # show the schema revision"),
}


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--output-dir", metavar="DIR", help="write here instead of export.directory")


def _status_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _history_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("address", metavar="ADDRESS")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _manual_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("address", metavar="ADDRESS")
    p.add_argument("--reason", default="", help="why (kept with the decision)")


def _reclassify_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kind", action="append", metavar="KIND",
                   help="only messages stored with this kind (repeatable), e.g. unparseable")
    p.add_argument("--policy-only", action="store_true",
                   help="do not re-run the matcher; only apply the current [policy] (allow-list, "
                        "escalation, complaints) to every address")
    p.add_argument("--no-progress", action="store_true", help="never draw a progress bar")


def _db_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("upgrade", "current", "copy", "recount"),
                   help="upgrade: apply migrations; current: show the schema revision; "
                        "copy: copy every row into the empty database --to URL; "
                        "recount: rebuild the counts status shows from the history")
    p.add_argument("--to", metavar="URL", help="copy: the target database (e.g. postgresql://...)")


ARGUMENTS: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "export": _export_args, "status": _status_args, "history": _history_args,
    "suppress": _manual_args, "release": _manual_args, "reclassify": _reclassify_args,
    "db": _db_args,
}


# --- running -----------------------------------------------------------------------------

def run(args: argparse.Namespace, out: TextIO | None = None, handler: Handler | None = None) -> int:
    """Load the configuration, open (and migrate) the database, run the command's handler
    (``handler``, or this module's for ``args._name``) and turn failures into exit codes."""
    from alembic.util import CommandError
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    out = out or sys.stdout
    name = args._name
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        return _fail(name, str(exc), EXIT_CONFIG)
    try:
        engine = _open_database(config, migrate=name != "db")
        try:
            return (handler or HANDLERS[name])(args, config, engine, out)
        finally:
            engine.dispose()
    except _DatabaseUnavailable as exc:
        return _fail(name, str(exc), EXIT_UNAVAILABLE)
    except ArgumentError:   # its message would repeat the URL, password and all
        return _fail(name, f"database.url {redact_url(config.database.url)!r}: not a usable "
                     "database URL", EXIT_CONFIG)
    except SQLAlchemyError as exc:
        return _fail(name, f"database: {_first_line(getattr(exc, 'orig', None) or exc)}", EXIT_UNAVAILABLE)
    except CommandError as exc:
        return _fail(name, f"database migrations: {exc}", EXIT_UNAVAILABLE)
    except ImportError as exc:
        return _fail(name, f"database driver missing ({exc.name}); for PostgreSQL install "
                     "bouncewatch[postgres]", EXIT_CONFIG)
    except BrokenPipeError:
        raise                # the reader went away: daemon.cli exits quietly
    except OSError as exc:   # an output file or directory that cannot be written
        return _fail(name, f"{exc.filename or 'output'}: {exc.strerror or exc}", EXIT_UNAVAILABLE)


class _DatabaseUnavailable(Exception):
    pass


def _open_database(config: Config, *, migrate: bool) -> Engine:
    """Migrate (unless told not to) and return an engine; a file-system problem becomes
    ``_DatabaseUnavailable``."""
    try:
        if migrate:
            upgrade(config.database.url)
        return make_engine(config.database.url)
    except OSError as exc:   # e.g. the SQLite file's directory cannot be created
        where = f": {exc.filename}" if exc.filename else ""
        raise _DatabaseUnavailable(f"database: {exc.strerror or exc}{where}") from None


def _fail(name: str, message: str, code: int) -> int:
    print(f"bouncewatch {name}: {message}", file=sys.stderr)
    return code


def _first_line(exc: object) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"


def _iso(value: datetime | None) -> str | None:
    return iso_utc(value) or None


def format_table(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Left-aligned columns, two spaces apart, a header line first."""
    cells = [[str(c) for c in columns]] + [["-" if v in (None, "") else str(v) for v in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    return "".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() + "\n" for row in cells)


# --- export ------------------------------------------------------------------------------

def _export(args: argparse.Namespace, config: Config, engine: Engine, out: TextIO) -> int:
    if args.output_dir:
        config = replace(config, export=replace(config.export, directory=str(Path(args.output_dir).resolve())))
    for path in write_exports(engine, config):
        out.write(f"wrote {path}\n")
    return EXIT_OK


# --- status ------------------------------------------------------------------------------

def status_data(session: Session, config: Config) -> dict[str, Any]:
    """Everything ``status`` shows, as plain data: a handful of indexed reads (the counts
    come from ``daemon.counters``), however long the history."""
    configured = [mailbox_key(a.name, f) for a in config.accounts for f in a.folders]
    known = session.scalars(select(MailboxState.mailbox)).all()
    mailboxes = [_mailbox_data(session, m) for m in dict.fromkeys([*configured, *sorted(known)])]
    for m in mailboxes:
        m["configured"] = m["mailbox"] in configured
    addresses = counters.read(session, counters.ADDRESSES)
    by_state = counters.group(addresses, "state")
    return {
        "mailboxes": mailboxes,
        "messages": counters.read(session, counters.GLOBAL).get(counters.MESSAGES, 0),
        "addresses": {str(s): by_state.get(str(s), 0) for s in AddressState},
        "suppressions": {"total": by_state.get(AddressState.SUPPRESSED, 0),
                         "by_reason": counters.group(addresses, "suppressed")},
        "webhook": {"configured": config.webhook.enabled,
                    **outbox_status(session, config.webhook.max_attempts)},
    }


def _mailbox_data(session: Session, mailbox: str) -> dict[str, Any]:
    state = session.get(MailboxState, mailbox)
    pending = session.scalar(
        select(func.count(Location.id)).where(
            Location.mailbox == mailbox, Location.moved_at.is_(None),
            Location.uidvalidity == (state.uidvalidity if state else None))) or 0
    counts = counters.read(session, mailbox)
    severity = counters.group(counts, "severity")
    return {
        "mailbox": mailbox,
        "uidvalidity": state.uidvalidity if state else None,
        "last_uid": state.last_uid if state else None,
        "last_poll": _iso(state.last_poll_at) if state else None,
        "last_success": _iso(state.last_success_at) if state else None,
        "last_error": (state.last_error or None) if state else None,
        "last_error_at": _iso(state.last_error_at) if state else None,
        "consecutive_failures": state.consecutive_failures if state else 0,
        "backlog": state.backlog if state else 0,
        "pending_moves": pending,
        "messages_by_kind": counters.group(counts, "kind"),
        "outcomes_by_reason": counters.group(counts, "reason"),
        "outcomes_by_severity": {"hard": severity.get("hard", 0), "soft": severity.get("soft", 0)},
    }


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"


def render_status(data: dict[str, Any]) -> str:
    lines: list[str] = []
    for m in data["mailboxes"]:
        lines.append(f"{m['mailbox']}{'' if m['configured'] else '  (no longer configured)'}")
        cursor = (f"uidvalidity {m['uidvalidity']}, last uid {m['last_uid']}"
                  if m["uidvalidity"] is not None else "never polled")
        health = "ok" if not m["consecutive_failures"] else f"{m['consecutive_failures']} failures in a row"
        lines += [
            f"  cursor         {cursor}",
            f"  last poll      {m['last_poll'] or '-'} ({health})",
            f"  last success   {m['last_success'] or '-'}",
        ]
        if m["last_error"]:
            lines.append(f"  last error     {m['last_error_at']}: {m['last_error']}")
        lines += [
            f"  backlog        {m['backlog']} waiting, {m['pending_moves']} to move",
            f"  messages       {_counts(m['messages_by_kind'])}",
            f"  outcomes       {_counts(m['outcomes_by_reason'])}",
        ]
    s = data["suppressions"]
    lines.append(f"messages stored: {data['messages']}")
    lines.append(f"suppressed: {s['total']} ({_counts(s['by_reason'])})")
    lines.append("addresses: " + ", ".join(f"{k} {v}" for k, v in data["addresses"].items()))
    w = data["webhook"]
    if w["configured"]:
        lines.append(f"webhook: {w['pending']} change(s) waiting ({w['given_up']} given up)"
                     + (f", last error: {w['last_error']}" if w["last_error"] else ""))
    return "\n".join(lines) + "\n"


def _status(args: argparse.Namespace, config: Config, engine: Engine, out: TextIO) -> int:
    with Session(engine) as session:
        data = status_data(session, config)
    out.write(json.dumps(data, indent=2) + "\n" if args.json else render_status(data))
    return EXIT_OK


# --- history -----------------------------------------------------------------------------

HISTORY_COLUMNS = ("date", "event", "reason", "status", "reply_code", "message_id", "mailbox",
                   "diagnostic")


@dataclass(frozen=True, slots=True)
class HistoryLine:
    date: datetime
    event: str
    reason: str = ""
    status: str = ""
    reply_code: str = ""
    message_id: str = ""
    mailbox: str = ""
    diagnostic: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {c: _iso(self.date) if c == "date" else getattr(self, c) for c in HISTORY_COLUMNS}


def history_lines(session: Session, address: str) -> list[HistoryLine]:
    """Every outcome and manual action for ``address``, oldest first."""
    rows = session.execute(
        select(Message.received_at, Message.kind, Outcome.reason, Outcome.hard, Outcome.action,
               Outcome.status, Outcome.reply_code, Message.message_id, Message.first_mailbox,
               Outcome.diagnostic)
        .join(Message, Outcome.message_pk == Message.id)
        .where(Outcome.recipient == address))
    lines = [HistoryLine(at, str(effect_of(kind, reason, hard, action)), reason, status, reply,
                         mid, mailbox, diag)
             for at, kind, reason, hard, action, status, reply, mid, mailbox, diag in rows]
    lines += [HistoryLine(a.created_at, f"manual {a.action}", a.reason, diagnostic=f"by {a.actor or '?'}")
              for a in session.scalars(select(AddressAction).where(AddressAction.address == address))]
    return sorted(lines, key=lambda line: (line.date, line.event.startswith("manual")))


def _describe(row: Address | None, address: str) -> str:
    if row is None:
        return f"{address}: nothing recorded"
    text = f"{address}: {row.state}"
    if row.state == AddressState.SUPPRESSED:
        text += f" {'by hand' if row.manual else f'({row.reason})'} since {_when(row.suppressed_at)}"
    elif row.state == AddressState.RELEASED:
        text += " by hand"
    text += f"; {row.bounce_count} bounces ({row.soft_count} transient)"
    return text + (f"; {row.note}" if row.note else "")


def _address_arg(name: str, text: str) -> str | None:
    address = normalize_address(text)
    if address is None:
        _fail(name, f"not a valid e-mail address: {text!r}", EXIT_USAGE)
    return address


def _history(args: argparse.Namespace, config: Config, engine: Engine, out: TextIO) -> int:
    address = _address_arg("history", args.address)
    if address is None:
        return EXIT_USAGE
    with Session(engine) as session:
        row = session.scalar(select(Address).where(Address.address == address))
        lines = history_lines(session, address)
        if args.json:
            out.write(json.dumps({
                "address": address, "state": row.state if row else None,
                "reason": row.reason if row else None, "events": [line.as_dict() for line in lines],
            }, indent=2) + "\n")
            return EXIT_OK
        out.write(_describe(row, address) + "\n")
        if lines:
            out.write(format_table(HISTORY_COLUMNS, [
                [_when(ln.date)] + [getattr(ln, c) for c in HISTORY_COLUMNS[1:]] for ln in lines]))
    return EXIT_OK


# --- suppress / release ------------------------------------------------------------------

def manual_action(engine: Engine, config: Config, address: str, action: ManualAction,
                  reason: str = "", actor: str = "", now: datetime | None = None) -> Address:
    """Record a manual suppress or release and recompute the address's decision."""
    now = now or _now()
    with session_scope(engine) as session:
        session.add(AddressAction(address=address, action=str(action), reason=reason, actor=actor,
                                  created_at=now))
        session.flush()
        recompute(session, [address], config.policy, outbox=config.webhook.enabled, now=now)
        row = session.scalar(select(Address).where(Address.address == address))
        assert row is not None
        return row


def _actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def _manual(args: argparse.Namespace, config: Config, engine: Engine, out: TextIO) -> int:
    name = args._name
    address = _address_arg(name, args.address)
    if address is None:
        return EXIT_USAGE
    action = ManualAction(name)
    if action is ManualAction.SUPPRESS and allow_matches(address, config.policy.allow):
        return _fail(name, f"{address} is on the allow-list (policy.allow); remove it there first",
                     EXIT_PARTIAL)
    if action is ManualAction.RELEASE:
        with Session(engine) as session:
            state = session.scalar(select(Address.state).where(Address.address == address))
        if state != AddressState.SUPPRESSED:
            out.write(f"{address} is not suppressed ({state or 'nothing recorded'}); nothing to do\n")
            return EXIT_OK
    row = manual_action(engine, config, address, action, args.reason, _actor())
    out.write(_describe(row, address) + "\n")
    return EXIT_OK


# --- reclassify --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ReclassifySummary:
    messages: int
    changed_kind: int
    addresses: int
    suppressed_before: int
    suppressed_after: int
    newly_suppressed: tuple[str, ...]


RECLASSIFY_BATCH = 200
RECLASSIFY_BYTES = 64 * 1024 * 1024
RECOMPUTE_BATCH = 2000


def reclassify(engine: Engine, config: Config, *, kinds: Sequence[str] = (),
               classify: Classify | None = None,
               progress: Callable[[int, int], None] | None = None) -> ReclassifySummary:
    """Run the matcher again over stored messages, replace their outcomes and recompute the
    affected addresses, one committed batch at a time (an interrupted run can be repeated).
    Manual suppress/release actions are events of their own and stay in force."""
    selected = select(Message.id)
    if kinds:
        selected = selected.where(Message.kind.in_(kinds))
    with Session(engine) as session:
        total = session.scalar(select(func.count()).select_from(selected.subquery())) or 0
        before = _suppressed_count(session)
    done = changed = touched_total = 0
    newly: list[str] = []
    last_id = 0
    while True:
        with session_scope(engine) as session:
            ids = _next_batch(session, selected.where(Message.id > last_id))
            if not ids:
                break
            batch = session.scalars(select(Message).where(Message.id.in_(ids)).order_by(Message.id)).all()
            touched: set[str] = set()
            for message in batch:
                old_kind = message.kind
                touched |= reclassify_message(session, message, config, classify)
                changed += message.kind != old_kind
            newly += recompute(session, sorted(touched), config.policy, outbox=config.webhook.enabled)
            touched_total += len(touched)
            last_id = batch[-1].id
            done += len(batch)
        if progress:
            progress(done, total)
    with Session(engine) as session:
        after = _suppressed_count(session)
    return ReclassifySummary(done, changed, touched_total, before, after, tuple(newly))


def _next_batch(session: Session, selected: Select[Any]) -> list[int]:
    """The next message ids: at most RECLASSIFY_BATCH messages or RECLASSIFY_BYTES of raw
    bytes (but at least one message), so that memory stays bounded."""
    ids: list[int] = []
    size = 0
    rows = session.execute(
        select(Message.id, Message.size).where(Message.id.in_(selected.order_by(Message.id)
                                                              .limit(RECLASSIFY_BATCH).scalar_subquery()))
        .order_by(Message.id))
    for pk, n in rows:
        if ids and size + n > RECLASSIFY_BYTES:
            break
        ids.append(pk)
        size += n
    return ids


def recompute_all(engine: Engine, config: Config,
                  progress: Callable[[int, int], None] | None = None) -> ReclassifySummary:
    """Apply the current policy to every address (after ``[policy]`` changed), in batches."""
    with Session(engine) as session:
        addresses = all_addresses(session)
        before = _suppressed_count(session)
    newly: list[str] = []
    for start in range(0, len(addresses), RECOMPUTE_BATCH):
        with session_scope(engine) as session:
            newly += recompute(session, addresses[start:start + RECOMPUTE_BATCH], config.policy,
                               outbox=config.webhook.enabled)
        if progress:
            progress(min(start + RECOMPUTE_BATCH, len(addresses)), len(addresses))
    with Session(engine) as session:
        after = _suppressed_count(session)
    return ReclassifySummary(0, 0, len(addresses), before, after, tuple(newly))


def _suppressed_count(session: Session) -> int:
    return session.scalar(select(func.count(Address.id)).where(Address.state == AddressState.SUPPRESSED)) or 0


def _reclassify(args: argparse.Namespace, config: Config, engine: Engine, out: TextIO) -> int:
    from .poll_cmd import ProgressBar

    bar = ProgressBar("reclassify", sys.stderr, sys.stderr.isatty() and not args.no_progress)
    try:
        if args.policy_only:
            summary = recompute_all(engine, config, progress=bar)
        else:
            summary = reclassify(engine, config, kinds=args.kind or (), progress=bar)
    finally:
        bar.close()
    if not args.policy_only:
        out.write(f"reclassified {summary.messages} messages ({summary.changed_kind} changed kind); ")
    out.write(f"{summary.addresses} addresses recomputed\n"
              f"suppressed: {summary.suppressed_before} before, {summary.suppressed_after} now "
              f"({len(summary.newly_suppressed)} newly suppressed)\n")
    return EXIT_OK


# --- db ----------------------------------------------------------------------------------

def _db(args: argparse.Namespace, config: Config, engine: Engine, out: TextIO) -> int:
    from .db import current_revision

    if args.action == "copy":
        from .dbcopy import run_copy

        if not args.to:
            return _fail("db", "copy needs --to URL", EXIT_USAGE)
        return run_copy(args, config, out)
    if args.action == "recount":
        with session_scope(engine) as session:
            before = counters.stored(session)
            counters.recount(session)
            after = counters.stored(session)
        changed = sum(before.get(k) != after.get(k) for k in before.keys() | after.keys())
        out.write(f"recounted: {len(after)} counters, {changed} corrected\n")
        return EXIT_OK
    where = redact_url(config.database.url)
    if args.action == "upgrade":
        upgrade(config.database.url)
    out.write(f"{where}: schema revision {current_revision(engine) or 'none (empty database)'}\n")
    return EXIT_OK


HANDLERS: dict[str, Handler] = {
    "export": _export, "status": _status, "history": _history, "suppress": _manual,
    "release": _manual, "reclassify": _reclassify, "db": _db,
}
