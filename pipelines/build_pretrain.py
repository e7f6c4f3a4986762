"""``build-pretrain``: manifest -> extract -> normalise -> filter -> dedup -> Parquet shards.

This module only composes stages; each stage's logic lives in extractors/, filters/
and core. Outputs under ``OUT``:

* ``pretrain/part-NNNNN-of-MMMMM.parquet``: kept records (:data:`PRETRAIN_SCHEMA`)
* ``dropped/``: records dropped on purpose, with stage, rule and detail
* ``rejects/``: inputs and records that failed, with stage and error
* ``dropped_inputs/``: input files skipped on purpose (empty, binary, excluded), with the rule
* ``_stats/``: accounting events and written files (read back into ``report.json``)
"""
from __future__ import annotations

from typing import List, Optional

import apache_beam as beam
import pyarrow as pa

from telecom_etl import io
from telecom_etl.manifest import Manifest
from telecom_etl.normalize import normalize
from telecom_etl.pipelines.dedup import ExactDedup, NearDedup, SpecVersionDedup
from telecom_etl.pipelines.extract import ListAndExtract
from telecom_etl.pipelines.spill import SpillText
from telecom_etl.pipelines.stage import DocStage, DroppedRecord, WriteEvents
from telecom_etl.pipelines.write import WriteJson, WriteShards, remove_stale, shard_entry
from telecom_etl.record import PRETRAIN_SCHEMA, REJECT_SCHEMA, Document, Reject
from telecom_etl.spill import SPILL_FOLDER

#: Document stages in order; each one's input is the previous one's kept output.
DOC_STAGES: List[str] = ["extract_docs", "normalize", "filter", "dedup_exact", "dedup_version",
                         "dedup_near"]

DROPPED_SCHEMA = pa.schema(
    list(PRETRAIN_SCHEMA)
    + [("drop_stage", pa.string()), ("drop_rule", pa.string()), ("drop_detail", pa.string()),
       ("duplicate_of", pa.string())],
    metadata={b"telecom_etl.schema": b"dropped"},
)


DROPPED_INPUT_SCHEMA = pa.schema(
    [("source", pa.string()), ("uri", pa.string()), ("stage", pa.string()), ("rule", pa.string()),
     ("detail", pa.string())],
    metadata={b"telecom_etl.schema": b"dropped_inputs"},
)


def dropped_row(rec: DroppedRecord) -> dict:
    row = rec.doc.to_row()
    row.update(drop_stage=rec.stage, drop_rule=rec.why.rule, drop_detail=rec.why.detail,
               duplicate_of=rec.why.duplicate_of)
    return row


def decontamination_row(doc: Document) -> dict:
    """What the decontaminate filter did to one record (read back into the report and the card)."""
    if "benchmark_redacted" in doc.extra:
        action = "redacted"
    else:
        action = "flagged" if "benchmark_overlap" in doc.flags else "dropped"
    spans = [s for s in doc.extra.get("benchmark_redacted", "").split(",") if s]
    return {"id": doc.id, "source": doc.source, "uri": doc.uri, "items": doc.extra["benchmark_matches"].split(","),
            "action": action, "removed_spans": spans,
            "removed_chars": int(doc.extra.get("benchmark_redacted_chars") or 0)}


def pii_counts(doc: Document):
    """(source, (records, e-mail addresses, phone numbers)) of one record the PII step redacted."""
    return doc.source, (1, int(doc.extra.get("pii_emails") or 0), int(doc.extra.get("pii_phones") or 0))


def _sum_counts(rows) -> tuple:
    return tuple(sum(col) for col in zip((0, 0, 0), *rows))


def pii_row(kv) -> dict:
    source, (records, emails, phones) = kv
    return {"source": source, "records": records, "emails": emails, "phones": phones}


class _FilterFn:
    """Per-source filter chains (the manifest's profiles), built once per worker."""

    def __init__(self, manifest: Manifest):
        self.manifest = manifest

    def __call__(self):
        from telecom_etl.filters import FilterChain, build_filter

        chains = {s.name: FilterChain([build_filter(spec) for spec in self.manifest.profile_for(s)])
                  for s in self.manifest.sources}

        def apply(doc: Document):
            doc, dropped = chains[doc.source].apply(doc)
            return dropped if dropped is not None else doc

        return apply


def build(pipeline: beam.Pipeline, manifest: Manifest, output: str, progress: bool = True,
          run_id: Optional[str] = None) -> None:
    """Add the whole build-pretrain graph to ``pipeline``; ``run_id`` goes into every shard's metadata."""
    out = manifest.output
    shard_bytes = int(out.shard_max_mb * 1024 * 1024)

    extracted = pipeline | "ListAndExtract" >> ListAndExtract(
        manifest.sources, progress=progress, timeout=manifest.extract_timeout_s,
        memory_mb=manifest.extract_memory_mb, isolation=manifest.extract_isolation,
        workers=manifest.extract_workers)
    normalized = extracted.docs | "Normalize" >> DocStage("normalize", lambda: normalize, progress)
    filtered = normalized.kept | "Filter" >> DocStage("filter", _FilterFn(manifest), progress)
    stages = [normalized, filtered]
    near_dedup = None
    if manifest.dedup.near:
        near_dedup = NearDedup.from_config(manifest.dedup, stats_path=io.join(output, "_stats", "dedup.json"),
                                           index_path=io.join(output, "dedup_index"))
        near_dedup.run_id = run_id
    # the text leaves here, before any shuffle (fused with extract, normalise and filter): the dedup
    # stages and the shard writers' grouping move light records, the writers read the text back
    kept = filtered.kept | "SpillText" >> SpillText(io.join(output, SPILL_FOLDER),
                                                    near_dedup.sketcher() if near_dedup is not None else None)
    if manifest.dedup.exact:
        exact = kept | "DedupExact" >> ExactDedup()
        stages.append(exact)
        kept = exact.kept
    if manifest.dedup.spec_policy != "none":
        versions = kept | "DedupSpecVersion" >> SpecVersionDedup(manifest.dedup.spec_policy)
        stages.append(versions)
        kept = versions.kept
    if near_dedup is not None:
        near = kept | "DedupNear" >> near_dedup
        stages.append(near)
        kept = near.kept

    shards = []
    if near_dedup is not None and near_dedup.index_written is not None:
        shards.append(near_dedup.index_written)  # listed, so a re-run's stale index shards are removed
    shards.append(kept | "WritePretrain" >> WriteShards(
        io.join(output, "pretrain"), "part", PRETRAIN_SCHEMA, Document.to_row, key=lambda d: d.id,
        size=lambda d: len(d.text), shard_max_bytes=shard_bytes, row_group_rows=out.row_group_rows,
        compression=out.compression, run_id=run_id))

    failed = (extracted.failed, *[s.failed for s in stages]) | "AllFailed" >> beam.Flatten()
    shards.append(failed | "WriteRejects" >> WriteShards(
        io.join(output, "rejects"), "rejects", REJECT_SCHEMA, Reject.to_row,
        key=lambda r: f"{r.stage}\x00{r.source}\x00{r.uri}\x00{r.id or ''}", size=lambda r: len(r.error) + 200,
        shard_max_bytes=shard_bytes, compression=out.compression, run_id=run_id))

    # input files skipped on purpose (binary, empty, excluded...): listed one by one, always
    skipped = extracted.files | "SkippedInputs" >> beam.Filter(lambda f: f.outcome == "dropped")
    shards.append(skipped | "WriteDroppedInputs" >> WriteShards(
        io.join(output, "dropped_inputs"), "dropped_inputs", DROPPED_INPUT_SCHEMA,
        lambda f: {"source": f.source, "uri": f.uri, "stage": "extract", "rule": f.rule, "detail": f.detail},
        key=lambda f: f"{f.source}\x00{f.uri}", size=lambda f: len(f.uri) + len(f.detail) + 100,
        shard_max_bytes=shard_bytes, compression=out.compression, run_id=run_id))

    if out.write_dropped:
        dropped = tuple(s.dropped for s in stages) | "AllDropped" >> beam.Flatten()
        shards.append(dropped | "WriteDropped" >> WriteShards(
            io.join(output, "dropped"), "dropped", DROPPED_SCHEMA, dropped_row,
            key=lambda r: f"{r.stage}\x00{r.doc.id}", size=lambda r: len(r.doc.text),
            shard_max_bytes=shard_bytes, row_group_rows=out.row_group_rows, compression=out.compression,
            run_id=run_id))
    (shards | "AllShards" >> beam.Flatten()
     | "ShardNames" >> beam.Map(lambda pr: [shard_entry(pr[0]), pr[1]])
     | "WriteShardList" >> WriteJson(io.join(output, "_stats", "files.json")))

    # benchmark items found in the corpus (redacted, dropped or flagged by the decontaminate filter)
    (
        (filtered.kept | "Flagged" >> beam.Filter(lambda d: "benchmark_matches" in d.extra),
         filtered.dropped | "DroppedDocs" >> beam.Map(lambda r: r.doc)
         | "Contaminated" >> beam.Filter(lambda d: "benchmark_matches" in d.extra))
        | "AllMatched" >> beam.Flatten()
        | "MatchRows" >> beam.Map(decontamination_row)
        | "WriteMatches" >> WriteJson(io.join(output, "_stats", "decontamination.json"), sort_key=lambda r: r["id"]))

    # what the PII step removed, per source: every record leaves once (kept at the end or dropped by a stage)
    (
        (kept, *[s.dropped | f"PiiDropped{i}" >> beam.Map(lambda r: r.doc) for i, s in enumerate(stages)])
        | "AllLeaving" >> beam.Flatten()
        | "Redacted" >> beam.Filter(lambda d: "pii_redacted" in d.flags)
        | "PiiCounts" >> beam.Map(pii_counts)
        | "SumPii" >> beam.CombinePerKey(_sum_counts)
        | "PiiRows" >> beam.Map(pii_row)
        | "WritePii" >> WriteJson(io.join(output, "_stats", "pii.json"), sort_key=lambda r: r["source"]))

    events = (extracted.events, *[s.events for s in stages]) | "AllEvents" >> beam.Flatten()
    events | "WriteEvents" >> WriteEvents(output)


OUTPUT_FOLDERS = ("pretrain", "rejects", "dropped", "dropped_inputs", "dedup_index")
#: everything a run owns in OUT, committed together (see telecom_etl.runfolder)
RUN_ENTRIES = OUTPUT_FOLDERS + ("_stats", "plots", "report.json", "README.md", "report.html")


def configuration(manifest: Manifest, output: str) -> dict:
    """What the report says about how the run was configured, including what was skipped and why."""
    import json

    sources, notes = {}, []
    for s in manifest.sources:
        names = [spec.name for spec in manifest.profile_for(s)]
        profile = s.filter_profile or (s.kind if s.kind in manifest.filters.profiles else "default")
        sources[s.name] = {"kind": s.kind, "paths": s.paths_as_written, "license": s.license, "filter_profile": profile,
                           "filters": names, "options": manifest.shown(s.options)}
        if "fasttext_classifier" not in names:
            notes.append(f"source {s.name}: no fastText classifier in profile '{profile}': classifier step skipped")
        if not names:
            notes.append(f"source {s.name}: profile '{profile}' has no filters: every record passes the filter stage")
    if not manifest.dedup.exact:
        notes.append("dedup.exact is off: exact duplicates are kept")
    if not manifest.dedup.near:
        notes.append("dedup.near is off: near duplicates are kept")
    extra = {"sources": sources, "dedup_config": manifest.shown(manifest.dedup.model_dump(mode="json")), "notes": notes}
    matches_path = io.join(output, "_stats", "decontamination.json")
    if io.exists(matches_path):
        rows = json.loads(io.read_bytes(matches_path))
        extra["decontamination"] = decontamination_summary(rows)
    pii_path = io.join(output, "_stats", "pii.json")
    if io.exists(pii_path):
        extra["pii"] = pii_summary(json.loads(io.read_bytes(pii_path)))
    loaded = benchmarks_loaded(manifest)
    if loaded:  # what decontamination was given, also when it found nothing
        extra.setdefault("decontamination", decontamination_summary([]))["benchmarks"] = loaded
    dedup_stats = io.join(output, "_stats", "dedup.json")
    if manifest.dedup.near and io.exists(dedup_stats):
        extra["dedup"] = json.loads(io.read_bytes(dedup_stats))
    return extra


def benchmarks_loaded(manifest: Manifest) -> dict:
    """Benchmark file name -> items the decontaminate filters of the manifest loaded from it."""
    from telecom_etl.filters.decontaminate import cached_benchmark

    out = {}
    for source in manifest.sources:
        for spec in manifest.profile_for(source):
            if spec.name != "decontaminate":
                continue
            paths, fields = spec.params.get("benchmarks") or [], spec.params.get("fields") or ("question",)
            for path in [paths] if isinstance(paths, str) else paths:
                out[path.rstrip("/").rsplit("/", 1)[-1]] = len(cached_benchmark(
                    path, tuple([fields] if isinstance(fields, str) else fields)))
    return dict(sorted(out.items()))


def decontamination_summary(rows: List[dict]) -> dict:
    """Documents and benchmark items matched, by action, with the characters redacted."""
    items: dict = {}
    actions: dict = {}
    for row in rows:
        action = row.get("action", "dropped")
        actions[action] = actions.get(action, 0) + 1
        for item in row["items"]:
            items[item] = items.get(item, 0) + 1
    return {"documents": len(rows), "benchmark_items": len(items), "items": dict(sorted(items.items())),
            "by_action": dict(sorted(actions.items())),
            "chars_redacted": sum(row.get("removed_chars", 0) for row in rows),
            "spans_redacted": sum(len(row.get("removed_spans") or []) for row in rows),
            "documents_matched": rows[:50]}


def pii_summary(rows: List[dict]) -> dict:
    """Records redacted by the PII step and e-mail addresses / phone numbers removed, in all and per source."""
    total = {k: sum(row[k] for row in rows) for k in ("records", "emails", "phones")}
    return {**total, "by_source": {row["source"]: {k: row[k] for k in ("records", "emails", "phones")}
                                   for row in rows}}


def run(manifest: Manifest, output: str, beam_args: List[str], progress: bool = True) -> dict:
    """Run the pipeline to completion and return the report (also written to OUT/report.json).

    Everything is written into a staging folder of ``output`` and committed at the end
    (:class:`telecom_etl.runfolder.RunFolder`): until then ``output`` holds the previous run, whole.
    """
    import sys

    from telecom_etl.card import write_card
    from telecom_etl.manifest import manifest_digest, portable_digest
    from telecom_etl.pipelines.options import pipeline_options, without_graph_type_check
    from telecom_etl.pipelines.report import build_report, write_report
    from telecom_etl.pipelines.stage import Progress
    from telecom_etl.runfolder import RunFolder, run_id
    from telecom_etl.uris import shown_location

    options = pipeline_options(beam_args)
    without_graph_type_check(options, beam_args)  # unless a type-check flag was given
    Progress.enabled = progress
    rid = run_id("build-pretrain", portable_digest(manifest))
    with RunFolder(output, RUN_ENTRIES, "build-pretrain") as folder:
        for note in folder.notes:
            print(f"telecom-etl: note: {note}", file=sys.stderr, flush=True)
        staging = folder.staging
        pipeline = beam.Pipeline(options=options)
        build(pipeline, manifest, staging, progress=progress, run_id=rid)
        result = pipeline.run()
        result.wait_until_finish()
        io.remove_tree(io.join(staging, SPILL_FOLDER))  # the texts are in the shards now
        remove_stale(staging, OUTPUT_FOLDERS)
        # the manifest and the output as the user named them when relative, else by their last name
        # (no path of this machine in what may be published), unless a source asks for absolute_uris
        shown = (lambda p: p) if manifest.absolute_paths else shown_location
        report = build_report(staging, DOC_STAGES, manifest_path=shown(manifest.path),
                              manifest_digest=manifest_digest(manifest), extra=configuration(manifest, staging))
        report.update(output=shown(output), run_id=rid)
        write_report(staging, report)
        write_card(staging, report, manifest, shown_as=shown(output))  # OUT/README.md, OUT/plots/, OUT/report.html
        folder.commit(rid)
    return report
