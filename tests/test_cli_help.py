"""The command line's contract for scripts: every command has --help with examples, and the
documented exit codes are what a real ``bouncewatch`` process returns in each case."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.cli import (
    COMMANDS, EXIT_CODES, EXIT_CONFIG, EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL, EXIT_UNAVAILABLE,
    EXIT_USAGE, main,
)

SAMPLE = Path(__file__).resolve().parent.parent / "daemon" / "samples" / "01-hard-userunknown.eml"


def help_text(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--help"])
    assert exit_.value.code == EXIT_OK
    return capsys.readouterr().out


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help_with_examples(capsys, command):
    text = help_text(capsys, command)
    assert text.startswith(f"usage: bouncewatch {command}")
    examples = text[text.index("\nexamples:\n"):].splitlines()[2:]
    assert any(line.startswith(f"  bouncewatch {command}") or f"bouncewatch -c" in line
               for line in examples), text


def test_the_main_help_documents_every_exit_code(capsys):
    text = help_text(capsys)
    table = text[text.index("exit codes:"):]
    for code, meaning in EXIT_CODES.items():
        assert f"\n  {code:<4} {meaning.split()[0]}" in table
    assert {EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_CONFIG, EXIT_UNAVAILABLE, EXIT_INTERRUPTED} == set(EXIT_CODES)
    assert all(name in text for name in COMMANDS)


def bouncewatch(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """A real ``bouncewatch`` process (no configuration found by accident: cwd is empty)."""
    env = {k: v for k, v in os.environ.items() if k != "BOUNCEWATCH_CONFIG"}
    return subprocess.run([sys.executable, "-m", "daemon.cli", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def conf(tmp_path) -> Path:
    path = tmp_path / "bw.toml"
    path.write_text('[database]\nurl = "sqlite:///bw.sqlite3"\n[policy]\nallow = ["*@vip.example"]\n')
    return path


def test_exit_codes_of_real_processes(tmp_path, conf):
    cases = [
        (EXIT_OK, ["classify", str(SAMPLE)]),
        (EXIT_OK, ["-c", str(conf), "status"]),
        (EXIT_PARTIAL, ["classify", str(SAMPLE), str(tmp_path / "missing.eml")]),
        (EXIT_PARTIAL, ["-c", str(conf), "suppress", "boss@vip.example"]),
        (EXIT_USAGE, ["no-such-command"]),
        (EXIT_USAGE, ["-c", str(conf), "report", "--days", "0"]),
        (EXIT_USAGE, ["-c", str(conf), "history", "not an address"]),
        (EXIT_USAGE, ["completion", "tcsh"]),
        (EXIT_CONFIG, ["status"]),                                  # no configuration anywhere
        (EXIT_CONFIG, ["-c", str(tmp_path / "missing.toml"), "report"]),
        (EXIT_UNAVAILABLE, ["-c", str(conf), "report", "-o", str(conf / "report.html")]),
        (EXIT_UNAVAILABLE, ["-c", str(conf), "export", "--output-dir", str(conf / "out")]),
    ]
    (tmp_path / "blocker").write_text("")
    blocked = tmp_path / "blocked.toml"
    blocked.write_text('[database]\nurl = "sqlite:///blocker/bw.sqlite3"\n')
    cases.append((EXIT_UNAVAILABLE, ["-c", str(blocked), "status"]))
    for code, argv in cases:
        done = bouncewatch(*argv, cwd=tmp_path)
        assert done.returncode == code, (argv, done.stderr)
        if code not in (EXIT_OK, EXIT_PARTIAL) or argv[-1] == "boss@vip.example":
            assert done.stderr.strip() and "Traceback" not in done.stderr, (argv, done.stderr)


def test_ctrl_c_exits_130(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    env = {k: v for k, v in os.environ.items() if k != "BOUNCEWATCH_CONFIG"}
    proc = subprocess.Popen([sys.executable, "-m", "daemon.cli", "classify", str(fifo)],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        writer = os.open(fifo, os.O_WRONLY)    # blocks until bouncewatch has opened it
        # A SIGINT that lands between its open() and its blocking read() is only noticed once
        # the read returns (never, here): Ctrl-C again, as a user would.
        for _ in range(30):
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=1)
                break
            except subprocess.TimeoutExpired:
                continue
        assert proc.wait(timeout=1) == EXIT_INTERRUPTED
        os.close(writer)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
