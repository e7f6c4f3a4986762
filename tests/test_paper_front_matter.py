"""Papers' front matter and personal data: authors (not IEEE grades), affiliations and funding
notes moved out of the body, e-mail addresses and phone numbers removed (filters/pii.py)."""
from __future__ import annotations

import re

import pytest

from conftest import corpus_file
from telecom_etl.extractors.base import SourceItem
from telecom_etl.extractors.paper import PaperSource, parse_byline
from telecom_etl.filters import build_filter
from telecom_etl.filters.pii import redact_pii
from telecom_etl.manifest import SourceConfig
from telecom_etl.record import Document

PAPERS = ["alfano2007_LMS-MIMO_IEEE.pdf", "Learning-Based-Power-Control-for-mmWave-Massive-MIMO-against-Jamming.pdf",
          "COMLetter_Pilot_OFDM-WLAN_dvips-type3.pdf"]
ADDRESS = re.compile(r"[\w.\-{}]+@[\w\ufffd.\-]+\.[a-z]{2,}", re.I)


def extract(name, **options):
    src = PaperSource(SourceConfig(name="papers", kind="paper", paths=["/"],
                                   options={"on_garbage_text": "flag", **options}))
    (doc,) = [d for d in src.extract(SourceItem("papers", "paper", corpus_file("papers", name)))
              if isinstance(d, Document)]
    return doc


@pytest.mark.corpus
@pytest.mark.parametrize("name", PAPERS)
def test_no_email_address_in_any_paper_record(name):
    doc = extract(name)
    assert not ADDRESS.search(doc.text), ADDRESS.search(doc.text)
    assert not any(ADDRESS.search(v) for v in doc.extra.values())
    assert int(doc.extra["pii_emails"]) >= 1  # every one of these papers prints at least one address


@pytest.mark.corpus
def test_author_lists_and_front_matter_of_the_shared_papers():
    mmwave = extract(PAPERS[1])
    assert mmwave.authors == ["Zhongcheng Xiao", "Bin Gao", "Sicong Liu", "Liang Xiao"]
    assert "Sun Yat-sen University" in mmwave.extra["affiliations"] and "Sun Yat-sen" not in mmwave.text
    assert mmwave.extra["front_notes"].startswith("This work was supported in part by the National Natural")
    assert "National Natural Science Foundation" not in mmwave.text
    assert "Zhongcheng Xiao" not in mmwave.text  # the byline is metadata
    intro = mmwave.text.split("## I. INTRODUCTION", 1)[1]
    assert intro.lstrip().startswith("With the high improvements")
    assert extract(PAPERS[0]).authors == ["Giuseppa Alfano", "Antonio De Maio"]


@pytest.mark.corpus
def test_the_pii_step_is_configurable_per_source():
    kept = extract(PAPERS[0], pii=False)
    assert ADDRESS.search(kept.text) and "pii_emails" not in kept.extra


def test_ieee_member_grades_and_markers_are_not_names():
    line = "Oscar E. Agazzi, Lifetime Fellow, IEEE, Jane Q. Doe∗, Senior Member, IEEE, and Wei Li†, Life Fellow, IEEE"
    assert parse_byline(line) == ["Oscar E. Agazzi", "Jane Q. Doe", "Wei Li"]
    assert parse_byline("Ana Silva, Student Member, IEEE, and Bo Chen, Fellow, OSA") == ["Ana Silva", "Bo Chen"]


def test_emails_brace_lists_and_phone_numbers_are_removed_and_counted():
    text = ("Authors: {anna.b, carl.d, e.f}@kit.edu and x.y@uni-ulm.de. E-mail: li@dsp.ufl.edu. "
            "Phone: (352) 392-2642. Fax: +1 352 392 0044. TS 38.211 V18.1.0 (2023-12) has 2,565 equations.")
    out, counts = redact_pii(text)
    assert counts == {"emails": 5, "phones": 2}  # the brace list is three addresses
    assert "@" not in out and "392" not in out
    assert "TS 38.211 V18.1.0 (2023-12) has 2,565 equations." in out  # versions, dates, counts stay


def test_the_pii_filter_rewrites_any_source_and_never_drops():
    doc = Document(id="x", text="Contact: jane.doe@example.org for the data set.\n", source="s", kind="text",
                   uri="file:///x.txt", content_hash="old")
    pii = build_filter({"name": "pii"})
    assert pii.apply(doc) is None
    assert "@" not in doc.text and doc.text.strip() == "for the data set."
    assert doc.extra["pii_emails"] == "1" and "pii_redacted" in doc.flags and doc.content_hash != "old"


def _first_page_pdf(label: str = "IRIS K)w|2") -> bytes:
    """A paper page with an IEEEtran drop cap ("F" two lines tall beside "UTURE ...") and, on its
    second page, a figure label in larger type of the kind that became a heading."""
    import pymupdf

    doc = pymupdf.open()
    for pno in range(2):
        page = doc.new_page(width=612, height=792)
        y = 80
        if pno == 0:
            page.insert_text((120, y), "A Sample Paper on Wireless Networks", fontsize=20)
            y += 40
            page.insert_text((72, y), "I. INTRODUCTION", fontsize=10)
            y += 16
            page.insert_text((72, y + 10), "F", fontsize=24)
            page.insert_text((90, y), "UTURE wireless networks are envisioned to serve many more", fontsize=10)
            y += 12
            page.insert_text((90, y), "terminals at higher rates than the present networks", fontsize=10)
            y += 12
        for i in range(25):
            page.insert_text((72, y), f"and every line of this paragraph continues the text number {i} here", fontsize=10)
            y += 12
        if pno == 1:
            page.insert_text((300, y + 14), label, fontsize=12)
            page.insert_text((72, y + 40), "The figure shows the received power of each terminal.", fontsize=10)
    return doc.tobytes()


def test_a_drop_cap_joins_its_word_and_its_paragraph():
    from telecom_etl.extractors.pdfdoc import pdf_to_markdown

    md = pdf_to_markdown(_first_page_pdf()).markdown
    assert "## I. INTRODUCTION\n\nFUTURE wireless networks are envisioned to serve many more terminals at" in md
    assert "\nUTURE" not in md and "\nF\n" not in md


def test_a_figure_label_in_large_type_is_no_heading():
    from telecom_etl.extractors.pdfdoc import pdf_to_markdown

    md = pdf_to_markdown(_first_page_pdf()).markdown
    assert [ln for ln in md.splitlines() if ln.startswith("#")] == ["# A Sample Paper on Wireless Networks",
                                                                      "## I. INTRODUCTION"]
    assert "## RESULTS" in pdf_to_markdown(_first_page_pdf("RESULTS")).markdown  # a real one still is


def test_a_byline_with_parenthesised_affiliation_markers():
    # the conference paper behind a repository cover page: "Edson Porto da Silva (1), Darko Zibar (1)."
    assert parse_byline("Edson Porto da Silva (1), Darko Zibar (1).") == ["Edson Porto da Silva", "Darko Zibar"]
    assert parse_byline("Ana Silva (a,b) and Bo Chen (b)") == ["Ana Silva", "Bo Chen"]


def test_the_report_counts_what_the_pii_step_removed_per_source(tmp_path):
    """A real build-pretrain run: a paper carrying three addresses (one a brace list of two) and a
    phone number, its byte-identical copy (dropped by dedup_exact, still counted: it was redacted),
    a paper without personal data, and a text source whose profile runs the pii filter."""
    import json
    import shutil

    from telecom_etl.manifest import load_manifest
    from telecom_etl.pipelines.build_pretrain import run
    from telecom_etl.pipelines.report import summary
    from telecom_etl.samples import PAPER_SECTIONS, make_paper_pdf

    papers, notes = tmp_path / "papers", tmp_path / "notes"
    contact = " Correspondence to jane.doe@example.org and {a.bell, c.dunn}@kit.edu, Phone: +49 721 608 41234."
    sections = [PAPER_SECTIONS[0], (PAPER_SECTIONS[1][0], PAPER_SECTIONS[1][1] + contact), *PAPER_SECTIONS[2:]]
    make_paper_pdf(str(papers / "contact.pdf"), sections=sections)
    shutil.copy(papers / "contact.pdf", papers / "contact-copy.pdf")
    make_paper_pdf(str(papers / "plain.pdf"), title="Uplink Power Control in Cell-Free Massive MIMO")
    notes.mkdir()
    (notes / "note.txt").write_text("The data set of drive tests is described in the appendix. "
                                    "Contact: ops@operator.example.net for access to the raw traces.\n")
    manifest = tmp_path / "m.yaml"
    manifest.write_text(f"sources:\n  - {{name: papers, kind: paper, paths: [{papers}]}}\n"
                        f"  - {{name: notes, kind: text, paths: [{notes}], filter_profile: notes}}\n"
                        "filters:\n  profiles:\n    default: [{name: length, min_chars: 10}]\n"
                        "    notes: [{name: pii}]\n")
    out = tmp_path / "out"
    report = run(load_manifest(str(manifest)), str(out), [], progress=False)
    assert report["balanced"] and report["stages"]["dedup_exact"]["dropped"] == 1
    want = {"records": 3, "emails": 7, "phones": 2,
            "by_source": {"papers": {"records": 2, "emails": 6, "phones": 2},
                          "notes": {"records": 1, "emails": 1, "phones": 0}}}
    assert report["pii"] == want
    assert json.loads((out / "report.json").read_text())["pii"] == want
    assert ("pii: 3 records redacted, 7 e-mail addresses and 2 phone numbers removed "
            "(notes: 1/1/0, papers: 2/6/2 records/e-mails/phones)") in summary(report)
    card = (out / "README.md").read_text()
    assert "## Personal data" in card and "| `papers` | 2 | 6 | 2 |" in card, card[-1500:]
