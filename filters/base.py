"""A filter is one small class with one question: keep this record, or drop it and say why.

Counting, timing and writing dropped records live once, in the pipeline layer. A filter
may annotate the record it reads (a score, a language) before answering. Heavy state
(models) is loaded in :meth:`Filter.setup`, once per worker, not in ``__init__``.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple, Union

from telecom_etl.outcome import Dropped
from telecom_etl.record import Document
from telecom_etl.registry import FILTERS

Verdict = Union[None, bool, str, Dropped]


class Filter:
    registry_name = "filter"

    def setup(self) -> None:
        """Load heavy state (called once per worker before the first record)."""

    def filter(self, doc: Document) -> Verdict:  # pragma: no cover - abstract
        """Return None/True to keep, or False / a reason string / :class:`Dropped` to drop."""
        raise NotImplementedError

    @property
    def name(self) -> str:
        return self.registry_name

    def apply(self, doc: Document) -> Optional[Dropped]:
        verdict = self.filter(doc)
        if verdict is None or verdict is True:
            return None
        if verdict is False:
            return Dropped(self.name)
        if isinstance(verdict, str):
            return Dropped(self.name, verdict)
        if isinstance(verdict, Dropped):
            return verdict if verdict.rule else Dropped(self.name, verdict.detail)
        raise TypeError(f"filter {self.name} returned {type(verdict).__name__}")


def build_filter(spec) -> Filter:
    """Instantiate a filter from a manifest :class:`FilterSpec` (or a ``{"name": ...}`` dict)."""
    if isinstance(spec, dict):
        params = dict(spec)
        name = params.pop("name")
    else:
        name, params = spec.name, spec.params
    cls = FILTERS.get_or_error(name)
    params = _check_params(name, cls, params)
    try:
        return cls(**params)
    except TypeError as exc:
        raise TypeError(f"filter {name!r}: {exc}") from None


class BadParameter(TypeError):
    """A filter parameter the filter does not take, a required one left out, or a value of the
    wrong type. ``problem``: the message without the filter and parameter names (the manifest
    names them by the line's field, ``filters.profiles.default[0].min_chars``)."""

    def __init__(self, message: str, param: Optional[str] = None, problem: Optional[str] = None):
        super().__init__(message)
        self.param, self.problem = param, problem or message


def _check_params(name: str, cls, params: dict) -> dict:
    """Name unknown and missing parameters, and values of the wrong type, in the manifest's words
    (not Python's: ``min_chars: must be a whole number (got 'ten')``, never ``invalid literal for
    int()``). Returns the parameters to pass (one text where a list of texts is expected becomes a
    one-item list, as the manifest's ``[value]``)."""
    import inspect

    from telecom_etl.registry import did_you_mean

    try:
        sig = inspect.signature(cls.__init__)
    except (TypeError, ValueError):
        return params
    accepted = [p for p in list(sig.parameters.values())[1:] if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
        return params
    known = [p.name for p in accepted]
    for key in params:
        if key not in known:
            hint = did_you_mean(key, known).strip(" ()")
            raise BadParameter(f"filter {name!r} has no parameter {key!r} "
                               f"({hint + ' ' if hint else ''}parameters: {', '.join(known) or 'none'})", key)
    for p in accepted:
        if p.default is p.empty and p.name not in params:
            raise BadParameter(f"filter {name!r} needs the parameter {p.name!r}")
    hints = _type_hints(cls.__init__)
    out = dict(params)
    for key, value in params.items():
        if key in hints:
            try:
                out[key] = _as_type(value, hints[key], _is_path_param(key))
            except _Mismatch as exc:
                problem = f"must be {exc.expected} (got {_shown(value)})"
                raise BadParameter(f"filter {name!r}: {key}: {problem}", key, problem) from None
    return out


def _is_path_param(key: str) -> bool:
    from telecom_etl.manifest import PATH_KEYS

    return key in PATH_KEYS or key.endswith("_path")


def _type_hints(func) -> dict:
    import typing

    try:
        return typing.get_type_hints(func)
    except Exception:  # noqa: BLE001 - an annotation that cannot be resolved is not checked
        return {}


class _Mismatch(Exception):
    def __init__(self, expected: str):
        super().__init__(expected)
        self.expected = expected


def _shown(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (dict, list, tuple)):
        return "a mapping" if isinstance(value, dict) else "a list"
    return repr(value)


#: what a parameter of each annotated type must be, in the manifest's words
_SCALARS = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}
_PLURAL = {bool: "true or false values", int: "whole numbers", float: "numbers", str: "texts"}


def _as_type(value, hint, path: bool = False):
    """``value`` if it fits the annotation ``hint`` (a one-text list for a text given where a
    list of texts is expected); raises :class:`_Mismatch` with what was expected."""
    import collections.abc
    import typing

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is typing.Any or hint is object:
        return value
    if origin is typing.Union:
        options = [a for a in args if a is not type(None)]
        if value is None and len(options) < len(args):
            return None
        for option in options:
            try:
                return _as_type(value, option, path)
            except _Mismatch:
                continue
        expected = " or ".join(_describe(a, path) for a in options)
        raise _Mismatch(expected + (" or null" if len(options) < len(args) else ""))
    if hint in _SCALARS:
        ok = {bool: lambda v: isinstance(v, bool),
              int: lambda v: isinstance(v, int) and not isinstance(v, bool),
              float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
              str: lambda v: isinstance(v, str)}[hint](value)
        if hint is float and ok:
            return float(value)
        if hint is str and ok and path and not value.strip():
            raise _Mismatch(_describe(hint, path))
        if not ok:
            raise _Mismatch(_describe(hint, path))
        return value
    if origin in (list, tuple, collections.abc.Sequence, collections.abc.Iterable, collections.abc.Collection):
        if origin is tuple and len(args) > 1 and args[-1] is not Ellipsis:
            return value  # a fixed-size tuple: left to the filter
        item = args[0] if args else typing.Any
        if isinstance(value, str) and item is str:
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise _Mismatch(_describe(hint, path))
        try:
            return [_as_type(v, item, path) for v in value]
        except _Mismatch:
            raise _Mismatch(_describe(hint, path)) from None
    return value


def _describe(hint, path: bool = False) -> str:
    import typing

    if path and hint is str:
        return "a file path"
    if hint in _SCALARS:
        return _SCALARS[hint]
    args = typing.get_args(hint)
    item = args[0] if args else None
    if path and item is str:
        return "a list of file paths"
    return f"a list of {_PLURAL[item]}" if item in _PLURAL else "a list"


class FilterChain:
    """The filters of one profile, in order; the first drop wins."""

    def __init__(self, filters: Sequence[Filter]):
        self.filters: List[Filter] = list(filters)
        self._ready = False

    def setup(self) -> None:
        if not self._ready:
            for f in self.filters:
                f.setup()
            self._ready = True

    def apply(self, doc: Document) -> Tuple[Document, Optional[Dropped]]:
        self.setup()
        for f in self.filters:
            dropped = f.apply(doc)
            if dropped is not None:
                return doc, dropped
        return doc, None
