"""The MTA detectors' shared readers of server reports: one row per case."""
from __future__ import annotations

import pytest

from classifiers.detectors.smtptext import (command_name, command_of, host_in, server_words,
                                            spoken_status)


@pytest.mark.parametrize(("text", "command"), [
    ("User unknown (in reply to RCPT TO command)", "RCPT"),
    ("spam (in reply to end of\n    DATA command)", "DATA"),
    ("denied (in reply to MAIL\n    FROM command)", "MAIL"),
    ("no command named here", ""),
])
def test_command_of_wrapped_prose(text: str, command: str) -> None:
    assert command_of(text) == command


@pytest.mark.parametrize(("verb", "command"), [
    ("RCPT To:<a@example.com>", "RCPT"), ("MAIL From:<> SIZE=10", "MAIL"), ("DATA", "DATA"),
    ("EHLO mx.example.com", "EHLO"), ("QUIT", "QUIT"), ("hello there", ""), ("", ""),
])
def test_command_name(verb: str, command: str) -> None:
    assert command_name(verb) == command


@pytest.mark.parametrize(("declared", "diagnostic", "status"), [
    ("5.0.0", "554 5.7.1 relay denied", "5.7.1"),     # generic declared, specific said
    ("5.1.1", "550 5.7.1 IP blacklisted", "5.7.1"),   # the server's words win
    ("4.4.7", "450 4.7.1 client rejected", "4.7.1"),
    ("5.3.0", "550 5.0.0 Insufficient permission", "5.3.0"),  # x.0.0 says nothing more
    ("4.0.0", "554 5.7.1 blocked", "4.0.0"),          # another class: keep the declared
    ("", "550 5.1.2 Host unknown", "5.1.2"),
    ("", "550 5.0.0 Rejected", "5.0.0"),
    ("5.2.2", "mailbox full", "5.2.2"),
])
def test_spoken_status(declared: str, diagnostic: str, status: str) -> None:
    assert spoken_status(declared, diagnostic) == status


@pytest.mark.parametrize(("text", "host"), [
    ("host mx.example.net[192.0.2.1] said: 550 no", "mx.example.net"),
    ("connect to mx2.example.org[192.0.2.9]:25: Connection timed out", "mx2.example.org"),
    ("lost connection with mx.example.jp[192.0.2.3] while sending RCPT TO", "mx.example.jp"),
    ("Connection timed out", ""),
])
def test_host_in(text: str, host: str) -> None:
    assert host_in(text) == host


def test_server_words_drop_the_wrapping() -> None:
    text = ("host mx.example.net[192.0.2.1] said: 550 5.1.1 <a@example.net>: User\n"
            "    unknown (in reply to RCPT TO\n    command)")
    assert server_words(text) == "550 5.1.1 <a@example.net>: User unknown"
