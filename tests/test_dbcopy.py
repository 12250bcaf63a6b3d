"""``bouncewatch db copy --to URL``: a SQLite file copied into the test's database (another
SQLite file, or PostgreSQL with $BOUNCEWATCH_TEST_DB=postgres), row for row."""
from __future__ import annotations

from sqlalchemy import select

from classifiers import Kind
from daemon.admin import manual_action
from daemon.cli import EXIT_USAGE, main
from daemon.config import load_config
from daemon.db import make_engine, session_scope, upgrade
from daemon.models import Address, Base, ManualAction
from daemon.store import mailbox_key, record_message
from storehelp import T0, days, fixed, hard, raw_message, report, soft

BOX = mailbox_key("lists", "INBOX")


def everything(url: str) -> dict[str, list[tuple]]:
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            return {t.name: [tuple(r) for r in c.execute(select(t).order_by(*t.primary_key.columns))]
                    for t in Base.metadata.sorted_tables}
    finally:
        engine.dispose()


def test_db_copy_moves_every_row_and_the_target_keeps_working(tmp_path, capsys, database_url):
    source = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    conf = tmp_path / "bw.toml"
    conf.write_text(f'[database]\nurl = "{source}"\n')
    config = load_config(conf)
    upgrade(source)
    engine = make_engine(source)
    with session_scope(engine) as s:
        for uid, rep in enumerate([report(Kind.BOUNCE, hard("gone@example.org"), soft("full@example.org")),
                                   report(Kind.BOUNCE, soft("full@example.org"))], start=1):
            record_message(s, mailbox=BOX, uidvalidity=1, uid=uid, raw=raw_message(uid),
                           config=config, classify=fixed(rep), now=T0 + days(uid))
    manual_action(engine, config, "asked@example.org", ManualAction.SUPPRESS, "asked", "admin")
    engine.dispose()

    assert main(["--config", str(conf), "db", "copy", "--to", database_url]) == 0
    out = capsys.readouterr().out
    assert "addresses        3 rows" in out and "messages         2 rows" in out
    before, after = everything(source), everything(database_url)
    assert after == before and len(after["outcomes"]) == 3

    # the copy is a working database: new rows get fresh ids (PostgreSQL's sequences moved on)
    target = make_engine(database_url)
    try:
        with session_scope(target) as s:
            record_message(s, mailbox=BOX, uidvalidity=1, uid=3, raw=raw_message(3), config=config,
                           classify=fixed(report(Kind.BOUNCE, hard("full@example.org"))),
                           now=T0 + days(3))
        with session_scope(target) as s:
            row = s.scalar(select(Address).where(Address.address == "full@example.org"))
            assert (row.state, row.bounce_count) == ("suppressed", 3)
    finally:
        target.dispose()

    assert main(["--config", str(conf), "db", "copy", "--to", database_url]) == EXIT_USAGE
    assert "the target is not empty" in capsys.readouterr().out


def test_db_copy_needs_a_target(tmp_path, capsys):
    conf = tmp_path / "bw.toml"
    conf.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "a.sqlite3"}"\n')
    assert main(["--config", str(conf), "db", "copy"]) == EXIT_USAGE
    assert "copy needs --to URL" in capsys.readouterr().err
