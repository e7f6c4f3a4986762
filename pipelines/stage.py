"""Stage bookkeeping, once: every record that enters a stage leaves it kept, dropped or failed.

A stage is a pure function over one record (``Document -> Document | Dropped``; it may
raise to fail the record). :class:`DocStage` wraps it as a Beam ``ParDo`` with a
``dropped`` tagged output and Beam's dead-letter output (``with_exception_handling``)
for failures, counts every outcome in Beam metrics, and emits accounting events that
:mod:`telecom_etl.pipelines.report` adds up per stage, source and rule.
"""
from __future__ import annotations

import sys
import time
from typing import Callable, Iterable, NamedTuple, Optional, Tuple

import apache_beam as beam
from apache_beam.metrics import Metrics

from telecom_etl.outcome import Dropped, error_line
from telecom_etl.record import Document, Reject, estimate_tokens

NAMESPACE = "telecom_etl"
MAX_EXAMPLES = 3


class DroppedRecord(NamedTuple):
    stage: str
    doc: Document
    why: Dropped


# ---------------------------------------------------------------------------
# accounting events: ((stage, unit, source, outcome, rule), (n, chars, tokens, examples))
# ---------------------------------------------------------------------------

def event(stage: str, unit: str, source: str, outcome: str, rule: str = "",
          chars: int = 0, tokens: int = 0, example: Optional[str] = None):
    return (stage, unit, source, outcome, rule), (1, chars, tokens, [example] if example else [])


def doc_event(stage: str, doc: Document, outcome: str, rule: str = ""):
    return event(stage, "docs", doc.source, outcome, rule, len(doc.text), estimate_tokens(doc.text), doc.id)


class SumStats(beam.CombineFn):
    """Adds up (n, chars, tokens) and keeps the smallest few example ids (deterministic)."""

    def create_accumulator(self):
        return (0, 0, 0, [])

    def add_input(self, acc, value):
        return self.merge_accumulators([acc, value])

    def merge_accumulators(self, accs):
        n = chars = tokens = 0
        examples = set()
        for a in accs:
            n, chars, tokens = n + a[0], chars + a[1], tokens + a[2]
            examples.update(a[3])
        return (n, chars, tokens, sorted(examples)[:MAX_EXAMPLES])

    def extract_output(self, acc):
        return acc


# ---------------------------------------------------------------------------
# progress on long local runs
# ---------------------------------------------------------------------------

class Progress:
    """Prints a progress line per stage to stderr at most every ``every`` seconds per worker."""

    enabled = True
    every = 5.0

    def __init__(self, stage: str, unit: str):
        self.stage, self.unit = stage, unit
        self.n = 0
        self._start = self._last = time.monotonic()

    def tick(self) -> None:
        self.n += 1
        now = time.monotonic()
        if self.enabled and now - self._last >= self.every:
            self._last = now
            elapsed = now - self._start
            print(f"telecom-etl: {self.stage}: {self.n:,} {self.unit} in {elapsed:.0f} s "
                  f"({self.n / max(elapsed, 1e-9):,.1f}/s, this worker)", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# the stage wrapper
# ---------------------------------------------------------------------------

class _DocStageFn(beam.DoFn):
    def __init__(self, stage: str, make_fn: Callable[[], Callable[[Document], object]], progress: bool):
        self.stage, self.make_fn, self.progress = stage, make_fn, progress

    def setup(self):
        self.fn = self.make_fn()
        self.counters = {o: Metrics.counter(NAMESPACE, f"{self.stage}.{o}") for o in ("in", "kept", "dropped")}
        self.bar = Progress(self.stage, "records")
        self.bar.enabled = self.progress

    def process(self, doc: Document, *side):
        self.counters["in"].inc()
        self.bar.tick()
        yield self._outcome(doc, self.fn(doc, *side))

    def _outcome(self, doc, result):
        if isinstance(result, Dropped):
            self.counters["dropped"].inc()
            return beam.pvalue.TaggedOutput("dropped", DroppedRecord(self.stage, doc, result))
        self.counters["kept"].inc()
        return doc if result is None else result


class _ParallelDocStageFn(_DocStageFn):
    """A batch of records through the stage function on ``parallel`` threads at once (for
    functions that wait on an endpoint: the teacher client bounds the requests in flight).
    Outcomes come out in input order; a record whose function raises fails alone."""

    def __init__(self, stage, make_fn, progress, parallel: int):
        super().__init__(stage, make_fn, progress)
        self.parallel = parallel

    def setup(self):
        from concurrent.futures import ThreadPoolExecutor

        super().setup()
        self.pool = ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix=f"stage-{self.stage}")

    def teardown(self):
        self.pool.shutdown(wait=False)

    def process(self, batch, *side):
        import traceback

        def one(doc):
            try:
                return self.fn(doc, *side), None
            except Exception as exc:  # noqa: BLE001 - counted as this record's failure, like the dead letter
                return None, (type(exc), repr(exc), traceback.format_exc())

        for doc, (result, failure) in zip(batch, self.pool.map(one, batch)):
            self.counters["in"].inc()
            self.bar.tick()
            if failure is not None:
                yield beam.pvalue.TaggedOutput("failed", (doc, failure))
            else:
                yield self._outcome(doc, result)


class StageResult(NamedTuple):
    kept: beam.PCollection
    dropped: beam.PCollection  # DroppedRecord
    failed: beam.PCollection  # Reject
    events: beam.PCollection


def reject_from_failure(stage: str):
    def to_reject(bad) -> Reject:
        element, (exc_type, exc_repr, _tb) = bad
        Metrics.counter(NAMESPACE, f"{stage}.failed").inc()
        if isinstance(element, Document):
            return Reject(element.source, element.uri, stage, error_line(exc_type, exc_repr), element.id)
        source = getattr(element, "source", None) or getattr(element, "name", "?")
        uri = getattr(element, "uri", None) or ",".join(getattr(element, "paths", []) or [])
        return Reject(source, uri, stage, error_line(exc_type, exc_repr), None)

    return to_reject


def reject_event(stage: str, unit: str):
    def fn(rej: Reject):
        return event(stage, unit, rej.source, "failed", rej.error.split(":")[0][:80], example=rej.id or rej.uri)

    return fn


class DocStage(beam.PTransform):
    """Apply a pure per-record function as a counted stage. ``make_fn`` runs once per worker."""

    def __init__(self, stage: str, make_fn: Callable[[], Callable[[Document], object]],
                 progress: bool = True, timeout: Optional[float] = None, side_inputs: tuple = (),
                 parallel: int = 0):
        super().__init__(label=stage)
        self.stage, self.make_fn, self.progress, self.timeout = stage, make_fn, progress, timeout
        self.side_inputs, self.parallel = tuple(side_inputs), parallel

    def expand(self, docs):
        stage = self.stage
        if self.parallel > 1:
            # fixed-size batches (Beam's adaptive batching shrinks them to 1-2 when the function is slow)
            size = self.parallel * 4
            results = (docs | "Batch" >> beam.BatchElements(min_batch_size=size, max_batch_size=size)
                       | "Apply" >> beam.ParDo(_ParallelDocStageFn(stage, self.make_fn, self.progress, self.parallel),
                                               *self.side_inputs).with_outputs("dropped", "failed", main="kept"))
        else:
            results = docs | "Apply" >> beam.ParDo(_DocStageFn(stage, self.make_fn, self.progress),
                                                   *self.side_inputs).with_outputs(
                "dropped", main="kept").with_exception_handling(main_tag="kept", dead_letter_tag="failed",
                                                                timeout=self.timeout)
        kept, dropped = results["kept"], results["dropped"]
        failed = results["failed"] | "ToReject" >> beam.Map(reject_from_failure(stage))
        events = (
            (kept | "KeptEvents" >> beam.Map(lambda d: doc_event(stage, d, "kept")),
             dropped | "DropEvents" >> beam.Map(lambda r: doc_event(stage, r.doc, "dropped", r.why.rule)),
             failed | "FailEvents" >> beam.Map(reject_event(stage, "docs")))
            | "Events" >> beam.Flatten()
        )
        return StageResult(kept, dropped, failed, events)


def flatten(label: str, pcolls: Iterable[beam.PCollection], pipeline) -> beam.PCollection:
    pcolls = tuple(pcolls)
    if not pcolls:
        return pipeline | label >> beam.Create([])
    return pcolls | label >> beam.Flatten()


def key_of(pair: Tuple) -> Tuple:
    return pair[0]


def _event_row(kv) -> dict:
    key, (n, chars, tokens, examples) = kv
    return {"key": list(key), "n": n, "chars": chars, "tokens": tokens, "examples": list(examples)}


class WriteEvents(beam.PTransform):
    """Add up accounting events per key and write ``OUTPUT/_stats/stats.json``, the file
    :func:`telecom_etl.pipelines.report.build_report` reads."""

    def __init__(self, output: str):
        super().__init__()
        self.output = output

    def expand(self, events):
        from telecom_etl import io
        from telecom_etl.pipelines.write import WriteJson

        return (events
                | "SumEvents" >> beam.CombinePerKey(SumStats())
                | "AsJson" >> beam.Map(_event_row)
                | "WriteStats" >> WriteJson(io.join(self.output, "_stats", "stats.json"), sort_key=lambda e: e["key"]))
