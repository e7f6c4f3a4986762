"""The 3GPP reader on the real specs of ../shared/corpus/specs (skipped when absent).

The expected clause list of a Word spec comes from the document itself, independently
of the reader: its table of contents (``toc N`` paragraphs, "5.1.3<tab>QPSK<tab>17").
"""
from __future__ import annotations

import html
import re
import zipfile

import pytest

from conftest import corpus_file
from telecom_etl.extractors.base import SourceItem
from telecom_etl.extractors.spec import SpecSource
from telecom_etl.manifest import SourceConfig
from telecom_etl.record import Document

pytestmark = pytest.mark.corpus

_CACHE = {}


def extract(name, **options):
    key = (name, tuple(sorted(options.items())))
    if key not in _CACHE:
        path = corpus_file("specs", name)
        src = SpecSource(SourceConfig(name="specs", kind="3gpp", paths=["/"], options=options))
        _CACHE[key] = [d for d in src.extract(SourceItem("specs", "3gpp", path)) if isinstance(d, Document)]
    return _CACHE[key]


def toc_entries(name):
    """(number, title) of every numbered Contents entry, from the raw XML."""
    with zipfile.ZipFile(corpus_file("specs", name)) as zf:
        xml = zf.read("word/document.xml").decode("utf-8")
    out = []
    for para in re.findall(r"<w:p[ >].*?</w:p>", xml, re.S):
        if not re.search(r'<w:pStyle w:val="(?:TOC|toc ?)\d"', para) or "<m:oMath" in para:
            continue  # (an entry whose title holds an equation: its text here would lack the math)
        tokens = re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>|<w:(tab)/>", para)
        text = "".join("\t" if tab else t for t, tab in tokens)
        parts = [p.strip() for p in text.split("\t") if p.strip()]
        if len(parts) >= 2 and re.fullmatch(r"\d+[A-Za-z]?(?:\.\d+[A-Za-z]?)*", parts[0]):
            out.append((parts[0], html.unescape(" ".join(parts[1].split()))))
    return out


def headings(text):
    return [line for line in text.splitlines() if re.match(r"#{1,6} ", line)]


EXPECTED = {
    "38211-i10.docx": ("38.211", "TS", "18.1.0", 18, "RAN1", "2023-12", "NR; Physical channels and modulation"),
    "21905-h20.docx": ("21.905", "TR", "17.2.0", 17, "SA", None, "Vocabulary for 3GPP Specifications"),
    "23503-i40.docx": ("23.503", "TS", "18.4.0", 18, "SA2", "2023-12", None),
    "29274-h70.docx": ("29.274", "TS", "17.7.0", 17, "CT4", None, None),
    "29274-j60.docx": ("29.274", "TS", "19.6.0", 19, "CT4", "2026-03", None),
    "24301-d80_open5gs-excerpt.docx": ("24.301", "TS", "13.8.0", 13, "CT1", None, "3GPP TS 24.301"),
    "PHY_138.201_v19.00.00.pdf": ("38.201", "TS", "19.0.0", 19, "RAN1", "2026-01",
                                  "5G; NR; Physical layer; General description"),
    "SDAP_137.324_v19.00.00.pdf": ("37.324", "TS", "19.0.0", 19, "RAN2", "2025-10", None),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_metadata(name):
    (doc,) = extract(name)
    number, spec_type, version, release, wg, date, title = EXPECTED[name]
    assert (doc.spec_number, doc.spec_type, doc.spec_version, doc.spec_release, doc.working_group) == (
        number, spec_type, version, release, wg)
    assert doc.spec_series == number[:2] and "metadata_conflicts" not in doc.extra
    if date:
        assert doc.date == date
    if title:
        assert doc.title == title
    assert doc.title and doc.extra["metadata_source"] in ("cover", "first_page", "file_name")


def test_the_excerpt_without_cover_degrades_to_its_file_name():
    (doc,) = extract("24301-d80_open5gs-excerpt.docx")
    assert doc.extra["metadata_source"] == "file_name" and doc.date is None
    assert headings(doc.text)[:2] == ["# 8 Message functional definitions and contents", "## 8.1 Overview"]


@pytest.mark.parametrize("name", ["38211-i10.docx", "29274-j60.docx", "23503-i40.docx", "21905-h20.docx"])
def test_every_clause_heading_is_kept_in_order(name):
    (doc,) = extract(name)
    got = [h.split(" ", 1)[1] for h in headings(doc.text)]
    expected = [f"{n} {t}" for n, t in toc_entries(name) if t.lower() not in ("void", "(void)")]
    assert len(expected) >= 5
    # the Contents list and the body agree: each entry appears, in the same order
    positions = [got.index(e) for e in expected if e in got]
    missing = [e for e in expected if e not in got]
    assert not missing, missing[:10]
    assert positions == sorted(positions)


@pytest.mark.parametrize("name", ["38211-i10.docx", "29274-j60.docx", "29274-h70.docx", "23503-i40.docx",
                                  "24301-d80_open5gs-excerpt.docx", "21905-h20.docx"])
def test_no_table_is_silently_dropped(name):
    (doc,) = extract(name)
    e = {k: int(v) for k, v in doc.extra.items() if v.isdigit()}
    rendered = sum(1 for line in doc.text.splitlines() if re.fullmatch(r"\|(?:---\|)+", line))
    accounted = e["n_tables"] - e.get("tables_single_cell", 0) - e.get("tables_empty", 0) - e.get("removed_tables", 0)
    assert rendered == accounted and rendered > 0


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_no_boilerplate_left(name):
    (doc,) = extract(name)
    for junk in ("Copyright Notification", "Postal address", "All rights reserved", "650 Route des Lucioles",
                 "has been produced by the 3rd Generation Partnership Project", "PAGEREF", "EMBED ",
                 "Intellectual Property Rights", "ETSI TS 1"):
        assert junk not in doc.text, junk
    assert not re.search(r"^#+ (?:[A-Z] )?Change history", doc.text, re.M | re.I)
    assert not re.search(r"^Contents$", doc.text, re.M)
    assert not re.search(r"^#+ \S+ \(?void\)?$", doc.text, re.M | re.I)


def test_ts_38211_equations_render_as_latex():
    (doc,) = extract("38211-i10.docx")
    e = doc.extra
    assert int(e["n_equations"]) > 2500 and int(e["n_equations_display"]) > 800
    assert doc.text.count("$$") >= 2 * int(e["n_equations_display"])
    # OLE Equation.3 / MathType objects: 799 as LaTeX, one empty object (shows nothing in Word either)
    assert e["n_equations_ole"] == "799" and e["equations_ole_empty"] == "1"
    assert e.get("equation_placeholders", "0") == "0" and "[equation]" not in doc.text
    # TS 38.211 clause 8.4.2.2.1, the S-PSS sequence, as written in the spec
    assert (r"$$\begin{aligned}d_{\text{S-PSS}}\left( n \right)&=1-2x\left( m \right) \\ "
            r"m&=\left( n+22+43N_{I\text{D,2}}^{\text{SL}} \right)\text{ mod }127 \\ 0&\le n<127\end{aligned}$$"
            ) in doc.text
    assert r"$x\left( i+7 \right)=\left( x\left( i+4 \right)+x\left( i \right) \right)\text{ mod }2$" in doc.text


def test_asn1_stays_verbatim_in_a_fence():
    (doc,) = extract("29274-j60.docx")
    block = re.search(r"```asn1\n(.*?)\n```", doc.text, re.S)
    assert block and block.group(1).startswith("Source-ToTarget-TransparentContainer ::= OCTET STRING")


def test_two_versions_of_one_spec_keep_their_own_identity():
    (old,), (new,) = extract("29274-h70.docx"), extract("29274-j60.docx")
    assert old.spec_number == new.spec_number and (old.spec_release, new.spec_release) == (17, 19)
    assert old.id != new.id and old.text != new.text


def test_clause_records_of_a_real_spec():
    docs = extract("38211-i10.docx", granularity="clause")
    by_path = {d.clause_path: d for d in docs}
    clause = by_path["8.4.2.2.1"]
    assert clause.clause_title == "Sequence generation" and clause.extra["clause_parent"] == "8.4.2.2"
    assert clause.text.startswith("##### 8.4.2.2.1 Sequence generation\n") and "d_{\\text{S-PSS}}" in clause.text
    assert len({d.id for d in docs}) == len(docs) > 150


def test_etsi_pdfs_lose_running_headers_and_keep_the_outline():
    (doc,) = extract("SDAP_137.324_v19.00.00.pdf")
    assert int(doc.extra["removed_page_furniture"]) >= 2 * 15
    assert "3GPP TS 37.324 version 19.0.0 Release 19" not in doc.text
    heads = headings(doc.text)
    assert heads[0] == "# 1 Scope" and "### 6.3.8 PQFI" in heads
    assert "| Bit | Description |" in doc.text
