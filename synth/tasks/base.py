"""What a synthesis task is: prompt, parser and validator side by side (one file per family).

A task turns a :class:`~telecom_etl.synth.chunking.Passage` into instruction/response
:class:`Pair` objects, either through a teacher (``needs_teacher``: :meth:`Task.prompts`
builds the requests, :meth:`Task.parse` turns an answer into pairs or raises
:class:`Rejected`) or deterministically (:meth:`Task.offline`). A task may ask a second
teacher to check each pair (:meth:`Task.check_prompt` / :meth:`Task.check`), as the
multiple-choice task does. ``version`` is part of the cache key of every request, so
changing a prompt means bumping it and nothing stale is reused.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from telecom_etl.synth.chunking import Passage
from telecom_etl.synth.teacher import ChatRequest

SYSTEM = ("You are an expert in mobile telecommunications (3GPP, wireless communications and network "
          "software) who writes precise, self-contained training examples.")

# sections that rarely make a good question: legal, bibliographic, history
_BOILERPLATE = re.compile(r"^(?:foreword|references?|normative references|informative references|bibliography|"
                          r"change history|history|document history|contents|intellectual property rights|"
                          r"legal notice|modal verbs terminology|acknowledge?ments?|void)\b", re.I)


class Rejected(Exception):
    """An answer or pair that is not kept; ``reason`` is a short rule name counted in the report."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.reason, self.detail = reason, detail


@dataclass
class Pair:
    task: str
    prompt_version: str
    instruction: str  # the user turn
    response: str  # the assistant turn
    passage: Passage
    teacher: str = ""  # "" for deterministic tasks
    model: str = ""
    request_key: str = ""
    fields: Dict[str, Any] = field(default_factory=dict)  # task-specific (options, label, ...)
    checks: Dict[str, str] = field(default_factory=dict)  # validation name -> "pass" / "fail: ..." / "skipped"
    system: Optional[str] = None
    n: int = 0  # index among the pairs made from one answer

    @property
    def id(self) -> str:
        raw = "\x00".join([self.task, self.passage.id, str(self.n), self.instruction])
        return hashlib.sha1(raw.encode("utf-8")).hexdigest()[:24]

    @property
    def messages(self) -> List[Dict[str, str]]:
        msgs = [{"role": "system", "content": self.system}] if self.system else []
        return msgs + [{"role": "user", "content": self.instruction},
                       {"role": "assistant", "content": self.response}]


@dataclass
class Prompt:
    """One teacher request a task wants, with what it needs to parse the answer."""

    task: str
    passage: Passage
    request: ChatRequest
    role: str = "generator"  # which configured teacher answers it
    context: Dict[str, Any] = field(default_factory=dict)


class Task:
    name: str = ""
    family: str = ""  # the TelecomGPT family this task belongs to
    version: str = "1"
    needs_teacher: bool = True
    kinds: tuple = ("3gpp", "paper")  # document kinds it reads
    max_tokens: int = 1024
    temperature: float = 0.2
    response_schema: Optional[dict] = None
    has_check: bool = False  # a second teacher checks each pair (check_prompt / check)

    @property
    def prompt_version(self) -> str:
        return f"{self.name}/{self.version}"

    def applies(self, passage: Passage) -> bool:
        """The document kinds it reads, minus boilerplate, the text before a spec's first clause,
        and vocabulary lists (clause 3: the abbreviations task mines them without a teacher)."""
        if passage.kind not in self.kinds or _BOILERPLATE.match(passage.section_title or ""):
            return False
        if passage.kind == "3gpp":
            from telecom_etl.synth.tasks.abbreviations import section_mode

            return bool(passage.section) and section_mode(passage) is None
        return True

    # teacher tasks
    def prompts(self, passage: Passage) -> List[Prompt]:
        return []

    def parse(self, prompt: Prompt, content: str) -> List[Pair]:
        raise NotImplementedError

    # deterministic tasks
    def offline(self, passage: Passage) -> List[Pair]:
        return []

    # a second teacher's check (optional)
    def check_prompt(self, pair: Pair) -> Optional[ChatRequest]:
        return None

    def check(self, pair: Pair, content: str) -> Optional[str]:
        """None when the check agrees, else the reason it does not."""
        return None

    # helpers
    def request(self, messages: List[Dict[str, str]], passage: Passage, n: int = 0) -> ChatRequest:
        return ChatRequest(messages=messages, params={"temperature": self.temperature, "max_tokens": self.max_tokens},
                           prompt_version=self.prompt_version, task=self.name, id=f"{passage.id}:{n}",
                           json_schema=self.response_schema)

    def passage_prompt(self, template: str, passage: Passage, **fmt) -> Prompt:
        """One request: the system prompt, then ``template`` filled with the passage's source block."""
        content = template.format(source=source_block(passage), **fmt)
        return Prompt(self.name, passage, self.request([{"role": "system", "content": SYSTEM},
                                                        {"role": "user", "content": content}], passage))

    @staticmethod
    def json_items(content: str) -> List[Any]:
        """The ``items`` list of a teacher's JSON answer, or Rejected with the reason."""
        from telecom_etl.synth.teacher import extract_json

        data = extract_json(content)
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            raise Rejected("parse_failed", "no JSON object with 'items'")
        if not data["items"]:
            raise Rejected("no_questions", "the teacher found nothing to ask")
        return data["items"]

    def pair(self, passage: Passage, instruction: str, response: str, **kw) -> Pair:
        return Pair(task=self.name, prompt_version=self.prompt_version, instruction=instruction.strip(),
                    response=response.strip(), passage=passage, **kw)


class PassageQuestions(Task):
    """A teacher task that asks ``per_passage`` questions about one passage in one request."""

    template: str = ""  # the user prompt; {source} and {n} are filled in
    default_per_passage: int = 1

    def __init__(self, per_passage: Optional[int] = None):
        self.per_passage = per_passage or self.default_per_passage

    def prompts(self, passage: Passage) -> List[Prompt]:
        return [self.passage_prompt(self.template, passage, n=self.per_passage)]


def source_block(passage: Passage) -> str:
    """The passage as the teacher sees it: where it is from, then the text."""
    return f"Source: {passage.citation()}\n\n<passage>\n{passage.text}\n</passage>"


def variant(key: str, options: List[str]) -> str:
    """A deterministic choice among phrasings (varied wording without randomness)."""
    return options[int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:8], 16) % len(options)]
