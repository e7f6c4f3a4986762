"""List the manifest's sources into input items and extract documents from them.

Two counted stages:

* ``list`` (unit: sources): a source whose paths cannot be listed fails as a whole;
  an item skipped while listing (e.g. a symlink leaving the source root) counts as a
  dropped file of the ``extract`` stage.
* ``extract`` (unit: files): each file is kept (it produced documents), dropped (with
  the rule, e.g. ``binary_file``) or failed (with the error). Extraction of one file is
  atomic: a failure half-way emits none of its documents.
"""
from __future__ import annotations

import dataclasses
from typing import NamedTuple

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindows

from telecom_etl.extractors import SOURCES, SourceItem, isolate
from telecom_etl.outcome import Dropped
from telecom_etl.pipelines.stage import (NAMESPACE, Progress, doc_event, event, reject_event,
                                         reject_from_failure)
from telecom_etl.record import Document, Reject
from telecom_etl.uris import shown_uri


class FileOutcome(NamedTuple):
    source: str
    uri: str
    outcome: str  # kept / dropped
    rule: str
    detail: str
    n_docs: int


class _ListFn(beam.DoFn):
    def process(self, config):
        kind = SOURCES[config.kind](config)
        for item in kind.list_items():
            if isinstance(item, Dropped):
                yield beam.pvalue.TaggedOutput(
                    "files", FileOutcome(config.name, shown_uri(config, item.uri or ""), "dropped", item.rule,
                                         item.detail, 0))
            else:
                yield item
        yield beam.pvalue.TaggedOutput("listed", config.name)


class _ExtractFn(beam.DoFn):
    """Extracts each input under its limits (:mod:`telecom_etl.extractors.isolate`): in child
    processes of this DoFn instance (forked once, reused, killed at the deadline) when isolated.

    With ``workers`` children, up to that many inputs are in flight: :meth:`process` hands its
    input to an idle child, emits the inputs that have finished (waiting for one when all children
    are busy) and :meth:`finish_bundle` emits the rest. An input's outcome may so leave in a later
    element's ``process`` or at the bundle's end: every input of this stage is in the global
    window at the minimum timestamp (from ``Create``, through ``Reshuffle``), which is where those
    outputs go. A failed input leaves on the dead-letter tag as ``with_exception_handling`` would
    send it; the output does not depend on ``workers`` (shards are sorted by id, reports add up).
    """

    def __init__(self, configs, progress: bool, timeout=None, memory_mb=None, isolation: bool = False,
                 workers: int = 1):
        self.configs, self.progress = configs, progress
        self.timeout, self.memory_mb, self.isolation = timeout, memory_mb, isolation
        self.workers = workers

    def setup(self):
        self.kinds = {c.name: SOURCES[c.kind](c) for c in self.configs}
        self.limits = {c.name: isolate.Limits(timeout_s=self.timeout, memory_mb=self.memory_mb,
                                              max_records=c.max_records_per_file, max_chars=c.max_chars_per_file)
                       for c in self.configs}
        self.pool = isolate.Pool(self.kinds, self.memory_mb, self.workers) if self.isolation else None
        self.by_name = {c.name: c for c in self.configs}
        self.files = Metrics.counter(NAMESPACE, "extract.files")
        self.docs = Metrics.counter(NAMESPACE, "extract.docs")
        self.bar = Progress("extract", "files")
        self.bar.enabled = self.progress

    def teardown(self):
        if getattr(self, "pool", None) is not None:
            self.pool.close()

    def process(self, item: SourceItem):
        self.files.inc()
        self.bar.tick()
        if self.pool is None:  # in process: a failure is raised to with_exception_handling
            yield from self._outcome(item, isolate.extract_all(self.kinds, None, item, self.limits[item.source]))
            return
        self.pool.submit(item, item, self.limits[item.source])
        for done, outs in self.pool.completed(block=self.pool.full()):
            yield from self._outcome(done, outs)

    def finish_bundle(self):
        if self.pool is None:
            return
        while len(self.pool):
            for done, outs in self.pool.completed(block=True):
                for out in self._outcome(done, outs):
                    if isinstance(out, beam.pvalue.TaggedOutput):
                        yield beam.pvalue.TaggedOutput(out.tag, GlobalWindows.windowed_value(out.value))
                    else:
                        yield GlobalWindows.windowed_value(out)

    def _outcome(self, item: SourceItem, outs):
        if isinstance(outs, Exception):  # the element and error as with_exception_handling sends them
            yield beam.pvalue.TaggedOutput("failed", (item, (type(outs), repr(outs), [])))
            return
        docs, drops = [], []
        for out in outs:
            (docs if isinstance(out, Document) else drops).append(out)
        for doc in docs:
            self.docs.inc()
            yield doc
        config = self.by_name[item.source]
        uri = shown_uri(config, item.uri)
        if docs:
            yield beam.pvalue.TaggedOutput("files", FileOutcome(item.source, uri, "kept", "", "", len(docs)))
            for d in drops:  # parts of a kept file skipped on purpose (e.g. a zip member)
                yield beam.pvalue.TaggedOutput("parts", (item.source, shown_uri(config, d.uri or item.uri), d.rule))
        else:
            first = drops[0] if drops else Dropped("no_documents", "the file produced no text")
            yield beam.pvalue.TaggedOutput(
                "files", FileOutcome(item.source, uri, "dropped", first.rule, first.detail, 0))


def default_workers(options) -> int:
    """``extract_workers`` when the manifest and command line leave it out: the cores this process may
    use on the local in-process DirectRunner (one process runs every DoFn), else 1 (a Dataflow or
    other runner's worker already runs one SDK process per vCPU; Beam's own local multi-process and
    multi-thread modes run several extract DoFns already)."""
    import os

    from apache_beam.options.pipeline_options import DirectOptions, StandardOptions

    runner = options.view_as(StandardOptions).runner if options is not None else None
    name = (runner if isinstance(runner, str) or runner is None else type(runner).__name__) or "DirectRunner"
    if name.rsplit(".", 1)[-1].lower() not in IN_PROCESS_RUNNERS:
        return 1
    direct = options.view_as(DirectOptions) if options is not None else None
    if direct is not None and (direct.direct_running_mode != "in_memory" or direct.direct_num_workers != 1):
        return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


IN_PROCESS_RUNNERS = {"directrunner", "fnapirunner", "bundlebaseddirectrunner", "swappingrunner"}


class ExtractResult(NamedTuple):
    docs: beam.PCollection
    files: beam.PCollection  # FileOutcome (kept / dropped)
    failed: beam.PCollection  # Reject (list and extract failures)
    events: beam.PCollection


class ListAndExtract(beam.PTransform):
    def __init__(self, sources, progress: bool = True, timeout: float | None = None,
                 memory_mb: float | None = None, isolation: bool = True, workers: int | None = None):
        super().__init__()
        self.workers = workers  # None: default_workers() of the pipeline's options
        self.sources, self.progress, self.timeout = list(sources), progress, timeout
        self.memory_mb, self.isolation = memory_mb, isolation and isolate.available()

    def expand(self, pbegin):
        listed = (
            pbegin
            | "Sources" >> beam.Create(self.sources)
            | "List" >> beam.ParDo(_ListFn()).with_outputs("files", "listed", main="items").with_exception_handling(
                main_tag="items", dead_letter_tag="failed")
        )
        list_failed = listed["failed"] | "ListRejects" >> beam.Map(reject_from_failure("list"))
        items = listed["items"] | "Spread" >> beam.Reshuffle()
        # isolated, the child is killed at the deadline; in process, Beam's thread timeout stays
        workers = self.workers or default_workers(pbegin.pipeline.options)
        extract_fn = _ExtractFn(self.sources, self.progress, self.timeout, self.memory_mb, self.isolation,
                                workers if self.isolation else 1)
        extracted = items | "Extract" >> beam.ParDo(extract_fn).with_outputs(
            "files", "parts", main="docs").with_exception_handling(
                main_tag="docs", dead_letter_tag="failed", timeout=None if self.isolation else self.timeout)
        by_name = {c.name: c for c in self.sources}

        def shown(rej: Reject) -> Reject:  # the file's path inside its source, like the records' uri
            config = by_name.get(rej.source)
            return dataclasses.replace(rej, uri=shown_uri(config, rej.uri)) if config is not None else rej

        extract_failed = (extracted["failed"] | "ExtractRejects" >> beam.Map(reject_from_failure("extract"))
                          | "RejectUris" >> beam.Map(shown))
        files = (listed["files"], extracted["files"]) | "Files" >> beam.Flatten()

        def file_event(f: FileOutcome):
            return event("extract", "files", f.source, f.outcome, f.rule, example=f.uri)

        events = (
            (
                listed["listed"] | "ListEvents" >> beam.Map(lambda name: event("list", "sources", name, "kept")),
                list_failed | "ListFailEvents" >> beam.Map(reject_event("list", "sources")),
                files | "FileEvents" >> beam.Map(file_event),
                extract_failed | "ExtractFailEvents" >> beam.Map(reject_event("extract", "files")),
                extracted["parts"] | "PartEvents" >> beam.Map(
                    lambda p: event("extract_parts", "parts", p[0], "dropped", p[2], example=p[1])),
                extracted["docs"] | "DocEvents" >> beam.Map(lambda d: doc_event("extract_docs", d, "kept")),
            )
            | "Events" >> beam.Flatten()
        )
        failed = (list_failed, extract_failed) | "Failed" >> beam.Flatten()
        return ExtractResult(extracted["docs"], files, failed, events)
