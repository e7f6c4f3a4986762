"""OLE equation objects (MTEF v3 and v5) -> LaTeX, on objects built in the test (ole_fixtures)."""
from __future__ import annotations

import re

import latex2mathml.converter
import olefile
import pytest

from ole_fixtures import (EXPAND, FUNCTION, LCGREEK, NUMBER, SPACE, SYMBOL, TEXT, UCGREEK, V3, V5, VECTOR,
                          cfb, equation_object)
from telecom_etl.extractors.threegpp.mtef import REASONS, EquationError, OleEquations, mtef_to_latex, ole_to_latex


def latex(mtef: bytes) -> str:
    out, unmapped = ole_to_latex(equation_object(mtef))
    assert unmapped == 0
    mathml = latex2mathml.converter.convert(out)  # compiles
    assert not re.search(r">\\[A-Za-z]+<", mathml), mathml  # (an unknown command would come out as text)
    return out


def test_cfb_writer_makes_files_olefile_reads():
    data = cfb({"Equation Native": b"abc", "Other": b"x" * 5000})
    ole = olefile.OleFileIO(data)
    assert sorted(e[0] for e in ole.listdir()) == ["Equation Native", "Other"]
    assert ole.openstream("Equation Native").read()[:3] == b"abc"
    assert ole.openstream("Other").read()[:5000] == b"x" * 5000


# -- each template kind, in both MTEF versions -------------------------------
# (v3 selector, v3 variation, v5 selector, v5 variation, slots, expected LaTeX)
FENCE = ("paren", 1, 3, 1, 3)


@pytest.mark.parametrize("M", [V3, V5], ids=["v3", "v5"])
def test_characters_by_typeface(M):
    eq = M.eq(M.char("x"), M.char("=", SYMBOL), M.char("α", LCGREEK), M.char("Φ", UCGREEK),
              M.char("sin", FUNCTION), M.char("H", VECTOR), M.char("2", NUMBER),
              M.char("≤", SYMBOL), M.char("RB", TEXT), M.char("\uef04", SPACE), M.char("if any", TEXT))
    assert latex(eq) == r"x=\alpha \Phi \sin \mathbf{H}2\le \mathrm{RB}\;\text{if any}"


@pytest.mark.parametrize("M,frac,root,sub,sup,subsup", [
    (V3, (14, 0), (13, 0), (15, 1), (15, 0), (15, 2)),
    (V5, (11, 0), (10, 0), (27, 0), (28, 0), (29, 0)),
], ids=["v3", "v5"])
def test_fractions_radicals_scripts(M, frac, root, sub, sup, subsup):
    a, b = M.line(M.char("a")), M.line(M.char("b"))
    assert latex(M.eq(M.tmpl(*frac, a, b))) == r"\frac{a}{b}"
    assert latex(M.eq(M.tmpl(*root, a, M.NULL))) == r"\sqrt{a}"
    assert latex(M.eq(M.tmpl(root[0], 1, a, M.line(M.char("3", NUMBER))))) == r"\sqrt[3]{a}"
    n = M.char("N")
    assert latex(M.eq(n, M.tmpl(*sub, M.line(M.char("RB", TEXT)), M.NULL))) == r"N_{\mathrm{RB}}"
    assert latex(M.eq(n, M.tmpl(*sup, M.NULL, M.line(M.char("2", NUMBER))))) == r"N^{2}"
    assert latex(M.eq(n, M.tmpl(*subsup, a, b))) == r"N_{a}^{b}"
    # a script after a primed character: braces keep it one superscript
    q = M.char("Q", embell=(5,))
    assert latex(M.eq(q, M.tmpl(*subsup, a, b))) == r"{Q'}_{a}^{b}"
    assert latex(M.eq(q, M.tmpl(*sub, a, M.NULL))) == r"Q'_{a}"
    # a prime typed as a character before a subscript joins its base
    assert latex(M.eq(M.char("Q"), M.char("'", FUNCTION), M.tmpl(*sub, a, M.NULL))) == r"Q'_{a}"
    # a typed space (text style) at the end of a slot stays a space, not a lone backslash
    assert latex(M.eq(M.tmpl(*frac, M.line(M.char("a"), M.char(" ", TEXT)), b))) == r"\frac{a~}{b}"
    # a script with nothing before it
    assert latex(M.eq(M.tmpl(*sub, a, M.NULL))) == r"{}_{a}"


def test_prescripts():
    u, sub, sup = V5.char("U"), V5.line(V5.char("92", NUMBER)), V5.line(V5.char("235", NUMBER))
    assert latex(V5.eq(V5.tmpl(29, 0x01, sub, sup), u)) == r"{}_{92}^{235}{U}"
    assert latex(V5.eq(V5.char("+", SYMBOL), V5.tmpl(29, 0x01, sub, sup), u)) == r"+{}_{92}^{235}{U}"
    # right after a symbol a "preceding" script looks like that symbol's own: M_{3}
    assert latex(V5.eq(V5.char("M"), V5.tmpl(27, 0x01, V5.line(V5.char("3", NUMBER)), V5.NULL),
                       V5.char("⋅", SYMBOL), V5.char("N"))) == r"M_{3}\cdot N"
    assert latex(V3.eq(V3.tmpl(44, 0, V3.line(V3.char("a")), V3.NULL), V3.char("X"))) == r"{}_{a}{X}"


def test_slash_and_small_fractions():
    a, b = V3.line(V3.char("a")), V3.line(V3.char("b"))
    assert latex(V3.eq(V3.tmpl(41, 0, a, b))) == r"{a}/{b}"
    a5, b5 = V5.line(V5.char("a")), V5.line(V5.char("b"))
    assert latex(V5.eq(V5.tmpl(11, 0x02, a5, b5))) == r"{a}/{b}"
    assert latex(V5.eq(V5.tmpl(11, 0x01, a5, b5))) == r"\tfrac{a}{b}"


@pytest.mark.parametrize("M", [V3, V5], ids=["v3", "v5"])
@pytest.mark.parametrize("selector,variation,left,right,expected", [
    (1, 3, "(", ")", r"\left( x \right)"),
    (3, 3, "[", "]", r"\left[ x \right]"),
    (2, 1, "{", "", r"\left\{ x \right."),  # cases: left brace only
    (4, 3, "\uec07", "\uec08", r"\left| x \right|"),  # MathType's expanding bars
    (6, 3, "\uf8f0", "\uf8fb", r"\left\lfloor x \right\rfloor"),  # Symbol bracket pieces
    (7, 3, "\uf8ee", "\uf8f9", r"\left\lceil x \right\rceil"),
    (0, 3, "〈", "〉", r"\left\langle x \right\rangle"),
])
def test_fences(M, selector, variation, left, right, expected):
    glyphs = [M.char(ch, EXPAND) if ch else M.char("\0", EXPAND) for ch in (left, right)]
    assert latex(M.eq(M.tmpl(selector, variation, M.line(M.char("x")), *glyphs))) == expected


def test_big_operators():
    # v3: sum (29), integral (21), product (31), each with main, lower, upper, operator glyph
    main, low, up = V3.line(V3.char("x")), V3.line(V3.char("i"), V3.char("=", SYMBOL), V3.char("0", NUMBER)), \
        V3.line(V3.char("N"))
    assert latex(V3.eq(V3.tmpl(29, 1, main, low, up, V3.char("∑", SYMBOL)))) == r"\sum_{i=0}^{N} x"
    assert latex(V3.eq(V3.tmpl(21, 2, main, low, up, V3.char("∫", SYMBOL)))) == r"\int_{i=0}^{N} x"
    assert latex(V3.eq(V3.tmpl(31, 0, main, low, V3.NULL, V3.char("∏", SYMBOL)))) == r"\prod_{i=0} x"
    # v5: sum with lower and upper limits (0x10 | 0x20 | 0x40 summation style), union
    m5, l5, u5 = V5.line(V5.char("x")), V5.line(V5.char("i")), V5.line(V5.char("N"))
    assert latex(V5.eq(V5.tmpl(16, 0x70, m5, l5, u5, V5.char("∑", SYMBOL)))) == r"\sum_{i}^{N} x"
    assert latex(V5.eq(V5.tmpl(19, 0x50, m5, l5, V5.NULL, V5.char("⋃", SYMBOL)))) == r"\bigcup_{i} x"
    # the operator in a slot of its own (MathType users put a φ there to get φ_{l,i})
    assert latex(V5.eq(V5.tmpl(21, 0x10, V5.NULL, V5.line(V5.char("l")), V5.NULL,
                               V5.line(V5.char("φ", LCGREEK))))) == r"\phi_{l}"
    # no operator glyph: the selector's own operator
    assert latex(V5.eq(V5.tmpl(17, 0x70, m5, l5, u5))) == r"\prod_{i}^{N} x"


def test_limits_braces_bars_arrows_boxes():
    x = V5.line(V5.char("x"))
    lim = V5.line(V5.char("lim", FUNCTION))
    assert latex(V5.eq(V5.tmpl(23, 0, lim, x, V5.NULL))) == r"\lim_{x}"
    assert latex(V5.eq(V5.tmpl(24, 1, x, V5.line(V5.char("n")), V5.char("⏞", EXPAND)))) == r"\overbrace{x}^{n}"
    assert latex(V5.eq(V5.tmpl(24, 0, x, V5.line(V5.char("n")), V5.char("⏟", EXPAND)))) == r"\underbrace{x}_{n}"
    assert latex(V5.eq(V5.tmpl(13, 0, x))) == r"\overline{x}"
    assert latex(V5.eq(V5.tmpl(12, 0, x))) == r"\underline{x}"
    assert latex(V5.eq(V5.tmpl(14, 0x24, x, V5.NULL))) == r"\xrightarrow{x}"
    assert latex(V5.eq(V5.tmpl(14, 0x1C, x, V5.line(V5.char("y"))))) == r"\xleftarrow[y]{x}"
    assert latex(V3.eq(V3.tmpl(20, 0, V3.line(V3.char("x")), V3.NULL))) == r"\overset{x}{\leftrightarrow}"
    assert latex(V5.eq(V5.tmpl(31, 0x02, x, V5.char("→", SYMBOL)))) == r"\overrightarrow{x}"
    assert latex(V5.eq(V5.tmpl(33, 0, x, V5.char("^", SYMBOL)))) == r"\widehat{x}"
    assert latex(V5.eq(V5.tmpl(32, 0, x, V5.char("~", SYMBOL)))) == r"\widetilde{x}"
    assert latex(V5.eq(V5.tmpl(37, 0x1E, x))) == r"\boxed{x}"
    # v3: arrows and vectors have a selector per direction
    x3 = V3.line(V3.char("x"))
    assert latex(V3.eq(V3.tmpl(47, 1, x3, V3.char("→", SYMBOL)))) == r"\overrightarrow{x}"
    assert latex(V3.eq(V3.tmpl(47, 0, x3, V3.char("←", SYMBOL)))) == r"\overleftarrow{x}"
    assert latex(V3.eq(V3.tmpl(46, 2, x3, V3.char("↔", SYMBOL)))) == r"\underleftrightarrow{x}"
    assert latex(V5.eq(V5.tmpl(31, 0x05, x, V5.char("←", SYMBOL)))) == r"\underleftarrow{x}"
    assert latex(V3.eq(V3.tmpl(27, 0, x3, V3.line(V3.char("n")), V3.char("⏞", EXPAND)))) == r"\overbrace{x}^{n}"


@pytest.mark.parametrize("selector,variation,extra,expected", [
    (5, 3, ("‖", "‖"), r"\left\| x \right\|"),  # double bars
    (9, 0x12, ("(", "]"), r"\left( x \right]"),  # interval: the glyphs shown win
    (9, 0x12, (), r"\left[ x \right)"),  # (no glyphs: 0x02 left bracket, 0x10 right parenthesis)
    (25, 1, ("⎴",), r"\overline{x}"),  # horizontal bracket, slot on top, no label
    (26, 0, (), r"\left)x\right."),  # long division
    (30, 3, (), r"\langle x | y\rangle"),  # Dirac bra-ket
    (34, 0, (), r"\overset{\frown}{x}"),  # arc
    (35, 0, (), r"x\rfloor"),  # joint status
    (36, 1, (), r"\cancel{x}"),  # strike-through
])
def test_other_templates(selector, variation, extra, expected):
    glyphs = [V5.char(ch, EXPAND) for ch in extra]
    slots = [V5.line(V5.char("x"))] + ([V5.line(V5.char("y"))] if selector == 30 else [])
    assert latex(V5.eq(V5.tmpl(selector, variation, *slots, *glyphs))) == expected


@pytest.mark.parametrize("M", [V3, V5], ids=["v3", "v5"])
def test_embellishments(M):
    marks = {9: r"\hat{x}", 17: r"\bar{x}", 8: r"\tilde{x}", 2: r"\dot{x}", 3: r"\ddot{x}", 5: "x'",
             6: "x''", 11: r"\vec{x}"}
    for mark, expected in marks.items():
        assert latex(M.eq(M.char("x", embell=(mark,)))) == expected
    assert latex(M.eq(M.char("d", embell=(17, 17)))) == r"\bar{\bar{d}}"  # two embellishments


@pytest.mark.parametrize("M", [V3, V5], ids=["v3", "v5"])
def test_piles_and_matrices(M):
    eq1 = M.line(M.char("k"), M.char("=", SYMBOL), M.char("a"))
    eq2 = M.line(M.char("m"), M.char("'", SYMBOL), M.char("=", SYMBOL), M.char("b"))
    assert latex(M.eq(M.pile(4, eq1, eq2))) == r"\begin{aligned}k&=a \\ m'&=b\end{aligned}"
    assert latex(M.eq(M.pile(1, eq1, eq2))) == r"\begin{array}{l}k=a \\ m'=b\end{array}"
    cells = [M.line(M.char(c)) for c in "abcd"]
    matrix = M.matrix(2, 2, *cells)
    assert latex(M.eq(M.tmpl(3, 3, M.line(matrix), M.char("[", EXPAND), M.char("]", EXPAND)))) == \
        r"\left[ \begin{matrix}a & b \\ c & d\end{matrix} \right]"


# -- what cannot be converted -------------------------------------------------
def reason(data: bytes) -> str:
    with pytest.raises(EquationError) as err:
        ole_to_latex(data)
    return err.value.reason


def test_bad_objects_fail_with_a_reason():
    assert reason(b"not an OLE file at all" * 30) == "corrupt_ole"
    assert reason(cfb({"CONTENTS": b"a Visio drawing"})) == "not_equation"
    assert reason(equation_object(bytes([4, 1, 1, 3, 10, 0]))) == "unknown_mtef_version"
    assert reason(equation_object(V5.HEADER + b"\x32\x00")) == "unknown_mtef_record"  # record type 50
    good = V3.eq(V3.tmpl(14, 0, V3.line(V3.char("a")), V3.line(V3.char("b"))))
    # cut short: the zero padding of the stream reads as END records, so the parser
    # either meets END where a field should be or runs out of bytes; both are reasons
    with pytest.raises(EquationError) as err:
        mtef_to_latex(good[:12])
    assert err.value.reason == "corrupt_mtef"
    with pytest.raises(EquationError) as err:
        mtef_to_latex(b"\x03\x01")
    assert err.value.reason == "corrupt_mtef"


def test_empty_equation_is_empty_latex():
    assert ole_to_latex(equation_object(V3.HEADER + b"\x0a\x0a\x00")) == ("", 0)


def test_objects_are_converted_once_and_by_relationship_id():
    reads = []
    parts = {"word/embeddings/oleObject1.bin": equation_object(V3.eq(V3.char("x"))),
             "word/embeddings/oleObject2.bin": b"garbage" * 100,
             "word/embeddings/oleObject4.bin": b"garbage" * 100}  # the same bytes as 2: converted once

    def read(name):
        reads.append(name)
        return parts[name]

    eqs = OleEquations(read, {"rId1": "word/embeddings/oleObject1.bin", "rId2": "word/embeddings/oleObject2.bin",
                              "rId3": "word/embeddings/oleObject3.bin", "rId4": "word/embeddings/oleObject4.bin"})
    assert eqs.convert("rId1") == ("x", None)
    assert eqs.convert("rId1") == ("x", None)
    assert eqs.convert("rId2") == (None, "corrupt_ole")
    assert eqs.convert("rId3") == (None, "missing_part")  # listed, not in the package
    assert eqs.convert("rId9") == (None, "missing_part")  # not even listed
    assert eqs.convert("rId4") == (None, "corrupt_ole")
    assert reads.count("word/embeddings/oleObject1.bin") == 1
    # the parts that stayed placeholders, for the report (a missing relationship names no part)
    assert [f[:2] for f in eqs.failures()] == [("word/embeddings/oleObject2.bin", "corrupt_ole"),
                                              ("word/embeddings/oleObject3.bin", "missing_part"),
                                              ("word/embeddings/oleObject4.bin", "corrupt_ole")]


def test_damaged_objects_only_ever_fail_with_a_reason():
    import random

    rng = random.Random(13)
    good = [equation_object(V3.eq(V3.tmpl(14, 0, V3.line(V3.char("a", embell=(5,))), V3.line(V3.char("b"))))),
            equation_object(V5.eq(V5.tmpl(16, 0x70, V5.line(V5.char("x")), V5.line(V5.char("i")), V5.NULL,
                                          V5.char("∑", SYMBOL)), V5.pile(4, V5.line(V5.char("k")))))]
    outcomes = set()
    for _ in range(400):
        data = bytearray(rng.choice(good))
        if rng.random() < 0.3:
            data = data[:rng.randrange(len(data))]
        else:  # damage the container (first sectors) or the MTEF bytes
            for _ in range(rng.randint(1, 6)):
                data[rng.choice((rng.randrange(1536), rng.randrange(1536, 1536 + 200)))] = rng.randrange(256)
        try:
            ole_to_latex(bytes(data))
            outcomes.add("converted")
        except EquationError as exc:
            outcomes.add(exc.reason)
    assert {"converted", "corrupt_ole"} <= outcomes and outcomes <= {"converted", *REASONS}
