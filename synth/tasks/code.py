"""Code tasks from code records: summarise, generate from a summary, infill masked lines.

* ``code_summarise`` (teacher): the teacher summarises one function/class/file; that
  answer makes two pairs: *summarise this code* -> summary (task ``code_summarise``)
  and *write code that does this* -> the original code (task ``code_generate``), so the
  generated-code answer is real code, never model output.
* ``code_infill`` (offline): a span of 1-4 lines inside a unit is replaced by a marker
  line; the answer is the original lines.
"""
from __future__ import annotations

import re
from typing import List

from telecom_etl.synth.chunking import pick_score
from telecom_etl.synth.tasks.base import SYSTEM, Pair, Prompt, Rejected, Task, variant
from telecom_etl.synth.teacher import extract_json

PROMPT = """Summarise what the following {language} code does, for an engineer who will re-implement it.

Rules:
- 2-6 sentences: purpose, inputs, outputs, and the telecom standard or algorithm it implements when the \
code or its comments name one (e.g. a CRC polynomial of TS 38.212, an RRC timer).
- Describe behaviour, do not restate the code line by line, do not invent behaviour that is not in the code.

Answer with JSON only: {{"summary": "..."}}

File: {path}
```{fence}
{code}
```"""

SCHEMA = {"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"]}
MARKER = "<FILL ME>"
MAX_CODE = 6000


def fence_lang(language: str) -> str:
    return {"c++": "cpp", "c#": "csharp"}.get((language or "").lower(), (language or "").lower())


class CodeSummarise(Task):
    name = "code_summarise"
    family = "code"
    version = "1"
    kinds = ("code",)
    max_tokens = 400
    response_schema = SCHEMA

    def applies(self, passage) -> bool:
        return passage.kind == "code" and len(passage.text) <= MAX_CODE

    def prompts(self, passage) -> List[Prompt]:
        lang = passage.meta.get("code_language", "")
        content = PROMPT.format(language=lang or "source", path=passage.meta.get("path", ""),
                                fence=fence_lang(lang), code=passage.text)
        req = self.request([{"role": "system", "content": SYSTEM}, {"role": "user", "content": content}], passage)
        return [Prompt(self.name, passage, req)]

    def parse(self, prompt: Prompt, content: str) -> List[Pair]:
        data = extract_json(content)
        summary = data.get("summary") if isinstance(data, dict) else None
        if not isinstance(summary, str) or not summary.strip():
            raise Rejected("parse_failed", "no JSON object with 'summary'")
        passage = prompt.passage
        lang = passage.meta.get("code_language", "")
        fence = fence_lang(lang)
        code = f"```{fence}\n{passage.text}\n```"
        ask = variant(passage.id + "sum", ["Summarise what this code does.", "Explain the purpose of this code.",
                                           "Describe what the following code does."])
        gen = variant(passage.id + "gen", [f"Write {lang or 'code'} that does the following.",
                                           f"Implement this in {lang or 'code'}."])
        fields = {"summary": summary.strip(), "code_language": lang, "path": passage.meta.get("path", "")}
        summarise = self.pair(passage, f"{ask}\n\n{code}", summary, n=0, fields=fields)
        generate = self.pair(passage, f"{gen}\n\n{summary.strip()}", code, n=1, fields=fields)
        generate.task = "code_generate"
        return [summarise, generate]


class CodeInfill(Task):
    name = "code_infill"
    family = "code"
    version = "1"
    needs_teacher = False
    kinds = ("code",)

    def __init__(self, seed: int = 0, max_lines: int = 4):
        self.seed, self.max_lines = seed, max_lines

    def applies(self, passage) -> bool:
        return passage.kind == "code" and len(passage.text) <= MAX_CODE

    def offline(self, passage) -> List[Pair]:
        lines = passage.text.split("\n")
        # candidate spans: start after the first line, only lines with code (not blank, not pure braces/comments)
        meaningful = [i for i, line in enumerate(lines) if i > 0 and re.search(r"[A-Za-z0-9]", line)
                      and not line.strip().startswith(("#", "//", "/*", "*"))]
        if len(lines) < 6 or len(meaningful) < 3:
            return []
        start = min(meaningful, key=lambda i: pick_score(self.seed, passage.id, str(i)))
        length = 1 + pick_score(self.seed, passage.id, "len") % self.max_lines
        end = start
        while end + 1 < len(lines) and end + 1 - start < length and lines[end + 1].strip():
            end += 1
        hidden = lines[start:end + 1]
        indent = re.match(r"\s*", hidden[0]).group(0)
        masked = lines[:start] + [indent + MARKER] + lines[end + 1:]
        lang = passage.meta.get("code_language", "")
        fence = fence_lang(lang)
        ask = variant(passage.id + "infill", [
            f"Fill in the line(s) marked {MARKER} in this {lang or 'code'}. Reply with the missing lines only.",
            f"The {lang or 'code'} below has lines replaced by {MARKER}. Write the missing lines.",
        ])
        instruction = f"{ask}\n\n```{fence}\n" + "\n".join(masked) + "\n```"
        response = f"```{fence}\n" + "\n".join(hidden) + "\n```"
        return [self.pair(passage, instruction, response, n=0,
                          fields={"masked_lines": f"{start + 1}-{end + 1}", "code_language": lang,
                                  "path": passage.meta.get("path", "")})]
