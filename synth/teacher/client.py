"""The teacher client: cached, rate-limited, retrying chat completions on a private loop thread."""
from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import random
import re
import threading
import time
from typing import Dict, Iterable, List, Optional, Sequence

from telecom_etl.synth.cache import RequestCache
from telecom_etl.synth.teacher.batch import BatchMixin
from telecom_etl.synth.teacher.config import TeacherConfig, TeacherError
from telecom_etl.synth.teacher.limits import Bucket, Gate
from telecom_etl.synth.teacher.prices import cost_of
from telecom_etl.synth.teacher.request import ChatRequest, ChatResult
from telecom_etl.synth.teacher.retries import backoff, cause_line, mentions_format, status_line, wait_of
from telecom_etl.synth.teacher.secrets import scrub, url_secrets
from telecom_etl.synth.teacher.tokens import DEFAULT_COMPLETION_ESTIMATE, count_prompt_tokens
from telecom_etl.synth.teacher.usage import Usage, believable_usage

MAX_ATTEMPTS = 200  # a hard stop for one request whatever the server keeps saying


def _httpx():
    """The HTTP library the installed openai client is built on (``httpx2`` in openai 3, ``httpx`` before)."""
    try:
        import httpx2 as httpx
    except ImportError:
        import httpx
    return httpx


def split_query(url: Optional[str]):
    """(URL without its query, the query as a dict): a gateway's ``?api-key=...`` goes on every
    request (the client appends paths to the base URL, which would land inside the query)."""
    if not url or "?" not in url:
        return url, None
    from urllib.parse import parse_qsl, urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), dict(parse_qsl(parts.query)) or None


class _Budget(Exception):
    pass


class _TooLarge(Exception):
    pass


class Teacher(BatchMixin):
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
        self._tokens = 0
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._client = None
        self._lock = threading.Lock()
        self._price = config.price()
        self.base_url = config.base_url or os.environ.get("OPENAI_BASE_URL")
        self.gate = Gate()  # the whole teacher waits when a server asks it to
        self.notes: List[str] = []  # one line per capability fallback (printed once by the command)

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

    def secrets(self) -> List[str]:
        """What must never reach an output: the API key and the credentials inside the base URL."""
        key = os.environ.get(self.config.api_key_env)
        return ([key] if key else []) + url_secrets(self.base_url)

    def _scrub(self, text: Optional[str]) -> Optional[str]:
        return scrub(text, self.secrets())

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
            httpx = _httpx()

            # retries are ours (budget, rate-limit headers, counted attempts), so the client's are off;
            # enough connections for every request in flight (httpx's default pool is 100)
            limits = httpx.Limits(max_connections=max(100, self.config.concurrency * 2),
                                  max_keepalive_connections=max(20, self.config.concurrency))
            base_url, query = split_query(self.base_url)
            self._client = AsyncOpenAI(api_key=self._api_key(), base_url=base_url, max_retries=0,
                                       timeout=self.config.timeout, default_query=query,
                                       http_client=httpx.AsyncClient(limits=limits, timeout=self.config.timeout))
        return self._client

    def _sync_client(self):
        from openai import OpenAI

        base_url, query = split_query(self.base_url)
        return OpenAI(api_key=self._api_key(), base_url=base_url, max_retries=self.config.max_retries,
                      timeout=self.config.timeout, default_query=query)

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
            self._rpm = Bucket(self.config.rpm) if self.config.rpm else None
            self._tpm = Bucket(self.config.tpm) if self.config.tpm else None
            self._inflight: Dict[str, asyncio.Future] = {}
        return list(await asyncio.gather(*(self._one(r) for r in requests)))

    def prompt_tokens(self, req: ChatRequest) -> int:
        return count_prompt_tokens(req.messages, self.config.model)

    def estimate(self, requests: Iterable[ChatRequest]) -> dict:
        """Dry run: how many requests would be sent (cache misses, duplicates once), their
        estimated tokens (prompt counted with the model's tokenizer where available,
        completion = max_tokens or 512) and cost."""
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
            out["prompt_tokens"] += self.prompt_tokens(req)
            out["completion_tokens"] += self.max_tokens(req)
        out["cost_usd"] = cost_of(self._price, out["prompt_tokens"], out["completion_tokens"])
        out["batch_cost_usd"] = round(out["cost_usd"] * self.config.batch_discount, 10)
        out["price_known"] = self._price is not None
        out["teacher"], out["model"] = self.config.name, self.config.model
        return out

    def cost_estimate(self, req: ChatRequest) -> tuple:
        """(tokens, USD) a request may cost at most: its prompt tokens plus max_tokens."""
        prompt, completion = self.prompt_tokens(req), self.max_tokens(req)
        return prompt + completion, cost_of(self._price, prompt, completion)

    def cached(self, req: ChatRequest) -> bool:
        return self.cache is not None and self.cache.get(self.key(req)) is not None

    # ---- one request ----------------------------------------------------
    def max_tokens(self, req: ChatRequest) -> int:
        params = req.merged_params(self.config.params)
        return int(params.get("max_tokens") or params.get("max_completion_tokens") or DEFAULT_COMPLETION_ESTIMATE)

    _max_tokens = max_tokens

    def _asked_max_tokens(self, req: ChatRequest) -> Optional[int]:
        params = req.merged_params(self.config.params)
        value = params.get("max_tokens") or params.get("max_completion_tokens")
        return int(value) if value else None

    def _result(self, req: ChatRequest, key: str, **kw) -> ChatResult:
        return ChatResult(key=key, teacher=self.config.name, model=self.config.model, task=req.task, id=req.id, **kw)

    def _from_cache(self, req: ChatRequest, key: str) -> Optional[ChatResult]:
        if self.cache is None:
            return None
        entry = self.cache.get(key)
        if entry is None:
            return None
        return self._result(req, key, content=self._scrub(entry["content"]), finish_reason=entry.get("finish_reason"),
                            prompt_tokens=entry.get("prompt_tokens", 0),
                            completion_tokens=entry.get("completion_tokens", 0), cost=entry.get("cost", 0.0),
                            cached=True, batch=bool(entry.get("batch")), refusal=bool(entry.get("refusal")))

    def _store(self, key: str, result: ChatResult) -> None:
        if self.cache is not None:
            self.cache.put(key, {"content": result.content, "finish_reason": result.finish_reason,
                                 "prompt_tokens": result.prompt_tokens, "completion_tokens": result.completion_tokens,
                                 "cost": result.cost, "model": self.config.model, "batch": result.batch,
                                 **({"refusal": True} if result.refusal else {})})

    def _reserve(self, req: ChatRequest) -> float:
        """Take a slot of this teacher's own budget before sending, or raise _Budget. (The run's
        budget is planned before the pipeline sends anything: :mod:`telecom_etl.synth.teacher.budget`.)"""
        cfg = self.config
        with self._lock:
            if cfg.max_requests is not None and self._sent >= cfg.max_requests:
                raise _Budget(f"max_requests={cfg.max_requests} reached")
            tokens, reserve = self.cost_estimate(req) if (cfg.max_cost is not None or cfg.max_tokens_total
                                                           is not None) else (0, 0.0)
            if cfg.max_cost is not None and self._spent + self._reserved + reserve > cfg.max_cost:
                raise _Budget(f"max_cost={cfg.max_cost} USD reached (spent {self._spent:.4f})")
            if cfg.max_tokens_total is not None and self._tokens + tokens > cfg.max_tokens_total:
                raise _Budget(f"max_tokens_total={cfg.max_tokens_total} reached")
            self._sent += 1
            self._reserved += reserve
            self._tokens += tokens
            return reserve

    def _settle(self, reserve: float, cost: float) -> None:
        with self._lock:
            self._reserved -= reserve
            self._spent += max(cost, 0.0)

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

    async def _post(self, client, body: dict) -> dict:
        """One HTTP attempt: the answer's JSON, its body read in chunks up to ``max_answer_bytes``."""
        cap = self.config.max_answer_bytes
        async with client.chat.completions.with_streaming_response.create(**body) as response:
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > cap:
                raise _TooLarge(f"answer of {int(declared):,} bytes (limit {cap:,})")
            chunks, size = [], 0
            async for chunk in response.iter_bytes():
                size += len(chunk)
                if size > cap:
                    raise _TooLarge(f"answer over {cap:,} bytes")
                chunks.append(chunk)
        return json.loads(b"".join(chunks))

    async def _send(self, req: ChatRequest, key: str) -> ChatResult:
        import openai

        httpx = _httpx()
        cfg = self.config
        try:
            reserve = self._reserve(req)
        except _Budget as exc:
            return self._result(req, key, error="budget_exceeded", error_detail=str(exc))
        rng = random.Random(int(key[:16], 16))  # jitter without shared global randomness
        attempts, failures, kind, detail, paid, waited = 0, 0, None, "", 0.0, 0.0
        try:
            client = self._async_client()  # a missing key is a configuration error: raised, not counted
            async with self._sem:
                while True:
                    waited += await self.gate.wait()
                    attempts += 1
                    if self._rpm:
                        await self._rpm.take(1)
                    if self._tpm:
                        await self._tpm.take(self.cost_estimate(req)[0])
                    body = self._body(req)
                    wait, limited = None, False
                    try:
                        data = await asyncio.wait_for(self._post(client, body), cfg.timeout)
                        result = self._parse(req, key, data, attempts)
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
                        if "response_format" in body and self._format != "none" and mentions_format(exc):
                            # the endpoint does not support structured output: ask in the prompt only
                            self._format = "json_object" if self._format == "json_schema" else "none"
                            self._note(f"teacher {cfg.name}: the endpoint refused response_format; asking for "
                                       f"JSON {'as json_object' if self._format == 'json_object' else 'in the prompt'}")
                            attempts -= 1
                            continue
                        if self._adapt(body, str(exc)):  # e.g. reasoning models: max_completion_tokens
                            attempts -= 1
                            continue
                        return self._result(req, key, attempts=attempts, error="bad_request",
                                            error_detail=self._scrub(status_line(exc)))
                    except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                        return self._result(req, key, attempts=attempts, error="auth",
                                            error_detail=self._scrub(status_line(exc)))
                    except openai.RateLimitError as exc:
                        kind, detail, wait, limited = "rate_limited", status_line(exc), wait_of(exc), True
                    except (openai.APITimeoutError, asyncio.TimeoutError):
                        kind, detail = "timeout", f"no whole answer within {cfg.timeout:g} s"
                    except openai.APIConnectionError as exc:
                        kind, detail = "connection", cause_line(exc)
                    except openai.APIStatusError as exc:
                        status = exc.status_code
                        if status in (408, 409) or status >= 500:
                            kind, detail, wait = "server_error", status_line(exc), wait_of(exc)
                        else:
                            return self._result(req, key, attempts=attempts, error="bad_request",
                                                error_detail=self._scrub(status_line(exc)))
                    except _TooLarge as exc:  # asking again would buy the same flood
                        return self._result(req, key, attempts=attempts, error="too_large", error_detail=str(exc))
                    except httpx.HTTPError as exc:  # the body broke off while it was read
                        kind, detail = "connection", f"{type(exc).__name__}: {str(exc)[:160]}"
                    except (openai.APIResponseValidationError, ValueError, KeyError, TypeError,
                            AttributeError) as exc:
                        kind, detail = "malformed_response", f"{type(exc).__name__}: {str(exc)[:200]}"
                    if not limited:
                        failures += 1
                    if failures > cfg.max_retries or attempts >= MAX_ATTEMPTS:
                        return self._result(req, key, attempts=attempts, error=kind,
                                            error_detail=self._scrub(detail) + f" (after {attempts} attempts)")
                    if wait is not None and wait > cfg.retry_after_max:
                        return self._result(req, key, attempts=attempts, error=kind,
                                            error_detail=self._scrub(detail) + f" (server asks {wait:g} s, more "
                                            f"than retry_after_max={cfg.retry_after_max:g})")
                    if wait is not None:
                        self.gate.close_for(wait)  # the server said so: the whole teacher waits
                    else:
                        wait = backoff(attempts if not limited else min(attempts, 8), cfg.retry_base_delay,
                                       cfg.retry_max_delay, rng)
                    if limited and waited + wait > cfg.rate_limit_wait:
                        return self._result(req, key, attempts=attempts, error=kind,
                                            error_detail=self._scrub(detail) + f" (still limited after waiting "
                                            f"{waited:.0f} s; rate_limit_wait={cfg.rate_limit_wait:g})")
                    await asyncio.sleep(wait)
                    waited += wait
        finally:
            self._settle(reserve, paid)

    def _note(self, line: str) -> None:
        with self._lock:
            if line not in self.notes:
                self.notes.append(line)
                import sys

                print(f"telecom-etl: {line}", file=sys.stderr, flush=True)

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

    def _parse(self, req: ChatRequest, key: str, data, attempts: int) -> ChatResult:
        """A chat completion (JSON) -> result; content scrubbed of secrets, usage believed only
        within what the request can have used."""
        choices = data.get("choices") if isinstance(data, dict) else None
        if not choices or not isinstance(choices, list) or not isinstance(choices[0], dict):
            return self._result(req, key, attempts=attempts, error="malformed_response",
                                error_detail="answer without choices")
        choice = choices[0]
        message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
        content = message.get("content")
        finish_reason = choice.get("finish_reason")
        refusal = False
        if content is None and message.get("refusal"):
            content, refusal = message["refusal"], True
        if content is None and finish_reason == "content_filter":
            return self._result(req, key, attempts=attempts, error="content_filter",
                                error_detail="the endpoint's content filter withheld the answer")
        if content is None:
            return self._result(req, key, attempts=attempts, error="malformed_response",
                                error_detail=f"answer without content (finish_reason={finish_reason})")
        if not isinstance(content, str):
            return self._result(req, key, attempts=attempts, error="malformed_response",
                                error_detail=f"content is {type(content).__name__}, not text")
        content = self._scrub(content)
        prompt_tokens, completion_tokens, clamped = believable_usage(data.get("usage"), req.messages, content,
                                                                     self._asked_max_tokens(req))
        return self._result(req, key, content=content, finish_reason=finish_reason,
                            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                            cost=cost_of(self._price, prompt_tokens, completion_tokens), attempts=attempts,
                            refusal=refusal, usage_clamped=clamped)
