"""Checks every instruction pair must pass before it is written (pure; no Beam).

:class:`PairValidator` runs, in order, and records each applicable outcome in ``pair.checks``:

* ``schema``: non-empty instruction and response, known roles;
* ``length``: instruction and response within bounds (per task minimums: an
  abbreviation answer is short, an open answer is not);
* ``refusal``: teacher-written text that refuses or talks about itself ("as an AI",
  "I cannot", "the passage does not mention");
* ``self_contained``: a generated question that leans on the passage ("according to
  the passage", "in this section") is useless without it;
* ``answer_in_options``: a multiple-choice answer names one of its options;
* ``grounded``: most content words of an open answer occur in its passage;
* ``decontaminated``: the question or the answer contains a benchmark item, matched
  exactly as the filter stage matches (:class:`BenchmarkCheck` over
  :class:`telecom_etl.filters.decontaminate.BenchmarkIndex`: 13-word runs of long items,
  all words of mid-length ones, whole sentences for short ones such as "What is a mesh
  link?"); ``synth-preferences`` uses the same check on prompts and generated answers.

The first failing check rejects the pair with that check's name as the reason.
Near-duplicate questions are removed afterwards across all pairs (MinHash, see
:func:`question_signature`) because that needs every pair at once.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from telecom_etl.synth.tasks.base import Pair

_REFUSAL = re.compile(
    r"\bas an ai\b|\bas a (?:large )?language model\b|\bi(?:'m| am) (?:sorry|unable|not able)\b|\bi cannot\b|"
    r"\bi can't\b|\bi do not have (?:access|enough)\b|\bi don't have (?:access|enough)\b|"
    r"\b(?:passage|text|context) does not (?:mention|provide|contain|specify|say)\b|"
    r"\bnot (?:mentioned|provided|specified|stated) in the (?:passage|text|context)\b", re.I)
_LEANS_ON_PASSAGE = re.compile(
    r"\b(?:according to|based on|in|from|given) (?:the|this) (?:passage|text|section|excerpt|clause above|document)\b|"
    r"\bthe (?:passage|excerpt) (?:above|below)\b", re.I)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-_.]*[A-Za-z0-9]|[A-Za-z0-9]")
_STOP = set("the a an of to in and or for on by with is are be as at that this it its from which when if "
            "than then into can may shall should will not no each any all per also has have was were been "
            "such other these those their there used using use between within over under both".split())

#: tasks whose instruction was written by a teacher (checked for refusals and self-containedness)
TEACHER_WRITTEN = {"open_qa", "mcq", "code_summarise", "code_generate"}
MIN_RESPONSE = {"open_qa": 20, "mcq": 10, "code_summarise": 40, "abbreviations": 8, "wg_classification": 3}


@dataclass
class ValidationConfig:
    min_instruction: int = 10
    max_instruction: int = 16000
    min_response: int = 2
    max_response: int = 8000
    grounded_min: float = 0.5  # share of an open answer's content words found in its passage
    benchmarks: Sequence[str] = ()  # TeleQnA-format files for decontamination
    ngram: int = 13
    near_duplicate_threshold: float = 0.7  # estimated Jaccard of question shingles
    min_response_by_task: Dict[str, int] = field(default_factory=lambda: dict(MIN_RESPONSE))


def content_words(text: str) -> List[str]:
    return [w for w in (m.group(0).lower() for m in _WORD.finditer(text)) if w not in _STOP and len(w) > 1]


def question_text(pair: Pair) -> str:
    """The part of a pair that identifies its question (for near-dup and decontamination)."""
    return str(pair.fields.get("question") or pair.instruction)


class BenchmarkCheck:
    """Benchmark overlap of generated text, with the filter stage's index and matching (one index
    per process for the same files). Raises :class:`~telecom_etl.filters.decontaminate.BenchmarkError`
    (one line) when a file cannot be read."""

    def __init__(self, benchmarks: Sequence[str], ngram: int = 13):
        from telecom_etl.filters.decontaminate import shared_index

        self.index = shared_index(list(benchmarks), n=ngram)

    def __call__(self, *texts: Optional[str]) -> Optional[str]:
        """None when no text holds a benchmark item, else "matches <ids>"."""
        hits = sorted({i for text in texts if text for i in self.index.matches(text)})
        return f"matches {', '.join(hits[:3])}" + (f" (+{len(hits) - 3} more)" if len(hits) > 3 else "") if hits \
            else None


class PairValidator:
    def __init__(self, config: ValidationConfig = ValidationConfig()):
        self.config = config
        self.benchmark_check = BenchmarkCheck(config.benchmarks, config.ngram) if config.benchmarks else None

    def __call__(self, pair: Pair) -> Optional[Tuple[str, str]]:
        """None when the pair passes, else (rule, detail). ``pair.checks`` records every check run."""
        for name, check in (("schema", self.schema), ("length", self.length), ("refusal", self.refusal),
                            ("self_contained", self.self_contained), ("answer_in_options", self.answer_in_options),
                            ("grounded", self.grounded), ("decontaminated", self.decontaminated)):
            result = check(pair)
            if result is None:  # not applicable to this task
                continue
            if result is True:
                pair.checks[name] = "pass"
                continue
            pair.checks[name] = "fail: " + result
            rule = "contaminated" if name == "decontaminated" else name
            return rule, result
        return None

    # each check: True (pass), None (not applicable) or a failure detail string
    def schema(self, pair: Pair):
        if not isinstance(pair.instruction, str) or not pair.instruction.strip():
            return "empty instruction"
        if not isinstance(pair.response, str) or not pair.response.strip():
            return "empty response"
        if any(m["role"] not in ("system", "user", "assistant") for m in pair.messages):
            return "unknown role"
        return True

    def length(self, pair: Pair):
        c = self.config
        n_in, n_out = len(pair.instruction), len(pair.response)
        min_out = max(c.min_response, c.min_response_by_task.get(pair.task, 0))
        if not c.min_instruction <= n_in <= c.max_instruction:
            return f"instruction {n_in} chars (bounds {c.min_instruction}-{c.max_instruction})"
        if not min_out <= n_out <= c.max_response:
            return f"response {n_out} chars (bounds {min_out}-{c.max_response})"
        return True

    def refusal(self, pair: Pair):
        if pair.task not in TEACHER_WRITTEN:
            return None
        text = question_text(pair) + "\n" + (pair.fields.get("answer") or pair.fields.get("summary") or pair.response)
        m = _REFUSAL.search(text)
        return f"refusal/self-reference: {m.group(0)!r}" if m else True

    def self_contained(self, pair: Pair):
        if pair.task not in ("open_qa", "mcq"):
            return None
        m = _LEANS_ON_PASSAGE.search(question_text(pair))
        return f"question refers to its passage: {m.group(0)!r}" if m else True

    def answer_in_options(self, pair: Pair):
        if pair.task != "mcq":
            return None
        options, number = pair.fields.get("options") or [], pair.fields.get("answer_index")
        if not isinstance(number, int) or not 1 <= number <= len(options):
            return f"answer {number!r} not among {len(options)} options"
        if not pair.response.startswith(f"option {number}: {options[number - 1]}"):
            return "response does not state the correct option"
        return True

    def grounded(self, pair: Pair):
        if pair.task != "open_qa":
            return None
        words = content_words(pair.fields.get("answer") or pair.response)
        if not words:
            return "answer has no content words"
        passage = set(content_words(pair.passage.text))
        share = sum(w in passage for w in words) / len(words)
        return True if share >= self.config.grounded_min else f"{share:.0%} of answer words in passage"

    def decontaminated(self, pair: Pair):
        if self.benchmark_check is None:
            return None
        return self.benchmark_check(question_text(pair), pair.response) or True


# ---- near-duplicate questions ------------------------------------------------

class QuestionHasher:
    """MinHash signatures of questions over content-word bigrams (questions are short, and
    "the"/"of" edits should not hide a duplicate), with LSH band keys."""

    def __init__(self, num_perm: int = 64, bands: int = 16, ngram: int = 2, seed: int = 1):
        self.num_perm, self.bands, self.ngram, self.seed = num_perm, bands, ngram, seed
        self.rows = num_perm // bands
        try:  # the dedup stage's vectorised MinHash
            from telecom_etl.filters.dedup.minhash import MinHasher

            hasher = MinHasher(num_perm=num_perm, ngram=ngram, seed=seed)
            self._sig = lambda text: [int(x) for x in hasher.signature(" ".join(content_words(text)) or text)]
        except ImportError:  # pragma: no cover - only when the dedup module is absent
            from datasketch import MinHash

            def sig(text: str):
                words = content_words(text) or text.lower().split()  # same normalisation as above
                grams = {" ".join(words[i:i + ngram]) for i in range(max(1, len(words) - ngram + 1))}
                m = MinHash(num_perm=num_perm, seed=seed)
                m.update_batch([g.encode("utf-8") for g in sorted(grams)])
                return [int(x) for x in m.hashvalues]

            self._sig = sig

    def signature(self, text: str) -> List[int]:
        return self._sig(text)

    def band_keys(self, sig: Sequence[int]) -> List[str]:
        return [f"{b}:" + ",".join(str(v) for v in sig[b * self.rows:(b + 1) * self.rows]) for b in range(self.bands)]


#: tasks whose questions are written by a teacher: near-duplicate questions are removed.
#: Template tasks ask the same question about different terms or texts, so only exact
#: duplicates (the same instruction and response) are removed there.
NEAR_DUP_TASKS = {"open_qa", "mcq"}


def dedup_key(pair: Pair) -> Tuple[str, str]:
    """("near", question) or ("exact", normalised instruction + response) for a pair."""
    if pair.task in NEAR_DUP_TASKS:
        return "near", question_text(pair)
    text = re.sub(r"\s+", " ", pair.instruction + "\n" + pair.response).strip().lower()
    return "exact", text


def jaccard(sig_a: Sequence[int], sig_b: Sequence[int]) -> float:
    return sum(a == b for a, b in zip(sig_a, sig_b)) / max(1, len(sig_a))
