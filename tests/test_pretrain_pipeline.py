"""build-pretrain end to end on real generated files, through a real Beam pipeline."""
from __future__ import annotations

import glob
import hashlib
import os

import pyarrow.parquet as pq
import pytest

from telecom_etl.manifest import load_manifest
from telecom_etl.pipelines.build_pretrain import run
from telecom_etl.record import PRETRAIN_SCHEMA, REJECT_SCHEMA
from telecom_etl.samples import make_code_tree, make_paper_pdf, make_spec_docx

MANIFEST = """\
version: 1
name: test
sources:
  - name: specs
    kind: 3gpp
    paths: [{root}/specs]
  - name: papers
    kind: paper
    paths: ["{root}/papers/*.pdf"]
    license: CC-BY-4.0
  - name: code
    kind: code
    paths: [{root}/code]
filters:
  profiles:
    default: [{{name: length, min_chars: 100}}]
    code: [{{name: length, min_chars: 20}}]
output:
  shard_max_mb: {shard_mb}
"""


OTHER_CLAUSES = [
    ("1", "Scope", ["The present document defines the stage 2 system architecture of the sample core network, "
                    "including the network functions, reference points and the procedures between them."]),
    ("4", "Architecture model", ["The AMF terminates the N1 and N2 interfaces, handles registration and "
                                 "mobility management, and selects the SMF that manages each PDU session. "
                                 "The UPF anchors the user plane and applies the forwarding rules it receives "
                                 "from the SMF over N4."]),
    ("5", "Procedures", ["During registration the UE sends a Registration Request to the AMF, which "
                         "authenticates the subscriber with the AUSF and retrieves the subscription data from "
                         "the UDM before it accepts the registration."]),
]


def make_inputs(root, broken=True):
    make_spec_docx(os.path.join(root, "specs", "38999-i10.docx"))
    make_spec_docx(os.path.join(root, "specs", "23998-h00.docx"), spec="23.998", version="17.0.0",
                   title="System architecture for the sample system", clauses=OTHER_CLAUSES)
    make_paper_pdf(os.path.join(root, "papers", "paper-a.pdf"))
    make_code_tree(os.path.join(root, "code"))
    if broken:
        # a zip signature and then nothing of a zip: no reader can open it
        with open(os.path.join(root, "specs", "corrupt.docx"), "wb") as fh:
            fh.write(b"PK\x03\x04" + b"\x00garbage" * 50)
        open(os.path.join(root, "papers", "empty.pdf"), "wb").close()


def run_build(tmp_path, name="out", shard_mb=64, beam_args=(), broken=True):
    root = tmp_path / "in"
    if not root.exists():
        make_inputs(str(root), broken=broken)
    path = tmp_path / "manifest.yaml"
    path.write_text(MANIFEST.format(root=root, shard_mb=shard_mb))
    out = tmp_path / name
    report = run(load_manifest(str(path)), str(out), list(beam_args), progress=False)
    return out, report


def shard_digest(folder) -> dict:
    return {os.path.basename(p): hashlib.sha256(open(p, "rb").read()).hexdigest()
            for p in sorted(glob.glob(os.path.join(folder, "*.parquet")))}


def test_build_writes_shards_rejects_and_a_balanced_report(tmp_path):
    out, report = run_build(tmp_path)
    assert report["balanced"], [c for c in report["checks"] if not c["ok"]]
    table = pq.read_table(str(out / "pretrain"))
    assert table.schema.equals(PRETRAIN_SCHEMA, check_metadata=False)
    rows = table.to_pylist()
    # two different specs, one paper, the code files (at least the Python and the C file)
    kinds = sorted(r["kind"] for r in rows)
    assert kinds.count("3gpp") == 2 and kinds.count("paper") == 1 and kinds.count("code") >= 2
    assert len({r["id"] for r in rows}) == len(rows)
    assert all(r["content_hash"] and r["n_chars"] == len(r["text"]) for r in rows)
    paper = next(r for r in rows if r["kind"] == "paper")
    assert paper["license"] == "CC-BY-4.0" and paper["page_count"] == 2

    # the corrupt docx is one counted failure with a clear reason; the empty one a counted drop
    rejects = pq.read_table(str(out / "rejects")).to_pylist()
    assert pq.read_schema(glob.glob(str(out / "rejects" / "*.parquet"))[0]).equals(REJECT_SCHEMA, check_metadata=False)
    assert [r["uri"].rsplit("/", 1)[-1] for r in rejects] == ["corrupt.docx"]
    assert rejects[0]["stage"] == "extract" and rejects[0]["error"]
    extract = report["stages"]["extract"]
    assert extract["failed"] == 1
    assert extract["by_source"]["papers"]["dropped_by_rule"] == {"empty_file": 1}
    skipped = pq.read_table(str(out / "dropped_inputs")).to_pylist()
    assert {(r["uri"].rsplit("/", 1)[-1], r["rule"]) for r in skipped if r["source"] == "papers"} == {
        ("empty.pdf", "empty_file")}
    assert len(skipped) == extract["dropped"]
    assert extract["in"] == extract["kept"] + extract["dropped"] + extract["failed"]
    # per source: the spec source saw three files, the paper source two
    assert extract["by_source"]["specs"]["in"] == 3 and extract["by_source"]["specs"]["failed"] == 1
    assert extract["by_source"]["papers"]["in"] == 2
    # the report says how each source was configured and what was skipped
    assert report["sources"]["papers"]["filters"] == ["length"]
    assert any("papers" in n and "classifier step skipped" in n for n in report["notes"])
    # rows written == documents kept by the last stage
    assert sum(report["shards"].values()) == len(rows) == report["totals"]["docs_out"]


def test_same_inputs_give_the_same_bytes_in_process_and_multi_process(tmp_path):
    out1, _ = run_build(tmp_path, "a")
    out2, _ = run_build(tmp_path, "b", beam_args=["--direct_running_mode", "multi_processing",
                                                   "--direct_num_workers", "2"])
    first = shard_digest(out1 / "pretrain")
    assert first and first == shard_digest(out2 / "pretrain")
    assert shard_digest(out1 / "rejects") == shard_digest(out2 / "rejects")


def test_rerun_into_the_same_folder_replaces_stale_shards(tmp_path):
    # tiny shard size -> several shards; then a normal run into the same folder
    out, report = run_build(tmp_path, "out", shard_mb=0.002, broken=False)
    many = sorted(os.listdir(out / "pretrain"))
    assert len(many) > 1
    (out / "pretrain" / ".tmp-left-by-a-killed-run").write_bytes(b"partial")
    out, report = run_build(tmp_path, "out", shard_mb=64, broken=False)
    assert sorted(os.listdir(out / "pretrain")) == ["part-00000-of-00001.parquet"]
    assert report["balanced"]
    assert pq.read_table(str(out / "pretrain")).num_rows == report["totals"]["docs_out"]


def test_every_dropped_record_is_written_with_its_rule(tmp_path):
    out, report = run_build(tmp_path, broken=False)
    dropped = pq.read_table(str(out / "dropped")).to_pylist() if glob.glob(str(out / "dropped" / "*.parquet")) else []
    by_rule = {}
    for st in report["doc_stages"]:
        for rule, n in report["stages"].get(st, {}).get("dropped_by_rule", {}).items():
            by_rule[(st, rule)] = by_rule.get((st, rule), 0) + n
    written = {}
    for r in dropped:
        written[(r["drop_stage"], r["drop_rule"])] = written.get((r["drop_stage"], r["drop_rule"]), 0) + 1
    assert written == by_rule


@pytest.mark.parametrize("bad", ["zero", "garbage"])
def test_a_source_of_only_bad_files_does_not_stop_the_others(tmp_path, bad):
    root = tmp_path / "in"
    make_inputs(str(root), broken=False)
    (root / "junk").mkdir()
    (root / "junk" / "a.docx").write_bytes(b"" if bad == "zero" else b"PK\x03\x04 this is not a zip at all")
    manifest = tmp_path / "m.yaml"
    manifest.write_text(MANIFEST.format(root=root, shard_mb=64) + f"""\
  # appended source
""".replace("  # appended source\n", ""))
    text = manifest.read_text().replace("filters:", f"""  - name: junk
    kind: 3gpp
    paths: [{root}/junk]
filters:""", 1)
    manifest.write_text(text)
    report = run(load_manifest(str(manifest)), str(tmp_path / "out"), [], progress=False)
    assert report["balanced"]
    junk = report["stages"]["extract"]["by_source"]["junk"]
    assert junk["in"] == 1 and junk["kept"] == 0 and junk["dropped"] + junk["failed"] == 1
    assert report["stages"]["extract"]["by_source"]["specs"]["kept"] == 2


def test_an_input_that_hangs_fails_after_the_timeout_and_the_run_goes_on(tmp_path):
    """A source kind whose parser never returns for one file (registered for this test only)."""
    import threading

    from telecom_etl.extractors.text import TextSource
    from telecom_etl.registry import SOURCES

    release = threading.Event()  # set at the end, so the stuck thread ends with the test

    @SOURCES.register("hang_on_tarpit")
    class HangingText(TextSource):
        def extract(self, item):
            if item.name == "tarpit.txt":
                release.wait(600)
            yield from super().extract(item)

    try:
        (tmp_path / "in").mkdir()
        (tmp_path / "in" / "tarpit.txt").write_text("x" * 500)
        (tmp_path / "in" / "fine.txt").write_text("The gNB schedules uplink grants for the UE. " * 10)
        manifest = tmp_path / "m.yaml"
        manifest.write_text(f"sources:\n  - name: t\n    kind: hang_on_tarpit\n    paths: [{tmp_path / 'in'}]\n"
                            "extract_timeout_s: 2\n")
        report = run(load_manifest(str(manifest)), str(tmp_path / "out"), [], progress=False)
        rejects = pq.read_table(str(tmp_path / "out" / "rejects")).to_pylist()
        assert [os.path.basename(r["uri"]) for r in rejects] == ["tarpit.txt"]
        assert "still running after 2 s (extract_timeout_s)" in rejects[0]["error"]
        assert report["totals"]["docs_out"] == 1 and report["balanced"]
    finally:
        release.set()
        del SOURCES["hang_on_tarpit"]


def test_the_command_exits_even_when_a_parser_thread_never_returns(tmp_path):
    """The hung extraction is failed after the timeout, and the process does not wait for it."""
    import subprocess
    import sys

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "tarpit.txt").write_text("x" * 500)
    (tmp_path / "in" / "fine.txt").write_text("The gNB schedules uplink grants for the UE. " * 10)
    manifest = tmp_path / "m.yaml"
    manifest.write_text(f"sources:\n  - name: t\n    kind: tarpit\n    paths: [{tmp_path / 'in'}]\n"
                        "extract_timeout_s: 1\n")
    code = f"""
import time
from telecom_etl.extractors.text import TextSource
from telecom_etl.registry import SOURCES
from telecom_etl.cli import main

@SOURCES.register("tarpit")
class Tarpit(TextSource):
    def extract(self, item):
        if item.name == "tarpit.txt":
            time.sleep(3600)
        yield from super().extract(item)

main(["build-pretrain", "--no-progress", "-m", {str(manifest)!r}, "-o", {str(tmp_path / 'out')!r}])
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "accounting: all counts add up" in proc.stdout
    rejects = pq.read_table(str(tmp_path / "out" / "rejects")).to_pylist()
    assert [os.path.basename(r["uri"]) for r in rejects] == ["tarpit.txt"]


def test_shards_load_with_hugging_face_datasets_as_trainers_do(tmp_path, monkeypatch):
    """load_dataset("parquet", ...) on OUT/pretrain: every column, scores and extra included."""
    datasets = pytest.importorskip("datasets")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    out, report = run_build(tmp_path, broken=False)
    ds = datasets.load_dataset("parquet", data_files=str(out / "pretrain" / "*.parquet"),
                               cache_dir=str(tmp_path / "hf"), split="train")
    assert ds.num_rows == report["totals"]["docs_out"]
    assert set(PRETRAIN_SCHEMA.names) <= set(ds.column_names)
    code = next(r for r in ds if r["kind"] == "code")
    extra = {e["key"]: e["value"] for e in code["extra"]}
    assert extra  # e.g. size_bytes of the file
