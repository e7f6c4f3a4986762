"""Registries that make a new source kind or filter one small file plus one line.

A module registers itself with a decorator; the package ``__init__`` imports the
module (that import is the one line of registration).
"""
from __future__ import annotations

from typing import Callable, Dict, TypeVar

T = TypeVar("T")


def did_you_mean(name: str, known, cutoff: float = 0.6) -> str:
    """`` (did you mean 'x'?)`` for the known name closest to a misspelt one, else ``""``."""
    import difflib

    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1, cutoff=cutoff)
    if not close:
        return ""
    return f" (did you mean {close[0]}?)" if close[0].startswith("-") else f" (did you mean {close[0]!r}?)"


class UnknownName(KeyError, ValueError):
    """An unknown registry name (a KeyError for lookups, a ValueError for validators)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class Registry(Dict[str, type]):
    def __init__(self, what: str):
        super().__init__()
        self.what = what

    def register(self, name: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            if name in self and self[name] is not obj:
                raise ValueError(f"{self.what} {name!r} registered twice")
            self[name] = obj
            setattr(obj, "registry_name", name)
            return obj

        return deco

    def get_or_error(self, name: str):
        if name not in self:
            known = ", ".join(sorted(self)) or "none"
            hint = did_you_mean(name, self).strip(" ()")
            raise UnknownName(f"unknown {self.what} {name!r} ({hint + ' ' if hint else ''}known: {known})")
        return self[name]


SOURCES = Registry("source kind")  # kind -> SourceKind class (lists items, extracts documents)
FILTERS = Registry("filter")  # name -> Filter class
