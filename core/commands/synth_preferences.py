"""``telecom-etl synth-preferences``."""
from __future__ import annotations

import os
import sys

import click

from telecom_etl.cli import UserError, command_options, exit_now
from telecom_etl.commands.teacher_options import (budget_options, exit_on_failures, parse_prices, require_prices,
                                                  run_budget)

KINDS = ("mcq", "label", "equation", "code", "expansion", "free")


def _split_kinds(values):
    out = []
    for v in values:
        task, sep, kind = v.partition("=")
        if not sep or not task.strip() or kind.strip() not in KINDS:
            raise UserError(f"--answer-kind {v!r}: expected TASK=KIND with KIND one of {', '.join(KINDS)}")
        out.append((task.strip(), kind.strip()))
    return tuple(sorted(out))


def _inside(child: str, parent: str) -> bool:
    child, parent = os.path.abspath(child), os.path.abspath(parent)
    return child == parent or child.startswith(parent.rstrip(os.sep) + os.sep)


@click.command("synth-preferences", short_help="Stage 3: chosen/rejected pairs (DPO) from SFT shards.",
               context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--input", "-i", "input_path", required=True, metavar="PATH",
              help="SFT shards: a synth-instructions output folder (reads PATH/sft/*.parquet), a folder of "
                   "Parquet files, or a glob. Rows: 'messages', ShareGPT 'conversations', Alpaca "
                   "'instruction'/'input'/'output' or 'prompt'/'completion'.")
@click.option("--output", "-o", required=True, metavar="DIR",
              help="Output folder (local or gs://...): preference/, dropped/, rejects/, report.json.")
@click.option("--base-url", default=None, metavar="URL",
              help="OpenAI-compatible endpoint of the candidates and the judge [default: $OPENAI_BASE_URL, "
                   "else the OpenAI API].")
@click.option("--api-key-env", default="OPENAI_API_KEY", show_default=True, metavar="VAR",
              help="Environment variable holding the API key (the key itself is never a CLI option).")
@click.option("--model", default=None, metavar="NAME",
              help="Model of the candidates (when no --candidate is given) and of the judge (when no "
                   "--judge-model is given).")
@click.option("--candidate", "candidates", multiple=True, metavar="SPEC",
              help="A candidate source, repeatable: MODEL, MODEL@TEMPERATURE, or "
                   "model=M,temperature=T,base_url=U,api_key_env=E,name=N,top_p=P,max_tokens=N. "
                   "E.g. a strong teacher and a weaker student, or one model at two temperatures.")
@click.option("-k", "--k", "k", type=int, default=4, show_default=True,
              help="Candidates per prompt, spread round-robin over the candidate sources.")
@click.option("--temperature", type=float, default=0.8, show_default=True,
              help="Sampling temperature of candidate sources that set none.")
@click.option("--max-tokens", type=int, default=1024, show_default=True, help="Completion limit of a candidate.")
@click.option("--seed", type=int, default=None,
              help="Send seed=SEED+sample with every candidate request (endpoints that honour it resample "
                   "reproducibly).")
@click.option("--judge-model", default=None, metavar="NAME", help="Judge model [default: --model].")
@click.option("--judge-base-url", default=None, metavar="URL", help="Judge endpoint [default: --base-url].")
@click.option("--judge-api-key-env", default=None, metavar="VAR", help="[default: --api-key-env]")
@click.option("--judge-max-tokens", type=int, default=1024, show_default=True)
@click.option("--judge-verifiable/--no-judge-verifiable", default=True, show_default=True,
              help="Also judge tasks with a reference: measures the judge against the references and picks "
                   "the best of several correct answers. Off: the judge sees them only when all are correct.")
@click.option("--judge-reference/--no-judge-reference", default=True, show_default=True,
              help="Show the judge the SFT record's answer as a reference answer.")
@click.option("--judge-confirm/--no-judge-confirm", default=False, show_default=True,
              help="Ask the judge about each judge-decided pair again, pairwise, once with each answer first; "
                   "keep it only when both orders prefer the chosen answer (2 more requests per pair).")
@click.option("--json-mode", type=click.Choice(["json_schema", "json_object", "none"]), default="json_schema",
              show_default=True, help="How the judge is asked for JSON (falls back when an endpoint refuses).")
@click.option("--min-margin", type=float, default=1.0, show_default=True,
              help="Judge-decided pairs: the rejected answer scores at least this much below the chosen (1-10).")
@click.option("--min-chosen-score", type=float, default=6.0, show_default=True,
              help="Judge-decided pairs: the chosen answer scores at least this (else the item is all_bad).")
@click.option("--include-sft-answer", is_flag=True,
              help="Add the SFT record's own answer as one more candidate.")
@click.option("--task", "tasks", multiple=True, metavar="NAME", help="Only these tasks (repeatable).")
@click.option("--answer-kind", "answer_kinds", multiple=True, metavar="TASK=KIND",
              help=f"How a task's answers are checked ({'/'.join(KINDS)}), overriding the task-name rules.")
@click.option("--limit", type=int, default=None, help="Only the first N SFT records (in file order).")
@click.option("--concurrency", type=int, default=8, show_default=True, help="Requests in flight per endpoint.")
@click.option("--rpm", type=float, default=None, help="Requests per minute per endpoint (client side).")
@click.option("--timeout", type=float, default=120.0, show_default=True, help="Seconds per request attempt.")
@click.option("--max-retries", type=int, default=5, show_default=True)
@click.option("--cache-dir", default=None, metavar="DIR",
              help="Answer cache [default: OUTPUT/_cache/teacher]; share it with synth-instructions to reuse "
                   "answers.")
@click.option("--dry-run", is_flag=True,
              help="Read the input and show prompts per task, requests to send and their estimated cost; "
                   "call nothing.")
@click.option("--benchmark", "benchmarks", multiple=True, metavar="FILE",
              help="Benchmark file (formats as synth-instructions --benchmark): prompts and generated answers "
                   "that contain one of its items are dropped as 'contaminated'; repeatable.")
@click.option("--progress/--no-progress", default=True, show_default=True)
@budget_options
@click.argument("beam_args", nargs=-1, type=click.UNPROCESSED)
def synth_preferences(input_path, output, base_url, api_key_env, model, candidates, k, temperature, max_tokens,
                      seed, judge_model, judge_base_url, judge_api_key_env, judge_max_tokens, judge_verifiable,
                      judge_reference, judge_confirm, json_mode, min_margin, min_chosen_score,
                      include_sft_answer, tasks, answer_kinds, limit, concurrency, rpm, timeout, max_retries,
                      cache_dir, benchmarks, dry_run, progress, max_requests, max_cost, max_total_tokens, prices,
                      max_failure_rate, beam_args):
    """Preference pairs (chosen/rejected) for DPO from SFT instructions.

    For each prompt, K candidate answers come from one or more OpenAI-compatible endpoints.
    Tasks with a checkable answer (MCQ option, classification label, masked equation, masked
    code) are decided by the reference; the others by an LLM judge that scores each answer
    alone on a rubric (factual accuracy against the source, completeness, telecom
    correctness, clarity). Writes OUT/preference/*.parquet in TRL's conversational DPO format
    (prompt, chosen, rejected) with ids, scores, margin and models, and OUT/report.json.

    Any further arguments are Apache Beam pipeline options (see build-pretrain --help).
    """
    from telecom_etl.pipelines.options import OptionsError, pipeline_options
    from telecom_etl.runfolder import OutputError, preflight
    from telecom_etl.pipelines.synth_preferences import PreferenceConfig, input_files, plan_reads
    from telecom_etl.synth.preferences.candidates import CandidateSpecError, parse_candidate_spec

    if k < 2:
        raise UserError("-k must be at least 2 (a pair needs two candidates)")
    for name, value in (("--max-tokens", max_tokens), ("--judge-max-tokens", judge_max_tokens),
                        ("--concurrency", concurrency)):
        if value < 1:
            raise UserError(f"{name} must be at least 1")
    if min_margin < 0 or not 1 <= min_chosen_score <= 10:
        raise UserError("--min-margin must be >= 0 and --min-chosen-score between 1 and 10")
    if limit is not None and limit < 1:
        raise UserError("--limit must be at least 1")
    if not candidates and not model:
        raise UserError("name the candidate model(s): --model NAME or --candidate SPEC")
    if not (judge_model or model):
        raise UserError("name the judge: --judge-model NAME (or --model NAME)")
    defaults = {"temperature": temperature, "base_url": base_url, "api_key_env": api_key_env,
                "max_tokens": max_tokens}
    try:
        sources = tuple(parse_candidate_spec(c, defaults) for c in (candidates or (model,)))
        judge = parse_candidate_spec(f"model={judge_model or model},name=judge", {
            "base_url": judge_base_url or base_url, "api_key_env": judge_api_key_env or api_key_env})
        pipeline_options(list(beam_args), ours=command_options())
        preflight(output, keep_created=False)  # an unwritable output fails now, before any teacher call
    except (CandidateSpecError, OptionsError, OutputError) as exc:
        raise UserError(str(exc)) from None
    if k < len(sources):
        raise UserError(f"-k {k} is fewer than the {len(sources)} candidate sources: each needs one answer at least")
    names = [s.name for s in sources]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise UserError(f"--candidate sources need distinct names: {', '.join(dup)} given twice (add name=...)")
    if not io_exists(input_path):
        raise UserError(f"--input {input_path}: no such file or folder")
    if not (input_path.count("://") or output.count("://")):
        if _inside(input_path, output):
            raise UserError(f"--output {output} holds the input: use a separate output folder")
        if os.path.isdir(input_path) and _inside(output, input_path) and not os.path.isdir(
                os.path.join(input_path, "sft")):
            raise UserError(f"--output {output} is inside --input {input_path}: its shards would be read as input "
                            "next time; use a separate output folder")
    from telecom_etl.commands.synth_instructions import check_benchmarks

    check_benchmarks(benchmarks)
    files = input_files(input_path)
    if not files:
        raise UserError(f"--input {input_path}: no Parquet files (expected sft/*.parquet or *.parquet)")
    from telecom_etl import io

    config = PreferenceConfig(
        sources=sources, judge=judge, k=k, judge_max_tokens=judge_max_tokens, judge_verifiable=judge_verifiable,
        judge_reference=judge_reference, judge_confirm=judge_confirm, min_margin=min_margin,
        min_chosen_score=min_chosen_score,
        include_sft_answer=include_sft_answer, seed=seed, tasks=tuple(sorted(set(tasks))),
        kind_overrides=_split_kinds(answer_kinds), cache_dir=cache_dir or io.join(output, "_cache", "teacher"),
        concurrency=concurrency, rpm=rpm, timeout=timeout, max_retries=max_retries, max_requests=max_requests,
        max_cost=max_cost, max_tokens_total=max_total_tokens, response_format=json_mode, benchmarks=tuple(benchmarks),
        prices=tuple(sorted((m, p["input"], p["output"]) for m, p in parse_prices(prices).items())),
        spend=run_budget(max_requests, max_cost, max_total_tokens, seed or 0))
    require_prices([config.teacher_config(s, s.name) for s in config.sources]
                   + [config.teacher_config(config.judge, "judge")], max_cost)
    reads = plan_reads(files, limit)
    if dry_run:
        from telecom_etl.pipelines.synth_preferences import estimate

        click.echo(estimate(reads, config))
        return
    from telecom_etl.pipelines.synth_preferences import run, summary
    from telecom_etl.runfolder import Interrupted

    try:
        report = run(reads, config, output, list(beam_args), progress=progress, input_path=input_path)
    except OutputError as exc:  # the output cannot be written, or is in use by another run
        raise UserError(str(exc)) from None
    except Interrupted as exc:  # a signal during the commit: the line is printed
        exit_now(exc.exit_code)
    click.echo(summary(report))
    click.echo(f"wrote {output}/preference/ ({len(report['shards'])} shards), {output}/report.json, "
               f"{output}/README.md (dataset card) and {output}/report.html")
    from telecom_etl.pipelines.report import failed_everything

    failure = failed_everything(report, output)
    if failure:  # nothing useful was made: say so in one line and exit non-zero
        click.echo(f"telecom-etl: error: {failure}", err=True)
    if not report["balanced"] or failure:
        sys.exit(1)
    exit_on_failures(report["usage"]["total"], max_failure_rate)


def io_exists(path: str) -> bool:
    from telecom_etl import io

    if any(ch in path for ch in "*?["):
        return bool(io.match(path))
    return io.exists(path)
