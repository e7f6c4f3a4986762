"""A file that is not what its source kind reads is one counted ``wrong_kind`` drop saying
what it looks like, whatever the kind: a paper PDF under ``kind: 3gpp``, a text file named
``.pdf``, a Word spec under ``kind: paper`` or ``kind: text``."""
from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from conftest import corpus_file
from telecom_etl.extractors.base import SourceItem
from telecom_etl.manifest import SourceConfig, load_manifest
from telecom_etl.record import Document
from telecom_etl.registry import SOURCES


def outcome(kind, path):
    src = SOURCES.get(kind)(SourceConfig(name="s", kind=kind, paths=["/"]))
    (out,) = list(src.extract(SourceItem("s", kind, str(path))))
    return out


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    from telecom_etl.samples import make_paper_pdf, make_spec_docx

    root = tmp_path_factory.mktemp("kinds")
    text = root / "notes.pdf"
    text.write_text("Meeting notes about the 5G core rollout.\n" * 20)
    return {"paper": make_paper_pdf(str(root / "paper.pdf")), "text": str(text),
            "spec": make_spec_docx(str(root / "38999-i10.docx"))}


@pytest.mark.parametrize("kind, name, looks", [
    ("3gpp", "paper", "looks like a PDF with no spec number"),
    ("3gpp", "text", "looks like a text file (kind text or code reads these)"),
    ("paper", "text", "looks like a text file without \\documentclass"),
    ("paper", "spec", "looks like a zip archive (kind 3gpp reads these)"),
    ("text", "paper", "looks like a PDF (kind paper or 3gpp reads these)"),
    ("text", "spec", "looks like a zip archive (kind 3gpp reads these)"),
])
def test_an_input_of_another_kind_is_one_wrong_kind_drop(inputs, kind, name, looks):
    out = outcome(kind, inputs[name])
    assert not isinstance(out, Document)
    assert out.rule == "wrong_kind" and looks in out.detail and "\n" not in out.detail


def test_inputs_of_the_right_kind_are_still_read(inputs):
    assert isinstance(outcome("3gpp", inputs["spec"]), Document)
    assert isinstance(outcome("paper", inputs["paper"]), Document)
    assert isinstance(outcome("text", inputs["text"]), Document)


@pytest.mark.corpus
def test_the_shared_papers_under_kind_3gpp_and_etsi_pdfs_still_read():
    for name in ("alfano2007_LMS-MIMO_IEEE.pdf", "Learning-Based-Power-Control-for-mmWave-Massive-MIMO-against-Jamming.pdf"):
        out = outcome("3gpp", corpus_file("papers", name))
        assert not isinstance(out, Document) and out.rule == "wrong_kind", name
    etsi = outcome("3gpp", corpus_file("specs", "PHY_138.201_v19.00.00.pdf"))
    assert isinstance(etsi, Document) and etsi.spec_number == "38.201"


def test_wrong_kinds_are_counted_drops_in_the_report(inputs, tmp_path):
    from telecom_etl.pipelines.build_pretrain import run

    manifest = tmp_path / "manifest.yaml"
    sources = [{"name": "specs", "kind": "3gpp", "paths": [inputs["paper"], inputs["text"], inputs["spec"]]},
               {"name": "papers", "kind": "paper", "paths": [inputs["text"], inputs["spec"], inputs["paper"]]}]
    manifest.write_text(json.dumps({"version": 1, "name": "kinds", "sources": sources, "dedup": {"near": False}}))
    report = run(load_manifest(str(manifest)), str(tmp_path / "out"), [], progress=False)
    for source in ("specs", "papers"):
        stage = report["stages"]["extract"]["by_source"][source]
        assert (stage["kept"], stage["failed"], stage["dropped_by_rule"]) == (1, 0, {"wrong_kind": 2})
    rows = pq.read_table(str(tmp_path / "out" / "dropped_inputs")).to_pylist()
    assert sorted(r["rule"] for r in rows) == ["wrong_kind"] * 4 and all("looks like" in r["detail"] for r in rows)
    assert report["balanced"]
