"""Labels for the relevance classifier from a teacher LLM (the FineWeb-Edu recipe).

A seeded sample of document chunks is sent to an OpenAI-compatible teacher (the shared
client :mod:`telecom_etl.synth.teacher`: disk cache, retries, rate limits, bounded
concurrency, budget) with an additive 0-5 rubric of telecom relevance and educational
value. The integer scores become training labels: ``train-classifier`` binarizes them
at ``--positive-min`` (3 by default, as FineWeb-Edu did) and trains fastText, so the
expensive model labels thousands of chunks once and the cheap one scores millions.

Everything here is pure apart from the teacher calls; a re-run with the same sample,
rubric version and teacher is answered from the cache and costs nothing.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Tuple

from telecom_etl.filters.train import chunk_text

RUBRIC_VERSION = "telecom-relevance/1"

RUBRIC = """Below is an extract from a document. Judge how useful it is for teaching a language model \
about telecommunications: 3GPP/ETSI/ITU/IEEE standards, radio access and core networks, wireless and \
optical communication research, network protocols and telecom software. Score it with this additive \
0-5 scale:

- Start at 0. A text with nothing about telecommunications, or spam, boilerplate, navigation menus, \
advertising or garbled characters, stays at 0.
- +1 if it touches telecom topics, even superficially (a phone plan advert, a news blurb about an \
operator, a passing mention of 5G).
- +1 if it addresses telecom concepts, even when mixed with unrelated or promotional content or \
written without much structure.
- +1 if it explains telecom concepts coherently and correctly at the level of an engineer or \
student (procedures, parameters, architecture, measurements, algorithms).
- +1 if it is substantial, technical telecom material: standard text, protocol procedures and \
message contents, or research results with their reasoning, with little irrelevant content.
- +1 if it is outstanding reference material: precise, self-contained and clearly written, the \
kind of text an engineer would learn the subject from.

Extract:
<<<
{text}
>>>

Answer with a JSON object only: {{"reason": "<one short sentence>", "score": <integer 0-5>}}"""

RATING_SCHEMA = {
    "type": "object",
    "properties": {"reason": {"type": "string"}, "score": {"type": "integer", "minimum": 0, "maximum": 5}},
    "required": ["reason", "score"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class Sampled:
    id: str  # "<document id>#<chunk index>"
    group: str  # document id
    text: str


def sample_chunks(records: Iterable[dict], n: int, seed: int = 1, text_field: str = "text",
                  chunk_chars: int = 2000, max_chunks: int = 50) -> List[Sampled]:
    """``n`` chunks chosen by a seeded hash of (document id, chunk index): the same inputs
    and seed give the same sample, and adding documents keeps most earlier choices."""
    pool: List[Tuple[str, Sampled]] = []
    for rec in records:
        text = rec.get(text_field)
        if not isinstance(text, str):
            continue
        doc_id = str(rec.get("id"))
        for i, chunk in enumerate(chunk_text(text, chunk_chars, max_chunks)):
            cid = f"{doc_id}#{i}"
            rank = hashlib.sha1(f"{seed}\x00{cid}".encode("utf-8")).hexdigest()
            pool.append((rank, Sampled(cid, doc_id, chunk)))
    pool.sort(key=lambda p: p[0])
    return [s for _, s in pool[:n]]


def rating_request(sample: Sampled, max_chars: int = 3000, max_tokens: int = 120):
    from telecom_etl.synth.teacher import ChatRequest

    return ChatRequest(messages=[{"role": "user", "content": RUBRIC.format(text=sample.text[:max_chars])}],
                       params={"temperature": 0, "max_tokens": max_tokens}, prompt_version=RUBRIC_VERSION,
                       task="relevance_label", id=sample.id, json_schema=RATING_SCHEMA)


def parse_rating(content: Optional[str]) -> Tuple[Optional[int], str]:
    """(score 0-5, reason) from a teacher answer; (None, why) when it is not a valid rating."""
    from telecom_etl.synth.teacher import extract_json

    data = extract_json(content)
    if not isinstance(data, dict) or "score" not in data:
        return None, "no JSON object with a score"
    score = data["score"]
    if isinstance(score, str) and score.strip().isdigit():
        score = int(score.strip())
    if isinstance(score, float) and score.is_integer():
        score = int(score)
    if not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= 5:
        return None, f"score {data['score']!r} is not an integer 0-5"
    return score, str(data.get("reason", ""))[:300]


def label_with_teacher(samples: List[Sampled], teacher) -> Tuple[List[dict], Dict[str, object]]:
    """Rate ``samples`` with a :class:`~telecom_etl.synth.teacher.Teacher`. Returns the
    labeled rows (``id``, ``group``, ``text``, ``score``, ``reason``) and counts: rated,
    failed by kind, invalid answers, the score histogram and the teacher usage."""
    results = teacher.complete_many([rating_request(s) for s in samples])
    rows, failed, invalid = [], {}, 0
    histogram = {str(k): 0 for k in range(6)}
    for sample, res in zip(samples, results):
        if not res.ok:
            failed[res.error] = failed.get(res.error, 0) + 1
            continue
        score, reason = parse_rating(res.content)
        if score is None:
            invalid += 1
            continue
        histogram[str(score)] += 1
        rows.append({"id": sample.group, "chunk": sample.id, "text": sample.text, "score": score, "reason": reason})
    stats = {"requested": len(samples), "rated": len(rows), "failed": dict(sorted(failed.items())),
             "invalid": invalid, "scores": histogram, "rubric": RUBRIC_VERSION,
             "usage": teacher.usage.to_dict().get("total", {})}
    return rows, stats
