"""``bouncewatch completion bash|zsh|fish``: a shell completion script made from the parser.

The argparse parser (every command's arguments) is read once into a small description —
commands, their options, which options take a value and what kind (a file, a directory, a
choice), their positional arguments — and each shell's script is rendered from that, so a
new command or option is completed without touching this file.
"""
from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass

PROG = "bouncewatch"
#: What a value is, by metavar (or destination): completed as a file or a directory.
VALUE_KINDS: dict[str, str] = {"FILE": "file", "PATH": "file", "CONFIG": "file", "DIR": "dir"}
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*|-{1,2}[A-Za-z0-9][A-Za-z0-9-]*")


@dataclass(frozen=True, slots=True)
class Option:
    flags: tuple[str, ...]
    help: str = ""
    takes_value: bool = False
    choices: tuple[str, ...] = ()
    kind: str = ""               # "file", "dir" or "": how to complete the value


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    help: str
    options: tuple[Option, ...]
    choices: tuple[str, ...] = ()   # what the positional arguments may be
    kind: str = ""                  # "file" when the positional arguments are paths


@dataclass(frozen=True, slots=True)
class Spec:
    """The whole command line: global options and the commands."""

    options: tuple[Option, ...]
    commands: tuple[Command, ...]


def _kind(action: argparse.Action) -> str:
    name = action.metavar if isinstance(action.metavar, str) else action.dest.upper()
    return VALUE_KINDS.get(name, "")


def _words(values: Iterable[object]) -> tuple[str, ...]:
    """Values as completion words; anything a shell would need quoted is refused here, so that
    the renderers never have to quote a word."""
    words = tuple(str(v) for v in values)
    bad = [w for w in words if not _WORD.fullmatch(w)]
    if bad:
        raise ValueError(f"not a plain completion word: {bad[0]!r}")
    return words


def _options(parser: argparse.ArgumentParser) -> tuple[Option, ...]:
    return tuple(
        Option(flags=_words(a.option_strings), help=a.help or "", takes_value=a.nargs != 0,
               choices=_words(a.choices or ()), kind=_kind(a))
        for a in parser._actions if a.option_strings and a.help != argparse.SUPPRESS)


def spec_of(parser: argparse.ArgumentParser) -> Spec:
    """Read the parser (built with every command's arguments) into a ``Spec``."""
    commands: list[Command] = []
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {a.dest: a.help or "" for a in action._choices_actions}
        for name, sub in action.choices.items():
            positionals = [a for a in sub._actions if not a.option_strings]
            commands.append(Command(
                name=_words([name])[0], help=helps.get(name, ""), options=_options(sub),
                choices=_words(c for a in positionals for c in (a.choices or ())),
                kind="file" if any(_kind(a) == "file" for a in positionals) else ""))
    return Spec(options=_options(parser), commands=tuple(commands))


def _clean(text: str) -> str:
    """Help text as a description every shell takes inside single quotes or brackets."""
    text = re.sub(r"[\[\]]", lambda m: "(" if m.group() == "[" else ")", " ".join(text.split()))
    return re.sub(r"['\\`$]", "", text)[:90]


# --- bash ------------------------------------------------------------------------------------

def _bash_value_cases(options: Iterable[Option]) -> list[str]:
    """``case "$prev"`` arms: what to offer after an option that takes a value."""
    arms = []
    for o in options:
        if not o.takes_value:
            continue
        if o.choices:
            action = f'COMPREPLY=($(compgen -W "{" ".join(o.choices)}" -- "$cur"))'
        elif o.kind:
            action = f'COMPREPLY=($(compgen -{"d" if o.kind == "dir" else "f"} -- "$cur"))'
        else:
            action = "COMPREPLY=()"
        arms.append(f'        {"|".join(o.flags)}) {action}; return ;;')
    return arms


def _bash_words(options: Iterable[Option]) -> str:
    return " ".join(f for o in options for f in o.flags)


def bash(spec: Spec) -> str:
    global_values = [f for o in spec.options if o.takes_value for f in o.flags]
    arms = []
    for c in spec.commands:
        positional = (f'COMPREPLY=($(compgen -W "{" ".join(c.choices)}" -- "$cur"))' if c.choices
                      else 'COMPREPLY=($(compgen -f -- "$cur"))' if c.kind else "COMPREPLY=()")
        arms.append(f'''    {c.name})
        case "$prev" in
{chr(10).join(_bash_value_cases(c.options)) or "        '') ;;"}
        esac
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "{_bash_words(c.options)}" -- "$cur"))
        else
            {positional}
        fi ;;''')
    return f'''# bash completion for {PROG}; generated by `{PROG} completion bash`.
# Use: source <({PROG} completion bash), or save it as
# /usr/share/bash-completion/completions/{PROG}
_{PROG}() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="" cmd="" i
    ((COMP_CWORD > 0)) && prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${{COMP_WORDS[i]}}" in
            {"|".join(global_values) or "''"}) ((i++)) ;;
            -*) ;;
            *) cmd="${{COMP_WORDS[i]}}"; break ;;
        esac
    done
    case "$cmd" in
    "")
        case "$prev" in
{chr(10).join(_bash_value_cases(spec.options))}
        esac
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "{_bash_words(spec.options)}" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "{" ".join(c.name for c in spec.commands)}" -- "$cur"))
        fi ;;
{chr(10).join(arms)}
    esac
}}
complete -o filenames -F _{PROG} {PROG}
'''


# --- zsh -------------------------------------------------------------------------------------

def _zsh_option(o: Option) -> str:
    value = ""
    if o.takes_value:
        action = (f"({' '.join(o.choices)})" if o.choices else "_files -/" if o.kind == "dir"
                  else "_files" if o.kind else " ")
        label = next((f for f in o.flags if f.startswith("--")), o.flags[0]).lstrip("-")
        value = f":{label}:{action}"
    described = f"[{_clean(o.help)}]{value}'"
    if len(o.flags) == 1:
        return f"'{o.flags[0]}{described}"
    return f"'({' '.join(o.flags)})'{{{','.join(o.flags)}}}'{described}"


def zsh(spec: Spec) -> str:
    arms = []
    for c in spec.commands:
        specs = [_zsh_option(o) for o in c.options]
        if c.choices:
            specs.append(f"'1:argument:({' '.join(c.choices)})'")
        elif c.kind:
            specs.append("'*:path:_files'")
        arms.append(f"        {c.name}) _arguments \\\n            "
                    + " \\\n            ".join(specs) + " && ret=0 ;;")
    described = "\n".join(f"        '{c.name}:{_clean(c.help)}'" for c in spec.commands)
    global_options = "".join(f"{_zsh_option(o)} \\\n        " for o in spec.options)
    return f'''#compdef {PROG}
# zsh completion for {PROG}; generated by `{PROG} completion zsh`.
# Use: source <({PROG} completion zsh) after compinit, or save it as _{PROG} in $fpath.
_{PROG}() {{
    local curcontext="$curcontext" state line ret=1
    typeset -A opt_args
    _arguments -C \\
        {global_options}'1:command:->command' \\
        '*::argument:->argument' && ret=0
    case $state in
    command)
        local -a commands
        commands=(
{described}
        )
        _describe -t commands '{PROG} command' commands && ret=0 ;;
    argument)
        case $words[1] in
{chr(10).join(arms)}
        esac ;;
    esac
    return ret
}}
if [[ $funcstack[1] == _{PROG} ]]; then
    _{PROG} "$@"
else
    compdef _{PROG} {PROG}
fi
'''


# --- fish ------------------------------------------------------------------------------------

def _fish_option(o: Option, condition: str) -> str:
    parts = [f"complete -c {PROG} -n '{condition}'"]
    parts += [f"-s {f[1:]}" if not f.startswith("--") else f"-l {f[2:]}" for f in o.flags]
    if o.takes_value:
        if o.choices:
            parts.append(f"-x -a '{' '.join(o.choices)}'")
        elif o.kind == "dir":
            parts.append("-x -a '(__fish_complete_directories)'")
        else:
            parts.append("-r -F" if o.kind else "-x")
    return " ".join(parts) + (f" -d '{_clean(o.help)}'" if o.help else "")


def fish(spec: Spec) -> str:
    lines = [f"# fish completion for {PROG}; generated by `{PROG} completion fish`.",
             f"# Use: {PROG} completion fish | source, or save it as "
             f"~/.config/fish/completions/{PROG}.fish",
             f"complete -c {PROG} -f"]
    lines += [_fish_option(o, "__fish_use_subcommand") for o in spec.options]
    lines += [f"complete -c {PROG} -n '__fish_use_subcommand' -a {c.name} -d '{_clean(c.help)}'"
              for c in spec.commands]
    for c in spec.commands:
        seen = f"__fish_seen_subcommand_from {c.name}"
        lines += [_fish_option(o, seen) for o in c.options]
        if c.choices:
            lines.append(f"complete -c {PROG} -n '{seen}' -a '{' '.join(c.choices)}'")
        elif c.kind:
            lines.append(f"complete -c {PROG} -n '{seen}' -F")
    return "\n".join(lines) + "\n"


SHELLS: dict[str, Callable[[Spec], str]] = {"bash": bash, "zsh": zsh, "fish": fish}


# --- the command -----------------------------------------------------------------------------

EXAMPLES = f"""\
examples:
  source <({PROG} completion bash)                   # this shell only
  {PROG} completion bash > /etc/bash_completion.d/{PROG}
  {PROG} completion zsh > "${{fpath[1]}}/_{PROG}"        # then restart zsh
  {PROG} completion fish > ~/.config/fish/completions/{PROG}.fish
"""


def add_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    parser.epilog = EXAMPLES
    parser.add_argument("shell", choices=tuple(SHELLS), help="the shell to write the script for")


def script(shell: str) -> str:
    from .cli import build_parser

    return SHELLS[shell](spec_of(build_parser(every=True)))


def run(args: argparse.Namespace) -> int:
    from .cli import EXIT_OK

    sys.stdout.write(script(args.shell))
    return EXIT_OK
