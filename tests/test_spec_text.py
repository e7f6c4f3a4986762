"""Text of 3GPP Word specs: super/subscript runs, literal dollars, term lists, and a
normalisation that leaves code blocks verbatim and CJK punctuation alone (generated
files, then the real specs of ../shared/corpus/specs, skipped when absent)."""
from __future__ import annotations

import re
import zipfile

import pytest

from conftest import corpus_file
from telecom_etl.extractors.base import SourceItem
from telecom_etl.extractors.spec import SpecSource
from telecom_etl.manifest import SourceConfig
from telecom_etl.normalize import normalize_text
from telecom_etl.record import Document

W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def extract(path, **options):
    src = SpecSource(SourceConfig(name="specs", kind="3gpp", paths=["/"], options=options))
    return [d for d in src.extract(SourceItem("specs", "3gpp", str(path))) if isinstance(d, Document)]


def run(text: str, script: str = "") -> str:
    rpr = f'<w:rPr><w:vertAlign w:val="{script}"/></w:rPr>' if script else ""
    return f'<w:r {W_NS}>{rpr}<w:t xml:space="preserve">{text}</w:t></w:r>'


def paragraph(document, style, *runs):
    from docx.oxml import parse_xml

    p = document.add_paragraph(style=style)
    for fragment in runs:
        p._p.append(parse_xml(fragment))
    return p


TAB = f'<w:r {W_NS}><w:tab/></w:r>'
BR = f'<w:r {W_NS}><w:br/></w:r>'
ASN1 = ["-- ASN1START", "Price ::= SEQUENCE {", "\tamount\tINTEGER (0..maxPrice),\t-- in $, \u2026", "\t...", "}",
        "-- ASN1STOP"]


def make_text_spec(path) -> str:
    import docx
    from docx.enum.style import WD_STYLE_TYPE

    document = docx.Document()
    for name in ("EW", "PL"):
        document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    document.add_paragraph("4\tAbbreviations", style="Heading 1")
    for runs in ((run("URA"), TAB, run("User Registration Area")), (TAB, run("UTRAN Registration Area")),
                 (run("RES"), TAB, run("user RESponse")),
                 (TAB, run("64-bit signed RESponse that is the output of the function f2")),
                 (run("UE"), run("R", "subscript"), TAB, run("User Equipment with ODMA relay operation enabled")),
                 (run("NGCN"), TAB, run("Next Generation Corporate Network"), BR, run("Next Generation Core Network")),
                 (run("SN"), TAB, run("Serial Number")), (run("Serving Network"),)):
        paragraph(document, "EW", *runs)
    paragraph(document, None, TAB, run("Subscriber Number"))  # a continuation in the Normal style
    paragraph(document, "EW", run("ZC"), TAB, run("Zone Code "))
    document.add_paragraph("5\tGeneral", style="Heading 1")
    paragraph(document, None, run("The step is a = 1/2"), run("(", "superscript"), run("ki", "superscript"),
              run("/4)", "superscript"), run(" and N"), run("RB", "subscript"), run(" blocks of 2"), run("10", "superscript"),
              run("."))
    paragraph(document, None, run("A daily spending limit of $2 reached or a monthly limit of $60."))
    for line in ASN1:
        document.add_paragraph(line, style="PL")
    document.add_paragraph("\u6570\u636e\u5305\uff1a\uff08\u53ef\u9009\uff09\u7684\uff35\uff25\u914d\u7f6e\uff0c"
                           "\u8fd9\u662f\ufb01eld\u3002")
    document.save(str(path))
    return str(path)


@pytest.fixture(scope="module")
def text_spec(tmp_path_factory):
    (doc,) = extract(make_text_spec(tmp_path_factory.mktemp("text") / "38999-i10.docx"))
    return doc


def test_adjacent_superscript_runs_are_one_exponent(text_spec):
    assert "The step is a = 1/2^(ki/4) and N_(RB) blocks of 2^(10)." in text_spec.text


def test_a_literal_dollar_is_escaped_in_prose_and_kept_in_code(text_spec):
    assert "A daily spending limit of \\$2 reached or a monthly limit of \\$60." in text_spec.text
    assert "-- in $, \u2026" in text_spec.text


def test_every_term_list_entry_is_one_term_and_its_full_expansion(text_spec):
    lines = [line for line in text_spec.text.splitlines() if "\t" in line and not line.startswith(("\t", "#", "```"))]
    assert lines[:6] == [
        "URA\tUser Registration Area; UTRAN Registration Area",
        "RES\tuser RESponse; 64-bit signed RESponse that is the output of the function f2",
        "UER\tUser Equipment with ODMA relay operation enabled",
        "NGCN\tNext Generation Corporate Network; Next Generation Core Network",
        "SN\tSerial Number; Serving Network; Subscriber Number",
        "ZC\tZone Code"]
    assert not re.search(r"^(UTRAN|64-bit|Serving)\b", text_spec.text, re.M)


def test_short_entries_reach_the_abbreviation_task(text_spec):
    from telecom_etl.synth.instructions import SynthSettings, passages_for
    from telecom_etl.synth.tasks.abbreviations import Abbreviations

    task = Abbreviations(max_per_passage=100)
    pairs = [p for passage in passages_for(text_spec, SynthSettings(), [task]) if task.applies(passage)
             for p in task.offline(passage)]
    found = {(p.fields["term"], p.fields["meaning"]) for p in pairs}
    assert ("ZC", "Zone Code") in found and ("UER", "User Equipment with ODMA relay operation enabled") in found
    assert not {term for term, _ in found} & {"UTRAN", "64-bit", "UE_R"}


def test_code_blocks_stay_byte_verbatim(text_spec):
    block = re.search(r"```asn1\n(.*?)\n```", text_spec.text, re.S).group(1)
    assert block == "\n".join(ASN1)


def test_cjk_punctuation_is_kept_and_only_helpful_folds_are_made(text_spec):
    assert "\u6570\u636e\u5305\uff1a\uff08\u53ef\u9009\uff09\u7684UE\u914d\u7f6e\uff0c\u8fd9\u662ffield\u3002" in text_spec.text


@pytest.mark.parametrize("raw,expected", [
    ("\ufb01eld \ufb02ow", "field flow"),  # ligatures
    ("5\u00a0MHz\u2009and\u202fmore", "5 MHz and more"),  # spaces
    ("\uff35\uff25 \U0001d465 \u2113 \u00b5s", "UE x l \u03bcs"),  # compatibility letters
    ("x\u00b2 + y\u2082, \u2026, \u2460", "x\u00b2 + y\u2082, \u2026, \u2460"),  # meaning kept
    ("\u914d\u7f6e\uff1a\uff08\u53ef\u9009\uff09\u3000\u5b8c", "\u914d\u7f6e\uff1a\uff08\u53ef\u9009\uff09\u3000\u5b8c"),
    ("e\u0301", "\u00e9"),  # NFC
    ("a\u2011b\u00adc", "a-bc"),
])
def test_prose_folds(raw, expected):
    assert normalize_text(raw) == expected + "\n"


def test_normalisation_never_enters_a_fence():
    text = "Intro \ufb01\n\n~~~\ncode \ufb01 \u2026\u00a0  \n\n\n\n~~~\n\nafter\u00a0x\n"
    assert normalize_text(text, "3gpp") == "Intro fi\n\n~~~\ncode \ufb01 \u2026\u00a0  \n\n\n\n~~~\n\nafter x\n"
    assert normalize_text("```\nunclosed \u2026\n", "3gpp") == "```\nunclosed \u2026\n"


# -- real specs ---------------------------------------------------------------

def _pl_lines(path):
    """The text of every PL (code) paragraph, read straight from the Word XML."""
    from lxml import etree

    root = etree.fromstring(zipfile.ZipFile(path).read("word/document.xml"), etree.XMLParser(huge_tree=True))
    out = []
    for p in root.iter(W + "p"):
        style = p.find(f"{W}pPr/{W}pStyle")
        if style is None or style.get(W + "val") != "PL":
            continue
        text = "".join((t.text or "") if t.tag == W + "t" else "\t" if t.tag == W + "tab" else "\n"
                       for t in p.iter(W + "t", W + "tab", W + "br")
                       if not any(a.tag == W + "del" for a in t.iterancestors()))
        out.extend(line.rstrip() for line in text.replace("\u00a0", " ").split("\n") if line.strip())
    return out


@pytest.mark.corpus
@pytest.mark.parametrize("name", ["29274-j60.docx", "33180-i00.docx", "24380-i40.docx"])
def test_real_code_blocks_are_byte_verbatim(name):
    path = corpus_file("specs", name)
    (doc,) = extract(path)
    fenced = [line for block in re.findall(r"^(?:```|~~~)[^\n]*\n(.*?)\n(?:```|~~~)$", doc.text, re.S | re.M)
              for line in block.split("\n") if line.strip()]
    expected = _pl_lines(path)
    assert len(expected) >= 3
    it = iter(fenced)
    missing = [line for line in expected if not any(line == got for got in it)]
    assert missing == []  # every code line, in order, character for character
    assert any(not line.isascii() for line in expected) is any(not line.isascii() for line in fenced)


@pytest.mark.corpus
def test_real_tr_21905_abbreviations_are_one_entry_each():
    (doc,) = extract(corpus_file("specs", "21905-h20.docx"))
    lines = set(doc.text.splitlines())
    for entry in ("URA\tUser Registration Area; UTRAN Registration Area",
                  "RES\tuser RESponse; 64-bit signed RESponse that is the output of the function f2 in a 3G AKA",
                  "UER\tUser Equipment with ODMA relay operation enabled", "ZC\tZone Code",
                  "LI\tLanguage Indication; Lawful Interception; Length Indicator; Line Identity",
                  "NGCN\tNext Generation Corporate Network (TSs originating pre-Release-15); "
                  "Next Generation Core Network (TSs originating Release 15 onwards)"):
        assert entry in lines, entry
    assert not re.search(r"^(UTRAN\tRegistration|64-bit\t|UE_R\b|UTRAN Registration Area$)", doc.text, re.M)


@pytest.mark.corpus
def test_real_dollar_amounts_are_escaped():
    (doc,) = extract(corpus_file("specs", "23503-i40.docx"))
    assert "spending limit of \\$2 reached" in doc.text and "\\$60" in doc.text


def test_blocks_do_not_depend_on_where_the_xml_is_cut(monkeypatch):
    """The reader parses document.xml in chunks: any cut (right after <w:body>, inside a
    paragraph, inside a tag) gives the same blocks."""
    import io

    from telecom_etl.extractors.threegpp import docx_reader

    xml = (f'<?xml version="1.0"?><w:document {W_NS}><w:body>'.encode()
           + b"".join(f"<w:p><w:r><w:t>Paragraph {i}</w:t></w:r></w:p>".encode() for i in range(5))
           + b"</w:body></w:document>")
    body = xml.index(b"<w:body>") + len(b"<w:body>")
    for chunk in (body, body + 3, 7, 1, len(xml)):
        monkeypatch.setattr(docx_reader, "_CHUNK", chunk)
        result = docx_reader.DocxReader(docx_reader.Styles(None)).read(io.BytesIO(xml))
        assert [b.text for b in result.blocks] == [f"Paragraph {i}" for i in range(5)], chunk
