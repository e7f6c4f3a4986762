"""The numbers behind a dataset card: read once from the Parquet shards and report.json.

:func:`collect` gathers everything the card, the plots and the HTML report show into
one :class:`CardData`, so the three always agree. It is data-driven: it reads whatever
datasets, columns and stages exist (see :mod:`telecom_etl.card.outputs`) and leaves
a section empty when its data is absent, instead of knowing stage names in advance.

Where a number comes from:

* rows, bytes, shards: Parquet footers;
* documents, characters, tokens per source, licenses, languages, lengths, scores:
  the kept dataset's columns (``n_chars``/``n_tokens`` when present, else the length
  of its text columns: ``text``, ``messages[].content``, ``prompt``/``chosen``/``rejected``);
* stage accounting (in / kept / dropped by rule / failed by error): ``report.json``;
* dedup cluster sizes: ``_stats/dedup.json`` when a dedup stage wrote one, else
  ``dropped/`` rows with ``duplicate_of`` (cluster = the kept record plus everything
  pointing at it);
* synthetic task mix, teachers, prompt versions: the synthetic datasets' columns;
  rejections per task and reason: audit datasets that have a ``task`` column;
* filter thresholds: the manifest's filter parameters over the filters' defaults;
  dedup settings: the manifest;
* example records: a few rows picked with a fixed seed.
"""
from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import polars as pl

from telecom_etl import __version__, io
from telecom_etl.card.outputs import Dataset, discover, find, read

#: Columns holding the training text of a record, by dataset family.
TEXT_COLUMNS = ("text", "messages", "prompt", "chosen", "rejected", "instruction", "response", "completion")
#: Categorical columns worth counting in synthetic datasets (task mix, teachers, prompt versions).
SYNTH_FACETS = ("task", "task_family", "teacher", "teacher_model", "model", "prompt_version", "chosen_model",
                "rejected_model", "decided_by", "answer_kind", "judge", "judge_model", "judge_prompt_version",
                "judge_agrees", "source", "kind")
#: Numeric columns of synthetic datasets whose distribution is worth a line in the card.
SYNTH_NUMERIC = ("margin", "chosen_score", "rejected_score", "judge_score", "cost_usd", "n_tokens")
STAGE_ORDER_HEAD = ("list", "extract", "extract_parts")
#: report.json keys the card renders in their own sections; any other top-level key a
#: command adds (cost, usage, teachers, ...) is shown in "Run facts".
_REPORT_KNOWN = {"toolkit", "version", "manifest", "manifest_digest", "output", "run_id", "totals", "doc_stages",
                 "stages", "shards", "checks", "balanced", "command", "stage_order"}
#: report entries with a section of their own in the card (not repeated under "Run facts")
_REPORT_OWN_SECTION = {"decontamination", "dedup", "notes"}
CHARS_PER_TOKEN = 4  # telecom_etl.record.estimate_tokens
MAX_DISTRIBUTION_ROWS = 250_000


@dataclass
class SourceRow:
    dataset: str
    source: str
    kinds: List[str]
    licenses: List[str]
    documents: int
    chars: int
    tokens: int
    files_in: Optional[int] = None
    files_skipped: Optional[int] = None
    files_failed: Optional[int] = None


#: Source names that stand for "no source column" or "source not filled in".
PLACEHOLDER_SOURCES = ("(all)", "(unspecified)")


@dataclass
class Threshold:
    label: str  # "filter.param, profiles a, b" (tables)
    value: float
    short: str = ""  # "param = value (a, b)" (plot legends)


@dataclass
class ScoreDist:
    key: str
    kept: List[float]
    dropped: List[float]
    thresholds: List[Threshold] = field(default_factory=list)
    dropped_rules: List[str] = field(default_factory=list)  # drop_rule of each dropped value

    @property
    def owners(self) -> List[str]:
        """Filters whose threshold cuts this score (from the threshold labels)."""
        return sorted({t.label.split(".", 1)[0] for t in self.thresholds})

    def dropped_split(self) -> tuple:
        """(values dropped by the score's own filter, values dropped by any other rule)."""
        owners = self.owners
        mine = [owners and any(r.startswith(o) for o in owners) for r in self.dropped_rules]
        return ([v for v, m in zip(self.dropped, mine) if m], [v for v, m in zip(self.dropped, mine) if not m])


@dataclass
class Drop:
    stage: str
    rule: str
    n: int
    outcome: str  # "dropped" or "failed"


@dataclass
class Rejection:
    dataset: str  # the audit dataset it was counted in (dropped, rejects, failed)
    task: str
    reason: str
    stage: str
    n: int


@dataclass
class CardData:
    output: str
    title: str
    description: Optional[str]
    version: str
    datasets: List[Dataset]
    report: Dict[str, Any]
    manifest: Dict[str, Any]
    sources: List[SourceRow] = field(default_factory=list)
    licenses: List[Tuple[str, int, int, List[str]]] = field(default_factory=list)  # license, docs, tokens, sources
    languages: List[Tuple[str, int]] = field(default_factory=list)
    lengths: Dict[str, List[int]] = field(default_factory=dict)  # group (kind or source) -> n_chars of kept docs
    dropped_lengths: List[int] = field(default_factory=list)
    length_thresholds: List[Threshold] = field(default_factory=list)
    scores: List[ScoreDist] = field(default_factory=list)
    stages: List[Tuple[str, dict]] = field(default_factory=list)  # report stages in pipeline order
    drops: List[Drop] = field(default_factory=list)
    dedup_stages: List[Tuple[str, dict]] = field(default_factory=list)
    cluster_sizes: Dict[str, Counter] = field(default_factory=dict)  # dedup stage -> size -> clusters
    dedup_stats: Dict[str, dict] = field(default_factory=dict)  # stage -> OUT/_stats/dedup.json entry
    facets: Dict[str, Dict[str, List[Tuple[str, int]]]] = field(default_factory=dict)  # dataset -> column -> counts
    numeric: Dict[str, Dict[str, Dict[str, float]]] = field(default_factory=dict)  # dataset -> column -> summary
    run_facts: Dict[str, Any] = field(default_factory=dict)
    distribution_notes: List[str] = field(default_factory=list)  # set when distributions are sampled
    rejections: List[Rejection] = field(default_factory=list)  # synthetic records removed, per task and reason
    examples: Dict[str, List[dict]] = field(default_factory=dict)  # dataset -> a few records, as stored
    shown_as: str = ""  # the folder as the user named it (``output`` may be a run's staging folder)

    @property
    def primary(self) -> List[Dataset]:
        return [d for d in self.datasets if not d.is_audit]

    @property
    def synthetic(self) -> List[Dataset]:
        return [d for d in self.primary if d.name != "pretrain" and not d.has("text")]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def _as_dict(manifest) -> Dict[str, Any]:
    if manifest is None:
        return {}
    if isinstance(manifest, dict):
        return manifest
    if hasattr(manifest, "model_dump"):
        data = manifest.model_dump(mode="json")
        if hasattr(manifest, "shown"):  # no path of this machine (filter models, caches) unless asked for
            data = manifest.shown(data)
        if getattr(manifest, "path", None):
            data["path"] = manifest.path  # where to read its text (the card shows the report's form)
        for src, config in zip(data.get("sources") or [], getattr(manifest, "sources", [])):
            if hasattr(config, "paths_as_written"):  # as the manifest wrote them, not this machine's folders
                src["paths"] = config.paths_as_written
        return data
    raise TypeError(f"manifest must be a Manifest, a dict or None, not {type(manifest).__name__}")


def read_report(output: str) -> Dict[str, Any]:
    """``OUT/report.json`` as a dict, or ``{}`` when the folder has none."""
    path = io.join(output, "report.json")
    if not io.exists(path):
        return {}
    return json.loads(io.read_bytes(path).decode("utf-8"))


def _text_length_expr(ds: Dataset) -> Optional[pl.Expr]:
    """Characters of a row's training text, from whichever text columns the dataset has."""
    parts = []
    for name in TEXT_COLUMNS:
        if name not in ds.columns:
            continue
        dtype = ds.schema.field(name).type
        import pyarrow as pa

        if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
            parts.append(pl.col(name).str.len_chars().fill_null(0))
        elif (pa.types.is_list(dtype) or pa.types.is_large_list(dtype)) and pa.types.is_struct(dtype.value_type) \
                and dtype.value_type.get_field_index("content") >= 0:
            parts.append(pl.col(name).list.eval(pl.element().struct.field("content").str.len_chars())
                         .list.sum().fill_null(0))
    if not parts:
        return None
    return pl.sum_horizontal(parts).cast(pl.Int64)


def size_columns(ds: Dataset) -> Tuple[List[str], List[pl.Expr]]:
    """Columns to read and expressions giving ``n_chars`` and ``n_tokens`` per row."""
    if ds.has("n_chars"):
        chars = pl.col("n_chars").fill_null(0)
        read_cols = ["n_chars"]
    else:
        chars = _text_length_expr(ds)
        read_cols = [c for c in TEXT_COLUMNS if c in ds.columns]
        if chars is None:
            chars = pl.lit(0, dtype=pl.Int64)
    if ds.has("n_tokens"):
        tokens = pl.col("n_tokens").fill_null(0)
        read_cols.append("n_tokens")
    else:
        tokens = (chars + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN
    return read_cols, [chars.alias("n_chars"), tokens.alias("n_tokens")]


def _scores_long(frame: pl.DataFrame) -> pl.DataFrame:
    """(key, value, rule) rows of the ``scores`` map column plus ``lang_score``; ``rule``
    is the row's ``drop_rule`` (null for kept records)."""
    rule = pl.col("drop_rule") if "drop_rule" in frame.columns else pl.lit(None, dtype=pl.String)
    schema = {"key": pl.String, "value": pl.Float64, "rule": pl.String}
    parts = []
    if "scores" in frame.columns:
        entries = (frame.select(pl.col("scores").cast(pl.List(pl.Struct({"key": pl.String, "value": pl.Float64}))),
                                rule.alias("rule"))
                   .explode("scores").drop_nulls("scores").unnest("scores"))
        parts.append(entries.select(pl.col("key"), pl.col("value"), pl.col("rule")))
    if "lang_score" in frame.columns:
        parts.append(frame.select(pl.lit("lang_score").alias("key"), pl.col("lang_score").alias("value"),
                                  rule.alias("rule")).drop_nulls("value"))
    if not parts:
        return pl.DataFrame({k: [] for k in schema}, schema=schema)
    return pl.concat([p.cast(schema) for p in parts]).filter(pl.col("value").is_not_nan())


_WORD = re.compile(r"[a-z0-9]+")

#: Which score a threshold parameter of the toolkit's filters cuts. A filter class can
#: say it itself with a ``SCORE_THRESHOLDS = {"param": "score key"}`` attribute; for
#: others :func:`_matches_score` guesses from the names.
KNOWN_SCORE_THRESHOLDS = {
    "language": {"min_score": "lang_score"},
    "telecom_keywords": {"min_density": "telecom_keywords"},
    "c4_lines": {"max_removed_lines_ratio": "c4_removed_lines"},
}


def _matches_score(filter_name: str, key: str) -> bool:
    """Whether a filter's generic ``threshold``/``min_score`` plausibly cuts score ``key``:
    the names agree on their first word (``fasttext_classifier`` -> ``fasttext_telecom``)."""
    f, k = filter_name.lower(), key.lower()
    if f == k or k.startswith(f) or f.startswith(k):
        return True
    fw, kw = _WORD.findall(f), _WORD.findall(k)
    return bool(fw and kw and (fw[0].startswith(kw[0]) or kw[0].startswith(fw[0])))


def effective_params(name: str, params: Dict[str, Any]) -> Dict[str, Any]:
    """The filter's constructor defaults overlaid with the manifest's parameters, so a
    threshold left at its default is still shown (and marked on the plots)."""
    merged: Dict[str, Any] = {}
    try:
        import inspect

        from telecom_etl.filters import FILTERS

        cls = FILTERS.get(name)
        if cls is not None:
            for p in inspect.signature(cls.__init__).parameters.values():
                if p.default is not inspect.Parameter.empty and p.kind is p.POSITIONAL_OR_KEYWORD:
                    merged[p.name] = p.default
    except (ImportError, TypeError, ValueError):
        pass
    merged.update(params)
    return merged


def profile_users(manifest: Dict[str, Any]) -> Dict[str, List[str]]:
    """profile -> the manifest sources that use it (as Manifest.profile_for picks it)."""
    profiles = (manifest.get("filters") or {}).get("profiles") or {}
    users: Dict[str, List[str]] = {}
    for s in manifest.get("sources") or []:
        prof = s.get("filter_profile") or (s.get("kind") if s.get("kind") in profiles else "default")
        users.setdefault(prof, []).append(s.get("name"))
    return users


def _filter_specs(manifest: Dict[str, Any]):
    """(profile, filter name, effective params) for every filter of a profile some source
    uses (all profiles when the manifest lists no sources)."""
    profiles = (manifest.get("filters") or {}).get("profiles") or {}
    users = profile_users(manifest)
    for profile in sorted(profiles):
        if users and profile not in users:
            continue
        for spec in profiles[profile] or []:
            spec = dict(spec)
            name = str(spec.pop("name", "?"))
            yield profile, name, effective_params(name, spec)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _score_thresholds(name: str, params: Dict[str, Any], keys: Sequence[str]):
    """(param, score key, value) of a filter's thresholds on the given score keys."""
    try:
        from telecom_etl.filters import FILTERS

        declared = dict(getattr(FILTERS.get(name), "SCORE_THRESHOLDS", None) or {})
    except ImportError:
        declared = {}
    declared = {**KNOWN_SCORE_THRESHOLDS.get(name, {}), **declared}
    if name == "fasttext_classifier" or "score_name" in params:
        own = params.get("score_name") or (f"fasttext_{params['label']}" if "label" in params else None)
        if own:
            declared.setdefault("threshold", own)
    for param, value in sorted(params.items()):
        if not _number(value):
            continue
        if param in declared:
            if declared[param] in keys:
                yield param, declared[param], float(value)
        elif param.lower() in ("threshold", "min_score", "max_score"):
            for key in keys:
                if _matches_score(name, key):
                    yield param, key, float(value)


def _stage_order(report: Dict[str, Any]) -> List[str]:
    stages = report.get("stages") or {}
    doc = [s for s in report.get("doc_stages") or [] if s in stages]
    # a command may give its full order; else the known head, others, the record chain
    order = [s for s in report.get("stage_order") or [] if s in stages]
    order += [s for s in STAGE_ORDER_HEAD if s in stages and s not in order]
    # stages outside the record chain (reading, listing, selecting) run before it
    order += sorted(s for s in stages if s not in order and s not in doc)
    return order + [s for s in doc if s not in order]


# ---------------------------------------------------------------------------
# collection
# ---------------------------------------------------------------------------

def collect(output: str, report: Optional[dict] = None, manifest=None, title: Optional[str] = None,
            shown_as: Optional[str] = None) -> CardData:
    """Everything a card shows about ``output``; ``report`` defaults to ``OUT/report.json``.

    ``shown_as`` is the folder's name in the card's text when ``output`` is where a run
    stages its files before they are committed (default: the report's ``output``, else
    ``output`` if relative, else its last name)."""
    report = read_report(output) if report is None else report
    mdict = _as_dict(manifest)
    datasets = discover(output)
    # the folder as the run's report names it (relative, or its last name: no machine path), so a
    # card rewritten later (inspect --card) says what the run's card said
    from telecom_etl.uris import shown_location

    shown_as = shown_as or report.get("output") or shown_location(output)
    name = title or mdict.get("name") or shown_as.rstrip("/").rsplit("/", 1)[-1] or "telecom-etl dataset"
    data = CardData(output=output, title=str(name), description=mdict.get("description"),
                    version=str(report.get("version") or __version__), datasets=datasets, report=report,
                    manifest=mdict, shown_as=shown_as)
    _collect_stages(data)
    for ds in data.primary:
        _collect_dataset(data, ds)
    dropped = find(datasets, "dropped")
    if dropped is not None and dropped.total_rows:
        _collect_dropped(data, dropped)
    for ds in data.primary:
        if ds.total_rows:
            data.examples[ds.name] = _examples(ds)
    for ds in datasets:
        if ds.is_audit and ds.total_rows and "task" in ds.columns:
            _collect_rejections(data, ds)
    _collect_dedup_stats(data)
    _collect_thresholds(data)
    data.run_facts = {k: v for k, v in sorted(report.items())
                      if k not in _REPORT_KNOWN and k not in _REPORT_OWN_SECTION and v not in (None, {}, [], "")}
    return data


def _collect_stages(data: CardData) -> None:
    stages = data.report.get("stages") or {}
    data.stages = [(s, stages[s]) for s in _stage_order(data.report)]
    for stage, st in data.stages:
        for rule, n in sorted((st.get("dropped_by_rule") or {}).items(), key=lambda kv: (-kv[1], kv[0])):
            data.drops.append(Drop(stage, rule or "(unnamed)", int(n), "dropped"))
        for err, n in sorted((st.get("failed_by_error") or {}).items(), key=lambda kv: (-kv[1], kv[0])):
            data.drops.append(Drop(stage, err or "(unnamed)", int(n), "failed"))
        if "dedup" in stage:
            data.dedup_stages.append((stage, st))


def _by_source_files(data: CardData, source: str) -> Tuple[Optional[int], Optional[int], Optional[int]]:
    extract = dict(data.stages).get("extract")
    if not extract:
        return None, None, None
    b = (extract.get("by_source") or {}).get(source)
    if not b:
        return 0, 0, 0
    return b.get("in", 0), b.get("dropped", 0), b.get("failed", 0)


def _collect_dataset(data: CardData, ds: Dataset) -> None:
    size_cols, size_exprs = size_columns(ds)
    cats = [c for c in ("source", "kind", "license", "lang") if c in ds.columns]
    frame = read(ds, cats + size_cols + ["scores", "lang_score"] + list(SYNTH_FACETS) + list(SYNTH_NUMERIC))
    if frame.height == 0:
        return
    sized = frame.with_columns(size_exprs)
    if "source" in sized.columns:
        sized = sized.with_columns(pl.col("source").fill_null("(unspecified)"))
    else:
        sized = sized.with_columns(pl.lit("(all)").alias("source"))
    agg = [pl.len().alias("documents"), pl.col("n_chars").sum().alias("chars"),
           pl.col("n_tokens").sum().alias("tokens")]
    if "kind" in sized.columns:
        agg.append(pl.col("kind").drop_nulls().unique().sort().alias("kinds"))
    if "license" in sized.columns:
        agg.append(pl.col("license").fill_null("unspecified").unique().sort().alias("licenses"))
    per_source = sized.group_by("source").agg(agg).sort(["tokens", "source"], descending=[True, False])
    for row in per_source.iter_rows(named=True):
        files = _by_source_files(data, row["source"]) if ds.name == "pretrain" else (None, None, None)
        data.sources.append(SourceRow(ds.name, row["source"], list(row.get("kinds") or []),
                                      list(row.get("licenses") or []), int(row["documents"]), int(row["chars"]),
                                      int(row["tokens"]), *files))
    if ds.name == "pretrain" or (ds.has("text") and not data.lengths):
        _collect_text_dataset(data, sized)
    if ds.name != "pretrain":
        _collect_synth(data, ds, sized)


def _collect_text_dataset(data: CardData, sized: pl.DataFrame) -> None:
    if "license" in sized.columns:
        lic = (sized.with_columns(pl.col("license").fill_null("unspecified"))
               .group_by("license").agg(pl.len().alias("docs"), pl.col("n_tokens").sum().alias("tokens"),
                                        pl.col("source").unique().sort().alias("sources"))
               .sort(["tokens", "license"], descending=[True, False]))
        data.licenses = [(r["license"], int(r["docs"]), int(r["tokens"]), list(r["sources"]))
                         for r in lic.iter_rows(named=True)]
    if "lang" in sized.columns:
        langs = sized.drop_nulls("lang").group_by("lang").len().sort(["len", "lang"], descending=[True, False])
        data.languages = [(r[0], int(r[1])) for r in langs.iter_rows()]
    group = "kind" if "kind" in sized.columns and sized["kind"].n_unique() > 1 else "source"
    dist = _systematic_sample(data, sized, "kept")
    for key, part in sorted(dist.group_by(group), key=lambda kv: str(kv[0][0])):
        data.lengths[str(key[0])] = part["n_chars"].to_list()
    scores = _scores_long(dist)
    for key in sorted(scores["key"].unique().to_list()):
        vals = scores.filter(pl.col("key") == key)["value"].to_list()
        data.scores.append(ScoreDist(key, vals, []))


def _systematic_sample(data: CardData, frame: pl.DataFrame, what: str) -> pl.DataFrame:
    """Every k-th row when a frame is too big to keep per-document values of in memory
    (a histogram needs a few hundred thousand, not a billion); counts stay exact."""
    if frame.height <= MAX_DISTRIBUTION_ROWS:
        return frame
    step = math.ceil(frame.height / MAX_DISTRIBUTION_ROWS)
    data.distribution_notes.append(f"Distributions of {what} documents use one row in {step} of "
                                   f"{frame.height:,} rows; counts and totals use all of them.")
    return frame.gather_every(step)


def _collect_synth(data: CardData, ds: Dataset, sized: pl.DataFrame) -> None:
    facets = {}
    for col in SYNTH_FACETS:
        if col in sized.columns and sized.schema[col] == pl.String:
            value = pl.when(pl.col(col) == "").then(pl.lit("(empty)")).otherwise(pl.col(col).fill_null("(none)"))
            counts = sized.group_by(value.alias(col)).len().sort(["len", col], descending=[True, False])
            values = [(r[0], int(r[1])) for r in counts.iter_rows()]
            if len(values) == 1 and values[0][0] in ("(none)", "(empty)", "(all)", "(unspecified)"):
                continue  # a column nobody filled, or the placeholder for a missing one
            facets[col] = values
    if facets:
        data.facets[ds.name] = facets
    numeric = {}
    for col in SYNTH_NUMERIC:
        if col in sized.columns and sized.schema[col].is_numeric():
            s = sized[col].drop_nulls().cast(pl.Float64)
            if s.len():
                numeric[col] = {"count": s.len(), "mean": float(s.mean()), "p05": float(s.quantile(0.05)),
                                "median": float(s.median()), "p95": float(s.quantile(0.95)), "sum": float(s.sum())}
    if numeric:
        data.numeric[ds.name] = numeric


def _collect_dropped(data: CardData, ds: Dataset) -> None:
    cols = ["drop_stage", "drop_rule", "duplicate_of", "n_chars", "scores", "lang_score"]
    frame = _systematic_sample(data, read(ds, cols), "dropped")
    if "n_chars" in frame.columns:
        data.dropped_lengths = frame["n_chars"].drop_nulls().to_list()
    scores = _scores_long(frame)
    by_key = {s.key: s for s in data.scores}
    for key in sorted(scores["key"].unique().to_list()):
        part = scores.filter(pl.col("key") == key)
        if key not in by_key:
            by_key[key] = ScoreDist(key, [], [])
            data.scores.append(by_key[key])
        by_key[key].dropped = part["value"].to_list()
        by_key[key].dropped_rules = part["rule"].fill_null("").to_list()
    data.scores.sort(key=lambda s: s.key)
    if "duplicate_of" in frame.columns and "drop_stage" in frame.columns:
        dups = frame.drop_nulls("duplicate_of").group_by(["drop_stage", "duplicate_of"]).len()
        for (stage,), part in sorted(dups.group_by("drop_stage"), key=lambda kv: str(kv[0][0])):
            data.cluster_sizes[str(stage)] = Counter(int(n) + 1 for n in part["len"].to_list())


EXAMPLES_PER_DATASET = 3


def _examples(ds: Dataset, n: int = EXAMPLES_PER_DATASET, seed: int = 0) -> List[dict]:
    """A few records picked with a fixed seed (the same build shows the same ones), read
    from just the row groups holding them."""
    import random

    from telecom_etl.card.outputs import read_rows

    positions = [(shard, ds.shard_rows[path]) for shard, path in enumerate(ds.files)]
    flat = [(shard, row) for shard, rows in positions for row in range(rows)] if ds.total_rows <= 1_000_000 else None
    rng = random.Random(seed)
    if flat is not None:
        picked = sorted(rng.sample(range(len(flat)), min(n, len(flat))))
        return read_rows(ds, [flat[i] for i in picked])
    # huge datasets: pick shards first, then rows, without listing every position
    picks = set()
    while len(picks) < n:
        shard, rows = positions[rng.randrange(len(positions))]
        if rows:
            picks.add((shard, rng.randrange(rows)))
    return read_rows(ds, sorted(picks))


#: Columns that say why an audit record was removed, by output family.
REASON_COLUMNS = ("drop_rule", "reason", "rule", "error")


def _collect_rejections(data: CardData, ds: Dataset) -> None:
    """Per task and reason, what a synthetic command rejected (its audit datasets carry
    ``task`` plus ``drop_rule`` / ``reason`` / ``error``)."""
    reason = next((c for c in REASON_COLUMNS if c in ds.columns), None)
    stage = next((c for c in ("drop_stage", "stage") if c in ds.columns), None)
    frame = read(ds, ["task"] + ([reason] if reason else []) + ([stage] if stage else []))
    keys = [pl.col("task").fill_null("(none)").alias("task"),
            (pl.col(reason).fill_null("(none)") if reason else pl.lit("(unrecorded)")).alias("reason"),
            (pl.col(stage).fill_null("") if stage else pl.lit("")).alias("stage")]
    counts = frame.group_by(keys).len().sort(["task", "len", "reason"], descending=[False, True, False])
    for task, why, st, n in counts.select("task", "reason", "stage", "len").iter_rows():
        data.rejections.append(Rejection(ds.name, task, why, st, int(n)))


def _collect_dedup_stats(data: CardData) -> None:
    """Dedup stages that write ``OUT/_stats/dedup.json`` (one entry per stage, with
    ``cluster_sizes`` {size: clusters}, ``params``, ``largest_clusters``, ``sample_pairs``)
    know their clusters better than ``duplicate_of`` can tell: prefer theirs."""
    path = io.join(data.output, "_stats", "dedup.json")
    if not io.exists(path):
        return
    try:
        entries = json.loads(io.read_bytes(path).decode("utf-8"))
    except (ValueError, OSError):
        return
    for entry in entries if isinstance(entries, list) else [entries]:
        if not isinstance(entry, dict) or not entry.get("stage"):
            continue
        data.dedup_stats[str(entry["stage"])] = entry
        sizes = entry.get("cluster_sizes")
        if isinstance(sizes, dict) and sizes:
            data.cluster_sizes[str(entry["stage"])] = Counter({int(k): int(v) for k, v in sizes.items()})


def _collect_thresholds(data: CardData) -> None:
    """Thresholds per score (and length), one line per distinct value: profiles sharing a
    value are named together ("language.min_score (3gpp, paper) = 0.65")."""
    keys = [d.key for d in data.scores]
    found: Dict[Tuple[str, str, float], List[str]] = {}  # (target, filter.param, value) -> profiles
    for profile, name, params in _filter_specs(data.manifest):
        if "length" in name:
            for param, value in sorted(params.items()):
                if param.endswith("_chars") and _number(value):
                    found.setdefault(("\0length", f"{name}.{param}", float(value)), []).append(profile)
        for param, key, value in _score_thresholds(name, params, keys):
            found.setdefault((key, f"{name}.{param}", value), []).append(profile)
    by_key = {d.key: d for d in data.scores}
    for (target, what, value), profiles in sorted(found.items()):
        t = Threshold(f"{what}, profile{'s' if len(profiles) > 1 else ''} {', '.join(profiles)}", value,
                      f"{what.split('.', 1)[1]} = {value:g} ({', '.join(profiles)})")
        if target == "\0length":
            data.length_thresholds.append(t)
        else:
            by_key[target].thresholds.append(t)


# ---------------------------------------------------------------------------
# small formatting helpers shared by card.py and html.py
# ---------------------------------------------------------------------------

def human(n: float) -> str:
    """1234567 -> '1.23M' (for plot labels and headlines; tables give exact numbers)."""
    n = float(n)
    for unit, div in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.3g}{unit}"
    return f"{n:.0f}" if n == int(n) else f"{n:.3g}"


def size_category(rows: int) -> str:
    """The Hugging Face ``size_categories`` bucket of a row count."""
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
              (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"),
              (10_000_000_000, "1B<n<10B")]
    for bound, name in bounds:
        if rows < bound:
            return name
    return "n>1T" if rows >= 10 ** 12 else "10B<n<100B" if rows < 10 ** 11 else "100B<n<1T"


def quantiles(values: Sequence[float]) -> Dict[str, float]:
    s = pl.Series(values, dtype=pl.Float64)
    return {"min": float(s.min()), "p05": float(s.quantile(0.05)), "median": float(s.median()),
            "p95": float(s.quantile(0.95)), "max": float(s.max())} if len(values) else {}


def pct(part: float, whole: float) -> str:
    return "-" if not whole else f"{100.0 * part / whole:.1f}%"

