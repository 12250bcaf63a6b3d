"""The MTA detectors' shared readers of SMTP prose: one row per case."""
from __future__ import annotations

import pytest

from classifiers.detectors.smtptext import (best_status, command_in, command_name, host_in,
                                            reply_code_in, server_words, status_in)


@pytest.mark.parametrize(("text", "status", "reply"), [
    ("550 5.1.1 <a@example.com>... User unknown", "5.1.1", "550"),
    ("550-5.7.26 Unauthenticated email", "5.7.26", "550"),
    ("host mx.example.net[192.0.2.1] said: 452 4.3.2 rate limit", "4.3.2", "452"),
    ("refused to talk to me: 421 Service not available", "", "421"),
    ("connect to mx[192.0.2.55]:25: Connection timed out", "", ""),
    ("Rcpt-To validation failed: RCPT TO not accepted: 5.7.1 not configured", "5.7.1", ""),
    ("x-unix; 77", "", ""),
    ("version 10.5.5.1 of the server", "", ""),
])
def test_codes(text: str, status: str, reply: str) -> None:
    assert (status_in(text), reply_code_in(text)) == (status, reply)


@pytest.mark.parametrize(("text", "command"), [
    ("User unknown (in reply to RCPT TO command)", "RCPT"),
    ("spam (in reply to end of\n    DATA command)", "DATA"),
    ("denied (in reply to MAIL FROM command)", "MAIL"),
    ("no command named here", ""),
])
def test_command_in(text: str, command: str) -> None:
    assert command_in(text) == command


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
])
def test_best_status(declared: str, diagnostic: str, status: str) -> None:
    assert best_status(declared, diagnostic) == status


def test_host_and_server_words() -> None:
    text = ("host mx.example.net[192.0.2.1] said: 550 5.1.1 <a@example.net>: User unknown"
            " (in reply to RCPT TO command)")
    assert host_in(text) == "mx.example.net"
    assert server_words(text) == "550 5.1.1 <a@example.net>: User unknown"
