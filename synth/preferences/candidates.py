"""Candidate answers, reference checks and judging for preference items, through the teacher client.

Three per-item steps, each a pure function of the item once its clients exist (the
pipeline builds them once per worker):

* :class:`Generate`: K answers per prompt from one or more endpoints
  (:class:`CandidateSource`: a model, its endpoint and its sampling temperature),
  K spread round-robin over the sources (teacher s0, student s0, teacher s1, ...).
  Every sample is its own cached request (the sample index is part of the cache key,
  and of ``seed`` when one is given), so a re-run reads the same answers back.
* :func:`verify_item`: verdicts against the reference for verifiable tasks.
* :class:`Judge`: one judge request per distinct answer text, scored alone on the
  rubric (no position bias), with one corrective retry when the reply does not parse;
  optionally (``confirm``) the judge-decided pair is asked about again pairwise, once
  with each answer first, and kept only when both orders agree.

Endpoint failures never raise from a request: a failed sample is a candidate with an
``error``. Every item flows on with the calls it made, also one without any answer (its
failed requests were sent and stay in the accounting), and selection drops it with a named
rule (``no_candidates``, ``single_candidate``, ...) when too little is left.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from telecom_etl.outcome import Dropped
from telecom_etl.synth.preferences.judge import (JUDGE_PROMPT_VERSION, PAIRWISE_PROMPT_VERSION, RUBRIC,
                                                 JudgeParseError, judge_messages, pairwise_messages, parse_judgement,
                                                 parse_preference, retry_messages)
from telecom_etl.synth.preferences.schema import Candidate, PreferenceItem
from telecom_etl.synth.preferences.verify import FREE, check

CANDIDATE_PROMPT_VERSION = "pref-candidate/1"
SFT_SOURCE = "sft"  # name of the candidate that is the SFT record's own answer


class CandidateSpecError(ValueError):
    """A bad --candidate value (one line)."""


@dataclass(frozen=True)
class CandidateSource:
    """One way of sampling a candidate: endpoint + model + sampling parameters."""

    name: str
    model: str
    temperature: Optional[float] = None
    base_url: Optional[str] = None
    api_key_env: str = "OPENAI_API_KEY"
    top_p: Optional[float] = None
    max_tokens: Optional[int] = None

    def endpoint(self) -> Tuple[str, Optional[str], str]:
        return (self.model, self.base_url, self.api_key_env)

    def params(self) -> dict:
        out = {}
        for key in ("temperature", "top_p", "max_tokens"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


_SPEC_KEYS = {"name", "model", "temperature", "base_url", "api_key_env", "top_p", "max_tokens"}


def parse_candidate_spec(text: str, defaults: dict) -> CandidateSource:
    """``gpt-4o-mini``, ``gpt-4o-mini@0.2`` or ``model=M,temperature=T,base_url=U,name=N,api_key_env=E,
    top_p=P,max_tokens=N``; ``defaults`` fill what the spec leaves out."""
    text = (text or "").strip()
    if not text:
        raise CandidateSpecError("empty --candidate value")
    values: Dict[str, object] = {}
    if "=" in text:
        for part in text.split(","):
            if "=" not in part:
                raise CandidateSpecError(f"--candidate {text!r}: expected key=value, got {part!r}")
            key, value = (s.strip() for s in part.split("=", 1))
            if key not in _SPEC_KEYS:
                raise CandidateSpecError(f"--candidate {text!r}: unknown key {key!r} "
                                         f"(known: {', '.join(sorted(_SPEC_KEYS))})")
            values[key] = value
    else:
        model, _, temp = text.rpartition("@") if "@" in text else (text, "", "")
        values["model"] = model
        if temp:
            values["temperature"] = temp
    if not values.get("model"):
        raise CandidateSpecError(f"--candidate {text!r}: no model")
    merged = {**{k: v for k, v in defaults.items() if v is not None}, **values}
    try:
        for key in ("temperature", "top_p"):
            if merged.get(key) is not None:
                merged[key] = float(merged[key])
        if merged.get("max_tokens") is not None:
            merged["max_tokens"] = int(merged["max_tokens"])
    except ValueError:
        raise CandidateSpecError(f"--candidate {text!r}: temperature/top_p must be numbers, max_tokens an integer") \
            from None
    if merged.get("temperature") is not None and not 0 <= merged["temperature"] <= 2:
        raise CandidateSpecError(f"--candidate {text!r}: temperature must be between 0 and 2")
    if not merged.get("name"):
        temp = merged.get("temperature")
        merged["name"] = str(merged["model"]) + (f"@{temp:g}" if temp is not None else "")
    return CandidateSource(**{k: merged[k] for k in _SPEC_KEYS if k in merged})


def plan_samples(sources: Sequence[CandidateSource], k: int) -> List[Tuple[CandidateSource, int]]:
    """K (source, sample index) pairs, round-robin over the sources."""
    if not sources or k < 1:
        return []
    counts: Dict[str, int] = {}
    out = []
    for i in range(k):
        src = sources[i % len(sources)]
        n = counts.get(src.name, 0)
        counts[src.name] = n + 1
        out.append((src, n))
    return out


_THINK = re.compile(r"<think>.*?(?:</think>|$)\s*", re.S | re.I)


def answer_text(content: Optional[str]) -> str:
    """The answer a model gave, without a reasoning model's ``<think>...</think>`` block (an
    answer cut inside it is empty): DPO trains on the final answer only."""
    return _THINK.sub("", content or "").strip()


def _usage_rows(results) -> List[dict]:
    from telecom_etl.synth.teacher import Usage

    usage = Usage()
    for r in results:
        usage.add(r)
    return [{"teacher": t, "model": m, "task": task, **row} for (t, m, task), row in sorted(usage.rows.items())]


# ---------------------------------------------------------------------------
# generation
# ---------------------------------------------------------------------------

class Generate:
    """Item -> item with K candidates. ``teachers`` maps a source's endpoint to a Teacher."""

    def __init__(self, teachers: Dict[tuple, object], sources: Sequence[CandidateSource], k: int,
                 seed: Optional[int] = None, include_sft_answer: bool = False):
        self.teachers, self.sources, self.k = teachers, list(sources), k
        self.seed, self.include_sft_answer = seed, include_sft_answer
        self.plan = plan_samples(self.sources, k)

    def requests(self, item: PreferenceItem):
        """(source, sample, ChatRequest) of every candidate of ``item`` (also used by --dry-run)."""
        from telecom_etl.synth.teacher import ChatRequest

        out = []
        for src, sample in self.plan:
            params = src.params()
            if self.seed is not None:
                params["seed"] = self.seed + sample
            out.append((src, sample, ChatRequest(
                messages=[dict(m) for m in item.prompt], params=params,
                prompt_version=f"{CANDIDATE_PROMPT_VERSION}#s{sample}", task=item.task, id=item.sft_id)))
        return out

    def __call__(self, item: PreferenceItem) -> PreferenceItem:
        planned = self.requests(item)
        results: List[object] = [None] * len(planned)
        by_teacher: Dict[tuple, List[int]] = {}
        for i, (src, _, _) in enumerate(planned):
            by_teacher.setdefault(src.endpoint(), []).append(i)
        for endpoint, idx in by_teacher.items():  # one concurrent batch per endpoint
            answers = self.teachers[endpoint].complete_many([planned[i][2] for i in idx])
            for i, r in zip(idx, answers):
                results[i] = r
        candidates = []
        for (src, sample, _), r in zip(planned, results):
            candidates.append(Candidate(teacher=src.name, model=src.model, temperature=src.temperature, sample=sample,
                                        text=answer_text(r.content) if r.ok else None, finish_reason=r.finish_reason,
                                        error=None if r.ok else r.error))
        if self.include_sft_answer and item.sft_answer:
            candidates.append(Candidate(teacher=SFT_SOURCE, model=item.sft_model or SFT_SOURCE, temperature=None,
                                        sample=0, text=item.sft_answer, finish_reason="stop"))
        return item.replace(candidates=candidates, calls=item.calls + _usage_rows(results))


# ---------------------------------------------------------------------------
# reference checks
# ---------------------------------------------------------------------------

def verify_item(item: PreferenceItem) -> PreferenceItem:
    """Verdicts for every usable candidate of a verifiable item; a reference that names no
    answer (e.g. an MCQ reference without an option) sends the item to the judge instead."""
    if item.answer_kind == FREE:
        return item
    if not item.reference or not item.reference.strip():
        return item.replace(reference_error="no reference answer")
    prompt_text = "\n".join(m["content"] for m in item.prompt if m["role"] in ("user", "system"))
    out = []
    try:
        for c in item.candidates:
            if not c.ok:
                out.append(c)
                continue
            v = check(item.answer_kind, c.text, item.reference, prompt=prompt_text, options=item.options or None,
                      labels=item.labels)
            out.append(dataclasses.replace(c, verdict=v.status, extracted=v.extracted))
    except ValueError as exc:
        return item.replace(reference_error=str(exc)[:200])
    return item.replace(candidates=out)


# ---------------------------------------------------------------------------
# judging
# ---------------------------------------------------------------------------

JUDGE_JSON_SCHEMA = {
    "type": "object",
    "properties": {**{c.name: {"type": "integer", "minimum": 1, "maximum": 10} for c in RUBRIC},
                   "rationale": {"type": "string"}},
    "required": [c.name for c in RUBRIC] + ["rationale"],
}


PAIRWISE_JSON_SCHEMA = {
    "type": "object",
    "properties": {"better": {"type": "string", "enum": ["A", "B", "tie"]}, "rationale": {"type": "string"}},
    "required": ["better", "rationale"],
}


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", (text or "").strip())


class Judge:
    """Item -> item with judge scores on the candidates that need them.

    Which: every usable candidate of a free-form item; of a verifiable item, every one
    when ``judge_verifiable`` (this measures the judge against the references and ranks
    the correct answers), else only when all are correct (the reference cannot rank them).
    """

    def __init__(self, teacher, max_tokens: int = 1024, judge_verifiable: bool = True,
                 use_reference: bool = True, retries: int = 1, confirm: bool = False,
                 min_margin: float = 1.0, min_chosen_score: float = 6.0):
        self.teacher, self.max_tokens = teacher, max_tokens
        self.judge_verifiable, self.use_reference, self.retries = judge_verifiable, use_reference, retries
        self.confirm, self.min_margin, self.min_chosen_score = confirm, min_margin, min_chosen_score

    def needs_judge(self, item: PreferenceItem) -> List[int]:
        usable = [i for i, c in enumerate(item.candidates) if c.ok]
        verified = item.answer_kind != FREE and item.reference_error is None
        if not verified or self.judge_verifiable:
            return usable
        if all(item.candidates[i].verdict == "correct" for i in usable):
            return usable
        return []

    def reference(self, item: PreferenceItem) -> Optional[str]:
        if not self.use_reference:
            return None
        return item.reference if item.reference else item.sft_answer

    def request(self, item: PreferenceItem, answer: str, messages: Optional[list] = None):
        from telecom_etl.synth.teacher import ChatRequest

        msgs = messages or judge_messages(item.prompt, answer, passage=item.passage, reference=self.reference(item))
        return ChatRequest(messages=msgs, params={"temperature": 0.0, "max_tokens": self.max_tokens},
                           prompt_version=JUDGE_PROMPT_VERSION, task=item.task, id=item.sft_id,
                           json_schema=JUDGE_JSON_SCHEMA)

    def __call__(self, item: PreferenceItem) -> PreferenceItem:
        item = self.score(item)
        return self.confirm_pair(item) if self.confirm else item

    def confirm_pair(self, item: PreferenceItem) -> PreferenceItem:
        """Ask the judge about the pair selection would make, once with each answer first."""
        from telecom_etl.synth.preferences.select import select_pair
        from telecom_etl.synth.teacher import ChatRequest

        pair = select_pair(item, min_margin=self.min_margin, min_chosen_score=self.min_chosen_score)
        if isinstance(pair, Dropped) or pair.decided_by != "judge":
            return item
        ref = self.reference(item)
        orders = [(pair.chosen.text, pair.rejected.text), (pair.rejected.text, pair.chosen.text)]
        requests = [ChatRequest(messages=pairwise_messages(item.prompt, a, b, passage=item.passage, reference=ref),
                                params={"temperature": 0.0, "max_tokens": self.max_tokens},
                                prompt_version=PAIRWISE_PROMPT_VERSION, task=item.task, id=item.sft_id,
                                json_schema=PAIRWISE_JSON_SCHEMA) for a, b in orders]
        results = self.teacher.complete_many(requests)
        check = {"chosen": item.candidates.index(pair.chosen), "rejected": item.candidates.index(pair.rejected)}
        failed = [r.error for r in results if not r.ok]
        if failed:
            check["verdict"] = failed[0]
        else:
            try:
                first, second = (parse_preference(r.content) for r in results)
            except JudgeParseError:
                check["verdict"] = "judge_parse_failure"
            else:
                # chosen is "A" in the first order and "B" in the second
                if (first, second) == ("A", "B"):
                    check["verdict"] = "confirmed"
                else:
                    check["verdict"] = "inconsistent"
                    check["detail"] = f"chosen first: {first}, rejected first: {second}"
        return item.replace(pairwise=check, calls=item.calls + _usage_rows(results))

    def score(self, item: PreferenceItem) -> PreferenceItem:
        todo = self.needs_judge(item)
        if not todo:
            return item
        texts: Dict[str, str] = {}
        for i in todo:
            texts.setdefault(_norm(item.candidates[i].text), item.candidates[i].text)
        keys = sorted(texts)
        requests = {k: self.request(item, texts[k]) for k in keys}
        results = dict(zip(keys, self.teacher.complete_many([requests[k] for k in keys])))
        all_results = list(results.values())
        verdicts: Dict[str, tuple] = {}
        pending = []
        for k in keys:
            r = results[k]
            if not r.ok:
                verdicts[k] = (None, r.error or "judge_failed")
                continue
            try:
                verdicts[k] = (parse_judgement(r.content), None)
            except JudgeParseError:
                pending.append(k)
                verdicts[k] = (None, "judge_parse_failure")
        for _ in range(self.retries):
            if not pending:
                break
            retry = [self.request(item, texts[k], retry_messages(requests[k].messages, results[k].content))
                     for k in pending]
            answers = self.teacher.complete_many(retry)
            all_results.extend(answers)
            still = []
            for k, r in zip(pending, answers):
                if not r.ok:
                    still.append(k)
                    continue
                try:
                    verdicts[k] = (parse_judgement(r.content), None)
                except JudgeParseError:
                    still.append(k)
            pending = still
        out = list(item.candidates)
        for i in todo:
            judgement, error = verdicts[_norm(out[i].text)]
            if judgement is None:
                out[i] = dataclasses.replace(out[i], judge_error=error)
            else:
                out[i] = dataclasses.replace(out[i], judge_score=judgement.overall, judge_scores=judgement.scores,
                                             rationale=judgement.rationale)
        return item.replace(candidates=out, calls=item.calls + _usage_rows(all_results))
