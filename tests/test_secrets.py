"""Secrets and TLS: the IMAP password appears nowhere — not in any log line (debug level,
library loggers included), error, summary, status, history, export or the database file —
through a full run of the real processes with a wrong and then the right password; and
certificate verification cannot be switched off silently.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import faultmail
from faultrun import (FOLDER, bouncewatch, fill, run_service_until, server_folders,
                      write_config)

pytestmark = pytest.mark.imap

#: A wrong password with characters that logs, JSON and reprs each escape their own way.
WRONG = 'Wr0ng"pa\\ss{word}%s-7'


def forms(secret: str) -> set[str]:
    """The secret as it would look in plain text, in JSON and in a Python repr."""
    return {secret, json.dumps(secret)[1:-1], repr(secret)[1:-1],
            secret.encode("unicode_escape").decode()}


def leaks(secret: str, texts: dict[str, str | bytes]) -> list[str]:
    """Where any form of ``secret`` shows up (an empty list is the pass)."""
    found = []
    for where, text in texts.items():
        blob = text if isinstance(text, bytes) else text.encode("utf-8", "replace")
        if any(form.encode() in blob for form in forms(secret)):
            found.append(where)
    return found


def test_the_password_is_nowhere_in_a_full_run(pymap, tmp_path):
    right = pymap.password
    config = write_config(tmp_path, pymap, level="debug", poll_interval=1)
    fill(pymap, faultmail.mailbox(30, seed=5))
    outputs: dict[str, str | bytes] = {}

    wrong = bouncewatch(config, "poll", "--once", password=WRONG)
    assert wrong.returncode == 4 and "login refused" in wrong.stdout, wrong.stdout
    outputs |= {"poll wrong stdout": wrong.stdout, "poll wrong stderr": wrong.stderr}
    out, err = run_service_until(config, WRONG, '"event": "poll failed"')
    outputs |= {"run wrong stdout": out, "run wrong stderr": err}
    status = bouncewatch(config, "status", "--json", password=WRONG)
    assert "login refused" in status.stdout
    outputs["status after wrong"] = status.stdout + status.stderr

    done = bouncewatch(config, "poll", "--once", password=right)
    assert done.returncode == 0, done.stdout + done.stderr
    outputs |= {"poll stdout": done.stdout, "poll stderr": done.stderr}
    assert '"message recorded"' in done.stderr        # the debug run really logged
    out, err = run_service_until(config, right)
    outputs |= {"run stdout": out, "run stderr": err}
    for args in (["status"], ["status", "--json"], ["history", "ada0@example.net"], ["export"]):
        result = bouncewatch(config, *args, password=right)
        assert result.returncode == 0, result.stderr
        outputs[" ".join(args)] = result.stdout + result.stderr
    for path in [*tmp_path.glob("export/*"), *tmp_path.glob("bw.sqlite3*")]:
        if path.is_file():
            outputs[path.name] = path.read_bytes()
    assert len(outputs) > 12

    assert leaks(WRONG, outputs) == []
    assert leaks(right, outputs) == []
    assert "password" not in outputs["poll wrong stderr"].lower() or \
        all(form not in outputs["poll wrong stderr"] for form in forms(WRONG))


def test_a_missing_or_wrong_password_file_names_the_file_not_the_secret(pymap, tmp_path):
    secret_file = tmp_path / "imap-password"
    secret_file.write_text(WRONG + "\n")
    config = write_config(tmp_path, pymap)
    config.write_text(config.read_text().replace('password_env = "BW_FAULT_PASSWORD"',
                                                 f'password_file = "{secret_file}"'))
    done = bouncewatch(config, "poll", "--once", password="")
    assert done.returncode == 4 and "login refused" in done.stdout
    assert leaks(WRONG, {"out": done.stdout, "err": done.stderr}) == []
    secret_file.unlink()
    done = bouncewatch(config, "poll", "--once", password="")
    assert done.returncode == 3 and str(secret_file) in done.stdout + done.stderr


# --- TLS: verification off is never silent ------------------------------------------------

def test_verification_off_is_announced_at_start_even_when_warnings_are_hidden(tls_server,
                                                                               tmp_path):
    fill(tls_server, faultmail.mailbox(3, seed=6))
    for level in ("info", "error"):
        config = write_config(tmp_path, tls_server, level=level,
                              account_extra="verify_certificate = false")
        done = bouncewatch(config, "poll", "--once", password=tls_server.password)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "TLS certificate verification is off" in done.stderr, (level, done.stderr)
        fill(tls_server, faultmail.mailbox(3, seed=7 if level == "info" else 8))
        out, err = run_service_until(config, tls_server.password,
                                     "TLS certificate verification is off",
                                     until=lambda: not any(folder == FOLDER for folder, _ in
                                                         server_folders(tls_server)))


def test_verification_on_refuses_an_untrusted_certificate_with_a_clear_error(tls_server,
                                                                              tmp_path):
    config = write_config(tmp_path, tls_server)      # no ca_file: the self-signed cert fails
    done = bouncewatch(config, "poll", "--once", password=tls_server.password)
    assert done.returncode == 4, done.stdout + done.stderr
    assert "TLS certificate not trusted" in done.stdout, done.stdout
    assert "verification is off" not in done.stderr
    config = write_config(tmp_path, tls_server,
                          account_extra=f'ca_file = "{tls_server.ca_file}"')
    done = bouncewatch(config, "poll", "--once", password=tls_server.password)
    assert done.returncode == 0 and "verification is off" not in done.stderr, done.stderr
