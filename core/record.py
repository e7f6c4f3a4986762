"""The one document record of telecom-etl and its Parquet schema.

Every extractor produces :class:`Document`, every filter and dedup stage reads and
annotates it, and every writer goes through :data:`PRETRAIN_SCHEMA`, so trainers,
polars and duckdb see the same columns from every source.

Column names follow what trainers and the Hugging Face ecosystem expect (``id``,
``text``, ``source``, ``lang``); domain metadata is typed (``spec_release`` is an int,
``authors`` a list), and a source-specific remainder goes into ``extra``
(map<string,string>), so new sources never need a schema change to carry a field.
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Optional

import pyarrow as pa

SCHEMA_VERSION = "1.1"  # 1.1: scores/extra as list<struct<key, value>> (datasets-loadable)

KINDS = ("3gpp", "paper", "code", "text")


@dataclass
class Document:
    id: str
    text: str
    source: str  # manifest source name
    kind: str  # one of KINDS
    uri: str
    title: Optional[str] = None
    license: Optional[str] = None
    lang: Optional[str] = None
    lang_score: Optional[float] = None
    date: Optional[str] = None  # ISO date (YYYY-MM or YYYY-MM-DD) when known
    # 3GPP / ETSI specifications
    spec_number: Optional[str] = None  # "38.211"
    spec_type: Optional[str] = None  # "TS" / "TR"
    spec_version: Optional[str] = None  # "18.1.0"
    spec_release: Optional[int] = None  # 18
    spec_series: Optional[str] = None  # "38"
    working_group: Optional[str] = None  # "RAN1"
    clause_path: Optional[str] = None  # "5.3.5" for clause-level records
    clause_title: Optional[str] = None
    # papers
    authors: list[str] = field(default_factory=list)
    doi: Optional[str] = None
    arxiv_id: Optional[str] = None
    categories: list[str] = field(default_factory=list)
    page_count: Optional[int] = None
    # code
    repo: Optional[str] = None
    commit: Optional[str] = None
    path: Optional[str] = None
    code_language: Optional[str] = None
    # per-stage annotations
    scores: dict[str, float] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)
    content_hash: Optional[str] = None

    # ---- derived values -------------------------------------------------
    @property
    def n_chars(self) -> int:
        return len(self.text)

    @property
    def n_tokens(self) -> int:
        return estimate_tokens(self.text)

    def replace(self, **changes: Any) -> "Document":
        return dataclasses.replace(self, **changes)

    def to_row(self) -> dict:
        row = dataclasses.asdict(self)
        row["scores"] = [{"key": k, "value": v} for k, v in sorted(self.scores.items())]
        row["extra"] = [{"key": k, "value": v} for k, v in sorted(self.extra.items())]
        row["n_chars"] = self.n_chars
        row["n_tokens"] = self.n_tokens
        row["schema_version"] = SCHEMA_VERSION
        if row["content_hash"] is None:
            row["content_hash"] = content_hash(self.text)
        return row

    @classmethod
    def from_row(cls, row: dict) -> "Document":
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in row.items() if k in names}
        for key in ("scores", "extra"):
            kwargs[key] = as_dict(kwargs.get(key))
        for key in ("authors", "categories", "flags"):
            kwargs[key] = list(kwargs.get(key) or [])
        return cls(**kwargs)


def KEY_VALUES(value_type: pa.DataType) -> pa.DataType:
    """A string-keyed mapping as ``list<struct<key, value>>``, sorted by key.

    Not an Arrow ``map``: 🤗 datasets cannot load map columns, and trainers load these
    shards with ``load_dataset("parquet", ...)``. polars and duckdb read it as a list of
    structs; :func:`as_dict` turns a row's value back into a dict.
    """
    return pa.list_(pa.struct([("key", pa.string()), ("value", value_type)]))


def as_dict(value) -> dict:
    """A ``scores``/``extra`` value as read from Parquet (list of {key, value}, list of
    pairs from an older map column, or a dict) as a plain dict."""
    if not value:
        return {}
    if isinstance(value, dict):
        return dict(value)
    out = {}
    for item in value:
        if isinstance(item, dict):
            out[item["key"]] = item["value"]
        else:
            k, v = item
            out[k] = v
    return out


PRETRAIN_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("text", pa.large_string()),
        ("source", pa.string()),
        ("kind", pa.string()),
        ("uri", pa.string()),
        ("title", pa.string()),
        ("license", pa.string()),
        ("lang", pa.string()),
        ("lang_score", pa.float64()),
        ("date", pa.string()),
        ("spec_number", pa.string()),
        ("spec_type", pa.string()),
        ("spec_version", pa.string()),
        ("spec_release", pa.int32()),
        ("spec_series", pa.string()),
        ("working_group", pa.string()),
        ("clause_path", pa.string()),
        ("clause_title", pa.string()),
        ("authors", pa.list_(pa.string())),
        ("doi", pa.string()),
        ("arxiv_id", pa.string()),
        ("categories", pa.list_(pa.string())),
        ("page_count", pa.int32()),
        ("repo", pa.string()),
        ("commit", pa.string()),
        ("path", pa.string()),
        ("code_language", pa.string()),
        ("scores", KEY_VALUES(pa.float64())),
        ("flags", pa.list_(pa.string())),
        ("extra", KEY_VALUES(pa.string())),
        ("content_hash", pa.string()),
        ("n_chars", pa.int64()),
        ("n_tokens", pa.int64()),
        ("schema_version", pa.string()),
    ],
    metadata={b"telecom_etl.schema": b"pretrain", b"telecom_etl.schema_version": SCHEMA_VERSION.encode()},
)

REJECT_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("uri", pa.string()),
        ("stage", pa.string()),
        ("error", pa.string()),
        ("id", pa.string()),
    ],
    metadata={b"telecom_etl.schema": b"rejects", b"telecom_etl.schema_version": SCHEMA_VERSION.encode()},
)


@dataclass(frozen=True)
class Reject:
    """A record (or input file) that failed in a stage, with the error that failed it."""

    source: str
    uri: str
    stage: str
    error: str
    id: Optional[str] = None

    def to_row(self) -> dict:
        return dataclasses.asdict(self)


def make_id(source: str, uri: str, part: str = "") -> str:
    """Stable id of a record: the same source, input and part always give the same id."""
    digest = hashlib.sha1(f"{source}\x00{uri}\x00{part}".encode("utf-8")).hexdigest()
    return digest[:20]


_WS = re.compile(r"\s+")


def content_hash(text: str) -> str:
    """Hash of the normalised content (case- and whitespace-insensitive, NFKC)."""
    norm = _WS.sub(" ", unicodedata.normalize("NFKC", text)).strip().lower()
    return hashlib.sha1(norm.encode("utf-8")).hexdigest()


def estimate_tokens(text: str) -> int:
    """Cheap token estimate (about 4 characters per BPE token for English/technical text)."""
    return math.ceil(len(text) / 4)
