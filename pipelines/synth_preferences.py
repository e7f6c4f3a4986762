"""``synth-preferences``: SFT shards -> candidates -> reference checks / judge -> DPO pairs.

This module only composes stages; the logic lives in :mod:`telecom_etl.synth.preferences`.
Counted stages, each one's input the previous one's kept output:

* ``read`` (unit: files): SFT Parquet shards; a shard that cannot be read fails whole.
* ``read_records``: every row read; ``prepare``: row -> prompt, task, answer kind, reference
  (``task_not_selected`` drops; a malformed row fails).
* ``generate``: K candidates per prompt; ``verify``: verdicts against the reference;
  ``judge``: rubric scores; ``select``: the pair, or a drop with its rule.

Candidate-level tallies ride along as extra accounting stages: ``verdicts`` (correct
kept; wrong/unparsed dropped), ``judge_calls`` (scored kept; parse or request failures
dropped) and ``judge_vs_ref`` (each correct x wrong candidate couple of a verified
item the judge scored: agree kept; disagree/tie dropped).

Outputs under ``OUT``: ``preference/part-*.parquet`` (:data:`PREFERENCE_SCHEMA`, TRL
DPO format), ``dropped/`` (items without a pair, with their candidates and the rule),
``rejects/``, ``_stats/`` (events, usage, files) and ``report.json``.
"""
from __future__ import annotations

import dataclasses
import json
import statistics
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import apache_beam as beam
from apache_beam.metrics import Metrics

from telecom_etl import io
from telecom_etl.outcome import Dropped, StageFailure, error_line
from telecom_etl.pipelines.stage import NAMESPACE, DocStage, Progress, WriteEvents, doc_event, event, reject_event
from telecom_etl.pipelines.spend import PlanSpend, spend_report
from telecom_etl.pipelines.write import WriteJson, WriteShards, remove_stale, shard_entry
from telecom_etl.runfolder import RunFolder
from telecom_etl.record import REJECT_SCHEMA, Reject
from telecom_etl.synth.preferences.candidates import CandidateSource
from telecom_etl.synth.preferences.schema import (DROPPED_SCHEMA, PREFERENCE_SCHEMA, Pair, PreferenceItem,
                                                  dropped_row)
from telecom_etl.synth.teacher.budget import RunBudget

#: Record stages in order (each one's input is the previous one's kept output).
DOC_STAGES: List[str] = ["read_records", "prepare", "budget", "generate", "verify", "judge", "select"]
OUTPUT_FOLDERS = ("preference", "rejects", "dropped")


@dataclass(frozen=True)
class PreferenceConfig:
    """Everything the pipeline needs, picklable (workers build their clients from it)."""

    sources: Tuple[CandidateSource, ...]
    judge: CandidateSource
    k: int = 4
    judge_max_tokens: int = 1024
    judge_verifiable: bool = True
    judge_reference: bool = True
    judge_retries: int = 1
    judge_confirm: bool = False
    min_margin: float = 1.0
    min_chosen_score: float = 6.0
    include_sft_answer: bool = False
    seed: Optional[int] = None
    tasks: Tuple[str, ...] = ()
    kind_overrides: Tuple[Tuple[str, str], ...] = ()
    cache_dir: Optional[str] = None
    concurrency: int = 8
    rpm: Optional[float] = None
    tpm: Optional[float] = None
    timeout: float = 120.0
    max_retries: int = 5
    max_requests: Optional[int] = None
    max_cost: Optional[float] = None
    max_tokens_total: Optional[int] = None
    response_format: str = "json_schema"
    prices: Tuple[Tuple[str, float, float], ...] = ()
    benchmarks: Tuple[str, ...] = ()  # prompts and answers overlapping these are rejected as contaminated
    spend: RunBudget = RunBudget()  # the run's budget, planned before anything is sent

    def teacher_config(self, source: CandidateSource, name: str):
        from telecom_etl.synth.teacher import TeacherConfig

        return TeacherConfig(model=source.model, base_url=source.base_url, api_key_env=source.api_key_env,
                             name=name, concurrency=self.concurrency, rpm=self.rpm, tpm=self.tpm,
                             timeout=self.timeout, max_retries=self.max_retries, max_requests=self.max_requests,
                             max_cost=self.max_cost, max_tokens_total=self.max_tokens_total,
                             cache_dir=self.cache_dir, response_format=self.response_format,
                             prices={m: {"input": i, "output": o} for m, i, o in self.prices})

    def endpoints(self) -> Dict[tuple, str]:
        """Candidate endpoint -> teacher name (the first source's name on it)."""
        out: Dict[tuple, str] = {}
        for src in self.sources:
            out.setdefault(src.endpoint(), src.name)
        return out

    def kind_of(self, task: str, declared: Optional[str]) -> str:
        from telecom_etl.synth.preferences.verify import answer_kind

        return answer_kind(task, declared, dict(self.kind_overrides))


# ---------------------------------------------------------------------------
# reading SFT shards
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class SFTRow:
    """One SFT row as read (the accounting reads ``id``/``source``/``text``/``uri``)."""

    uri: str
    index: int
    row: dict = field(compare=False)

    @property
    def id(self) -> str:
        return f"{self.uri.rsplit('/', 1)[-1]}#{self.index}"

    @property
    def source(self) -> str:
        return str(self.row.get("task") or "unknown")

    @property
    def text(self) -> str:
        from telecom_etl.synth.preferences.schema import SFTRecordError, messages_of

        try:
            return "\n".join(m["content"] for m in messages_of(self.row))
        except SFTRecordError:
            return ""


def input_files(path: str) -> List[str]:
    """SFT shards of ``path``: ``path/sft/*.parquet`` (a synth-instructions output folder),
    else every ``*.parquet`` under a folder, else a glob."""
    if io.is_dir(path) or (io.has_scheme(path) and not any(ch in path for ch in "*?[")):
        sft = io.join(path, "sft")
        if io.exists(sft):
            return [p for p in io.match(io.join(sft, "*.parquet"))]
        return [p for p in io.match(path) if p.endswith(".parquet") and "/." not in p]
    return [p for p in io.match(path) if p.endswith(".parquet")]


def plan_reads(files: List[str], limit: Optional[int]) -> List[Tuple[str, Optional[int]]]:
    """(file, rows to read) in order; with ``limit`` the first N rows over the sorted files
    (row counts from the Parquet footers, so the choice is deterministic)."""
    if limit is None:
        return [(f, None) for f in files]
    import pyarrow.parquet as pq

    out, left = [], limit
    for f in files:
        if left <= 0:
            break
        with io.local_path(f) as local:
            n = pq.ParquetFile(local).metadata.num_rows
        out.append((f, min(n, left)))
        left -= min(n, left)
    return out


def read_rows(path: str, max_rows: Optional[int] = None):
    """Rows of one SFT shard as dicts, batch by batch."""
    import pyarrow.parquet as pq

    with io.local_path(path) as local:
        try:
            pf = pq.ParquetFile(local)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is one clear failure
            raise StageFailure(f"not a readable Parquet file: {str(exc).splitlines()[0][:120]}") from None
        from telecom_etl.synth.preferences.schema import CONVERSATION_COLUMNS

        if not set(CONVERSATION_COLUMNS) & set(pf.schema_arrow.names):
            raise StageFailure("not an SFT shard: no " + "/".join(CONVERSATION_COLUMNS) + " column")
        n = 0
        for batch in pf.iter_batches(batch_size=512):
            for row in batch.to_pylist():
                if max_rows is not None and n >= max_rows:
                    return
                yield n, row
                n += 1


class _ReadFn(beam.DoFn):
    def __init__(self, progress: bool):
        self.progress = progress

    def setup(self):
        self.files = Metrics.counter(NAMESPACE, "read.files")
        self.bar = Progress("read", "files")
        self.bar.enabled = self.progress

    def process(self, spec):
        path, max_rows = spec
        self.files.inc()
        self.bar.tick()
        rows = [SFTRow(path, i, row) for i, row in read_rows(path, max_rows)]  # a file is read whole or fails
        yield from rows
        yield beam.pvalue.TaggedOutput("files", (path, len(rows)))


def _read_reject(bad) -> Reject:
    (path, _), (exc_type, exc_repr, _tb) = bad
    Metrics.counter(NAMESPACE, "read.failed").inc()
    return Reject("sft", path, "read", error_line(exc_type, exc_repr), None)


# ---------------------------------------------------------------------------
# per-worker stage functions
# ---------------------------------------------------------------------------

class _Prepare:
    def __init__(self, config: PreferenceConfig):
        self.config = config

    def __call__(self):
        from telecom_etl.synth.preferences.schema import SFTRecordError, item_from_sft

        tasks = set(self.config.tasks)
        contaminated = _benchmark_check(self.config)

        def prepare(rec: SFTRow):
            if tasks and rec.source not in tasks:
                return Dropped("task_not_selected", f"task {rec.source!r} not in --task")
            try:
                item = item_from_sft(rec.row, rec.uri, self.config.kind_of)
            except SFTRecordError as exc:
                raise StageFailure(f"bad SFT record: {exc}") from None
            overlap = contaminated and contaminated(*(m.get("content") for m in item.prompt))
            return Dropped("contaminated", f"prompt {overlap}") if overlap else item

        return prepare


class _Generate:
    def __init__(self, config: PreferenceConfig):
        self.config = config

    def __call__(self):
        from telecom_etl.synth.preferences.candidates import Generate
        from telecom_etl.synth.teacher import Teacher

        cfg = self.config
        teachers = {ep: Teacher(cfg.teacher_config(next(s for s in cfg.sources if s.endpoint() == ep), name))
                    for ep, name in cfg.endpoints().items()}
        return Generate(teachers, cfg.sources, cfg.k, seed=cfg.seed, include_sft_answer=cfg.include_sft_answer)


class _Judge:
    def __init__(self, config: PreferenceConfig):
        self.config = config

    def __call__(self):
        from telecom_etl.synth.preferences.candidates import Judge
        from telecom_etl.synth.teacher import Teacher

        cfg = self.config
        return Judge(Teacher(cfg.teacher_config(cfg.judge, "judge")), max_tokens=cfg.judge_max_tokens,
                     judge_verifiable=cfg.judge_verifiable, use_reference=cfg.judge_reference,
                     retries=cfg.judge_retries, confirm=cfg.judge_confirm, min_margin=cfg.min_margin,
                     min_chosen_score=cfg.min_chosen_score)


class _Select:
    def __init__(self, config: PreferenceConfig):
        self.config = config

    def __call__(self):
        from telecom_etl.synth.preferences.select import select_pair

        cfg = self.config
        contaminated = _benchmark_check(cfg)

        def select(item):
            pair = select_pair(item, min_margin=cfg.min_margin, min_chosen_score=cfg.min_chosen_score,
                               judge_model=cfg.judge.model)
            overlap = contaminated and not isinstance(pair, Dropped) and contaminated(pair.chosen.text,
                                                                                      pair.rejected.text)
            return Dropped("contaminated", f"generated answer {overlap}") if overlap else pair

        return select


def _benchmark_check(config: PreferenceConfig):
    """The synthesis benchmark check (same index and matching as build-pretrain's filter), or None."""
    if not config.benchmarks:
        return None
    from telecom_etl.synth.validate import BenchmarkCheck

    return BenchmarkCheck(config.benchmarks)


class _AskFn(beam.DoFn):
    """Prompt -> the most its candidate and judge requests may cost (nothing is sent)."""

    def __init__(self, config: PreferenceConfig):
        self.config = config

    def setup(self):
        from telecom_etl.synth.preferences.candidates import Generate, Judge
        from telecom_etl.synth.teacher import Teacher

        cfg = self.config
        self.teachers = {ep: Teacher(cfg.teacher_config(next(s for s in cfg.sources if s.endpoint() == ep), name))
                         for ep, name in cfg.endpoints().items()}
        self.judge_teacher = Teacher(cfg.teacher_config(cfg.judge, "judge"))
        self.gen = Generate({}, cfg.sources, cfg.k, seed=cfg.seed)
        self.judge = Judge(None, max_tokens=cfg.judge_max_tokens, judge_verifiable=cfg.judge_verifiable,
                           use_reference=cfg.judge_reference)

    def process(self, item: PreferenceItem):
        from telecom_etl.synth.preferences.spend import item_ask

        cfg = self.config
        yield item_ask(item, self.gen, self.judge, self.teachers, self.judge_teacher, cfg.include_sft_answer,
                       cfg.judge_confirm, cfg.judge_retries)


def teacher_caps(config: PreferenceConfig) -> dict:
    if config.max_requests is None and config.max_cost is None and config.max_tokens_total is None:
        return {}
    names = list(config.endpoints().values()) + ["judge"]
    return {n: (config.max_requests, config.max_tokens_total, config.max_cost) for n in names}


def _admit():
    def admit(item, admitted):
        return None if item.id in admitted else Dropped("budget_exceeded", "outside the run's planned budget")

    return admit


def _verify():
    from telecom_etl.synth.preferences.candidates import verify_item

    return verify_item


# ---------------------------------------------------------------------------
# candidate-level tallies and usage
# ---------------------------------------------------------------------------

def verdict_events(item: PreferenceItem):
    for c in item.candidates:
        if c.verdict is None:
            continue
        example = f"{item.id}/{c.teacher}/{c.sample}"
        outcome = "kept" if c.verdict == "correct" else "dropped"
        yield event("verdicts", "answers", item.task, outcome, "" if outcome == "kept" else c.verdict,
                    example=example)


def judge_events(item: PreferenceItem):
    for c in item.candidates:
        example = f"{item.id}/{c.teacher}/{c.sample}"
        if c.judge_score is not None:
            yield event("judge_calls", "answers", item.task, "kept", example=example)
        elif c.judge_error is not None:
            yield event("judge_calls", "answers", item.task, "dropped", c.judge_error, example=example)
    if item.pairwise is not None:
        verdict = item.pairwise.get("verdict")
        yield event("judge_pairwise", "pairs", item.task, "kept" if verdict == "confirmed" else "dropped",
                    "" if verdict == "confirmed" else verdict, example=item.id)
    right = [c for c in item.candidates if c.verdict == "correct" and c.judge_score is not None]
    wrong = [c for c in item.candidates if c.verdict in ("wrong", "unparsed") and c.judge_score is not None]
    for r in right:
        for w in wrong:
            outcome = "kept" if r.judge_score > w.judge_score else "dropped"
            rule = "" if outcome == "kept" else ("tie" if r.judge_score == w.judge_score else "disagree")
            yield event("judge_vs_ref", "couples", item.task, outcome, rule, example=item.id)


def usage_rows(element):
    item = element.item if isinstance(element, Pair) else getattr(element, "doc", None)
    for row in getattr(item, "calls", None) or []:
        key = (row["teacher"], row["model"], row["task"])
        yield key, {k: v for k, v in row.items() if k not in ("teacher", "model", "task")}


def merge_usage_rows(rows):
    from telecom_etl.synth.teacher import Usage

    total = Usage()
    for row in rows:
        one = Usage()
        one.rows[("", "", "")] = json.loads(json.dumps(row))  # a private copy: merging must not alias inputs
        total.merge(one)
    return total.rows.get(("", "", ""))


def _size(pair: Pair) -> int:
    return len(pair.item.text) + len(pair.chosen.text or "") + len(pair.rejected.text or "") + 2000


# ---------------------------------------------------------------------------
# the graph
# ---------------------------------------------------------------------------

def build(pipeline: beam.Pipeline, reads: List[Tuple[str, Optional[int]]], config: PreferenceConfig, output: str,
          progress: bool = True, shard_max_bytes: int = 256 << 20) -> None:
    read = (pipeline
            | "Files" >> beam.Create(reads)
            | "Spread" >> beam.Reshuffle()
            | "Read" >> beam.ParDo(_ReadFn(progress)).with_outputs("files", main="rows").with_exception_handling(
                main_tag="rows", dead_letter_tag="failed"))
    read_failed = read["failed"] | "ReadRejects" >> beam.Map(_read_reject)
    rows = read["rows"]

    prepared = rows | "Prepare" >> DocStage("prepare", _Prepare(config), progress)
    stages = [prepared]
    if config.spend.active:
        admitted = prepared.kept | "PlanSpend" >> PlanSpend(_AskFn(config), config.spend, teacher_caps(config),
                                                            output)
        stages.append(prepared.kept | "Budget" >> DocStage("budget", _admit, progress,
                                                           side_inputs=(beam.pvalue.AsSingleton(admitted),)))
    # the endpoint stages run several items at once (the teacher bounds the requests in flight)
    generated = stages[-1].kept | "Generate" >> DocStage("generate", _Generate(config), progress,
                                                         parallel=config.concurrency)
    verified = generated.kept | "Verify" >> DocStage("verify", _verify, progress)
    judged = verified.kept | "Judge" >> DocStage("judge", _Judge(config), progress, parallel=config.concurrency)
    selected = judged.kept | "Select" >> DocStage("select", _Select(config), progress)
    stages += [generated, verified, judged, selected]

    folders = []
    folders.append(selected.kept | "WritePairs" >> WriteShards(
        io.join(output, "preference"), "part", PREFERENCE_SCHEMA, Pair.to_row, key=lambda p: p.id, size=_size,
        shard_max_bytes=shard_max_bytes))
    failed = (read_failed, *[s.failed for s in stages]) | "AllFailed" >> beam.Flatten()
    folders.append(failed | "WriteRejects" >> WriteShards(
        io.join(output, "rejects"), "rejects", REJECT_SCHEMA, Reject.to_row,
        key=lambda r: f"{r.stage}\x00{r.source}\x00{r.uri}\x00{r.id or ''}", size=lambda r: len(r.error) + 200,
        shard_max_bytes=shard_max_bytes))
    dropped = tuple(s.dropped for s in stages) | "AllDropped" >> beam.Flatten()
    folders.append(dropped | "WriteDropped" >> WriteShards(
        io.join(output, "dropped"), "dropped", DROPPED_SCHEMA, dropped_row,
        key=lambda r: f"{r.stage}\x00{r.doc.id}", size=lambda r: len(r.doc.text) + 4000,
        shard_max_bytes=shard_max_bytes))
    (folders | "AllShards" >> beam.Flatten()
     | "ShardNames" >> beam.Map(lambda pr: [shard_entry(pr[0]), pr[1]])
     | "WriteShardList" >> WriteJson(io.join(output, "_stats", "files.json")))

    file_events = (
        read["files"] | "FileEvents" >> beam.Map(lambda f: event("read", "files", "sft", "kept", example=f[0])),
        read_failed | "FileFailEvents" >> beam.Map(reject_event("read", "files")),
        rows | "RowEvents" >> beam.Map(lambda r: doc_event("read_records", r, "kept")),
    )
    tallies = (
        judged.kept | "VerdictEvents" >> beam.FlatMap(verdict_events),
        judged.kept | "JudgeEvents" >> beam.FlatMap(judge_events),
    )
    events = (*file_events, *tallies, *[s.events for s in stages]) | "AllEvents" >> beam.Flatten()
    events | "WriteEvents" >> WriteEvents(output)

    # every endpoint call is carried by its item to the end (a pair or a drop), so cost adds up exactly
    spent = (selected.kept, dropped) | "Spent" >> beam.Flatten()
    (spent
     | "UsageRows" >> beam.FlatMap(usage_rows)
     | "SumUsage" >> beam.CombinePerKey(merge_usage_rows)
     | "UsageJson" >> beam.Map(lambda kv: {"teacher": kv[0][0], "model": kv[0][1], "task": kv[0][2], **kv[1]})
     | "WriteUsage" >> WriteJson(io.join(output, "_stats", "usage.json"),
                                 sort_key=lambda r: (r["teacher"], r["model"], r["task"])))


# ---------------------------------------------------------------------------
# driver
# ---------------------------------------------------------------------------

def _stats(values: List[float]) -> dict:
    if not values:
        return {"n": 0}
    return {"n": len(values), "mean": round(statistics.fmean(values), 3), "median": round(statistics.median(values), 3),
            "min": round(min(values), 3), "max": round(max(values), 3)}


def preference_metrics(output: str, stages: dict) -> dict:
    """Pair yield per task, who decided (reference or judge), margins, judge agreement."""
    import pyarrow.parquet as pq

    cols = ["task", "answer_kind", "decided_by", "margin", "judge_agrees", "chosen_model", "rejected_model"]
    rows: List[dict] = []
    for path in io.match(io.join(output, "preference", "*.parquet")):
        with io.local_path(path) as local:
            rows.extend(pq.read_table(local, columns=cols).to_pylist())
    prompts = {t: b["kept"] for t, b in stages.get("prepare", {}).get("by_source", {}).items()}
    select = stages.get("select", {}).get("by_source", {})
    couples_by_task = stages.get("judge_vs_ref", {}).get("by_source", {})
    per_task = {}
    for task in sorted(set(prompts) | {r["task"] for r in rows}):
        mine = [r for r in rows if r["task"] == task]
        n_ref = sum(r["decided_by"] == "reference" for r in mine)
        per_task[task] = {
            "prompts": prompts.get(task, 0), "pairs": len(mine),
            "yield": round(len(mine) / prompts[task], 4) if prompts.get(task) else 0.0,
            "by_reference": n_ref, "by_judge": len(mine) - n_ref,
            "dropped_by_rule": dict(sorted(select.get(task, {}).get("dropped_by_rule", {}).items())),
            "judge_margin": _stats([r["margin"] for r in mine if r["decided_by"] == "judge"]),
        }
        couples = couples_by_task.get(task)
        if couples and couples["in"]:
            per_task[task]["judge_agrees_with_reference"] = round(couples["kept"] / couples["in"], 4)
    n = len(rows)
    by_ref = sum(r["decided_by"] == "reference" for r in rows)
    agree = [r["judge_agrees"] for r in rows if r["judge_agrees"]]
    vs = stages.get("judge_vs_ref", {})
    couples = vs.get("in", 0)
    models: Dict[str, int] = {}
    for r in rows:
        k = f"{r['chosen_model']} > {r['rejected_model']}"
        models[k] = models.get(k, 0) + 1
    calls = stages.get("judge_calls", {})
    verdicts = stages.get("verdicts", {})
    return {
        "pairs": n,
        "prompts": sum(prompts.values()),
        "yield": round(n / sum(prompts.values()), 4) if sum(prompts.values()) else 0.0,
        "decided_by": {"reference": by_ref, "judge": n - by_ref,
                       "reference_share": round(by_ref / n, 4) if n else 0.0,
                       "judge_share": round((n - by_ref) / n, 4) if n else 0.0},
        "per_task": per_task,
        "margin": {"judge": _stats([r["margin"] for r in rows if r["decided_by"] == "judge"]),
                   "reference": _stats([r["margin"] for r in rows if r["decided_by"] == "reference"])},
        "judge_agreement": {
            "pairs_scored": len(agree), "pairs_agree": agree.count("agree"),
            "pairs_rate": round(agree.count("agree") / len(agree), 4) if agree else None,
            "candidate_couples": couples, "couples_agree": vs.get("kept", 0),
            "couples_rate": round(vs.get("kept", 0) / couples, 4) if couples else None,
        },
        "judge_calls": {"scored": calls.get("kept", 0), "failed_by_kind": calls.get("dropped_by_rule", {})},
        "judge_pairwise": {"asked": stages.get("judge_pairwise", {}).get("in", 0),
                           "confirmed": stages.get("judge_pairwise", {}).get("kept", 0),
                           "not_confirmed": stages.get("judge_pairwise", {}).get("dropped_by_rule", {})},
        "verdicts": {"correct": verdicts.get("kept", 0), **verdicts.get("dropped_by_rule", {})},
        "chosen_over_rejected_models": dict(sorted(models.items())),
    }


def run(reads: List[Tuple[str, Optional[int]]], config: PreferenceConfig, output: str, beam_args: List[str],
        progress: bool = True, input_path: Optional[str] = None) -> dict:
    """Run to completion and return the report (also written to OUT/report.json)."""
    from telecom_etl.pipelines.options import pipeline_options
    from telecom_etl.pipelines.report import build_report, write_report
    from telecom_etl.synth.teacher import summarise_usage

    options = pipeline_options(beam_args)
    Progress.enabled = progress
    # written into a staging folder, committed at the end: OUT holds the previous run until then
    entries = OUTPUT_FOLDERS + ("_stats", "plots", "report.json", "README.md", "report.html")
    with RunFolder(output, entries, "synth-preferences") as folder:
        staging, shown = folder.staging, output
        output = staging
        pipeline = beam.Pipeline(options=options)
        build(pipeline, reads, config, output, progress=progress)
        pipeline.run().wait_until_finish()
        remove_stale(output, OUTPUT_FOLDERS)
        usage = summarise_usage(json.loads(io.read_bytes(io.join(output, "_stats", "usage.json"))))
        report = build_report(output, DOC_STAGES, rows_folder="preference")
        stages = report["stages"]
        metrics = preference_metrics(output, stages)
        report["totals"].update({
            "files_in": stages.get("read", {}).get("in", 0), "files_failed": stages.get("read", {}).get("failed", 0),
            "records_in": stages.get("read_records", {}).get("kept", 0), "prompts": metrics["prompts"],
            "pairs_out": metrics["pairs"], "requests": usage["total"]["requests"], "cached": usage["total"]["cached"],
            "prompt_tokens": usage["total"]["prompt_tokens"], "completion_tokens": usage["total"]["completion_tokens"],
            "cost_usd": usage["total"]["cost_usd"]})
        report.update({
            "command": "synth-preferences", "input": input_path,
            "preference": metrics,
            "usage": {k: v for k, v in usage.items() if k != "rows"},
            "settings": settings(config),
            "budget": spend_report(output, config.spend.active, usage["total"]),
        })
        report["output"] = shown  # not the staging folder
        write_report(output, report)
        from telecom_etl.card import write_card

        write_card(output, report, shown_as=shown, title="telecom preference pairs (DPO)")  # OUT/README.md, OUT/report.html
        folder.commit()
    return report


def _public(source) -> dict:
    """A candidate source for reports: its base URL without credentials."""
    from telecom_etl.synth.teacher.secrets import redact_url

    return {**source.__dict__, "base_url": redact_url(source.base_url)}


def settings(config: PreferenceConfig) -> dict:
    return {"k": config.k, "candidates": [_public(s) for s in config.sources], "judge": _public(config.judge),
            "min_margin": config.min_margin, "min_chosen_score": config.min_chosen_score,
            "judge_verifiable": config.judge_verifiable, "judge_reference": config.judge_reference,
            "judge_confirm": config.judge_confirm,
            "include_sft_answer": config.include_sft_answer, "seed": config.seed, "tasks": list(config.tasks),
            "answer_kinds": dict(config.kind_overrides), "max_requests": config.max_requests,
            "max_cost": config.max_cost, "max_tokens_total": config.max_tokens_total, "budget": config.spend.to_dict()}


def summary(report: dict) -> str:
    """The run table of :func:`telecom_etl.pipelines.report.summary` under a preference headline."""
    from telecom_etl.pipelines.report import summary as stage_summary

    t, m = report["totals"], report["preference"]
    d, a = m["decided_by"], m["judge_agreement"]
    lines = [f"telecom-etl synth-preferences: {t['records_in']:,} SFT records -> {t['pairs_out']:,} pairs "
             f"(reference {d['reference']:,}, judge {d['judge']:,}); {t['requests']:,} requests "
             f"({t['cached']:,} cached), {t['prompt_tokens'] + t['completion_tokens']:,} tokens, "
             f"${t['cost_usd']:.4f}; {t['rejects']:,} rejects"]
    shown = ["read", "read_records", "prepare", "budget", "generate", "verify", "verdicts", "judge", "judge_calls",
             "judge_pairwise", "judge_vs_ref", "select"]
    table = stage_summary({**report, "doc_stages": shown}).splitlines()[1:]
    lines.extend(table[:-1])
    for task, s in m["per_task"].items():
        drops = ", ".join(f"{k}={v}" for k, v in sorted(s["dropped_by_rule"].items(), key=lambda kv: -kv[1])[:4])
        lines.append(f"  {task}: {s['pairs']}/{s['prompts']} prompts -> pairs ({s['yield']:.0%}; reference "
                     f"{s['by_reference']}, judge {s['by_judge']})" + (f"; dropped {drops}" if drops else ""))
    if a["candidate_couples"]:
        lines.append(f"judge vs reference: agrees on {a['couples_agree']}/{a['candidate_couples']} correct-vs-wrong "
                     f"candidate couples ({a['couples_rate']:.0%})")
    u = report["usage"]["total"]
    from telecom_etl.synth.teacher import failed_requests

    lines.append(f"teacher: {u['requests']:,} requests ({u['sent']:,} sent, {u['cached']:,} cached, "
                 f"{failed_requests(u):,} failed), ${u['cost_usd']:.4f} spent")
    spend = report.get("budget")
    if spend:
        a = spend["actual"]
        lines.append(f"budget: {spend['admitted']:,} of {spend['units']:,} prompts admitted (plan: "
                     f"{spend['requests']:,} requests, {spend['tokens']:,} tokens, ${spend['cost_usd']:.4f} at most); "
                     f"actual: {a['requests']:,} requests, {a['tokens']:,} tokens, ${a['cost_usd']:.4f}")
    lines.append(table[-1])
    return "\n".join(lines)


def estimate(reads: List[Tuple[str, Optional[int]]], config: PreferenceConfig) -> str:
    """--dry-run: prompts per task and answer kind, requests to send (cache misses) and their
    estimated tokens and cost per endpoint; the judge's are an upper bound (every candidate
    judged, no duplicates), since they depend on the answers. Nothing is called."""
    from telecom_etl.synth.preferences.candidates import Generate, Judge
    from telecom_etl.synth.preferences.schema import SFTRecordError, item_from_sft
    from telecom_etl.synth.teacher import Teacher

    if config.cache_dir and not io.exists(config.cache_dir):  # nothing cached yet; and create no folder
        config = dataclasses.replace(config, cache_dir=None)
    tasks = set(config.tasks)
    items, bad, per_task = [], 0, {}
    for path, max_rows in reads:
        for i, row in read_rows(path, max_rows):
            task = str(row.get("task") or "unknown")
            if tasks and task not in tasks:
                continue
            try:
                item = item_from_sft(row, path, config.kind_of)
            except SFTRecordError:
                bad += 1
                continue
            items.append(item)
            key = (item.task, item.answer_kind)
            per_task[key] = per_task.get(key, 0) + 1
    gen = Generate({}, config.sources, config.k, seed=config.seed)
    judge = Judge(None, max_tokens=config.judge_max_tokens, judge_verifiable=config.judge_verifiable,
                  use_reference=config.judge_reference)
    lines = [f"synth-preferences dry run: {len(items):,} prompts from {len(reads)} file(s)"
             + (f", {bad} malformed records" if bad else "")]
    for (task, kind), n in sorted(per_task.items()):
        lines.append(f"  {task:<28} {kind:<9} {n:>8,} prompts")
    by_endpoint: Dict[tuple, list] = {}
    for item in items:
        for src, _, req in gen.requests(item):
            by_endpoint.setdefault(src.endpoint(), []).append(req)
    judge_requests = []
    for item in items:
        n = config.k if (item.answer_kind == "free" or config.judge_verifiable) else 0
        longest = max((s.max_tokens or 512) for s in config.sources)
        # a stand-in answer of `longest` tokens (one per "word ": the tokenizer counts it as such)
        judge_requests.extend(judge.request(item, "word " * longest + f" #{j}") for j in range(n))
        if config.judge_confirm and n:  # two pairwise questions per judge-decided pair, each with two answers
            judge_requests.extend(judge.request(item, "word " * (2 * longest) + f" #p{j}") for j in range(2))
    total = 0.0
    names = config.endpoints()
    for ep, reqs in sorted(by_endpoint.items(), key=lambda kv: names[kv[0]]):
        src = next(s for s in config.sources if s.endpoint() == ep)
        est = Teacher(config.teacher_config(src, names[ep])).estimate(reqs)
        total += est["cost_usd"]
        lines.append(_estimate_line(names[ep], est))
    if judge_requests:
        est = Teacher(config.teacher_config(config.judge, "judge")).estimate(judge_requests)
        est["cached"] = est["duplicates"] = 0  # placeholder answers: an upper bound, not a cache check
        total += est["cost_usd"]
        lines.append(_estimate_line("judge (at most)", est))
    lines.append(f"estimated cost at most ${total:.4f} (models without a known price count as $0)")
    return "\n".join(lines)


def _estimate_line(name: str, est: dict) -> str:
    price = "" if est["price_known"] else " (price unknown)"
    return (f"  {name:<20} {est['model']:<24} {est['to_send']:>8,} to send, {est['cached']:>6,} cached, "
            f"~{est['prompt_tokens'] + est['completion_tokens']:,} tokens, ${est['cost_usd']:.4f}{price}")
