"""Immutable value objects, without the ``dataclasses`` module.

``dataclasses`` imports ``inspect`` (and with it ``ast``, ``dis``, ``tokenize``) and generates
and compiles the methods of every class it decorates: together about 40 ms at every start of
``bouncewatch classify``, more than classifying a hundred messages. This base gives the same
contract for the matcher's types: fields named in ``__slots__``, each set once by ``__init__``
(with ``init_field``) and read-only after; equality and hashing by value; a readable ``repr``;
``replace``; pickling. ``tests/test_engine.py`` checks that every ``__init__`` takes its
class's fields in slot order (``replace`` and pickling pass them by position).
"""
from __future__ import annotations

TYPE_CHECKING = False  # typing costs start-up time; only type checkers need it
if TYPE_CHECKING:
    from typing import Self

#: Sets one field of a frozen value; for its ``__init__`` only.
init_field = object.__setattr__


class FrozenError(AttributeError):
    """An attempt to change or delete a field of a frozen value."""


class Frozen:
    """Base of an immutable value type whose fields are its ``__slots__``, except those it
    names ``_derived``: values its ``__init__`` computes once from the fields (kept for cheap
    reading; not passed to ``__init__``, compared or copied)."""

    __slots__: tuple[str, ...] = ()
    _derived: tuple[str, ...] = ()

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The fields ``__init__`` takes, in order."""
        return tuple(name for name in cls.__slots__ if name not in cls._derived)

    def values(self) -> tuple[object, ...]:
        """The fields' values, in slot order."""
        return tuple([getattr(self, name) for name in self.field_names()])

    def replace(self, **changes: object) -> Self:
        """A copy with the named fields changed (``dataclasses.replace``)."""
        names = self.field_names()
        unknown = changes.keys() - set(names)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {sorted(unknown)[0]!r}")
        return type(self)(*[changes.get(name, getattr(self, name)) for name in names])

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenError(f"cannot assign to field {name!r} of a frozen {type(self).__name__}")

    def __delattr__(self, name: str) -> None:
        raise FrozenError(f"cannot delete field {name!r} of a frozen {type(self).__name__}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.values() == other.values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self.values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.field_names())
        return f"{type(self).__name__}({fields})"

    def __reduce__(self) -> tuple[type[Self], tuple[object, ...]]:
        return type(self), self.values()
