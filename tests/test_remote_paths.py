"""Inputs, manifest and output on an object store (``mem://``, a stand-in for gs://)."""
from __future__ import annotations

import io

import pyarrow.parquet as pq

import memfs
from telecom_etl.manifest import load_manifest
from telecom_etl.pipelines.build_pretrain import run


def test_build_pretrain_reads_and_writes_through_beam_filesystems(sample_dir):
    memfs.STORE.clear()
    memfs.upload(str(sample_dir), "mem://bucket/in")
    memfs.STORE["mem://bucket/manifest.yaml"] = b"""\
sources:
  - name: specs
    kind: 3gpp
    paths: [mem://bucket/in/specs]
  - name: papers
    kind: paper
    paths: ["mem://bucket/in/papers/*.pdf"]
filters:
  profiles:
    default: [{name: length, min_chars: 100}]
"""
    manifest = load_manifest("mem://bucket/manifest.yaml")
    report = run(manifest, "mem://bucket/out", [], progress=False)
    assert report["balanced"]
    assert report["stages"]["extract"]["kept"] == 2
    shards = [k for k in memfs.STORE if k.startswith("mem://bucket/out/pretrain/") and k.endswith(".parquet")]
    assert shards == ["mem://bucket/out/pretrain/part-00000-of-00001.parquet"]
    rows = pq.read_table(io.BytesIO(memfs.STORE[shards[0]])).to_pylist()
    assert sorted(r["kind"] for r in rows) == ["3gpp", "paper"]
    assert all(r["uri"].startswith("mem://bucket/in/") for r in rows)
    assert "mem://bucket/out/report.json" in memfs.STORE
    # nothing half-written is left behind
    assert not [k for k in memfs.STORE if ".tmp-" in k]
