"""The steps of ``synth-instructions`` as pure functions (the Beam pipeline and the driver's
dry-run / Batch API pre-pass both call these, so they cannot disagree).

record -> passages (:func:`passages_for`) -> (task, passage) items (:func:`items_for`)
-> budget (:func:`apply_budget`: per document and per source, lowest seeded hash first)
-> pairs: offline tasks directly (:func:`offline_pairs`), teacher tasks through
prompts (:func:`prompts_for`) and answers (:func:`pairs_from_answer`) -> validation
(:class:`~telecom_etl.synth.validate.PairValidator`, then the task's own teacher
check, :func:`check_requests` / :func:`check_verdict`) -> near-duplicate removal.

A rejected answer or pair is a :class:`Rejection` with a rule name; every rule is
counted per task in the report.
"""
from __future__ import annotations

import re

from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from telecom_etl.record import Document
from telecom_etl.synth.chunking import Passage, passages_of, pick_score
from telecom_etl.synth.tasks import PRODUCES, TASKS, Pair, Prompt, Rejected, Task, build_tasks
from telecom_etl.synth.teacher import ChatRequest, ChatResult, TeacherConfig
from telecom_etl.synth.teacher.budget import Ask, RunBudget
from telecom_etl.synth.validate import ValidationConfig


@dataclass
class SynthSettings:
    """Everything a run needs; picklable (shipped to Beam workers)."""

    tasks: Sequence[str] = ()  # () = all
    task_options: Dict[str, dict] = field(default_factory=dict)
    seed: int = 0
    min_chars: int = 300  # shortest passage (code units and vocabulary clauses have their own minimums)
    max_chars: int = 6000  # longest passage; longer sections are cut into windows
    max_per_doc: int = 20  # items per (task, document)
    max_per_source: Optional[int] = None  # items per (task, source); None = no limit
    budgets: Dict[str, dict] = field(default_factory=dict)  # task -> {max_per_doc, max_per_source}
    teachers: Dict[str, TeacherConfig] = field(default_factory=dict)  # role -> config
    routes: Dict[str, str] = field(default_factory=dict)  # task -> teacher role (default: generator)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    batch_size: int = 64  # teacher requests per complete_many call inside a DoFn
    spend: RunBudget = field(default_factory=RunBudget)  # the run's teacher budget (planned before sending)

    def build_tasks(self) -> List[Task]:
        return build_tasks(self.tasks or None, seed=self.seed, options=self.task_options)

    @property
    def generator(self) -> Optional[str]:
        if not self.teachers:
            return None
        return "generator" if "generator" in self.teachers else sorted(self.teachers)[0]

    @property
    def validator(self) -> Optional[str]:
        return "validator" if "validator" in self.teachers else self.generator

    def budget_for(self, task: str) -> Tuple[Optional[int], Optional[int]]:
        """(max_per_doc, max_per_source) of a task: its own budget, else the run's."""
        own = self.budgets.get(task) or {}
        return own.get("max_per_doc", self.max_per_doc), own.get("max_per_source", self.max_per_source)

    def teacher_for(self, task: str) -> Optional[str]:
        role = self.routes.get(task) or self.generator
        return role if role in self.teachers else None

    def produced_tasks(self) -> List[str]:
        names = list(self.tasks) if self.tasks else list(TASKS)
        return [p for n in names for p in PRODUCES[n]]


@dataclass
class Item:
    task: str
    passage: Passage
    score: int

    @property
    def source(self) -> str:
        return self.passage.source

    @property
    def uri(self) -> str:
        return self.passage.id


@dataclass
class Rejection:
    """A rejected answer or pair, with the rule that rejected it."""

    stage: str
    reason: str
    detail: str
    task: str
    passage: Passage
    pair: Optional[Pair] = None
    teacher: str = ""
    model: str = ""
    prompt_version: str = ""
    request_key: str = ""
    raw_answer: Optional[str] = None

    @property
    def id(self) -> str:
        return self.pair.id if self.pair is not None else f"{self.task}:{self.passage.id}:{self.request_key[:12]}"

    @property
    def source(self) -> str:
        return self.passage.source

    def to_row(self) -> dict:
        return {"id": self.id, "task": self.task, "stage": self.stage, "reason": self.reason,
                "detail": self.detail[:2000], "source": self.passage.source, "doc_id": self.passage.doc_id,
                "section": self.passage.section, "teacher": self.teacher, "model": self.model,
                "prompt_version": self.prompt_version, "request_key": self.request_key,
                "instruction": self.pair.instruction if self.pair else None,
                "response": self.pair.response if self.pair else None,
                "raw_answer": (self.raw_answer or "")[:20000] if self.raw_answer is not None else None}


# ---- passages and items ------------------------------------------------------

def min_passage_chars(settings: SynthSettings, tasks: Sequence[Task]) -> int:
    return min([settings.min_chars] + [getattr(t, "min_chars", settings.min_chars) for t in tasks])


def passages_for(doc: Document, settings: SynthSettings, tasks: Sequence[Task]) -> List[Passage]:
    return passages_of(doc, min_chars=min_passage_chars(settings, tasks), max_chars=settings.max_chars)


def items_for(passage: Passage, tasks: Sequence[Task], settings: SynthSettings) -> List[Item]:
    out = []
    for task in tasks:
        if len(passage.text) < getattr(task, "min_chars", settings.min_chars) and passage.kind != "code":
            continue
        if task.applies(passage):
            out.append(Item(task.name, passage, pick_score(settings.seed, task.name, passage.id)))
    return out


def apply_budget(items: Iterable[Item], max_per_doc: Optional[int],
                 max_per_source: Optional[int]) -> Tuple[List[Item], List[Tuple[Item, str]]]:
    """Items of one (task, source): keep the lowest seeded ranks within both budgets.
    Returns (kept, [(dropped, rule)]) in rank order, whatever order the items came in."""
    ranked = sorted(items, key=lambda i: (i.score, i.passage.id))
    kept, dropped, per_doc = [], [], {}
    for item in ranked:
        doc = item.passage.doc_id
        if max_per_doc is not None and per_doc.get(doc, 0) >= max_per_doc:
            dropped.append((item, "budget_per_doc"))
        elif max_per_source is not None and len(kept) >= max_per_source:
            dropped.append((item, "budget_per_source"))
        else:
            per_doc[doc] = per_doc.get(doc, 0) + 1
            kept.append(item)
    return kept, dropped


# ---- pairs ---------------------------------------------------------------------

def offline_pairs(task: Task, item: Item) -> List[Pair]:
    return task.offline(item.passage)


def prompts_for(task: Task, item: Item) -> List[Prompt]:
    return task.prompts(item.passage)


def pairs_from_answer(task: Task, prompt: Prompt, result: ChatResult) -> Tuple[List[Pair], Optional[Rejection]]:
    """Turn one teacher answer into pairs, or a rejection naming why (teacher failure,
    truncated answer, parse failure, ...)."""
    base = dict(stage="generate", task=task.name, passage=prompt.passage, teacher=result.teacher,
                model=result.model, prompt_version=task.prompt_version, request_key=result.key)
    if not result.ok:
        return [], Rejection(reason=f"teacher_{result.error}", detail=result.error_detail, **base)
    if result.refusal:  # the endpoint's own refusal field
        return [], Rejection(reason="refusal", detail="the teacher refused", raw_answer=result.content, **base)
    if result.truncated:
        return [], Rejection(reason="truncated", detail="finish_reason=length", raw_answer=result.content, **base)
    try:
        pairs = task.parse(prompt, result.content)
    except Rejected as rej:
        if rej.reason == "parse_failed" and is_refusal(result.content):
            return [], Rejection(reason="refusal", detail=(result.content or "").strip()[:200],
                                 raw_answer=result.content, **base)
        return [], Rejection(reason=rej.reason, detail=rej.detail, raw_answer=result.content, **base)
    except Exception as exc:  # a parser bug on one odd answer: counted with the answer kept for debugging
        return [], Rejection(reason="parse_error", detail=f"{type(exc).__name__}: {exc}"[:300],
                             raw_answer=result.content, **base)
    for p in pairs:
        p.teacher, p.model, p.request_key = result.teacher, result.model, result.key
    if not pairs:
        return [], Rejection(reason="no_pairs", detail="the answer held no usable item", raw_answer=result.content,
                             **base)
    return pairs, None


_REFUSAL_START = re.compile(
    r"^\W*(?:i(?:'m| am) (?:sorry|afraid|unable|not able)|sorry\b|i (?:cannot|can't|can not|won't|will not)\b|"
    r"unfortunately,? i\b|as an ai\b|i'm not comfortable\b|i must decline\b)", re.I)


def is_refusal(content: Optional[str]) -> bool:
    """A plain-text answer that refuses ("I'm sorry, but I can't help ...") instead of the JSON asked for."""
    return bool(content) and _REFUSAL_START.search(content.strip()[:200]) is not None


def item_key(item: "Item") -> str:
    """The deterministic key of an item (for the spend plan and accounting examples)."""
    return f"{item.task}:{item.passage.id}"


CHECK_QUESTION_ESTIMATE = "word " * 250  # a generated question with its options, at most (tokens)


def check_estimates(task: Task, item: "Item") -> List[ChatRequest]:
    """Stand-ins for the teacher checks of the pairs an item can make (one per pair: the
    passage plus a question): their answers do not exist before generation."""
    from telecom_etl.synth.tasks.base import source_block

    return [ChatRequest(messages=[{"role": "user", "content": source_block(item.passage) + " "
                                   + CHECK_QUESTION_ESTIMATE}],
                        params={"max_tokens": 64}, prompt_version=f"{task.name}-check-estimate",
                        task=task.name + ":check", id=f"{item.passage.id}:{n}")
            for n in range(getattr(task, "per_passage", 1))]


def item_ask(settings: "SynthSettings", tasks: Dict[str, Task], teachers: dict, item: "Item") -> Ask:
    """The most an item's teacher requests may cost (cached requests are free)."""
    ask = Ask(item_key(item))
    task = tasks[item.task]
    role = settings.teacher_for(task.name) if task.needs_teacher else None
    if role is None:
        return ask
    teacher = teachers[role]
    for prompt in prompts_for(task, item):
        if not teacher.cached(prompt.request):
            ask.add(role, *teacher.cost_estimate(prompt.request))
        if task.has_check and settings.validator:
            checker = teachers[settings.validator]
            for req in check_estimates(task, item):
                ask.add(settings.validator, *checker.cost_estimate(req))
    return ask


def reject_pair(stage: str, pair: Pair, reason: str, detail: str) -> Rejection:
    return Rejection(stage=stage, reason=reason, detail=detail, task=pair.task, passage=pair.passage, pair=pair,
                     teacher=pair.teacher, model=pair.model, prompt_version=pair.prompt_version,
                     request_key=pair.request_key)


def check_verdict(task: Task, pair: Pair, result: ChatResult) -> Optional[Tuple[str, str]]:
    """None when the validator teacher agrees (recorded in ``pair.checks``), else (rule, detail)."""
    if not result.ok:
        pair.checks["validator"] = f"fail: teacher {result.error}"
        return f"validator_{result.error}", result.error_detail
    reason = task.check(pair, result.content)
    if reason:
        pair.checks["validator"] = f"fail: {reason}"
        return reason, (result.content or "")[:200]
    pair.checks["validator"] = f"pass ({result.model})"
    return None


def tasks_by_name(tasks: Sequence[Task]) -> Dict[str, Task]:
    out = {t.name: t for t in tasks}
    for t in tasks:
        for produced in PRODUCES[t.name]:
            out.setdefault(produced, t)
    return out

