"""The suppression policy: pure rules over events, and the same rules through the database."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from classifiers import Kind, Reason
from daemon.addresses import allow_matches, normalize_address
from daemon.config import PolicyConfig
from daemon.db import session_scope
from daemon.models import Address, AddressAction, AddressState
from daemon.policy import (
    REASON_ESCALATED, REASON_MANUAL, SENDER_SIDE, Effect, Event, all_addresses, decide,
    effect_of, recompute,
)
from daemon.store import mailbox_key, record_message
from storehelp import T0, config, days, db_url, engine, fixed, hard, outcome, raw_message, report, soft  # noqa: F401

ESCALATE = PolicyConfig(escalation_enabled=True, escalation_count=3, escalation_days=10)


def ev(day: float, effect: Effect, reason: str = "", **kw) -> Event:
    return Event(T0 + days(day), effect, reason, **kw)


# --- addresses -----------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("User@Example.ORG", "user@example.org"),
    ("  user@example.org. ", "user@example.org"),
    ("first.last+tag@sub.example.co.jp", "first.last+tag@sub.example.co.jp"),
    ("user@bücher.example", "user@xn--bcher-kva.example"),
    ("no-at-sign", None), ("two@@example.org", None), ("a@b@example.org", None),
    ("sp ace@example.org", None), ("tab\t@example.org", None), ("user@localhost", None),
    ("@example.org", None), ("user@", None), ("user@-bad.example", None), (".user@example.org", None),
    ("us..er@example.org", None), ("<user@example.org>", None), ("user@exa mple.org", None),
    ("x" * 65 + "@example.org", None), ("", None), ("=1+2@example.org", "=1+2@example.org"),
])
def test_normalize_address(text, expected):
    assert normalize_address(text) == expected


def test_allow_matches_exact_and_domain():
    allow = ("boss@example.org", "*@partner.example")
    assert allow_matches("boss@example.org", allow)
    assert allow_matches("anyone@partner.example", allow)
    assert not allow_matches("other@example.org", allow)
    assert not allow_matches("x@sub.partner.example", allow)


# --- effect of an outcome --------------------------------------------------------------------

@pytest.mark.parametrize("kind, reason, hard_, action, effect", [
    (Kind.BOUNCE, Reason.USERUNKNOWN, True, "failed", Effect.HARD),
    (Kind.BOUNCE, Reason.MAILBOXFULL, False, "failed", Effect.SOFT),
    (Kind.BOUNCE, Reason.BLOCKED, False, "", Effect.SOFT),
    (Kind.BOUNCE, Reason.SPAMDETECTED, True, "failed", Effect.SOFT),     # never hard, even if said
    (Kind.BOUNCE, Reason.USERUNKNOWN, False, "delayed", Effect.IGNORE),   # mixed DSN
    (Kind.BOUNCE, Reason.DELIVERED, False, "delivered", Effect.SUCCESS),
    (Kind.DELIVERED, Reason.DELIVERED, False, "", Effect.SUCCESS),
    (Kind.DELAY, Reason.EXPIRED, False, "", Effect.IGNORE),
    (Kind.COMPLAINT, Reason.FEEDBACK, False, "", Effect.COMPLAINT),
    (Kind.AUTOREPLY, Reason.VACATION, False, "", Effect.IGNORE),
    (Kind.NOT_BOUNCE, Reason.UNDEFINED, False, "", Effect.IGNORE),
    ("error", Reason.UNDEFINED, False, "", Effect.IGNORE),
])
def test_effect_of(kind, reason, hard_, action, effect):
    assert effect_of(str(kind), str(reason), hard_, action) is effect


# --- decide: pure rules ----------------------------------------------------------------------

def test_nothing_happened_is_active():
    assert decide([], PolicyConfig()).state is AddressState.ACTIVE


def test_hard_suppresses_at_once_and_records_why():
    d = decide([ev(0, Effect.SOFT, "mailboxfull"),
                ev(1, Effect.HARD, "userunknown", status="5.1.1", reply_code="550", message_pk=7,
                   message_id="<n@x>"),
                ev(2, Effect.HARD, "hostunknown")], PolicyConfig())
    assert (d.state, d.reason, d.status, d.reply_code) == (AddressState.SUPPRESSED, "userunknown", "5.1.1", "550")
    assert (d.source_message_pk, d.source_message_id, d.suppressed_at) == (7, "<n@x>", T0 + days(1))
    assert (d.bounce_count, d.soft_count, d.first_seen, d.last_seen) == (3, 1, T0, T0 + days(2))


def test_events_are_replayed_in_time_order_whatever_order_they_come_in():
    events = [ev(2, Effect.HARD, "hostunknown"), ev(1, Effect.HARD, "userunknown")]
    assert decide(events, PolicyConfig()).reason == "userunknown"


@pytest.mark.parametrize("suppress_complaints, state", [(True, AddressState.SUPPRESSED),
                                                        (False, AddressState.ACTIVE)])
def test_complaints_suppress_when_configured(suppress_complaints, state):
    d = decide([ev(0, Effect.COMPLAINT, "feedback")], PolicyConfig(suppress_complaints=suppress_complaints))
    assert d.state is state
    assert d.reason == ("feedback" if suppress_complaints else "")


def test_transient_failures_are_counted_never_suppressed_by_default():
    d = decide([ev(i * 5, Effect.SOFT, "mailboxfull") for i in range(20)], PolicyConfig())
    assert (d.state, d.bounce_count, d.soft_count) == (AddressState.ACTIVE, 20, 20)


def test_escalation_needs_count_and_spread():
    many_quick = [ev(i * 0.5, Effect.SOFT, "mailboxfull") for i in range(10)]   # 4.5 days
    assert decide(many_quick, ESCALATE).state is AddressState.ACTIVE
    few_slow = [ev(0, Effect.SOFT, "mailboxfull"), ev(12, Effect.SOFT, "mailboxfull")]
    assert decide(few_slow, ESCALATE).state is AddressState.ACTIVE
    enough = [ev(0, Effect.SOFT, "mailboxfull"), ev(5, Effect.SOFT, "expired"),
              ev(10, Effect.SOFT, "mailboxfull", status="4.2.2")]
    d = decide(enough, ESCALATE)
    assert (d.state, d.reason, d.status, d.suppressed_at) == (AddressState.SUPPRESSED, REASON_ESCALATED, "4.2.2", T0 + days(10))
    assert "3 transient failures over 10 days" in d.note


def test_escalation_is_off_by_default_and_reset_by_a_success():
    enough = [ev(0, Effect.SOFT, "mailboxfull"), ev(5, Effect.SOFT, "mailboxfull"),
              ev(10, Effect.SOFT, "mailboxfull")]
    assert decide(enough, PolicyConfig()).state is AddressState.ACTIVE
    broken = enough[:2] + [ev(6, Effect.SUCCESS, "delivered")] + enough[2:]
    assert decide(broken, ESCALATE).state is AddressState.ACTIVE


def test_sender_side_failures_never_escalate():
    assert {Reason.BLOCKED, Reason.SPAMDETECTED, Reason.AUTHFAILURE, Reason.POLICYVIOLATION} <= SENDER_SIDE
    blocked = [ev(i * 6, Effect.SOFT, "blocked") for i in range(10)]
    d = decide(blocked, ESCALATE)
    assert (d.state, d.soft_count) == (AddressState.ACTIVE, 10)


def test_ignored_events_are_seen_but_not_counted():
    d = decide([ev(0, Effect.IGNORE, "vacation"), ev(1, Effect.IGNORE, "expired")], PolicyConfig())
    assert (d.state, d.bounce_count, d.last_seen) == (AddressState.ACTIVE, 0, T0 + days(1))


def test_manual_suppress_wins_and_is_not_replaced_by_later_bounces():
    d = decide([ev(0, Effect.SUPPRESS, note="asked to leave"), ev(1, Effect.HARD, "userunknown")],
               PolicyConfig())
    assert (d.state, d.reason, d.manual, d.note) == (AddressState.SUPPRESSED, REASON_MANUAL, True, "asked to leave")
    assert d.bounce_count == 1


def test_release_is_not_undone_by_old_evidence_or_soft_bounces():
    events = [ev(0, Effect.HARD, "userunknown"), ev(1, Effect.RELEASE, note="mailbox fixed"),
              ev(2, Effect.SOFT, "mailboxfull"), ev(8, Effect.SOFT, "mailboxfull"),
              ev(20, Effect.SOFT, "mailboxfull")]
    d = decide(events, ESCALATE)
    assert (d.state, d.manual, d.note, d.reason) == (AddressState.RELEASED, True, "mailbox fixed", "")
    assert d.bounce_count == 4


def test_release_is_undone_by_a_new_hard_bounce():
    d = decide([ev(0, Effect.HARD, "userunknown"), ev(1, Effect.RELEASE),
                ev(3, Effect.HARD, "hostunknown", message_pk=9)], PolicyConfig())
    assert (d.state, d.reason, d.manual, d.source_message_pk) == (AddressState.SUPPRESSED, "hostunknown", False, 9)


def test_a_bounce_dated_before_the_release_stays_old_evidence():
    """Recorded after the release, but dated before it: it does not undo the release."""
    d = decide([ev(1, Effect.RELEASE), ev(0.5, Effect.HARD, "userunknown")], PolicyConfig())
    assert d.state is AddressState.RELEASED


def test_allow_listed_is_never_suppressed_but_says_so():
    d = decide([ev(0, Effect.HARD, "userunknown"), ev(1, Effect.COMPLAINT, "feedback")],
               PolicyConfig(), allowed=True)
    assert (d.state, d.bounce_count) == (AddressState.ACTIVE, 1)
    assert d.note.startswith("allow-listed")


# --- through the database ------------------------------------------------------------------

def _record(session, uid, rep, *, cfg=None, at=T0):
    return record_message(session, mailbox=mailbox_key("a", "INBOX"), uidvalidity=1, uid=uid,
                          raw=raw_message(uid, at=at), config=cfg or config(), classify=fixed(rep),
                          now=at + days(1))


def test_hard_soft_complaint_autoreply_through_record_message(engine):
    with session_scope(engine) as s:
        _record(s, 1, report(Kind.BOUNCE, hard("dead@example.org"), soft("full@example.org"),
                             soft("blocked@example.org", Reason.BLOCKED)))
        _record(s, 2, report(Kind.COMPLAINT, outcome("angry@example.org", Reason.FEEDBACK)))
        _record(s, 3, report(Kind.AUTOREPLY, outcome("away@example.org", Reason.VACATION)))
        states = dict(s.execute(select(Address.address, Address.state)).all())
    assert states == {"dead@example.org": "suppressed", "full@example.org": "active",
                      "blocked@example.org": "active", "angry@example.org": "suppressed",
                      "away@example.org": "active"}


def test_escalation_through_the_database_uses_the_ndr_dates(engine):
    cfg = config(escalation_enabled=True, escalation_count=3, escalation_days=10)
    with session_scope(engine) as s:
        results = [_record(s, i + 1, report(Kind.BOUNCE, soft("full@example.org")), cfg=cfg, at=T0 + days(d))
                   for i, d in enumerate((0, 4, 11))]
    assert [r.suppressed for r in results] == [(), (), ("full@example.org",)]
    with session_scope(engine) as s:
        row = s.scalar(select(Address))
        assert (row.reason, row.soft_count, row.suppressed_at) == (REASON_ESCALATED, 3, T0 + days(11))


def test_allow_list_from_config_protects_an_address(engine):
    cfg = config(allow=("*@example.org",))
    with session_scope(engine) as s:
        rec = _record(s, 1, report(Kind.BOUNCE, hard("dead@example.org")), cfg=cfg)
        assert rec.suppressed == ()
        assert s.scalar(select(Address.state)) == "active"


def test_recompute_replays_manual_actions_and_returns_only_new_suppressions(engine):
    with session_scope(engine) as s:
        _record(s, 1, report(Kind.BOUNCE, hard("dead@example.org")))
        s.add(AddressAction(address="dead@example.org", action="release", reason="fixed",
                            actor="op", created_at=T0 + days(2)))
        s.add(AddressAction(address="new@example.org", action="suppress", reason="asked",
                            actor="op", created_at=T0 + days(2)))
        s.flush()
        newly = recompute(s, all_addresses(s), PolicyConfig())
        assert newly == ("new@example.org",)
        rows = {a.address: (a.state, a.manual) for a in s.scalars(select(Address))}
        assert rows == {"dead@example.org": ("released", True), "new@example.org": ("suppressed", True)}
        # a second recompute changes nothing and reports nothing new
        assert recompute(s, all_addresses(s), PolicyConfig()) == ()
        # a new hard bounce after the release suppresses again
        later = _record(s, 2, report(Kind.BOUNCE, hard("dead@example.org")), at=T0 + days(5))
        assert later.suppressed == ("dead@example.org",)
