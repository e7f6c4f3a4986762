"""extract_workers: several inputs extracted at once in one process, with the same output as one at a time."""
from __future__ import annotations

import os
import time

import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from telecom_etl.extractors import isolate
from telecom_etl.extractors.text import TextSource
from telecom_etl.manifest import load_manifest, manifest_digest, portable_digest
from telecom_etl.outcome import StageFailure
from telecom_etl.pipelines.build_pretrain import run
from telecom_etl.pipelines.extract import default_workers
from test_pretrain_pipeline import MANIFEST, make_inputs, shard_digest

pytestmark = pytest.mark.skipif(not isolate.available(), reason="extract_workers needs fork (isolated extraction)")


def build(tmp_path, workers: int, name: str):
    root = tmp_path / "in"
    if not root.exists():
        make_inputs(str(root), broken=True)  # with a corrupt docx and an empty PDF: failures and drops too
    path = tmp_path / "manifest.yaml"
    path.write_text(MANIFEST.format(root=root, shard_mb=64))
    manifest = load_manifest(str(path)).model_copy(update={"extract_workers": workers})
    out = tmp_path / name
    return out, run(manifest, str(out), [], progress=False)


def test_two_workers_write_the_same_bytes_and_report_as_one(tmp_path):
    out1, rep1 = build(tmp_path, 1, "one")
    out2, rep2 = build(tmp_path, 2, "two")
    assert rep1["balanced"] and rep2["balanced"]
    assert rep1["stages"]["extract"]["failed"] >= 1  # the corrupt docx went through the failure path
    for folder in ("pretrain", "rejects", "dropped"):
        assert shard_digest(out1 / folder) == shard_digest(out2 / folder), folder
    assert shard_digest(out1 / "pretrain")
    assert rep1["stages"] == rep2["stages"]
    assert rep1["totals"] == rep2["totals"] and rep1["shards"] == rep2["shards"]
    assert rep1["run_id"] == rep2["run_id"] and rep1["manifest_digest"] == rep2["manifest_digest"]


class _Slow(TextSource):
    """Text whose file named ``hang*`` never finishes and ``die*`` kills its process."""

    def extract(self, item):
        if item.name.startswith("hang"):
            time.sleep(3600)
        if item.name.startswith("die"):
            os._exit(3)
        yield from super().extract(item)


def test_a_pool_keeps_inputs_in_flight_fails_the_late_and_dead_and_replaces_their_children(tmp_path):
    from telecom_etl.manifest import SourceConfig

    names = ["hang.txt", "a.txt", "die.txt", "b.txt", "c.txt"]
    for name in names:
        (tmp_path / name).write_text(f"The gNB schedules uplink grants for the UE ({name}). " * 5)
    config = SourceConfig(name="t", kind="text", paths=[str(tmp_path)])
    kind = _Slow(config)
    items = sorted((i for i in kind.list_items() if getattr(i, "name", "") in names), key=lambda i: names.index(i.name))
    assert len(items) == len(names)
    pool = isolate.Pool({"t": kind}, memory_mb=None, size=2)
    limits = isolate.Limits(timeout_s=2, memory_mb=None)
    outcomes = {}
    try:
        for item in items:
            pool.submit(item.name, item, limits)
            assert len(pool) <= 2
            for key, outs in pool.completed(block=pool.full()):
                outcomes[key] = outs
        while len(pool):
            for key, outs in pool.completed(block=True):
                outcomes[key] = outs
    finally:
        pool.close()
    assert sorted(outcomes) == sorted(names)
    assert isinstance(outcomes["hang.txt"], StageFailure)
    assert "still running after 2 s (extract_timeout_s)" in str(outcomes["hang.txt"])
    assert isinstance(outcomes["die.txt"], StageFailure)
    assert "ended unexpectedly (exit status 3)" in str(outcomes["die.txt"])
    for name in ("a.txt", "b.txt", "c.txt"):  # the others, on the surviving and the replaced children
        assert [d.text for d in outcomes[name]][0].startswith("The gNB schedules")
        assert f"({name})" in outcomes[name][0].text


def test_default_is_the_usable_cores_in_process_and_one_elsewhere():
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert default_workers(PipelineOptions([])) == cores
    assert default_workers(PipelineOptions(["--runner", "DirectRunner"])) == cores
    assert default_workers(PipelineOptions(["--direct_running_mode", "multi_processing",
                                            "--direct_num_workers", "2"])) == 1
    assert default_workers(PipelineOptions(["--runner", "DataflowRunner"])) == 1
    assert default_workers(PipelineOptions(["--runner", "PortableRunner"])) == 1


def test_extract_workers_is_a_setting_of_the_run_not_of_the_data(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(f"sources:\n  - name: t\n    kind: text\n    paths: [{tmp_path}]\n")
    base = load_manifest(str(path))
    path.write_text(path.read_text() + "extract_workers: 3\n")
    three = load_manifest(str(path))
    assert three.extract_workers == 3 and base.extract_workers is None
    assert manifest_digest(base) == manifest_digest(three) and portable_digest(base) == portable_digest(three)
    path.write_text(path.read_text().replace("extract_workers: 3", "extract_workers: 0"))
    with pytest.raises(Exception, match="extract_workers"):
        load_manifest(str(path))


def test_in_a_beam_build_two_inputs_are_extracted_at_the_same_time(tmp_path):
    """Each of two files waits, in its extractor, until the other has started: only a run with both
    in flight at once keeps both (one at a time, the first waits until its deadline and fails)."""
    from telecom_etl.registry import SOURCES

    gate = tmp_path / "gate"
    gate.mkdir()

    @SOURCES.register("rendezvous")
    class Rendezvous(TextSource):
        def extract(self, item):
            me, other = item.name, ("b.txt" if item.name == "a.txt" else "a.txt")
            (gate / me).touch()
            while not (gate / other).exists():
                time.sleep(0.02)
            yield from super().extract(item)

    try:
        (tmp_path / "in").mkdir()
        for name in ("a.txt", "b.txt"):
            (tmp_path / "in" / name).write_text(f"The gNB schedules uplink grants for the UE ({name}). " * 10)
        manifest = tmp_path / "m.yaml"
        manifest.write_text(f"sources:\n  - name: t\n    kind: rendezvous\n    paths: [{tmp_path / 'in'}]\n"
                            "extract_timeout_s: 120\nextract_workers: 2\n")
        report = run(load_manifest(str(manifest)), str(tmp_path / "out"), [], progress=False)
        assert report["balanced"]
        assert report["stages"]["extract"]["kept"] == 2 and report["stages"]["extract"]["failed"] == 0
    finally:
        del SOURCES["rendezvous"]
