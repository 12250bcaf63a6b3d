"""record_message on a real SQLite file: stored once, counted once, never lost."""
from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from classifiers import Kind, Reason
from daemon.config import Config, LimitsConfig
from daemon.db import make_engine, session_scope, upgrade
from daemon.models import Address, Location, MailboxState, Message, Outcome
from daemon.store import (
    Cursor, Disposition, get_cursor, mailbox_key, mark_moved, pending_moves, reclassify_message,
    record_batch, record_message, record_poll, reset_cursor,
)
from storehelp import (  # noqa: F401 - db_url and engine are fixtures
    T0, config, db_url, engine, fixed, hard, outcome, raw_message, report, soft,
)

BOX = mailbox_key("lists", "INBOX")


def record(session, uid, raw, rep=None, *, uidvalidity=7, cfg=None, classify=None, mailbox=BOX):
    classify = classify or fixed(rep or report(Kind.NOT_BOUNCE))
    return record_message(session, mailbox=mailbox, uidvalidity=uidvalidity, uid=uid, raw=raw,
                          config=cfg or config(), classify=classify, now=T0 + timedelta(days=1))


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_mailbox_key():
    assert mailbox_key("lists", "INBOX/bounces") == "lists/INBOX/bounces"


def test_a_bounce_is_stored_with_its_outcomes_and_suppresses_the_dead_address(engine):
    rep = report(Kind.BOUNCE, hard("Dead@Example.ORG"), soft("full@example.org"))
    raw = raw_message(1)
    with session_scope(engine) as s:
        rec = record(s, 5, raw, rep)
    assert (rec.duplicate, rec.kind, rec.disposition) == (False, "bounce", Disposition.PROCESSED)
    assert (rec.outcomes, rec.hard, rec.suppressed) == (2, 1, ("dead@example.org",))
    with session_scope(engine) as s:
        msg = s.get(Message, rec.message_pk)
        assert msg.raw == raw and msg.size == len(raw)
        assert msg.message_id == "<ndr1@mx.example>"
        assert msg.original_message_id == "<orig@list.example>"
        assert msg.received_at == T0                   # the NDR's Date:, not the recording time
        assert msg.subject == "Undelivered Mail"
        assert sorted((o.recipient, o.reason, o.hard) for o in msg.outcomes) == [
            ("dead@example.org", "userunknown", True), ("full@example.org", "mailboxfull", False)]
        dead = s.scalar(select(Address).where(Address.address == "dead@example.org"))
        assert (dead.state, dead.reason, dead.status, dead.reply_code) == ("suppressed", "userunknown", "5.1.1", "550")
        assert dead.source_message_pk == msg.id and dead.source_message_id == "<ndr1@mx.example>"
        full = s.scalar(select(Address).where(Address.address == "full@example.org"))
        assert (full.state, full.bounce_count, full.soft_count) == ("active", 1, 1)
        assert get_cursor(s, BOX) == Cursor(7, 5)


def test_same_location_twice_changes_nothing_and_returns_the_original(engine):
    rep = report(Kind.BOUNCE, hard("dead@example.org"))
    with session_scope(engine) as s:
        first = record(s, 5, raw_message(1), rep)
    with session_scope(engine) as s:
        # even if the matcher now says something else, the stored verdict stands
        again = record(s, 5, raw_message(1), report(Kind.NOT_BOUNCE))
    assert again.duplicate and again.message_pk == first.message_pk
    assert (again.kind, again.disposition, again.outcomes, again.suppressed) == ("bounce", Disposition.PROCESSED, 1, ())
    with session_scope(engine) as s:
        assert (count(s, Message), count(s, Outcome), count(s, Location)) == (1, 1, 1)
        assert s.scalar(select(Address.bounce_count)) == 1


def test_same_content_elsewhere_is_not_counted_but_its_new_location_is_moved(engine):
    rep = report(Kind.BOUNCE, hard("dead@example.org"))
    with session_scope(engine) as s:
        first = record(s, 5, raw_message(1), rep)
        mark_moved(s, BOX, 7, [5])
    with session_scope(engine) as s:     # UIDVALIDITY changed; the copy is still in INBOX
        reset_cursor(s, BOX, 9)
        again = record(s, 2, raw_message(1), rep, uidvalidity=9)
        other_box = record(s, 1, raw_message(1), rep, mailbox=mailbox_key("lists", "Junk"))
    assert again.duplicate and other_box.duplicate and again.message_pk == first.message_pk
    with session_scope(engine) as s:
        assert (count(s, Message), count(s, Outcome)) == (1, 1)
        assert s.scalar(select(Address.bounce_count)) == 1
        assert pending_moves(s, BOX, 7) == []
        assert pending_moves(s, BOX, 9) == [(2, Disposition.PROCESSED)]
        assert get_cursor(s, BOX) == Cursor(9, 2)


def test_crash_between_commit_and_move_leaves_a_pending_move(engine):
    """The transaction committed, the process died before MOVE: the restart finds it."""
    with session_scope(engine) as s:
        record(s, 5, raw_message(1), report(Kind.BOUNCE, hard("dead@example.org")))
        record(s, 6, raw_message(2), report(Kind.UNPARSEABLE))
        record(s, 7, raw_message(3), report(Kind.NOT_BOUNCE))
    # ... crash; a new process starts:
    with session_scope(engine) as s:
        assert pending_moves(s, BOX, 7) == [
            (5, Disposition.PROCESSED), (6, Disposition.UNPARSED), (7, Disposition.OTHER)]
        mark_moved(s, BOX, 7, [5, 6, 7])
    with session_scope(engine) as s:
        assert pending_moves(s, BOX, 7) == []
        assert get_cursor(s, BOX) == Cursor(7, 7)
        # the poller fetches from last_uid + 1: nothing is recorded twice even if it refetches
        assert record(s, 5, raw_message(1)).duplicate
        assert count(s, Message) == 3


def test_rollback_loses_nothing_committed_and_records_nothing_half(engine):
    with pytest.raises(RuntimeError):
        with session_scope(engine) as s:
            record(s, 5, raw_message(1), report(Kind.BOUNCE, hard("dead@example.org")))
            raise RuntimeError("killed before commit")
    with session_scope(engine) as s:
        assert (count(s, Message), count(s, Outcome), count(s, Address)) == (0, 0, 0)
        assert get_cursor(s, BOX) is None


def test_oversized_is_kept_unparsed_and_never_classified(engine):
    calls = []
    cfg = Config(limits=LimitsConfig(max_message_bytes=1024))
    big = raw_message(1) + b"x" * 2000
    with session_scope(engine) as s:
        rec = record(s, 5, big, cfg=cfg, classify=lambda raw: calls.append(raw))
        msg = s.get(Message, rec.message_pk)
        assert (rec.kind, rec.disposition, rec.outcomes) == ("oversized", Disposition.UNPARSED, 0)
        assert msg.raw == big and "max_message_bytes" in msg.error
        assert msg.message_id == "<ndr1@mx.example>"   # its headers are still read
    assert calls == []


def test_a_failing_matcher_loses_nothing(engine):
    def broken(raw: bytes):
        raise ValueError("detector fell over")

    with session_scope(engine) as s:
        rec = record(s, 5, raw_message(1), classify=broken)
        msg = s.get(Message, rec.message_pk)
        assert (rec.kind, rec.disposition) == ("error", Disposition.UNPARSED)
        assert msg.error == "ValueError: detector fell over" and msg.raw == raw_message(1)
        assert get_cursor(s, BOX) == Cursor(7, 5)


@pytest.mark.parametrize("kind, disposition", [
    (Kind.BOUNCE, Disposition.PROCESSED), (Kind.DELAY, Disposition.PROCESSED),
    (Kind.DELIVERED, Disposition.PROCESSED), (Kind.COMPLAINT, Disposition.PROCESSED),
    (Kind.AUTOREPLY, Disposition.PROCESSED), (Kind.NOT_BOUNCE, Disposition.OTHER),
    (Kind.UNPARSEABLE, Disposition.UNPARSED),
])
def test_disposition_by_kind(engine, kind, disposition):
    with session_scope(engine) as s:
        assert record(s, 1, raw_message(1), report(kind)).disposition is disposition


def test_duplicate_recipients_and_malformed_addresses(engine):
    rep = report(Kind.BOUNCE, outcome("dead@example.org", Reason.USERUNKNOWN, action="delayed"),
                 hard("DEAD@example.org"), hard("dead@example.org"), hard("not an address"),
                 hard("nobody@"))
    with session_scope(engine) as s:
        rec = record(s, 1, raw_message(1), rep)
        assert rec.outcomes == 3 and rec.suppressed == ("dead@example.org",)
        rows = s.execute(select(Outcome.recipient, Outcome.valid, Outcome.hard).order_by(Outcome.id)).all()
        assert rows == [("dead@example.org", True, True), ("not an address", False, True),
                        ("nobody@", False, True)]
        assert s.scalars(select(Address.address)).all() == ["dead@example.org"]


def test_outcome_unique_key_is_enforced_by_the_database(engine):
    with session_scope(engine) as s:
        rec = record(s, 1, raw_message(1), report(Kind.BOUNCE, hard("dead@example.org")))
    with pytest.raises(IntegrityError):
        with session_scope(engine) as s:
            s.add(Outcome(message_pk=rec.message_pk, recipient="dead@example.org", valid=True,
                          reason="userunknown", hard=True, created_at=T0))


def test_a_date_in_the_future_or_missing_falls_back_to_now(engine):
    future = raw_message(1, at=T0 + timedelta(days=30))
    nodate = b"Subject: x\r\n\r\nno date\r\n"
    with session_scope(engine) as s:
        a = s.get(Message, record(s, 1, future).message_pk)
        b = s.get(Message, record(s, 2, nodate).message_pk)
        assert a.received_at == b.received_at == T0 + timedelta(days=1)


def test_cursor_moves_forward_only_and_resets(engine):
    with session_scope(engine) as s:
        assert get_cursor(s, BOX) is None
        record(s, 9, raw_message(1))
        record(s, 4, raw_message(2))
        assert get_cursor(s, BOX) == Cursor(7, 9)
        reset_cursor(s, BOX, 8)
        assert get_cursor(s, BOX) == Cursor(8, 0)


def test_mark_moved_handles_many_uids(engine):
    with session_scope(engine) as s:
        for uid in range(1, 521):
            record(s, uid, raw_message(uid))
        mark_moved(s, BOX, 7, list(range(1, 521)))
        assert pending_moves(s, BOX, 7) == []


def test_record_poll_keeps_health(engine):
    with session_scope(engine) as s:
        record_poll(s, BOX, ok=False, error="connection refused", at=T0)
        record_poll(s, BOX, ok=False, error="timed out", at=T0 + timedelta(minutes=5))
        state = s.get(MailboxState, BOX)
        assert (state.consecutive_failures, state.last_error, state.last_success_at) == (2, "timed out", None)
        record_poll(s, BOX, ok=True, backlog=12, at=T0 + timedelta(minutes=10))
        assert (state.consecutive_failures, state.backlog) == (0, 12)
        assert state.last_success_at == state.last_poll_at == T0 + timedelta(minutes=10)
        assert state.last_error == "timed out"   # the last error stays visible, with its time
        assert get_cursor(s, BOX) is None       # polled, but nothing recorded yet


def test_reclassify_message_replaces_outcomes_and_recomputes(engine):
    with session_scope(engine) as s:
        rec = record(s, 1, raw_message(1), report(Kind.NOT_BOUNCE))
        msg = s.get(Message, rec.message_pk)
        touched = reclassify_message(s, msg, config(), fixed(report(Kind.BOUNCE, hard("dead@example.org"))))
        assert touched == {"dead@example.org"}
        assert (msg.kind, msg.disposition) == ("bounce", "processed")
        touched = reclassify_message(s, msg, config(), fixed(report(Kind.BOUNCE, soft("dead@example.org"),
                                                                    soft("x@example.org"))))
        assert touched == {"dead@example.org", "x@example.org"}
        assert sorted(o.recipient for o in msg.outcomes) == ["dead@example.org", "x@example.org"]
        assert count(s, Outcome) == 2


def test_naive_datetimes_are_refused(engine):
    with pytest.raises(Exception, match="naive datetime"):
        with session_scope(engine) as s:
            record_poll(s, BOX, ok=True, at=T0.replace(tzinfo=None))
            s.flush()


def test_outcome_fields_are_kept(engine):
    o = outcome("x@example.org", Reason.HOSTUNKNOWN, True, action="failed", status="5.1.2",
                reply_code="550", diagnostic="Host not found", remote_mta="mx.example.org",
                command="RCPT")
    with session_scope(engine) as s:
        record(s, 1, raw_message(1), report(Kind.BOUNCE, o))
        row = s.scalar(select(Outcome))
        assert (row.action, row.status, row.reply_code, row.diagnostic, row.remote_mta, row.command) == (
            "failed", "5.1.2", "550", "Host not found", "mx.example.org", "RCPT")


def test_text_is_made_storable_on_every_database(engine):
    """8-bit and RFC 2047 headers decoded; NUL and lone surrogates (PostgreSQL refuses them) gone."""
    raw = (b"Subject: caf\xc3\xa9 =?iso-8859-1?q?d=E9j=E0?=\r\nMessage-ID: <a\x00b@mx>\r\n"
           b"Date: Mon, 05 Jan 2026 09:00:00 +0000\r\n\r\nbody\r\n")
    rep = report(Kind.BOUNCE, outcome("x@example.org", Reason.MAILBOXFULL, diagnostic="full\x00\udcff!",
                                      status="4.2.2"))
    with session_scope(engine) as s:
        msg = s.get(Message, record(s, 1, raw, rep).message_pk)
        assert (msg.subject, msg.message_id) == ("café déjà", "<ab@mx>")
        assert msg.outcomes[0].diagnostic == "full\ufffd!"


# --- a property: any order of (re)deliveries counts every NDR exactly once -------------------

POOL = ("a@example.org", "b@example.org", "c@example.net")
CONTENTS = [report(Kind.BOUNCE, *(hard(r) if (i + j) % 3 == 0 else soft(r)
                                  for j, r in enumerate(POOL) if (i >> j) & 1 or j == i % 3))
            for i in range(6)]

locations = st.dictionaries(st.tuples(st.sampled_from([1, 2]), st.integers(1, 12)),
                            st.integers(0, len(CONTENTS) - 1), min_size=1, max_size=12)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), where=locations)
def test_any_redelivery_order_counts_each_message_once(new_database_url, data, where):
    url = new_database_url()
    upgrade(url)
    eng = make_engine(url)
    order = data.draw(st.lists(st.sampled_from(sorted(where)), min_size=1, max_size=30))
    classify = lambda raw: CONTENTS[int(raw.split(b"body ")[1].split(b"\r")[0])]  # noqa: E731
    try:
        for uidvalidity, uid in order + sorted(where):       # everything at least once, plus repeats
            with session_scope(eng) as s:
                record(s, uid, raw_message(where[uidvalidity, uid]), uidvalidity=uidvalidity,
                       classify=classify)
        with session_scope(eng) as s:
            contents = set(where.values())
            assert count(s, Message) == len(contents)
            assert count(s, Location) == len(where)
            assert count(s, Outcome) == sum(len(CONTENTS[c].outcomes) for c in contents)
            for address in POOL:
                mentions = [o for c in contents for o in CONTENTS[c].outcomes if o.recipient == address]
                row = s.scalar(select(Address).where(Address.address == address))
                assert (row.bounce_count if row else 0) == len(mentions)
                assert (row is not None and row.state == "suppressed") == any(o.hard for o in mentions)
    finally:
        eng.dispose()


def test_reclassify_requeues_mail_left_in_place_when_it_turns_out_to_be_a_bounce(engine):
    from daemon.config import AccountConfig

    leave = AccountConfig(name="lists", host="h", username="u", password_env="X")
    moves = AccountConfig(name="other", host="h", username="u", password_env="X", other_folder="misc")
    cfg = Config(accounts=(leave, moves))
    with session_scope(engine) as s:
        a = record(s, 1, raw_message(1), cfg=cfg)                                  # left in INBOX
        b = record(s, 1, raw_message(2), cfg=cfg, mailbox=mailbox_key("other", "INBOX"))  # moved away
        mark_moved(s, BOX, 7, [1])
        mark_moved(s, mailbox_key("other", "INBOX"), 7, [1])
    bounce = fixed(report(Kind.BOUNCE, hard("dead@example.org")))
    with session_scope(engine) as s:
        for pk in (a.message_pk, b.message_pk):
            reclassify_message(s, s.get(Message, pk), cfg, bounce)
    with session_scope(engine) as s:
        assert pending_moves(s, BOX, 7) == [(1, Disposition.PROCESSED)]
        assert pending_moves(s, mailbox_key("other", "INBOX"), 7) == []


def test_the_size_limit_is_inclusive(engine):
    cfg = Config(limits=LimitsConfig(max_message_bytes=1024))
    at_limit = raw_message(1).ljust(1024, b"x")
    with session_scope(engine) as s:
        assert record(s, 1, at_limit, report(Kind.BOUNCE), cfg=cfg).kind == "bounce"
        assert record(s, 2, at_limit + b"x", report(Kind.BOUNCE), cfg=cfg).kind == "oversized"


def test_a_batch_counts_each_content_once_and_says_which_message_suppressed_what(engine):
    a, b, c = raw_message(1), raw_message(2, subject="Delayed"), raw_message(3)
    verdicts = {a: report(Kind.BOUNCE, hard("x@example.org"), soft("y@example.org")),
                b: report(Kind.BOUNCE, soft("y@example.org")),
                c: report(Kind.BOUNCE, hard("z@example.org"))}
    classify = verdicts.__getitem__
    now = T0 + timedelta(days=1)
    with session_scope(engine) as s:                   # c is known already, elsewhere
        earlier = record(s, 1, c, verdicts[c], mailbox=mailbox_key("other", "INBOX"))
    batch = [(10, a), (11, b), (12, a), (13, c)]
    with session_scope(engine) as s:
        recs = record_batch(s, mailbox=BOX, uidvalidity=7, messages=batch, config=config(),
                            classify=classify, now=now)
    assert [r.duplicate for r in recs] == [False, False, True, True]
    assert recs[2].message_pk == recs[0].message_pk and recs[3].message_pk == earlier.message_pk
    assert [r.suppressed for r in recs] == [("x@example.org",), (), (), ()]
    assert [(r.kind, r.outcomes, r.hard) for r in recs] == [
        ("bounce", 2, 1), ("bounce", 1, 0), ("bounce", 2, 1), ("bounce", 1, 1)]
    with session_scope(engine) as s:
        assert (count(s, Message), count(s, Location), count(s, Outcome)) == (3, 5, 4)
        assert get_cursor(s, BOX) == Cursor(7, 13)
        y = s.scalar(select(Address).where(Address.address == "y@example.org"))
        assert (y.state, y.bounce_count, y.soft_count) == ("active", 2, 2)
    with session_scope(engine) as s:                   # the same batch again: nothing new
        again = record_batch(s, mailbox=BOX, uidvalidity=7, messages=batch, config=config(),
                             classify=classify, now=now)
    assert [(r.duplicate, r.message_pk, r.outcomes, r.suppressed) for r in again] == [
        (True, r.message_pk, r.outcomes, ()) for r in recs]
    with session_scope(engine) as s:
        assert (count(s, Message), count(s, Location), count(s, Outcome)) == (3, 5, 4)
