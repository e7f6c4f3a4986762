"""Deduplication stages as Beam transforms (the ranking and hashing live in filters/dedup)."""
from __future__ import annotations

import apache_beam as beam

from telecom_etl.filters.dedup.policy import choose
from telecom_etl.outcome import Dropped
from telecom_etl.pipelines.stage import DroppedRecord, StageResult, doc_event


class ExactDedup(beam.PTransform):
    """Stage ``dedup_exact``: records with the same normalised-content hash keep one representative."""

    stage = "dedup_exact"

    def expand(self, docs):
        stage = self.stage

        def pick(group):
            _, members = group
            keep, others = choose(members)
            yield keep
            for other in others:
                yield beam.pvalue.TaggedOutput("dropped", DroppedRecord(
                    stage, other, Dropped("exact_duplicate", f"same content as {keep.id}", duplicate_of=keep.id)))

        out = (docs
               | "ByHash" >> beam.Map(lambda d: (d.content_hash, d))
               | "Group" >> beam.GroupByKey()
               | "Pick" >> beam.FlatMap(pick).with_outputs("dropped", main="kept"))
        failed = docs.pipeline | "NoFailures" >> beam.Create([])
        events = ((out.kept | "KeptEvents" >> beam.Map(lambda d: doc_event(stage, d, "kept")),
                   out.dropped | "DropEvents" >> beam.Map(lambda r: doc_event(stage, r.doc, "dropped", r.why.rule)))
                  | "Events" >> beam.Flatten())
        return StageResult(out.kept, out.dropped, failed, events)
