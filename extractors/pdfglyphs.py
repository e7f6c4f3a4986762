"""PDF characters without a usable Unicode mapping -> the characters their glyphs show.

MuPDF reports a character it cannot map to Unicode as the font's code itself (a C0 control
code such as ``\\x02`` for the first glyphs of a small subset font), as U+FFFD, or as the
private-use code point a producer wrote into the font's ToUnicode map (Word and MathType
write Symbol-font positions as U+F020-U+F0FF; Adobe's Symbol pieces are U+F8E5-U+F8FE).
Equations in ETSI editions are set in exactly such fonts: Symbol, MT Extra and subset fonts
named like ``T12`` or ``TT24A5o00``. Each such character is mapped, in this order:

1. a private-use code point: through the known encoding of the font it is set in (Symbol,
   MT Extra, Wingdings: :mod:`telecom_etl.extractors.threegpp.symbol_fonts`; a font whose
   name says nothing is read as Symbol, the font behind nearly all of them), with Symbol's
   pieces of tall brackets, braces and integrals as the Unicode pieces (U+239B-U+23AE);
2. a control code: the glyph name the font gives that code, from the PDF font's
   ``/Differences`` or the embedded font program's own encoding (CFF, TrueType, read with
   fontTools), through the Adobe Glyph List, TeX's size variants (``summationdisplay``,
   ``parenleftBig``) and, for names ``gNN`` (glyph ids of the Windows Symbol font, which
   MathType writes), the Symbol position of that glyph id;
3. U+FFFD (the code is gone): the glyph id from the page's text trace, named by the
   embedded font program.

What is still unknown becomes U+FFFD (control codes would otherwise vanish unseen), so
every record can say how much of its text is lost: :func:`unmapped_share`.
"""
from __future__ import annotations

import io
import re
from functools import lru_cache
from typing import Dict, List, Optional, Tuple

from telecom_etl.extractors.threegpp.symbol_fonts import symbol_char

__all__ = ["FLAG_SHARE", "GlyphMapper", "UNMAPPED", "unmapped_share", "glyph_name_text"]

# what MuPDF gives for a glyph it cannot map (tab, newline and carriage return are text)
UNMAPPED = re.compile("[\ufffd\ue000-\uf8ff\x00-\x08\x0b\x0c\x0e-\x1f]")
LOST = re.compile("[\ufffd\ue000-\uf8ff]")  # what is left after mapping
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
REPLACEMENT = "\ufffd"
FLAG_SHARE = 0.005  # a rendering that lost more of its characters than this is flagged "unmapped_glyphs"

# Symbol's pieces of tall delimiters, as the Unicode pieces (symbol_fonts reads four of them
# as the floor/ceiling brackets they complete in Word text; in a PDF they are stacked pieces)
_SYMBOL_PIECES = {0xE6: "\u239b", 0xE7: "\u239c", 0xE8: "\u239d", 0xE9: "\u23a1", 0xEA: "\u23a2", 0xEB: "\u23a3",
                  0xEC: "\u23a7", 0xED: "\u23a8", 0xEE: "\u23a9", 0xEF: "\u23aa", 0xF3: "\u2320", 0xF4: "\u23ae",
                  0xF5: "\u2321", 0xF6: "\u239e", 0xF7: "\u239f", 0xF8: "\u23a0", 0xF9: "\u23a4", 0xFA: "\u23a5",
                  0xFB: "\u23a6", 0xFC: "\u23ab", 0xFD: "\u23ac", 0xFE: "\u23ad"}
# Adobe's private-use Symbol glyphs (the Adobe Glyph List maps bracketlefttp etc. there)
_ADOBE_PUA = {0xF8E5: "\u203e", 0xF8E6: "\u23d0", 0xF8E7: "\u23af", 0xF8E8: "\u00ae", 0xF8E9: "\u00a9",
              0xF8EA: "\u2122", 0xF8EB: "\u239b", 0xF8EC: "\u239c", 0xF8ED: "\u239d", 0xF8EE: "\u23a1",
              0xF8EF: "\u23a2", 0xF8F0: "\u23a3", 0xF8F1: "\u23a7", 0xF8F2: "\u23a8", 0xF8F3: "\u23a9",
              0xF8F4: "\u23aa", 0xF8F5: "\u23ae", 0xF8F6: "\u239e", 0xF8F7: "\u239f", 0xF8F8: "\u23a0",
              0xF8F9: "\u23a4", 0xF8FA: "\u23a5", 0xF8FB: "\u23a6", 0xF8FC: "\u23ab", 0xF8FD: "\u23ac",
              0xF8FE: "\u23ad"}
# TeX extension-font glyphs in their sizes: the name without the size is an AGL name
_TEX_SIZE = re.compile(r"(?:big|Big|bigg|Bigg|text|display|tp|bt|ex|mid)$")
_TEX_NAMES = {"summation": "\u2211", "product": "\u220f", "coproduct": "\u2210", "integral": "\u222b",
              "contintegral": "\u222e", "union": "\u22c3", "intersection": "\u22c2", "unionmulti": "\u228e",
              "logicaland": "\u22c0", "logicalor": "\u22c1", "circledot": "\u2a00", "circleplus": "\u2a01",
              "circlemultiply": "\u2a02", "radical": "\u221a", "angbracketleft": "\u27e8",
              "angbracketright": "\u27e9", "slashbig": "/", "backslash": "\\", "vextendsingle": "|",
              "vextenddouble": "\u2016", "arrowvertex": "\u23d0", "mapsto": "\u21a6", "minusplus": "\u2213"}
_G_NAME = re.compile(r"g(\d{1,3})$")


def _symbol_position(code: int, font: str) -> str:
    """The character at ``code`` of a symbol font: its own table when the name says which
    (MT Extra, Wingdings), else Symbol, with its delimiter pieces as pieces."""
    low = (font or "").lower()
    if any(name in low for name in ("wingdings", "webdings", "mt extra")):
        return symbol_char(code, font)
    return _SYMBOL_PIECES.get(code) or symbol_char(code, "Symbol")


@lru_cache(maxsize=4096)
def glyph_name_text(name: str, symbolic: bool = True) -> str:
    """The text a glyph name stands for ("" when unknown): AGL names and ``uniXXXX``, TeX size
    variants, and ``gNN`` glyph ids of the Windows Symbol font (only for a ``symbolic`` font)."""
    if not name or name == ".notdef":
        return ""
    from fontTools import agl

    m = _G_NAME.match(name)
    if m:  # not an AGL name (fontTools would read "g172" as "g")
        gid = int(m.group(1))
        # Windows Symbol (symbol.ttf): glyphs 3-97 are codes 0x20-0x7E, glyphs 98-191 codes 0xA1-0xFE
        code = gid + 29 if 3 <= gid <= 97 else gid + 63 if 98 <= gid <= 191 else None
        if code is None or not symbolic:
            return ""
        return _SYMBOL_PIECES.get(code) or symbol_char(code, "Symbol")
    text = agl.toUnicode(name)
    if text and not LOST.search(text):
        return text
    if len(text) == 1 and ord(text) in _ADOBE_PUA:
        return _ADOBE_PUA[ord(text)]
    base = _TEX_SIZE.sub("", name)
    for candidate in (name, base, base.rstrip("0123456789")):
        if candidate in _TEX_NAMES:
            return _TEX_NAMES[candidate]
        if candidate != name:
            text = agl.toUnicode(candidate)
            if text and not LOST.search(text):
                return text
    return ""


class _Font:
    """What one PDF font tells about its codes and glyphs."""

    __slots__ = ("name", "codes", "glyphs", "symbolic")

    def __init__(self, name: str, codes: Dict[int, str], glyphs: Dict[int, str], symbolic: bool):
        self.name, self.codes, self.glyphs, self.symbolic = name, codes, glyphs, symbolic


def _strip_subset(name: str) -> str:
    return name.split("+", 1)[1] if len(name) > 7 and name[6] == "+" else name


class GlyphMapper:
    """Maps the unmapped characters of one open document; fonts are read once, when first needed.

    ``mapped`` and ``unmapped`` count the characters seen (``unmapped``: left as U+FFFD).
    """

    def __init__(self, doc):
        self.doc = doc
        self.mapped = 0
        self.unmapped = 0
        self._page_fonts: Dict[int, Dict[str, int]] = {}
        self._fonts: Dict[int, Optional[_Font]] = {}
        self._traces: Dict[int, Dict[str, list]] = {}
        self._span_fonts: Dict[Tuple[int, str], Optional[_Font]] = {}
        self._font_lists: Dict[int, List[Tuple[int, str, str]]] = {}
        self._last_page = None

    # -- public ----------------------------------------------------------------------------
    def fix(self, page, text: str, font: str, span: Optional[dict] = None, count: bool = True) -> str:
        """``text`` (one span set in ``font`` on ``page``) with its unmapped characters mapped;
        ``count=False`` for a second reading of characters already counted (a table's words)."""
        mapped_before, unmapped_before = self.mapped, self.unmapped
        if span is None and _PRIVATE_USE.search(text) is None and _CONTROL.search(text) is None:
            # only U+FFFD and no span to find its glyphs by: all lost (no font to read, no loop)
            lost = len(UNMAPPED.findall(text))
            if count:
                self.unmapped += lost
            return UNMAPPED.sub(REPLACEMENT, text)
        out = []
        info = None
        for i, ch in enumerate(text):
            code = ord(ch)
            if not UNMAPPED.match(ch):
                out.append(ch)
                continue
            mapped = ""
            if 0xF000 <= code <= 0xF0FF:
                mapped = _symbol_position(code - 0xF000, font)
            elif code in _ADOBE_PUA:
                mapped = _ADOBE_PUA[code]
            elif code < 0x20 or (code == 0xFFFD and span is not None):
                if info is None:
                    info = self._font(page, font) or False
                if info:
                    if code < 0x20:
                        name = info.codes.get(code, "")
                        mapped = glyph_name_text(name, info.symbolic) if name else ""
                    elif span is not None:
                        gid = self._glyph_id(page, span, text[:i].count(REPLACEMENT))
                        # a font program names its glyph ids; a Type-3 font's "glyph" is its code
                        name = (info.glyphs.get(gid) or info.codes.get(gid, "")) if gid is not None else ""
                        mapped = glyph_name_text(name, info.symbolic) if name else ""
            if mapped and not LOST.search(mapped):
                self.mapped += 1
                out.append(mapped)
            else:
                self.unmapped += 1
                out.append(REPLACEMENT)
        if not count:
            self.mapped, self.unmapped = mapped_before, unmapped_before
        return "".join(out)

    # -- fonts -----------------------------------------------------------------------------
    def page_fonts(self, pno: int) -> List[Tuple[int, str, str]]:
        """(xref, subtype, name) of the fonts of page ``pno``, as ``doc.get_page_fonts(pno)`` lists them
        (its items 0, 2 and 3, in its order), read once per page. Raises what the listing raises."""
        listed = self._font_lists.get(pno)
        if listed is None:
            listed = self._font_lists[pno] = _page_font_list(self.doc, pno)
        return listed

    def _page_number(self, page) -> int:
        # (page.number asks MuPDF each time; the same page object comes span after span)
        last = self._last_page
        if last is not None and last[0] is page:
            return last[1]
        number = page.number
        self._last_page = (page, number)
        return number

    def _font(self, page, font: str) -> Optional[_Font]:
        pno = self._page_number(page)
        known = self._span_fonts.get((pno, font), False)
        if known is not False:
            return known
        fonts = self._page_fonts.get(pno)
        if fonts is None:
            fonts = {}
            try:
                for xref, _subtype, name in self.page_fonts(pno):
                    fonts.setdefault(_strip_subset(name), xref)
            except Exception:  # a font listing MuPDF cannot build: no mapping, the characters count as lost
                pass
            self._page_fonts[pno] = fonts
        xref = fonts.get(font) or fonts.get(_strip_subset(font))
        if xref and xref not in self._fonts:
            self._fonts[xref] = self._read_font(xref)
        info = self._fonts.get(xref) if xref else None
        self._span_fonts[(pno, font)] = info
        return info

    def _read_font(self, xref: int) -> Optional[_Font]:
        doc = self.doc
        try:
            name = _strip_subset(doc.xref_get_key(xref, "BaseFont")[1].lstrip("/"))
            codes = _differences(doc, xref)
            glyphs: Dict[int, str] = {}
            program_codes: Dict[int, str] = {}
            flags = 0
            kind, desc = doc.xref_get_key(xref, "FontDescriptor")
            if kind == "xref":
                flags = int(doc.xref_get_key(int(desc.split()[0]), "Flags")[1] or 0)
            _, ext, _, buffer = doc.extract_font(xref)
            if buffer:
                program_codes, glyphs = _program_names(ext, buffer)
        except Exception:  # a broken font dictionary or program: nothing to learn from it
            return None
        for code, glyph in program_codes.items():
            codes.setdefault(code, glyph)
        symbolic = bool(flags & 4) or not flags
        return _Font(name, codes, glyphs, symbolic)

    def _glyph_id(self, page, span: dict, nth: int) -> Optional[int]:
        """The glyph id of the ``nth`` U+FFFD of a span: the ``nth`` unmapped character of the same
        font inside the span's box in the page's text trace, left to right."""
        pno = self._page_number(page)
        trace = self._traces.get(pno)
        if trace is None:
            trace = {}
            try:
                for tspan in page.get_texttrace():
                    for uni, gid, origin, _bbox in tspan["chars"]:
                        if uni == 0xFFFD or uni < 0x20:
                            trace.setdefault(tspan["font"], []).append((origin[0], origin[1], gid))
            except Exception:  # no trace: the characters stay unmapped
                pass
            self._traces[pno] = trace
        x0, y0, x1, y1 = span["bbox"]
        inside = sorted(c for c in trace.get(span["font"], ()) if x0 - 1 <= c[0] <= x1 + 1 and y0 - 1 <= c[1] <= y1 + 1)
        return inside[nth][2] if nth < len(inside) else None


def _page_font_list(doc, pno: int) -> List[Tuple[int, str, str]]:
    """(xref, subtype, name) of a page's fonts: the walk of PyMuPDF's ``get_page_fonts`` (the page's
    ``/Resources /Font``, then the resources of its form XObjects, depth first) without what this
    module does not use (the font file's extension, the encoding), which costs most of that call
    (``get_page_fonts`` costs 0.3-3 ms a page). Falls back to ``get_page_fonts`` where the low-level
    interface is missing."""
    import pymupdf

    if doc.is_closed or doc.is_encrypted:
        raise ValueError("document closed or encrypted")
    mupdf = getattr(pymupdf, "mupdf", None)
    as_pdf = getattr(pymupdf, "_as_pdf_document", None)
    escape = getattr(pymupdf, "JM_EscapeStrFromStr", None)
    if mupdf is None or as_pdf is None or escape is None:
        return [(f[0], f[2], f[3]) for f in doc.get_page_fonts(pno)]
    pdf = as_pdf(doc)
    count = mupdf.pdf_count_pages(pdf)
    while pno < 0:
        pno += count
    if pno >= count:
        raise ValueError("bad page number(s)")
    resources = mupdf.pdf_dict_get_inheritable(mupdf.pdf_lookup_page_obj(pdf, pno), mupdf.PDF_ENUM_NAME_Resources)
    out: List[Tuple[int, str, str]] = []
    if resources.m_internal:
        _scan_fonts(mupdf, escape, resources, out, [])
    return out


def _scan_fonts(mupdf, escape, resources, out: list, tracer: list) -> None:
    """PyMuPDF's ``JM_scan_resources`` for fonts (circular references end the walk, as there)."""
    if mupdf.pdf_mark_obj(resources):
        return
    try:
        xobjects = mupdf.pdf_dict_get(resources, mupdf.PDF_ENUM_NAME_XObject)
        fonts = mupdf.pdf_dict_get(resources, mupdf.PDF_ENUM_NAME_Font)
        for i in range(mupdf.pdf_dict_len(fonts)):
            font = mupdf.pdf_dict_get_val(fonts, i)
            if not mupdf.pdf_is_dict(font):
                continue
            subtype = mupdf.pdf_dict_get(font, mupdf.PDF_ENUM_NAME_Subtype)
            name = mupdf.pdf_dict_get(font, mupdf.PDF_ENUM_NAME_BaseFont)
            if not name.m_internal or mupdf.pdf_is_null(name):
                name = mupdf.pdf_dict_get(font, mupdf.PDF_ENUM_NAME_Name)
            out.append((mupdf.pdf_to_num(font), mupdf.pdf_to_name(subtype), escape(mupdf.pdf_to_name(name))))
        for i in range(mupdf.pdf_dict_len(xobjects)):
            obj = mupdf.pdf_dict_get_val(xobjects, i)
            sxref = mupdf.pdf_to_num(obj) if mupdf.pdf_is_stream(obj) else 0
            sub = mupdf.pdf_dict_get(obj, mupdf.PDF_ENUM_NAME_Resources)
            if sub.m_internal:
                if sxref in tracer:
                    return
                tracer.append(sxref)
                _scan_fonts(mupdf, escape, sub, out, tracer)
    finally:
        mupdf.pdf_unmark_obj(resources)


def _differences(doc, xref: int) -> Dict[int, str]:
    """code -> glyph name of a simple font's ``/Encoding /Differences``."""
    kind, value = doc.xref_get_key(xref, "Encoding")
    if kind == "xref":
        kind, value = doc.xref_get_key(int(value.split()[0]), "Differences")
    elif kind == "dict":
        m = re.search(r"/Differences\s*(\[[^\]]*\])", value)
        kind, value = ("array", m.group(1)) if m else ("null", "")
    if kind != "array":
        return {}
    out: Dict[int, str] = {}
    code = 0
    for token in re.findall(r"/[^\s/\[\]]+|\d+", value):
        if token.startswith("/"):
            out[code] = token[1:]
            code += 1
        else:
            code = int(token)
    return out


def _program_names(ext: str, buffer: bytes) -> Tuple[Dict[int, str], Dict[int, str]]:
    """(code -> glyph name from the program's own encoding, glyph id -> glyph name) of an embedded font."""
    codes: Dict[int, str] = {}
    glyphs: Dict[int, str] = {}
    if ext == "cff":
        from fontTools.cffLib import CFFFontSet

        cff = CFFFontSet()
        cff.decompile(io.BytesIO(buffer), None)
        top = cff[cff.fontNames[0]]
        order = list(top.charset or [])
        glyphs = dict(enumerate(order))
        encoding = getattr(top, "Encoding", None)
        if isinstance(encoding, list):
            codes = {i: n for i, n in enumerate(encoding) if n and n != ".notdef"}
    elif ext in ("ttf", "otf"):
        from fontTools.ttLib import TTFont

        font = TTFont(io.BytesIO(buffer), lazy=True)
        order = font.getGlyphOrder()
        glyphs = dict(enumerate(order))
        if "cmap" in font:
            for table in font["cmap"].tables:
                if table.platformID == 3 and table.platEncID == 0 or table.platformID == 1:
                    for code, glyph in table.cmap.items():
                        codes.setdefault(code & 0xFF, glyph)
    return codes, glyphs


def unmapped_share(text: str) -> float:
    """Share of a text's non-blank characters that are lost glyphs (U+FFFD, private use)."""
    lost = len(LOST.findall(text))
    if not lost:
        return 0.0
    visible = len(text) - text.count(" ") - text.count("\n")
    return round(lost / visible, 6) if visible > 0 else 0.0
