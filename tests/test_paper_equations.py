"""Display equations of real papers (../shared/corpus/papers): each one a ``$$ ... \\tag{N} $$`` block or a
counted placeholder, never debris in the prose; inline maths keeps its spacing and its letters. A generated
paper's placeholders are counted in report.json."""
from __future__ import annotations

import json
import re

import pymupdf
import pytest

from conftest import corpus_file
from telecom_etl.extractors.pdfdoc import pdf_to_markdown

PAPERS = ["alfano2007_LMS-MIMO_IEEE.pdf", "Learning-Based-Power-Control-for-mmWave-Massive-MIMO-against-Jamming.pdf"]
_CACHE = {}

# the debris shapes of issue 13: "FR = ... ... ... . (2)", "+ P ′B (8) |Ω|−1 otherwise.", an equation
# number with maths after it ("(3) Γm(α)") or a matrix row of dots
DEBRIS = [re.compile(r"(?:\.\.\.|· · ·)[ .]{0,6}\(\d{1,2}\)"), re.compile(r"\(\d{1,2}\) [^\sA-Za-z(\[]"),
          re.compile(r"[=+−×] [^.]{0,30} \(\d{1,2}\)(?: |$)")]


def paper(name):
    if name not in _CACHE:
        with open(corpus_file("papers", name), "rb") as fh:
            _CACHE[name] = pdf_to_markdown(fh.read())
    return _CACHE[name]


def display_numbers(name) -> set:
    """Equation numbers as the PDF sets them, read independently of the extractor: a line's last
    word "(N)" ending at its column's right edge; numbers run 1..N, so the highest one says them all."""
    found = []
    with pymupdf.open(corpus_file("papers", name)) as pdf:
        for page in pdf:
            words = page.get_text("words")
            right = {}  # the right edges of the page's columns: where its lines mostly end
            for w in words:
                right[round(w[2])] = right.get(round(w[2]), 0) + 1
            edges = [x for x, n in right.items() if n >= 15]
            for i, w in enumerate(words):
                last = i + 1 == len(words) or words[i + 1][5:7] != w[5:7]
                if last and re.fullmatch(r"\(\d{1,2}\)", w[4]) and any(abs(w[2] - e) <= 2 for e in edges):
                    found.append(int(w[4][1:-1]))
    return set(range(1, max(found) + 1))


@pytest.mark.corpus
@pytest.mark.parametrize("name", PAPERS)
def test_every_display_equation_is_one_block_or_a_counted_placeholder(name):
    pdf = paper(name)
    numbers = display_numbers(name)
    assert len(numbers) >= 8
    blocks = [p for p in pdf.markdown.split("\n\n") if p.startswith(("$$", "[equation"))]
    tagged = [int(m) for b in blocks for m in re.findall(r"\\tag\{(\d+)\}|\[equation \((\d+)\)\]", b) for m in m if m]
    assert sorted(tagged) == sorted(numbers)  # each number once, in a block of its own
    assert pdf.quality["display_equations"] + pdf.quality["equation_placeholders"] == len(blocks)
    for block in blocks:
        assert block.count("$$") in (0, 2) and "\n" not in block.strip()


@pytest.mark.corpus
@pytest.mark.parametrize("name", PAPERS)
def test_no_equation_debris_is_left_in_the_prose(name):
    prose = [p for p in paper(name).markdown.split("\n\n") if not p.startswith(("$$", "[equation", "#"))]
    for paragraph in prose:
        for shape in DEBRIS:
            assert not shape.search(paragraph), (shape.pattern, paragraph[:200])


@pytest.mark.corpus
def test_inline_maths_keeps_its_spacing_and_its_letters():
    text = paper(PAPERS[1]).markdown
    assert "0 \u2264 PB \u2264 P\u0304B" in text  # was "0 ≤PB ≤ ̄PB"
    assert "1 \u2264 l \u2264 LkB" in text
    assert "\u01eb" not in text and "\u03b5-greedy" in text  # TeX's epsilon, not U+01EB


# -- a generated paper: placeholders counted in report.json ------------------------------------

PROSE = [
    "Cell-free massive MIMO networks serve every user from many distributed access points at once,",
    "and the uplink training phase assigns each user one pilot sequence out of a small orthogonal set.",
    "The channel estimate of every access point then follows from the received pilot signal as below,",
    "where the estimation error grows with the number of users that share the same pilot sequence.",
    "The combining vector of the central processing unit weighs the local estimates of all points,",
    "so that the effective signal to interference ratio of each user becomes the expression that",
    "follows, where the coherent interference term vanishes only when the pilots are orthogonal.",
    "The achievable rate of every user is the logarithm of one plus that ratio, in bits per symbol,",
    "and the sum rate over the users of the network is the quantity that the allocation maximises.",
]


def equation_paper_pdf() -> bytes:
    """One page of prose in Helvetica with three numbered display equations: (1) set mostly in a
    Type-3 font whose glyph has no Unicode (MuPDF: U+FFFD), (2) a single glyph, (3) clean."""
    from pdf_fonts import _pdf, _stream

    size, left = 10, 72
    edge = left + max(pymupdf.get_text_length(p, "helv", size) for p in PROSE)
    lines, y = [], 780

    def put(x, text="", font=b"F1", fs=size, codes=b""):
        shown = b"<%s>" % codes.hex().encode() if codes else \
            b"(%s)" % text.replace("(", "\\(").replace(")", "\\)").encode("latin-1")
        lines.append(b"/%s %d Tf 1 0 0 1 %.2f %d Tm %s Tj" % (font, fs, x, y, shown))

    def number(n):  # right-aligned at the prose's right edge
        put(edge - pymupdf.get_text_length(f"({n})", "helv", size), f"({n})")

    put(left, "Lost Equation Glyphs in a Cell-Free Paper", fs=16)
    y -= 40
    for i, prose in enumerate(PROSE):
        put(left, prose)
        y -= 20
        if i == 2:
            put(180, font=b"T3", codes=b"\x01" * 5)
            put(205, "= a + b")
        elif i == 5:
            put(250, "x")
        elif i == 7:
            put(200, "y = a + b")
        if i in (2, 5, 7):
            number({2: 1, 5: 2, 7: 3}[i])
            y -= 20
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R /T3 6 0 R >> >> "
        b"/Contents 4 0 R >>",
        _stream(b"BT\n" + b"\n".join(lines) + b"\nET"),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Font /Subtype /Type3 /Name /T121 /FontBBox [0 0 500 700] /FontMatrix [0.001 0 0 0.001 0 0] "
        b"/CharProcs << /xyz123 7 0 R >> /Encoding << /Type /Encoding /Differences [1 /xyz123] >> /FirstChar 1 "
        b"/LastChar 1 /Widths [500] /Resources << >> >>",
        _stream(b"0 0 0 0 400 700 d0\n0 0 400 700 re f"),
    ]
    return _pdf(objects)


def test_a_generated_paper_s_equation_placeholders_have_their_reasons():
    pdf = pdf_to_markdown(equation_paper_pdf())
    blocks = [p for p in pdf.markdown.split("\n\n") if p.startswith(("$$", "[equation"))]
    assert blocks == ["[equation (1)]", "[equation (2)]", "$$ y = a + b \\tag{3} $$"]
    assert (pdf.quality["display_equations"], pdf.quality["equation_placeholders"]) == (1, 2)
    assert pdf.placeholders == [
        ("lost_glyphs", "page1/equation(1)", "equation (1) on page 1 left as a placeholder: 5 of its 9 glyphs "
                                             "have no Unicode"),
        ("too_few_glyphs", "page1/equation(2)", "equation (2) on page 1 left as a placeholder: 1 glyph left")]


def test_build_pretrain_reports_each_equation_placeholder_of_a_paper(tmp_path):
    from telecom_etl.manifest import load_manifest
    from telecom_etl.pipelines.build_pretrain import run

    (tmp_path / "papers").mkdir()
    (tmp_path / "papers" / "lost-glyphs.pdf").write_bytes(equation_paper_pdf())
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(f"version: 1\nsources:\n  - name: papers\n    kind: paper\n    paths: [{tmp_path / 'papers'}]\n"
                        f"    license: CC-BY-4.0\ndedup: {{exact: false, near: false}}\n")
    report = run(load_manifest(str(manifest)), str(tmp_path / "out"), [], progress=False)
    assert report["balanced"], [c for c in report["checks"] if not c["ok"]]
    assert report == json.loads((tmp_path / "out" / "report.json").read_text())
    parts = report["stages"]["extract_parts"]
    assert parts["dropped_by_rule"] == {"equation_placeholder.lost_glyphs": 1,
                                        "equation_placeholder.too_few_glyphs": 1}
    uri = "papers/lost-glyphs.pdf"
    assert [u.endswith(f"{uri}#page1/equation(1)") for u in parts["examples"]["equation_placeholder.lost_glyphs"]] \
        == [True]
    assert report["stages"]["extract"]["kept"] == 1
