"""Teacher options both synth commands share: the run's budget, prices, the failure exit."""
from __future__ import annotations

import sys
from typing import Dict, Iterable, Optional

import click

from telecom_etl.cli import UserError


def budget_options(fn):
    """--max-requests, --max-cost, --max-total-tokens, --price, --max-failure-rate."""
    from telecom_etl.synth.teacher.usage import DEFAULT_MAX_FAILURE_RATE

    options = [
        click.option("--max-requests", type=int, default=None,
                     help="Budget: teacher requests for the whole run (every teacher and worker; planned "
                          "before anything is sent; cached answers are free)."),
        click.option("--max-cost", type=float, default=None,
                     help="Budget: USD for the whole run (needs every model's price: built in, the teachers "
                          "file's 'prices:' or --price)."),
        click.option("--max-total-tokens", type=int, default=None,
                     help="Budget: prompt + completion tokens for the whole run (needs no price)."),
        click.option("--price", "prices", multiple=True, metavar="MODEL=IN,OUT",
                     help="Price of a model in USD per million input and output tokens, e.g. "
                          "--price my-model=0.15,0.60 (repeatable)."),
        click.option("--max-failure-rate", type=click.FloatRange(0, 1), default=DEFAULT_MAX_FAILURE_RATE,
                     show_default=True,
                     help="Exit with status 1 when more than this share of the teacher requests sent failed "
                          "(and always when every one did)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def parse_prices(values: Iterable[str]) -> Dict[str, dict]:
    from telecom_etl.synth.teacher.prices import parse_price_option

    out = {}
    for value in values:
        try:
            model, price = parse_price_option(value)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        out[model] = price
    return out


def run_budget(max_requests: Optional[int], max_cost: Optional[float], max_total_tokens: Optional[int], seed: int):
    from telecom_etl.synth.teacher.budget import RunBudget

    for name, value in (("--max-requests", max_requests), ("--max-total-tokens", max_total_tokens)):
        if value is not None and value < 0:
            raise UserError(f"{name} must be >= 0")
    if max_cost is not None and max_cost < 0:
        raise UserError("--max-cost must be >= 0")
    return RunBudget(max_requests=max_requests, max_cost=max_cost, max_tokens=max_total_tokens, seed=seed)


def require_prices(configs, run_max_cost: Optional[float]) -> None:
    """A money budget (the run's or a teacher's own max_cost) needs every model's price:
    refused here, before any request, as one line."""
    from telecom_etl.synth.teacher.prices import unknown_price_line

    for cfg in configs:
        if (run_max_cost is not None or cfg.max_cost is not None) and cfg.price() is None:
            flag = "--max-cost" if run_max_cost is not None else f"max_cost of teacher {cfg.name}"
            raise UserError(unknown_price_line(cfg.name, cfg.model, flag))


def exit_on_failures(total_usage: dict, max_failure_rate: float) -> None:
    """Exit 1 with one summary line when the teacher requests failed (see usage.failure_line)."""
    from telecom_etl.synth.teacher.usage import failure_line

    line = failure_line(total_usage, max_failure_rate)
    if line:
        click.echo(f"telecom-etl: error: {line}", err=True)
        sys.exit(1)
