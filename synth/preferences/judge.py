"""The LLM judge: rubric, prompt and a lenient parser of its JSON verdict.

Each candidate is scored on its own, in its own request (absolute grading, as in
MT-Bench single-answer grading and UltraFeedback's per-aspect ratings): no candidate
is ever shown next to another, so the order in which candidates are presented cannot
favour one of them (position bias), and the judge never sees which model wrote an
answer (self-preference). The source passage and, when the SFT record has one, its
reference answer go into the prompt, so "factual accuracy" is judged against the
source rather than against the judge's own memory.

The judge answers JSON with one integer per criterion (1-10) and a short rationale;
:func:`parse_judgement` accepts what real endpoints return around it (code fences,
prose before or after, trailing commas, single quotes, ``"8/10"``, nested
``{"score": 8, "reason": ...}``) and raises :class:`JudgeParseError` otherwise.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

JUDGE_PROMPT_VERSION = "judge-v1"

SCALE = (1, 10)


@dataclass(frozen=True)
class Criterion:
    name: str
    weight: float
    question: str


#: the rubric; weights add up to 1 and give the overall score (1-10)
RUBRIC: Tuple[Criterion, ...] = (
    Criterion("factual_accuracy", 0.35,
              "Is every statement consistent with the source passage (and the reference answer, if given)? "
              "Invented values, wrong parameter names or wrong clause content score low."),
    Criterion("completeness", 0.20,
              "Does the answer address every part of the question with the details the source supports?"),
    Criterion("telecom_correctness", 0.30,
              "Are 3GPP/ETSI/IETF terms, procedures, network functions, releases and units used correctly?"),
    Criterion("clarity", 0.15,
              "Is the answer well organised, direct and free of padding, repetition and contradictions?"),
)

SYSTEM = (
    "You are a senior telecommunications standards engineer who grades answers to technical questions. "
    "You are strict and consistent: you check every claim against the source material, you do not reward "
    "length or confident tone, and you grade the answer in front of you without comparing it to others. "
    "Reply with one JSON object only."
)


class JudgeParseError(ValueError):
    """The judge's reply holds no usable verdict (counted as ``judge_parse_failure``)."""


@dataclass(frozen=True)
class Judgement:
    scores: Dict[str, float]  # criterion -> 1..10
    overall: float  # weighted mean, rounded to 3 decimals
    rationale: str


def _render_prompt(prompt: Sequence[dict]) -> str:
    """The conversation the candidate answered, as the judge reads it (system text included:
    it carries the task's instructions, e.g. "answer with the option letter")."""
    parts = []
    for m in prompt:
        role = m.get("role", "user")
        parts.append(f"[{role}]\n{(m.get('content') or '').strip()}")
    return "\n\n".join(parts)


def judge_messages(prompt: Sequence[dict], answer: str, passage: Optional[str] = None,
                   reference: Optional[str] = None) -> List[dict]:
    """Chat messages asking the judge to grade one ``answer`` to ``prompt``."""
    lo, hi = SCALE
    rubric = "\n".join(f"- {c.name}: {c.question}" for c in RUBRIC)
    keys = ", ".join(f'"{c.name}": <{lo}-{hi}>' for c in RUBRIC)
    blocks = [f"## Conversation given to the assistant\n{_render_prompt(prompt)}"]
    if passage and passage.strip():
        blocks.append(f"## Source passage (ground truth)\n{passage.strip()}")
    if reference and reference.strip():
        blocks.append("## Reference answer (written from the source; may be terser than a good answer)\n"
                      f"{reference.strip()}")
    blocks.append(f"## Answer to grade\n{answer.strip() if answer else '(empty answer)'}")
    blocks.append(
        f"## Rubric\nScore each criterion from {lo} (very poor) to {hi} (excellent), as an integer:\n{rubric}\n"
        f"An answer that contradicts the source or the reference scores at most 3 on factual_accuracy. "
        f"An empty, truncated or off-topic answer scores at most 2 on every criterion.\n\n"
        f"## Output\nFirst think about the answer's errors and omissions, then reply with exactly one JSON object "
        f'and nothing else: {{{keys}, "rationale": "<two or three sentences naming the decisive errors or '
        f'strengths>"}}')
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n\n".join(blocks)}]


def retry_messages(messages: List[dict], bad_reply: str) -> List[dict]:
    """A follow-up asking for the JSON object again, after a reply that did not parse."""
    keys = ", ".join(f'"{c.name}"' for c in RUBRIC)
    return list(messages) + [
        {"role": "assistant", "content": bad_reply or ""},
        {"role": "user", "content": f"Your reply was not a valid JSON object. Reply again with only the JSON object "
                                    f"with the integer keys {keys} and the string key \"rationale\"."},
    ]


# ---------------------------------------------------------------------------
# parsing
# ---------------------------------------------------------------------------

_FENCED = re.compile(r"```(?:json)?\s*(.*?)```", re.S | re.I)
_THINK = re.compile(r"<think>.*?</think>", re.S | re.I)


def _objects(text: str) -> List[str]:
    """Balanced ``{...}`` substrings of ``text``, outermost first, in order (strings respected)."""
    out, depth, start, quote, escape = [], 0, None, None, False
    for i, ch in enumerate(text):
        if quote:
            if escape:
                escape = False
            elif ch == "\\":
                escape = True
            elif ch == quote:
                quote = None
            continue
        if ch == '"' and depth > 0:
            quote = ch
        elif ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                out.append(text[start:i + 1])
    return out


def _loads(blob: str):
    try:
        return json.loads(blob)
    except ValueError:
        pass
    fixed = re.sub(r",\s*([}\]])", r"\1", blob)  # trailing commas
    try:
        return json.loads(fixed)
    except ValueError:
        pass
    if "'" in fixed and '"' not in fixed:  # a Python dict literal
        try:
            return json.loads(fixed.replace("'", '"'))
        except ValueError:
            pass
    return None


def _number(value) -> Optional[float]:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict):
        for key in ("score", "rating", "value", "points"):
            if key in value:
                return _number(value[key])
        return None
    if isinstance(value, str):
        m = re.match(r"^\s*(-?\d+(?:\.\d+)?)\s*(?:/\s*(\d+(?:\.\d+)?))?", value)
        if m:
            n = float(m.group(1))
            if m.group(2) and float(m.group(2)) not in (0.0, float(SCALE[1])):
                n = n / float(m.group(2)) * SCALE[1]
            return n
    return None


def _norm_key(key: str) -> str:
    return re.sub(r"[^a-z]+", "_", str(key).lower()).strip("_")


_ALIASES = {"accuracy": "factual_accuracy", "factuality": "factual_accuracy", "factual": "factual_accuracy",
            "factual_correctness": "factual_accuracy", "correctness": "telecom_correctness",
            "technical_correctness": "telecom_correctness", "domain_correctness": "telecom_correctness",
            "telecom_accuracy": "telecom_correctness", "complete": "completeness", "clear": "clarity",
            "reason": "rationale", "reasoning": "rationale", "explanation": "rationale",
            "justification": "rationale", "comment": "rationale", "feedback": "rationale"}


def _flatten(obj: dict) -> Dict[str, object]:
    """Criterion keys at the top level or nested under "scores"/"ratings"/"criteria"."""
    flat: Dict[str, object] = {}
    for key, value in obj.items():
        k = _norm_key(key)
        if k in ("scores", "ratings", "criteria", "evaluation", "grades") and isinstance(value, dict):
            for k2, v2 in _flatten(value).items():
                flat.setdefault(k2, v2)
            continue
        k = _ALIASES.get(k, k)
        flat.setdefault(k, value)
        if isinstance(value, dict) and k in {c.name for c in RUBRIC}:
            for rk in ("reason", "rationale", "explanation"):
                if rk in value and isinstance(value[rk], str):
                    flat.setdefault(f"{k}.reason", value[rk])
    return flat


def parse_judgement(text: str) -> Judgement:
    """The verdict in a judge reply; :class:`JudgeParseError` when there is none."""
    if text is None or not str(text).strip():
        raise JudgeParseError("empty judge reply")
    body = _THINK.sub("", str(text))
    blobs = _FENCED.findall(body) + [body]
    candidates = []
    for blob in blobs:
        candidates.extend(_objects(blob))
    names = [c.name for c in RUBRIC]
    lo, hi = SCALE
    problems = []
    for blob in reversed(candidates):  # the last object is the final verdict when a model drafts one first
        obj = _loads(blob)
        if not isinstance(obj, dict):
            problems.append("not a JSON object")
            continue
        flat = _flatten(obj)
        scores, missing = {}, []
        for name in names:
            n = _number(flat.get(name))
            if n is None:
                missing.append(name)
            else:
                scores[name] = min(float(hi), max(float(lo), n))
        if missing:
            problems.append("missing " + ", ".join(missing))
            continue
        rationale = flat.get("rationale")
        if not isinstance(rationale, str) or not rationale.strip():
            reasons = [flat.get(f"{n}.reason") for n in names]
            rationale = " ".join(r for r in reasons if isinstance(r, str) and r.strip())
        return Judgement(scores, overall(scores), str(rationale or "").strip())
    if not candidates:
        raise JudgeParseError("no JSON object in judge reply")
    raise JudgeParseError("judge JSON unusable: " + problems[0])


def overall(scores: Dict[str, float]) -> float:
    return round(sum(c.weight * scores[c.name] for c in RUBRIC), 3)


# ---------------------------------------------------------------------------
# pairwise confirmation (both orders)
# ---------------------------------------------------------------------------

PAIRWISE_PROMPT_VERSION = "judge-pairwise-v1"


def pairwise_messages(prompt: Sequence[dict], first: str, second: str, passage: Optional[str] = None,
                      reference: Optional[str] = None) -> List[dict]:
    """Ask which of two answers is better. Asked twice, with the answers swapped, so a pair is
    kept only when the verdict does not depend on the order (position bias)."""
    blocks = [f"## Conversation given to the assistant\n{_render_prompt(prompt)}"]
    if passage and passage.strip():
        blocks.append(f"## Source passage (ground truth)\n{passage.strip()}")
    if reference and reference.strip():
        blocks.append(f"## Reference answer (written from the source)\n{reference.strip()}")
    blocks.append(f"## Answer A\n{first.strip()}")
    blocks.append(f"## Answer B\n{second.strip()}")
    rubric = ", ".join(c.name.replace("_", " ") for c in RUBRIC)
    blocks.append(f"## Output\nWhich answer is better on {rubric}? Judge the content, not the length or the "
                  'order. Reply with exactly one JSON object: {"better": "A" | "B" | "tie", "rationale": "<one '
                  'sentence>"}')
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n\n".join(blocks)}]


_BETTER = re.compile(r'"?better"?\s*[:=]\s*"?\s*(A|B|tie)\b', re.I)


def parse_preference(text: Optional[str]) -> str:
    """``"A"``, ``"B"`` or ``"tie"`` from a pairwise reply; :class:`JudgeParseError` otherwise."""
    body = _THINK.sub("", str(text or "")).strip()
    if not body:
        raise JudgeParseError("empty judge reply")
    for blob in reversed(_FENCED.findall(body) + _objects(body)):
        obj = _loads(blob)
        if isinstance(obj, dict):
            for key, value in obj.items():
                if _norm_key(key) in ("better", "winner", "preferred", "choice") and isinstance(value, str):
                    v = value.strip().strip("\"'").upper()
                    if v in ("A", "B"):
                        return v
                    if v in ("TIE", "EQUAL", "NONE"):
                        return "tie"
    m = None
    for m in _BETTER.finditer(body):
        pass
    if m:
        return "tie" if m.group(1).lower() == "tie" else m.group(1).upper()
    if body.strip("*. \"'").upper() in ("A", "B"):
        return body.strip("*. \"'").upper()
    raise JudgeParseError("no 'better' verdict in pairwise reply")
