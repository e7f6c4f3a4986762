"""extractors/pdfdoc.py: PDF -> clean markdown, on generated papers whose text is known and on
the real papers of the shared corpus."""
from __future__ import annotations

import re

import pytest

from conftest import corpus_file
from telecom_etl.extractors.pdfdoc import PdfError, clean_inline, pdf_to_markdown
from test_paper_pdfs import (ABSTRACT, AUTHORS, BANNER, BODY, FIGURE_LABELS, FOOTNOTE, HEADERS, TITLE,
                             make_ieee_paper_pdf)


@pytest.fixture(scope="module")
def paper_bytes(tmp_path_factory):
    path = make_ieee_paper_pdf(str(tmp_path_factory.mktemp("pdf") / "paper.pdf"))
    with open(path, "rb") as fh:
        return fh.read()


@pytest.fixture(scope="module")
def paper(paper_bytes):
    return pdf_to_markdown(paper_bytes)


def squash(text: str) -> str:
    return " ".join(text.split())


def test_every_paragraph_comes_back_whole_and_in_order(paper):
    """Two columns, paragraphs flowing over columns and pages, hyphenated line ends: the text
    of each paragraph is found verbatim, in the order of the source."""
    md = squash(paper.markdown)
    position = 0
    for kind, text in BODY:
        if kind != "p":
            continue
        found = md.find(squash(text), position)
        assert found >= 0, f"paragraph not found verbatim after offset {position}: {text[:60]!r}"
        position = found
    assert squash(ABSTRACT) in md


def test_headings_are_markdown_headings_and_title_is_h1(paper):
    lines = paper.markdown.splitlines()
    assert lines[0] == f"# {TITLE}"
    assert paper.title == TITLE
    for kind, text in BODY:
        if kind.startswith("h"):
            assert "#" * int(kind[1]) + " " + text in lines, text
    assert "## APPENDIX A" in lines  # the section after the references is kept


def test_running_headers_page_numbers_banner_and_figure_labels_are_removed(paper):
    md = paper.markdown
    for header in HEADERS:
        assert header not in md
    assert BANNER not in md
    assert not any(re.fullmatch(r"\d+", line.strip()) for line in md.splitlines())
    for label in FIGURE_LABELS:
        assert not any(line.strip() == label for line in md.splitlines()), label
    assert "Number of access points" not in md
    assert "Fig. 1. Spectral efficiency per terminal versus the number of access points." in md
    assert paper.removed["running_header_footer"] >= 2
    assert paper.removed["figure_text"] >= 5  # one row of ticks, the axis title, three legend entries


def test_footnote_is_kept_whole_but_does_not_split_a_paragraph(paper):
    assert squash(FOOTNOTE) in squash(paper.markdown)


def test_hyphenation_joined_and_compounds_kept(paper):
    md = paper.markdown
    assert not re.search(r"[a-z]- [a-z]", md), re.findall(r"\w+- \w+", md)
    for compound in ("multiple-input", "time-frequency", "co-pilot", "closed-form", "large-scale"):
        assert compound in md, compound


def test_references_dropped_by_default_and_kept_on_request(paper, paper_bytes):
    assert "REFERENCES" not in paper.markdown
    assert "Ngo" not in paper.markdown
    assert paper.removed["references"] >= 3
    kept = pdf_to_markdown(paper_bytes, drop_references=False)
    assert "## REFERENCES" in kept.markdown
    assert "Cell-free massive MIMO versus small cells" in kept.markdown
    assert "references" not in kept.removed


def test_front_lines_and_metadata(paper):
    assert paper.front_lines[0] == AUTHORS
    assert paper.metadata["title"] == TITLE
    assert paper.page_count >= 2
    assert paper.quality["garbage"] is None


def test_repository_cover_page_is_dropped_and_kept_as_stamp(tmp_path):
    path = make_ieee_paper_pdf(str(tmp_path / "covered.pdf"), cover_page=True)
    with open(path, "rb") as fh:
        pdf = pdf_to_markdown(fh.read())
    assert pdf.removed["cover_page"] == 1
    assert "Terms of use" not in pdf.markdown
    assert pdf.markdown.startswith(f"# {TITLE}")
    assert any("DOI" in stamp for stamp in pdf.stamps)
    with open(path, "rb") as fh:
        assert "Terms of use" in pdf_to_markdown(fh.read(), drop_cover_pages=False).markdown


def test_clean_inline_ligatures_and_tex_accents():
    assert clean_inline("e\ufb03cient \ufb01nite \ufb02at") == "efficient finite flat"
    assert clean_inline("Universit\u00b4a and Universit`a, Bj\u00a8orn") == "Universitá and Università, Björn"
    assert clean_inline("``quoted''") == "``quoted''"


def test_ligatures_in_the_text_layer_come_out_as_letters(tmp_path):
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page()
    writer = pymupdf.TextWriter(page.rect)
    writer.append((72, 100), "The \ufb01nite e\ufb03cient \ufb02at channel model of the uplink.",
                  font=pymupdf.Font("tiro"), fontsize=10)
    writer.write_text(page)
    pdf = pdf_to_markdown(doc.tobytes())
    assert "finite efficient flat channel" in pdf.markdown
    assert not re.search("[\ufb00-\ufb06]", pdf.markdown)


# -- bad inputs ------------------------------------------------------------------------------

def test_encrypted_pdf_fails_cleanly(paper_bytes):
    import pymupdf

    doc = pymupdf.open(stream=paper_bytes, filetype="pdf")
    data = doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner")
    with pytest.raises(PdfError, match="encrypted PDF"):
        pdf_to_markdown(data)
    assert "Cell-free" in pdf_to_markdown(data, password="secret").markdown


def test_owner_password_only_pdf_opens(paper_bytes):
    """Permissions-only encryption (no user password) is common on publisher PDFs: it must open."""
    import pymupdf

    doc = pymupdf.open(stream=paper_bytes, filetype="pdf")
    data = doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_128, owner_pw="owner", user_pw="",
                       permissions=pymupdf.PDF_PERM_PRINT)
    assert "Cell-free" in pdf_to_markdown(data).markdown


@pytest.mark.parametrize("data, reason", [
    (b"", "empty file"),
    (b"   \n", "empty file"),
    (b"This is a text file that someone named paper.pdf\n" * 20, "not a PDF"),
    (b"%PDF-1.7\n" + b"\x00garbage" * 50, "corrupt PDF"),
])
def test_not_pdf_or_corrupt_fails_with_one_line(data, reason):
    with pytest.raises(PdfError, match=reason) as info:
        pdf_to_markdown(data)
    assert "\n" not in str(info.value)


def test_truncated_pdf_fails_or_keeps_what_is_readable(paper_bytes):
    """MuPDF repairs truncated files when it can; then the pages it recovered come out,
    otherwise the failure is one clear line."""
    truncated = paper_bytes[: len(paper_bytes) // 3]
    try:
        pdf = pdf_to_markdown(truncated)
    except PdfError as exc:
        assert str(exc).startswith("corrupt PDF")
    else:
        assert pdf.quality["garbage"] or pdf.quality["failed_pages"] or pdf.markdown


def test_page_without_text_is_flagged_as_no_text_layer():
    import pymupdf

    doc = pymupdf.open()
    for _ in range(3):
        page = doc.new_page()
        page.draw_rect(pymupdf.Rect(72, 72, 500, 700), color=(0, 0, 0), fill=(0.5, 0.5, 0.5))
    pdf = pdf_to_markdown(doc.tobytes())
    assert pdf.markdown == ""
    assert pdf.quality["garbage"].startswith("no text layer")


# -- the shared corpus -------------------------------------------------------------------------

def read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def test_type3_garbage_text_layer_is_detected():
    pdf = pdf_to_markdown(read(corpus_file("papers", "COMLetter_Pilot_OFDM-WLAN_dvips-type3.pdf")))
    assert pdf.quality["garbage"], pdf.quality
    assert "broken words" in pdf.quality["garbage"]
    assert pdf.quality["type3_fonts"] is True


def test_real_ieee_paper_two_columns_and_footer_banner():
    pdf = pdf_to_markdown(read(corpus_file("papers", "alfano2007_LMS-MIMO_IEEE.pdf")))
    md = pdf.markdown
    assert pdf.quality["garbage"] is None
    assert pdf.title == "A theoretical framework for LMS MIMO communication systems performance analysis"
    assert pdf.page_count == 5
    # the running footer of every page (banner, page number, conference name) is gone
    assert "$25.00" not in md and "Waveform Diversity & Design" not in md
    # ligatures expanded, TeX accents composed
    assert "\ufb01" not in md and "finite-dimensional" in md
    assert "Università degli Studi di Napoli" in md
    # two-column reading order: the abstract reads on, the left column then the right one
    assert "channels, where transmitters and receivers are equipped with multiple antennas, is introduced." in md
    assert md.index("## I. INTRODUCTION") < md.index("## II. SIGNAL AND CHANNEL MODEL") < md.index(
        "## III. PERFORMANCE ANALYSIS") < md.index("## V. CONCLUSIONS")
    assert "REFERENCES" not in md and "[13]" not in md.split("## V. CONCLUSIONS")[1]


def test_real_conference_paper_figure_labels_and_hyphenation():
    pdf = pdf_to_markdown(read(corpus_file(
        "papers", "Learning-Based-Power-Control-for-mmWave-Massive-MIMO-against-Jamming.pdf")))
    md = pdf.markdown
    assert pdf.title == "Learning Based Power Control for mmWave Massive MIMO Against Jamming"
    assert pdf.front_lines[0].startswith("Zhongcheng Xiao")
    # block-diagram and plot labels are not text lines of their own
    lines = {line.strip() for line in md.splitlines()}
    for label in ("RF Chain", "Digital precoder", "User 1", "Time slot", "Fast PHC", "500"):
        assert label not in lines, label
    assert "Fig. 1. Power control of a mmWave massive MIMO system against jamming." in md
    # line-end hyphens joined, real compounds kept
    assert "potential bandwidth" in md and "Foundation of China" in md
    assert "signal-to-interference-plus-noise" in md
    # a paragraph continued in the next column is one paragraph
    assert "decrease the data rates of the mmWave massive MIMO transmission and even result in" in md
    assert "## II. SYSTEM MODEL" in md and "### A. Network Model" in md


def test_single_column_pages_repeating_a_template_keep_their_text():
    """Pages that repeat wholesale (a slide template, a duplicated page) are not 'running headers'."""
    import pymupdf

    text = ("The uplink of a massive MIMO system is studied with pilot contamination and maximum-ratio "
            "combining at the base station. ") * 6
    doc = pymupdf.open()
    for _ in range(3):
        page = doc.new_page(width=792, height=612)
        page.insert_textbox(pymupdf.Rect(72, 72, 700, 540), "Outline\n\n" + text, fontsize=14)
    pdf = pdf_to_markdown(doc.tobytes())
    assert pdf.markdown.count("maximum-ratio combining at the base station") == 18
    assert "running_header_footer" not in pdf.removed


def test_single_column_text_is_not_split_into_columns():
    import pymupdf

    sentences = [f"Sentence number {i} explains how the scheduler assigns resource blocks to the users in "
                 f"the cell during slot {i}." for i in range(40)]
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_textbox(pymupdf.Rect(72, 72, 540, 740), " ".join(sentences), fontsize=10)
    md = squash(pdf_to_markdown(doc.tobytes()).markdown)
    assert " ".join(sentences) in md


def test_three_column_page_reads_column_by_column():
    import pymupdf

    columns = [[f"Column {c} sentence {i} describes the handover procedure between the source and the "
                f"target cell." for i in range(6)] for c in "ABC"]
    doc = pymupdf.open()
    page = doc.new_page(width=842, height=595)  # A4 landscape, three columns
    for c, sentences in enumerate(columns):
        x0 = 40 + c * 260
        page.insert_textbox(pymupdf.Rect(x0, 60, x0 + 240, 560), " ".join(sentences), fontsize=10)
    md = squash(pdf_to_markdown(doc.tobytes()).markdown)
    positions = [md.find(" ".join(sentences)) for sentences in columns]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), positions


def make_single_column_latex_paper() -> bytes:
    """An arXiv-style single-column paper: bold numbered headings, a larger byline, an appendix."""
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page()
    writer = pymupdf.TextWriter(page.rect)
    regular, bold = pymupdf.Font("tiro"), pymupdf.Font("tibo")
    y = 80
    writer.append((120, y), "Deep Learning for Channel Estimation in OFDM Systems", font=bold, fontsize=17)
    y += 30
    writer.append((230, y), "Jane Doe and John Smith", font=regular, fontsize=12)
    y += 30
    items = [("h", "Abstract"), ("p", "We propose a neural channel estimator for OFDM receivers that learns from pilots."),
             ("h", "1 Introduction"), ("p", "Orthogonal frequency division multiplexing is the waveform of LTE and NR."),
             ("h", "2 System Model"), ("h", "2.1 Received Signal"),
             ("p", "The received signal on subcarrier k is the transmitted symbol times the channel plus noise."),
             ("h", "References"), ("p", "[1] A. Author, Some paper on pilots, 2020."),
             ("h", "A Proof of Lemma 1"), ("p", "The proof follows from the orthogonality of the subcarriers.")]
    for kind, text in items:
        if kind == "h":
            y += 8
            writer.append((72, y), text, font=bold, fontsize=12)
            y += 18
        else:
            writer.append((72, y), text, font=regular, fontsize=10)
            y += 16
    writer.write_text(page)
    return doc.tobytes()


def test_single_column_latex_headings_byline_and_appendix_after_references():
    pdf = pdf_to_markdown(make_single_column_latex_paper())
    lines = pdf.markdown.splitlines()
    assert lines[0] == "# Deep Learning for Channel Estimation in OFDM Systems"
    assert pdf.front_lines[0] == "Jane Doe and John Smith"  # larger type, but a byline, not a heading
    for heading in ("## Abstract", "## 1 Introduction", "## 2 System Model", "### 2.1 Received Signal",
                    "## A Proof of Lemma 1"):
        assert heading in lines, heading
    assert "Some paper on pilots" not in pdf.markdown
    assert "The proof follows from the orthogonality of the subcarriers." in pdf.markdown


def test_unmapped_glyphs_are_removed():
    assert clean_inline("\u23a1 x \ufffd\ufffd y\uf8ee\x02 z") == "\u23a1 x  y z"


def test_glyph_code_tokens_make_a_garbage_text_layer():
    """Text layers that leak glyph names or codes ("/#28orthogonal", "(cid:72)") are not text."""
    import pymupdf

    words = ["/#28orthogonal", "/#29frequency", "(cid:72)(cid:101)", "division", "/#2Cmultiplexing", "/g42the"]
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_textbox(pymupdf.Rect(72, 72, 540, 740), " ".join(words * 40), fontsize=10)
    pdf = pdf_to_markdown(doc.tobytes())
    assert pdf.quality["garbage"] and "glyph-code tokens" in pdf.quality["garbage"]
