"""Clause structure of 3GPP Word specs: captions are never headings, a clause path is
always a clause number, annex headings keep their identity (generated files, then the
real specs of ../shared/corpus/specs, skipped when absent)."""
from __future__ import annotations

import re

import pytest

from conftest import corpus_file
from telecom_etl.extractors.base import SourceItem
from telecom_etl.extractors.spec import SpecSource
from telecom_etl.extractors.threegpp.blocks import is_clause_number
from telecom_etl.manifest import SourceConfig
from telecom_etl.record import Document

W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def extract(path, **options):
    src = SpecSource(SourceConfig(name="specs", kind="3gpp", paths=["/"], options=options))
    return [d for d in src.extract(SourceItem("specs", "3gpp", str(path))) if isinstance(d, Document)]


def headings(text):
    return [line for line in text.splitlines() if re.match(r"#{1,6} ", line)]


def _outline(paragraph, level: int) -> None:
    """A direct outline level on the paragraph (as Word writes for captions in the navigation pane)."""
    from docx.oxml import parse_xml

    paragraph._p.get_or_add_pPr().append(parse_xml(f'<w:outlineLvl {W_NS} w:val="{level}"/>'))


def make_structured_spec(path) -> str:
    import docx
    from docx.enum.style import WD_STYLE_TYPE

    document = docx.Document()
    for name in ("TH", "TF", "B1"):
        document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    document.add_paragraph("Introduction", style="Heading 1")
    document.add_paragraph("The introduction comes before clause 1.")
    document.add_paragraph("4\tGeneral", style="Heading 1")
    document.add_paragraph("4.1\tMessage types", style="Heading 2")
    _outline(document.add_paragraph("Table 4.1-1: Message types", style="TH"), 0)
    table = document.add_table(rows=2, cols=2)
    for c, (head, value) in enumerate((("Type", "1"), ("Name", "ATTACH"))):
        table.cell(0, c).text, table.cell(1, c).text = head, value
    _outline(document.add_paragraph("The UE shall include this IE if it wants to send data."), 0)
    _outline(document.add_paragraph("Message type:\tATTACH ACCEPT", style="B1"), 0)
    _outline(document.add_paragraph("Figure 4.1-2: General message organisation", style="TF"), 0)
    document.add_paragraph("The body of clause 4.1 goes on after the figure.")
    _outline(document.add_paragraph("4.2\tA heading only by its outline level"), 1)
    document.add_paragraph("Text of clause 4.2.")
    document.add_paragraph("\u2013\tBWP", style="Heading 4")  # TS 38.331's unnumbered IE headings
    document.add_paragraph("The IE BWP is used to configure a bandwidth part.")
    document.add_paragraph("Annex A (informative):\tGuidelines, mainly on use of ASN.1", style="Heading 8")
    document.add_paragraph("Guidelines text.")
    document.add_paragraph("A.1\tTabular format", style="Heading 1")
    document.add_paragraph("Tabular format text.")
    document.add_paragraph("Annex B (normative):\tSecurity", style="Heading 8")
    document.add_paragraph("Security text.")
    document.save(str(path))
    return str(path)


@pytest.fixture(scope="module")
def structured(tmp_path_factory):
    path = make_structured_spec(tmp_path_factory.mktemp("structure") / "38999-i10.docx")
    return extract(path, granularity="both")


def test_captions_with_outline_levels_are_body_text_not_headings(structured):
    whole = structured[0]
    assert headings(whole.text) == [
        "# Introduction", "# 4 General", "## 4.1 Message types", "## 4.2 A heading only by its outline level",
        "#### \u2013 BWP", "# Annex A (informative): Guidelines, mainly on use of ASN.1", "## A.1 Tabular format",
        "# Annex B (normative): Security"]
    clause = next(d for d in structured[1:] if d.clause_path == "4.1")
    for kept in ("Table 4.1-1: Message types", "Figure 4.1-2: General message organisation",
                 "The UE shall include this IE", "The body of clause 4.1 goes on after the figure."):
        assert kept in clause.text  # the caption and what follows it stay in clause 4.1


def test_clause_paths_are_always_clause_numbers(structured):
    clauses = [d for d in structured if d.extra.get("granularity") == "clause"]
    assert [(d.clause_path, d.clause_title) for d in clauses] == [
        (None, "Introduction"), ("4.1", "Message types"), ("4.2", "A heading only by its outline level"),
        ("4.2", "\u2013 BWP"), ("A", "Guidelines, mainly on use of ASN.1"), ("A.1", "Tabular format"),
        ("B", "Security")]
    assert len({d.id for d in clauses}) == len(clauses)  # the unnumbered 4.2 subclause has its own id


def test_annex_headings_keep_annex_and_kind(structured):
    by_title = {d.clause_title: d for d in structured if d.extra.get("granularity") == "clause"}
    annex = by_title["Guidelines, mainly on use of ASN.1"]
    assert annex.text.startswith("# Annex A (informative): Guidelines, mainly on use of ASN.1\n")
    assert annex.extra["annex_kind"] == "informative"
    assert by_title["Tabular format"].extra["annex_kind"] == "informative"  # inherited by its subclauses
    assert by_title["Security"].extra["annex_kind"] == "normative"
    assert "annex_kind" not in by_title["Message types"].extra


SPECS = ["21905-h20.docx", "23503-i40.docx", "24301-d80_open5gs-excerpt.docx", "24380-i40.docx", "29274-h70.docx",
         "29274-j60.docx", "33180-i00.docx", "38211-i10.docx"]
_CACHE = {}


def real(name):
    if name not in _CACHE:
        _CACHE[name] = extract(corpus_file("specs", name), granularity="both")
    return _CACHE[name]


@pytest.mark.corpus
@pytest.mark.parametrize("name", SPECS)
def test_real_specs_captions_never_headings_and_clause_paths_are_numbers(name):
    docs = real(name)
    caption_heads = [h for h in headings(docs[0].text) if re.match(r"#+ (Table|Figure)[\s\u00a0]", h)]
    assert caption_heads == []
    paths = [d.clause_path for d in docs[1:] if d.clause_path is not None]
    assert paths and [p for p in paths if not is_clause_number(p)] == []


@pytest.mark.corpus
@pytest.mark.parametrize("name,annexes", [("23503-i40.docx", 4), ("29274-j60.docx", 5), ("33180-i00.docx", 12)])
def test_real_annex_headings_are_intact(name, annexes):
    docs = real(name)
    heads = [h for h in headings(docs[0].text) if re.match(r"# Annex [A-Z]{1,2} \((informative|normative)\): \S", h)]
    assert len(heads) >= annexes
    kinds = {d.clause_path: d.extra.get("annex_kind") for d in docs[1:] if d.clause_path and d.clause_path[0].isalpha()}
    assert kinds and set(kinds.values()) <= {"informative", "normative"}


@pytest.mark.corpus
def test_the_excerpts_captions_stay_in_their_clauses():
    docs = real("24301-d80_open5gs-excerpt.docx")
    text = docs[0].text
    assert text.count("Table 8.2.1.1: ATTACH ACCEPT message content") == 1
    clause = next(d for d in docs[1:] if d.clause_path == "8.2.1.1")
    assert "Table 8.2.1.1: ATTACH ACCEPT message content" in clause.text
