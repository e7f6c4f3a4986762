"""Parquet schema of the instruction-tuning (SFT) shards and of rejected pairs.

``messages`` is the conversational format Hugging Face TRL's ``SFTTrainer`` reads as
is (a list of ``{"role", "content"}``, roles ``system``/``user``/``assistant``); every
other column says where the pair comes from and how it was made and checked, so each
pair can be traced to its source document and clause and filtered by task, teacher or
prompt version. Task-specific fields (options, labels, masked lines) are one JSON
string column, so new tasks never change the schema.
"""
from __future__ import annotations

import json

import pyarrow as pa

from telecom_etl.synth.tasks.base import Pair

SFT_SCHEMA_VERSION = "1.1"  # 1.1: the source passage (grounds judges in synth-preferences)

MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])

SFT_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("messages", pa.list_(MESSAGE)),
        ("task", pa.string()),
        ("source", pa.string()),  # manifest source of the document
        ("doc_id", pa.string()),  # Document.id in the pre-training shards
        ("kind", pa.string()),
        ("section", pa.string()),  # clause path ("5.3.5"), paper section or code unit
        ("section_title", pa.string()),
        ("passage_part", pa.int32()),
        ("citation", pa.string()),
        ("passage", pa.large_string()),  # the source text the pair was made from (for grounded judging)
        ("spec_number", pa.string()),
        ("working_group", pa.string()),
        ("teacher", pa.string()),  # teacher role ("" for deterministic tasks)
        ("model", pa.string()),
        ("prompt_version", pa.string()),
        ("request_key", pa.string()),  # cache key of the generating request
        # check -> "pass" / "fail: ..." / validator verdict; a list of structs, not a map: datasets
        # (load_dataset("parquet")) has no map type
        ("validation", pa.list_(pa.struct([("check", pa.string()), ("result", pa.string())]))),
        ("fields", pa.string()),  # JSON of task-specific fields
        ("schema_version", pa.string()),
    ],
    metadata={b"telecom_etl.schema": b"sft", b"telecom_etl.schema_version": SFT_SCHEMA_VERSION.encode()},
)

SFT_REJECT_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("task", pa.string()),
        ("stage", pa.string()),
        ("reason", pa.string()),
        ("detail", pa.string()),
        ("source", pa.string()),
        ("doc_id", pa.string()),
        ("section", pa.string()),
        ("teacher", pa.string()),
        ("model", pa.string()),
        ("prompt_version", pa.string()),
        ("request_key", pa.string()),
        ("instruction", pa.large_string()),
        ("response", pa.large_string()),
        ("raw_answer", pa.large_string()),  # the teacher's text when it could not be parsed
    ],
    metadata={b"telecom_etl.schema": b"sft_rejects", b"telecom_etl.schema_version": SFT_SCHEMA_VERSION.encode()},
)


def sft_row(pair: Pair) -> dict:
    p = pair.passage
    return {
        "id": pair.id, "messages": pair.messages, "task": pair.task, "source": p.source, "doc_id": p.doc_id,
        "kind": p.kind, "section": p.section, "section_title": p.section_title, "passage_part": p.part,
        "citation": p.citation(), "passage": p.text, "spec_number": p.meta.get("spec_number"),
        "working_group": p.meta.get("working_group"), "teacher": pair.teacher, "model": pair.model,
        "prompt_version": pair.prompt_version, "request_key": pair.request_key,
        "validation": [{"check": k, "result": v} for k, v in sorted(pair.checks.items())],
        "fields": json.dumps(pair.fields, sort_keys=True, ensure_ascii=False),
        "schema_version": SFT_SCHEMA_VERSION,
    }
