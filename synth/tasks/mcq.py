"""Multiple-choice questions in the TeleQnA style, kept only when a validator agrees.

The generator writes a question with 4 or 5 options, exactly one correct, and an
explanation. A second teacher (the ``validator`` role; the generator when none is
configured) then answers the question from the passage alone; the pair is kept only
when it picks the same option (TeleQnA's own curation idea: questions a careful reader
of the source answers unambiguously).

The instruction lists the options as ``option 1: ...`` like TeleQnA; the response is
``option N: <text>`` followed by the explanation.
"""
from __future__ import annotations

import re
from typing import List, Optional

from telecom_etl.synth.chunking import pick_score
from telecom_etl.synth.tasks.base import Pair, PassageQuestions, Prompt, Rejected, source_block, variant
from telecom_etl.synth.teacher import ChatRequest, extract_json

PROMPT = """Read the passage and write {n} multiple-choice question(s) in the style of the TeleQnA benchmark.

Rules:
- The question must be answerable from the passage alone but understandable without it (name the \
procedure, message, parameter or concept; never say "according to the passage").
- Give 4 or 5 options; exactly one is correct; the wrong options must be plausible to a telecom engineer \
and clearly wrong according to the passage. Do not use "all of the above" or "none of the above".
- "answer" is the number (1-based) of the correct option; "explanation" says why, from the passage.

Answer with JSON only: {{"items": [{{"question": "...", "options": ["...", "...", "...", "..."], \
"answer": 2, "explanation": "..."}}]}}

{source}"""

CHECK_PROMPT = """Answer the multiple-choice question using only the passage. Reply with JSON only: \
{{"answer": <option number>}}.

{source}

Question: {question}
{options}"""

SCHEMA = {"type": "object", "properties": {"items": {"type": "array", "items": {
    "type": "object", "properties": {"question": {"type": "string"},
                                     "options": {"type": "array", "items": {"type": "string"}},
                                     "answer": {"type": "integer"}, "explanation": {"type": "string"}},
    "required": ["question", "options", "answer", "explanation"]}}}, "required": ["items"]}
CHECK_SCHEMA = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}

_BAD_OPTION = re.compile(r"^(?:all|none|both) of the (?:above|options)", re.I)


def option_lines(options: List[str]) -> str:
    return "\n".join(f"option {i}: {o}" for i, o in enumerate(options, 1))


def answer_number(value) -> Optional[int]:
    """1-based option number from 2, "2", "option 2", "option 2: ..." ; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    m = re.match(r"^\s*(?:option\s*)?(\d+)\b", str(value), re.I)
    return int(m.group(1)) if m else None


class MultipleChoice(PassageQuestions):
    name = "mcq"
    family = "multiple-choice questions"
    version = "1"
    response_schema = SCHEMA
    has_check = True

    template = PROMPT
    default_per_passage = 1

    def parse(self, prompt: Prompt, content: str) -> List[Pair]:
        pairs = []
        passage = prompt.passage
        for n, item in enumerate(self.json_items(content)[:self.per_passage]):
            if not isinstance(item, dict) or not isinstance(item.get("question"), str) or not isinstance(
                    item.get("options"), list):
                raise Rejected("schema", "an item without question/options")
            options = [str(o).strip() for o in item["options"]]
            options = [re.sub(r"^(?:option\s*\d+\s*[:.)]|[A-Ea-e1-5][.)])\s*", "", o) for o in options]
            number = answer_number(item.get("answer"))
            if not 4 <= len(options) <= 5:
                raise Rejected("option_count", f"{len(options)} options")
            if number is None or not 1 <= number <= len(options):
                raise Rejected("answer_not_in_options", f"answer {item.get('answer')!r} of {len(options)} options")
            if len({o.lower() for o in options}) != len(options) or any(not o for o in options):
                raise Rejected("duplicate_options", "empty or repeated options")
            if any(_BAD_OPTION.match(o) for o in options):
                raise Rejected("catch_all_option", "all/none of the above")
            question = item["question"].strip()
            # teachers favour one position for the right answer; TeleQnA's are spread out, so the
            # options are put in a seeded order (the same question always gets the same order)
            order = sorted(range(len(options)), key=lambda i: pick_score(0, passage.id, question, options[i]))
            options = [options[i] for i in order]
            number = order.index(number - 1) + 1
            lead = variant(passage.id + question, [
                "Answer the following multiple-choice question about telecommunications.",
                "Choose the correct option.",
                "Select the correct answer to this telecom question.",
            ])
            instruction = f"{lead}\n\n{question}\n{option_lines(options)}"
            explanation = str(item.get("explanation") or "").strip()
            response = f"option {number}: {options[number - 1]}"
            if explanation:
                response += f"\n\nExplanation: {explanation}"
            response += f"\n\nSource: {passage.citation()}."
            pairs.append(self.pair(passage, instruction, response, n=n, fields={
                "question": question, "options": options, "answer_index": number, "explanation": explanation}))
        return pairs

    def check_prompt(self, pair: Pair) -> Optional[ChatRequest]:
        content = CHECK_PROMPT.format(source=source_block(pair.passage), question=pair.fields["question"],
                                      options=option_lines(pair.fields["options"]))
        return ChatRequest(messages=[{"role": "user", "content": content}],
                           params={"temperature": 0.0, "max_tokens": 64}, prompt_version=f"{self.name}-check/1",
                           task=self.name + ":check", id=pair.id, json_schema=CHECK_SCHEMA)

    def check(self, pair: Pair, content: str) -> Optional[str]:
        data = extract_json(content)
        got = answer_number(data.get("answer")) if isinstance(data, dict) else answer_number(content or "")
        if got is None:
            return "validator_unparsable"
        if got != pair.fields["answer_index"]:
            return "validator_disagrees"
        return None
