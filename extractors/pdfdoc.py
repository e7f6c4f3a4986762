"""A PDF's text layer as clean markdown (any kind of PDF: papers, ETSI spec editions, reports).

One entry point, :func:`pdf_to_markdown`, and its result :class:`PdfText`::

    from telecom_etl.extractors.pdfdoc import PdfError, pdf_to_markdown
    pdf = pdf_to_markdown(data)             # raises PdfError (a StageFailure) for bad input
    pdf.markdown, pdf.page_count, pdf.metadata, pdf.title, pdf.quality, pdf.removed

What it does, from PyMuPDF's positioned lines (``get_text("dict")``, one pass per page):

* reading order: gutters are found from where lines do not cross, a page is cut into
  bands at lines that span the gutter, and each band is read column by column;
  pieces of one visual line (sub/superscripts, justified words) are merged back;
* running headers/footers and page numbers go: lines that repeat across pages (digits
  folded, so "Page 3" and "Page 4" are one line) or that sit in the page margin outside
  the text area and look like banners/page numbers, and cover pages stamped by a
  repository (a first or last page whose fonts or size the rest of the file never uses);
* line-end hyphens are joined unless the document itself writes the word with a hyphen
  ("multiple-input" stays, "poten-tial" becomes "potential"); ligatures are expanded;
* figure debris (axis ticks, legends, block-diagram labels: short lines in small or
  figure-only fonts) and rotated text (margin stamps, axis titles) are dropped;
* headings (numbered "III. SYSTEM MODEL", "2.1 Setup", or short bold/caps/large lines)
  become markdown headings; the References/Bibliography section is dropped when asked;
* quality signals (control/replacement characters, broken words, empty pages, Type-3
  fonts) say whether the text layer is garbage (``quality["garbage"]`` holds the reason):
  the caller decides to fail, drop or flag.

``quality`` keys: ``chars``, ``pages_without_text``, ``failed_pages`` (pages MuPDF could not
read), ``bad_char_ratio`` (control/unmapped characters), ``broken_word_ratio`` (stray one- and
two-letter fragments in the main font), ``main_font_share``, ``odd_token_ratio`` (glyph codes
such as ``/#28`` or ``cid:72``), ``type3_fonts`` (looked up only for a garbage layer) and
``garbage`` (the reason, or None), ``glyphs_mapped`` / ``glyphs_unmapped`` (characters without
Unicode in the file: mapped through their font's encoding or glyph names by
:mod:`telecom_etl.extractors.pdfglyphs`, or left unknown and dropped from the text) and
``unmapped_char_share`` (unknown ones per visible character). ``removed`` counts lines per reason (``running_header_footer``,
``page_number``, ``margin_banner``, ``cover_page`` (pages), ``figure_text``, ``rotated_text``,
``references``).

* display equations (rows around a right-aligned "(N)", or indented rows in maths fonts between
  prose) become one ``$$ ... \\tag{N} $$`` row (``quality["display_equations"]``) or a placeholder
  ``[equation (N)]`` (``quality["equation_placeholders"]``); spans TeX sets apart by position get
  a space; IEEEtran drop caps join their line.

Speed: one ``get_text("dict")`` per page plus linear work in Python, 1.9-2.4x a plain
``page.get_text()`` loop in CPU time on the shared papers (``get_text("dict")`` alone is 1.4-1.7x
there: the Python has 0.3-0.6x of the 2x budget); see ``benchmarks/bench_pdf.py``.
"""
from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from bisect import bisect_left, bisect_right
from itertools import accumulate, chain
from operator import attrgetter
from typing import Dict, List, Optional, Sequence, Tuple

from telecom_etl.extractors.pdfglyphs import GlyphMapper
from telecom_etl.outcome import StageFailure

__all__ = ["PdfError", "PdfText", "pdf_to_markdown", "clean_inline"]


class PdfError(StageFailure):
    """The bytes are not a readable PDF (not a PDF, encrypted, corrupt, no pages)."""

    def __init__(self, reason: str):
        super().__init__(reason)


@dataclass
class PdfText:
    markdown: str
    page_count: int
    metadata: Dict[str, str]  # PDF info dictionary, non-empty values only (dates as ISO)
    title: Optional[str] = None  # largest text at the top of the first content page
    front_lines: List[str] = field(default_factory=list)  # lines between the title and the first heading
    stamps: List[str] = field(default_factory=list)  # removed margin/rotated text (arXiv stamps, banners)
    quality: Dict[str, object] = field(default_factory=dict)  # signals, and "garbage": reason or None
    removed: Dict[str, int] = field(default_factory=dict)  # lines removed, per reason
    # display equations left as a placeholder: (reason, part, detail), reason "lost_glyphs" or
    # "too_few_glyphs", part "page3/equation(2)" (the source reports each as a dropped part)
    placeholders: List[Tuple[str, str, str]] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# text clean-up of one line

_LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
                            "\ufb05": "st", "\ufb06": "st", "\u00a0": " ", "\u2002": " ", "\u2003": " ",
                            "\u2009": " ", "\u202f": " "})
# TeX sets accents as a spacing accent before the letter ("Universit´a"): compose them
_SPACING_ACCENTS = {"\u00b4": "\u0301", "`": "\u0300", "\u00a8": "\u0308", "\u02c6": "\u0302", "^": "\u0302",
                    "\u02dc": "\u0303", "~": "\u0303", "\u00b8": "\u0327", "\u02c7": "\u030c", "\u02da": "\u030a",
                    "\u00af": "\u0304", "\u02d9": "\u0307"}
# (a maths accent, TeX's \bar, \hat, \dot, comes before its letter: "¯P", "ˆγ" are P̄, γ̂)
_ACCENT_RE = re.compile(r"(?<=[A-Za-z])([\u00b4`\u00a8\u02c6\u02dc\u02c7\u02da])\s?([A-Za-z\u0131])|"
                        r"(?<![^\s(\[])([\u00b4\u00a8\u02c6\u02dc\u02c7\u02da\u00af\u02d9])([A-Za-z\u0391-\u03c9])")


def _compose_accent(m: re.Match) -> str:
    accent, letter = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
    letter = "i" if letter == "\u0131" else letter
    return unicodedata.normalize("NFC", letter + _SPACING_ACCENTS[accent])


_INLINE_WORK = re.compile("[\ufb00-\ufb06\u00a0\u2002\u2003\u2009\u202f\u00b4`\u00a8\u02c6\u02dc\u02c7\u02da\u00af\u02d9"
                          "\ufffd\ue000-\uf8ff\x00-\x08\x0b-\x1f]")
# glyphs without a Unicode mapping (U+FFFD, private use: TeX bracket pieces) and control codes
_UNMAPPED = re.compile("[\ufffd\ue000-\uf8ff\x00-\x08\x0b-\x1f]+")
_UNMAPPED_SEARCH = _UNMAPPED.search


def clean_inline(text: str) -> str:
    """Ligatures expanded, odd spaces folded, TeX spacing accents composed ("Universit´a" -> "Università"),
    unmapped glyphs (U+FFFD, private use) and control codes removed."""
    if not _INLINE_WORK.search(text):  # the common case: nothing to do
        return text
    text = _UNMAPPED.sub("", text.translate(_LIGATURES))
    if any(ch in text for ch in "\u00b4`\u00a8\u02c6\u02dc\u02c7\u02da\u00af\u02d9"):
        text = _ACCENT_RE.sub(_compose_accent, text)
    return text


# --------------------------------------------------------------------------------------------
# lines and rows

# fonts that set maths: TeX's (CMMI, CMSY, CMEX, AMS, their Type-1 clones), Symbol, MathType's
_MATH_FONT_RE = re.compile(r"(?:^|\+)(?:CM(?:MI|SY|EX|MIB|BSY)\d|MSAM|MSBM|EUFM|EUSM|rsfs|Symbol|MT(?:Extra|MI|SY)|"
                           r"Euclid|txmi|txsy|txex|pxmi|pxsy|stix|Cambria-?Math|LMMath|NewCMMath|esint)", re.I)
_MATH_FONTS: Dict[str, bool] = {}


def _MATH_FONT(font: str) -> bool:
    """Whether a font sets maths (cached: few fonts, many spans)."""
    known = _MATH_FONTS.get(font)
    if known is None:
        if len(_MATH_FONTS) > 4096:
            _MATH_FONTS.clear()
        known = _MATH_FONTS[font] = bool(_MATH_FONT_RE.search(font))
    return known
_BOLD_NAME = re.compile(r"bold|black|heavy|semibold|demi|medi(?!um)|[-,]bd|cmbx", re.I)
_ITALIC_NAME = re.compile(r"ital|oblique|cmti|[-,]it\b", re.I)


class _Line:
    """One PyMuPDF line (or a merged visual row of several)."""

    __slots__ = ("x0", "y0", "x1", "y1", "base", "text", "size", "font", "bold", "italic", "page", "nchars", "_key",
                 "math")

    def __init__(self, x0, y0, x1, y1, base, text, size, font, bold, italic, page, nchars, math=0.0):
        self.x0, self.y0, self.x1, self.y1, self.base = x0, y0, x1, y1, base
        self.text, self.size, self.font, self.bold, self.italic = text, size, font, bold, italic
        self.page, self.nchars = page, nchars
        self._key = None
        self.math = math  # share of the line's characters set in maths fonts (CMMI, CMSY, Symbol...)

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def key(self) -> str:
        """The line's identity across pages (see :func:`_fold`), computed once."""
        if self._key is None:
            self._key = _fold(self.text)
        return self._key

    def __repr__(self) -> str:  # for debugging and test failure messages
        return f"<{self.page}:{self.x0:.0f},{self.y0:.0f},{self.x1:.0f},{self.y1:.0f} {self.size:.1f} {self.text[:40]!r}>"


_STYLE_CACHE: Dict[Tuple[str, int], Tuple[bool, bool]] = {}


def _style(font: str, flags: int) -> Tuple[bool, bool]:
    """(bold, italic) of a span, from its flags and font name (cached: few fonts, many spans)."""
    key = (font, flags)
    style = _STYLE_CACHE.get(key)
    if style is None:
        if len(_STYLE_CACHE) > 4096:
            _STYLE_CACHE.clear()
        style = _STYLE_CACHE[key] = (bool(flags & 16) or bool(_BOLD_NAME.search(font)),
                                     bool(flags & 2) or bool(_ITALIC_NAME.search(font)))
    return style


_SPAN_STYLES: Dict[Tuple[str, int], Tuple[float, bool, bool]] = {}


def _span_style(font: str, flags: int) -> Tuple[float, bool, bool]:
    """(maths share 1.0/0.0, bold, italic) of a span set in ``font`` with ``flags`` (cached)."""
    if len(_SPAN_STYLES) > 4096:
        _SPAN_STYLES.clear()
    bold, italic = _style(font, flags)
    style = _SPAN_STYLES[(font, flags)] = (1.0 if _MATH_FONT(font) else 0.0, bold, italic)
    return style


def _page_lines(page, pno: int, rotated: List[str], font_text: "defaultdict[str, List[str]]",
                page_size: Optional[List[float]] = None, glyphs=None) -> List[_Line]:
    """Horizontal lines of a page; rotated text goes to ``rotated``; span texts per font to ``font_text``.

    This loop runs once per line of every page: it is kept lean (the speed budget is twice a
    plain ``get_text()`` loop, and building the dict already costs 1.4-1.7x of it). A line of one
    span (most lines of prose, every word of a Type-3 paper) takes the short path.
    """
    import pymupdf

    flags = pymupdf.TEXT_MEDIABOX_CLIP | pymupdf.TEXT_PRESERVE_WHITESPACE  # ligatures expanded by MuPDF
    out: List[_Line] = []
    append = out.append
    span_styles = _SPAN_STYLES
    math_fonts = _MATH_FONTS
    unmapped = _UNMAPPED_SEARCH
    new_line = _Line
    content = page.get_text("dict", flags=flags)
    if page_size is not None:  # the page size comes with the dict (page.rect costs a crop box lookup)
        page_size[:] = [content["width"], content["height"]]
    for block in content["blocks"]:
        for line in block.get("lines", ()):
            spans = line["spans"]
            if len(spans) == 1:
                best = spans[0]
                text = best["text"]
                font = best["font"]
                if unmapped(text) is not None and glyphs is not None:
                    text = glyphs.fix(page, text, font)
                stripped = text.strip()
                if not stripped:
                    continue
                style = span_styles.get((font, best["flags"]))
                if style is None:
                    style = _span_style(font, best["flags"])
                math = style[0]
                if math and "\u01eb" in text:
                    text = text.replace("\u01eb", "\u03b5")  # TeX's epsilon glyph, mapped to U+01EB by some PDFs
                font_text[font].append(text)
                if line["dir"][0] < 0.98:  # rotated or vertical: margin stamps (arXiv id), axis titles
                    rotated.append(stripped)
                    continue
                x0, y0, x1, y1 = line["bbox"]
                append(new_line(x0, y0, x1, y1, best["origin"][1], text, best["size"], font, style[1], style[2], pno,
                                len(stripped), math))
                continue
            best, best_len, size, parts = spans[0], -1, 0.0, []
            math_chars = 0
            prev_x1 = None
            last_font = target = None
            is_math = False
            for span in spans:
                t = span["text"]
                sfont = span["font"]
                if sfont != last_font:  # (neighbouring spans mostly share their font)
                    last_font = sfont
                    target = font_text[sfont]
                    is_math = math_fonts.get(sfont)
                    if is_math is None:
                        is_math = _MATH_FONT(sfont)
                if unmapped(t) is not None and glyphs is not None:
                    t = glyphs.fix(page, t, sfont)
                if is_math:
                    math_chars += len(t)
                    if "\u01eb" in t:
                        t = t.replace("\u01eb", "\u03b5")
                # TeX sets the spaces around maths by position, not with space glyphs
                bbox = span["bbox"]
                ssize = span["size"]
                if prev_x1 is not None and bbox[0] - prev_x1 > 0.2 * ssize and parts and t[:1] != " " \
                        and parts[-1][-1:] != " ":
                    parts.append(" ")
                prev_x1 = bbox[2]
                parts.append(t)
                n = len(t)
                if n > best_len:
                    best, best_len = span, n
                # the largest glyphs: small caps ("I. I" 10 pt + "NTRODUCTION" 8 pt) keep their size
                if ssize > size and t and not t.isspace():
                    size = ssize
                target.append(t)
            text = "".join(parts)
            stripped = text.strip()
            if not stripped:
                continue
            font = best["font"]
            math = math_chars / len(text)
            if line["dir"][0] < 0.98:  # rotated or vertical: margin stamps (arXiv id), axis titles
                rotated.append(stripped)
                continue
            style = span_styles.get((font, best["flags"]))
            if style is None:
                style = _span_style(font, best["flags"])
            x0, y0, x1, y1 = line["bbox"]
            append(new_line(x0, y0, x1, y1, best["origin"][1], text, size, font, style[1], style[2], pno,
                            len(stripped), math))
    return _join_drop_caps(out)


def _join_drop_caps(lines: List[_Line]) -> List[_Line]:
    """IEEEtran's drop cap (a first letter two lines tall, "F" beside "UTURE wireless ...") joins
    the line it starts, which then begins where the letter does."""
    caps = [ln for ln in lines if ln.nchars == 1 and ln.text.strip().isalpha() and ln.text.strip().isupper()]
    if not caps:
        return lines
    usual = statistics.median(ln.size for ln in lines)
    drop = set()
    for cap in caps:
        if cap.size < 1.8 * usual:
            continue
        beside = [ln for ln in lines if ln is not cap and cap.x1 - 1 <= ln.x0 <= cap.x1 + 1.5 * usual
                  and abs(ln.y0 - cap.y0) < 0.6 * cap.size and ln.size < 0.7 * cap.size]
        if not beside:
            continue
        first = min(beside, key=lambda ln: abs(ln.y0 - cap.y0))
        first.text = cap.text.strip() + first.text.lstrip()
        first.nchars += 1
        first._key = None
        for ln in lines:  # the lines set beside the letter are not indented: they start where it does
            if ln is not cap and cap.x1 - 1 <= ln.x0 <= cap.x1 + 1.5 * usual and cap.y0 - 2 <= ln.y0 <= cap.y1:
                ln.x0 = cap.x0
        drop.add(id(cap))
    return [ln for ln in lines if id(ln) not in drop] if drop else lines


def _same_row(anchor: _Line, ln: _Line) -> bool:
    """``ln`` belongs to the visual line of ``anchor``: same baseline, or a sub/superscript of it."""
    if abs(ln.base - anchor.base) <= 0.3 * max(anchor.size, ln.size):
        return True
    small, big = (ln, anchor) if ln.size < anchor.size else (anchor, ln)
    if small.size > 0.85 * big.size:
        return False
    # an index sits within the big line's x-height band, shifted up or down by less than a size
    return abs(small.base - big.base) < 0.6 * big.size


_BY_BASE = attrgetter("base", "x0")
_NCHARS = attrgetter("nchars")


def _merge_rows(lines: List[_Line]) -> List[_Line]:
    """Lines of one column top-down; pieces of one visual line (baseline, indices) joined left to right."""
    lines = sorted(lines, key=_BY_BASE)
    rows: List[List[_Line]] = []
    anchor = None
    for ln in lines:
        if rows and (abs(ln.base - anchor.base) <= 0.3 * anchor.size or _same_row(anchor, ln)):
            rows[-1].append(ln)
            if ln.size > anchor.size:
                anchor = ln
            continue
        rows.append([ln])
        anchor = ln
    merged = []
    for row in rows:
        if len(row) == 1:
            merged.append(row[0])
            continue
        row.sort(key=lambda ln: ln.x0)
        main = max(row, key=lambda ln: ln.nchars * ln.size)
        parts = [row[0].text.strip()]
        for prev, ln in zip(row, row[1:]):
            piece = ln.text.strip()
            tight = ln.x0 - prev.x1 < 0.15 * main.size  # a subscript glued to its symbol
            parts.append(piece if tight else " " + piece)
        nchars = sum(ln.nchars for ln in row)
        merged.append(_Line(row[0].x0, min(ln.y0 for ln in row), max(ln.x1 for ln in row),
                            max(ln.y1 for ln in row), main.base, "".join(parts), main.size, main.font, main.bold,
                            main.italic, main.page, nchars, sum(ln.math * ln.nchars for ln in row) / (nchars or 1)))
    return merged


# --------------------------------------------------------------------------------------------
# columns

def _find_gutter(lines: Sequence[_Line], left: float, right: float) -> Optional[float]:
    """x of the widest vertical gap that most lines do not cross, with text on both sides."""
    width = right - left
    if width < 100 or len(lines) < 6:
        return None
    step = 2.0
    nbins = int(width / step) + 1
    delta = [0] * (nbins + 1)
    for ln in lines:
        if ln.width > 0.6 * width:  # full-width lines (title, wide captions) do not tell columns
            continue
        delta[max(0, int((ln.x0 - left) / step))] += 1
        delta[min(nbins, int((ln.x1 - left) / step) + 1)] -= 1
    cover = list(accumulate(delta))
    # a centred author line or page number may cross the gutter: tolerate a few
    tol = max(2, int(0.04 * len(lines)))
    lo, hi = int(0.2 * nbins), int(0.8 * nbins)
    runs: List[Tuple[int, int]] = []
    start = None
    for i in range(lo, hi + 1):
        empty = i < hi and cover[i] <= tol
        if empty and start is None:
            start = i
        elif not empty and start is not None:
            if (i - start) * step >= 4:
                runs.append((start, i))
            start = None
    # the gutter is the gap with most text fully on both sides (a gap inside a plot has little)
    best, best_score = None, None
    for a, b in sorted(runs, key=lambda r: r[0] - r[1])[:8]:
        # the gutter proper is the emptiest stretch of the gap (a plot margin may extend it)
        low = min(cover[a:b])
        stretch, run_start = (a, a), None
        for i in range(a, b + 1):
            if i < b and cover[i] == low:
                run_start = i if run_start is None else run_start
            elif run_start is not None:
                if i - run_start > stretch[1] - stretch[0]:
                    stretch = (run_start, i)
                run_start = None
        gx = left + (stretch[0] + stretch[1]) / 2 * step
        n_left = n_right = wide_left = wide_right = 0
        for ln in lines:
            if ln.x1 <= gx:
                n_left += 1
                wide_left += ln.width > 0.2 * width
            elif ln.x0 >= gx:
                n_right += 1
                wide_right += ln.width > 0.2 * width
        crossing = len(lines) - n_left - n_right
        if min(wide_left, wide_right) < 3 or crossing > 0.35 * len(lines) or min(n_left, n_right) < 0.15 * len(lines):
            continue
        score = (min(wide_left, wide_right), b - a)
        if best_score is None or score > best_score:
            best, best_score = gx, score
    return best


def _reading_order(lines: List[_Line]) -> List[Tuple[int, List[_Line]]]:
    """Rows of a page in reading order, as (column key, rows) runs; spanning lines cut bands."""
    if not lines:
        return []
    left = min(ln.x0 for ln in lines)
    right = max(ln.x1 for ln in lines)
    gutters: List[float] = []
    gx = _find_gutter(lines, left, right)
    if gx is not None:
        gutters.append(gx)
        # a third column: the side holding two columns is the wider one (a two-column page
        # splits near the middle and is not searched again)
        for side in ([ln for ln in lines if ln.x1 <= gx], [ln for ln in lines if ln.x0 >= gx]):
            if not side:
                continue
            side_left, side_right = min(ln.x0 for ln in side), max(ln.x1 for ln in side)
            if side_right - side_left < 0.58 * (right - left):
                continue
            sub = _find_gutter(side, side_left, side_right)
            if sub is not None and sub - side_left > 120 and side_right - sub > 120:
                gutters.append(sub)
        gutters.sort()
    if not gutters:
        return [(0, _merge_rows(lines))]
    tol = 2.0

    bounds = [left - 1] + gutters + [right + 1]

    first_gutter = gutters[0]
    two_columns = len(gutters) == 1

    def column_of(ln: _Line) -> int:
        """The column holding the line; -1 when it spans; a line poking a little into the gutter
        (an equation number, a long formula) stays in the column holding most of it."""
        if two_columns:  # the common case, without the loop
            if ln.x1 <= first_gutter + tol:
                return 0
            if ln.x0 >= first_gutter - tol:
                return 1
        for i in range(len(bounds) - 1):
            lo, hi = bounds[i], bounds[i + 1]
            if ln.x0 >= lo - tol and ln.x1 <= hi + tol:
                return i
            inside = min(ln.x1, hi) - max(ln.x0, lo)
            if inside > 0.6 * ln.width and ln.width - inside < 25:
                return i
        return -1

    cols = {id(ln): column_of(ln) for ln in lines}
    # a small piece across the gutter (an overflowing equation number) goes with the column
    # that has text on its baseline, so it does not cut the page into bands
    pieces = [ln for ln in lines if cols[id(ln)] < 0 and ln.width < 40]
    if pieces:
        placed = sorted((ln.base, cols[id(ln)]) for ln in lines if cols[id(ln)] >= 0)
        bases = [b for b, _ in placed]
        for ln in pieces:
            lo = bisect_left(bases, ln.base - 0.5 * ln.size)
            hi = bisect_right(bases, ln.base + 0.5 * ln.size)
            company = {col for _, col in placed[lo:hi]}
            if len(company) == 1:
                cols[id(ln)] = company.pop()
    out: List[Tuple[int, List[_Line]]] = []
    band: Dict[int, List[_Line]] = defaultdict(list)
    spanning: List[_Line] = []

    def flush_band():
        for col in sorted(band):
            out.append((col, _merge_rows(band[col])))
        band.clear()

    for ln in sorted(lines, key=lambda ln: (ln.y0, ln.x0)):
        col = cols[id(ln)]
        if col < 0:
            # a spanning line: everything above it in the columns is read first
            flush_band()
            spanning.append(ln)
        else:
            if spanning:
                out.append((-1, _merge_rows(spanning)))
                spanning = []
            band[col].append(ln)
    if spanning:
        flush_band()
        out.append((-1, _merge_rows(spanning)))
    flush_band()
    return out


# --------------------------------------------------------------------------------------------
# the document

_DIGITS = re.compile(r"\d+")
_PAGE_NUMBER = re.compile(r"^\W*(?:page\s*)?(?:\d{1,4}|[ivxlcdm]{1,7})(?:\s*(?:of|/)\s*\d{1,4})?\W*$", re.I)
_HEADING_NUM = re.compile(r"^(?P<num>(?:[IVX]{1,5}|[A-Z]|\d{1,2}(?:\.\d{1,2}){0,3}))(?P<dot>[.)]?)\s+(?P<title>\S.*)$")
_REFERENCES = re.compile(r"^(?:[IVX]{1,5}\.?\s+|\d{1,2}\.?\s+)?(references?|bibliography|literature cited|works cited|"
                         r"references and notes|cited literature)\s*:?$", re.I)
_CAPTION = re.compile(r"^(?:Fig\.|Figure|FIGURE|FIG\.|Table|TABLE|Algorithm|ALGORITHM)\s*[0-9IVX]+[a-z]?\s*[.:\u2014-]")
_SENTENCE_END = re.compile(r"[.!?:;\u201d\"')\]]$")
_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]+")
_PUNCT = ".,;:!?()[]{}\"'\u2018\u2019\u201c\u201d"
_LAST_WORD = re.compile(r"([A-Za-z\u00c0-\u024f]+)[-\u2010\u00ad]$")
# frequent one- and two-letter English words: other short letter tokens count as broken words
_SHORT_WORDS = frozenset("a i o an as at be by do go he if in is it me my no of on or so to up us we "
                         "am et al eg ie vs db hz ms km ns".split())


_NUMBER = re.compile(r"[-\u2212+]?\d+(?:[.,]\d+)*%?")
# a word of prose: three letters or more, not all capitals (SNR, MIMO), not a maths operator name
_DEBRIS_HEADING = re.compile(r"[|{}<>=^~\\_]|\w\)\w|\d[A-Za-z]|[A-Za-z]\d")
_LONG_WORD = re.compile(r"\b(?!(?:log|exp|max|min|arg|det|diag|sin|cos|tan|lim|sup|inf|mod|erf|sgn|var)\b)"
                        r"[A-Za-z][a-z]{2,}")
_EQUATION_NUMBER = re.compile(r"\((\d{1,3}[a-z]?)\)\s*$")
_EQUATION_FONT = "\0display-equation"  # the font of a row that holds a whole display equation (tested by identity)
_ODD_TOKEN = re.compile(r"(?:^|\s)/?#[0-9A-Fa-f]{2}|/g\d+\b|\\\d{3}|\bcid:\d+|/uni[0-9A-F]{4}")
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\ue000-\uf8ff]")


def _fold(text: str) -> str:
    """A line's identity across pages: case, spacing and numbers ignored."""
    return _DIGITS.sub("#", text.strip().lower())


def _iso_date(value: str) -> Optional[str]:
    m = re.match(r"^D?:?(\d{4})(\d{2})?(\d{2})?", value or "")
    if not m or not (1970 <= int(m.group(1)) <= 2100):
        return None
    parts = [m.group(1)] + [g for g in (m.group(2), m.group(3)) if g]
    return "-".join(parts)


def _open(data: bytes, password: Optional[str]):
    import pymupdf

    head = data[:1024]
    if not data.strip():
        raise PdfError("empty file")
    if b"%PDF-" not in head:
        raise PdfError("not a PDF (no %PDF- header)")
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as exc:  # MuPDF's FileDataError and friends: one clear line
        raise PdfError(f"corrupt PDF: {str(exc).strip() or type(exc).__name__}") from None
    if doc.needs_pass and not (password is not None and doc.authenticate(password)):
        doc.close()
        raise PdfError("encrypted PDF (password required)")
    if doc.page_count == 0:
        doc.close()
        raise PdfError("corrupt PDF: no pages")
    return doc


def pdf_to_markdown(data: bytes, *, drop_references: bool = True, drop_cover_pages: bool = True,
                    drop_figure_text: bool = True, password: Optional[str] = None) -> PdfText:
    """Clean markdown of a PDF's text layer, with metadata and quality signals.

    Raises :class:`PdfError` (a :class:`~telecom_etl.outcome.StageFailure`) when ``data`` is not
    a PDF, is encrypted, corrupt or has no pages. A garbage text layer does not raise: see
    ``PdfText.quality["garbage"]``.
    """
    doc = _open(data, password)
    try:
        return _Extraction(doc, drop_references, drop_cover_pages, drop_figure_text).run()
    finally:
        doc.close()


class _Extraction:
    """The steps of :func:`pdf_to_markdown` over one open document.

    A page is a list of runs ``(column, rows)`` in reading order (column -1: spanning rows).
    """

    def __init__(self, doc, drop_references: bool, drop_cover_pages: bool, drop_figure_text: bool):
        self.doc = doc
        self.drop_references, self.drop_cover_pages = drop_references, drop_cover_pages
        self.drop_figure_text = drop_figure_text
        self.removed: Counter = Counter()
        self.stamps: List[str] = []
        self.failed_pages = 0
        self.font_text: Dict[str, List[str]] = defaultdict(list)
        self.glyphs = GlyphMapper(doc)
        self.equations: Counter = Counter()
        self.placeholders: List[Tuple[str, str, str]] = []

    # -- steps -----------------------------------------------------------------------------
    def run(self) -> PdfText:
        doc = self.doc
        rotated: List[str] = []
        page_lines: List[List[_Line]] = []
        sizes: List[Tuple[float, float]] = []
        for pno in range(doc.page_count):
            try:
                size = [0.0, 0.0]
                page_lines.append(_page_lines(doc.load_page(pno), pno, rotated, self.font_text, size, self.glyphs))
                sizes.append((size[0], size[1]))
            except Exception:  # a broken page (truncated stream): counted, the rest still read
                self.failed_pages += 1
                sizes.append((0.0, 0.0))
                page_lines.append([])
        if self.failed_pages == doc.page_count:
            raise PdfError(f"corrupt PDF: none of its {doc.page_count} pages could be read")
        self.removed["rotated_text"] += len(rotated)
        self.stamps.extend(rotated[:10])
        self.page_sizes = sizes
        quality = self._quality(page_lines)
        if quality["garbage"]:
            # no layout work on a text layer that is garbage: its lines as stored, for inspection
            markdown = "\n\n".join(" ".join(ln.text.strip() for ln in lines) for lines in page_lines if lines)
            return PdfText(markdown=markdown + "\n" if markdown else "", page_count=doc.page_count,
                           metadata=self._metadata(), stamps=self.stamps, quality=quality,
                           removed={k: v for k, v in sorted(self.removed.items()) if v})
        pages = [_reading_order(lines) for lines in page_lines]
        self._document_stats(pages)
        if self.drop_cover_pages:
            pages = self._drop_cover_pages(pages)
        pages = self._drop_running_rows(pages)
        entries = self._ordered_rows(pages)
        title, front, paragraphs = self._paragraphs(entries)
        markdown = self._render(title, paragraphs)
        quality["display_equations"] = self.equations["display_equations"]
        quality["equation_placeholders"] = self.equations["equation_placeholders"]
        return PdfText(markdown=markdown, page_count=doc.page_count, metadata=self._metadata(), title=title,
                       front_lines=front, stamps=self.stamps, quality=quality,
                       removed={k: v for k, v in sorted(self.removed.items()) if v},
                       placeholders=list(self.placeholders))

    def _metadata(self) -> Dict[str, str]:
        out = {}
        for key, value in sorted((self.doc.metadata or {}).items()):
            if not value or key in ("format", "encryption", "trapped"):
                continue
            if key in ("creationDate", "modDate"):
                value = _iso_date(value)
                if not value:
                    continue
            out[key] = " ".join(str(value).split())
        return out

    @staticmethod
    def _rows(page_runs):
        for _, rows in page_runs:
            yield from rows

    def _document_stats(self, pages) -> None:
        by_size: Counter = Counter()
        by_font: Counter = Counter()
        seen: Dict[str, set] = defaultdict(set)  # the pages a (folded) row appears on
        ys: Dict[str, List[float]] = defaultdict(list)
        for pno, runs in enumerate(pages):
            for _, rows in runs:
                for row in rows:
                    key = row.key
                    seen[key].add(pno)
                    ys[key].append(row.y0)
                    if row.nchars >= 20:
                        by_size[round(row.size, 1)] += row.nchars
                        by_font[row.font] += row.nchars
        self.seen, self.ys = seen, ys
        self.body_size = by_size.most_common(1)[0][0] if by_size else 10.0
        total = sum(by_font.values()) or 1
        self.text_fonts = {f for f, n in by_font.items() if n >= 0.02 * total}
        # the text area: where body-size rows start and end (rows repeated on other pages excluded)
        tops, bottoms = [], []
        low, high = self.body_size - 1.0, self.body_size + 1.0
        for runs in pages:
            top, bottom = 1e9, -1e9
            for _, rows in runs:
                for r in rows:
                    if r.nchars >= 15 and low <= r.size <= high and len(seen[r.key]) == 1:
                        top = min(top, r.y0)
                        bottom = max(bottom, r.y1)
            if bottom > 0:
                tops.append(top)
                bottoms.append(bottom)
        self.area_top = min(tops) if tops else 0.0
        self.area_bottom = max(bottoms) if bottoms else 1e9

    def _drop_cover_pages(self, pages):
        """A first/last page added by a repository: other page size, or fonts the paper never uses."""
        n = len(pages)
        if n < 3:
            return pages
        usual = Counter((round(w), round(h)) for w, h in self.page_sizes).most_common(1)[0][0]
        fonts_by_page = [Counter() for _ in pages]
        for pno, runs in enumerate(pages):
            for row in self._rows(runs):
                fonts_by_page[pno][row.font] += row.nchars
        for pno in (0, n - 1):
            own = sum(fonts_by_page[pno].values())
            if not own:
                continue
            others = Counter()
            for q, fonts in enumerate(fonts_by_page):
                if q != pno:
                    others.update(fonts)
            shared = sum(c for f, c in fonts_by_page[pno].items() if others[f] >= 200)
            w, h = self.page_sizes[pno]
            odd_size = abs(round(w) - usual[0]) > 0.03 * usual[0] or abs(round(h) - usual[1]) > 0.03 * usual[1]
            if odd_size or (own >= 40 and shared < 0.2 * own):
                self.removed["cover_page"] += 1
                self.stamps.extend(r.text.strip() for r in list(self._rows(pages[pno]))[:40])
                pages = pages[:pno] + [[]] + pages[pno + 1:]
        return pages

    def _drop_running_rows(self, pages):
        """Headers, footers, page numbers, banners: repeated across pages or in the margin."""
        with_text = sum(1 for runs in pages if runs) or 1
        seen, ys = self.seen, self.ys
        margin_repeat = max(2, 0.25 * with_text)
        body_repeat = max(3, 0.5 * with_text)
        top, bottom = self.area_top + 1, self.area_bottom - 1

        def verdict(row, banners_possible):
            n = len(seen[row.key])
            if row.y1 <= top or row.y0 >= bottom:
                if n >= margin_repeat:
                    return "running_header_footer"
                if _PAGE_NUMBER.match(row.text.strip()):
                    return "page_number"
                if banners_possible and (row.size < self.body_size - 0.5 or row.font not in self.text_fonts):
                    return "margin_banner"
            elif n >= body_repeat and len(row.key) >= 10 and max(ys[row.key]) - min(ys[row.key]) < 15:
                return "running_header_footer"
            return None

        out = []
        for runs in pages:
            # a banner is a line or two in the margin; more rows there are text (a last page's
            # references running lower than any body text), not a banner
            margin_rows = sum(1 for _, rows in runs for r in rows if r.y1 <= top or r.y0 >= bottom)
            reasons = {id(r): verdict(r, margin_rows <= 3) for _, rows in runs for r in rows}
            # running lines are a few per page: pages that repeat wholesale (a template, a
            # duplicated page) keep their text, dedup is the place for duplicates
            if sum(1 for v in reasons.values() if v) > 5:
                reasons = {k: v if v == "page_number" else None for k, v in reasons.items()}
            new_runs = []
            for col, rows in runs:
                kept = []
                for row in rows:
                    reason = reasons[id(row)]
                    if reason:
                        self.removed[reason] += 1
                        if len(self.stamps) < 60:
                            self.stamps.append(row.text.strip())
                    else:
                        kept.append(row)
                if kept:
                    new_runs.append((col, kept))
            out.append(new_runs)
        return out

    # -- reading order, debris, footnotes ---------------------------------------------------
    def _is_figure_text(self, row: _Line, col_width: float) -> bool:
        if row.font is _EQUATION_FONT:
            return False
        if row.nchars > 40 and row.size >= self.body_size - 0.5 and row.width >= 0.5 * col_width:
            return False  # the common case first: a line of body text
        text = row.text.strip()
        if "\ufffd" in text and text.count("\ufffd") >= 0.3 * len(text):
            return True
        if row.size < self.body_size - 0.5:
            tokens = text.split()
            numeric = sum(1 for t in tokens if _NUMBER.fullmatch(t))
            if numeric >= 4 and numeric >= 0.6 * len(tokens):  # a row of axis ticks
                return True
        if len(text) > 40 and row.width >= 0.5 * col_width:
            return False
        if row.size < 0.8 * self.body_size:
            return True
        # a font only figures use (plot labels), on a line without a real word
        return row.font not in self.text_fonts and not any(len(w) >= 4 for w in _WORD.findall(text))

    def _is_prose(self, row: _Line, col_width: float) -> bool:
        return row.math < 0.3 and len(_LONG_WORD.findall(row.text)) >= 4 and row.width >= 0.5 * col_width

    def _display_equations(self, rows: List[_Line], left: float, right: float) -> List[_Line]:
        """A display equation of a column (rows around a right-aligned number "(N)", or indented rows
        set mostly in maths fonts between lines of prose) becomes one row: ``$$ ... \\tag{N} $$``, its
        glyphs in reading order, or a placeholder ``[equation (N)]`` when they are too few or lost."""
        width = right - left
        if width < 60 or not rows:
            return rows
        if not any(r.math >= 0.4 or r.text.rstrip().endswith(")") for r in rows):
            return rows  # (the common run: prose without displays)
        margin = left + 0.05 * width
        # prose: a line of words, or a line that starts at the column's edge with words or little
        # maths (the lead-in "can be written as", "with ..."); displays are indented
        is_prose = [self._is_prose(r, width) for r in rows]  # (asked three times below, found once)
        prose = [p or (r.x0 < margin and (r.math < 0.6 or len(_LONG_WORD.findall(r.text)) >= 2))
                 for r, p in zip(rows, is_prose)]
        # the column's right edge: where its prose ends (a wide formula may stick out of it)
        edge = max((r.x1 for r, p in zip(rows, is_prose) if r.nchars > 40 and p), default=right)
        numbered = [i for i, r in enumerate(rows) if r.x1 >= edge - 0.03 * width and _EQUATION_NUMBER.search(r.text)
                    and len(_LONG_WORD.findall(_EQUATION_NUMBER.sub("", r.text))) <= 2
                    and (not is_prose[i] or r.math >= 0.3)]
        for i in numbered:
            prose[i] = False
        groups: List[Tuple[int, int, Optional[str]]] = []
        taken = [False] * len(rows)
        reach = 2.2 * self.body_size
        for i in numbered:
            if taken[i]:
                continue
            lo = hi = i
            while lo > 0 and not prose[lo - 1] and not taken[lo - 1] and lo - 1 not in numbered \
                    and rows[lo].y0 - rows[lo - 1].y1 < reach:
                lo -= 1
            while hi + 1 < len(rows) and not prose[hi + 1] and hi + 1 not in numbered \
                    and rows[hi + 1].y0 - rows[hi].y1 < reach:
                hi += 1
            for k in range(lo, hi + 1):
                taken[k] = True
            groups.append((lo, hi, _EQUATION_NUMBER.search(rows[i].text).group(1)))
        # unnumbered: indented rows mostly in maths fonts, with prose (or nothing) above and below
        i = 0
        while i < len(rows):
            r = rows[i]
            if taken[i] or prose[i] or r.math < 0.6 or r.x0 < left + 0.08 * width or r.nchars < 4:
                i += 1
                continue
            j = i
            while j + 1 < len(rows) and not taken[j + 1] and not prose[j + 1] and rows[j + 1].math >= 0.4 \
                    and rows[j + 1].y0 - rows[j].y1 < reach:
                j += 1
            beside = [k for k in (i - 1, j + 1) if 0 <= k < len(rows)
                      and min(rows[k].y1, rows[j].y1) - max(rows[k].y0, rows[i].y0) > 0.3 * self.body_size]
            if not beside and (j > i or r.width < 0.8 * width):  # not a sub/superscript line of a prose line
                for k in range(i, j + 1):
                    taken[k] = True
                groups.append((i, j, None))
            i = j + 1
        if not groups:
            return rows
        by_start = {lo: (hi, number) for lo, hi, number in groups}
        out: List[_Line] = []
        i = 0
        while i < len(rows):
            if i not in by_start:
                out.append(rows[i])
                i += 1
                continue
            hi, number = by_start[i]
            out.append(self._equation_row(rows[i:hi + 1], number))
            i = hi + 1
        return out

    def _equation_row(self, rows: List[_Line], number: Optional[str]) -> _Line:
        parts = []
        for r in rows:
            text = " ".join(clean_inline(r.text).split())
            if number is not None and _EQUATION_NUMBER.search(text):
                text = _EQUATION_NUMBER.sub("", text).rstrip(" ,.")
            if text:
                parts.append(text)
        body = " ".join(parts)
        glyphs = sum(1 for ch in body if not ch.isspace())
        lost = sum(r.text.count("\ufffd") for r in rows)
        tag = f" \\tag{{{number}}}" if number else ""
        if glyphs < 3 or lost > 0.3 * (glyphs + lost):
            self.equations["equation_placeholders"] += 1
            text = f"[equation ({number})]" if number else "[equation]"
            page = rows[0].page + 1
            name = f"equation ({number})" if number else "an unnumbered display equation"
            if lost > 0.3 * (glyphs + lost):
                reason, why = "lost_glyphs", f"{lost} of its {glyphs + lost} glyphs have no Unicode"
            else:
                reason, why = "too_few_glyphs", f"{glyphs} glyph{'s' if glyphs != 1 else ''} left"
            part = f"page{page}/equation({number})" if number else \
                f"page{page}/equation-{sum(p[1].startswith(f'page{page}/equation-') for p in self.placeholders) + 1}"
            self.placeholders.append((reason, part, f"{name} on page {page} left as a placeholder: {why}"))
        else:
            self.equations["display_equations"] += 1
            text = f"$$ {body}{tag} $$"
        first = rows[0]
        return _Line(min(r.x0 for r in rows), first.y0, max(r.x1 for r in rows), max(r.y1 for r in rows),
                     rows[-1].base, text, self.body_size, _EQUATION_FONT, False, False, first.page, len(text), 1.0)

    def _ordered_rows(self, pages):
        """(row, run id, run left, run right, is_footnote) in reading order, debris dropped."""
        entries = []
        run_id = 0
        for runs in pages:
            for col, rows in runs:
                run_id += 1
                left = min(r.x0 for r in rows)
                right = max(r.x1 for r in rows)
                rows = self._display_equations(rows, left, right)
                if self.drop_figure_text:
                    width = max(right - left, 1.0)
                    flags = [self._is_figure_text(r, width) for r in rows]
                    kept = []
                    for i, row in enumerate(rows):
                        neighbour = (i > 0 and flags[i - 1]) or (i + 1 < len(rows) and flags[i + 1])
                        if flags[i] and (neighbour or not any(len(w) >= 3 for w in _WORD.findall(row.text))):
                            self.removed["figure_text"] += 1
                        else:
                            kept.append(row)
                    rows = kept
                    if not rows:
                        continue
                    left = min(r.x0 for r in rows)
                    right = max(r.x1 for r in rows)
                # footnotes: small rows under the last body row of a column
                last_body = max((i for i, r in enumerate(rows) if r.size >= self.body_size - 0.5), default=-1)
                for i, row in enumerate(rows):
                    foot = col >= 0 and 0 <= last_body < i and row.size < self.body_size - 0.5
                    entries.append((row, (run_id, col), left, right, foot))
        return entries

    # -- paragraphs and headings -------------------------------------------------------------
    def _heading_level(self, row: _Line, left: float, right: float, early: bool = False) -> Optional[int]:
        if row.nchars > 90 or row.nchars < 2 or row.size < self.body_size - 0.6:
            return None
        text = row.text.strip()
        first = text[:1]
        m = _HEADING_NUM.match(text) if (first.isdigit() or first.isupper()) else None
        if not m and (row.nchars > 60 or text.count(" ") > 8):
            return None  # neither numbered nor short: a line of prose
        words = text.split()
        text = " ".join(words)
        if _REFERENCES.match(text):
            return 2
        if not m and (len(words) > 6 or _SENTENCE_END.search(text)):
            return None
        caps = sum(map(str.isupper, text))
        letters = sum(map(str.isalpha, text)) or 1
        all_caps = caps >= 0.8 * letters and letters >= 4
        larger = row.size >= self.body_size + 0.9
        center = (row.x0 + row.x1) / 2
        centered = abs(center - (left + right) / 2) < 0.08 * (right - left) and row.width < 0.8 * (right - left)
        if m and len(words) <= 14 and not text.endswith((".", ",", ";")) and m.group("title")[:1].isupper():
            num = m.group("num")
            title = m.group("title")
            styled = row.bold or larger or all_caps or centered or (row.italic and num.isalpha())
            if not styled:
                return None
            if num.isdigit() or re.fullmatch(r"[IVX]+", num) and m.group("dot") == ".":
                return 2
            if num.count(".") >= 1:
                return min(2 + num.count("."), 5)
            if num.isalpha() and len(num) == 1 and m.group("dot") in (".", ")") and len(title) > 2 \
                    and "," not in title and " and " not in title:  # "A. Author and B. Author" is a byline
                return 3
            if num.isalpha() and len(num) == 1 and not m.group("dot") and row.bold and len(title) > 2:
                return 2  # a LaTeX appendix: "A Proof of Lemma 1"
            return None
        # before the first heading, larger type alone is a byline or an affiliation, not a heading
        if len(words) <= 6 and not _SENTENCE_END.search(text) and (row.bold or all_caps or (larger and not early)):
            if not any(ch.isalpha() for ch in text):
                return None
            if _DEBRIS_HEADING.search(text) or sum(ch.isalpha() or ch == " " for ch in text) < 0.8 * len(text):
                return None  # a figure label ("IRIS K)w|2"), not a title of words
            return 2 if (larger or all_caps) else 3
        return None

    def _paragraphs(self, entries):
        body = self.body_size
        # typical distance between the tops of two lines of one paragraph
        pitches = [b[0].base - a[0].base for a, b in zip(entries, entries[1:])
                   if a[1] == b[1] and abs(a[0].size - body) < 0.6 and abs(b[0].size - body) < 0.6
                   and 0.9 * body < b[0].base - a[0].base < 2.2 * body]
        pitch = statistics.median(pitches) if pitches else 1.2 * body

        title = None
        front: List[str] = []
        first_page = min((e[0].page for e in entries), default=0)
        title_rows = [e for e in entries[:12] if e[0].page == first_page and e[0].size >= 1.25 * body
                      and e[0].y0 < 0.45 * self.page_sizes[first_page][1] and _WORD.search(e[0].text)]
        if title_rows:
            top_size = max(e[0].size for e in title_rows)
            title_rows = [e for e in title_rows if e[0].size >= top_size - 0.6]
            title = " ".join(" ".join(e[0].text.split()) for e in title_rows)
            title_ids = {id(e[0]) for e in title_rows}
            entries = [e for e in entries if id(e[0]) not in title_ids]

        paragraphs: List[Tuple[str, List[_Line]]] = []  # (kind: "h2".."h5" / "p", rows)
        pending_notes: List[List[_Line]] = []
        cur: List[_Line] = []
        cur_run = None
        prev = None
        skipping_refs = None  # heading level of the references section while skipping it
        caption: Optional[List[_Line]] = None  # the figure/table caption being read
        caption_run = None
        float_between = False  # a caption came between the open paragraph and this row
        seen_heading = False

        def close():
            nonlocal cur
            if cur:
                paragraphs.append(("p", cur))
            cur = []
            for note in pending_notes:
                paragraphs.append(("p", note))
            pending_notes.clear()

        for row, run, left, right, foot in entries:
            text = row.text.strip()
            if row.font is _EQUATION_FONT:  # a display equation: a block of its own, the paragraph ends
                if caption is not None:
                    caption = None
                close()
                paragraphs.append(("eq", [row]))
                prev, cur_run = None, None
                continue
            level = None if foot else self._heading_level(row, left, right, early=not seen_heading)
            if level is not None and level > 2 and not seen_heading:
                level = None  # a paper's first heading is a top-level one: this is a byline or a list
            if skipping_refs is not None:
                if level is not None and level <= skipping_refs and not _REFERENCES.match(text):
                    skipping_refs = None
                else:
                    self.removed["references"] += 1
                    continue
            if level is not None:
                close()
                seen_heading = True
                if self.drop_references and _REFERENCES.match(" ".join(text.split())):
                    skipping_refs = level
                    self.removed["references"] += 1
                    prev, cur_run = None, None
                    continue
                paragraphs.append((f"h{level}", [row]))
                prev, cur_run = None, None
                continue
            if not seen_heading and row.page == first_page and len(front) < 15:
                front.append(" ".join(text.split()))
            if caption is not None:
                if run == caption_run and not self._starts_new(caption[-1], row, left, right, pitch, same_run=True,
                                                               across_columns=False):
                    caption.append(row)
                    continue
                caption = None
            if not foot and _CAPTION.match(text) and (
                    row.size <= body - 0.5 or row.bold or re.match(r"^\S+\s*[0-9IVX]+[a-z]?\s*:", text)
                    or not cur or self._starts_new(prev, row, left, right, pitch, same_run=(run == cur_run),
                                                   across_columns=False)):
                # a float: the paragraph it interrupts continues after it
                caption, caption_run, float_between = [row], run, True
                if not cur or _SENTENCE_END.search(cur[-1].text.rstrip()):
                    close()
                    paragraphs.append(("p", caption))
                else:
                    pending_notes.append(caption)
                continue
            if foot:
                if pending_notes and pending_notes[-1][-1].page == row.page and not self._starts_new(
                        pending_notes[-1][-1], row, left, right, pitch, same_run=True, across_columns=False):
                    pending_notes[-1].append(row)
                else:
                    pending_notes.append([row])
                continue
            if cur and not self._starts_new(prev, row, left, right, pitch,
                                            same_run=(run == cur_run and not float_between),
                                            across_columns=(cur_run is not None and cur_run[1] >= 0 and run[1] >= 0)):
                cur.append(row)
            else:
                close()
                cur = [row]
            prev, cur_run, float_between = row, run, False
        close()
        return title, front, paragraphs

    def _starts_new(self, prev: _Line, row: _Line, left: float, right: float, pitch: float, same_run: bool,
                    across_columns: bool) -> bool:
        if prev is None:
            return True
        if abs(prev.size - row.size) > 1.0 and min(prev.nchars, row.nchars) > 3:
            return True
        ptext = prev.text.rstrip()
        ended = bool(_SENTENCE_END.search(ptext))
        indent = row.x0 - left
        indented = 0.5 * row.size < indent < 5 * row.size
        if same_run:
            if row.base - prev.base > 1.45 * pitch:
                return True
            if indented and (ended or prev.x1 < right - 0.15 * (right - left)):
                return True
            if ended and prev.x1 < right - 0.25 * (right - left):
                return True
            return False
        # a new column or page: continue a sentence that did not end (not from/to spanning text)
        if not across_columns:
            return True
        if ptext.endswith(("-", "\u2010", "\u00ad")) and ptext[-2:-1].isalpha():
            return False
        if indented:  # a paragraph's first line is indented, its continuation in a new column is not
            return True
        if not ended:
            return False
        return row.text.strip()[:1].isupper() or not row.text.strip()[:1].isalpha()

    # -- output ------------------------------------------------------------------------------
    def _render(self, title: Optional[str], paragraphs) -> str:
        pieces_of = [[" ".join(r.text.split()) for r in rows] if kind == "p" else None for kind, rows in paragraphs]
        # (an "eq" paragraph is one finished row: its text is written as it is)
        # the document's own vocabulary decides line-end hyphens (see _join); the halves of a
        # word broken at a line end are cut out first: they are no evidence of words
        whole: List[str] = []
        for pieces in pieces_of:
            if not pieces:
                continue
            cut_start = False
            for piece in pieces:
                text = piece
                if cut_start:
                    m = _WORD.match(text)
                    text = text[m.end():] if m else text
                cut_start = text.endswith(("-", "\u2010", "\u00ad"))
                if cut_start:
                    m = _LAST_WORD.search(text)
                    text = text[:m.start()] if m else text
                whole.append(text)
        all_text = "\n".join(whole).lower()
        vocab = set(_WORD.findall(all_text))
        out = []
        if title:
            out.append("# " + clean_inline(title))
        for (kind, rows), pieces in zip(paragraphs, pieces_of):
            if kind == "eq":
                out.append(rows[0].text)
                continue
            if pieces is None:
                out.append("#" * int(kind[1]) + " " + clean_inline(" ".join(rows[0].text.split())))
                continue
            text = clean_inline(self._join(pieces, vocab, all_text)).strip()
            if text:
                out.append(text)
        return "\n\n".join(out) + "\n" if out else ""

    @staticmethod
    def _join(pieces: List[str], vocab: set, all_text: str) -> str:
        text = ""
        for piece in pieces:
            if not piece:
                continue
            if not text:
                text = piece
                continue
            if text.endswith("\u00ad"):
                text = text[:-1] + piece
            elif text.endswith(("-", "\u2010")) and len(text) >= 2 and text[-2].isalpha() and piece[:1].islower():
                left_m = _LAST_WORD.search(text)
                right_m = _WORD.match(piece)
                left_w = left_m.group(1).lower() if left_m else ""
                right_w = right_m.group(0).lower() if right_m else ""
                joined = left_w + right_w
                # a compound broken at its hyphen ("multiple-|input", "co-|pilot") keeps it when the
                # document writes it so elsewhere, or when the right half is a word of its own and the
                # joined form is not ("poten-|tial", "in-|crease" are joined)
                keep_hyphen = f"{left_w}-{right_w}" in all_text or (
                    joined not in vocab and right_w in vocab and (left_w in vocab or len(left_w) <= 3))
                text = (text if keep_hyphen else text[:-1]) + piece
            else:
                text += " " + piece
        return text.replace("\u00ad", "")

    def _quality(self, page_lines: List[List[_Line]]) -> Dict[str, object]:
        n = len(page_lines)
        page_chars = [sum(map(_NCHARS, lines)) for lines in page_lines]
        chars = sum(page_chars)
        empty_pages = sum(1 for c in page_chars if c < 40)
        # broken words ("sym b ol", "pac k et") counted in the main text font, where maths
        # variables (single letters in maths fonts) do not blur the signal
        by_font = {font: sum(map(len, texts)) for font, texts in self.font_text.items()}
        total = sum(by_font.values())
        main_font = max(by_font, key=by_font.get) if by_font else None
        tokens = " ".join(self.font_text[main_font]).split() if main_font else []
        n_words = len(tokens)
        broken = 0
        # one or two letters and punctuation; each distinct short token judged once
        for token, count in Counter([t for t in tokens if len(t) <= 4]).items():
            word = token.strip(_PUNCT)
            if 0 < len(word) <= 2 and word.isalpha() and word.lower() not in _SHORT_WORDS:
                broken += count
        main = [by_font.get(main_font, 0), n_words, broken]
        # glyph names or codes leaking into words ("/#28orthogonal", "\\050", "/g42"): an encoding
        # the extractor could not map
        odd = len(_ODD_TOKEN.findall(" ".join(tokens))) if tokens else 0
        everything = "".join(chain.from_iterable(self.font_text.values()))
        bad = len(_BAD_CHARS.findall(everything))
        visible = len(everything) - everything.count(" ")
        q: Dict[str, object] = {
            "chars": chars,
            "pages_without_text": empty_pages,
            "failed_pages": self.failed_pages,
            "bad_char_ratio": round(bad / visible, 4) if visible > 0 else 0.0,
            "broken_word_ratio": round(main[2] / main[1], 4) if main[1] else 0.0,
            "main_font_share": round(main[0] / total, 3) if total else 0.0,
            "odd_token_ratio": round(odd / n_words, 4) if n_words else 0.0,
            "glyphs_mapped": self.glyphs.mapped,
            "glyphs_unmapped": self.glyphs.unmapped,
            "unmapped_char_share": round(self.glyphs.unmapped / visible, 6) if visible > 0 else 0.0,
        }
        reason = None
        if chars == 0:
            reason = "no text layer (scanned or image-only PDF?)"
        elif empty_pages >= max(1, 0.5 * n) and chars / n < 200:
            reason = f"{empty_pages} of {n} pages have (almost) no text (scanned pages?)"
        elif q["bad_char_ratio"] > 0.03 or (q["broken_word_ratio"] > 0.12 and main[1] >= 50) or (
                q["odd_token_ratio"] > 0.05 and main[1] >= 50):
            # Type-3 fonts (bitmap fonts of old dvips output) are the usual cause: worth naming,
            # only looked up for a garbage layer (listing fonts costs about a millisecond)
            type3 = False
            try:
                type3 = any(f[1] == "Type3" for pno in range(min(n, 3)) for f in self.glyphs.page_fonts(pno))
            except Exception:  # the font listing is a hint only
                pass
            q["type3_fonts"] = type3
            reason = (f"{q['bad_char_ratio']:.1%} control/unmapped characters, {q['broken_word_ratio']:.0%} "
                      f"broken words in the main font" + (f", {q['odd_token_ratio']:.0%} glyph-code tokens"
                                                         if q["odd_token_ratio"] > 0.05 else "")
                      + (" (Type-3 fonts)" if type3 else ""))
        q["garbage"] = reason
        return q
