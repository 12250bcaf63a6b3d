"""is_hard: true only for a dead address (userunknown, hostunknown, hasmoved; notaccept with a
5xx), never for a 4xx, never for anything that is the sender's problem or transient."""
from __future__ import annotations

import pytest

from classifiers.model import DEAD_REASONS, Reason
from classifiers.verdict import is_hard

R = Reason

# (reason, status, reply_code) -> hard
ROWS: list[tuple[Reason, str, str, bool]] = [
    (R.USERUNKNOWN, "5.1.1", "550", True),
    (R.USERUNKNOWN, "", "550", True),
    (R.USERUNKNOWN, "5.1.1", "", True),
    (R.USERUNKNOWN, "", "", True),             # "user unknown" with no code at all
    (R.USERUNKNOWN, "4.1.1", "450", False),    # the server said: try again
    (R.USERUNKNOWN, "", "450", False),
    (R.USERUNKNOWN, "4.1.1", "", False),
    (R.HOSTUNKNOWN, "5.1.2", "", True),
    (R.HOSTUNKNOWN, "", "", True),
    (R.HOSTUNKNOWN, "4.4.3", "", False),
    (R.HASMOVED, "5.1.6", "551", True),
    (R.HASMOVED, "", "451", False),
    (R.NOTACCEPT, "5.1.10", "556", True),
    (R.NOTACCEPT, "", "550", True),
    (R.NOTACCEPT, "5.3.2", "", True),
    (R.NOTACCEPT, "", "", False),              # no 5xx: not proven dead
    (R.NOTACCEPT, "4.3.2", "421", False),
    (R.MAILBOXFULL, "5.2.2", "552", False),    # transient, whatever the code
    (R.SPAMDETECTED, "5.7.1", "550", False),   # the sender's problem
    (R.AUTHFAILURE, "5.7.26", "550", False),
    (R.BLOCKED, "5.7.1", "554", False),
    (R.NORELAYING, "5.7.1", "554", False),
    (R.EXPIRED, "4.4.7", "", False),
    (R.FEEDBACK, "", "", False),
    (R.VACATION, "", "", False),
    (R.DELIVERED, "2.0.0", "250", False),
    (R.USERUNKNOWN, "#4.1.1", "", False),      # however the code is written
    (R.USERUNKNOWN, " 5.1.1", " 550", True),
    (R.NOTACCEPT, "#5.1.10", "", True),
]


@pytest.mark.parametrize("reason,status,reply_code,hard", ROWS)
def test_is_hard(reason, status, reply_code, hard):
    assert is_hard(reason, status, reply_code) is hard


@pytest.mark.parametrize("reason", sorted(set(Reason) - DEAD_REASONS))
@pytest.mark.parametrize("status,reply_code", [("5.1.1", "550"), ("5.0.0", "554"), ("", "550"),
                                               ("", ""), ("4.2.2", "452")])
def test_only_dead_reasons_are_ever_hard(reason, status, reply_code):
    assert is_hard(reason, status, reply_code) is False


@pytest.mark.parametrize("reason", sorted(DEAD_REASONS))
@pytest.mark.parametrize("status,reply_code", [("4.0.0", ""), ("", "421"), ("4.1.1", "550"),
                                               ("5.1.1", "450")])
def test_no_4xx_is_ever_hard(reason, status, reply_code):
    assert is_hard(reason, status, reply_code) is False


def test_the_dead_reasons_are_the_four_of_the_contract():
    assert DEAD_REASONS == {R.USERUNKNOWN, R.HOSTUNKNOWN, R.HASMOVED, R.NOTACCEPT}
