"""The format preference of the dedup representative policy, end to end in build-pretrain:
a paper's LaTeX source is kept over its PDF, a spec's Word file over the ETSI PDF of the same
version; the dropped record names the kept one in ``duplicate_of``."""
from __future__ import annotations

import os
import re
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from telecom_etl.manifest import load_manifest
from telecom_etl.pipelines.build_pretrain import run
from telecom_etl.samples import DEFAULT_CLAUSES, make_spec_docx
from test_paper_pdfs import BODY, REFERENCES, TITLE, make_ieee_paper_pdf
from test_spec_inputs import make_etsi_pdf


def _table(folder):
    tables = [pq.read_table(os.path.join(folder, f)) for f in sorted(os.listdir(folder)) if f.endswith(".parquet")]
    return pa.concat_tables(tables).to_pylist() if tables else []


def _latex(text: str) -> str:
    return re.sub(r"([%&$#_])", r"\\\1", text)


def latex_of_paper(body=BODY, title=TITLE) -> str:
    """The LaTeX source of the generated IEEE paper (the same sections and paragraphs)."""
    out = [r"\documentclass[journal]{IEEEtran}", r"\begin{document}", rf"\title{{{_latex(title)}}}",
           r"\author{Alice~Marconi, Bob~Shannon, and Carol~Hertz}", r"\maketitle"]
    for kind, text in body:
        if kind == "h2":
            name = re.sub(r"^[IVX]+\.\s*", "", text).title()
            out.append(rf"\section{{{_latex(name)}}}")
        elif kind == "h3":
            name = re.sub(r"^[A-Z]\.\s*", "", text)
            out.append(rf"\subsection{{{_latex(name)}}}")
        else:
            out.append(_latex(text) + "\n")
    out.append(r"\begin{equation} R = \log_2(1 + \gamma) \end{equation}")
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"


@pytest.mark.skipif(shutil.which("pandoc") is None, reason="pandoc is not installed (scripts/setup.sh installs it)")
def test_mixed_folder_keeps_the_latex_source_over_the_pdf_of_the_same_paper(tmp_path):
    papers = tmp_path / "papers"
    tree = papers / "2403.01234"
    tree.mkdir(parents=True)
    (tree / "main.tex").write_text(latex_of_paper())
    make_ieee_paper_pdf(str(papers / "2403.01234v1.pdf"), references=REFERENCES)  # the same paper as PDF
    # a copy whose title was edited: not the same title, so only near-dedup can match it
    make_ieee_paper_pdf(str(papers / "accepted.pdf"), references=REFERENCES, title=TITLE + " (Accepted)")
    other_body = [(k, t.replace("pilot", "beam").replace("Pilot", "Beam")) if k == "p" else (k, t)
                  for k, t in BODY]
    other = [("h2", "I. INTRODUCTION"), ("p", "Reconfigurable intelligent surfaces steer the reflected wave "
              "towards the users, a passive way of shaping the channel itself that needs no radio chain at all.")]
    make_ieee_paper_pdf(str(papers / "other.pdf"), body=other + other_body[2:4], title="A Different Paper on Surfaces")
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(f"version: 1\nsources:\n  - name: papers\n    kind: paper\n    paths: [{papers}]\n"
                        f"    license: CC-BY-4.0\ndedup: {{exact: true, near: true, threshold: 0.8}}\n")
    report = run(load_manifest(str(manifest)), str(tmp_path / "out"), [], progress=False)
    assert report["balanced"], [c for c in report["checks"] if not c["ok"]]
    kept = {os.path.basename(r["uri"]): r for r in _table(tmp_path / "out" / "pretrain")}
    dropped = {os.path.basename(r["uri"]): r for r in _table(tmp_path / "out" / "dropped")}
    assert sorted(kept) == ["main.tex", "other.pdf"], (sorted(kept), sorted(dropped))
    assert kept["main.tex"]["arxiv_id"] == "2403.01234"
    source_id = kept["main.tex"]["id"]
    pdf = dropped["2403.01234v1.pdf"]  # same title: the PDF rendering of the paper
    assert (pdf["drop_stage"], pdf["drop_rule"], pdf["duplicate_of"]) == ("dedup_version", "preferred_format",
                                                                          source_id)
    assert pdf["drop_detail"] == f"{TITLE}: the pdf rendering; the latex rendering of the same paper is kept"
    # near duplicates: the PDF is longer and was listed first, the source is still the representative
    accepted = dropped["accepted.pdf"]
    assert (accepted["drop_stage"], accepted["duplicate_of"]) == ("dedup_near", source_id)
    assert "$$R = \\log_2(1 + \\gamma) \\tag{1}$$" in kept["main.tex"]["text"]


def test_word_rendering_is_kept_over_the_etsi_pdf_of_the_same_version(tmp_path):
    specs = tmp_path / "specs"
    specs.mkdir()
    make_spec_docx(str(specs / "38999-i10.docx"), spec="38.999", version="18.1.0")
    make_etsi_pdf(str(specs / "ts_138999v180100p.pdf"))  # ETSI TS 138 999 V18.1.0
    older = tmp_path / "older"
    older.mkdir()
    make_spec_docx(str(older / "38999-i00.docx"), spec="38.999", version="18.0.0", clauses=DEFAULT_CLAUSES + [
        ("5.9", "Removed later", ["A procedure of the older version that the newer one no longer has."])])
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(f"version: 1\nsources:\n  - name: specs\n    kind: 3gpp\n    paths: [{specs}, {older}]\n"
                        f"dedup: {{near: false}}\n")
    report = run(load_manifest(str(manifest)), str(tmp_path / "out"), [], progress=False)
    assert report["balanced"]
    kept = _table(tmp_path / "out" / "pretrain")
    dropped = {os.path.basename(r["uri"]): r for r in _table(tmp_path / "out" / "dropped")}
    assert [os.path.basename(r["uri"]) for r in kept] == ["38999-i10.docx"]
    word_id = kept[0]["id"]
    pdf = dropped["ts_138999v180100p.pdf"]
    assert (pdf["drop_stage"], pdf["drop_rule"], pdf["duplicate_of"]) == ("dedup_version", "preferred_format", word_id)
    assert "38.999 V18.1.0: the pdf rendering; the docx rendering of the same version is kept" == pdf["drop_detail"]
    old = dropped["38999-i00.docx"]
    assert (old["drop_rule"], old["duplicate_of"]) == ("superseded_spec_version", word_id)
    assert report["stages"]["dedup_version"]["dropped_by_rule"] == {"preferred_format": 1,
                                                                   "superseded_spec_version": 1}


def test_a_garbled_etsi_pdf_of_a_newer_version_does_not_supersede_a_clean_older_word_file(tmp_path):
    from pdf_fonts import glyph_pdf
    from test_spec_pdf_glyphs import COVER

    specs = tmp_path / "specs"
    specs.mkdir()
    make_spec_docx(str(specs / "38999-i00.docx"), spec="38.999", version="18.0.0")
    make_spec_docx(str(specs / "38999-h00.docx"), spec="38.999", version="17.0.0", clauses=DEFAULT_CLAUSES + [
        ("5.9", "Removed later", ["A procedure of the older version that the newer one no longer has."])])
    # ETSI TS 138 999 V18.1.0 whose equation glyphs have no Unicode: flagged unmapped_glyphs
    (specs / "ts_138999v180100p.pdf").write_bytes(glyph_pdf(
        COVER + [("1 Scope", b""), ("The quantity ", b"\x01\x01\x01 "), ("equals ", b"\x01")], ["xyz123"]))
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(f"version: 1\nsources:\n  - name: specs\n    kind: 3gpp\n    paths: [{specs}]\n"
                        f"dedup: {{near: false}}\n")
    report = run(load_manifest(str(manifest)), str(tmp_path / "out"), [], progress=False)
    assert report["balanced"]
    kept = _table(tmp_path / "out" / "pretrain")
    dropped = {os.path.basename(r["uri"]): r for r in _table(tmp_path / "out" / "dropped")}
    # the clean rendering stays although a newer version is there; among the clean ones the newest
    assert [os.path.basename(r["uri"]) for r in kept] == ["38999-i00.docx"], sorted(dropped)
    word_id = kept[0]["id"]
    pdf = dropped["ts_138999v180100p.pdf"]
    assert "unmapped_glyphs" in pdf["flags"]
    assert (pdf["drop_stage"], pdf["drop_rule"], pdf["duplicate_of"]) == ("dedup_version", "garbled_rendering", word_id)
    assert re.fullmatch(r"38\.999 V18\.1\.0: the pdf rendering lost \d+\.\d% of its characters as unmapped glyphs; "
                        r"the clean docx rendering of V18\.0\.0 is kept", pdf["drop_detail"]), pdf["drop_detail"]
    old = dropped["38999-h00.docx"]
    assert (old["drop_rule"], old["drop_detail"], old["duplicate_of"]) == (
        "superseded_spec_version", "38.999 V17.0.0 superseded by V18.0.0", word_id)
    assert report["stages"]["dedup_version"]["dropped_by_rule"] == {"garbled_rendering": 1,
                                                                   "superseded_spec_version": 1}
