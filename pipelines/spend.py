"""The run's spend plan as a Beam step, shared by both synth commands (the logic is
:mod:`telecom_etl.synth.teacher.budget`)."""
from __future__ import annotations

import json
from typing import Optional

import apache_beam as beam

from telecom_etl import io
from telecom_etl.pipelines.write import WriteJson


class PlanSpend(beam.PTransform):
    """Units of work -> the set of their keys the run may send requests for (a singleton for a
    side input): ``ask_fn`` (a DoFn) yields each unit's upper-bound :class:`Ask`, one global
    combine admits them in seeded key order within ``budget`` and the teachers' ``caps``, so
    every worker reads the same answer. Writes the plan to ``OUTPUT/_stats/budget.json``."""

    def __init__(self, ask_fn: beam.DoFn, budget, caps: dict, output: str):
        super().__init__()
        self.ask_fn, self.budget, self.caps, self.output = ask_fn, budget, caps, output

    def expand(self, units):
        from telecom_etl.synth.teacher.budget import admit

        budget, caps = self.budget, self.caps
        plan = (units | "Asks" >> beam.ParDo(self.ask_fn)
                | "AllAsks" >> beam.combiners.ToList()
                | "Admit" >> beam.Map(lambda asks: admit(asks, budget, caps)))
        (plan | "PlanOnly" >> beam.Map(lambda p: p["plan"])
         | "WritePlan" >> WriteJson(plan_path(self.output)))
        return plan | "Admitted" >> beam.Map(lambda p: frozenset(p["admitted"]))


def plan_path(output: str) -> str:
    return io.join(output, "_stats", "budget.json")


def spend_report(output: str, active: bool, total_usage: dict) -> Optional[dict]:
    """The plan beside what the run actually sent and spent, or None without a budget."""
    from telecom_etl.synth.teacher.budget import against_plan

    if not active or not io.exists(plan_path(output)):
        return None
    return against_plan(json.loads(io.read_bytes(plan_path(output)))[0], total_usage)
