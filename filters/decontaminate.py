"""Benchmark decontamination (``decontaminate``): remove evaluation items from training text.

A record that contains a benchmark item's text is, by default, **redacted**: the matched
span, widened to its sentence (or its markdown table row), is cut out and the rest of the
record is kept byte for byte. TeleQnA and ORAN-Bench are written from the very specs a
telecom corpus holds, so dropping every record with an overlap would drop the most
important specs to remove a handful of questions. Records shorter than
``drop_below_chars`` (a passage that is little more than the question), and records
whose redaction would remove more than ``max_redacted_share`` of the text, are dropped
instead; ``action: drop`` drops every match and ``action: flag`` only marks it. The
drop rule names the benchmark (``decontaminate.TeleQnA``); matched item ids and removed
character spans go to ``extra`` (``benchmark_matches``, ``benchmark_redacted``).

Matching (:class:`BenchmarkIndex`), on lower-cased word tokens:

* an item of at least ``n`` words (13, as in GPT-3 and most decontamination since)
  matches on any run of ``n`` of its consecutive words;
* an item of ``min_words`` to ``n - 1`` words matches on all its words in a row;
* a shorter item ("What is a mesh link?", a tenth of TeleQnA) matches on all its
  words in a row *that form a whole sentence of the text*: a sentence, line or list item
  boundary before, and ``?``/``.``/``!``/``:``, a line end or the end of the text after.
  That is how a leaked question appears, while the same words inside running text
  ("... see what is a mesh link for ...") are not a match.

By default only the question is indexed: TeleQnA answers and explanations are often
worded like the spec they were written from, so indexing them would flag the source
specs themselves, not leaked test items.

Benchmark files (:func:`load_benchmark`): TeleQnA JSON (``{"question 0": {"question": ...,
"option 1": ..., "answer": "option 2: ...", ...}}``), a JSON list (of objects, strings or
arrays), JSON Lines, ORAN-Bench's JSON Lines of ``[question, ["1. ...", ...], "k"]`` arrays
(even when named ``.json``), CSV/TSV with a ``question`` column, and ``.txt`` with one
question per line; UTF-8 with or without a BOM, LF or CRLF. A file that cannot be read
as any of these is one :class:`BenchmarkError` line naming the file (and line), raised
when the manifest loads.

The matching core is pure and has no pipeline dependency, so synthesis validation
(``synth/validate.py``) uses the same index on generated pairs.
"""
from __future__ import annotations

import csv
import io as _stdio
import json
import os
import re
from dataclasses import dataclass, field
from itertools import repeat
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Set, Tuple

import numpy as np

from telecom_etl import io
from telecom_etl.filters.base import Filter
from telecom_etl.outcome import Dropped
from telecom_etl.registry import FILTERS

_WORD = re.compile(r"[^\W_]+")
# TeleQnA appends "[3GPP Release 18]" (or a topic, "[TCP/IP]") to questions; the tag is not item text.
_RELEASE_TAG = re.compile(r"\s*\[\s*3GPP Release \d+\s*\]\s*$|(?<=[?.])\s*\[[^\]\n]{1,40}\]\s*$", re.I)
_OPTION_REF = re.compile(r"^\s*option\s*(\d+)\s*:\s*", re.I)
_NUMBERED = re.compile(r"^\s*\(?(\d+)[.):]\s*")  # ORAN-Bench options: "1. text"

FORMATS = ("TeleQnA JSON", "a JSON list", "JSON Lines", "ORAN-Bench JSON Lines arrays",
           "CSV/TSV with a 'question' column", ".txt with one question per line")


class BenchmarkError(ValueError):
    """A benchmark file that cannot be read: one line naming the file (and line)."""


def tokens(text: str) -> List[str]:
    """Lower-cased word tokens; punctuation, case and spacing do not hide a match."""
    return _WORD.findall(text.lower())


@dataclass(frozen=True)
class BenchmarkItem:
    id: str  # "<benchmark>:<item key>", e.g. "TeleQnA_sample300:question 12"
    texts: Tuple[str, ...]


# ---------------------------------------------------------------------------
# reading benchmark files
# ---------------------------------------------------------------------------

def _decode(raw: bytes, path: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"  # strips a UTF-8 BOM when there is one
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise BenchmarkError(f"{path}: not UTF-8 text (byte {exc.start}): not a benchmark file") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _option_text(option) -> str:
    return _NUMBERED.sub("", str(option), count=1)


def _array_record(rec: list, where: str) -> dict:
    """ORAN-Bench's ``[question, ["1. ...", ...], "k"]`` as a TeleQnA-shaped object."""
    if not rec or not isinstance(rec[0], str):
        raise BenchmarkError(f"{where}: an array item must start with the question text")
    out = {"question": rec[0]}
    options = rec[1] if len(rec) > 1 and isinstance(rec[1], list) else []
    for i, option in enumerate(options, 1):
        out[f"option {i}"] = _option_text(option)
    if len(rec) > 2 and str(rec[2]).strip().isdigit():
        k = int(str(rec[2]).strip())
        if 1 <= k <= len(options):
            out["answer"] = f"option {k}: {out[f'option {k}']}"
    return out


def _teleqna_texts(item: dict, fields: Sequence[str]) -> List[str]:
    out = []
    for f in fields:
        value = item.get(f)
        if value is None and f == "question":
            value = item.get("Question")
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


def _json_records(text: str, path: str):
    """(key, record, line) of a JSON document or of JSON Lines; None when it is neither."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    else:
        if isinstance(data, dict):
            return [(k, v, None) for k, v in data.items()]
        if isinstance(data, list):
            return [(i, v, None) for i, v in enumerate(data)]
        raise BenchmarkError(f"{path}: a JSON benchmark is an object of items or a list, not a {type(data).__name__}")
    records = []
    for i, line in enumerate(text.split("\n")):
        if not line.strip():
            continue
        try:
            records.append((i, json.loads(line), i + 1))
        except json.JSONDecodeError as exc:
            if not records:
                return None
            raise BenchmarkError(f"{path}:{i + 1}: not JSON Lines: {exc.msg}") from None
    return records


def _table_records(text: str, path: str, delimiter: str):
    rows = csv.reader(_stdio.StringIO(text), delimiter=delimiter)
    header = next(rows, None) or []
    names = [h.strip().lower() for h in header]
    if "question" not in names:
        raise BenchmarkError(f"{path}:1: no 'question' column (columns: {', '.join(header) or 'none'})")
    q = names.index("question")
    key = names.index("id") if "id" in names else None
    answer = names.index("answer") if "answer" in names else None
    out = []
    for line, row in enumerate(rows, 2):
        if len(row) <= q or not row[q].strip():
            continue
        rec = {"question": row[q]}
        if answer is not None and len(row) > answer:
            rec["answer"] = row[answer]
        out.append((row[key] if key is not None and len(row) > key and row[key] else line - 2, rec, line))
    return out


def _looks_tabular(text: str) -> Optional[str]:
    first = text.lstrip("\n").split("\n", 1)[0]
    for delimiter in ("\t", ",", ";"):
        if delimiter in first and "question" in [c.strip().strip('"').lower() for c in first.split(delimiter)]:
            return delimiter
    return None


def load_benchmark(path: str, fields: Sequence[str] = ("question",), name: Optional[str] = None,
                   id_field: str = "id") -> List[BenchmarkItem]:
    """Items of a benchmark file (see the module docstring for the formats); :class:`BenchmarkError` if unreadable."""
    name = name or os.path.splitext(os.path.basename(path.rstrip("/")))[0]
    from telecom_etl.outcome import StageFailure

    try:
        raw = io.read_bytes(path)  # local or any Beam filesystem (gs://...)
    except (OSError, ValueError, StageFailure) as exc:
        raise BenchmarkError(f"{path}: cannot read benchmark file: {exc}") from None
    text = _decode(raw, path)
    if not text.strip():
        raise BenchmarkError(f"{path}: empty benchmark file")
    ext = os.path.splitext(path)[1].lower()
    delimiter = {".csv": ",", ".tsv": "\t"}.get(ext)
    if delimiter is None and ext not in (".json", ".jsonl", ".ndjson", ".txt", ".text"):
        delimiter = _looks_tabular(text)
    if delimiter is not None:
        records = _table_records(text, path, delimiter)
    elif ext in (".txt", ".text"):
        records = [(i, line.strip(), i + 1) for i, line in enumerate(text.split("\n")) if line.strip()]
    else:
        records = _json_records(text, path)
        if records is None:
            lead = text.lstrip()[:1]
            if ext in (".json", ".jsonl", ".ndjson") or lead in "[{":
                try:
                    json.loads(text)
                except json.JSONDecodeError as exc:
                    raise BenchmarkError(f"{path}:{exc.lineno}: not JSON or JSON Lines: {exc.msg}") from None
            raise BenchmarkError(f"{path}: unrecognised benchmark format (expected {', '.join(FORMATS)})")
    items = []
    for key, rec, line in records:
        where = f"{path}:{line}" if line else path
        if isinstance(rec, str):
            rec = {"question": rec}
        elif isinstance(rec, list):
            rec = _array_record(rec, where)
        if not isinstance(rec, dict):
            raise BenchmarkError(f"{where}: item {key!r} is a {type(rec).__name__}, not a question "
                                 f"(expected {', '.join(FORMATS)})")
        key = rec.get(id_field, key)
        texts = _teleqna_texts(rec, fields)
        if texts:
            items.append(BenchmarkItem(f"{name}:{key}", tuple(texts)))
    if not items:
        raise BenchmarkError(f"{path}: no benchmark items with field(s) {', '.join(fields)}")
    return items


_ITEMS_CACHE: Dict[tuple, List[BenchmarkItem]] = {}


def cached_benchmark(path: str, fields: Sequence[str] = ("question",)) -> List[BenchmarkItem]:
    """:func:`load_benchmark`, read once per process (the manifest check and the workers share it)."""
    key = (path, tuple(fields))
    if key not in _ITEMS_CACHE:
        _ITEMS_CACHE[key] = load_benchmark(path, fields)
    return _ITEMS_CACHE[key]


# ---------------------------------------------------------------------------
# the index
# ---------------------------------------------------------------------------

_HASH_MUL = 0x100000001B3  # odd, so invertible mod 2**64
_HASH_INV = pow(_HASH_MUL, -1, 1 << 64)
_powers: List[np.ndarray] = []


def _power_tables(n: int) -> Tuple[np.ndarray, np.ndarray]:
    """(B**i, B**-i) mod 2**64 for i <= n (cached, grown by doubling)."""
    if not _powers or _powers[0].size <= n:
        size = max(1 << 12, 1 << (n + 1).bit_length())
        with np.errstate(over="ignore"):
            up = np.full(size, _HASH_MUL, dtype=np.uint64)
            up[0] = 1
            down = np.full(size, _HASH_INV, dtype=np.uint64)
            down[0] = 1
            _powers[:] = [np.cumprod(up), np.cumprod(down)]
    return _powers[0], _powers[1]


class _WindowHasher:
    """Hashes of every run of consecutive word ids of one text, any run length, in O(1) passes each:
    prefix sums of ``id[j] * B**-j`` and one multiplication by ``B**(i+len-1)`` per window."""

    def __init__(self, ids: np.ndarray):
        up, down = _power_tables(ids.size + 1)
        self.up = up
        with np.errstate(over="ignore"):
            self.prefix = np.zeros(ids.size + 1, dtype=np.uint64)
            np.cumsum(ids * down[:ids.size], out=self.prefix[1:])
        known = ids != 0
        # words from each position up to the next word the benchmarks never use (no run crosses it)
        unknown = np.flatnonzero(~known)
        nxt = np.searchsorted(unknown, np.arange(ids.size))
        stops = np.append(unknown, ids.size)[nxt]
        self.known_run = stops - np.arange(ids.size)

    def windows(self, size: int) -> Tuple[np.ndarray, np.ndarray]:
        """(start positions, hashes) of the runs of ``size`` known words."""
        starts = np.flatnonzero(self.known_run >= size)
        with np.errstate(over="ignore"):
            h = (self.prefix[starts + size] - self.prefix[starts]) * self.up[starts + size - 1]
        return starts, h


class Hit(NamedTuple):
    item: str  # benchmark item id
    start: int  # character span of the matched words in the text
    end: int


_OPENERS = set("\"'([{*_#>-\u201c\u2018\u00ab")
_SENTENCE_BEFORE = set(".?!:;)]|")
_CLOSERS = set("\"')]}*_\u201d\u2019\u00bb")
_SENTENCE_AFTER = set("?.!:;|")


def whole_sentence(text: str, start: int, end: int) -> bool:
    """True when ``text[start:end]`` stands as a sentence: a boundary before it and after it.

    Before: the start of the text, a line break, or sentence/list punctuation (``. ? ! : ; )``,
    so "Q1: ...", "1. ..." and "2) ..." count), past opening quotes and markup. After: ``? . ! : ;``,
    a line break or the end of the text, past closing quotes and markup.
    """
    i = start - 1
    while i >= 0 and (text[i] in " \t" or text[i] in _OPENERS):
        i -= 1
    if i >= 0 and text[i] not in "\n\r" and text[i] not in _SENTENCE_BEFORE:
        return False
    j = end
    while j < len(text) and (text[j] in " \t" or text[j] in _CLOSERS):
        j += 1
    return j >= len(text) or text[j] in "\n\r" or text[j] in _SENTENCE_AFTER


@dataclass
class BenchmarkIndex:
    """Word runs of benchmark items; :meth:`find` locates the items a text contains.

    Matching is vectorised: the text's words become ids of the benchmark vocabulary
    (unknown words can never match), every run a 64-bit hash per run length, and only
    hash hits are verified word by word against the stored runs, so results are exact.
    Runs shorter than ``min_words`` must also stand as a whole sentence (:func:`whole_sentence`).
    """

    n: int = 13
    min_words: int = 8
    short_min_words: int = 3  # items with fewer words are not indexed at all
    grams: Dict[int, Dict[Tuple[str, ...], Set[str]]] = field(default_factory=dict)  # length -> run -> ids
    vocab: Dict[str, int] = field(default_factory=dict)  # benchmark word -> id (>= 1)
    n_items: int = 0
    n_short: int = 0  # items matched as whole sentences
    n_skipped_short: int = 0  # items too short to index at all
    _hashes: Dict[int, np.ndarray] = field(default_factory=dict, repr=False)  # length -> sorted run hashes

    def _ids(self, toks: Sequence[str]) -> np.ndarray:
        # map() over two iterables runs dict.get without a Python frame per word
        return np.fromiter(map(self.vocab.get, toks, repeat(0)), dtype=np.uint64, count=len(toks))

    def add(self, item: BenchmarkItem) -> None:
        self.n_items += 1
        indexed = short = False
        for text in item.texts:
            toks = tokens(text)
            if len(toks) < self.short_min_words:
                continue
            for t in toks:
                self.vocab.setdefault(t, len(self.vocab) + 1)
            size = min(self.n, len(toks))
            table = self.grams.setdefault(size, {})
            for i in range(len(toks) - size + 1):
                table.setdefault(tuple(toks[i:i + size]), set()).add(item.id)
            self._hashes.pop(size, None)
            indexed = True
            short = short or size < self.min_words
        if not indexed:
            self.n_skipped_short += 1
        elif short:
            self.n_short += 1

    def _sorted_hashes(self, size: int) -> np.ndarray:
        if size not in self._hashes:
            grams = list(self.grams[size])
            ids = self._ids([t for g in grams for t in g]).reshape(len(grams), size)
            h = np.zeros(len(grams), dtype=np.uint64)
            mul = np.uint64(_HASH_MUL)
            with np.errstate(over="ignore"):
                for k in range(size):
                    h = h * mul + ids[:, k]
            self._hashes[size] = np.unique(h)
        return self._hashes[size]

    def prepare(self) -> "BenchmarkIndex":
        """Compute every run length's sorted hashes now (else on first use)."""
        for size in self.grams:
            self._sorted_hashes(size)
        return self

    @classmethod
    def build(cls, items: Iterable[BenchmarkItem], n: int = 13, min_words: int = 8,
              short_min_words: int = 3) -> "BenchmarkIndex":
        index = cls(n=int(n), min_words=int(min_words), short_min_words=int(short_min_words))
        for item in items:
            index.add(item)
        return index.prepare()

    @classmethod
    def from_files(cls, paths: Sequence[str], n: int = 13, min_words: int = 8,
                   fields: Sequence[str] = ("question",), short_min_words: int = 3) -> "BenchmarkIndex":
        return cls.build((item for path in paths for item in cached_benchmark(path, fields)), n, min_words,
                         short_min_words)

    def _candidates(self, toks: Sequence[str]) -> List[Tuple[int, int]]:
        """(run length, word position) of every hash hit, longest runs first."""
        if not toks or not self.grams:
            return []
        hasher = _WindowHasher(self._ids(toks))
        out = []
        for size in sorted(self.grams, reverse=True):
            starts, h = hasher.windows(size)
            if not h.size:
                continue
            table = self._sorted_hashes(size)
            at = np.minimum(np.searchsorted(table, h), len(table) - 1)
            out.extend((size, int(pos)) for pos in starts[table[at] == h])
        return out

    def find(self, text: str) -> List[Hit]:
        """Every benchmark item occurrence in ``text``, with the character span of the matched words."""
        low = text.lower()
        if len(low) != len(text):  # lower() grew a character (rare): offsets from the original text
            spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
            return self._hits(text, [text[a:b].lower() for a, b in spans], lambda i: spans[i])
        # words chunk by chunk at line breaks, so that only the chunks with a hit are read again for offsets
        cuts, toks, first = [0], [], [0]
        while cuts[-1] < len(low):
            end = low.find("\n", cuts[-1] + 65536)
            end = len(low) if end < 0 else end
            toks.extend(_WORD.findall(low, cuts[-1], end))
            cuts.append(end)
            first.append(len(toks))
        spans: Dict[int, List[Tuple[int, int]]] = {}

        def span(i: int) -> Tuple[int, int]:
            chunk = int(np.searchsorted(first, i, side="right")) - 1
            if chunk not in spans:
                spans[chunk] = [(m.start(), m.end()) for m in _WORD.finditer(low, cuts[chunk], cuts[chunk + 1])]
            return spans[chunk][i - first[chunk]]

        return self._hits(text, toks, span)

    def _hits(self, text: str, toks: List[str], span) -> List[Hit]:
        hits = []
        for size, pos in self._candidates(toks):
            ids = self.grams[size].get(tuple(toks[pos:pos + size]))  # exact check of a hash hit
            if not ids:
                continue
            start, end = span(pos)[0], span(pos + size - 1)[1]
            if size < self.min_words and not whole_sentence(text, start, end):
                continue
            hits.extend(Hit(i, start, end) for i in sorted(ids))
        return sorted(hits, key=lambda h: (h.start, h.end, h.item))

    def matches(self, text: str) -> List[str]:
        """Sorted ids of the benchmark items ``text`` contains."""
        return sorted({h.item for h in self.find(text)})


# ---------------------------------------------------------------------------
# redaction
# ---------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"[.?!](?=\s|$)")
_TAG_AFTER = re.compile(r"[ \t]*\[[^\]\n]{1,40}\](?=\s|$)")


def _widen(text: str, start: int, end: int) -> Tuple[int, int]:
    """The sentence around ``text[start:end]`` (within its line), or its whole line when the line is
    a markdown table row or would be left with nothing but the match."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    if text[line_start:line_end].lstrip().startswith("|"):  # a table row: the whole row
        return line_start, min(line_end + 1, len(text))
    begin = line_start
    for m in _SENTENCE_END.finditer(text, line_start, start):
        begin = m.end()
    m = _SENTENCE_END.search(text, end, line_end)
    stop = m.end() if m else line_end
    tag = _TAG_AFTER.match(text, stop, line_end)  # "? [3GPP Release 18]": the item's tag goes with it
    stop = tag.end() if tag else stop
    while begin < start and text[begin] in " \t":
        begin += 1
    if text[stop:line_end].strip():  # a sentence follows: the space before it goes too
        while stop < line_end and text[stop] in " \t":
            stop += 1
    else:  # the last sentence of the line: the space before it goes
        stop = line_end
        while begin > line_start and text[begin - 1] in " \t":
            begin -= 1
    if not text[line_start:begin].strip() and not text[stop:line_end].strip():  # nothing left on the line
        return line_start, min(line_end + 1, len(text))
    return begin, stop


def redaction_spans(text: str, hits: Sequence[Hit]) -> List[Tuple[int, int]]:
    """Merged, sorted character spans to remove: each hit widened to its sentence or table row."""
    spans = sorted(_widen(text, h.start, h.end) for h in hits)
    merged: List[Tuple[int, int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def remove_spans(text: str, spans: Sequence[Tuple[int, int]]) -> str:
    """``text`` without ``spans`` (sorted, disjoint); everything else byte for byte."""
    parts, last = [], 0
    for a, b in spans:
        parts.append(text[last:a])
        last = b
    parts.append(text[last:])
    return "".join(parts)


# ---------------------------------------------------------------------------
# the filter
# ---------------------------------------------------------------------------

_INDEX_CACHE: Dict[tuple, BenchmarkIndex] = {}
ACTIONS = ("redact", "drop", "flag")


def shared_index(benchmarks: Sequence[str], n: int = 13, min_words: int = 8, fields: Sequence[str] = ("question",),
                 short_min_words: int = 3) -> BenchmarkIndex:
    """One index per process for the same files and settings (the filter profiles and synthesis share it)."""
    key = (tuple(benchmarks), int(n), int(min_words), tuple(fields), int(short_min_words))
    if key not in _INDEX_CACHE:
        _INDEX_CACHE[key] = BenchmarkIndex.from_files(list(benchmarks), n, min_words, fields, short_min_words)
    return _INDEX_CACHE[key]


@FILTERS.register("decontaminate")
class Decontaminate(Filter):
    """Remove benchmark items from records: redact long records, drop short ones, or flag."""

    def __init__(self, benchmarks: Sequence[str] = (), n: int = 13, min_words: int = 8, short_min_words: int = 3,
                 fields: Sequence[str] = ("question",), action: str = "redact", drop_below_chars: int = 2000,
                 max_redacted_share: float = 0.5, max_ids: int = 10):
        if isinstance(benchmarks, str):
            benchmarks = [benchmarks]
        if not benchmarks:
            raise ValueError("decontaminate: 'benchmarks' must list at least one benchmark file")
        if action not in ACTIONS:
            raise ValueError(f"decontaminate: action must be one of {', '.join(ACTIONS)}, not {action!r}")
        if int(n) < 1 or int(min_words) < 1 or int(short_min_words) < 1:
            raise ValueError("decontaminate: n, min_words and short_min_words must be positive")
        if not 0 <= float(max_redacted_share) <= 1 or int(drop_below_chars) < 0:
            raise ValueError("decontaminate: max_redacted_share must be in [0, 1] and drop_below_chars >= 0")
        if isinstance(fields, str):
            fields = [fields]
        for p in benchmarks:
            if not (io.exists(p) if io.has_scheme(p) else os.path.isfile(p)):
                raise ValueError(f"decontaminate: benchmark file not found: {p}")
            try:  # read now: an unreadable file is a manifest error, before any work
                cached_benchmark(p, tuple(fields))
            except BenchmarkError as exc:
                raise ValueError(f"decontaminate: {exc}") from None
        self.benchmarks = tuple(benchmarks)
        self.n, self.min_words, self.short_min_words = int(n), int(min_words), int(short_min_words)
        self.fields = tuple(fields)
        self.action, self.max_ids = action, int(max_ids)
        self.drop_below_chars, self.max_redacted_share = int(drop_below_chars), float(max_redacted_share)

    def setup(self):
        self.index = shared_index(self.benchmarks, self.n, self.min_words, self.fields, self.short_min_words)

    def _shown(self, ids: List[str]) -> str:
        more = f" (+{len(ids) - self.max_ids} more)" if len(ids) > self.max_ids else ""
        return ", ".join(ids[: self.max_ids]) + more

    def filter(self, doc):
        if not hasattr(self, "index"):
            self.setup()
        hits = self.index.find(doc.text)
        if not hits:
            return None
        ids = sorted({h.item for h in hits})
        doc.extra["benchmark_matches"] = ",".join(ids)  # the report lists matched items from here
        if self.action == "flag":
            if "benchmark_overlap" not in doc.flags:
                doc.flags.append("benchmark_overlap")
            return None
        benchmark = ids[0].split(":", 1)[0]
        rule = f"decontaminate.{benchmark}"
        if self.action == "redact":
            if len(doc.text) < self.drop_below_chars:
                return Dropped(rule, f"{len(ids)} benchmark item(s) in a record of {len(doc.text)} chars "
                                     f"(< drop_below_chars {self.drop_below_chars}): {self._shown(ids)}")
            spans = redaction_spans(doc.text, hits)
            removed = sum(b - a for a, b in spans)
            if removed > self.max_redacted_share * len(doc.text):
                return Dropped(rule, f"{len(ids)} benchmark item(s) cover {removed} of {len(doc.text)} chars "
                                     f"(> max_redacted_share {self.max_redacted_share:g}): {self._shown(ids)}")
            from telecom_etl.record import content_hash

            doc.text = remove_spans(doc.text, spans)
            if doc.content_hash is not None:
                doc.content_hash = content_hash(doc.text)
            doc.extra["benchmark_redacted"] = ",".join(f"{a}-{b}" for a, b in spans)  # spans of the original text
            doc.extra["benchmark_redacted_chars"] = str(removed)
            if "benchmark_redacted" not in doc.flags:
                doc.flags.append("benchmark_redacted")
            return None
        return Dropped(rule, f"{len(ids)} benchmark item(s): {self._shown(ids)}")
