"""What a stage says about one record: keep it, or drop it and name the rule.

Failures are exceptions: the pipeline layer catches them and turns each into a
:class:`telecom_etl.record.Reject`, so pure code never writes try/except plumbing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional


@dataclass(frozen=True)
class Dropped:
    """A record (or input item) removed on purpose by ``rule``; ``detail`` says why."""

    rule: str
    detail: str = ""
    uri: Optional[str] = None  # set by extractors that skip an input before it is a document
    duplicate_of: Optional[str] = None  # set by dedup stages


@dataclass
class StageFailure(Exception):
    """Raised by a stage for an input it cannot process; ``reason`` is one clear line."""

    reason: str
    detail: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.reason

    def __repr__(self) -> str:  # Beam's dead-letter output carries repr(exception)
        return self.reason


class TooLarge(StageFailure, ValueError):
    """An input over a size limit (also a ValueError, as callers outside the pipeline expect)."""


def error_line(exc_type, exc_repr: str) -> str:
    """One readable line for a failure: ``ValueError: bad thing`` (no traceback)."""
    name = getattr(exc_type, "__name__", str(exc_type))
    text = exc_repr
    if text.startswith(name + "(") and text.endswith(")"):
        text = text[len(name) + 1:-1].strip("'\"")
    if isinstance(exc_type, type) and issubclass(exc_type, StageFailure):
        return text
    first = text.strip().splitlines()[0] if text.strip() else ""
    return f"{name}: {first}" if first else name


_MUPDF_CODE = re.compile(r"^code=\d+:\s*")


def readable_reason(exc: BaseException) -> str:
    """One readable line for an exception an extractor let through (never a bare class name):
    ``RecursionError`` from deeply nested tables, ``NotImplementedError`` from a parser,
    MuPDF's ``code=7: cycle in parent chain`` and the like."""
    if isinstance(exc, StageFailure):
        return exc.reason
    text = str(exc).strip()
    first = text.splitlines()[0].strip() if text else ""
    if isinstance(exc, RecursionError):
        return "input is nested too deeply to read (tables, lists, links or styles inside each other)"
    if isinstance(exc, MemoryError):
        return "out of memory while reading this input"
    if isinstance(exc, NotImplementedError):
        return f"input uses a feature the reader does not support{': ' + first if first else ''}"
    module = type(exc).__module__ or ""
    if module.startswith(("pymupdf", "fitz")) or _MUPDF_CODE.match(first):
        return f"broken PDF: {_MUPDF_CODE.sub('', first) or 'MuPDF could not read it'}"
    if isinstance(exc, UnicodeError):
        return f"text in an encoding the reader cannot decode ({first or type(exc).__name__})"
    if isinstance(exc, OSError) and getattr(exc, "strerror", None):
        return f"cannot read: {exc.strerror}"
    return f"cannot read this input: {first}" if first else "cannot read this input (unexpected failure)"
