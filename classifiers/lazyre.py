"""Regular expressions compiled on first use, for the detectors' own patterns.

Compiling every detector's patterns at import cost ``bouncewatch classify`` about 15 ms per
start, most of it for formats the messages at hand never reach. A ``LazyPattern`` compiles
when one of its methods is first asked for, then puts the compiled pattern's own methods in
its slots: later calls cost what calls on an ``re.Pattern`` cost.
"""
from __future__ import annotations

import re

TYPE_CHECKING = False  # typing costs start-up time; only type checkers need it
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

#: The methods of ``re.Pattern`` a LazyPattern offers.
METHODS = ("search", "match", "fullmatch", "findall", "finditer", "sub", "split")


class LazyPattern:
    """``re.compile(pattern, flags)``, done when a method is first used."""

    __slots__ = ("pattern", "flags") + METHODS
    search: Callable[..., re.Match[str] | None]
    match: Callable[..., re.Match[str] | None]
    fullmatch: Callable[..., re.Match[str] | None]
    findall: Callable[..., list[str] | list[tuple[str, ...]]]
    finditer: Callable[..., Iterator[re.Match[str]]]
    sub: Callable[..., str]
    split: Callable[..., list[str]]

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags

    def compile(self) -> re.Pattern[str]:
        """The compiled pattern (``re`` keeps compiled patterns: compiling again is a lookup)."""
        return re.compile(self.pattern, self.flags)

    def __getattr__(self, name: str) -> object:
        """Called only for a method whose slot is still empty: the first use."""
        if name not in METHODS:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        compiled = self.compile()
        for method in METHODS:
            setattr(self, method, getattr(compiled, method))
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"LazyPattern({self.pattern!r}, {self.flags!r})"
