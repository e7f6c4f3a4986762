"""Requests, tokens and cost per (teacher, model, task), and what an endpoint's usage numbers are worth.

An endpoint's ``usage`` is not trusted: a negative count would lower the spend, an absurd
one would print millions of dollars. :func:`believable_usage` keeps counts within what the
request can honestly have used (prompt: at most one token per byte; completion: at most
``max_tokens``) and says when it had to clamp; the result is flagged and counted."""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple

from telecom_etl.synth.teacher.request import ChatResult
from telecom_etl.synth.teacher.tokens import estimate_prompt_tokens, prompt_token_bound

COMPLETION_CEILING = 1 << 17  # completion tokens believed when the request set no max_tokens


def _count(value) -> Optional[int]:
    try:
        n = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(n):
        return None
    return int(n)


def believable_usage(usage, messages, content: str, max_tokens: Optional[int]) -> Tuple[int, int, bool]:
    """(prompt_tokens, completion_tokens, clamped) from an endpoint's usage object or dict."""
    get = (lambda k: usage.get(k)) if isinstance(usage, dict) else (lambda k: getattr(usage, k, None))
    estimate = estimate_prompt_tokens(messages)
    answer_estimate = math.ceil(len(content or "") / 4)
    if usage is None:
        return estimate, answer_estimate, False
    prompt, completion = _count(get("prompt_tokens")), _count(get("completion_tokens"))
    clamped = False
    bound = prompt_token_bound(messages)
    if prompt is None or prompt < 0 or prompt > bound:
        prompt, clamped = (estimate if prompt is None or prompt < 0 else bound), True
    ceiling = max_tokens if max_tokens else max(COMPLETION_CEILING, len((content or "").encode("utf-8")) + 16)
    if completion is None or completion < 0 or completion > ceiling:
        completion, clamped = (answer_estimate if completion is None or completion < 0 else ceiling), True
    return prompt, completion, clamped


def _blank_usage() -> dict:
    return {"requests": 0, "ok": 0, "failed": 0, "cached": 0, "sent": 0, "batch": 0, "truncated": 0,
            "attempts": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0, "cached_cost_usd": 0.0,
            "usage_clamped": 0, "refusals": 0, "sent_tokens": 0, "failed_by_kind": {}}


blank_usage = _blank_usage


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
    for key, value in _blank_usage().items():  # rows written by an older version lack the newer counters
        row.setdefault(key, value if not isinstance(value, dict) else {})
    row["requests"] += 1
    row["attempts"] += result.attempts
    row["usage_clamped"] += int(result.usage_clamped)
    row["refusals"] += int(result.refusal)
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
            row["sent_tokens"] += result.prompt_tokens + result.completion_tokens
            row["batch"] += int(result.batch)
            row["cost_usd"] = round(row["cost_usd"] + result.cost, 10)
    else:
        row["failed"] += 1
        row["failed_by_kind"][result.error] = row["failed_by_kind"].get(result.error, 0) + 1
    return row


def merge_usage(into: dict, row: dict) -> dict:
    for k, v in row.items():
        if k == "failed_by_kind":
            into.setdefault("failed_by_kind", {})
            for kind, n in v.items():
                into["failed_by_kind"][kind] = into["failed_by_kind"].get(kind, 0) + n
        elif isinstance(v, (int, float)) and not isinstance(v, bool) and (k in into or k in _blank_usage()):
            base = into.get(k, 0)
            into[k] = round(base + v, 10) if isinstance(v, float) or isinstance(base, float) else base + v
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


def failed_requests(total: dict) -> int:
    """Requests that were sent (or asked for) and got no answer, budget refusals excluded."""
    return sum(n for kind, n in (total.get("failed_by_kind") or {}).items() if kind != "budget_exceeded")


#: The default of --max-failure-rate: more than a quarter of the requests sent failing after
#: every retry means a wrong key, a dead or overloaded endpoint, or limits far too tight; the
#: data set that comes out is then mostly offline-only, which a scheduled job must notice.
DEFAULT_MAX_FAILURE_RATE = 0.25


def failure_line(total: dict, max_rate: float = DEFAULT_MAX_FAILURE_RATE) -> Optional[str]:
    """One line when every request sent failed or more than ``max_rate`` of them did, else None.
    Requests refused by the budget were not sent and do not count."""
    failed = failed_requests(total)
    sent = total.get("sent", 0) + failed
    if not sent or not failed:
        return None
    if failed < sent and failed / sent <= max_rate:
        return None
    kinds = ", ".join(f"{k} x{n}" for k, n in sorted((total.get("failed_by_kind") or {}).items(),
                                                      key=lambda kv: (-kv[1], kv[0])) if k != "budget_exceeded")
    head = f"every teacher request failed ({failed:,} of {sent:,}" if failed == sent else \
        f"{failed:,} of {sent:,} teacher requests failed ({failed / sent:.0%} > --max-failure-rate {max_rate:g}"
    return f"{head}: {kinds}); see report.json usage.failed_by_kind and rejects/"
