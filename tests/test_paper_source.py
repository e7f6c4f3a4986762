"""The ``paper`` source kind: documents with metadata from PDFs, options, bad inputs."""
from __future__ import annotations

import os

import pytest

from conftest import CORPUS, corpus_file
from telecom_etl.extractors import SOURCES
from telecom_etl.extractors.base import SourceItem
from telecom_etl.extractors.paper import authors_from_front, find_doi, parse_byline, plausible_title
from telecom_etl.manifest import ManifestError, SourceConfig, load_manifest
from telecom_etl.outcome import Dropped, StageFailure
from telecom_etl.record import Document
from test_paper_pdfs import AUTHORS, DOI, TITLE, make_ieee_paper_pdf


def source(paths, options=None, license="CC-BY-4.0"):
    config = SourceConfig(name="papers", kind="paper", paths=list(paths), license=license, options=options or {})
    SOURCES["paper"].validate_options(config)
    return SOURCES["paper"](config)


def extract_all(src):
    out = []
    for item in src.list_items():
        if isinstance(item, Dropped):
            out.append((item.uri, item))
            continue
        try:
            out.extend((item.uri, x) for x in src.extract(item))
        except StageFailure as exc:
            out.append((item.uri, exc))
    return out


def test_generated_paper_document_fields(tmp_path):
    path = make_ieee_paper_pdf(str(tmp_path / "paper.pdf"), cover_page=True)
    (doc,) = [x for _, x in extract_all(source([path]))]
    assert isinstance(doc, Document)
    assert doc.kind == "paper" and doc.title == TITLE
    assert doc.authors == ["Alice Marconi", "Bob Shannon", "Carol Hertz"]
    assert doc.doi == DOI  # from the repository cover page, which is not in the text
    assert doc.page_count == 4 and doc.license == "CC-BY-4.0"
    assert doc.text.startswith(f"# {TITLE}\n\n")
    assert "Terms of use" not in doc.text
    assert "cover_page=1" in doc.extra["pdf_removed"]
    assert all(isinstance(v, str) for v in doc.extra.values())


def test_real_papers_metadata_and_garbage_pdf_fails():
    paths = [corpus_file("papers", name) for name in (
        "alfano2007_LMS-MIMO_IEEE.pdf", "Learning-Based-Power-Control-for-mmWave-Massive-MIMO-against-Jamming.pdf",
        "COMLetter_Pilot_OFDM-WLAN_dvips-type3.pdf")]
    results = {os.path.basename(uri): x for uri, x in extract_all(source(paths, license=None))}
    alfano = results["alfano2007_LMS-MIMO_IEEE.pdf"]
    assert alfano.title == "A theoretical framework for LMS MIMO communication systems performance analysis"
    assert alfano.authors == ["Giuseppa Alfano", "Antonio De Maio"]
    assert alfano.page_count == 5 and alfano.date == "2007-04-23"
    mmwave = results["Learning-Based-Power-Control-for-mmWave-Massive-MIMO-against-Jamming.pdf"]
    assert mmwave.authors == ["Zhongcheng Xiao", "Bin Gao", "Sicong Liu", "Liang Xiao"]
    assert mmwave.page_count == 6
    garbage = results["COMLetter_Pilot_OFDM-WLAN_dvips-type3.pdf"]
    assert isinstance(garbage, StageFailure)
    assert str(garbage).startswith("garbage text layer:") and "Type-3" in str(garbage)


def test_garbage_text_modes_drop_and_flag():
    path = corpus_file("papers", "COMLetter_Pilot_OFDM-WLAN_dvips-type3.pdf")
    (dropped,) = [x for _, x in extract_all(source([path], {"on_garbage_text": "drop"}))]
    assert isinstance(dropped, Dropped) and dropped.rule == "garbage_text_layer"
    (flagged,) = [x for _, x in extract_all(source([path], {"on_garbage_text": "flag"}))]
    # its Type-3 glyphs have no Unicode: the record also says how much of it is lost
    assert isinstance(flagged, Document) and flagged.flags == ["garbage_text_layer", "pii_redacted", "unmapped_glyphs"]
    assert flagged.scores["unmapped_char_share"] > 0.01 and int(flagged.extra["glyphs_unmapped"]) > 100
    assert "broken words" in flagged.extra["garbage_text_layer"]


def test_bad_inputs_are_counted_failures_or_drops(tmp_path):
    import pymupdf

    good = make_ieee_paper_pdf(str(tmp_path / "good.pdf"))
    (tmp_path / "empty.pdf").write_bytes(b"")
    (tmp_path / "notes.pdf").write_text("these are plain text notes saved with a .pdf name\n" * 10)
    (tmp_path / "corrupt.pdf").write_bytes(b"%PDF-1.5\n" + b"\x00\x01garbage" * 100)
    doc = pymupdf.open(good)
    (tmp_path / "locked.pdf").write_bytes(doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="u",
                                                      owner_pw="o"))
    results = {os.path.basename(uri): x for uri, x in extract_all(source([str(tmp_path)]))}
    assert isinstance(results["good.pdf"], Document)
    assert isinstance(results["empty.pdf"], Dropped) and results["empty.pdf"].rule == "empty_file"
    # not what kind paper reads: the same counted wrong_kind drop as under kind 3gpp or text
    assert isinstance(results["notes.pdf"], Dropped) and results["notes.pdf"].rule == "wrong_kind"
    assert "looks like a text file without \\documentclass" in results["notes.pdf"].detail
    assert str(results["corrupt.pdf"]).startswith("corrupt PDF")
    assert str(results["locked.pdf"]) == "encrypted PDF (password required)"


def test_references_option(tmp_path):
    path = make_ieee_paper_pdf(str(tmp_path / "paper.pdf"))
    (dropped,) = [x for _, x in extract_all(source([path]))]
    (kept,) = [x for _, x in extract_all(source([path], {"drop_references": False}))]
    assert "Ngo" not in dropped.text and "Ngo" in kept.text


@pytest.mark.parametrize("options, message", [
    ({"drop_refs": True}, "unknown option(s) drop_refs"),
    ({"drop_references": "yes"}, "drop_references must be true or false"),
    ({"on_garbage_text": "ignore"}, "on_garbage_text must be one of fail, drop, flag"),
    ({"arxiv_metadata": "/nonexistent/snapshot.json"}, "arxiv_metadata: no such file"),
    ({"categories": "eess.SP"}, "categories must be a non-empty list"),
    ({"categories": ["Signal Processing"]}, "is not an arXiv category"),
    ({"categories": ["eess.SP"]}, "set arxiv_metadata too"),
    ({"licenses": ["CC-BY"]}, "is not an SPDX id"),
])
def test_option_mistakes_are_one_line_manifest_errors(write_manifest, tmp_path, options, message):
    import yaml

    make_ieee_paper_pdf(str(tmp_path / "p.pdf"))
    body = yaml.safe_dump({"sources": [{"name": "papers", "kind": "paper", "paths": [str(tmp_path / "p.pdf")],
                                        "options": options}]})
    with pytest.raises(ManifestError) as info:
        load_manifest(write_manifest(body))
    assert message in str(info.value) and "sources[0].options" in str(info.value)


def test_byline_parsing():
    assert parse_byline("Giuseppa Alfano, and Antonio De Maio, Member, IEEE,") == ["Giuseppa Alfano",
                                                                                     "Antonio De Maio"]
    assert parse_byline("Zhongcheng Xiao\u2217, Bin Gao\u2020, Sicong Liu\u2021, Liang Xiao\u2217\u2021") == [
        "Zhongcheng Xiao", "Bin Gao", "Sicong Liu", "Liang Xiao"]
    assert parse_byline("J. G. Andrews, Fellow, IEEE, and H. S. Dhillon, Senior Member, IEEE") == [
        "J. G. Andrews", "H. S. Dhillon"]
    assert parse_byline("Jean-Luc Picard, \u00c9mile Durand and Sean McDonald") == [
        "Jean-Luc Picard", "\u00c9mile Durand", "Sean McDonald"]
    assert parse_byline("Conor O'Brien1, Ana Mar\u00eda L\u00f3pez2") == ["Conor O'Brien", "Ana Mar\u00eda L\u00f3pez"]
    assert parse_byline("Department of Electrical Engineering, University of Florida") == []
    assert parse_byline("Abstract\u2014We study the uplink of a massive MIMO system.") == []
    assert authors_from_front([AUTHORS, "School of Engineering, Sample University"]) == [
        "Alice Marconi", "Bob Shannon", "Carol Hertz"]


def test_doi_and_title_helpers():
    assert find_doi(None, "Digital Object Identifier 10.1109/TWC.2019.2901234.") == "10.1109/TWC.2019.2901234"
    assert find_doi("see https://doi.org/10.1016/j.phycom.2020.101234)") == "10.1016/j.phycom.2020.101234"
    assert plausible_title("pilot_revised.dvi") is None
    assert plausible_title("Microsoft Word - paper_v3.docx") is None
    assert plausible_title("Pilot Signals in OFDM Based WLANs") == "Pilot Signals in OFDM Based WLANs"


def test_items_of_a_folder_listing_are_source_items(tmp_path):
    make_ieee_paper_pdf(str(tmp_path / "a.pdf"))
    items = list(source([str(tmp_path)]).list_items())
    assert [type(i) for i in items] == [SourceItem] and items[0].uri.endswith("a.pdf")


def test_build_pretrain_counts_bad_papers_as_failures_with_reasons(tmp_path):
    """Through a real Beam pipeline: every bad PDF is one counted failure with its one-line reason."""
    import shutil

    import pymupdf
    import pyarrow.parquet as pq

    from telecom_etl.pipelines.build_pretrain import run

    papers = tmp_path / "papers"
    good = make_ieee_paper_pdf(str(papers / "good.pdf"))
    (papers / "notes.pdf").write_text("plain text notes with a .pdf name\n" * 10)
    (papers / "corrupt.pdf").write_bytes(b"%PDF-1.4\n" + b"\x00\x01garbage" * 100)
    (papers / "locked.pdf").write_bytes(pymupdf.open(good).tobytes(
        encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="u", owner_pw="o"))
    garbage = os.path.join(CORPUS, "papers", "COMLetter_Pilot_OFDM-WLAN_dvips-type3.pdf")  # optional here
    expected = {"corrupt.pdf": "corrupt PDF",
                "locked.pdf": "encrypted PDF (password required)"}
    if os.path.exists(garbage):
        shutil.copy(garbage, papers / "type3.pdf")
        expected["type3.pdf"] = "garbage text layer:"
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(f"version: 1\nsources:\n  - name: papers\n    kind: paper\n    paths: [{papers}]\n"
                        f"    license: CC-BY-4.0\n")
    report = run(load_manifest(str(manifest)), str(tmp_path / "out"), [], progress=False)
    extract = report["stages"]["extract"]["by_source"]["papers"]
    assert extract["in"] == len(expected) + 2 and extract["failed"] == len(expected) and extract["kept"] == 1
    assert extract["dropped_by_rule"] == {"wrong_kind": 1}  # notes.pdf: a text file named .pdf
    rejects = {os.path.basename(r["uri"]): r["error"] for r in pq.read_table(str(tmp_path / "out" / "rejects")).to_pylist()}
    assert sorted(rejects) == sorted(expected)
    for name, reason in expected.items():
        assert rejects[name].startswith(reason), (name, rejects[name])
