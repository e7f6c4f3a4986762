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

from typing import NamedTuple

import apache_beam as beam
from apache_beam.metrics import Metrics

from telecom_etl.extractors import SOURCES, SourceItem, isolate
from telecom_etl.outcome import Dropped
from telecom_etl.pipelines.stage import (NAMESPACE, Progress, doc_event, event, reject_event,
                                         reject_from_failure)
from telecom_etl.record import Document


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
                    "files", FileOutcome(config.name, item.uri or "", "dropped", item.rule, item.detail, 0))
            else:
                yield item
        yield beam.pvalue.TaggedOutput("listed", config.name)


class _ExtractFn(beam.DoFn):
    """Extracts each input under its limits (:mod:`telecom_etl.extractors.isolate`): in a child
    process of this DoFn instance (forked once, reused, killed at the deadline) when isolated."""

    def __init__(self, configs, progress: bool, timeout=None, memory_mb=None, isolation: bool = False):
        self.configs, self.progress = configs, progress
        self.timeout, self.memory_mb, self.isolation = timeout, memory_mb, isolation

    def setup(self):
        self.kinds = {c.name: SOURCES[c.kind](c) for c in self.configs}
        self.limits = {c.name: isolate.Limits(timeout_s=self.timeout, memory_mb=self.memory_mb,
                                              max_records=c.max_records_per_file, max_chars=c.max_chars_per_file)
                       for c in self.configs}
        self.child = isolate.Isolated(self.kinds, self.memory_mb) if self.isolation else None
        self.files = Metrics.counter(NAMESPACE, "extract.files")
        self.docs = Metrics.counter(NAMESPACE, "extract.docs")
        self.bar = Progress("extract", "files")
        self.bar.enabled = self.progress

    def teardown(self):
        if getattr(self, "child", None) is not None:
            self.child.close()

    def process(self, item: SourceItem):
        self.files.inc()
        self.bar.tick()
        docs, drops = [], []
        for out in isolate.extract_all(self.kinds, self.child, item, self.limits[item.source]):
            (docs if isinstance(out, Document) else drops).append(out)
        for doc in docs:
            self.docs.inc()
            yield doc
        if docs:
            yield beam.pvalue.TaggedOutput("files", FileOutcome(item.source, item.uri, "kept", "", "", len(docs)))
            for d in drops:  # parts of a kept file skipped on purpose (e.g. a zip member)
                yield beam.pvalue.TaggedOutput("parts", (item.source, d.uri or item.uri, d.rule))
        else:
            first = drops[0] if drops else Dropped("no_documents", "the file produced no text")
            yield beam.pvalue.TaggedOutput(
                "files", FileOutcome(item.source, item.uri, "dropped", first.rule, first.detail, 0))


class ExtractResult(NamedTuple):
    docs: beam.PCollection
    files: beam.PCollection  # FileOutcome (kept / dropped)
    failed: beam.PCollection  # Reject (list and extract failures)
    events: beam.PCollection


class ListAndExtract(beam.PTransform):
    def __init__(self, sources, progress: bool = True, timeout: float | None = None,
                 memory_mb: float | None = None, isolation: bool = True):
        super().__init__()
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
        extract_fn = _ExtractFn(self.sources, self.progress, self.timeout, self.memory_mb, self.isolation)
        extracted = items | "Extract" >> beam.ParDo(extract_fn).with_outputs(
            "files", "parts", main="docs").with_exception_handling(
                main_tag="docs", dead_letter_tag="failed", timeout=None if self.isolation else self.timeout)
        extract_failed = extracted["failed"] | "ExtractRejects" >> beam.Map(reject_from_failure("extract"))
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
