"""Preference records: the item that flows through the pipeline and the DPO Parquet schema.

An SFT record (``OUT/sft/*.parquet`` of ``synth-instructions``, or any shards with a
``messages`` column) becomes a :class:`PreferenceItem`: the prompt (every message
before the final assistant answer), the task, its answer kind, the reference answer
when there is one, and provenance. Candidates, verdicts and judge scores are added to
it stage by stage; selection turns it into one :data:`PREFERENCE_SCHEMA` row.

The row is TRL's conversational preference format, which ``DPOTrainer`` loads as is:
``prompt`` is a list of ``{role, content}`` messages (system/user, and earlier turns),
``chosen`` and ``rejected`` are one-message lists ``[{role: assistant, content}]``.
The other columns (ids, scores, margin, models, judge rationale) ride along; trainers
ignore columns they do not use.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import pyarrow as pa

from telecom_etl.record import SCHEMA_VERSION

PREFERENCE_FORMAT = "preference/1"

MESSAGE = pa.struct([("role", pa.string()), ("content", pa.large_string())])
MESSAGES = pa.list_(MESSAGE)

CANDIDATE_SUMMARY = pa.struct([
    ("model", pa.string()), ("teacher", pa.string()), ("temperature", pa.float64()), ("sample", pa.int32()),
    ("finish_reason", pa.string()), ("verdict", pa.string()), ("extracted", pa.string()),
    ("judge_score", pa.float64()), ("judge_error", pa.string()),
])

# a struct, not a map: Hugging Face datasets has no map type
JUDGE_SCORES = pa.struct([(name, pa.float64()) for name in
                          ("factual_accuracy", "completeness", "telecom_correctness", "clarity")])

PREFERENCE_SCHEMA = pa.schema(
    [
        ("prompt", MESSAGES),
        ("chosen", MESSAGES),
        ("rejected", MESSAGES),
        ("id", pa.string()),
        ("sft_id", pa.string()),
        ("source_id", pa.string()),
        ("source", pa.string()),
        ("clause_path", pa.string()),
        ("task", pa.string()),
        ("answer_kind", pa.string()),
        ("decided_by", pa.string()),  # reference | judge
        ("chosen_score", pa.float64()),  # on the deciding scale: 1/0 (reference) or 1-10 (judge)
        ("rejected_score", pa.float64()),
        ("margin", pa.float64()),
        ("chosen_model", pa.string()),
        ("rejected_model", pa.string()),
        ("chosen_temperature", pa.float64()),
        ("rejected_temperature", pa.float64()),
        ("chosen_verdict", pa.string()),  # correct / wrong / unparsed against the reference, or null
        ("rejected_verdict", pa.string()),
        ("reference", pa.large_string()),
        ("chosen_judge_score", pa.float64()),
        ("rejected_judge_score", pa.float64()),
        ("chosen_judge_scores", JUDGE_SCORES),  # per rubric criterion, 1-10
        ("rejected_judge_scores", JUDGE_SCORES),
        ("chosen_rationale", pa.large_string()),
        ("rejected_rationale", pa.large_string()),
        ("judge_agrees", pa.string()),  # reference-decided pairs the judge also scored: agree/disagree/tie
        ("judge_pairwise", pa.string()),  # "confirmed": the judge preferred chosen with either answer first
        ("judge_model", pa.string()),
        ("judge_prompt_version", pa.string()),
        ("prompt_version", pa.string()),  # of the SFT record the prompt comes from
        ("candidates", pa.list_(CANDIDATE_SUMMARY)),
        ("schema_version", pa.string()),
    ],
    metadata={b"telecom_etl.schema": b"preference", b"telecom_etl.schema_version": SCHEMA_VERSION.encode(),
              b"telecom_etl.preference_format": PREFERENCE_FORMAT.encode()},
)


DROPPED_CANDIDATE = pa.struct([
    ("model", pa.string()), ("teacher", pa.string()), ("temperature", pa.float64()), ("sample", pa.int32()),
    ("text", pa.large_string()), ("finish_reason", pa.string()), ("error", pa.string()), ("verdict", pa.string()),
    ("extracted", pa.string()), ("judge_score", pa.float64()), ("judge_error", pa.string()),
    ("rationale", pa.large_string()),
])

#: items that gave no pair, with the stage, rule and detail, and every candidate (for inspection)
DROPPED_SCHEMA = pa.schema(
    [
        ("id", pa.string()), ("sft_id", pa.string()), ("task", pa.string()), ("answer_kind", pa.string()),
        ("uri", pa.string()), ("drop_stage", pa.string()), ("drop_rule", pa.string()), ("drop_detail", pa.string()),
        ("prompt", MESSAGES), ("reference", pa.large_string()), ("reference_error", pa.string()),
        ("candidates", pa.list_(DROPPED_CANDIDATE)), ("schema_version", pa.string()),
    ],
    metadata={b"telecom_etl.schema": b"preference_dropped", b"telecom_etl.schema_version": SCHEMA_VERSION.encode()},
)


def dropped_row(rec) -> dict:
    """A :class:`telecom_etl.pipelines.stage.DroppedRecord` of a preference stage as a row."""
    item, why = rec.doc, rec.why
    base = {"id": item.id, "uri": item.uri, "drop_stage": rec.stage, "drop_rule": why.rule,
            "drop_detail": why.detail, "schema_version": SCHEMA_VERSION}
    if not isinstance(item, PreferenceItem):  # dropped before it became an item (an SFT row)
        return {**base, "task": item.source, "candidates": []}
    return {**base, "sft_id": item.sft_id, "task": item.task, "answer_kind": item.answer_kind,
            "prompt": [{"role": m["role"], "content": m["content"]} for m in item.prompt],
            "reference": item.reference, "reference_error": item.reference_error,
            "candidates": [{**c.summary(), "text": c.text, "finish_reason": c.finish_reason, "error": c.error,
                            "rationale": c.rationale} for c in item.candidates]}


@dataclass
class Candidate:
    """One sampled answer to an item's prompt, with what verification and the judge said."""

    teacher: str  # role name of the endpoint (e.g. "teacher", "student")
    model: str
    temperature: Optional[float]
    sample: int
    text: Optional[str] = None
    finish_reason: Optional[str] = None
    error: Optional[str] = None  # generation failure kind
    verdict: Optional[str] = None  # correct / wrong / unparsed
    extracted: Optional[str] = None
    judge_score: Optional[float] = None
    judge_scores: Dict[str, float] = field(default_factory=dict)
    rationale: Optional[str] = None
    judge_error: Optional[str] = None  # judge_parse_failure / a request failure kind

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.text and self.text.strip())

    def summary(self) -> dict:
        return {"model": self.model, "teacher": self.teacher, "temperature": self.temperature,
                "sample": self.sample, "finish_reason": self.finish_reason or self.error,
                "verdict": self.verdict, "extracted": self.extracted, "judge_score": self.judge_score,
                "judge_error": self.judge_error}


@dataclass
class PreferenceItem:
    """One prompt on its way to a preference pair. ``source`` is the task, so the run report
    (which groups by source) shows every stage per task."""

    id: str
    sft_id: str
    task: str
    answer_kind: str
    prompt: List[Dict[str, str]]
    uri: str  # the SFT shard it came from
    reference: Optional[str] = None
    passage: Optional[str] = None
    source_id: Optional[str] = None
    origin: Optional[str] = None  # the SFT record's own source (manifest source name)
    clause_path: Optional[str] = None
    prompt_version: Optional[str] = None
    sft_answer: Optional[str] = None
    sft_model: Optional[str] = None
    options: Dict[int, str] = field(default_factory=dict)  # MCQ options when the record lists them
    labels: List[str] = field(default_factory=list)  # allowed labels of a classification task
    reference_error: Optional[str] = None  # the reference could not be used (then the judge decides)
    # pairwise confirmation of the judge-decided pair: {"chosen": i, "rejected": j, "verdict": ...}
    pairwise: Optional[Dict[str, Any]] = None
    candidates: List[Candidate] = field(default_factory=list)
    calls: List[dict] = field(default_factory=list)  # usage rows of every endpoint call for this item

    @property
    def source(self) -> str:
        return self.task

    @property
    def text(self) -> str:  # what the accounting counts in chars / tokens: the prompt
        return "\n".join(str(m.get("content") or "") for m in self.prompt)

    def replace(self, **changes: Any) -> "PreferenceItem":
        return dataclasses.replace(self, **changes)


@dataclass
class Pair:
    """A selected preference pair (becomes one Parquet row)."""

    item: PreferenceItem
    chosen: Candidate
    rejected: Candidate
    decided_by: str
    chosen_score: float
    rejected_score: float
    judge_model: Optional[str] = None
    judge_agrees: Optional[str] = None
    pairwise: Optional[str] = None  # "confirmed" when the judge preferred chosen in both orders

    # the accounting reads these like a record's
    @property
    def id(self) -> str:
        return self.item.id

    @property
    def source(self) -> str:
        return self.item.task

    @property
    def uri(self) -> str:
        return self.item.uri

    @property
    def text(self) -> str:
        return self.item.text

    @property
    def margin(self) -> float:
        return round(self.chosen_score - self.rejected_score, 6)

    def to_row(self) -> dict:
        it, c, r = self.item, self.chosen, self.rejected
        return {
            "prompt": [{"role": m["role"], "content": m["content"]} for m in it.prompt],
            "chosen": [{"role": "assistant", "content": c.text}],
            "rejected": [{"role": "assistant", "content": r.text}],
            "id": it.id, "sft_id": it.sft_id, "source_id": it.source_id, "source": it.origin,
            "clause_path": it.clause_path, "task": it.task, "answer_kind": it.answer_kind,
            "decided_by": self.decided_by, "chosen_score": self.chosen_score, "rejected_score": self.rejected_score,
            "margin": self.margin, "chosen_model": c.model, "rejected_model": r.model,
            "chosen_temperature": c.temperature, "rejected_temperature": r.temperature,
            "chosen_verdict": c.verdict, "rejected_verdict": r.verdict, "reference": it.reference,
            "chosen_judge_score": c.judge_score, "rejected_judge_score": r.judge_score,
            "chosen_judge_scores": c.judge_scores or None, "rejected_judge_scores": r.judge_scores or None,
            "chosen_rationale": c.rationale, "rejected_rationale": r.rationale,
            "judge_agrees": self.judge_agrees, "judge_pairwise": self.pairwise, "judge_model": self.judge_model,
            "judge_prompt_version": None if self.judge_model is None else _judge_version(),
            "prompt_version": it.prompt_version,
            "candidates": [x.summary() for x in it.candidates],
            "schema_version": SCHEMA_VERSION,
        }


def _judge_version() -> str:
    from telecom_etl.synth.preferences.judge import JUDGE_PROMPT_VERSION

    return JUDGE_PROMPT_VERSION


# ---------------------------------------------------------------------------
# reading SFT records
# ---------------------------------------------------------------------------

#: columns (or ``extra``/``metadata`` keys) that hold a reference answer, most specific first
REFERENCE_FIELDS = ("reference", "reference_answer", "gold", "gold_answer", "answer", "label", "target")
PASSAGE_FIELDS = ("passage", "source_passage", "context", "source_text", "grounding")
ID_FIELDS = ("id", "sft_id", "record_id")
SOURCE_ID_FIELDS = ("source_id", "doc_id", "document_id", "source_doc_id")


class SFTRecordError(ValueError):
    """An SFT row that cannot become a prompt (one line)."""


def _mapping(value) -> Dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, dict) and set(v) == {"key", "value"}
                                                          for v in value):
        return {v["key"]: v["value"] for v in value}  # key/value struct lists (the record's scores/extra)
    try:
        return dict(value)  # Arrow map columns arrive as a list of (key, value)
    except (TypeError, ValueError):
        return {}


def _first(row: dict, names, *maps: Dict[str, Any]) -> Optional[Any]:
    for name in names:
        for source in (row, *maps):
            value = source.get(name)
            if value is not None and not (isinstance(value, str) and not value.strip()):
                return value
    return None


def _text(value) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return "\n".join(str(v) for v in value)
    return str(value)


def _known_labels(label_type: str) -> List[str]:
    try:
        from telecom_etl.synth.tasks.classification import SERIES, WG_NAMES
    except ImportError:  # pragma: no cover - the tasks package is part of the toolkit
        return []
    return sorted({"working_group": WG_NAMES, "spec_series": SERIES}.get(label_type, {}))


def answer_from_fields(fields: Dict[str, Any]) -> Dict[str, Any]:
    """Answer kind, reference, options and labels from the task-specific ``fields`` JSON of a
    synth-instructions record (``options`` + ``answer_index``: MCQ; ``label`` + ``label_type``;
    ``equation``; ``masked_lines``: code infill; ``entry_kind: abbreviation`` + ``meaning``;
    ``answer``: the reference of an open question)."""
    if not fields:
        return {}
    if isinstance(fields.get("options"), list) and fields.get("answer_index") is not None:
        return {"kind": "mcq", "reference": str(fields["answer_index"]), "options": fields["options"]}
    if fields.get("label"):
        return {"kind": "label", "reference": str(fields["label"]),
                "labels": _known_labels(str(fields.get("label_type") or ""))}
    if fields.get("equation"):
        return {"kind": "equation", "reference": str(fields["equation"])}
    if fields.get("masked_lines"):
        return {"kind": "code"}  # the reference is the record's answer (the hidden lines)
    if fields.get("entry_kind") == "abbreviation" and fields.get("meaning"):
        return {"kind": "expansion", "reference": str(fields["meaning"])}
    if isinstance(fields.get("answer"), str) and fields["answer"].strip():
        return {"reference": fields["answer"]}
    return {}


#: column sets an SFT shard may use (the first present wins)
CONVERSATION_COLUMNS = ("messages", "conversations", "instruction", "prompt")
_SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
                   "chatgpt": "assistant", "bing": "assistant", "bard": "assistant", "system": "system", "tool": "tool",
                   "function_call": "assistant", "observation": "tool"}
_ROLES = ("system", "user", "assistant", "tool", "developer")


def _turns(value, where: str) -> List[Dict[str, str]]:
    if isinstance(value, str):
        return [{"role": "user" if where == "prompt" else "assistant", "content": value}]
    if not isinstance(value, (list, tuple)) or not value:
        raise SFTRecordError(f"record has no usable '{where}'")
    out = []
    for m in value:
        m = _mapping(m)
        role = m.get("role", m.get("from"))
        content = m.get("content", m.get("value"))
        role = _SHAREGPT_ROLES.get(str(role).lower(), role) if "from" in m else role
        if role not in _ROLES or content is None:
            raise SFTRecordError(f"bad message {str(m)[:60]!r}: needs role and content")
        out.append({"role": str(role), "content": str(content)})
    return out


def messages_of(row: dict) -> List[Dict[str, str]]:
    """The conversation of an SFT row in any of the field's usual layouts: ``messages``
    (TRL/OpenAI ``{role, content}``), ``conversations`` (ShareGPT ``{from, value}``),
    ``instruction`` + ``input`` + ``output`` (Alpaca, optional ``system``), or
    ``prompt`` + ``completion``/``response`` (TRL prompt-completion, text or messages)."""
    if row.get("messages") is not None:
        return _turns(row["messages"], "messages")
    if row.get("conversations") is not None:
        return _turns(row["conversations"], "conversations")
    if row.get("instruction") is not None:
        user = str(row["instruction"]).strip()
        if str(row.get("input") or "").strip():
            user += "\n\n" + str(row["input"]).strip()
        msgs = [{"role": "system", "content": str(row["system"])}] if row.get("system") else []
        msgs.append({"role": "user", "content": user})
        if row.get("output") is not None:
            msgs.append({"role": "assistant", "content": str(row["output"])})
        return msgs
    if row.get("prompt") is not None:
        msgs = _turns(row["prompt"], "prompt")
        completion = row.get("completion", row.get("response"))
        if completion is not None:
            msgs += _turns(completion, "completion")
        return msgs
    raise SFTRecordError("record has no conversation (" + ", ".join(CONVERSATION_COLUMNS) + ")")


def item_from_sft(row: dict, uri: str, kind_of) -> PreferenceItem:
    """A :class:`PreferenceItem` from one SFT row (a dict as pyarrow's ``to_pylist`` gives it).

    ``kind_of(task, declared)`` names the answer kind. The conversation may be in any
    layout :func:`messages_of` reads. The prompt is every message
    before the last assistant message (a record whose last message is not the
    assistant's is prompt-only). The reference is an explicit column (``reference``,
    ``answer``, ``label``, ...; also inside ``extra``/``metadata``); failing that, for a
    verifiable task, the SFT answer itself, which ``synth-instructions`` validated. The
    task-specific ``fields`` JSON of synth-instructions records supplies the answer kind,
    reference, options and label set (:func:`answer_from_fields`).
    """
    clean = messages_of(row)
    answer = None
    if clean[-1]["role"] == "assistant":
        answer = clean[-1]["content"]
        clean = clean[:-1]
    if not any(m["role"] == "user" for m in clean):
        raise SFTRecordError("record has no user message")
    extra = _mapping(row.get("extra"))
    meta = _mapping(row.get("metadata"))
    derived = answer_from_fields(_mapping(row.get("fields")))
    task = str(_first(row, ("task", "task_name"), extra, meta) or "unknown")
    declared = _first(row, ("answer_kind", "answer_type"), extra, meta) or derived.get("kind")
    kind = kind_of(task, str(declared) if declared else None)
    reference = _text(_first(row, REFERENCE_FIELDS, extra, meta)) or derived.get("reference")
    if reference is None and kind != "free":
        reference = answer
    sft_id = _first(row, ID_FIELDS, extra, meta)
    if sft_id is None:  # no id column: the content is the identity
        payload = json.dumps([clean, answer, task], sort_keys=True, ensure_ascii=False)
        sft_id = hashlib.sha1(payload.encode("utf-8")).hexdigest()[:20]
    options_raw = _first(row, ("options", "choices"), extra, meta) or derived.get("options")
    options = {}
    if isinstance(options_raw, str):
        options_raw = _mapping(options_raw) or [x for x in options_raw.splitlines() if x.strip()]
    if isinstance(options_raw, dict):
        from telecom_etl.synth.preferences.verify import option_index

        options = {option_index(str(k)): str(v) for k, v in options_raw.items() if option_index(str(k))}
    elif isinstance(options_raw, (list, tuple)):
        options = {i + 1: str(v) for i, v in enumerate(options_raw)}
    labels_raw = _first(row, ("labels", "label_set", "classes"), extra, meta) or derived.get("labels")
    labels = [str(x) for x in labels_raw] if isinstance(labels_raw, (list, tuple)) else []
    pair_id = hashlib.sha1(f"preference\x00{sft_id}".encode("utf-8")).hexdigest()[:20]
    return PreferenceItem(
        id=pair_id, sft_id=str(sft_id), task=task, answer_kind=kind, prompt=clean, uri=uri,
        reference=reference, passage=_text(_first(row, PASSAGE_FIELDS, extra, meta)),
        source_id=_text(_first(row, SOURCE_ID_FIELDS, extra, meta)),
        origin=_text(_first(row, ("source",), extra, meta)),
        clause_path=_text(_first(row, ("clause_path", "clause", "section"), extra, meta)),
        prompt_version=_text(_first(row, ("prompt_version",), extra, meta)),
        sft_answer=answer, sft_model=_text(_first(row, ("teacher_model", "model"), extra, meta)),
        options=options, labels=labels)
