"""What is asked (:class:`ChatRequest`) and what comes back (:class:`ChatResult`)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from telecom_etl.synth.cache import cache_key

#: Failure kinds a :class:`ChatResult` can carry in ``error``.
FAILURE_KINDS = ("rate_limited", "server_error", "timeout", "connection", "bad_request", "auth",
                 "malformed_response", "too_large", "content_filter", "budget_exceeded", "batch_failed")


@dataclass
class ChatRequest:
    """One chat completion to ask for. ``task`` and ``id`` are for accounting and tracing only."""

    messages: List[Dict[str, str]]
    params: Dict[str, Any] = field(default_factory=dict)  # temperature, max_tokens, seed, top_p, ...
    prompt_version: str = ""
    task: str = ""
    id: str = ""
    json_schema: Optional[dict] = None  # ask for a JSON object (matching this schema when supported)

    def merged_params(self, defaults: dict) -> dict:
        params = {**defaults, **self.params}
        if self.json_schema is not None:
            params["json_schema"] = self.json_schema
        return params

    def key(self, model: str, defaults: Optional[dict] = None) -> str:
        return cache_key(model, self.messages, self.merged_params(defaults or {}), self.prompt_version)


@dataclass
class ChatResult:
    key: str
    teacher: str
    model: str
    task: str = ""
    id: str = ""
    content: Optional[str] = None
    finish_reason: Optional[str] = None  # stop | length | content_filter | ...
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0  # USD this answer cost when it was bought (also for cached answers)
    cached: bool = False  # answered from the disk cache: nothing sent, nothing paid this run
    batch: bool = False  # bought through the Batch API
    attempts: int = 0  # HTTP attempts made this run
    error: Optional[str] = None  # one of FAILURE_KINDS, None when ok
    error_detail: str = ""
    refusal: bool = False  # the endpoint answered with its ``refusal`` field instead of content
    usage_clamped: bool = False  # the endpoint's usage numbers were not believed (see usage.believable_usage)

    @property
    def ok(self) -> bool:
        return self.error is None and self.content is not None

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
