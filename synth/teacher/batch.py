"""The OpenAI Batch API (half price): JSONL upload, submit, poll, collect into the same cache.

Most OpenAI-compatible servers (vLLM, llama.cpp, gateways such as LiteLLM's proxy without a
provider behind it) have no Files/Batch API. :meth:`BatchMixin.batch_support` probes once;
:meth:`BatchMixin.complete_batch` raises :class:`BatchUnsupported` (one line) when the
endpoint lacks it or refuses the upload, so the command can run online instead (or stop,
when the user asked for batch only), never with a traceback."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from typing import Dict, List, Optional, Sequence

from telecom_etl.synth.cache import canonical_json
from telecom_etl.synth.teacher.prices import cost_of
from telecom_etl.synth.teacher.request import ChatRequest, ChatResult
from telecom_etl.synth.teacher.retries import status_line
from telecom_etl.synth.teacher.usage import believable_usage


class BatchUnsupported(Exception):
    """The endpoint has no (working) Files/Batch API; the message is one line."""


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


class BatchMixin:
    """Batch API methods of :class:`~telecom_etl.synth.teacher.client.Teacher`."""

    _batch_support: Optional[str] = None

    def batch_support(self) -> Optional[str]:
        """None when the endpoint lists batches (the Batch API is there), else why not (one line).
        Asked once per teacher."""
        if self._batch_support is None:
            import openai

            client = self._sync_client()
            try:
                client.with_options(max_retries=0).batches.list(limit=1)
                self._batch_support = ""
            except openai.APIStatusError as exc:
                self._batch_support = f"no Batch API at this endpoint ({self._scrub(status_line(exc))})"
            except openai.APIError as exc:
                self._batch_support = f"no Batch API at this endpoint ({self._scrub(str(exc))[:160]})"
            finally:
                client.close()
        return self._batch_support or None

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
        submitting (and paying for) it again. Budget limits apply as in :meth:`complete_many`.
        Raises :class:`BatchUnsupported` before anything is bought when the endpoint has no Batch API."""
        cfg = self.config
        poll = cfg.batch_poll_interval if poll_interval is None else poll_interval
        pending = self.batch_lines(requests)
        if pending:
            why = self.batch_support()
            if why:
                raise BatchUnsupported(f"teacher {cfg.name}: {why}")
        from telecom_etl.synth.teacher.client import _Budget

        allowed, refused = [], {}
        by_key = {self.key(r): r for r in requests}
        for key, line in pending:
            req = by_key.get(key)
            if req is not None and cfg.budgeted:
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
                    got, bad = self._run_batch(client, chunk, poll, max_wait, by_key)
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

    def _submit(self, client, chunk: List[tuple]):
        import openai

        data = ("\n".join(line for _, line in chunk) + "\n").encode("utf-8")
        try:
            uploaded = client.files.create(file=("requests.jsonl", data), purpose="batch")
            return client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                                         completion_window="24h", metadata={"telecom_etl_teacher": self.config.name})
        except (openai.APIStatusError, openai.APIConnectionError) as exc:
            raise BatchUnsupported(f"teacher {self.config.name}: no Batch API at this endpoint: it refused the "
                                   f"batch upload ({self._scrub(status_line(exc))})") from None

    def _run_batch(self, client, chunk: List[tuple], poll: float, max_wait: Optional[float], by_key: dict):
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
            batch = self._submit(client, chunk)
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
                    if not isinstance(content, str):
                        raise KeyError("content")
                except (KeyError, IndexError, TypeError):
                    errors[key] = ("malformed_response", "batch answer without content")
                    continue
                if len(content.encode("utf-8")) > cfg.max_answer_bytes:
                    errors[key] = ("too_large", f"answer over {cfg.max_answer_bytes:,} bytes")
                    continue
                content = self._scrub(content)
                req = by_key.get(key)
                pt, ct, clamped = believable_usage(body.get("usage"), req.messages if req else [],
                                                   content, self._asked_max_tokens(req) if req else None)
                result = ChatResult(key=key, teacher=cfg.name, model=cfg.model, content=content,
                                    finish_reason=choice.get("finish_reason"), prompt_tokens=pt,
                                    completion_tokens=ct, cost=cost_of(self._price, pt, ct, cfg.batch_discount),
                                    batch=True, attempts=1, usage_clamped=clamped)
                self._store(key, result)
                answers[key] = result
                with self._lock:
                    self._spent += result.cost
        if batch.status != "completed":
            for k in keys:
                if k not in answers and k not in errors:
                    errors[k] = ("batch_failed", f"batch {batch_id} {batch.status}")
        return answers, errors
