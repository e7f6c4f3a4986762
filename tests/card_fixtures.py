"""A realistic output folder written directly as Parquet, for card and inspect tests.

The bundled sample is tiny (a handful of documents, nothing dropped by score, no
duplicates). This writes what a real build plus the synthetic commands leave behind,
with known counts: four sources, scores, documents dropped by filters and by near-dup
(with ``duplicate_of`` clusters), an ``sft/`` set with chat messages and a
``preference/`` set, and a report.json whose stage accounting matches the Parquet.
"""
from __future__ import annotations

import json
import os
import random

import pyarrow as pa
import pyarrow.parquet as pq

from telecom_etl.record import PRETRAIN_SCHEMA, Document

SOURCES = [  # name, kind, license, documents
    ("specs-rel18", "3gpp", "3GPP/ETSI copyright", 120),
    ("arxiv-papers", "paper", "CC-BY-4.0", 60),
    ("oai-ran-code", "code", "Apache-2.0", 40),
    ("telecom-web", "text", None, 30),
]
CLUSTERS = [2, 2, 2, 3, 3, 5]  # near-dup cluster sizes: 1 kept + (size - 1) dropped each
TASKS = {"abbreviation": 20, "clause_qa": 15, "mcq": 10}
MANIFEST = {
    "name": "fixture-build",
    "description": "A fixture build for card tests.",
    "sources": [{"name": n, "kind": k, "paths": ["x"], "license": lic} for n, k, lic, _ in SOURCES],
    "filters": {"profiles": {
        "default": [{"name": "length", "min_chars": 200},
                    {"name": "telecom_keywords", "min_density": 0.02, "min_distinct": 3},
                    {"name": "fasttext_classifier", "model_path": "m.bin", "threshold": 0.4}],
        "code": [{"name": "length", "min_chars": 50}]}},
    "dedup": {"exact": True, "near": True, "threshold": 0.8, "num_perm": 128},
}


def _doc(rng, source, kind, lic, i, n_chars, keep=True):
    text = ("The gNB schedules PUSCH resources per TS 38.214. " * (n_chars // 49 + 1))[:n_chars]
    scores = {"telecom_keywords": round(rng.uniform(0.02, 0.3) if keep else rng.uniform(0.0, 0.02), 4),
              "fasttext_telecom": round(rng.uniform(0.4, 1.0), 4)}
    return Document(id=f"{source}-{i:04d}", text=text, source=source, kind=kind, uri=f"/data/{source}/{i}",
                    title=f"doc {i}", license=lic, lang="en", lang_score=round(rng.uniform(0.7, 1.0), 3),
                    scores=scores, spec_release=18 if kind == "3gpp" else None)


def _write(path, rows, schema):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def make_output(root: str) -> dict:
    """Write the folder; returns the expected numbers."""
    from telecom_etl.pipelines.build_pretrain import DROPPED_SCHEMA

    rng = random.Random(7)
    kept, dropped = [], []
    for name, kind, lic, n in SOURCES:
        for i in range(n):
            kept.append(_doc(rng, name, kind, lic, i, int(rng.lognormvariate(7.5, 1.0)) + 300))
    # filter drops: short documents and low keyword density
    for i in range(12):
        d = _doc(rng, "telecom-web", "text", None, 500 + i, rng.randint(20, 190))
        dropped.append(dict(d.to_row(), drop_stage="filter", drop_rule="length", drop_detail="short",
                            duplicate_of=None))
    for i in range(8):
        d = _doc(rng, "arxiv-papers", "paper", "CC-BY-4.0", 600 + i, 2000, keep=False)
        dropped.append(dict(d.to_row(), drop_stage="filter", drop_rule="telecom_keywords.low_density",
                            drop_detail="low", duplicate_of=None))
    # near duplicates of kept spec documents
    k = 0
    for c, size in enumerate(CLUSTERS):
        leader = kept[c].id
        for _ in range(size - 1):
            d = _doc(rng, "specs-rel18", "3gpp", "3GPP/ETSI copyright", 700 + k, 3000)
            dropped.append(dict(d.to_row(), drop_stage="dedup_near", drop_rule="near_duplicate",
                                drop_detail="jaccard 0.9", duplicate_of=leader))
            k += 1
    rows = [d.to_row() for d in kept]
    _write(os.path.join(root, "pretrain", "part-00000-of-00002.parquet"), rows[:100], PRETRAIN_SCHEMA)
    _write(os.path.join(root, "pretrain", "part-00001-of-00002.parquet"), rows[100:], PRETRAIN_SCHEMA)
    _write(os.path.join(root, "dropped", "dropped-00000-of-00001.parquet"), dropped, DROPPED_SCHEMA)

    messages_t = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
    sft_schema = pa.schema([("id", pa.string()), ("messages", messages_t), ("task", pa.string()),
                            ("teacher", pa.string()), ("prompt_version", pa.string()), ("source", pa.string())])
    sft = []
    for task, n in TASKS.items():
        for i in range(n):
            sft.append({"id": f"{task}-{i}", "task": task, "teacher": "gpt-4o" if i % 3 else "llama-3.1-70b",
                        "prompt_version": f"{task}/v2", "source": "specs-rel18",
                        "messages": [{"role": "user", "content": f"What does {task} {i} mean in 3GPP?"},
                                     {"role": "assistant", "content": "It means " + "x" * (40 + i)}]})
    _write(os.path.join(root, "sft", "train-00000-of-00001.parquet"), sft[:40], sft_schema)
    _write(os.path.join(root, "sft", "test-00000-of-00001.parquet"), sft[40:], sft_schema)
    pref_schema = pa.schema([("id", pa.string()), ("prompt", pa.string()), ("chosen", pa.string()),
                             ("rejected", pa.string()), ("task", pa.string()), ("margin", pa.float64())])
    pref = [{"id": f"p{i}", "prompt": f"Explain HARQ {i}", "chosen": "good " * 20, "rejected": "bad " * 5,
             "task": "clause_qa", "margin": 0.1 * (i % 7)} for i in range(14)]
    _write(os.path.join(root, "preference", "part-00000-of-00001.parquet"), pref, pref_schema)

    # what synth-instructions rejected (its rejects/ carry task, stage and reason)
    rej_schema = pa.schema([("id", pa.string()), ("task", pa.string()), ("stage", pa.string()),
                            ("reason", pa.string()), ("detail", pa.string())])
    rejected = ([("abbreviation", "validate", "unparsable_json")] * 5
                + [("abbreviation", "validate", "answer_not_in_passage")] * 3
                + [("mcq", "dedup", "duplicate_question")] * 4)
    _write(os.path.join(root, "rejects", "rejects-00000-of-00001.parquet"),
           [{"id": f"r{i}", "task": t, "stage": st, "reason": why, "detail": ""}
            for i, (t, st, why) in enumerate(rejected)], rej_schema)

    # state for a later build's dedup: listed on the card, never a config
    _write(os.path.join(root, "dedup_index", "index-00000-of-00001.parquet"),
           [{"id": d.id, "signature": [1, 2, 3]} for d in kept[:5]],
           pa.schema([("id", pa.string()), ("signature", pa.list_(pa.uint32()))]))

    n_kept = len(kept)
    n_filter_drop = 20
    n_dup = sum(s - 1 for s in CLUSTERS)
    n_in = n_kept + n_filter_drop + n_dup
    stages = {
        "extract": {"unit": "files", "in": 240, "kept": 230, "dropped": 6, "failed": 4,
                    "dropped_by_rule": {"empty_file": 6}, "failed_by_error": {"BadZipFile": 4},
                    "by_source": {n: {"in": c + 10, "kept": c, "dropped": 0, "failed": 0} for n, _, _, c in SOURCES}},
        "filter": {"unit": "docs", "in": n_in, "kept": n_in - n_filter_drop, "dropped": n_filter_drop, "failed": 0,
                   "dropped_by_rule": {"length": 12, "telecom_keywords.low_density": 8}, "failed_by_error": {},
                   "by_source": {}},
        "dedup_near": {"unit": "docs", "in": n_in - n_filter_drop, "kept": n_kept, "dropped": n_dup, "failed": 0,
                       "dropped_by_rule": {"near_duplicate": n_dup}, "failed_by_error": {}, "by_source": {}},
    }
    report = {"toolkit": "telecom-etl", "version": "0.1.0", "manifest": None, "manifest_digest": "abc123",
              "doc_stages": ["filter", "dedup_near"], "stages": stages, "checks": [], "balanced": True,
              "totals": {"docs_out": n_kept, "cost_usd": 1.25},
              "usage": {"by_teacher": {"writer": {"model": "gpt-4o", "requests": 45, "cost_usd": 1.0},
                                       "judge": {"model": "llama-3.1-70b", "requests": 14, "cost_usd": 0.25}},
                        "total": {"requests": 59, "cost_usd": 1.25}}}
    with open(os.path.join(root, "report.json"), "w") as fh:
        json.dump(report, fh)
    return {"kept": n_kept, "dropped": len(dropped), "per_source": {n: c for n, _, _, c in SOURCES},
            "clusters": CLUSTERS, "sft": len(sft), "sft_train": 40, "tasks": TASKS, "preference": len(pref),
            "tokens": sum(d.n_tokens for d in kept),
            "rejected": {"abbreviation": 8, "mcq": 4}}
