"""Shell completion scripts, loaded into real shells: bash always (it is everywhere), zsh and
fish when installed. What they complete is read from the parser, so the checks are too."""
from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

import pytest

from daemon.cli import build_parser
from daemon.completion import SHELLS, script, spec_of


@pytest.fixture(scope="module")
def scripts(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("completion")
    paths = {}
    for shell in SHELLS:
        paths[shell] = folder / f"bouncewatch.{shell}"
        paths[shell].write_text(script(shell))
    return paths


def bash_complete(script_path: Path, *words: str, cwd: Path | None = None) -> list[str]:
    """What bash offers for ``bouncewatch WORDS...`` (the last word is the one being typed)."""
    line = " ".join(["bouncewatch", *words])
    program = (f'source "$1"; COMP_WORDS=(bouncewatch "${{@:2}}"); COMP_CWORD={len(words)}; '
               f'COMP_LINE="{line}"; _bouncewatch; printf "%s\\n" "${{COMPREPLY[@]}}"')
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", program, "bash", str(script_path), *words],
                          capture_output=True, text=True, timeout=30, check=True, cwd=cwd)
    return sorted(filter(None, done.stdout.splitlines()))


def db_actions() -> list[str]:
    """What ``db`` takes, as the parser says (the completion must follow it)."""
    return sorted(next(c for c in spec_of(build_parser(every=True)).commands if c.name == "db").choices)


def test_bash_registers_the_function(scripts):
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", 'source "$1"; complete -p bouncewatch',
                           "bash", str(scripts["bash"])], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "complete -o filenames -F _bouncewatch bouncewatch"


def test_bash_completes_commands_options_and_values(scripts, tmp_path):
    bash = scripts["bash"]
    assert bash_complete(bash, "re") == ["reclassify", "release", "report"]
    assert bash_complete(bash, "-c", "bw.toml", "st") == ["status"]           # skips the value
    assert bash_complete(bash, "--") == ["--config", "--help"]
    assert bash_complete(bash, "report", "--") == ["--days", "--help", "--output"]
    assert bash_complete(bash, "db", "") == ["copy", "current", "recount", "upgrade"]
    assert bash_complete(bash, "completion", "") == ["bash", "fish", "zsh"]
    assert bash_complete(bash, "report", "--days", "") == []
    (tmp_path / "conf.toml").write_text("")
    (tmp_path / "confdir").mkdir()
    assert bash_complete(bash, "-c", "con", cwd=tmp_path) == ["conf.toml", "confdir"]
    assert bash_complete(bash, "export", "--output-dir", "con", cwd=tmp_path) == ["confdir"]
    assert bash_complete(bash, "classify", "conf.", cwd=tmp_path) == ["conf.toml"]
    assert bash_complete(bash, "history", "x") == []                          # an address


def test_bash_offers_every_option_of_every_command(scripts):
    spec = spec_of(build_parser(every=True))
    assert [c.name for c in spec.commands] == list(build_parser(every=True)._subparsers._group_actions[0].choices)
    for command in spec.commands:
        flags = sorted(f for o in command.options for f in o.flags if f.startswith("-"))
        assert bash_complete(scripts["bash"], command.name, "-") == flags, command.name


def test_the_spec_refuses_words_a_shell_would_need_quoted():
    parser = argparse.ArgumentParser(prog="bouncewatch")
    sub = parser.add_subparsers()
    sub.add_parser("ok").add_argument("--mode", choices=["a b"])
    with pytest.raises(ValueError, match="not a plain completion word"):
        spec_of(parser)


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_loads_and_registers_the_function(scripts):
    assert subprocess.run(["zsh", "-n", str(scripts["zsh"])], capture_output=True).returncode == 0
    program = 'autoload -Uz compinit && compinit -u -D; source "$1"; print -r -- $_comps[bouncewatch]'
    done = subprocess.run(["zsh", "-f", "-c", program, "zsh", str(scripts["zsh"])],
                          capture_output=True, text=True, timeout=30, check=True)
    assert done.stdout.strip() == "_bouncewatch" and done.stderr == ""


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes(scripts, tmp_path):
    def complete(line: str) -> list[str]:
        done = subprocess.run(["fish", "--no-config", "-c", f'source "{scripts["fish"]}"; complete -C"{line}"'],
                              capture_output=True, text=True, timeout=30, check=True, cwd=tmp_path)
        assert done.stderr == ""
        return sorted(row.split("\t")[0] for row in done.stdout.splitlines())

    assert complete("bouncewatch re") == ["reclassify", "release", "report"]
    assert complete("bouncewatch report --") == ["--days", "--help", "--output"]
    assert complete("bouncewatch db ") == ["copy", "current", "recount", "upgrade"]
    (tmp_path / "sample.eml").write_text("")
    assert complete("bouncewatch classify sam") == ["sample.eml"]
