"""Office Math Markup (OMML, ``m:oMath``) -> LaTeX.

Covers the constructs Word's equation editor writes (and that TS 38.211 uses by the
thousand): runs with plain/normal text styles, sub/superscripts (also prescripts),
fractions, radicals, n-ary operators, delimiters (with separators), functions,
lower/upper limits, accents, bars, boxes, group characters, matrices and equation
arrays. An element it does not know contributes the LaTeX of its children, so content
is never dropped. Unicode operators and Greek letters become LaTeX commands; LaTeX
special characters in text are escaped.
"""
from __future__ import annotations

from typing import Callable, Dict, List

M = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_VAL = M + "val"
_MT, _MRPR, _WBR, _NOR, _STY, _ALN, _E = M + "t", M + "rPr", W + "br", M + "nor", M + "sty", M + "aln", M + "e"

SYMBOLS: Dict[str, str] = {
    # Greek
    "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta", "ε": r"\varepsilon", "ϵ": r"\epsilon",
    "ζ": r"\zeta", "η": r"\eta", "θ": r"\theta", "ϑ": r"\vartheta", "ι": r"\iota", "κ": r"\kappa",
    "λ": r"\lambda", "μ": r"\mu", "ν": r"\nu", "ξ": r"\xi", "π": r"\pi", "ϖ": r"\varpi", "ρ": r"\rho",
    "ϱ": r"\varrho", "σ": r"\sigma", "ς": r"\varsigma", "τ": r"\tau", "υ": r"\upsilon", "φ": r"\phi",
    "ϕ": r"\phi", "χ": r"\chi", "ψ": r"\psi", "ω": r"\omega", "Γ": r"\Gamma", "Δ": r"\Delta",
    "Θ": r"\Theta", "Λ": r"\Lambda", "Ξ": r"\Xi", "Π": r"\Pi", "Σ": r"\Sigma", "Υ": r"\Upsilon",
    "Φ": r"\Phi", "Ψ": r"\Psi", "Ω": r"\Omega", "µ": r"\mu",
    # relations and operators
    "≤": r"\le", "≥": r"\ge", "≠": r"\ne", "≈": r"\approx", "≡": r"\equiv", "∼": r"\sim", "≅": r"\cong",
    "∝": r"\propto", "≪": r"\ll", "≫": r"\gg", "∈": r"\in", "∉": r"\notin", "∋": r"\ni", "⊂": r"\subset",
    "⊃": r"\supset", "⊆": r"\subseteq", "⊇": r"\supseteq", "∪": r"\cup", "∩": r"\cap", "∅": r"\emptyset",
    "∀": r"\forall", "∃": r"\exists", "¬": r"\neg", "∧": r"\wedge", "∨": r"\vee", "⊕": r"\oplus",
    "⊗": r"\otimes", "⊙": r"\odot", "×": r"\times", "÷": r"\div", "·": r"\cdot", "⋅": r"\cdot",
    "∙": r"\cdot", "∗": r"\ast", "∘": r"\circ", "±": r"\pm", "∓": r"\mp", "−": "-", "∞": r"\infty",
    "∂": r"\partial", "∇": r"\nabla", "√": r"\surd", "→": r"\rightarrow", "←": r"\leftarrow",
    "↔": r"\leftrightarrow", "⇒": r"\Rightarrow", "⇐": r"\Leftarrow", "⇔": r"\Leftrightarrow",
    "↦": r"\mapsto", "…": r"\ldots", "⋯": r"\cdots", "⋮": r"\vdots", "⋱": r"\ddots", "′": "'",
    "″": "''", "ℓ": r"\ell", "ℜ": r"\Re", "ℑ": r"\Im", "ℕ": r"\mathbb{N}", "ℤ": r"\mathbb{Z}",
    "ℝ": r"\mathbb{R}", "ℂ": r"\mathbb{C}", "∑": r"\sum", "∏": r"\prod", "∫": r"\int", "∮": r"\oint",
    "⌊": r"\lfloor", "⌋": r"\rfloor", "⌈": r"\lceil", "⌉": r"\rceil", "⟨": r"\langle", "⟩": r"\rangle",
    "〈": r"\langle", "〉": r"\rangle", "‖": r"\|", "°": r"^{\circ}", "\u2061": "", "\u2062": "",
    "\u2063": "", "\u200b": "", "\u00a0": r"\ ",
}
_ESCAPE = {"\\": r"\backslash ", "#": r"\#", "$": r"\$", "%": r"\%", "&": r"\&", "_": r"\_", "{": r"\{",
           "}": r"\}", "~": r"\sim ", "^": r"\hat{}"}
_TEXT_ESCAPE = {"\\": r"\textbackslash{}", "#": r"\#", "$": r"\$", "%": r"\%", "&": r"\&", "_": r"\_",
                "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
_NARY = {"∑": r"\sum", "∏": r"\prod", "∐": r"\coprod", "∫": r"\int", "∬": r"\iint", "∭": r"\iiint",
         "∮": r"\oint", "⋃": r"\bigcup", "⋂": r"\bigcap", "⋁": r"\bigvee", "⋀": r"\bigwedge",
         "⨁": r"\bigoplus", "⨂": r"\bigotimes"}
_ACCENT = {"\u0302": r"\hat", "^": r"\hat", "\u0303": r"\tilde", "~": r"\tilde", "\u0304": r"\bar",
           "\u0305": r"\overline", "¯": r"\bar", "\u0307": r"\dot", "\u0308": r"\ddot", "\u20d7": r"\vec",
           "\u2192": r"\vec", "\u030c": r"\check", "\u0306": r"\breve", "\u0301": r"\acute", "\u0300": r"\grave"}
_DELIM = {"(": "(", ")": ")", "[": "[", "]": "]", "{": r"\{", "}": r"\}", "|": "|", "‖": r"\|",
          "⌊": r"\lfloor", "⌋": r"\rfloor", "⌈": r"\lceil", "⌉": r"\rceil", "⟨": r"\langle", "⟩": r"\rangle",
          "〈": r"\langle", "〉": r"\rangle", "": "."}
_FUNCS = {"sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh",
          "log", "ln", "lg", "exp", "min", "max", "sup", "inf", "lim", "det", "dim", "ker", "arg", "deg",
          "gcd", "Pr", "mod"}


def escape_math(text: str) -> str:
    """Math-mode LaTeX of plain text: Unicode symbols as commands, specials escaped."""
    out = []
    for ch in text:
        if ch in SYMBOLS:
            cmd = SYMBOLS[ch]
            out.append(cmd + " " if cmd[:1] == "\\" and cmd[-1:].isalpha() else cmd)
        elif ch in _ESCAPE:
            out.append(_ESCAPE[ch])
        else:
            out.append(ch)
    return "".join(out)


def escape_text(text: str) -> str:
    """LaTeX of text inside ``\\text{...}``."""
    return "".join(_TEXT_ESCAPE.get(ch, ch) for ch in text)


def _join(parts: List[str]) -> str:
    """Concatenate LaTeX pieces, keeping a command name apart from a following letter."""
    out = ""
    for part in parts:
        if not part:
            continue
        if out.endswith(" ") and part.startswith(" "):
            part = part.lstrip()
        out += part
    return out


def _child(el, tag: str):
    """The first child with this tag (``el.find(tag)`` without ElementPath's per-call cost,
    which dominated conversion: TS 38.211 has ~60,000 OMML nodes)."""
    for child in el:
        if child.tag == tag:
            return child
    return None


def _children_tagged(el, tag: str) -> list:
    """All children with this tag, in order (``el.findall(tag)``)."""
    return [child for child in el if child.tag == tag]


def _prop(el, pr_tag: str, child: str, default=None):
    pr = _child(el, M + pr_tag)
    if pr is None:
        return default
    node = _child(pr, M + child)
    if node is None:
        return default
    return node.get(_VAL, "on" if default is None else default)


def _group(latex: str) -> str:
    latex = latex.strip()
    return "{" + latex + "}"


class OmmlConverter:
    """Converts ``m:oMath`` / ``m:oMathPara`` elements; stateless, reuse one instance."""

    def __init__(self) -> None:
        self._handlers: Dict[str, Callable] = {
            M + "r": self._run, M + "e": self._children, M + "oMath": self._children,
            M + "sSub": self._ssub, M + "sSup": self._ssup, M + "sSubSup": self._ssubsup,
            M + "sPre": self._spre, M + "f": self._frac, M + "rad": self._rad, M + "nary": self._nary,
            M + "d": self._delim, M + "func": self._func, M + "fName": self._children,
            M + "limLow": self._limlow, M + "limUpp": self._limupp, M + "acc": self._acc,
            M + "bar": self._bar, M + "box": self._children, M + "borderBox": self._borderbox,
            M + "groupChr": self._groupchr, M + "m": self._matrix, M + "eqArr": self._eqarr,
            M + "phant": self._phant, M + "num": self._children, M + "den": self._children,
            M + "sub": self._children, M + "sup": self._children, M + "deg": self._children,
            M + "lim": self._children, W + "r": self._wrun, M + "oMathPara": self._para,
        }
        self._aligned = False

    # -- public -----------------------------------------------------------
    def convert(self, el) -> str:
        """LaTeX of an ``m:oMath`` or ``m:oMathPara`` (without the ``$`` delimiters)."""
        return " ".join(self._node(el).split())

    # -- dispatch ---------------------------------------------------------
    def _node(self, el) -> str:
        tag = el.tag
        handler = self._handlers.get(tag)
        if handler is not None:
            return handler(el)
        if isinstance(tag, str) and tag.endswith("Pr"):  # property elements: no content
            return ""
        return self._children(el)

    def _children(self, el) -> str:
        return _join([self._node(child) for child in el if isinstance(child.tag, str)])

    def _arg(self, el, tag: str) -> str:
        child = _child(el, M + tag)
        return self._node(child).strip() if child is not None else ""

    # -- runs -------------------------------------------------------------
    def _run(self, el) -> str:
        text = "".join(t.text or "" for t in el.iter(_MT))
        aln = ""
        rpr = br = None
        for child in el:  # one pass for m:rPr and w:br (the first of each, as find())
            tag = child.tag
            if tag == _MRPR:
                rpr = child if rpr is None else rpr
            elif tag == _WBR:
                br = child if br is None else br
        normal = plain = False
        if rpr is not None:
            sty = None
            for prop in rpr:
                tag = prop.tag
                if tag == _NOR:
                    normal = True
                elif tag == _STY:
                    sty = prop if sty is None else sty
                elif tag == _ALN and self._aligned:
                    aln = "&"
            plain = sty is not None and sty.get(_VAL) == "p"
        if br is not None:
            return aln + (r" \\ " if self._aligned else " ")
        if not text:
            return aln
        if normal:
            return aln + r"\text{" + escape_text(text) + "}"
        if plain and len(text) > 1 and text.strip().isalpha():
            word = text.strip()
            return aln + (rf"\{word} " if word in _FUNCS else r"\mathrm{" + word + "}")
        return aln + escape_math(text)

    def _wrun(self, el) -> str:
        text = "".join(t.text or "" for t in el.iter(W + "t"))
        return r"\text{" + escape_text(text) + "}" if text.strip() else ""

    # -- scripts ----------------------------------------------------------
    def _base(self, el) -> str:
        base = self._arg(el, "e")
        return base if len(base) == 1 or (base.startswith("\\") and base[1:].isalpha()) else _group(base)

    def _ssub(self, el) -> str:
        return self._base(el) + "_" + _group(self._arg(el, "sub"))

    def _ssup(self, el) -> str:
        return self._base(el) + "^" + _group(self._arg(el, "sup"))

    def _ssubsup(self, el) -> str:
        return self._base(el) + "_" + _group(self._arg(el, "sub")) + "^" + _group(self._arg(el, "sup"))

    def _spre(self, el) -> str:
        return "{}_" + _group(self._arg(el, "sub")) + "^" + _group(self._arg(el, "sup")) + self._base(el)

    # -- structures -------------------------------------------------------
    def _frac(self, el) -> str:
        num, den = self._arg(el, "num"), self._arg(el, "den")
        kind = _prop(el, "fPr", "type", "bar")
        if kind == "noBar":
            return r"\genfrac{}{}{0pt}{}" + _group(num) + _group(den)
        if kind == "lin":
            return _group(num) + "/" + _group(den)
        return r"\frac" + _group(num) + _group(den)

    def _rad(self, el) -> str:
        deg = self._arg(el, "deg")
        hide = _prop(el, "radPr", "degHide", "off") in ("on", "1", "true")
        if deg and not hide:
            return r"\sqrt[" + deg + "]" + _group(self._arg(el, "e"))
        return r"\sqrt" + _group(self._arg(el, "e"))

    def _nary(self, el) -> str:
        char = _prop(el, "naryPr", "chr", "∫")
        op = _NARY.get(char, escape_math(char))
        out = op
        sub, sup = self._arg(el, "sub"), self._arg(el, "sup")
        if sub:
            out += "_" + _group(sub)
        if sup:
            out += "^" + _group(sup)
        return out + " " + self._arg(el, "e")

    def _delim(self, el) -> str:
        beg = _prop(el, "dPr", "begChr", "(")
        end = _prop(el, "dPr", "endChr", ")")
        sep = _prop(el, "dPr", "sepChr", "|")
        items = [self._node(e).strip() for e in _children_tagged(el, _E)]
        sep_tex = escape_math(sep) if sep != "|" else r" \mid "
        inner = sep_tex.join(items) if len(items) > 1 else (items[0] if items else "")
        left = _DELIM.get(beg, escape_math(beg))
        right = _DELIM.get(end, escape_math(end))
        return r"\left" + left + " " + inner + r" \right" + right

    def _func(self, el) -> str:
        name = self._arg(el, "fName")
        return name + " " + self._arg(el, "e")

    def _limlow(self, el) -> str:
        base = self._arg(el, "e")
        lim = self._arg(el, "lim")
        if base.rstrip().startswith("\\") and base.strip()[1:] in _FUNCS:
            return base.strip() + "_" + _group(lim)
        return r"\underset" + _group(lim) + _group(base)

    def _limupp(self, el) -> str:
        return r"\overset" + _group(self._arg(el, "lim")) + _group(self._arg(el, "e"))

    def _acc(self, el) -> str:
        char = _prop(el, "accPr", "chr", "\u0302")
        cmd = _ACCENT.get(char, r"\hat")
        return cmd + _group(self._arg(el, "e"))

    def _bar(self, el) -> str:
        pos = _prop(el, "barPr", "pos", "bot")
        return (r"\overline" if pos == "top" else r"\underline") + _group(self._arg(el, "e"))

    def _borderbox(self, el) -> str:
        return r"\boxed" + _group(self._arg(el, "e"))

    def _groupchr(self, el) -> str:
        char = _prop(el, "groupChrPr", "chr", "⏟")
        pos = _prop(el, "groupChrPr", "pos", "bot")
        base = self._arg(el, "e")
        if char in ("⏟", "⏞", "︸", "︷"):
            return (r"\overbrace" if pos == "top" else r"\underbrace") + _group(base)
        sym = escape_math(char)
        return (r"\overset" if pos == "top" else r"\underset") + _group(sym) + _group(base)

    def _matrix(self, el) -> str:
        rows = []
        for mr in _children_tagged(el, M + "mr"):
            rows.append(" & ".join(self._node(e).strip() for e in _children_tagged(mr, _E)))
        return r"\begin{matrix}" + r" \\ ".join(rows) + r"\end{matrix}"

    def _eqarr(self, el) -> str:
        saved, self._aligned = self._aligned, True
        try:
            rows = [self._node(e).strip() for e in _children_tagged(el, _E)]
        finally:
            self._aligned = saved
        return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"

    def _phant(self, el) -> str:
        show = _prop(el, "phantPr", "show", "on")
        return self._arg(el, "e") if show in ("on", "1", "true") else ""

    def _para(self, el) -> str:
        maths = _children_tagged(el, M + "oMath")
        if len(maths) <= 1:
            return self._children(el)
        saved, self._aligned = self._aligned, True
        try:
            lines = [self._node(m).strip() for m in maths]
        finally:
            self._aligned = saved
        lines = [line[:-2].rstrip() if line.endswith(r"\\") else line for line in lines]
        if not any("&" in line for line in lines):
            return r"\begin{gathered}" + r" \\ ".join(lines) + r"\end{gathered}"
        return r"\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}"
