"""``telecom-etl synth-instructions``."""
from __future__ import annotations

import dataclasses
import json
import os
import sys

import click

from telecom_etl.cli import UserError, command_options, exit_now
from telecom_etl.commands.teacher_options import (budget_options, exit_on_failures, parse_prices, require_prices,
                                                  run_budget)


def validation_config(values, benchmarks):
    """ValidationConfig from the config file's ``validation:`` mapping plus --benchmark files."""
    import dataclasses

    from telecom_etl.synth.validate import ValidationConfig

    values = dict(values or {})
    known = {f.name for f in dataclasses.fields(ValidationConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise UserError(f"validation: unknown option(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    values["benchmarks"] = tuple(values.get("benchmarks") or ()) + tuple(benchmarks)
    check_benchmarks(values["benchmarks"])
    return ValidationConfig(**values)


def check_benchmarks(paths) -> None:
    """Every benchmark file exists and reads as a benchmark, else one UserError line (before any work)."""
    from telecom_etl.filters.decontaminate import BenchmarkError, cached_benchmark

    for b in paths:
        if not os.path.exists(b):
            raise UserError(f"benchmark file not found: {b}")
        try:
            cached_benchmark(b)
        except BenchmarkError as exc:
            raise UserError(str(exc)) from None


@click.command("synth-instructions", short_help="Stage 2: grounded instruction pairs (SFT) from the shards.",
               context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--input", "-i", "input_path", required=True, metavar="DIR",
              help="Output folder of build-pretrain (its pretrain/*.parquet), or a folder/glob of such shards.")
@click.option("--output", "-o", default="out-sft", show_default=True, metavar="DIR",
              help="Output folder: sft/, rejects/, failed/, report.json.")
@click.option("--tasks", "-t", default="", metavar="LIST",
              help="Comma-separated tasks [default: all]: open_qa, mcq, wg_classification, math_infill, "
                   "code_summarise, code_infill, abbreviations.")
@click.option("--teachers", "teachers_file", default=None, metavar="FILE",
              help="YAML with 'teachers: {generator: {model: ..., base_url: ...}, validator: {...}}' and "
                   "optional 'prices', 'routes' (task -> teacher), 'tasks', 'task_options', 'budgets' "
                   "(task -> max_per_doc/max_per_source), 'validation'. Without 'teachers' it configures an "
                   "offline run.")
@click.option("--base-url", default=None, metavar="URL",
              help="OpenAI-compatible endpoint of the generator teacher [default: $OPENAI_BASE_URL, else OpenAI].")
@click.option("--model", default=None, metavar="NAME", help="Generator teacher model (enables the LLM tasks).")
@click.option("--validator-model", default=None, metavar="NAME",
              help="Model of the validator teacher (same endpoint) [default: the generator].")
@click.option("--api-key-env", default="OPENAI_API_KEY", show_default=True, metavar="VAR",
              help="Name of the environment variable holding the API key (the key itself is never logged).")
@click.option("--concurrency", type=int, default=None, help="Requests in flight per worker [8].")
@click.option("--rpm", type=float, default=None, help="Client-side requests per minute limit.")
@click.option("--tpm", type=float, default=None, help="Client-side tokens per minute limit.")
@click.option("--timeout", type=float, default=None, help="Seconds per request attempt [120].")
@click.option("--max-retries", type=int, default=None, help="Retries per request [5].")
@click.option("--cache-dir", default=None, metavar="DIR",
              help="Teacher answer cache [default: OUTPUT/_cache/teacher]; share it between runs.")
@click.option("--benchmark", "benchmarks", multiple=True, metavar="FILE",
              help="Benchmark file to decontaminate against (TeleQnA JSON, JSON list, JSONL, ORAN-Bench arrays, "
                   "CSV/TSV with a question column, .txt one per line); repeatable.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the passage sampling hash.")
@click.option("--max-per-doc", type=int, default=20, show_default=True, help="Items per task and document.")
@click.option("--max-per-source", type=int, default=None, help="Items per task and source [no limit].")
@click.option("--min-chars", type=int, default=300, show_default=True, help="Shortest passage.")
@click.option("--max-chars", type=int, default=6000, show_default=True, help="Longest passage (longer: windows).")
@click.option("--dry-run", is_flag=True, help="Print requests, tokens and cost per teacher; call nothing.")
@click.option("--batch", is_flag=True, help="Buy the answers through the OpenAI Batch API (half price) first; "
              "an endpoint without it runs online (one line says so).")
@click.option("--batch-only", is_flag=True, help="Like --batch, but stop (one line, nothing sent) when the endpoint "
              "has no Batch API.")
@click.option("--batch-poll", type=float, default=30.0, show_default=True, help="Seconds between batch polls.")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Print per-stage progress lines to stderr on long runs.")
@budget_options
@click.argument("beam_args", nargs=-1, type=click.UNPROCESSED)
def synth_instructions(input_path, output, tasks, teachers_file, base_url, model, validator_model, api_key_env,
                       concurrency, rpm, tpm, timeout, max_retries, cache_dir, benchmarks,
                       seed, max_per_doc, max_per_source, min_chars, max_chars, dry_run, batch, batch_only, batch_poll,
                       progress, max_requests, max_cost, max_total_tokens, prices, max_failure_rate, beam_args):
    """Write grounded instruction/response pairs (SFT) from pre-training shards.

    Reads the shards of build-pretrain, cuts them into clause/section/function passages,
    and makes pairs per task: teacher LLM tasks (open_qa, mcq with a validator check,
    code_summarise) and offline tasks (abbreviations, wg_classification, math_infill,
    code_infill). Without a teacher (--model or --teachers) the offline tasks still run and
    the LLM tasks are reported as skipped. Writes OUT/sft/*.parquet (a 'messages' column
    TRL's SFTTrainer reads as is), OUT/rejects/ with reasons and OUT/report.json with
    per-task rejection rates and teacher tokens and cost.

    Further arguments are Apache Beam pipeline options (see build-pretrain --help).
    """
    from telecom_etl.pipelines.options import OptionsError, pipeline_options
    from telecom_etl.runfolder import OutputError, preflight
    from telecom_etl.pipelines.synth_instructions import input_shards
    from telecom_etl.synth.instructions import SynthSettings
    from telecom_etl.synth.tasks import TASKS, build_tasks
    from telecom_etl.synth.teacher import TeacherError, load_teachers, load_teachers_file, merge_usage

    try:
        pipeline_options(list(beam_args), ours=command_options())
        preflight(output, keep_created=False)  # an unwritable output fails now, before any teacher call
    except (OptionsError, OutputError) as exc:
        raise UserError(str(exc)) from None
    shards = input_shards(input_path)
    if not shards:
        raise UserError(f"no Parquet shards under {input_path} (expected the output folder of build-pretrain)")
    spend = run_budget(max_requests, max_cost, max_total_tokens, seed)
    # the run's limits also bound each teacher client (a per-process safety net under the plan)
    flags = {k: v for k, v in dict(concurrency=concurrency, rpm=rpm, tpm=tpm, timeout=timeout,
                                   max_retries=max_retries, max_requests=max_requests,
                                   max_cost=max_cost, max_tokens_total=max_total_tokens).items() if v is not None}
    defaults = {"cache_dir": cache_dir or os.path.join(output, "_cache", "teacher"), "api_key_env": api_key_env,
                **flags}
    if prices:
        defaults["prices"] = parse_prices(prices)
    if base_url:
        defaults["base_url"] = base_url
    config: dict = {}
    try:
        if teachers_file:
            import yaml

            try:
                with open(teachers_file, encoding="utf-8") as fh:
                    config = yaml.safe_load(fh) or {}
            except (OSError, yaml.YAMLError):
                config = None
            # a file without 'teachers:' configures an offline run (budgets, validation, tasks)
            teachers = load_teachers_file(teachers_file, defaults) if config is None or (
                isinstance(config, dict) and "teachers" in config) else {}
            if not isinstance(config, dict):
                raise TeacherError(f"teacher config {teachers_file}: expected a mapping")
            unknown = sorted(set(config) - {"teachers", "prices", "routes", "tasks", "task_options", "validation",
                                            "budgets"})
            if unknown:
                raise TeacherError(f"teacher config {teachers_file}: unknown key(s) {', '.join(unknown)}")
            if model:  # the command line overrides the file's generator
                teachers.update(load_teachers({"teachers": {"generator": {"model": model}}}, defaults))
        elif model:
            spec = {"generator": {"model": model}}
            if validator_model:
                spec["validator"] = {"model": validator_model}
            teachers = load_teachers({"teachers": spec}, defaults)
        else:
            teachers = {}
            if validator_model:
                raise TeacherError("--validator-model needs a generator (--model or --teachers)")
    except TeacherError as exc:
        raise UserError(str(exc)) from None
    names = [t.strip() for t in tasks.split(",") if t.strip()] or list(config.get("tasks") or [])
    routes = dict(config.get("routes") or {})
    for task, role in routes.items():
        if task not in TASKS or role not in teachers:
            raise UserError(f"routes: {task} -> {role}: unknown task or teacher")
    budgets = dict(config.get("budgets") or {})
    for task, budget in budgets.items():
        if task not in TASKS or not isinstance(budget, dict) or set(budget) - {"max_per_doc", "max_per_source"}:
            raise UserError(f"budgets: {task}: expected a known task with max_per_doc and/or max_per_source")
    settings = SynthSettings(budgets=budgets, tasks=names, task_options=dict(config.get("task_options") or {}), seed=seed,
                             min_chars=min_chars, max_chars=max_chars, max_per_doc=max_per_doc,
                             max_per_source=max_per_source, teachers=teachers, routes=routes,
                             validation=validation_config(config.get("validation"), benchmarks), spend=spend)
    try:
        build_tasks(settings.tasks or None, seed=seed, options=settings.task_options)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    from telecom_etl.synth.teacher import Teacher

    for cfg in teachers.values():
        try:
            Teacher(cfg).check_credentials()
        except TeacherError as exc:
            raise UserError(str(exc)) from None
    require_prices(teachers.values(), max_cost)
    batch = batch or batch_only
    if batch and not teachers:
        raise UserError("--batch needs a teacher (--model or --teachers)")

    from telecom_etl.pipelines import synth_instructions as pipeline

    if dry_run:
        plan = pipeline.dry_run(settings, shards)
        click.echo(json.dumps(plan, indent=2, sort_keys=True))
        t = plan["total"]
        click.echo(f"dry run: {t['to_send']:,} requests to send ({t['cached']:,} cached), ~{t['prompt_tokens']:,} "
                   f"prompt + <= {t['completion_tokens']:,} completion tokens, <= ${t['cost_usd']:.4f} "
                   f"(${t['batch_cost_usd']:.4f} with --batch); nothing was sent")
        return
    extra = {}
    if batch:
        from telecom_etl.synth.teacher import BatchUnsupported

        try:
            extra["batch_prepass"] = pipeline.batch_prepass(settings, shards, poll_interval=batch_poll)
        except BatchUnsupported as exc:
            if batch_only:
                raise UserError(f"{exc}; --batch-only: nothing was sent") from None
            click.echo(f"telecom-etl: {exc}: running online instead of --batch", err=True)
            extra["batch_fallback"] = str(exc)
        else:
            pre = extra["batch_prepass"]["total"]
            settings = dataclasses.replace(settings, spend=settings.spend.minus(
                pre["sent"] + pre["failed"] - pre["failed_by_kind"].get("budget_exceeded", 0),
                pre.get("sent_tokens", 0), pre["cost_usd"]))
    from telecom_etl.runfolder import Interrupted

    try:
        report = pipeline.run(settings, input_path, output, list(beam_args), extra=extra, progress=progress)
    except OutputError as exc:  # the output cannot be written, or is in use by another run
        raise UserError(str(exc)) from None
    except Interrupted as exc:  # a signal during the commit: the line is printed
        exit_now(exc.exit_code)
    click.echo(pipeline.summary(report))
    click.echo(f"wrote {output}/sft/ ({len(report['shards'])} shards), {output}/rejects/, {output}/report.json")
    from telecom_etl.pipelines.report import failed_everything

    failure = failed_everything(report, output)
    if failure:  # nothing useful was made: say so in one line and exit non-zero
        click.echo(f"telecom-etl: error: {failure}", err=True)
    if not report["balanced"] or failure:
        sys.exit(1)
    total = report["usage"]["total"]
    pre = (extra.get("batch_prepass") or {}).get("total")
    exit_on_failures(merge_usage(json.loads(json.dumps(total)), pre) if pre else total, max_failure_rate)
