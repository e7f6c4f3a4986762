"""Benchmark decontamination (``decontaminate``): n-gram overlap with evaluation sets.

A training document that contains a benchmark item's text (13 consecutive words by
default, as in GPT-3 and most decontamination since) is dropped, or flagged with
``action: flag``. The drop rule names the benchmark (``decontaminate.TeleQnA``) and the
detail lists the matched item ids, so the report counts hits per benchmark.

Benchmarks are files: TeleQnA's JSON (``{"question 0": {"question": ..., "option 1": ...,
"answer": "option 2: ...", "category": ...}}``), a JSON list of objects, or JSONL. By
default only the question is indexed: TeleQnA answers and explanations are often
worded like the spec they were written from, so indexing them would flag the source
specs themselves, not leaked test items. Items shorter than ``n`` words are indexed
whole when they have at least ``min_words`` words (shorter ones are too generic).

The matching core (:class:`BenchmarkIndex`, :func:`load_benchmark`) is pure and has no
pipeline dependency, so synthesis validation reuses it on generated pairs.
"""
from __future__ import annotations

import json
import os
from itertools import repeat
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

import numpy as np

from telecom_etl import io
from telecom_etl.filters.base import Filter
from telecom_etl.outcome import Dropped
from telecom_etl.registry import FILTERS

_WORD = re.compile(r"[^\W_]+")
# TeleQnA appends "[3GPP Release 18]" to standards questions; the tag is not item text.
_RELEASE_TAG = re.compile(r"\s*\[\s*3GPP Release \d+\s*\]\s*$", re.I)
_OPTION_REF = re.compile(r"^\s*option\s*(\d+)\s*:\s*", re.I)


def tokens(text: str) -> List[str]:
    """Lower-cased word tokens; punctuation, case and spacing do not hide a match."""
    return _WORD.findall(text.lower())


@dataclass(frozen=True)
class BenchmarkItem:
    id: str  # "<benchmark>:<item key>", e.g. "TeleQnA_sample300:question 12"
    texts: Tuple[str, ...]


def _teleqna_texts(item: dict, fields: Sequence[str]) -> List[str]:
    out = []
    for f in fields:
        value = item.get(f)
        if not isinstance(value, str) or not value.strip():
            continue
        if f == "question":
            value = _RELEASE_TAG.sub("", value)
        elif f == "answer":
            m = _OPTION_REF.match(value)  # "option 2: text" -> the option's text
            if m:
                value = item.get(f"option {m.group(1)}") or value[m.end():]
        out.append(value)
    return out


def load_benchmark(path: str, fields: Sequence[str] = ("question",), name: Optional[str] = None,
                   id_field: str = "id") -> List[BenchmarkItem]:
    """Items of a benchmark file: TeleQnA JSON (dict of items), a JSON list, or JSONL."""
    name = name or os.path.splitext(os.path.basename(path.rstrip("/")))[0]
    raw = io.read_bytes(path).decode("utf-8")  # local or any Beam filesystem (gs://...)
    try:
        data = json.loads(raw)
        records = list(data.items()) if isinstance(data, dict) else list(enumerate(data))
    except json.JSONDecodeError:
        records = []
        for i, line in enumerate(raw.splitlines()):
            if line.strip():
                try:
                    records.append((i, json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{i + 1}: not JSON or JSONL: {exc.msg}") from None
    items = []
    for key, rec in records:
        if isinstance(rec, str):
            rec = {"question": rec}
        if not isinstance(rec, dict):
            raise ValueError(f"{path}: item {key!r} is not an object")
        key = rec.get(id_field, key)
        texts = _teleqna_texts(rec, fields)
        if texts:
            items.append(BenchmarkItem(f"{name}:{key}", tuple(texts)))
    if not items:
        raise ValueError(f"{path}: no benchmark items with fields {list(fields)}")
    return items


_HASH_MUL = np.uint64(0x100000001B3)


def _rolling(ids: np.ndarray, n: int) -> np.ndarray:
    """64-bit polynomial hash of every n-gram of ``ids`` (vectorised)."""
    m = len(ids) - n + 1
    h = np.zeros(max(m, 0), dtype=np.uint64)
    if m > 0:
        with np.errstate(over="ignore"):
            for k in range(n):
                h = h * _HASH_MUL + ids[k:k + m]
    return h


@dataclass
class BenchmarkIndex:
    """N-grams of benchmark items; :meth:`matches` finds the items a text contains.

    Matching is vectorised: the text's words become ids of the benchmark vocabulary
    (unknown words can never match), every n-gram a 64-bit hash, and only hash hits
    are verified word by word against the stored n-grams, so results are exact."""

    n: int = 13
    min_words: int = 8
    grams: Dict[int, Dict[Tuple[str, ...], Set[str]]] = field(default_factory=dict)  # length -> gram -> ids
    vocab: Dict[str, int] = field(default_factory=dict)  # benchmark word -> id (>= 1)
    n_items: int = 0
    n_skipped_short: int = 0
    _hashes: Dict[int, np.ndarray] = field(default_factory=dict, repr=False)  # length -> sorted gram hashes

    def _ids(self, toks: Sequence[str]) -> np.ndarray:
        # map() over two iterables runs dict.get without a Python frame per word
        return np.fromiter(map(self.vocab.get, toks, repeat(0)), dtype=np.uint64, count=len(toks))

    def add(self, item: BenchmarkItem) -> None:
        self.n_items += 1
        indexed = False
        for text in item.texts:
            toks = tokens(text)
            if len(toks) < self.min_words:
                continue
            for t in toks:
                self.vocab.setdefault(t, len(self.vocab) + 1)
            size = min(self.n, len(toks))
            table = self.grams.setdefault(size, {})
            for i in range(len(toks) - size + 1):
                table.setdefault(tuple(toks[i:i + size]), set()).add(item.id)
            self._hashes.pop(size, None)
            indexed = True
        if not indexed:
            self.n_skipped_short += 1

    def _sorted_hashes(self, size: int) -> np.ndarray:
        if size not in self._hashes:
            grams = list(self.grams[size])
            ids = self._ids([t for g in grams for t in g]).reshape(len(grams), size)
            h = np.zeros(len(grams), dtype=np.uint64)
            with np.errstate(over="ignore"):
                for k in range(size):
                    h = h * _HASH_MUL + ids[:, k]
            self._hashes[size] = np.unique(h)
        return self._hashes[size]

    @classmethod
    def build(cls, items: Iterable[BenchmarkItem], n: int = 13, min_words: int = 8) -> "BenchmarkIndex":
        index = cls(n=int(n), min_words=int(min_words))
        for item in items:
            index.add(item)
        return index

    @classmethod
    def from_files(cls, paths: Sequence[str], n: int = 13, min_words: int = 8,
                   fields: Sequence[str] = ("question",)) -> "BenchmarkIndex":
        index = cls(n=int(n), min_words=int(min_words))
        for path in paths:
            for item in load_benchmark(path, fields):
                index.add(item)
        return index

    def matches(self, text: str) -> List[str]:
        """Sorted ids of the benchmark items whose n-grams occur in ``text``."""
        toks = tokens(text)
        if not toks or not self.grams:
            return []
        ids = self._ids(toks)
        found: Set[str] = set()
        for size in sorted(self.grams):
            h = _rolling(ids, size)
            if len(h) == 0:
                continue
            hits = np.flatnonzero(np.isin(h, self._sorted_hashes(size), assume_unique=False))
            table = self.grams[size]
            for pos in hits.tolist():
                got = table.get(tuple(toks[pos:pos + size]))  # exact check of a hash hit
                if got:
                    found.update(got)
        return sorted(found)


_INDEX_CACHE: Dict[tuple, BenchmarkIndex] = {}


@FILTERS.register("decontaminate")
class Decontaminate(Filter):
    def __init__(self, benchmarks: Sequence[str] = (), n: int = 13, min_words: int = 8,
                 fields: Sequence[str] = ("question",), action: str = "drop", max_ids: int = 10):
        if isinstance(benchmarks, str):
            benchmarks = [benchmarks]
        if not benchmarks:
            raise ValueError("decontaminate: 'benchmarks' must list at least one benchmark file")
        for p in benchmarks:
            if not (io.exists(p) if io.has_scheme(p) else os.path.isfile(p)):
                raise ValueError(f"decontaminate: benchmark file not found: {p}")
        if action not in ("drop", "flag"):
            raise ValueError(f"decontaminate: action must be 'drop' or 'flag', not {action!r}")
        if int(n) < 1 or int(min_words) < 1:
            raise ValueError("decontaminate: n and min_words must be positive")
        self.benchmarks = tuple(benchmarks)
        self.n, self.min_words, self.fields = int(n), int(min_words), tuple(fields)
        self.action, self.max_ids = action, int(max_ids)

    def setup(self):
        key = (self.benchmarks, self.n, self.min_words, self.fields)
        if key not in _INDEX_CACHE:  # one index per worker process, shared by all profiles
            _INDEX_CACHE[key] = BenchmarkIndex.from_files(self.benchmarks, self.n, self.min_words, self.fields)
        self.index = _INDEX_CACHE[key]

    def filter(self, doc):
        if not hasattr(self, "index"):
            self.setup()
        ids = self.index.matches(doc.text)
        if not ids:
            return None
        shown = ", ".join(ids[: self.max_ids]) + (f" (+{len(ids) - self.max_ids} more)" if len(ids) > self.max_ids else "")
        doc.extra["benchmark_matches"] = ",".join(ids)  # the report lists matched items from here
        if self.action == "flag":
            if "benchmark_overlap" not in doc.flags:
                doc.flags.append("benchmark_overlap")
            return None
        benchmark = ids[0].split(":", 1)[0]
        return Dropped(f"decontaminate.{benchmark}", f"{len(ids)} benchmark item(s): {shown}")
