"""Ruled tables of ETSI PDF pages from their drawings (extractors/threegpp/pdf_tables.py).

The grid must be the one PyMuPDF's own finder builds (``page.find_tables(use_layout=False)``,
what the 3GPP reader ran before on every page with drawings): checked page by page on the real
ETSI editions, and on generated pages whose table is known.
"""
from __future__ import annotations

import pymupdf
import pytest

from conftest import corpus_file
from telecom_etl.extractors.threegpp.etsi_pdf import read_pdf
from telecom_etl.extractors.threegpp.pdf_tables import find_tables, has_rules


def ours(page):
    words = page.get_text("words", flags=0)
    return [(t.bbox, t.rows) for t in find_tables(page.get_cdrawings(), words, tuple(page.rect), page.rect.height)]


def pymupdfs(page):
    return [(t.bbox, [row.cells for row in t.rows]) for t in page.find_tables(use_layout=False).tables]


@pytest.mark.corpus
@pytest.mark.parametrize("name", ["PHY_138.201_v19.00.00.pdf", "SDAP_137.324_v19.00.00.pdf"])
def test_the_grid_is_pymupdfs_on_every_page_of_real_etsi_pdfs(name):
    with pymupdf.open(corpus_file("specs", name)) as pdf:
        found = 0
        for page in pdf:
            expected = pymupdfs(page)
            assert ours(page) == expected, f"page {page.number + 1}"
            found += len(expected)
            if expected:  # the pre-check never hides a page that has a table
                assert has_rules(page.get_cdrawings())
        assert found >= 5


def ruled_page(pdf, rows, top=120.0, col_widths=(90.0, 260.0), row_height=18.0, rules_as="lines"):
    """A page with a ruled table (stroked lines or thin filled rectangles, as ETSI's are) and prose above."""
    page = pdf.new_page(width=595, height=842)
    page.insert_text((60, 80), "The fields of the message are given in table 5.1-1.", fontsize=10)
    left = 60.0
    xs = [left]
    for w in col_widths:
        xs.append(xs[-1] + w)
    ys = [top + i * row_height for i in range(len(rows) + 1)]
    shape = page.new_shape()
    for y in ys:
        if rules_as == "lines":
            shape.draw_line((xs[0], y), (xs[-1], y))
        else:
            shape.draw_rect(pymupdf.Rect(xs[0], y - 0.36, xs[-1], y + 0.36))
    for x in xs:
        if rules_as == "lines":
            shape.draw_line((x, ys[0]), (x, ys[-1]))
        else:
            shape.draw_rect(pymupdf.Rect(x - 0.36, ys[0], x + 0.36, ys[-1]))
    if rules_as == "lines":
        shape.finish(color=(0, 0, 0), width=0.7)
    else:
        shape.finish(color=None, fill=(0, 0, 0), width=0)
    shape.commit()
    for r, cells in enumerate(rows):
        for c, text in enumerate(cells):
            page.insert_text((xs[c] + 4, ys[r] + 13), text, fontsize=9)
    page.insert_text((60, ys[-1] + 40), "The receiver shall ignore a spare bit.", fontsize=10)
    return page


ROWS = [["Bit", "Description"], ["0", "QoS flow identifier present"], ["1-7", "Spare"]]


@pytest.mark.parametrize("rules_as", ["lines", "rectangles"])
def test_a_generated_ruled_table_becomes_a_markdown_table_and_leaves_the_prose(rules_as):
    pdf = pymupdf.open()
    page = ruled_page(pdf, ROWS, rules_as=rules_as)
    assert ours(page) == pymupdfs(page) and len(ours(page)) == 1
    result = read_pdf(pdf, strip_furniture=False)
    texts = [b.text for b in result.blocks]
    (table,) = [t for t in texts if t.startswith("|")]
    assert table.splitlines()[0] == "| Bit | Description |"
    assert "| 0 | QoS flow identifier present |" in table and "| 1-7 | Spare |" in table
    assert not any("QoS flow identifier" in t for t in texts if not t.startswith("|"))  # not repeated as prose
    assert texts[0].startswith("The fields of the message") and texts[-1] == "The receiver shall ignore a spare bit."
    assert result.counts["n_tables"] == 1


def test_a_table_inside_a_form_xobject_is_still_found():
    # the cheap pre-check counts painted paths in the page's own content stream; a page whose
    # drawings sit in a form XObject (a page imported with show_pdf_page) must still be searched
    src = pymupdf.open()
    ruled_page(src, ROWS)
    pdf = pymupdf.open()
    page = pdf.new_page(width=595, height=842)
    page.show_pdf_page(page.rect, src, 0)
    assert len(ours(page)) == 1
    tables = [b.text for b in read_pdf(pdf, strip_furniture=False).blocks if b.text.startswith("|")]
    assert len(tables) == 1 and "| 1-7 | Spare |" in tables[0]


def test_drawings_without_a_grid_are_no_table():
    pdf = pymupdf.open()
    page = pdf.new_page(width=595, height=842)
    page.insert_text((60, 80), "Figure 4.1-1 shows the protocol stack.", fontsize=10)
    shape = page.new_shape()
    for i in range(6):  # a figure: circles and one underline, no grid
        shape.draw_circle((120 + 60 * i, 200), 20)
    shape.draw_line((60, 300), (400, 300))
    shape.finish(color=(0, 0, 0), width=1)
    shape.commit()
    page.insert_text((100, 205), "UE", fontsize=9)
    assert ours(page) == pymupdfs(page) == []
    result = read_pdf(pdf, strip_furniture=False)
    assert result.counts["n_tables"] == 0 and not any(b.text.startswith("|") for b in result.blocks)
