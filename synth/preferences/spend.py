"""The most a preference prompt's teacher requests may cost, for the run's spend plan
(:mod:`telecom_etl.synth.teacher.budget`).

Candidates: each sample's own request (free when cached). Judge: its requests depend on
the answers, so the bound counts one per candidate answer (prompt = the judge prompt plus
the longest answer a candidate may give, answer = ``judge_max_tokens``), its corrective
retries and, with ``confirm``, the two pairwise questions. When every candidate answer is
already cached the judge requests are known exactly and cached ones are free too."""
from __future__ import annotations

from typing import Dict

from telecom_etl.synth.preferences.candidates import Generate, Judge, answer_text
from telecom_etl.synth.preferences.judge import pairwise_messages
from telecom_etl.synth.preferences.schema import PreferenceItem
from telecom_etl.synth.teacher.budget import Ask
from telecom_etl.synth.teacher.prices import cost_of
from telecom_etl.synth.teacher.tokens import DEFAULT_COMPLETION_ESTIMATE

RETRY_FRAMING = 64  # tokens of the corrective message a judge retry adds


def item_ask(item: PreferenceItem, gen: Generate, judge: Judge, teachers: Dict[tuple, object], judge_teacher,
             include_sft_answer: bool, confirm: bool, retries: int) -> Ask:
    ask = Ask(item.id)
    answers, all_cached = [], True
    for src, _, req in gen.requests(item):
        teacher = teachers[src.endpoint()]
        entry = teacher.cache.get(teacher.key(req)) if teacher.cache is not None else None
        if entry is None:
            all_cached = False
            ask.add(teacher.config.name, *teacher.cost_estimate(req))
        else:
            answers.append(answer_text(entry.get("content")))
    if include_sft_answer and item.sft_answer:
        answers.append(item.sft_answer)
    longest = max((s.max_tokens or DEFAULT_COMPLETION_ESTIMATE) for s in gen.sources)
    price, completion = judge_teacher._price, judge.max_tokens
    name = judge_teacher.config.name
    if all_cached:
        todo = [judge.request(item, text) for text in sorted({a for a in answers if a})]
        todo = [r for r in todo if not judge_teacher.cached(r)]
        n = len(todo)
        prompts = [judge_teacher.prompt_tokens(r) for r in todo]
    else:
        n = len(gen.plan) + (1 if include_sft_answer and item.sft_answer else 0)
        base = judge_teacher.prompt_tokens(judge.request(item, ""))
        prompts = [base + longest] * n
    for p in prompts:
        ask.add(name, p + completion, cost_of(price, p, completion))
        for _ in range(retries):  # the retry repeats the conversation with the unreadable reply
            q = p + completion + RETRY_FRAMING
            ask.add(name, q + completion, cost_of(price, q, completion))
    if confirm and n:
        both = judge_teacher.prompt_tokens(judge.request(item, "", messages=pairwise_messages(
            item.prompt, "", "", passage=item.passage, reference=judge.reference(item)))) + 2 * longest
        ask.add(name, 2 * (both + completion), 2 * cost_of(price, both, completion), requests=2)
    return ask
