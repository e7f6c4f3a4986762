"""3GPP Word reader on generated documents: one assertion group per extraction rule."""
from __future__ import annotations

import re

import pytest

from spec_fixtures import ASN1_LINES, DISPLAY_LATEX, make_rich_spec
from telecom_etl.extractors.base import SourceItem
from telecom_etl.extractors.spec import SpecSource, parse_options
from telecom_etl.extractors.threegpp import filename as fn
from telecom_etl.extractors.threegpp.blocks import split_heading
from telecom_etl.extractors.threegpp.omml import OmmlConverter
from telecom_etl.extractors.threegpp.wg import working_group
from telecom_etl.manifest import ManifestError, SourceConfig, load_manifest
from telecom_etl.record import Document


def extract(path, **options):
    src = SpecSource(SourceConfig(name="specs", kind="3gpp", paths=["/"], options=options))
    return list(src.extract(SourceItem("specs", "3gpp", str(path))))


@pytest.fixture(scope="module")
def rich(tmp_path_factory):
    path = make_rich_spec(str(tmp_path_factory.mktemp("spec") / "38999-i10.docx"))
    docs = extract(path)
    assert len(docs) == 1 and isinstance(docs[0], Document)
    return docs[0]


def headings(text):
    return [line for line in text.splitlines() if line.startswith("#")]


def test_headings_carry_clause_numbers_in_body_order(rich):
    assert headings(rich.text) == ["# 1 Scope", "# 2 References", "# 4 General", "## 4.1 Equations",
                                   "### 4.1.1 Void", "## 4.2 Tables", "# 5 Protocol data units", "## 5.1 RRC timers"]
    # body order: each clause's paragraph sits under its heading
    text = rich.text
    assert text.index("# 4 General") < text.index("The sequence is defined by") < text.index("## 4.2 Tables")


def test_metadata_from_the_cover_page(rich):
    assert (rich.spec_number, rich.spec_type, rich.spec_version, rich.spec_release) == ("38.999", "TS", "18.1.0", 18)
    assert (rich.spec_series, rich.working_group, rich.date) == ("38", "RAN", "2024-03")
    assert rich.title == "NR; Sample physical layer procedures"
    assert rich.extra["metadata_source"] == "cover" and "metadata_conflicts" not in rich.extra


def test_equations_become_latex_and_ole_objects_a_counted_placeholder(rich):
    assert "sample power $x^{2}$ of the sample channel" in rich.text
    assert f"$${DISPLAY_LATEX}$$" in rich.text
    # the OMML copy inside the QUOTE field instruction is not text: the symbol appears once there
    assert "A quoted symbol $x^{2}$ appears once." in rich.text
    assert "where the legacy symbol [equation] is given" in rich.text
    assert rich.extra["n_equations"] == "3" and rich.extra["n_equations_display"] == "1"
    assert rich.extra["equation_placeholders"] == "1"


def test_field_codes_and_embed_junk_removed(rich):
    assert "PAGEREF" not in rich.text and "QUOTE" not in rich.text and "EMBED" not in rich.text
    assert "appears once. Text after a field code leftover." in rich.text
    assert int(rich.extra["removed_field_codes"]) >= 4


def test_tables_markdown_with_merged_cells_and_header(rich):
    table = [line for line in rich.text.splitlines() if line.startswith("|")]
    assert table == ["| Parameter | Value | Unit |", "|---|---|---|",
                     "| Bandwidth | 20 | MHz |",
                     "| Spacing | 15 | MHz |",  # the vertically merged cell repeats in each row it spans
                     "| All values are \\| examples. |  |  |"]  # the horizontal merge fills its first column
    assert rich.text.index("Table 4.2-1: Sample parameters") < rich.text.index("| Parameter")
    assert "NOTE: A boxed note." in rich.text  # a one-cell box is its content, not a 1x1 table
    assert rich.extra["n_tables"] == "4" and rich.extra["tables_single_cell"] == "2"


def test_asn1_is_a_verbatim_fenced_block(rich):
    fenced = "```asn1\n" + "\n".join(ASN1_LINES) + "\n```"
    assert fenced in rich.text  # tabs and indentation kept
    assert rich.extra["n_code_blocks"] == "1"


def test_boilerplate_removed_and_counted(rich):
    for junk in ("Copyright Notification", "Postal address", "Contents", "Foreword", "has been produced by the 3rd",
                 "Change history", "RAN#103", "3rd Generation Partnership Project", "# 3 Void"):
        assert junk not in rich.text, junk
    # an empty Void clause goes; a clause titled Void that still has content stays
    assert "### 4.1.1 Void\n\nThis clause was voided but still carries a note." in rich.text
    extra = rich.extra
    assert extra["removed_void_clauses"] == "1" and extra["removed_contents"] == "4"
    assert int(extra["removed_cover"]) >= 5 and int(extra["removed_foreword"]) == 3
    assert int(extra["removed_change_history"]) == 2 and extra["removed_tables"] == "1"


def test_each_removal_can_be_switched_off(tmp_path):
    path = make_rich_spec(str(tmp_path / "38999-i10.docx"))
    off = {name: False for name in ("cover", "contents", "foreword", "change_history", "void_clauses", "field_codes")}
    (doc,) = extract(path, strip=off)
    for kept in ("Copyright Notification", "Contents", "# Foreword", "# Annex A (informative): Change history", "RAN#103", "# 3 Void",
                 "PAGEREF"):
        assert kept in doc.text, kept
    assert not any(k.startswith("removed_") and k != "removed_field_codes" for k in doc.extra)


def test_clause_records_carry_the_clause_path_and_spec_metadata(tmp_path):
    path = make_rich_spec(str(tmp_path / "38999-i10.docx"))
    docs = extract(path, granularity="both")
    whole, clauses = docs[0], docs[1:]
    assert whole.clause_path is None
    by_path = {d.clause_path: d for d in clauses}
    assert list(by_path) == ["1", "2", "4.1", "4.1.1", "4.2", "5", "5.1"]  # clauses with own content
    eq = by_path["4.1"]
    assert eq.clause_title == "Equations" and eq.extra["clause_parent"] == "4" and eq.extra["clause_depth"] == "2"
    assert eq.text.startswith("## 4.1 Equations\n") and DISPLAY_LATEX in eq.text and "Tables" not in eq.text
    assert all(d.spec_number == "38.999" and d.spec_release == 18 and d.working_group == "RAN" for d in clauses)
    assert len({d.id for d in docs}) == len(docs) and eq.uri.endswith("#clause:4.1")
    only = extract(path, granularity="clause")
    assert [d.clause_path for d in only] == list(by_path)


def test_cover_wins_over_a_wrong_file_name_and_says_so(tmp_path):
    path = make_rich_spec(str(tmp_path / "38998-i00.docx"), version="18.1.0")
    (doc,) = extract(path)
    assert doc.spec_number == "38.999" and doc.spec_version == "18.1.0"
    assert doc.extra["metadata_conflicts"] == ("number: file name 38.998, cover 38.999; "
                                               "version: file name 18.0.0, cover 18.1.0")


def test_without_a_cover_metadata_degrades_to_the_file_name(tmp_path):
    path = make_rich_spec(str(tmp_path / "36523-1-h50_excerpt.docx"), cover=False)
    (doc,) = extract(path)
    assert (doc.spec_number, doc.spec_version, doc.spec_release, doc.spec_type) == ("36.523-1", "17.5.0", 17, "TS")
    assert doc.working_group == "RAN5" and doc.date is None
    assert doc.extra["metadata_source"] == "file_name" and doc.title == "3GPP TS 36.523-1"
    assert headings(doc.text)[0] == "# 1 Scope"


def test_options_are_validated_with_clear_messages(write_manifest, tmp_path):
    with pytest.raises(ValueError, match="granularity must be one of document, clause, both"):
        parse_options({"granularity": "section"})
    with pytest.raises(ValueError, match="unknown strip rule"):
        parse_options({"strip": {"covers": False}})
    with pytest.raises(ValueError, match="doc_timeout_s must be a number"):
        parse_options({"doc_timeout_s": "soon"})
    with pytest.raises(ValueError, match="unknown option"):
        parse_options({"granularty": "clause"})
    (tmp_path / "specs").mkdir()
    path = write_manifest(f"""\
        sources:
          - name: specs
            kind: 3gpp
            paths: [{tmp_path}/specs]
            options: {{granularity: chapters}}
        """)
    with pytest.raises(ManifestError) as err:
        load_manifest(path)
    assert "sources[0].options: granularity must be one of" in str(err.value) and "\n" not in str(err.value)


# -- name, version, working group, headings, OMML ------------------------------

@pytest.mark.parametrize("name,number,version", [
    ("38211-i10.docx", "38.211", "18.1.0"), ("38331-j00.zip", "38.331", "19.0.0"),
    ("24229-083700.doc", "24.229", "8.37.0"), ("36521-1-h50.zip", "36.521-1", "17.5.0"),
    ("21905-800.zip", "21.905", "8.0.0"), ("23501-iа0.zip", None, None), ("readme.txt", None, None),
])
def test_file_names_decode(name, number, version):
    got = fn.from_filename(name)
    assert (got.number, got.version) == (number, version) if number else got is None


def test_versions_round_trip_and_releases():
    assert fn.decode_version("i10") == "18.1.0" and fn.encode_version("18.1.0") == "i10"
    assert fn.decode_version("083700") == "8.37.0" and fn.encode_version("8.37.0") == "083700"
    assert fn.release_of("18.1.0") == 18 and fn.release_of("3.20.0") == 99 and fn.release_of("2.0.0") is None
    assert fn.from_etsi("ETSI TS 138 201 V19.0.0 (2026-01)") == fn.SpecId("38.201", "19.0.0", "TS")
    assert fn.from_etsi("TS 136 521-1 - V17.5.0").number == "36.521-1"
    assert fn.default_type("38.913") == "TR" and fn.default_type("38.331") == "TS"


@pytest.mark.parametrize("number,wg", [("38.331", "RAN2"), ("38.211", "RAN1"), ("38.101-1", "RAN4"),
                                       ("36.413", "RAN3"), ("38.523-1", "RAN5"), ("38.913", "RAN"),
                                       ("23.501", "SA2"), ("24.301", "CT1"), ("29.274", "CT4"), ("29.214", "CT3"),
                                       ("33.501", "SA3"), ("28.541", "SA5"), ("21.905", "SA"), ("99.999", None)])
def test_working_groups(number, wg):
    assert working_group(number) == wg


@pytest.mark.parametrize("text,expected", [
    ("5.3.5\tRRC reconfiguration", ("5.3.5", "RRC reconfiguration")),
    ("6.3.2.5.2A\tSpreading", ("6.3.2.5.2A", "Spreading")),
    ("Annex A (informative):\nChange history", ("A", "Change history")),
    ("Annex\u00a0F (Informative):Change History", ("F", "Change History")),
    ("B.1.2\tExample", ("B.1.2", "Example")),
    ("Foreword", ("", "Foreword")),
    ("5G System overview", ("", "5G System overview")),
])
def test_heading_numbers(text, expected):
    assert split_heading(text) == expected


def _math(xml: str) -> str:
    from lxml import etree

    ns = 'xmlns:m="http://schemas.openxmlformats.org/officeDocument/2006/math"'
    return OmmlConverter().convert(etree.fromstring(f"<m:oMath {ns}>{xml}</m:oMath>"))


def r(text, style=""):
    rpr = {"nor": "<m:rPr><m:nor/></m:rPr>", "p": '<m:rPr><m:sty m:val="p"/></m:rPr>'}.get(style, "")
    return f"<m:r>{rpr}<m:t>{text}</m:t></m:r>"


@pytest.mark.parametrize("xml,latex", [
    (f"<m:f><m:num>{r('a')}</m:num><m:den>{r('b')}</m:den></m:f>", r"\frac{a}{b}"),
    (f"<m:rad><m:radPr><m:degHide m:val=\"1\"/></m:radPr><m:deg/><m:e>{r('x')}</m:e></m:rad>", r"\sqrt{x}"),
    (f"<m:rad><m:deg>{r('3')}</m:deg><m:e>{r('x')}</m:e></m:rad>", r"\sqrt[3]{x}"),
    (f"<m:sSubSup><m:e>{r('N')}</m:e><m:sub>{r('RB')}</m:sub><m:sup>{r('μ')}</m:sup></m:sSubSup>",
     r"N_{RB}^{\mu}"),
    (f'<m:d><m:dPr><m:begChr m:val="⌊"/><m:endChr m:val="⌋"/></m:dPr><m:e>{r("n/2")}</m:e></m:d>',
     r"\left\lfloor n/2 \right\rfloor"),
    (f'<m:d><m:dPr><m:begChr m:val="{{"/><m:endChr m:val=""/></m:dPr><m:e>{r("1")}</m:e><m:e>{r("2")}</m:e></m:d>',
     r"\left\{ 1 \mid 2 \right."),
    (f"<m:m><m:mr><m:e>{r('1')}</m:e><m:e>{r('0')}</m:e></m:mr><m:mr><m:e>{r('0')}</m:e><m:e>{r('1')}</m:e></m:mr></m:m>",
     r"\begin{matrix}1 & 0 \\ 0 & 1\end{matrix}"),
    (f'<m:acc><m:accPr><m:chr m:val="̃"/></m:accPr><m:e>{r("x")}</m:e></m:acc>', r"\tilde{x}"),
    (f"<m:func><m:fName>{r('log', 'p')}</m:fName><m:e>{r('x')}</m:e></m:func>", r"\log x"),
    (f"<m:limLow><m:e>{r('max', 'p')}</m:e><m:lim>{r('i')}</m:lim></m:limLow>", r"\max_{i}"),
    (r("a_b%", "nor") + r("≤≠∈"), r"\text{a\_b\%}\le \ne \in"),
    (f"<m:eqArr><m:e>{r('x')}</m:e><m:e>{r('y')}</m:e></m:eqArr>", r"\begin{aligned}x \\ y\end{aligned}"),
])
def test_omml_to_latex(xml, latex):
    assert _math(xml) == latex


def test_every_omml_element_keeps_its_text():
    # an element the converter does not know still contributes its content
    assert _math(f"<m:unknownThing>{r('z')}</m:unknownThing>") == "z"
    assert re.fullmatch(r"\\text\{S-PSS\}", _math(r("S-PSS", "nor")))


def test_a_ts_38331_shaped_spec_keeps_asn1_tables_and_merges(tmp_path):
    """The benchmark's 38.331-like generator (ASN.1 per IE, field-description and conditional
    presence tables, Word's run/rsid/bookmark markup), small: everything the fast reader
    must keep at that shape."""
    import os
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
    from stress_spec import make_stress_spec

    path = tmp_path / "38331-i40.docx"
    made = make_stress_spec(str(path), n_pl=500, n_tables=12, seed=1)
    docs = extract(path)
    assert len(docs) == 1 and isinstance(docs[0], Document)
    doc = docs[0]
    text, extra = doc.text, doc.extra
    assert (doc.spec_number, doc.spec_version, doc.spec_release) == ("38.331", "18.4.0", 18)
    assert doc.title == "NR; Radio Resource Control (RRC) protocol specification"
    # every IE's ASN.1 is one fenced asn1 block, alignment spaces kept
    n_ies = text.count("-- ASN1START")
    assert n_ies >= 10 and text.count("```asn1\n-- ASN1START\n") == n_ies == int(extra["n_code_blocks"])
    assert re.search(r"\n    field0-\S+ {10,}\S", text)
    # unnumbered IE headings, field descriptions (name, then description) and the cover table counted
    assert re.search(r"^#### – IE1-\w+$", text, re.M)
    assert re.search(r"^\| field0-\S+<br>[A-Z][^|]+\. \|$", text, re.M)
    assert extra["n_tables"] == str(made["tables"] + 1)
    # the vertically merged explanation repeats in the row it spans
    rows = re.findall(r"^\| Cond(\d) \| (.+) \|$", text, re.M)
    merged = [(a, b) for (i, a), (j, b) in zip(rows, rows[1:]) if i == "1" and j == "2"]
    assert merged and all(a == b for a, b in merged) and int(extra["merged_cells"]) == len(merged)
    # contents with PAGEREF fields and the change history are gone
    assert "PAGEREF" not in text and "Change history" not in text and extra["removed_contents"] == "401"
