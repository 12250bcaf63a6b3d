"""The counters ``status`` reads stay equal to counting the history, whatever writes it."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from classifiers import Kind, Reason
from daemon import counters
from daemon.admin import manual_action, reclassify, recompute_all, status_data
from daemon.config import AccountConfig, Config, PolicyConfig
from daemon.db import downgrade, session_scope, upgrade
from daemon.models import Counter, ManualAction
from daemon.store import mailbox_key, record_batch
from storehelp import T0, db_url, engine, hard, raw_message, report, soft  # noqa: F401

INBOX, OTHER = mailbox_key("lists", "INBOX"), mailbox_key("news", "INBOX")
CONFIG = Config(accounts=(AccountConfig(name="lists", host="imap.example", username="u",
                                        password_env="UNUSED"),),
                policy=PolicyConfig(escalation_count=2, escalation_days=1))


def raws(n: int) -> list[bytes]:
    return [raw_message(i, at=T0 + timedelta(days=i)) for i in range(n)]


def verdicts(messages: list[bytes]) -> dict[bytes, object]:
    """A mix: hard, soft, complaint, delivered, not a bounce, and a message with two outcomes."""
    mix = [report(Kind.BOUNCE, hard("dead@example.org")),
           report(Kind.BOUNCE, soft("full@example.org"), hard("gone@example.net")),
           report(Kind.BOUNCE, soft("full@example.org")),
           report(Kind.COMPLAINT, soft("angry@example.org", Reason.FEEDBACK)),
           report(Kind.NOT_BOUNCE),
           report(Kind.BOUNCE, soft("slow@example.org", Reason.EXPIRED))]
    return {raw: mix[i % len(mix)] for i, raw in enumerate(messages)}


def record(engine, mailbox: str, uidvalidity: int, batch: list[tuple[int, bytes]], classify) -> None:
    with session_scope(engine) as s:
        record_batch(s, mailbox=mailbox, uidvalidity=uidvalidity, messages=batch, config=CONFIG,
                     classify=classify, now=T0 + timedelta(days=30))


def assert_in_step(engine) -> dict[counters.Key, int]:
    with session_scope(engine) as s:
        stored, truth = counters.stored(s), counters.truth(s)
    assert stored == truth
    return stored


def test_counters_follow_batches_rescans_duplicates_reclassify_manual_and_policy(engine):
    messages = raws(12)
    classify = verdicts(messages).__getitem__
    record(engine, INBOX, 1, list(enumerate(messages[:8], 1)), classify)
    first = assert_in_step(engine)
    assert first[("", "messages")] == 8
    assert first[(INBOX, "kind:bounce")] == 6 and first[(INBOX, "severity:hard")] == 4
    record(engine, INBOX, 2, list(enumerate(messages, 1)), classify)     # a rescan: 4 new
    assert assert_in_step(engine)[(INBOX, "kind:bounce")] == 8
    record(engine, OTHER, 1, [(7, messages[0]), (8, messages[0]), (9, messages[1])], classify)
    assert_in_step(engine)                                 # the same content elsewhere
    assert_in_step(engine)[(OTHER, "kind:bounce")] == 2    # counted once per mailbox

    # the matcher changed its mind: everything is now a delay notice
    delayed = report(Kind.DELAY, soft("dead@example.org"))
    summary = reclassify(engine, CONFIG, classify=lambda _raw: delayed)
    assert summary.messages == 12
    after = assert_in_step(engine)
    assert after[(INBOX, "kind:delay")] == 12 and (INBOX, "kind:bounce") not in after

    manual_action(engine, CONFIG, "someone@example.org", ManualAction.SUPPRESS, now=T0)
    manual_action(engine, CONFIG, "dead@example.org", ManualAction.RELEASE, now=T0)
    assert_in_step(engine)
    recompute_all(engine, Config(accounts=CONFIG.accounts, policy=PolicyConfig(suppress_complaints=False)))
    assert_in_step(engine)


def test_a_rolled_back_transaction_counts_nothing(engine):
    messages = raws(3)
    classify = verdicts(messages).__getitem__
    record(engine, INBOX, 1, [(1, messages[0])], classify)
    before = assert_in_step(engine)
    try:
        with session_scope(engine) as s:
            record_batch(s, mailbox=INBOX, uidvalidity=1, messages=[(2, messages[1])],
                         config=CONFIG, classify=classify)
            raise RuntimeError("killed before the commit")
    except RuntimeError:
        pass
    assert assert_in_step(engine) == before


def test_status_reads_the_counters(engine):
    messages = raws(6)
    record(engine, INBOX, 1, list(enumerate(messages, 1)), verdicts(messages).__getitem__)
    with session_scope(engine) as s:
        data = status_data(s, CONFIG)
        s.execute(Counter.__table__.update().where(Counter.name == "kind:bounce").values(value=99))
        tampered = status_data(s, CONFIG)
    inbox = data["mailboxes"][0]
    assert inbox["messages_by_kind"] == {"bounce": 4, "complaint": 1, "not-bounce": 1}
    assert inbox["outcomes_by_severity"] == {"hard": 2, "soft": 4}
    assert data["messages"] == 6 and data["suppressions"]["total"] == 3
    assert data["suppressions"]["by_reason"] == {"userunknown": 2, "feedback": 1}
    assert tampered["mailboxes"][0]["messages_by_kind"]["bounce"] == 99   # no recount behind it


def test_the_migration_counts_an_existing_history(db_url, engine):
    messages = raws(9)
    record(engine, INBOX, 1, list(enumerate(messages, 1)), verdicts(messages).__getitem__)
    record(engine, OTHER, 1, [(1, messages[0])], verdicts(messages).__getitem__)
    kept = assert_in_step(engine)
    engine.dispose()
    downgrade(db_url, "0003")          # a database from before the counters
    upgrade(db_url)
    assert assert_in_step(engine) == kept


def test_recount_repairs_counters(engine):
    messages = raws(4)
    record(engine, INBOX, 1, list(enumerate(messages, 1)), verdicts(messages).__getitem__)
    kept = assert_in_step(engine)
    with session_scope(engine) as s:
        s.execute(Counter.__table__.delete().where(Counter.name == "messages"))
        s.execute(Counter.__table__.update().values(value=Counter.value + 5))
    with session_scope(engine) as s:
        assert counters.stored(s) != kept
        counters.recount(s)
    assert assert_in_step(engine) == kept
    with session_scope(engine) as s:
        assert s.scalar(select(Counter.value).where(Counter.name == "messages")) == 4
