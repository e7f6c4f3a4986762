"""A run's budget, planned before anything is sent, so it holds on any runner and any number of workers.

Each unit of work (an instruction item, a preference prompt) gets a deterministic key and
an upper bound of what its teacher requests may cost (:class:`Ask`: requests, prompt
tokens counted with the model's tokenizer plus ``max_tokens`` for every answer, USD at
the model's price; cached requests are free). :func:`admit` takes the asks in seeded key
order and admits them until the next one would pass a limit (the run's, or a teacher's
own ``max_requests`` / ``max_cost`` / ``max_tokens_total``). The pipeline computes the
admitted set once (a global combine) and every worker reads it as a side input, so no
worker needs to talk to another and the same inputs always spend the same. What was
actually spent is reported against the plan (:func:`against_plan`)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Tuple


@dataclass(frozen=True)
class RunBudget:
    """Limits for the whole run (all teachers, all workers). None: no limit."""

    max_requests: Optional[int] = None
    max_cost: Optional[float] = None
    max_tokens: Optional[int] = None  # prompt + completion tokens
    seed: int = 0

    @property
    def active(self) -> bool:
        return self.max_requests is not None or self.max_cost is not None or self.max_tokens is not None

    def minus(self, requests: int = 0, tokens: int = 0, cost: float = 0.0) -> "RunBudget":
        """What is left after ``requests``/``tokens``/``cost`` already spent (e.g. by a batch pre-pass)."""
        return RunBudget(None if self.max_requests is None else max(0, self.max_requests - requests),
                         None if self.max_cost is None else max(0.0, self.max_cost - cost),
                         None if self.max_tokens is None else max(0, self.max_tokens - tokens), self.seed)

    def to_dict(self) -> dict:
        return {"max_requests": self.max_requests, "max_cost": self.max_cost, "max_tokens": self.max_tokens,
                "seed": self.seed}


@dataclass
class Ask:
    """The most one unit of work may send: per teacher (requests, tokens, USD)."""

    key: str
    by_teacher: Dict[str, List[float]] = field(default_factory=dict)

    def add(self, teacher: str, tokens: int, cost: float, requests: int = 1) -> "Ask":
        row = self.by_teacher.setdefault(teacher, [0, 0, 0.0])
        row[0] += requests
        row[1] += tokens
        row[2] = round(row[2] + cost, 10)
        return self

    def totals(self) -> Tuple[int, int, float]:
        rows = self.by_teacher.values()
        return (sum(int(r[0]) for r in rows), sum(int(r[1]) for r in rows), round(sum(r[2] for r in rows), 10))


def order_key(seed: int, key: str) -> str:
    return hashlib.sha256(f"{seed}\x00{key}".encode("utf-8")).hexdigest()


def admit(asks: Iterable[Ask], budget: RunBudget,
          teacher_caps: Optional[Dict[str, Tuple[Optional[int], Optional[int], Optional[float]]]] = None) -> dict:
    """``{"admitted": sorted keys, "plan": {...}}``: asks in seeded key order, admitted while
    every limit holds; the first one that would pass a limit and all after it are refused,
    except asks that send nothing."""
    caps = teacher_caps or {}
    ordered = sorted(asks, key=lambda a: (order_key(budget.seed, a.key), a.key))
    admitted: List[str] = []
    run = [0, 0, 0.0]
    per: Dict[str, List[float]] = {}
    stopped = None
    for ask in ordered:
        requests, tokens, cost = ask.totals()
        if requests == 0:  # nothing to send (offline work, cached answers): never refused
            admitted.append(ask.key)
            continue
        if stopped:
            continue
        why = _over(run, (requests, tokens, cost), (budget.max_requests, budget.max_tokens, budget.max_cost), "run")
        for teacher, row in sorted(ask.by_teacher.items()):
            if why:
                break
            cap = caps.get(teacher)
            if cap:
                why = _over(per.get(teacher, [0, 0, 0.0]), row, cap, f"teacher {teacher}")
        if why:
            stopped = why
            continue
        admitted.append(ask.key)
        run = [run[0] + requests, run[1] + tokens, round(run[2] + cost, 10)]
        for teacher, row in ask.by_teacher.items():
            mine = per.setdefault(teacher, [0, 0, 0.0])
            per[teacher] = [mine[0] + row[0], mine[1] + row[1], round(mine[2] + row[2], 10)]
    n = len(ordered)
    return {"admitted": sorted(admitted), "plan": {
        "budget": budget.to_dict(), "units": n, "admitted": len(admitted), "refused": n - len(admitted),
        "with_requests": sum(1 for a in ordered if a.totals()[0]),
        "stopped_by": stopped, "requests": int(run[0]), "tokens": int(run[1]), "cost_usd": run[2],
        "by_teacher": {t: {"requests": int(r[0]), "tokens": int(r[1]), "cost_usd": r[2]}
                       for t, r in sorted(per.items())}}}


def _over(used, add, limits, who: str) -> Optional[str]:
    names = ("max_requests", "max_tokens", "max_cost")
    for i, limit in enumerate(limits):  # (requests, tokens, USD), like Ask rows
        if limit is not None and used[i] + add[i] > limit + (1e-12 if i == 2 else 0):
            return f"{who} {names[i]}={limit:g}"
    return None


def against_plan(plan: Optional[dict], total_usage: dict) -> Optional[dict]:
    """The plan beside what this run actually sent and spent (from the usage totals)."""
    if not plan:
        return None
    sent = total_usage.get("sent", 0) + sum(
        n for kind, n in (total_usage.get("failed_by_kind") or {}).items() if kind != "budget_exceeded")
    return {**plan, "actual": {"requests": sent, "tokens": total_usage.get("sent_tokens", 0),
                               "cost_usd": total_usage.get("cost_usd", 0.0)}}
