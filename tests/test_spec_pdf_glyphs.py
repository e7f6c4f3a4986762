"""Maths glyphs of ETSI PDFs without Unicode (extractors/pdfglyphs.py): mapped through the font's
encoding or glyph names, the rest counted per record (``scores.unmapped_char_share``) and flagged."""
from __future__ import annotations

import re

import pymupdf
import pytest

from conftest import corpus_file
from pdf_fonts import glyph_pdf
from telecom_etl.extractors.base import SourceItem
from telecom_etl.extractors.pdfglyphs import GlyphMapper, _differences, glyph_name_text, unmapped_share
from telecom_etl.extractors.spec import SpecSource
from telecom_etl.extractors.threegpp.etsi_pdf import read_pdf
from telecom_etl.manifest import SourceConfig
from telecom_etl.record import Document

LOST = re.compile("[\ufffd\ue000-\uf8ff\x00-\x08\x0b\x0c\x0e-\x1f]")


def extract(path, **options):
    src = SpecSource(SourceConfig(name="specs", kind="3gpp", paths=["/"], options=options))
    return [d for d in src.extract(SourceItem("specs", "3gpp", str(path))) if isinstance(d, Document)]


def raw_unmapped(path) -> int:
    """Characters PyMuPDF's own text dict cannot map (what the reader saw before this mapping)."""
    with pymupdf.open(path) as pdf:
        return sum(len(LOST.findall(span["text"])) for page in pdf for b in page.get_text("dict", flags=0)["blocks"]
                   for line in b.get("lines", ()) for span in line["spans"])


@pytest.mark.corpus
def test_the_maths_glyphs_of_a_real_etsi_pdf_come_out_as_unicode():
    path = corpus_file("specs", "PHY_138.201_v19.00.00.pdf")
    before = raw_unmapped(path)
    docs = extract(path, granularity="both")
    whole = docs[0]
    assert before >= 20  # Symbol bracket and brace pieces of a matrix example, as U+F0xx
    assert int(whole.extra["glyphs_mapped"]) >= 0.9 * before and whole.extra["glyphs_unmapped"] == "0"
    assert not LOST.search(whole.text)
    # the matrix of clause 4's "scalar product" example: bracket pieces stacked, as drawn
    assert all(piece in whole.text for piece in "\u23a1\u23a2\u23a3\u23a4\u23a5\u23a6")
    for doc in docs:  # every record says how much is lost
        assert doc.scores["unmapped_char_share"] == 0.0 and "unmapped_glyphs" not in doc.flags


@pytest.mark.corpus
def test_gNN_glyph_names_are_symbol_positions_as_the_real_tounicode_maps_say():
    # MathType writes equation fonts whose glyphs are named by their Windows Symbol glyph id;
    # where the PDF also has a ToUnicode map (private-use Symbol positions), both must agree
    from telecom_etl.extractors.pdfglyphs import _symbol_position

    checked = 0
    with pymupdf.open(corpus_file("specs", "PHY_138.201_v19.00.00.pdf")) as pdf:
        for xref in range(1, pdf.xref_length()):
            kind, value = pdf.xref_get_key(xref, "ToUnicode")
            names = _differences(pdf, xref) if kind == "xref" else {}
            if not names:
                continue
            cmap = pdf.xref_stream(int(value.split()[0])).decode("latin-1")
            pairs = {}
            for section in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
                pairs.update((int(a, 16), int(b, 16)) for a, b in re.findall(r"<(\w\w)>\s*<(\w{4})>", section))
            for section in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
                for lo, hi, start in re.findall(r"<(\w\w)>\s*<(\w\w)>\s*<(\w{4})>", section):
                    pairs.update((c, int(start, 16) + c - int(lo, 16)) for c in range(int(lo, 16), int(hi, 16) + 1))
            for code, name in names.items():
                if re.fullmatch(r"g\d+", name) and 0xF000 <= pairs.get(code, 0) <= 0xF0FF:
                    assert glyph_name_text(name) == _symbol_position(pairs[code] - 0xF000, "Symbol"), name
                    checked += 1
    assert checked >= 10


COVER = [("ETSI TS 138 999 V18.1.0 (2024-04)", b""), ("(3GPP TS 38.999 version 18.1.0 Release 18)", b"")]


def test_control_codes_of_a_font_without_tounicode_are_mapped_by_glyph_name(tmp_path):
    # a T121-like Type-3 font: codes 1.. named g172 (a Symbol glyph id), summationdisplay (TeX),
    # alpha (AGL) and a name nobody knows; MuPDF's dict gives U+FFFD for the first two
    path = tmp_path / "equations.pdf"
    path.write_bytes(glyph_pdf(COVER + [("The quantity ", b"\x01\x02\x03"), ("equals ", b"\x04")],
                               ["g172", "summationdisplay", "alpha", "xyz123"], symbol_pua=b"\x01\x02\x03"))
    with pymupdf.open(str(path)) as pdf:
        result = read_pdf(pdf, strip_furniture=False)
    text = "\n".join(b.text for b in result.blocks)
    assert "The quantity \u23a3\u2211\u03b1 end" in text  # g172 = Symbol 0xEB (bracketleftbt), summation, alpha
    assert "equals \ufffd end" in text  # unknown: kept visible as U+FFFD and counted
    assert "Matrix \u23a1\u23a2\u23a3" in text  # Symbol positions U+F0E9-U+F0EB from a ToUnicode map
    assert (result.counts["glyphs_mapped"], result.counts["glyphs_unmapped"]) == (5, 1)  # (alpha: MuPDF knows it)


def test_a_rendering_with_many_lost_glyphs_is_flagged_and_scored(tmp_path):
    path = tmp_path / "garbled.pdf"
    path.write_bytes(glyph_pdf(COVER + [("1 Scope", b""), ("The quantity ", b"\x01\x01\x01 "), ("equals ", b"\x01")],
                               ["xyz123"]))
    (doc,) = extract(path)
    assert doc.spec_number == "38.999"
    assert doc.extra["glyphs_unmapped"] == "4" and doc.text.count("\ufffd") == 4
    assert doc.scores["unmapped_char_share"] == pytest.approx(unmapped_share(doc.text)) and \
        doc.scores["unmapped_char_share"] > 0.005
    assert "unmapped_glyphs" in doc.flags


def test_private_use_positions_follow_the_font_they_are_set_in():
    mapper = GlyphMapper(None)
    assert mapper.fix(None, "\uf061\uf0a3\uf0e6", "Symbol") == "\u03b1\u2264\u239b"  # alpha, less-equal, paren piece
    assert mapper.fix(None, "\uf04c", "MT Extra") == "\u22ef"  # MT Extra's ellipsis, not Symbol's Lambda
    assert mapper.fix(None, "\uf8ee", "T15") == "\u23a1"  # Adobe's private-use bracketlefttp
    assert (mapper.mapped, mapper.unmapped) == (5, 0)
    assert unmapped_share("ab\ufffd d") == pytest.approx(0.25)


@pytest.mark.corpus
def test_tex_delimiter_pieces_of_a_real_paper_are_unicode_and_the_rest_is_counted():
    from telecom_etl.extractors.pdfdoc import pdf_to_markdown

    with open(corpus_file("papers", "Learning-Based-Power-Control-for-mmWave-Massive-MIMO-against-Jamming.pdf"),
              "rb") as fh:
        pdf = pdf_to_markdown(fh.read())
    assert not re.search("[\ue000-\uf8ff]", pdf.markdown)
    q = pdf.quality
    assert q["glyphs_mapped"] >= 16 and q["glyphs_unmapped"] > 0  # CMEX10 pieces in Adobe's private use: mapped;  # CMEX10's U+FFFD glyphs: counted, not guessed
    assert 0 < q["unmapped_char_share"] < 0.005
