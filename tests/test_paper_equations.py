"""Display equations of real papers (../shared/corpus/papers): each one a ``$$ ... \\tag{N} $$`` block or a
counted placeholder, never debris in the prose; inline maths keeps its spacing and its letters."""
from __future__ import annotations

import re

import pymupdf
import pytest

from conftest import corpus_file
from telecom_etl.extractors.pdfdoc import pdf_to_markdown

pytestmark = pytest.mark.corpus

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


@pytest.mark.parametrize("name", PAPERS)
def test_no_equation_debris_is_left_in_the_prose(name):
    prose = [p for p in paper(name).markdown.split("\n\n") if not p.startswith(("$$", "[equation", "#"))]
    for paragraph in prose:
        for shape in DEBRIS:
            assert not shape.search(paragraph), (shape.pattern, paragraph[:200])


def test_inline_maths_keeps_its_spacing_and_its_letters():
    text = paper(PAPERS[1]).markdown
    assert "0 \u2264 PB \u2264 P\u0304B" in text  # was "0 ≤PB ≤ ̄PB"
    assert "1 \u2264 l \u2264 LkB" in text
    assert "\u01eb" not in text and "\u03b5-greedy" in text  # TeX's epsilon, not U+01EB
