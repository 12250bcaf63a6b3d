"""The engine and the decode layer under it: dispatch, codes completed from the diagnostic,
per-action reasons, the VERP fallback, report metadata, and the helpers detectors share."""
from __future__ import annotations

import pytest

from classifiers import Kind, Outcome, Reason, Report, classify
from classifiers.detectors import DETECTORS, Detection, Finding
from classifiers.engine import to_outcome
from classifiers.frozen import Frozen
from classifiers.message import Message, Part, dsn_blocks, parse
from classifiers.mime import split_header
from classifiers.smtp import best_reply_code, best_status, command_in, reply_code_in, status_in
from classifiers.text import decode_bytes, decode_header_value


def dsn(*blocks: str, head: str = "", prose: str = "Delivery failed.") -> bytes:
    """A multipart/report DSN with these recipient blocks."""
    return (f"From: Mail Delivery Service <postmaster@mx.example.net>\nTo: news@example.org\n{head}"
            "Subject: Delivery report\nMIME-Version: 1.0\n"
            'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
            f"--B\nContent-Type: text/plain\n\n{prose}\n\n--B\nContent-Type: message/delivery-status\n\n"
            "Reporting-MTA: dns; mx.example.net\n\n" + "\n\n".join(blocks) +
            "\n\n--B\nContent-Type: message/rfc822\n\nMessage-ID: <m1@example.org>\n"
            "From: News <news@example.org>\nSubject: =?UTF-8?Q?Caf=C3=A9?=\nList-Id: <news.example.org>\n"
            "\nbody\n--B--\n").encode()


def test_report_metadata_comes_from_the_returned_message() -> None:
    report = classify(dsn("Final-Recipient: rfc822; a@example.com\nAction: failed\nStatus: 5.1.1"))
    assert (report.message_id, report.original_sender, report.original_subject, report.list_id) == (
        "<m1@example.org>", "News <news@example.org>", "Café", "<news.example.org>")
    assert report.subject == "Delivery report"
    assert report.decoded_by == "rfc3464"


def test_generic_status_gives_way_to_the_diagnostic_and_codes_are_filled() -> None:
    (outcome,) = classify(dsn("Final-Recipient: rfc822; a@example.com\nAction: failed\n"
                              "Status: 5.0.0\nDiagnostic-Code: smtp; 550-5.1.1 The account does "
                              "not exist (in reply to RCPT TO command)")).outcomes
    assert (outcome.status, outcome.reply_code, outcome.command) == ("5.1.1", "550", "RCPT")
    assert outcome.reason is Reason.USERUNKNOWN and outcome.hard


def test_mixed_report_keeps_each_recipients_action() -> None:
    report = classify(dsn(
        "Final-Recipient: rfc822; gone@example.com\nAction: failed\nStatus: 5.1.1",
        "Final-Recipient: rfc822; ok@example.com\nAction: delivered\nStatus: 2.0.0",
        "Final-Recipient: rfc822; slow@example.com\nAction: delayed\nStatus: 4.4.7"))
    by = {o.recipient: o for o in report.outcomes}
    assert report.kind is Kind.BOUNCE
    assert (by["gone@example.com"].hard, by["ok@example.com"].reason, by["ok@example.com"].hard) == (
        True, Reason.DELIVERED, False)
    assert (by["slow@example.com"].action, by["slow@example.com"].hard) == ("delayed", False)


@pytest.mark.parametrize(("actions", "kind"), [
    (("delayed",), Kind.DELAY), (("delivered", "relayed"), Kind.DELIVERED),
    (("expanded",), Kind.DELIVERED), (("delayed", "failed"), Kind.BOUNCE),
])
def test_kind_follows_the_actions(actions: tuple[str, ...], kind: Kind) -> None:
    blocks = [f"Final-Recipient: rfc822; u{i}@example.com\nAction: {a}\nStatus: "
              + ("2.0.0" if a in ("delivered", "relayed", "expanded") else "4.4.7" if a == "delayed" else "5.1.1")
              for i, a in enumerate(actions)]
    report = classify(dsn(*blocks))
    assert report.kind is kind
    assert len(report.outcomes) == len(actions)


def test_a_delay_without_words_is_expired_and_never_hard() -> None:
    (outcome,) = classify(dsn("Final-Recipient: rfc822; a@example.com\nAction: delayed\nStatus: 4.0.0",
                              prose="This is only a warning about a delay.")).outcomes
    assert (outcome.reason, outcome.hard) == (Reason.EXPIRED, False)


def test_a_bounce_naming_no_one_falls_back_to_the_verp_address() -> None:
    raw = (b"From: MAILER-DAEMON@mx.example.net\nTo: news-bounces+alice=example.com@lists.example.org\n"
           b"Subject: Undeliverable\n\n550 5.1.1 Recipient address rejected: User unknown\n")
    report = classify(raw)
    assert report.verp_recipient == "alice@example.com"
    assert [(o.recipient, o.hard) for o in report.outcomes] == [("alice@example.com", True)]


def test_a_bounce_naming_no_one_and_no_verp_is_unparseable() -> None:
    report = classify(b"From: MAILER-DAEMON@mx.example.net\nTo: news@example.org\n"
                      b"Subject: Undeliverable\n\nSomething went wrong.\n")
    assert (report.kind, report.outcomes) == (Kind.UNPARSEABLE, ())


def test_kind_fixed_reasons_are_never_hard() -> None:
    finding = Finding(recipient="a@example.com", diagnostic="550 5.1.1 user unknown", status="5.1.1")
    for kind, reason in ((Kind.COMPLAINT, Reason.FEEDBACK), (Kind.AUTOREPLY, Reason.VACATION),
                         (Kind.DELIVERED, Reason.DELIVERED)):
        outcome = to_outcome(finding, kind)
        assert outcome is not None and (outcome.reason, outcome.hard) == (reason, False)


def test_invalid_recipient_gives_no_outcome() -> None:
    assert to_outcome(Finding(recipient="not an address"), Kind.BOUNCE) is None


def test_first_claiming_detector_wins_and_generic_ones_come_last() -> None:
    names = [name for name, _ in DETECTORS]
    assert names[-5:] == ["receipt", "arf", "rfc3464", "autoreply", "generic"]
    assert len(names) == len(set(names))


def test_a_detector_that_raises_does_not_break_classify(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(msg: object) -> None:
        raise RuntimeError("bug")
    monkeypatch.setattr("classifiers.engine.DETECTORS", (("boom", boom),))
    report = classify(b"Subject: x\n\nbody")
    assert (report.kind, report.decoded_by) == (Kind.UNPARSEABLE, "error")
    assert "RuntimeError: bug" in report.errors[0]


# --- the helpers detectors share -------------------------------------------------------------

@pytest.mark.parametrize(("text", "status", "code"), [
    ("smtp; 550 5.1.1 <a@example.com>: User unknown", "5.1.1", "550"),
    ("host mx.example.com[192.0.2.5] said: 452-4.2.2 Mailbox full", "4.2.2", "452"),
    ("Connection to 192.0.2.250 port 25 timed out", "", ""),
    ("version 5.1.1.2 of the filter; retry in 550 seconds", "", ""),
    ("421 Service not available", "", "421"),
])
def test_codes_in_prose(text: str, status: str, code: str) -> None:
    assert (status_in(text), reply_code_in(text)) == (status, code)


@pytest.mark.parametrize(("declared", "said", "want"), [
    ("5.0.0", "550 5.1.1 no such user", "5.1.1"), ("5.2.0", "552 5.2.2 over quota", "5.2.2"),
    ("5.1.1", "550 5.7.1 blocked", "5.1.1"), ("4.0.0", "550 5.1.1 no such user", "4.0.0"),
    ("", "550 5.1.1 no such user", "5.1.1"),
])
def test_best_status(declared: str, said: str, want: str) -> None:
    assert best_status(declared, said) == want


def test_a_reply_code_contradicting_the_status_is_dropped() -> None:
    assert best_reply_code("", "250 ok, then 5.1.1", "5.1.1") == ""
    assert best_reply_code("", "550 5.1.1 no", "5.1.1") == "550"


@pytest.mark.parametrize(("text", "command"), [
    ("(in reply to RCPT TO command)", "RCPT"), ("in reply to end of DATA command", "DATA"),
    ("after MAIL FROM:<a@example.org>", "MAIL"), ("while sending the message body", "DATA"),
    (">>> RCPT To:<a@example.com>\n<<< 550 No such user", "RCPT"),
    ("550 5.2.1 <a@example.com>... User Unknown [RCPT_TO]", "RCPT"),
    ("no SMTP connection got far enough; most progress was RCPT TO response", "RCPT"),
    ("nothing here at all", ""),
])
def test_command_in(text: str, command: str) -> None:
    assert command_in(text) == command


def test_the_command_is_searched_for_only_where_a_match_can_start() -> None:
    """``command_in`` tries its regex only at the words every match begins with: the same
    match as a search from every position, on mixes of those words, near misses and prose."""
    import random

    from classifiers.smtp import _COMMAND, _COMMAND_STARTS, _search_at
    pieces = ["in reply to", "in response to the", "after", "while sending", ">>>", ">>> ",
              "[rcpt_to]", "[data]", "[mail_from", "rcpt to", "mail from", "command", "response",
              "data", "end of data", "rcpt", "mail", "ehlo", "the", " ", "\n", "x", "-", "_",
              "(", "a", "r", "afterdata", "prcpt to response"]
    rng = random.Random(3)
    for _ in range(5000):
        text = "".join(rng.choice(pieces) + rng.choice(["", " ", "  "]) for _ in range(rng.randint(0, 12)))
        want, got = _COMMAND.search(text), _search_at(_COMMAND, text, _COMMAND_STARTS)
        assert (got and (got.span(), got.groups())) == (want and (want.span(), want.groups())), text


def test_generic_fallback_reads_each_listed_recipients_own_lines() -> None:
    raw = (b"From: MAILER-DAEMON@mx.example.net\nTo: news@example.org\nSubject: failure notice\n\n"
           b"Sorry, these addresses failed:\n\n<a@example.com>:\nFrom: <postmaster@mx.example.net> "
           b"RCPT: <a@example.com>\nRemote host said: 552 5.2.2 Mailbox full\n\n<b@example.com>:\n"
           b"Remote host said: 550 5.1.1 <b@example.com>: User unknown\n")
    by = {o.recipient: o for o in classify(raw).outcomes}
    assert (by["a@example.com"].status, by["b@example.com"].status) == ("5.2.2", "5.1.1")
    assert "postmaster@mx.example.net" not in by


def test_recipient_blocks_run_together_are_split() -> None:
    per_message, blocks = dsn_blocks(
        "Reporting-MTA: dns; mx.example.net\nFinal-Recipient: rfc822; a@example.com\nAction: failed\n"
        "Final-Recipient: rfc822; b@example.com\nAction: failed\n\n"
        "Original-Recipient: rfc822; c@example.com\nFinal-Recipient: rfc822; c@example.com\nStatus: 5.1.1\n")
    assert per_message.get("reporting-mta") == "dns; mx.example.net"
    assert [b.get("final-recipient") for b in blocks] == [
        "rfc822; a@example.com", "rfc822; b@example.com", "rfc822; c@example.com"]


def test_a_parameter_folded_without_blanks_still_belongs_to_its_field() -> None:
    fields, body = split_header(b"Content-Type: multipart/mixed;\nboundary=\"XYZ\"\nSubject: s\n\nbody")
    assert fields == [("Content-Type", 'multipart/mixed; boundary="XYZ"'), ("Subject", "s")]
    assert body == b"body"
    msg = parse(b'Content-Type: multipart/mixed;\nboundary="XYZ"\n\n--XYZ\nContent-Type: text/plain\n\n'
                b"inside\n--XYZ--\n")
    assert msg.text.strip() == "inside"


@pytest.mark.parametrize(("raw", "want"), [
    ("=?UTF-8?B?6YWN5L+h44Ko44Op44O8?=", "配信エラー"),
    ("=?iso-2022-jp?B?GyRCR1s/LiUoJWkhPBsoQg==?= =?UTF-8?Q?_caf=C3=A9?= end", "配信エラー café end"),
    ("Re: =?ISO-8859-1?Q?Bo=EEte_pleine?=", "Re: Boîte pleine"),
    ("=?Shift_JIS?B?grGC8YLJgr+CzQ==?=", "こんにちは"),
    ("=?utf-8?B?!!!?= kept", "=?utf-8?B?!!!?= kept"),
    ("plain", "plain"),
])
def test_encoded_words(raw: str, want: str) -> None:
    assert decode_header_value(raw) == want


def test_a_truncated_encoded_word_keeps_what_it_can() -> None:
    assert decode_header_value("=?UTF-8?B?44OL44Ol44O844K?=").startswith("ニュー")


@pytest.mark.parametrize(("data", "label"), [
    ("ユーザ不明".encode("cp932"), "iso-8859-1"), ("ユーザ不明".encode("euc_jp"), None),
    ("ユーザ不明".encode("iso2022_jp"), "us-ascii"), ("ユーザ不明".encode("utf-8"), "shift_jis"),
])
def test_body_charsets_are_sniffed_when_the_label_lies(data: bytes, label: str | None) -> None:
    assert decode_bytes(data, label) == "ユーザ不明"


def test_the_classify_path_stays_light() -> None:
    """``bouncewatch classify`` must start fast: nothing heavy on its import path (typing
    alone costs ~5 ms a run; use collections.abc, or ``if TYPE_CHECKING:`` imports). Only the
    public Report and Outcome are dataclasses (the contract says so); the matcher's other
    types are ``classifiers.frozen.Frozen`` values, which cost no generated methods."""
    import subprocess
    import sys
    heavy = ("typing", "email", "sqlalchemy", "imapclient",
             "apscheduler", "structlog", "alembic")
    code = ("import sys, daemon.classify_cmd; "
            f"print(' '.join(m for m in {heavy!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == []


@pytest.mark.parametrize("cls", [Finding, Detection, Part, Message],
                         ids=lambda c: c.__name__)
def test_each_value_type_takes_its_fields_in_slot_order(cls: type[Frozen]) -> None:
    import inspect
    assert list(inspect.signature(cls).parameters) == list(cls.field_names())


def test_the_public_types_are_frozen_typed_dataclasses() -> None:
    import dataclasses
    import pickle
    assert all(dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
               for cls in (Outcome, Report))
    assert [f.name for f in dataclasses.fields(Report)][:3] == ["kind", "decoded_by", "outcomes"]
    outcome = Outcome(recipient="a@example.com", reason=Reason.USERUNKNOWN, hard=True, status="5.1.1")
    report = Report(kind=Kind.BOUNCE, decoded_by="test", outcomes=(outcome,))
    with pytest.raises(AttributeError):
        outcome.hard = False  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del report.kind
    twin = Outcome("a@example.com", Reason.USERUNKNOWN, True, "", "5.1.1")
    replace = dataclasses.replace
    assert twin == outcome and hash(twin) == hash(outcome) and twin != replace(outcome, hard=False)
    assert replace(outcome, status="5.1.10").status == "5.1.10" and outcome.status == "5.1.1"
    with pytest.raises(TypeError):
        replace(outcome, colour="red")
    assert pickle.loads(pickle.dumps(report)) == report
    assert repr(outcome).startswith("Outcome(recipient='a@example.com', reason=")
    assert report.as_dict()["outcomes"] == [{
        "recipient": "a@example.com", "reason": "userunknown", "hard": True, "action": "",
        "status": "5.1.1", "reply_code": "", "diagnostic": "", "remote_mta": "", "command": ""}]


def test_detector_patterns_compile_on_first_use() -> None:
    """A detector's pattern costs nothing until used, then behaves as the compiled one."""
    import re

    from classifiers.lazyre import LazyPattern
    lazy = LazyPattern(r"^<([^<>]+)>:", re.MULTILINE)
    with pytest.raises(AttributeError):
        object.__getattribute__(lazy, "search")  # not compiled yet
    text = "x\n<a@example.com>: gone\n<b@example.com>: gone"
    assert lazy.search(text).group(1) == "a@example.com"
    compiled = re.compile(lazy.pattern, lazy.flags)
    assert lazy.findall(text) == compiled.findall(text) == ["a@example.com", "b@example.com"]
    assert [m.span() for m in lazy.finditer(text)] == [m.span() for m in compiled.finditer(text)]
    assert lazy.sub("-", text) == compiled.sub("-", text) and lazy.split(text) == compiled.split(text)
    assert lazy.match(text) is None and lazy.fullmatch("<a>:") is not None
    with pytest.raises(AttributeError):
        lazy.groupindex  # noqa: B018  (only the listed methods)


def test_the_inline_marker_is_searched_for_only_on_lines_with_a_marker_word() -> None:
    """Searching only the lines that hold a marker word finds what a search of the whole
    text finds, on mixes of markers, their words, near misses, dashes and line breaks."""
    import random

    from classifiers.message import _INLINE_ORIGINAL, _first_marker
    pieces = ["original message follows", "-- original message --", "--original message--",
              "original", "--- original message", "copy of the message", "received: from x",
              "received:from ", "received: by", "message header follows", "message header",
              "below this line is a copy of the message", "元のメッセージ", "以下元のメール",
              "送信したメール", "元のメ", "-", "--", " ", "\n", "\n\n", "x", "prose words"]
    rng = random.Random(5)
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        want, got = _INLINE_ORIGINAL.search(text), _first_marker(text)
        assert (got and got.span()) == (want and want.span()), text


def test_an_original_copied_into_the_text_gives_the_metadata() -> None:
    raw = (b"From: MAILER-DAEMON@mx.example.net\nTo: news@example.org\nSubject: failure notice\n\n"
           b"<gone@example.com>:\n550 5.1.1 user unknown\n\n--- Below this line is a copy of the message.\n\n"
           b"Return-Path: <news@example.org>\nMessage-ID: <m9@example.org>\nFrom: news@example.org\n"
           b"To: gone@example.com\nSubject: Issue 9\n\nHello gone@example.com\n")
    report = classify(raw)
    assert (report.message_id, report.original_subject) == ("<m9@example.org>", "Issue 9")
    assert [o.recipient for o in report.outcomes] == ["gone@example.com"]


def test_prose_that_merely_mentions_the_original_is_not_a_copy() -> None:
    msg = parse(b"Subject: x\n\nThe original message was received at noon.\nIt had no copy.\n")
    assert (msg.original_text, len(msg.original_headers)) == ("", 0)
