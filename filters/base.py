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
    _check_params(name, cls, params)
    try:
        return cls(**params)
    except TypeError as exc:
        raise TypeError(f"filter {name!r}: {exc}") from None


class BadParameter(TypeError):
    """A filter parameter the filter does not take, or a required one left out."""

    def __init__(self, message: str, param: Optional[str] = None):
        super().__init__(message)
        self.param = param


def _check_params(name: str, cls, params: dict) -> None:
    """Name unknown and missing parameters in the manifest's words (not Python's)."""
    import inspect

    from telecom_etl.registry import did_you_mean

    try:
        sig = inspect.signature(cls.__init__)
    except (TypeError, ValueError):
        return
    accepted = [p for p in list(sig.parameters.values())[1:] if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
        return
    known = [p.name for p in accepted]
    for key in params:
        if key not in known:
            hint = did_you_mean(key, known).strip(" ()")
            raise BadParameter(f"filter {name!r} has no parameter {key!r} "
                               f"({hint + ' ' if hint else ''}parameters: {', '.join(known) or 'none'})", key)
    for p in accepted:
        if p.default is p.empty and p.name not in params:
            raise BadParameter(f"filter {name!r} needs the parameter {p.name!r}")


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
