"""The teacher client shared by every LLM stage (instructions, preferences, labelling).

A *teacher* is a chat model behind any OpenAI-compatible endpoint (OpenAI, vLLM,
llama.cpp, a local server), called with the official ``openai`` client.

Stable API (other stages build on it)::

    from telecom_etl.synth.teacher import ChatRequest, Teacher, TeacherConfig

    config = TeacherConfig(model="gpt-4o-mini", base_url=None,       # None: $OPENAI_BASE_URL
                           api_key_env="OPENAI_API_KEY",             # the key is read from here
                           concurrency=16, rpm=500, tpm=200_000, timeout=60, max_retries=5,
                           cache_dir="out/_cache/teacher", max_requests=None, max_cost=None)
    with Teacher(config) as teacher:
        results = teacher.complete_many([ChatRequest(messages=[{"role": "user", "content": "..."}],
                                                     params={"temperature": 0.2, "max_tokens": 512},
                                                     prompt_version="qa/1", task="qa",
                                                     json_schema=None)])
        results[0].ok, results[0].content, results[0].finish_reason, results[0].error
        teacher.usage.to_dict()          # per (teacher, task): requests, cached, tokens, cost
        teacher.estimate(requests)       # dry run: requests to send, tokens and cost, no call
        teacher.complete_batch(requests) # OpenAI Batch API (half price), same cache
        teacher.check_credentials()      # TeacherError now when no API key is available

* ``complete_many`` is synchronous (usable inside a Beam ``DoFn``): it runs the
  requests on a private asyncio loop thread with bounded concurrency, client-side
  rate limits (requests and tokens per minute), per-request timeouts and retries with
  exponential backoff that honour ``Retry-After`` / ``retry-after-ms``. Results come
  back in request order. It never raises for a failed request: the result carries
  ``error`` (a failure kind from :data:`FAILURE_KINDS`) and ``error_detail``.
* Every successful answer (also a truncated one: it was paid for) is cached on disk
  (:mod:`telecom_etl.synth.cache`) under the sha256 of (model, messages, params,
  prompt version); a re-run sends only requests without an answer.
* ``max_requests`` / ``max_cost`` are a budget per :class:`Teacher` instance (per
  Beam worker): once spent, further requests are not sent and fail with
  ``budget_exceeded``. Cached answers are free and always returned.
* Structured output: ``json_schema`` asks for JSON (``response_format`` json_schema,
  or json_object, per ``TeacherConfig.response_format``; an endpoint that rejects the
  parameter is retried without it, once per teacher). :func:`extract_json` parses
  answers leniently (code fences, prose around the object).
* The API key is read from the environment variable named by ``api_key_env`` when
  the client is created; it is not stored in the config, the cache, results, usage or
  error texts.
"""
from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import math
import os
import random
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence

from telecom_etl.synth.cache import RequestCache, cache_key, canonical_json

#: Failure kinds a :class:`ChatResult` can carry in ``error``.
FAILURE_KINDS = ("rate_limited", "server_error", "timeout", "connection", "bad_request", "auth",
                 "malformed_response", "content_filter", "budget_exceeded", "batch_failed")

#: USD per million tokens (input, output); override with ``TeacherConfig.prices``.
#: A model is priced by the longest key that prefixes its name (dated snapshots match).
DEFAULT_PRICES: Dict[str, tuple] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5": (1.25, 10.00),
    "o4-mini": (1.10, 4.40),
    "o3-mini": (1.10, 4.40),
    "gpt-3.5-turbo": (0.50, 1.50),
}

DEFAULT_COMPLETION_ESTIMATE = 512  # completion tokens assumed by estimates when max_tokens is not set


class TeacherError(ValueError):
    """A bad teacher configuration, as one line."""


@dataclass
class TeacherConfig:
    model: str
    base_url: Optional[str] = None  # None: $OPENAI_BASE_URL, else the OpenAI API
    api_key_env: str = "OPENAI_API_KEY"  # the *name* of the variable holding the key
    name: str = "teacher"  # role name in reports (generator, validator, ...)
    concurrency: int = 8
    rpm: Optional[float] = None  # requests per minute, client side
    tpm: Optional[float] = None  # tokens per minute (prompt estimate + max_tokens), client side
    timeout: float = 120.0  # seconds per request attempt
    max_retries: int = 5
    retry_base_delay: float = 1.0  # first backoff; doubles per attempt (with jitter)
    retry_max_delay: float = 60.0  # cap of the exponential backoff
    retry_after_max: float = 600.0  # longest Retry-After honoured (longer: give up this attempt)
    max_requests: Optional[int] = None  # budget: requests sent (cache hits are free)
    max_cost: Optional[float] = None  # budget: USD (reserved before sending, settled from usage)
    cache_dir: Optional[str] = None  # None: no cache
    response_format: str = "json_schema"  # json_schema | json_object | none
    params: Dict[str, Any] = field(default_factory=dict)  # default sampling parameters
    prices: Dict[str, Any] = field(default_factory=dict)  # model -> {input, output} USD per 1M tokens
    batch_discount: float = 0.5  # Batch API price factor
    batch_poll_interval: float = 30.0
    batch_max_requests: int = 50_000  # per submitted batch (OpenAI's limit)
    batch_max_bytes: int = 190 << 20  # per uploaded JSONL file (OpenAI's limit is 200 MB)

    @classmethod
    def from_dict(cls, data: dict, name: Optional[str] = None) -> "TeacherConfig":
        """Build from a YAML/JSON mapping; unknown keys and a literal ``api_key`` are errors."""
        if not isinstance(data, dict):
            raise TeacherError(f"teacher {name or ''}: expected a mapping, got {type(data).__name__}")
        if "api_key" in data:
            raise TeacherError(f"teacher {name or data.get('name', '')}: do not put API keys in config files; "
                               "set api_key_env to the name of an environment variable")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TeacherError(f"teacher {name or data.get('name', '')}: unknown option(s) {', '.join(unknown)} "
                               f"(known: {', '.join(sorted(known))})")
        values = dict(data)
        if name and "name" not in values:
            values["name"] = name
        if not values.get("model"):
            raise TeacherError(f"teacher {values.get('name', '')}: 'model' is required")
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        if self.concurrency < 1:
            raise TeacherError(f"teacher {self.name}: concurrency must be >= 1")
        for key in ("rpm", "tpm", "max_cost"):
            value = getattr(self, key)
            if value is not None and value <= 0:
                raise TeacherError(f"teacher {self.name}: {key} must be > 0")
        if self.max_requests is not None and self.max_requests < 0:
            raise TeacherError(f"teacher {self.name}: max_requests must be >= 0")
        if self.response_format not in ("json_schema", "json_object", "none"):
            raise TeacherError(f"teacher {self.name}: response_format must be json_schema, json_object or none")
        for model, price in self.prices.items():
            if not (isinstance(price, dict) and set(price) <= {"input", "output"}) and not (
                    isinstance(price, (list, tuple)) and len(price) == 2):
                raise TeacherError(f"teacher {self.name}: price of {model} must be {{input: USD/1M, output: USD/1M}}")

    def public(self) -> dict:
        """The config for reports (never contains a key: only the variable's name)."""
        return dataclasses.asdict(self)

    def price(self, model: Optional[str] = None) -> Optional[tuple]:
        return price_for(model or self.model, self.prices)


def price_for(model: str, overrides: Optional[dict] = None) -> Optional[tuple]:
    """(input, output) USD per 1M tokens for ``model``, or None when unknown."""
    table = {k: tuple(v) for k, v in DEFAULT_PRICES.items()}
    for k, v in (overrides or {}).items():
        table[k] = (float(v["input"]), float(v["output"])) if isinstance(v, dict) else (float(v[0]), float(v[1]))
    if model in table:
        return table[model]
    best = max((k for k in table if model.startswith(k)), key=len, default=None)
    return table[best] if best else None


def cost_of(price: Optional[tuple], prompt_tokens: int, completion_tokens: int, factor: float = 1.0) -> float:
    if price is None:
        return 0.0
    return round((prompt_tokens * price[0] + completion_tokens * price[1]) / 1e6 * factor, 10)


def estimate_prompt_tokens(messages: Sequence[dict]) -> int:
    """About 4 characters per token plus a few per message (role and framing)."""
    return sum(4 + math.ceil(len(str(m.get("content") or "")) / 4) for m in messages) + 3


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

    @property
    def ok(self) -> bool:
        return self.error is None and self.content is not None

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# ---------------------------------------------------------------------------
# usage and cost accounting
# ---------------------------------------------------------------------------

def _blank_usage() -> dict:
    return {"requests": 0, "ok": 0, "failed": 0, "cached": 0, "sent": 0, "batch": 0, "truncated": 0,
            "attempts": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0, "cached_cost_usd": 0.0,
            "failed_by_kind": {}}


class Usage:
    """Requests, tokens and cost per (teacher, task). ``cost_usd`` is what this run paid;
    ``cached_cost_usd`` what the cached answers cost when bought (saved this run)."""

    def __init__(self):
        self.rows: Dict[tuple, dict] = {}

    def add(self, result: ChatResult) -> None:
        row = self.rows.setdefault((result.teacher, result.model, result.task), _blank_usage())
        add_result(row, result)

    def merge(self, other: "Usage") -> "Usage":
        for k, row in other.rows.items():
            merge_usage(self.rows.setdefault(k, _blank_usage()), row)
        return self

    def to_dict(self) -> dict:
        """``{"by_teacher": {name: totals}, "by_task": {task: totals}, "rows": [...], "total": totals}``."""
        return summarise_usage([{"teacher": t, "model": m, "task": k, **row}
                                for (t, m, k), row in sorted(self.rows.items())])


def add_result(row: dict, result: ChatResult) -> dict:
    row["requests"] += 1
    row["attempts"] += result.attempts
    if result.ok:
        row["ok"] += 1
        row["truncated"] += int(result.truncated)
        row["prompt_tokens"] += result.prompt_tokens
        row["completion_tokens"] += result.completion_tokens
        if result.cached:
            row["cached"] += 1
            row["cached_cost_usd"] = round(row["cached_cost_usd"] + result.cost, 10)
        else:
            row["sent"] += 1
            row["batch"] += int(result.batch)
            row["cost_usd"] = round(row["cost_usd"] + result.cost, 10)
    else:
        row["failed"] += 1
        row["failed_by_kind"][result.error] = row["failed_by_kind"].get(result.error, 0) + 1
    return row


def merge_usage(into: dict, row: dict) -> dict:
    for k, v in row.items():
        if k == "failed_by_kind":
            for kind, n in v.items():
                into["failed_by_kind"][kind] = into["failed_by_kind"].get(kind, 0) + n
        elif k in into and isinstance(v, (int, float)):
            into[k] = round(into[k] + v, 10) if isinstance(v, float) else into[k] + v
    return into


def summarise_usage(rows: List[dict]) -> dict:
    """Totals by teacher, by task and overall from per-(teacher, model, task) rows."""
    out = {"rows": rows, "by_teacher": {}, "by_task": {}, "total": _blank_usage()}
    for row in rows:
        counts = {k: v for k, v in row.items() if k not in ("teacher", "model", "task")}
        merge_usage(out["by_teacher"].setdefault(row["teacher"], {**_blank_usage(), "model": row["model"]}), counts)
        merge_usage(out["by_task"].setdefault(row["task"], _blank_usage()), counts)
        merge_usage(out["total"], counts)
    return out


# ---------------------------------------------------------------------------
# lenient JSON
# ---------------------------------------------------------------------------

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.S)


def extract_json(text: Optional[str]) -> Optional[Any]:
    """The first JSON object (or array) in a model answer: plain, in a code fence, or
    inside prose. None when there is none (the caller counts a parse failure)."""
    if not text:
        return None
    candidates = [text.strip()] + [m.group(1).strip() for m in _FENCE.finditer(text)]
    for cand in candidates:
        try:
            return json.loads(cand)
        except ValueError:
            pass
    decoder = json.JSONDecoder()
    for i, ch in enumerate(text):
        if ch in "{[":
            try:
                value, _ = decoder.raw_decode(text[i:])
            except ValueError:
                continue
            if isinstance(value, (dict, list)) and value:
                return value
    return None


# ---------------------------------------------------------------------------
# rate limiting
# ---------------------------------------------------------------------------

class _Bucket:
    """Token bucket refilled at ``per_minute / 60`` per second, holding at most one second's
    worth (a request larger than that waits for a full bucket, then runs into debt).
    Waiters queue on a lock, so they are served in arrival order."""

    def __init__(self, per_minute: float):
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.tokens = self.capacity
        self.last = time.monotonic()
        self.lock = asyncio.Lock()

    async def take(self, n: float) -> None:
        async with self.lock:
            need = min(n, self.capacity)
            while True:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
                self.last = now
                if self.tokens >= need:
                    self.tokens -= n
                    return
                await asyncio.sleep((need - self.tokens) / self.rate)


def _retry_after(exc) -> Optional[float]:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


class _Budget(Exception):
    pass


# ---------------------------------------------------------------------------
# the client
# ---------------------------------------------------------------------------

class Teacher:
    """One teacher model: cached, rate-limited, retrying chat completions. Not picklable:
    build it where it is used (in a DoFn's ``setup``) from a picklable :class:`TeacherConfig`."""

    def __init__(self, config: TeacherConfig):
        config.validate()
        self.config = config
        self.cache = RequestCache(config.cache_dir) if config.cache_dir else None
        self.usage = Usage()
        self._format = config.response_format
        self._renamed: Dict[str, str] = {}  # parameter -> the name this endpoint wants
        self._dropped: set = set()  # parameters this endpoint refuses
        self._sent = 0
        self._spent = 0.0
        self._reserved = 0.0
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._client = None
        self._lock = threading.Lock()
        self._price = config.price()
        base_url = config.base_url or os.environ.get("OPENAI_BASE_URL")
        self.base_url = base_url

    # ---- lifecycle ------------------------------------------------------
    def __enter__(self) -> "Teacher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return
        if self._client is not None:
            client, self._client = self._client, None
            try:
                asyncio.run_coroutine_threadsafe(client.close(), loop).result(timeout=10)
            except Exception:  # closing is best effort; the process may be going down
                pass
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        loop.close()
        for name in ("_sem", "_rpm", "_tpm", "_inflight"):  # bound to the closed loop; a reuse makes new ones
            self.__dict__.pop(name, None)

    def check_credentials(self) -> None:
        """Raise :class:`TeacherError` now (not at the first request) when no key is available."""
        self._api_key()

    def _api_key(self) -> str:
        key = os.environ.get(self.config.api_key_env)
        if key:
            return key
        if self.base_url:  # local servers (vLLM, llama.cpp) accept any key
            return "sk-no-key"
        raise TeacherError(f"teacher {self.config.name}: set {self.config.api_key_env} (or a --base-url of a "
                           "server that needs no key)")

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=loop.run_forever, name=f"teacher-{self.config.name}",
                                                daemon=True)
                self._thread.start()
                self._loop = loop
            return self._loop

    def _async_client(self):
        if self._client is None:
            from openai import AsyncOpenAI

            # retries are ours (budget, Retry-After, counted attempts), so the client's are off
            self._client = AsyncOpenAI(api_key=self._api_key(), base_url=self.base_url, max_retries=0,
                                       timeout=self.config.timeout)
        return self._client

    def _sync_client(self):
        from openai import OpenAI

        return OpenAI(api_key=self._api_key(), base_url=self.base_url, max_retries=self.config.max_retries,
                      timeout=self.config.timeout)

    # ---- public API -----------------------------------------------------
    def key(self, request: ChatRequest) -> str:
        return request.key(self.config.model, self.config.params)

    def complete(self, request: ChatRequest) -> ChatResult:
        return self.complete_many([request])[0]

    def complete_many(self, requests: Sequence[ChatRequest]) -> List[ChatResult]:
        """Answer every request (cache first), in request order; never raises for a failed request."""
        if not requests:
            return []
        loop = self._ensure_loop()
        results = asyncio.run_coroutine_threadsafe(self.acomplete_many(requests), loop).result()
        with self._lock:  # several DoFn threads may share one teacher
            for r in results:
                self.usage.add(r)
        return results

    async def acomplete_many(self, requests: Sequence[ChatRequest]) -> List[ChatResult]:
        """The async form (must run on this teacher's loop; :meth:`complete_many` does that)."""
        if not hasattr(self, "_sem"):
            self._sem = asyncio.Semaphore(self.config.concurrency)
            self._rpm = _Bucket(self.config.rpm) if self.config.rpm else None
            self._tpm = _Bucket(self.config.tpm) if self.config.tpm else None
            self._inflight: Dict[str, asyncio.Future] = {}
        return list(await asyncio.gather(*(self._one(r) for r in requests)))

    def estimate(self, requests: Iterable[ChatRequest]) -> dict:
        """Dry run: how many requests would be sent (cache misses, duplicates once), their
        estimated tokens (prompt ~ chars/4, completion = max_tokens or 512) and cost."""
        seen, out = set(), {"requests": 0, "cached": 0, "duplicates": 0, "to_send": 0,
                            "prompt_tokens": 0, "completion_tokens": 0}
        for req in requests:
            out["requests"] += 1
            key = self.key(req)
            if key in seen:
                out["duplicates"] += 1
                continue
            seen.add(key)
            if self.cache is not None and self.cache.get(key) is not None:
                out["cached"] += 1
                continue
            out["to_send"] += 1
            out["prompt_tokens"] += estimate_prompt_tokens(req.messages)
            out["completion_tokens"] += self._max_tokens(req)
        out["cost_usd"] = cost_of(self._price, out["prompt_tokens"], out["completion_tokens"])
        out["batch_cost_usd"] = round(out["cost_usd"] * self.config.batch_discount, 10)
        out["price_known"] = self._price is not None
        out["teacher"], out["model"] = self.config.name, self.config.model
        return out

    # ---- one request ----------------------------------------------------
    def _max_tokens(self, req: ChatRequest) -> int:
        params = req.merged_params(self.config.params)
        return int(params.get("max_tokens") or params.get("max_completion_tokens") or DEFAULT_COMPLETION_ESTIMATE)

    def _result(self, req: ChatRequest, key: str, **kw) -> ChatResult:
        return ChatResult(key=key, teacher=self.config.name, model=self.config.model, task=req.task, id=req.id, **kw)

    def _from_cache(self, req: ChatRequest, key: str) -> Optional[ChatResult]:
        if self.cache is None:
            return None
        entry = self.cache.get(key)
        if entry is None:
            return None
        return self._result(req, key, content=entry["content"], finish_reason=entry.get("finish_reason"),
                            prompt_tokens=entry.get("prompt_tokens", 0),
                            completion_tokens=entry.get("completion_tokens", 0), cost=entry.get("cost", 0.0),
                            cached=True, batch=bool(entry.get("batch")))

    def _store(self, key: str, result: ChatResult) -> None:
        if self.cache is not None:
            self.cache.put(key, {"content": result.content, "finish_reason": result.finish_reason,
                                 "prompt_tokens": result.prompt_tokens, "completion_tokens": result.completion_tokens,
                                 "cost": result.cost, "model": self.config.model, "batch": result.batch})

    def _reserve(self, req: ChatRequest) -> float:
        """Take a slot of the budget before sending, or raise _Budget."""
        cfg = self.config
        with self._lock:
            if cfg.max_requests is not None and self._sent >= cfg.max_requests:
                raise _Budget(f"max_requests={cfg.max_requests} reached")
            reserve = cost_of(self._price, estimate_prompt_tokens(req.messages), self._max_tokens(req))
            if cfg.max_cost is not None and self._spent + self._reserved + reserve > cfg.max_cost:
                raise _Budget(f"max_cost={cfg.max_cost} USD reached (spent {self._spent:.4f})")
            self._sent += 1
            self._reserved += reserve
            return reserve

    def _settle(self, reserve: float, cost: float) -> None:
        with self._lock:
            self._reserved -= reserve
            self._spent += cost

    async def _one(self, req: ChatRequest) -> ChatResult:
        key = self.key(req)
        hit = self._from_cache(req, key)
        if hit is not None:
            return hit
        # identical requests in flight at once are sent once
        pending = self._inflight.get(key)
        if pending is not None:
            shared = await asyncio.shield(pending)
            return dataclasses.replace(shared, task=req.task, id=req.id, cached=shared.ok, attempts=0)
        future = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            result = await self._send(req, key)
            future.set_result(result)
            return result
        except BaseException as exc:  # pragma: no cover - cancellation
            future.set_exception(exc)
            raise
        finally:
            self._inflight.pop(key, None)

    def _body(self, req: ChatRequest) -> dict:
        params = {**self.config.params, **req.params}
        for name in list(params):
            if name in self._dropped:
                params.pop(name)
            elif name in self._renamed:
                params[self._renamed[name]] = params.pop(name)
        body = {"model": self.config.model, "messages": req.messages, **params}
        if req.json_schema is not None and self._format != "none":
            if self._format == "json_schema":
                body["response_format"] = {"type": "json_schema", "json_schema": {
                    "name": re.sub(r"[^A-Za-z0-9_-]", "_", req.task or "answer")[:64] or "answer",
                    "schema": req.json_schema, "strict": False}}
            else:
                body["response_format"] = {"type": "json_object"}
        return body

    async def _send(self, req: ChatRequest, key: str) -> ChatResult:
        import openai

        cfg = self.config
        try:
            reserve = self._reserve(req)
        except _Budget as exc:
            return self._result(req, key, error="budget_exceeded", error_detail=str(exc))
        rng = random.Random(int(key[:16], 16))  # jitter without shared global randomness
        attempts, kind, detail, paid = 0, None, "", 0.0
        try:
            client = self._async_client()  # a missing key is a configuration error: raised, not counted
            async with self._sem:
                while True:
                    attempts += 1
                    if self._rpm:
                        await self._rpm.take(1)
                    if self._tpm:
                        await self._tpm.take(estimate_prompt_tokens(req.messages) + self._max_tokens(req))
                    body = self._body(req)
                    wait = None
                    try:
                        completion = await client.chat.completions.create(**body)
                        result = self._parse(req, key, completion, attempts)
                        if result.error is None:
                            paid = result.cost
                            # written before the slot is released (a kill after this loses nothing),
                            # off the event loop (an fsync must not stall the other requests)
                            await asyncio.to_thread(self._store, key, result)
                            return result
                        if result.error == "content_filter":  # asking again gets the same verdict
                            return result
                        kind, detail = result.error, result.error_detail
                    except openai.BadRequestError as exc:
                        if "response_format" in body and self._format != "none" and _mentions_format(exc):
                            # the endpoint does not support structured output: ask in the prompt only
                            self._format = "json_object" if self._format == "json_schema" else "none"
                            attempts -= 1
                            continue
                        if self._adapt(body, str(exc)):  # e.g. reasoning models: max_completion_tokens
                            attempts -= 1
                            continue
                        return self._result(req, key, attempts=attempts, error="bad_request",
                                            error_detail=self._scrub(_status_line(exc)))
                    except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                        return self._result(req, key, attempts=attempts, error="auth",
                                            error_detail=self._scrub(_status_line(exc)))
                    except openai.RateLimitError as exc:
                        kind, detail, wait = "rate_limited", _status_line(exc), _retry_after(exc)
                    except openai.APITimeoutError:
                        kind, detail = "timeout", f"no answer within {cfg.timeout:g} s"
                    except openai.APIConnectionError as exc:
                        kind, detail = "connection", _cause_line(exc)
                    except openai.APIStatusError as exc:
                        status = exc.status_code
                        if status in (408, 409) or status >= 500:
                            kind, detail, wait = "server_error", _status_line(exc), _retry_after(exc)
                        else:
                            return self._result(req, key, attempts=attempts, error="bad_request",
                                                error_detail=self._scrub(_status_line(exc)))
                    except (openai.APIResponseValidationError, ValueError, KeyError, TypeError, AttributeError) as exc:
                        kind, detail = "malformed_response", f"{type(exc).__name__}: {str(exc)[:200]}"
                    if attempts > cfg.max_retries:
                        return self._result(req, key, attempts=attempts, error=kind,
                                            error_detail=self._scrub(detail) + f" (after {attempts} attempts)")
                    if wait is not None and wait > cfg.retry_after_max:
                        return self._result(req, key, attempts=attempts, error=kind,
                                            error_detail=self._scrub(detail) + f" (Retry-After {wait:g} s too long)")
                    if wait is None:
                        backoff = min(cfg.retry_max_delay, cfg.retry_base_delay * 2 ** (attempts - 1))
                        wait = backoff * (0.5 + rng.random() / 2)
                    await asyncio.sleep(wait)
        finally:
            self._settle(reserve, paid)

    def _adapt(self, body: dict, message: str) -> bool:
        """Learn from a 400 that names a parameter: OpenAI's reasoning models want
        ``max_completion_tokens`` for ``max_tokens`` and refuse sampling parameters. The cache
        key keeps the parameters as asked, so answers stay addressable."""
        low = message.lower()
        if "max_tokens" in body and "max_completion_tokens" in low and "max_tokens" not in self._renamed:
            self._renamed["max_tokens"] = "max_completion_tokens"
            return True
        for name in ("temperature", "top_p", "seed", "presence_penalty", "frequency_penalty"):
            if name in body and name not in self._dropped and re.search(
                    rf"(unsupported|not supported|does not support|unrecognized|unknown)[^.]*'?{name}'?|"
                    rf"'?{name}'?[^.]*(unsupported|not supported|is not allowed)", low):
                self._dropped.add(name)
                return True
        return False

    def _parse(self, req: ChatRequest, key: str, completion, attempts: int) -> ChatResult:
        if isinstance(completion, (str, bytes)) or not getattr(completion, "choices", None):
            return self._result(req, key, attempts=attempts, error="malformed_response",
                                error_detail="answer without choices")
        choice = completion.choices[0]
        message = getattr(choice, "message", None)
        content = getattr(message, "content", None)
        if content is None:
            refusal = getattr(message, "refusal", None)
            content = refusal if refusal else None
        if content is None and choice.finish_reason == "content_filter":
            return self._result(req, key, attempts=attempts, error="content_filter",
                                error_detail="the endpoint's content filter withheld the answer")
        if content is None:
            return self._result(req, key, attempts=attempts, error="malformed_response",
                                error_detail=f"answer without content (finish_reason={choice.finish_reason})")
        usage = getattr(completion, "usage", None)
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0) if usage else estimate_prompt_tokens(req.messages)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0) if usage else math.ceil(len(content) / 4)
        return self._result(req, key, content=content, finish_reason=choice.finish_reason,
                            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                            cost=cost_of(self._price, prompt_tokens, completion_tokens), attempts=attempts)

    def _scrub(self, text: str) -> str:
        key = os.environ.get(self.config.api_key_env)
        if key and len(key) >= 6:
            text = text.replace(key, "***")
        return re.sub(r"\bsk-[A-Za-z0-9_\-]{8,}", "sk-***", text)

    # ---- OpenAI Batch API -------------------------------------------------
    def batch_lines(self, requests: Sequence[ChatRequest]) -> List[tuple]:
        """(key, JSONL line) for each distinct uncached request, in first-seen order."""
        seen, out = set(), []
        for req in requests:
            key = self.key(req)
            if key in seen or (self.cache is not None and self.cache.get(key) is not None):
                continue
            seen.add(key)
            line = {"custom_id": key, "method": "POST", "url": "/v1/chat/completions", "body": self._body(req)}
            out.append((key, canonical_json(line)))
        return out

    def complete_batch(self, requests: Sequence[ChatRequest], poll_interval: Optional[float] = None,
                       max_wait: Optional[float] = None) -> List[ChatResult]:
        """Answer through the Batch API: write the JSONL, upload, submit, poll, collect.

        Answers go into the same cache. The submitted batch id is journaled in the cache
        folder before polling, so a run killed while waiting resumes that batch instead of
        submitting (and paying for) it again. Budget limits apply as in :meth:`complete_many`."""
        cfg = self.config
        poll = cfg.batch_poll_interval if poll_interval is None else poll_interval
        pending = self.batch_lines(requests)
        allowed, refused = [], {}
        budgeted = cfg.max_requests is not None or cfg.max_cost is not None
        by_key = {self.key(r): r for r in requests} if budgeted else {}
        for key, line in pending:
            req = by_key.get(key)
            if req is not None:
                try:
                    self._reserve(req)
                except _Budget as exc:
                    refused[key] = str(exc)
                    continue
            allowed.append((key, line))
        answers: Dict[str, ChatResult] = {}
        errors: Dict[str, tuple] = {}
        if allowed:
            client = self._sync_client()
            try:
                for chunk in batch_chunks(allowed, cfg.batch_max_requests, cfg.batch_max_bytes):
                    got, bad = self._run_batch(client, chunk, poll, max_wait)
                    answers.update(got)
                    errors.update(bad)
            finally:
                client.close()
        out = []
        for req in requests:
            key = self.key(req)
            hit = self._from_cache(req, key)
            if hit is not None:
                if key in answers:  # bought in this run
                    hit = dataclasses.replace(hit, cached=False, attempts=1)
                    answers.pop(key)
                out.append(hit)
            elif key in refused:
                out.append(self._result(req, key, error="budget_exceeded", error_detail=refused[key]))
            elif key in errors:
                out.append(self._result(req, key, attempts=1, error=errors[key][0], error_detail=errors[key][1]))
            else:
                out.append(self._result(req, key, attempts=1, error="batch_failed", error_detail="no answer in batch"))
        for r in out:
            self.usage.add(r)
        return out

    def _run_batch(self, client, chunk: List[tuple], poll: float, max_wait: Optional[float]):
        cfg = self.config
        keys = [k for k, _ in chunk]
        journal_name = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:32]
        journal = self.cache.read_journal(journal_name) if self.cache is not None else None
        batch_id = journal.get("batch_id") if journal else None
        if batch_id:
            batch = client.batches.retrieve(batch_id)
            if batch.status in ("failed", "expired", "cancelled") and not batch.output_file_id:
                batch_id = None
        if not batch_id:
            data = ("\n".join(line for _, line in chunk) + "\n").encode("utf-8")
            uploaded = client.files.create(file=("requests.jsonl", data), purpose="batch")
            batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                                          completion_window="24h",
                                          metadata={"telecom_etl_teacher": cfg.name})
            batch_id = batch.id
            if self.cache is not None:
                self.cache.write_journal(journal_name, {"batch_id": batch_id, "requests": len(chunk)})
        started = time.monotonic()
        while batch.status not in ("completed", "failed", "expired", "cancelled"):
            if max_wait is not None and time.monotonic() - started > max_wait:
                return {}, {k: ("batch_failed", f"batch {batch_id} still {batch.status} after {max_wait:g} s; "
                                                "re-run to collect it") for k in keys}
            time.sleep(poll)
            batch = client.batches.retrieve(batch_id)
        answers, errors = {}, {}
        price = self._price
        for file_id in (batch.output_file_id, getattr(batch, "error_file_id", None)):
            if not file_id:
                continue
            text = client.files.content(file_id).text
            for raw in text.splitlines():
                if not raw.strip():
                    continue
                try:
                    item = json.loads(raw)
                except ValueError:
                    continue
                key = item.get("custom_id")
                response = item.get("response") or {}
                body = response.get("body") or {}
                if item.get("error") or response.get("status_code") != 200:
                    err = item.get("error") or body.get("error") or {}
                    errors[key] = ("batch_failed", self._scrub(str(err.get("message") or err)[:200]))
                    continue
                try:
                    choice = body["choices"][0]
                    content = choice["message"]["content"]
                    if content is None:
                        raise KeyError("content")
                except (KeyError, IndexError, TypeError):
                    errors[key] = ("malformed_response", "batch answer without content")
                    continue
                usage = body.get("usage") or {}
                pt, ct = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
                result = ChatResult(key=key, teacher=cfg.name, model=cfg.model, content=content,
                                    finish_reason=choice.get("finish_reason"), prompt_tokens=pt,
                                    completion_tokens=ct, cost=cost_of(price, pt, ct, cfg.batch_discount),
                                    batch=True, attempts=1)
                self._store(key, result)
                answers[key] = result
                with self._lock:
                    self._spent += result.cost
        if batch.status != "completed":
            for k in keys:
                if k not in answers and k not in errors:
                    errors[k] = ("batch_failed", f"batch {batch_id} {batch.status}")
        return answers, errors


def batch_chunks(lines: List[tuple], max_requests: int, max_bytes: int) -> List[List[tuple]]:
    """(key, JSONL line) pairs cut into batches within the request and file-size limits."""
    chunks, current, size = [], [], 0
    for key, line in lines:
        n = len(line.encode("utf-8")) + 1
        if current and (len(current) >= max_requests or size + n > max_bytes):
            chunks.append(current)
            current, size = [], 0
        current.append((key, line))
        size += n
    if current:
        chunks.append(current)
    return chunks


def _mentions_format(exc) -> bool:
    return "response_format" in str(exc) or "json_schema" in str(exc)


def _status_line(exc) -> str:
    status = getattr(exc, "status_code", None)
    message = getattr(exc, "message", None) or str(exc)
    return f"HTTP {status}: {str(message).splitlines()[0][:200]}" if status else str(message)[:200]


def _cause_line(exc) -> str:
    cause = exc.__cause__ or exc.__context__
    return f"{type(cause).__name__}: {str(cause)[:160]}" if cause else str(exc)[:200]


# ---------------------------------------------------------------------------
# several teachers from one YAML file
# ---------------------------------------------------------------------------

def load_teachers(data: dict, defaults: Optional[dict] = None) -> Dict[str, TeacherConfig]:
    """``{"teachers": {name: {model: ..., ...}}, "prices": {...}}`` -> name -> config.

    ``defaults`` (e.g. command-line options) fill keys a teacher does not set; a
    top-level ``prices`` table applies to every teacher."""
    if not isinstance(data, dict) or not isinstance(data.get("teachers"), dict) or not data["teachers"]:
        raise TeacherError("teacher config: expected a 'teachers:' mapping of name -> {model: ..., base_url: ...}")
    prices = data.get("prices") or {}
    out = {}
    for name, spec in sorted(data["teachers"].items()):
        if not isinstance(spec, dict):
            raise TeacherError(f"teacher {name}: expected a mapping")
        merged = {**(defaults or {}), **spec}
        merged["prices"] = {**prices, **(spec.get("prices") or {})}
        out[name] = TeacherConfig.from_dict(merged, name=name)
    return out


def load_teachers_file(path: str, defaults: Optional[dict] = None) -> Dict[str, TeacherConfig]:
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        raise TeacherError(f"teacher config {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise TeacherError(f"teacher config {path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return load_teachers(data, defaults)
