"""Open question answering grounded in a passage, the answer citing its source clause.

The teacher reads one clause (or paper section) and writes up to ``per_passage``
questions that the passage alone answers, each with its answer and the sentence it is
based on. The kept answer ends with the citation of the source (spec, version, clause),
taken from the record's metadata, not from the teacher.
"""
from __future__ import annotations

from typing import List

from telecom_etl.synth.tasks.base import Pair, PassageQuestions, Prompt, Rejected

PROMPT = """Read the passage and write {n} question(s) that a telecom engineer could ask and that the passage \
answers completely on its own.

Rules:
- Each question must be understandable without the passage: name the procedure, message, parameter or \
concept; never write "according to the passage" or "in this section".
- Each answer must be correct according to the passage only, complete, and 1-5 sentences long.
- "evidence" is a short sentence copied from the passage that supports the answer.
- If the passage holds no technical content worth a question (a list of references, a cover page, an empty \
clause), return {{"items": []}}.

Answer with JSON only: {{"items": [{{"question": "...", "answer": "...", "evidence": "..."}}]}}

{source}"""

SCHEMA = {"type": "object", "properties": {"items": {"type": "array", "items": {
    "type": "object", "properties": {"question": {"type": "string"}, "answer": {"type": "string"},
                                     "evidence": {"type": "string"}},
    "required": ["question", "answer", "evidence"]}}}, "required": ["items"]}


class OpenQA(PassageQuestions):
    name = "open_qa"
    family = "open question answering"
    version = "1"
    response_schema = SCHEMA

    template = PROMPT
    default_per_passage = 2

    def parse(self, prompt: Prompt, content: str) -> List[Pair]:
        pairs = []
        passage = prompt.passage
        for n, item in enumerate(self.json_items(content)[:self.per_passage]):
            if not isinstance(item, dict) or not all(isinstance(item.get(k), str) and item[k].strip()
                                                     for k in ("question", "answer")):
                raise Rejected("schema", "an item without question/answer strings")
            answer = item["answer"].strip() + f"\n\nSource: {passage.citation()}."
            pairs.append(self.pair(passage, item["question"], answer, n=n,
                                   fields={"question": item["question"].strip(), "answer": item["answer"].strip(),
                                           "evidence": str(item.get("evidence") or "").strip()}))
        return pairs
