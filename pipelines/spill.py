"""``SpillText``: records' text out of the pipeline, into spill files (:mod:`telecom_etl.spill`).

A per-record step with no shuffle in front of it, so a runner fuses it with extraction,
normalisation and filtering: a text never reaches a shuffle. Each worker gathers records
until ``batch_chars`` characters (or the bundle's end), writes their texts to one spill
file and emits them with ``text`` replaced by a reference (and near-dedup's sketch).
Records are neither kept nor dropped here: it is no stage of the report.
"""
from __future__ import annotations

from typing import Callable, List, Optional

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindows

from telecom_etl.pipelines.stage import NAMESPACE
from telecom_etl.record import Document


class _SpillFn(beam.DoFn):
    def __init__(self, folder: str, sketcher: Optional[Callable], batch_chars: int):
        self.folder, self.sketcher, self.batch_chars = folder, sketcher, batch_chars

    def setup(self):
        self.files = Metrics.counter(NAMESPACE, "spill.files")
        self.chars = Metrics.counter(NAMESPACE, "spill.chars")

    def start_bundle(self):
        self.batch: List[Document] = []
        self.size = 0

    def process(self, doc: Document):
        self.batch.append(doc)
        self.size += len(doc.text)
        if self.size >= self.batch_chars:
            yield from self._flush()

    def finish_bundle(self):
        for doc in self._flush():
            yield GlobalWindows.windowed_value(doc)

    def _flush(self):
        from telecom_etl.spill import spill

        batch, size = self.batch, self.size
        self.batch, self.size = [], 0
        if not batch:
            return []
        light = spill(batch, self.folder, self.sketcher)
        self.files.inc()
        self.chars.inc(size)
        return light


class SpillText(beam.PTransform):
    """Documents -> the same Documents, their text in spill files under ``folder``."""

    def __init__(self, folder: str, sketcher: Optional[Callable] = None, batch_chars: int = 8_000_000):
        super().__init__()
        self.folder, self.sketcher, self.batch_chars = folder, sketcher, batch_chars

    def expand(self, docs):
        return docs | "Spill" >> beam.ParDo(_SpillFn(self.folder, self.sketcher, self.batch_chars))
