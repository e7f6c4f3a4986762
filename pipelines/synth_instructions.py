"""``synth-instructions``: pre-training shards -> grounded instruction pairs -> SFT Parquet.

Composition only; the steps are the pure functions of :mod:`telecom_etl.synth.instructions`.

Stages and their units (each balances: in = kept + dropped + failed):

* ``read`` (docs): records of ``INPUT/pretrain/*.parquet`` (or any folder of such shards);
* ``passages`` (docs): a record is kept when it yields at least one passage;
* ``select`` (items): (task, passage) items within the per-document / per-source budget;
* ``generate`` (items): offline tasks make pairs directly; teacher tasks call the teacher
  (batched per ``DoFn`` call, one client per worker process) and parse the answer;
  without a teacher their items are dropped as ``no_teacher`` (reported as skipped);
* ``generate_pairs`` (pairs): every pair made; ``validate`` (pairs): checks, then the
  task's teacher check (multiple choice); ``dedup`` (pairs): near-duplicate questions.

Outputs under ``OUT``: ``sft/part-*.parquet`` (:data:`SFT_SCHEMA`), ``rejects/`` (every
rejected answer or pair with its reason), ``failed/`` (stage failures, ``REJECT_SCHEMA``),
``_stats/`` and ``report.json`` (stages, per-task rejection rates, teacher usage and cost).
"""
from __future__ import annotations

import json
from typing import Dict, List, Optional

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.utils import shared

from telecom_etl import io
from telecom_etl.outcome import error_line
from telecom_etl.pipelines.stage import Progress, WriteEvents, event, reject_from_failure, reject_event
from telecom_etl.pipelines.spend import PlanSpend
from telecom_etl.pipelines.spend import spend_report as spend_report_of
from telecom_etl.pipelines.write import WriteJson, WriteShards, remove_stale, shard_entry
from telecom_etl.runfolder import RunFolder
from telecom_etl.record import REJECT_SCHEMA, Document, Reject
from telecom_etl.synth import instructions as steps
from telecom_etl.synth.instructions import Item, Rejection, SynthSettings
from telecom_etl.synth.sft_schema import SFT_REJECT_SCHEMA, SFT_SCHEMA, sft_row
from telecom_etl.synth.tasks import Pair

#: pair stages in order (each one's input is the previous one's kept output)
PAIR_STAGES: List[str] = ["generate_pairs", "validate", "dedup"]
OUTPUT_FOLDERS = ("sft", "rejects", "failed")


def input_shards(path: str) -> List[str]:
    """The Parquet shards of a build-pretrain output folder (its ``pretrain/``), or of a folder or glob."""
    for pattern in (io.join(path, "pretrain", "*.parquet"), io.join(path, "*.parquet"), path):
        found = [p for p in io.match(pattern) if p.endswith(".parquet")]
        if found:
            return sorted(found)
    return []


def read_documents(path: str):
    with io.local_path(path) as local:
        for batch in pq.ParquetFile(local).iter_batches(batch_size=256):
            for row in batch.to_pylist():
                yield Document.from_row(row)


# ---- accounting events ----------------------------------------------------------

def item_event(stage: str, item: Item, outcome: str, rule: str = ""):
    return event(stage, "items", item.source, outcome, rule, len(item.passage.text), 0, f"{item.task}:{item.passage.id}")


def pair_event(stage: str, pair: Pair, outcome: str, rule: str = ""):
    size = len(pair.instruction) + len(pair.response)
    return event(stage, "pairs", pair.passage.source, outcome, rule, size, 0, pair.id)


def task_event(task: str, stage: str, outcome: str, rule: str = ""):
    return ((task, stage, outcome, rule), 1)


# ---- stages -----------------------------------------------------------------------

class _PassagesFn(beam.DoFn):
    def __init__(self, settings: SynthSettings):
        self.settings = settings

    def setup(self):
        self.tasks = self.settings.build_tasks()

    def process(self, doc: Document):
        # everything is computed before the first output, so a failing record emits nothing but its failure
        passages = steps.passages_for(doc, self.settings, self.tasks)
        out = [beam.pvalue.TaggedOutput("events", event("passages", "docs", doc.source,
                                                        "kept" if passages else "dropped",
                                                        "" if passages else "no_passages", len(doc.text), 0, doc.id))]
        by_task: Dict[str, list] = {}
        for passage in passages:
            for item in steps.items_for(passage, self.tasks, self.settings):
                by_task.setdefault(item.task, []).append(item)
        # the per-document budget needs only this document: applied here, no shuffle
        for task, items in sorted(by_task.items()):
            kept, dropped = steps.apply_budget(items, self.settings.budget_for(task)[0], None)
            for item, rule in dropped:
                out.append(beam.pvalue.TaggedOutput("events", item_event("select", item, "dropped", rule)))
                out.append(beam.pvalue.TaggedOutput("tasks", task_event(item.task, "select", "dropped", rule)))
            out.extend(kept)
        return out


def _selected(item: Item):
    yield item
    yield beam.pvalue.TaggedOutput("events", item_event("select", item, "kept"))


def _budget(settings: SynthSettings):
    """The per-source budget over the items left by the per-document one (a shuffle by
    (task, source), only in runs that set a per-source budget)."""
    def fn(group):
        (task, _source), items = group
        kept, dropped = steps.apply_budget(items, None, settings.budget_for(task)[1])
        for item in kept:
            yield item
            yield beam.pvalue.TaggedOutput("events", item_event("select", item, "kept"))
        for item, rule in dropped:
            yield beam.pvalue.TaggedOutput("events", item_event("select", item, "dropped", rule))
            yield beam.pvalue.TaggedOutput("tasks", task_event(item.task, "select", "dropped", rule))

    return fn


class _Teachers:
    """The configured teachers of one worker process (shared by its DoFn threads)."""

    def __init__(self, configs):
        from telecom_etl.synth.teacher import Teacher

        self.by_role = {role: Teacher(cfg) for role, cfg in configs.items()}


class _GenerateFn(beam.DoFn):
    """A batch of items -> pairs (main), rejections, usage, events; teacher requests of the
    batch go out together (bounded concurrency inside the teacher client)."""

    _shared = shared.Shared()

    def __init__(self, settings: SynthSettings):
        self.settings = settings

    def setup(self):
        self.tasks = steps.tasks_by_name(self.settings.build_tasks())
        configs = self.settings.teachers
        self.teachers = self._shared.acquire(lambda: _Teachers(configs), tag=json.dumps(
            {k: v.public() for k, v in sorted(configs.items())}, sort_keys=True, default=str)) if configs else None
        self.bar = Progress(type(self).__name__.strip("_").replace("Fn", "").lower(), "elements")

    def process(self, batch: List[Item]):
        settings = self.settings
        for _ in batch:
            self.bar.tick()
        asks: Dict[str, list] = {}
        for item in batch:
            task = self.tasks[item.task]
            if not task.needs_teacher:
                try:
                    pairs = steps.offline_pairs(task, item)
                except Exception as exc:  # counted as failed, the rest of the batch goes on
                    yield from self._failed(item, exc)
                    continue
                yield from self._made(item, pairs)
                continue
            role = settings.teacher_for(task.name)
            if role is None or self.teachers is None:
                yield beam.pvalue.TaggedOutput("events", item_event("generate", item, "dropped", "no_teacher"))
                yield beam.pvalue.TaggedOutput("tasks", task_event(item.task, "generate", "dropped", "no_teacher"))
                continue
            try:
                prompts = steps.prompts_for(task, item)
            except Exception as exc:
                yield from self._failed(item, exc)
                continue
            asks.setdefault(role, []).append((item, task, prompts))
        for role, entries in sorted(asks.items()):
            teacher = self.teachers.by_role[role]
            flat = [(item, task, prompt) for item, task, prompts in entries for prompt in prompts]
            results = teacher.complete_many([prompt.request for _, _, prompt in flat])
            made: Dict[int, list] = {}
            rejected: Dict[int, list] = {}
            for (item, task, prompt), result in zip(flat, results):
                yield beam.pvalue.TaggedOutput("usage", usage_row(result))
                pairs, rejection = steps.pairs_from_answer(task, prompt, result)
                made.setdefault(id(item), []).extend(pairs)
                if rejection is not None:
                    rejected.setdefault(id(item), []).append(rejection)
            for item, task, prompts in entries:
                pairs = made.get(id(item), [])
                if pairs or not prompts:
                    yield from self._made(item, pairs)
                for rejection in rejected.get(id(item), []):
                    yield beam.pvalue.TaggedOutput("rejects", rejection)
                    yield beam.pvalue.TaggedOutput("tasks", task_event(item.task, "generate", "rejected",
                                                                       rejection.reason))
                if not pairs and prompts:
                    reason = rejected[id(item)][0].reason
                    yield beam.pvalue.TaggedOutput("events", item_event("generate", item, "dropped", reason))

    def _made(self, item: Item, pairs: List[Pair]):
        outcome = "kept" if pairs else "dropped"
        yield beam.pvalue.TaggedOutput("events", item_event("generate", item, outcome, "" if pairs else "no_pairs"))
        if not pairs:
            yield beam.pvalue.TaggedOutput("tasks", task_event(item.task, "generate", "dropped", "no_pairs"))
        for pair in pairs:
            yield beam.pvalue.TaggedOutput("events", pair_event("generate_pairs", pair, "kept"))
            yield beam.pvalue.TaggedOutput("tasks", task_event(pair.task, "generate_pairs", "kept"))
            yield pair

    def _failed(self, item: Item, exc: Exception):
        line = error_line(type(exc), repr(exc))
        yield beam.pvalue.TaggedOutput("failed", Reject(item.source, item.passage.id, "generate", line,
                                                        f"{item.task}:{item.passage.id}"))
        yield beam.pvalue.TaggedOutput("events", event("generate", "items", item.source, "failed",
                                                       line.split(":")[0][:80], example=item.passage.id))
        yield beam.pvalue.TaggedOutput("tasks", task_event(item.task, "generate", "failed", line.split(":")[0][:80]))


def usage_row(result) -> dict:
    return {"teacher": result.teacher, "model": result.model, "task": result.task, "ok": result.ok,
            "error": result.error, "cached": result.cached, "batch": result.batch, "truncated": result.truncated,
            "attempts": result.attempts, "prompt_tokens": result.prompt_tokens,
            "completion_tokens": result.completion_tokens, "cost": result.cost, "refusal": result.refusal,
            "usage_clamped": result.usage_clamped}


class _ValidateFn(_GenerateFn):
    """Pure checks first (a pair failing them costs no validator request), then the task's
    teacher check for tasks that have one (multiple choice)."""

    def setup(self):
        super().setup()
        from telecom_etl.synth.validate import PairValidator

        self.validator = PairValidator(self.settings.validation)

    def process(self, batch: List[Pair]):
        for _ in batch:
            self.bar.tick()
        to_check = []
        for pair in batch:
            try:
                verdict = self.validator(pair)
            except Exception as exc:
                line = error_line(type(exc), repr(exc))
                yield beam.pvalue.TaggedOutput("failed", Reject(pair.passage.source, pair.passage.id, "validate",
                                                                line, pair.id))
                yield beam.pvalue.TaggedOutput("events", event("validate", "pairs", pair.passage.source, "failed",
                                                               line.split(":")[0][:80], example=pair.id))
                yield beam.pvalue.TaggedOutput("tasks", task_event(pair.task, "validate", "failed", "error"))
                continue
            if verdict is not None:
                yield from self._reject(pair, *verdict)
                continue
            task = self.tasks[pair.task]
            request = task.check_prompt(pair)
            if request is None:
                yield from self._keep(pair)
            else:
                to_check.append((pair, task, request))
        if not to_check:
            return
        role = self.settings.validator
        if role is None or self.teachers is None:
            for pair, _, _ in to_check:
                pair.checks["validator"] = "skipped: no teacher"
                yield from self._keep(pair)
            return
        results = self.teachers.by_role[role].complete_many([r for _, _, r in to_check])
        for (pair, task, _), result in zip(to_check, results):
            yield beam.pvalue.TaggedOutput("usage", usage_row(result))
            verdict = steps.check_verdict(task, pair, result)
            if verdict is None:
                yield from self._keep(pair)
            else:
                yield from self._reject(pair, *verdict)

    def _keep(self, pair: Pair):
        yield beam.pvalue.TaggedOutput("events", pair_event("validate", pair, "kept"))
        yield pair

    def _reject(self, pair: Pair, rule: str, detail: str):
        yield beam.pvalue.TaggedOutput("events", pair_event("validate", pair, "dropped", rule))
        yield beam.pvalue.TaggedOutput("tasks", task_event(pair.task, "validate", "rejected", rule))
        yield beam.pvalue.TaggedOutput("rejects", steps.reject_pair("validate", pair, rule, detail))


class NearDupQuestions(beam.PTransform):
    """Drop a pair when a pair of the same task with a smaller id has a near-identical question
    (teacher-written questions: MinHash LSH bands, verified on the signature's Jaccard
    estimate) or is identical (template tasks, see ``validate.dedup_key``). Order-independent."""

    def __init__(self, threshold: float):
        super().__init__()
        self.threshold = threshold

    def expand(self, pairs):
        threshold = self.threshold

        def signature(pair):
            import hashlib

            from telecom_etl.synth.validate import QuestionHasher, dedup_key

            mode, text = dedup_key(pair)
            if mode == "exact":
                return pair.id, (pair.task, (int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:15], 16),))
            return pair.id, (pair.task, tuple(_hasher(QuestionHasher).signature(text)))

        def bands(kv):
            from telecom_etl.synth.validate import QuestionHasher

            pid, (task, sig) = kv
            keys = [f"x:{sig[0]}"] if len(sig) == 1 else _hasher(QuestionHasher).band_keys(sig)
            for band in keys:
                yield f"{task}|{band}", (pid, sig)

        def duplicates(group):
            from telecom_etl.synth.validate import jaccard

            _, members = group
            members = sorted(set(members))
            for i in range(1, len(members)):
                for j in range(i):
                    if jaccard(members[i][1], members[j][1]) >= threshold:
                        yield members[i][0], members[j][0]
                        break

        sigs = pairs | "Signature" >> beam.Map(signature)
        dups = (sigs | "Bands" >> beam.FlatMap(bands) | "ByBand" >> beam.GroupByKey()
                | "Duplicates" >> beam.FlatMap(duplicates))
        keyed = pairs | "ById" >> beam.Map(lambda p: (p.id, p))

        def split(kv):
            _, grouped = kv
            pair_list, dup_of = list(grouped["pair"]), sorted(grouped["dup_of"])
            for pair in pair_list:
                if dup_of:
                    yield beam.pvalue.TaggedOutput("events", pair_event("dedup", pair, "dropped", "near_duplicate"))
                    yield beam.pvalue.TaggedOutput("tasks", task_event(pair.task, "dedup", "rejected",
                                                                       "near_duplicate"))
                    yield beam.pvalue.TaggedOutput("rejects", steps.reject_pair(
                        "dedup", pair, "near_duplicate", f"question near-identical to pair {dup_of[0]}"))
                else:
                    pair.checks["near_duplicate"] = "pass"
                    yield beam.pvalue.TaggedOutput("events", pair_event("dedup", pair, "kept"))
                    yield beam.pvalue.TaggedOutput("tasks", task_event(pair.task, "dedup", "kept"))
                    yield pair

        return ({"pair": keyed, "dup_of": dups} | "Join" >> beam.CoGroupByKey()
                | "Split" >> beam.FlatMap(split).with_outputs("events", "tasks", "rejects", main="kept"))


_HASHER = {}


def _hasher(cls):
    if "h" not in _HASHER:
        _HASHER["h"] = cls()
    return _HASHER["h"]


# ---- the graph ---------------------------------------------------------------------

def build(pipeline: beam.Pipeline, settings: SynthSettings, shards: List[str], output: str,
          shard_max_bytes: int = 256 << 20) -> None:
    docs = (pipeline | "Shards" >> beam.Create(shards) | "Read" >> beam.FlatMap(read_documents))
    read_events = docs | "ReadEvents" >> beam.Map(lambda d: event("read", "docs", d.source, "kept", "",
                                                                  len(d.text), d.n_tokens, d.id))

    passages = docs | "Passages" >> beam.ParDo(_PassagesFn(settings)).with_outputs(
        "events", "tasks", main="items").with_exception_handling(main_tag="items", dead_letter_tag="failed")
    passages_failed = passages["failed"] | "PassagesReject" >> beam.Map(reject_from_failure("passages"))

    if settings.max_per_source is not None or any("max_per_source" in b for b in settings.budgets.values()):
        selected = (passages["items"]
                    | "ByTaskSource" >> beam.Map(lambda i: ((i.task, i.source), i))
                    | "GroupBudget" >> beam.GroupByKey()
                    | "Budget" >> beam.FlatMap(_budget(settings)).with_outputs("events", "tasks", main="items"))
        select_tasks = (passages["tasks"], selected["tasks"]) | "SelectTasks" >> beam.Flatten()
    else:
        selected = passages["items"] | "Selected" >> beam.FlatMap(_selected).with_outputs("events", main="items")
        select_tasks = passages["tasks"]

    items, spend_events, spend_tasks = selected["items"], [], []
    if settings.spend.active:
        admitted = items | "PlanSpend" >> PlanSpend(_AskFn(settings), settings.spend,
                                                    teacher_caps(settings.teachers), output)
        spent = items | "AdmitSpend" >> beam.FlatMap(_admit_item, beam.pvalue.AsSingleton(admitted)).with_outputs(
            "events", "tasks", main="items")
        items, spend_events, spend_tasks = spent["items"], [spent["events"]], [spent["tasks"]]

    # fixed-size batches: Beam's adaptive batching shrinks them to 1-2 items when the endpoint is
    # slow, and the teacher's concurrency stops mattering (a bundle's end still flushes a short one)
    generated = (items
                 | "BatchItems" >> beam.BatchElements(min_batch_size=settings.batch_size,
                                                      max_batch_size=settings.batch_size)
                 | "Generate" >> beam.ParDo(_GenerateFn(settings)).with_outputs(
                     "events", "tasks", "rejects", "usage", "failed", main="pairs"))

    validated = (generated["pairs"]
                 | "BatchPairs" >> beam.BatchElements(min_batch_size=settings.batch_size,
                                                      max_batch_size=settings.batch_size)
                 | "Validate" >> beam.ParDo(_ValidateFn(settings)).with_outputs(
                     "events", "tasks", "rejects", "usage", "failed", main="pairs"))

    deduped = validated["pairs"] | "NearDup" >> NearDupQuestions(settings.validation.near_duplicate_threshold)

    files = [deduped["kept"] | "WriteSFT" >> WriteShards(
        io.join(output, "sft"), "part", SFT_SCHEMA, sft_row, key=lambda p: p.id,
        size=lambda p: len(p.instruction) + len(p.response) + 300, shard_max_bytes=shard_max_bytes)]
    rejects = (generated["rejects"], validated["rejects"], deduped["rejects"]) | "AllRejects" >> beam.Flatten()
    files.append(rejects | "WriteRejects" >> WriteShards(
        io.join(output, "rejects"), "rejects", SFT_REJECT_SCHEMA, Rejection.to_row,
        key=lambda r: f"{r.stage}\x00{r.task}\x00{r.id}", size=lambda r: len(r.raw_answer or "") + 500,
        shard_max_bytes=shard_max_bytes))
    failed = ((passages_failed, generated["failed"], validated["failed"]) | "AllFailed" >> beam.Flatten())
    files.append(failed | "WriteFailed" >> WriteShards(
        io.join(output, "failed"), "failed", REJECT_SCHEMA, Reject.to_row,
        key=lambda r: f"{r.stage}\x00{r.source}\x00{r.uri}\x00{r.id or ''}", size=lambda r: len(r.error) + 200,
        shard_max_bytes=shard_max_bytes))
    (files | "AllFiles" >> beam.Flatten() | "FileNames" >> beam.Map(lambda pr: [shard_entry(pr[0]), pr[1]])
     | "WriteFiles" >> WriteJson(io.join(output, "_stats", "files.json")))

    events = ((read_events, passages["events"], passages_failed | "PassFailEvents" >> beam.Map(
        reject_event("passages", "docs")), selected["events"], generated["events"], validated["events"],
               deduped["events"], *spend_events) | "AllEvents" >> beam.Flatten())
    events | "WriteEvents" >> WriteEvents(output)

    tasks = ((select_tasks, generated["tasks"], validated["tasks"], deduped["tasks"], *spend_tasks)
             | "AllTaskEvents" >> beam.Flatten())
    (tasks | "SumTasks" >> beam.CombinePerKey(sum) | "TaskJson" >> beam.Map(lambda kv: [list(kv[0]), kv[1]])
     | "WriteTasks" >> WriteJson(io.join(output, "_stats", "tasks.json")))

    usage = (generated["usage"], validated["usage"]) | "AllUsage" >> beam.Flatten()
    (usage | "UsageKey" >> beam.Map(lambda u: ((u["teacher"], u["model"], u["task"]), u))
     | "SumUsage" >> beam.CombinePerKey(_UsageFn())
     | "UsageJson" >> beam.Map(lambda kv: {"teacher": kv[0][0], "model": kv[0][1], "task": kv[0][2], **kv[1]})
     | "WriteUsage" >> WriteJson(io.join(output, "_stats", "usage.json"),
                                 sort_key=lambda u: (u["teacher"], u["model"], u["task"])))


class _AskFn(beam.DoFn):
    """Item -> the most its teacher requests may cost (:func:`telecom_etl.synth.instructions.item_ask`)."""

    def __init__(self, settings: SynthSettings):
        self.settings = settings

    def setup(self):
        from telecom_etl.synth.teacher import Teacher

        self.tasks = steps.tasks_by_name(self.settings.build_tasks())
        self.teachers = {role: Teacher(cfg) for role, cfg in self.settings.teachers.items()}  # no request is sent

    def process(self, item: Item):
        yield steps.item_ask(self.settings, self.tasks, self.teachers, item)


def teacher_caps(teachers: dict) -> dict:
    return {role: (cfg.max_requests, cfg.max_tokens_total, cfg.max_cost) for role, cfg in teachers.items()
            if cfg.budgeted}


def _admit_item(item: Item, admitted):
    if steps.item_key(item) in admitted:
        yield item
        yield beam.pvalue.TaggedOutput("events", item_event("budget", item, "kept"))
    else:
        yield beam.pvalue.TaggedOutput("events", item_event("budget", item, "dropped", "budget_exceeded"))
        yield beam.pvalue.TaggedOutput("tasks", task_event(item.task, "budget", "dropped", "budget_exceeded"))


class _UsageFn(beam.CombineFn):
    def create_accumulator(self):
        from telecom_etl.synth.teacher import _blank_usage

        return _blank_usage()

    def add_input(self, acc, u):
        from telecom_etl.synth.teacher import ChatResult, add_result

        result = ChatResult(key="", teacher=u["teacher"], model=u["model"], task=u["task"],
                            content="" if u["ok"] else None, finish_reason="length" if u["truncated"] else "stop",
                            prompt_tokens=u["prompt_tokens"], completion_tokens=u["completion_tokens"],
                            cost=u["cost"], cached=u["cached"], batch=u["batch"], attempts=u["attempts"],
                            error=u["error"], refusal=u.get("refusal", False),
                            usage_clamped=u.get("usage_clamped", False))
        return add_result(acc, result)

    def merge_accumulators(self, accs):
        from telecom_etl.synth.teacher import _blank_usage, merge_usage

        out = _blank_usage()
        for a in accs:
            merge_usage(out, a)
        return out

    def extract_output(self, acc):
        return acc


# ---- driver ----------------------------------------------------------------------------

def task_table(rows: list, produced: List[str]) -> Dict[str, dict]:
    """Per pair task: pairs made and kept, rejected answers (generate stage: teacher failure,
    truncation, parse) and rejected pairs (validate, dedup) by rule, items skipped, and the
    rejection rate = rejected / (pairs made + rejected answers)."""
    def blank():
        return {"pairs_made": 0, "pairs_kept": 0, "rejected_answers": {}, "rejected_pairs": {},
                "items_dropped": {}, "failed": 0}

    out = {t: blank() for t in produced}
    for (task, stage, outcome, rule), n in rows:
        row = out.setdefault(task, blank())
        if stage == "generate_pairs":
            row["pairs_made"] += n
        elif stage == "dedup" and outcome == "kept":
            row["pairs_kept"] += n
        elif outcome == "rejected":
            bucket = row["rejected_answers"] if stage == "generate" else row["rejected_pairs"]
            bucket[rule] = bucket.get(rule, 0) + n
        elif outcome == "dropped":
            row["items_dropped"][rule] = row["items_dropped"].get(rule, 0) + n
        elif outcome == "failed":
            row["failed"] += n
    for row in out.values():
        answers = sum(row["rejected_answers"].values())
        total = row["pairs_made"] + answers
        row["rejected"] = answers + sum(row["rejected_pairs"].values())
        row["rejection_rate"] = round(row["rejected"] / total, 4) if total else None
        row["skipped"] = row["items_dropped"].get("no_teacher", 0)
    return out


def run(settings: SynthSettings, input_path: str, output: str, beam_args: List[str],
        extra: Optional[dict] = None, progress: bool = True) -> dict:
    from telecom_etl.pipelines.options import pipeline_options
    from telecom_etl.pipelines.report import build_report, write_report
    from telecom_etl.synth.teacher import summarise_usage

    shards = input_shards(input_path)
    options = pipeline_options(beam_args)
    Progress.enabled = progress
    # written into a staging folder, committed at the end: OUT holds the previous run until then
    entries = OUTPUT_FOLDERS + ("_stats", "plots", "report.json", "README.md", "report.html")
    with RunFolder(output, entries, "synth-instructions") as folder:
        staging, shown = folder.staging, output
        output = staging
        pipeline = beam.Pipeline(options=options)
        build(pipeline, settings, shards, output)
        pipeline.run().wait_until_finish()
        remove_stale(output, OUTPUT_FOLDERS)
        usage_rows = json.loads(io.read_bytes(io.join(output, "_stats", "usage.json")))
        task_rows = json.loads(io.read_bytes(io.join(output, "_stats", "tasks.json")))
        tasks = task_table(task_rows, settings.produced_tasks())
        report = build_report(output, PAIR_STAGES, rows_folder="sft", extra={
            "command": "synth-instructions", "input": input_path, "input_shards": len(shards),
            "tasks": tasks, "usage": summarise_usage(usage_rows),
            "teachers": {role: cfg.public() for role, cfg in sorted(settings.teachers.items())},
            **(extra or {})})
        stages = report["stages"]
        blank = {"kept": 0, "in": 0}
        chain = ["select", "budget", "generate"] if "budget" in stages else ["select", "generate"]
        for prev, cur in [("read", "passages"), *zip(chain, chain[1:])]:
            left, right = stages.get(cur, blank)["in"], stages.get(prev, blank)["kept"]
            report["checks"].append({"check": f"{cur}.in == {prev}.kept", "ok": left == right, "left": left,
                                     "right": right})
        report["balanced"] = all(c["ok"] for c in report["checks"])
        report["totals"] = {"docs_in": stages.get("read", blank)["kept"],
                            "items": stages.get("select", blank)["kept"],
                            "pairs_made": stages.get("generate_pairs", blank)["kept"],
                            "pairs_out": stages.get("dedup", blank)["kept"],
                            "rejects": sum(st["dropped"] for name, st in stages.items() if name in PAIR_STAGES)
                            + sum(v for k, v in stages.get("generate", {}).get("dropped_by_rule", {}).items()
                                  if k not in ("no_teacher", "no_pairs")),
                            "failed": sum(st["failed"] for st in stages.values())}
        report["budget"] = spend_report(output, settings, report["usage"]["total"], (extra or {}).get("batch_prepass"))
        report["output"] = shown  # not the staging folder
        write_report(output, report)
        from telecom_etl.card import write_card

        write_card(output, report, shown_as=shown, title="telecom instruction pairs (SFT)")  # OUT/README.md, OUT/report.html
        folder.commit()
    return report


def spend_report(output: str, settings: SynthSettings, total_usage: dict, prepass: Optional[dict] = None):
    """The spend plan (``_stats/budget.json``) beside what the run actually sent and spent."""
    out = spend_report_of(output, settings.spend.active, total_usage)
    if out and prepass:  # answers bought by the batch pre-pass count against the same budget
        pre = prepass["total"]
        out["batch_prepass"] = {"requests": pre["sent"] + pre["failed"], "tokens": pre.get("sent_tokens", 0),
                                "cost_usd": pre["cost_usd"]}
        for k in ("requests", "tokens", "cost_usd"):
            out["actual"][k] = round(out["actual"][k] + out["batch_prepass"][k], 10)
    return out


def summary(report: dict) -> str:
    from telecom_etl.synth.teacher import failed_requests

    t = report["totals"]
    u = report["usage"]["total"]
    lines = [f"telecom-etl synth-instructions: {t['docs_in']:,} documents -> {t['items']:,} task items -> "
             f"{t['pairs_out']:,} pairs ({t['pairs_made']:,} made, {t['rejects']:,} rejected answers/pairs, "
             f"{t['failed']:,} failed records, {failed_requests(u):,} failed teacher requests)"]
    lines.append(f"{'stage':<16}{'unit':<7}{'in':>8}{'kept':>8}{'dropped':>8}{'failed':>7}  top reasons")
    for name in ["read", "passages", "select", "budget", "generate", *PAIR_STAGES]:
        st = report["stages"].get(name)
        if not st:
            continue
        reasons = sorted(st["dropped_by_rule"].items(), key=lambda kv: (-kv[1], kv[0]))[:4]
        lines.append(f"{name:<16}{st['unit']:<7}{st['in']:>8}{st['kept']:>8}{st['dropped']:>8}{st['failed']:>7}  "
                     + ", ".join(f"{k}={v}" for k, v in reasons))
    lines.append(f"{'task':<18}{'made':>7}{'kept':>7}{'reject%':>9}  skipped/top rejections")
    for task, row in sorted(report["tasks"].items()):
        rate = "-" if row["rejection_rate"] is None else f"{100 * row['rejection_rate']:.1f}"
        why = sorted({**row["rejected_answers"], **row["rejected_pairs"]}.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        note = (f"skipped {row['skipped']} (no teacher); " if row["skipped"] else "") + ", ".join(
            f"{k}={v}" for k, v in why)
        lines.append(f"{task:<18}{row['pairs_made']:>7}{row['pairs_kept']:>7}{rate:>9}  {note}")
    lines.append(f"teacher: {u['requests']:,} requests ({u['sent']:,} sent, {u['cached']:,} cached, {u['failed']:,} "
                 f"failed), {u['prompt_tokens']:,}+{u['completion_tokens']:,} tokens, ${u['cost_usd']:.4f} spent "
                 f"(${u['cached_cost_usd']:.4f} cached)")
    spend = report.get("budget")
    if spend:
        a, b = spend["actual"], spend["budget"]
        lines.append(f"budget: {spend['admitted']:,} of {spend['units']:,} items admitted (plan: "
                     f"{spend['requests']:,} requests, {spend['tokens']:,} tokens, ${spend['cost_usd']:.4f} at most; "
                     f"limits {_limits(b)}); actual: {a['requests']:,} requests, {a['tokens']:,} tokens, "
                     f"${a['cost_usd']:.4f}")
    bad = [c for c in report["checks"] if not c["ok"]]
    lines.append("accounting: all counts add up" if not bad else
                 "accounting: MISMATCH " + "; ".join(f"{c['check']} ({c['left']} vs {c['right']})" for c in bad))
    return "\n".join(lines)


def _limits(budget: dict) -> str:
    parts = [f"{n}={budget[k]:g}" for k, n in (("max_requests", "requests"), ("max_tokens", "tokens"),
                                               ("max_cost", "USD")) if budget.get(k) is not None]
    return ", ".join(parts) or "none"


# ---- driver-side planning: --dry-run and the --batch pre-pass -------------------------

def plan_items(settings: SynthSettings, shards: List[str]) -> List[Item]:
    """The selected items, computed in the driver with the same pure steps as the pipeline."""
    tasks = settings.build_tasks()
    groups: Dict[tuple, list] = {}
    for path in shards:
        for doc in read_documents(path):
            for passage in steps.passages_for(doc, settings, tasks):
                for item in steps.items_for(passage, tasks, settings):
                    groups.setdefault((item.task, item.source), []).append(item)
    kept = []
    for key in sorted(groups):
        kept.extend(steps.apply_budget(groups[key], *settings.budget_for(key[0]))[0])
    return kept


def dry_run(settings: SynthSettings, shards: List[str]) -> dict:
    """Requests, tokens and cost each teacher would see; nothing is sent."""
    from telecom_etl.synth.teacher import Teacher

    tasks = steps.tasks_by_name(settings.build_tasks())
    items = plan_items(settings, shards)
    per_task: Dict[str, int] = {}
    requests: Dict[str, list] = {}
    skipped: Dict[str, int] = {}
    for item in items:
        per_task[item.task] = per_task.get(item.task, 0) + 1
        task = tasks[item.task]
        if not task.needs_teacher:
            continue
        role = settings.teacher_for(task.name)
        if role is None:
            skipped[task.name] = skipped.get(task.name, 0) + 1
            continue
        for prompt in steps.prompts_for(task, item):
            requests.setdefault(role, []).append(prompt.request)
            if task.has_check and settings.validator:
                # a teacher check per generated pair: about the passage plus the question
                requests.setdefault(settings.validator, []).extend(steps.check_estimates(task, item))
    estimates = {}
    for role, reqs in sorted(requests.items()):
        with Teacher(settings.teachers[role]) as teacher:
            estimates[role] = teacher.estimate(reqs)
    return {"items_per_task": dict(sorted(per_task.items())), "skipped_no_teacher": skipped,
            "teachers": estimates,
            "total": {k: sum(e[k] for e in estimates.values()) for k in
                      ("requests", "cached", "to_send", "prompt_tokens", "completion_tokens", "cost_usd",
                       "batch_cost_usd")}}


def batch_prepass(settings: SynthSettings, shards: List[str], poll_interval: Optional[float] = None) -> dict:
    """``--batch``: buy every teacher answer through the Batch API first (generator requests,
    then the validator checks of the pairs they make), filling the cache the pipeline reads."""
    from telecom_etl.synth.teacher import Teacher, Usage
    from telecom_etl.synth.validate import PairValidator

    tasks = steps.tasks_by_name(settings.build_tasks())
    items = plan_items(settings, shards)
    plan = None
    if settings.spend.active:  # buy only what the run's budget admits (the pipeline plans the rest)
        plan = plan_spend(settings, items)
        admitted = set(plan["admitted"])
        items = [i for i in items if steps.item_key(i) in admitted]
    by_role: Dict[str, list] = {}
    for item in items:
        task = tasks[item.task]
        role = settings.teacher_for(task.name) if task.needs_teacher else None
        if role:
            by_role.setdefault(role, []).extend((task, p) for p in steps.prompts_for(task, item))
    usage = Usage()
    checks = []
    validator = PairValidator(settings.validation)
    for role, prompts in sorted(by_role.items()):
        with Teacher(settings.teachers[role]) as teacher:
            results = teacher.complete_batch([p.request for _, p in prompts], poll_interval=poll_interval)
            usage.merge(teacher.usage)
        for (task, prompt), result in zip(prompts, results):
            pairs, _ = steps.pairs_from_answer(task, prompt, result)
            for pair in pairs:
                request = task.check_prompt(pair)
                if request is not None and validator(pair) is None:
                    checks.append(request)
    if checks and settings.validator:
        with Teacher(settings.teachers[settings.validator]) as teacher:
            teacher.complete_batch(checks, poll_interval=poll_interval)
            usage.merge(teacher.usage)
    out = usage.to_dict()
    if plan is not None:
        out["plan"] = plan["plan"]
    return out


def plan_spend(settings: SynthSettings, items: List[Item]) -> dict:
    """The spend plan of the pipeline's PlanSpend, computed in the driver over the same items."""
    from telecom_etl.synth.teacher import Teacher
    from telecom_etl.synth.teacher.budget import admit

    tasks = steps.tasks_by_name(settings.build_tasks())
    teachers = {role: Teacher(cfg) for role, cfg in settings.teachers.items()}
    asks = [steps.item_ask(settings, tasks, teachers, item) for item in items]
    return admit(asks, settings.spend, teacher_caps(settings.teachers))
