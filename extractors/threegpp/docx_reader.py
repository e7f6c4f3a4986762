"""Streaming WordprocessingML (``word/document.xml``) -> :class:`Block`\\ s with clause structure.

Why not python-docx: it builds a proxy object per paragraph, run and cell and looks
styles up per paragraph; on TS 38.331 (27,000 ASN.1 paragraphs, 800+ tables) opening
alone takes over 20 s. Here lxml's ``iterparse`` hands over each top-level paragraph or
table once, it is turned into markdown with plain loops and then freed, so memory stays
flat and the cost is one pass over the XML. Style ids are resolved to names and roles
once, from ``styles.xml``. On the hot paths (paragraphs, runs, cells) children are read
with plain loops against precomputed ``{namespace}tag`` names: an ElementPath ``find``
costs ~2 us a call, more than the rest of the work on a typical run, and parsing is then
about half of the reader's time (``benchmarks/bench_spec.py``).

What it keeps that ``paragraph.text`` loses or mangles:

* equations: OMML becomes ``$...$`` (inline) or ``$$...$$`` (display) LaTeX; so does an OLE
  equation object (Equation.3, MathType: MTEF, see :mod:`.mtef`), display when it is alone in
  its paragraph; one that cannot be converted becomes a visible :data:`EQUATION_PLACEHOLDER`,
  counted by reason (``equation_placeholder_<reason>``);
* fields: only the result is text (``PAGEREF``/``TOC``/``QUOTE``/``EMBED`` instructions
  are skipped and counted), including fields that span runs and paragraphs;
* tables: markdown with horizontal (``gridSpan``) and vertical (``vMerge``) merges laid
  out on the grid, ``gridBefore``/``gridAfter`` padding, nested tables flattened into
  their cell; a one-cell table (a boxed note or code block) becomes its content;
* tracked changes: deletions skipped, insertions kept; symbol-font characters (``w:sym``, and
  private-use text in Symbol/Wingdings/MT Extra runs) mapped to Unicode (:mod:`.symbol_fonts`);
  super/subscript runs marked (``2^10``, ``N_RB``).
"""
from __future__ import annotations

import posixpath
import re
from collections import Counter
from typing import IO, Dict, Iterator, List, Optional, Tuple

from lxml import etree

from telecom_etl.extractors.threegpp.blocks import (CODE, COVER, HEADING, MATH, TABLE, TEXT, TOC, Block,
                                                     ReadResult, annex_kind, clause_depth, markdown_table,
                                                     split_heading, squeeze)
from telecom_etl.extractors.threegpp.mtef import OleEquations
from telecom_etl.extractors.threegpp.omml import OmmlConverter
from telecom_etl.extractors.threegpp.symbol_fonts import PRIVATE_USE, is_symbol_font, map_private_use, symbol_char
from telecom_etl.outcome import StageFailure

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
M = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
O = "{urn:schemas-microsoft-com:office:office}"
R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_VAL = W + "val"

EQUATION_PLACEHOLDER = "[equation]"
# what the fast path of DocxReader._paragraph cannot read (everything but plain text runs)
_SPECIAL = (W + "tab", W + "ptab", W + "br", W + "cr", W + "fldChar", W + "instrText", W + "noBreakHyphen", W + "sym",
            W + "object", W + "drawing", W + "pict", MC + "AlternateContent", M + "oMath", M + "oMathPara",
            W + "vertAlign", W + "del", W + "moveFrom", W + "fldSimple", W + "softHyphen")
_TOSTRING = etree.tostring


def _string(el) -> str:
    """All text of an element (its descendant text nodes, libxml2's xmlNodeGetContent, as XPath
    ``string()``), in C: 2.0 us a paragraph against 3.6 for a compiled ``XPath("string()")`` and
    several times that for joining ``itertext()``."""
    return _TOSTRING(el, method="text", encoding=str, with_tail=False)


_CHUNK = 256 * 1024  # bytes of XML parsed between two rounds of block extraction
_DOLLAR = "\x1a"  # stands for a literal "$" of a run until the paragraph's role is known (not valid in XML text)

# tags
_P, _R, _T, _TBL, _TR, _TC, _SDT, _SDTCONTENT = (W + "p", W + "r", W + "t", W + "tbl", W + "tr", W + "tc",
                                                 W + "sdt", W + "sdtContent")
_PPR, _RPR, _TCPR, _TRPR = W + "pPr", W + "rPr", W + "tcPr", W + "trPr"
_OMATH, _OMATHPARA = M + "oMath", M + "oMathPara"
_PSTYLE, _OUTLINE, _VERTALIGN, _RFONTS = W + "pStyle", W + "outlineLvl", W + "vertAlign", W + "rFonts"
_FONT_ATTRS = (W + "ascii", W + "hAnsi", W + "cs", W + "eastAsia")
_PUA_SEARCH = PRIVATE_USE.search
_TERM_LIST_STYLES = frozenset({"EW", "EX"})  # 3GPP definition/abbreviation list styles
_TAB, _PTAB, _BR, _CR, _FLDCHAR, _INSTR = W + "tab", W + "ptab", W + "br", W + "cr", W + "fldChar", W + "instrText"
_NBHYPHEN, _SYM, _OBJECT, _TYPE, _FLDCHARTYPE = W + "noBreakHyphen", W + "sym", W + "object", W + "type", W + "fldCharType"
_ALTCONTENT, _FLDSIMPLE = MC + "AlternateContent", W + "fldSimple"
_FIGURES = (W + "drawing", W + "pict", _ALTCONTENT)
_ROW_WRAPPERS = (_SDT, W + "customXml")  # content controls / custom XML around rows or cells
_GRIDSPAN, _VMERGE, _HMERGE, _GRIDBEFORE = W + "gridSpan", W + "vMerge", W + "hMerge", W + "gridBefore"
_CONTAINERS = {W + "hyperlink", W + "smartTag", W + "ins", W + "customXml", W + "moveTo", W + "dir", W + "bdo",
               _SDTCONTENT, W + "fldSimple"}
_SKIP = {W + "del", W + "moveFrom", W + "bookmarkStart", W + "bookmarkEnd", W + "proofErr", W + "permStart",
         W + "permEnd", W + "commentRangeStart", W + "commentRangeEnd", _PPR, W + "sdtPr", W + "sdtEndPr"}

_HEADING_NAME = re.compile(r"^(?:heading\s*|h)(\d)$")
_LIST_NAME = re.compile(r"^(?:b|list bullet\s*|list number\s*|list\s*)(\d?)$")
_COVER_NAMES = {"za", "zb", "zt", "zu", "zv", "zh", "zg", "zd", "zx", "fp", "guidance"}
# Table and figure captions (3GPP TH/TF, Word's "caption"): never headings, whatever
# outline level the style or the paragraph carries (Word files give them one so that
# captions show in the navigation pane)
CAPTION = "caption"
_CAPTION_NAMES = {"th", "tf", "caption", "table caption", "figure caption", "table title", "figure title"}
_EMBED = re.compile(r"\bEMBED\s+[\w.]+(?:\s+\\\*\s*\w+)?")
_PARSER_KW = dict(resolve_entities=False, no_network=True, huge_tree=True, remove_comments=True,
                  remove_pis=True)


class Styles:
    """Paragraph style id -> (name, role, level), resolved once per document.

    Roles: ``heading`` (level 1-9 from the name ``heading N``/``HN`` or the outline level,
    following ``basedOn``), ``toc``, ``code`` (``PL``), ``cover``, ``list`` (``B1``..``B5``,
    level = indent), ``text``.
    """

    def __init__(self, styles_xml: Optional[bytes]):
        self.by_id: Dict[str, Tuple[str, str, int]] = {}
        self.default: Tuple[str, str, int] = ("Normal", TEXT, 0)
        if not styles_xml:
            return
        root = etree.fromstring(styles_xml, etree.XMLParser(**_PARSER_KW))
        raw: Dict[str, Tuple[str, Optional[str], Optional[int]]] = {}
        default_id = None
        for st in root.iter(W + "style"):
            if st.get(W + "type") not in (None, "paragraph"):
                continue
            sid = st.get(W + "styleId") or ""
            name_el, based_el = st.find(W + "name"), st.find(W + "basedOn")
            lvl_el = st.find(_PPR + "/" + W + "outlineLvl")
            raw[sid] = (name_el.get(_VAL) if name_el is not None else sid,
                        based_el.get(_VAL) if based_el is not None else None,
                        int(lvl_el.get(_VAL)) if lvl_el is not None and (lvl_el.get(_VAL) or "").isdigit() else None)
            if st.get(W + "default") in ("1", "true", "on"):
                default_id = sid

        def outline(sid: str, seen=()) -> Optional[int]:
            name, based, lvl = raw.get(sid, ("", None, None))
            if lvl is not None:
                return lvl
            if based and based in raw and based not in seen:
                return outline(based, seen + (sid,))
            return None

        for sid, (name, _, _) in raw.items():
            self.by_id[sid] = classify(name, outline(sid))
        if default_id in self.by_id:
            self.default = self.by_id[default_id]

    def get(self, style_id: Optional[str]) -> Tuple[str, str, int]:
        if style_id is None:
            return self.default
        found = self.by_id.get(style_id)
        if found is None:  # a style id missing from styles.xml: judge it by the id itself
            found = self.by_id[style_id] = classify(style_id, None)
        return found


def classify(name: str, outline_level: Optional[int]) -> Tuple[str, str, int]:
    low = " ".join(name.lower().split())
    m = _HEADING_NAME.match(low)
    if m:
        return name, HEADING, int(m.group(1))
    if low.startswith("toc") and low[3:].strip().isdigit() or low in ("tt", "toc heading"):
        return name, TOC, 0
    if low == "pl":
        return name, CODE, 0
    if low in _COVER_NAMES:
        return name, COVER, 0
    if low in _CAPTION_NAMES:
        return name, CAPTION, 0
    m = _LIST_NAME.match(low)
    if m and low not in ("list",):
        return name, "list", int(m.group(1) or 1)
    if outline_level is not None and 0 <= outline_level <= 8:
        return name, HEADING, outline_level + 1
    return name, TEXT, 0


class _Fields:
    """Field state across runs and paragraphs: a stack of 'instruction'/'result' modes."""

    __slots__ = ("stack",)

    def __init__(self) -> None:
        self.stack: List[str] = []  # hidden (not text) while "instr" is on it


class DocxReader:
    """Reads one ``word/document.xml`` stream into a :class:`ReadResult`."""

    def __init__(self, styles: Styles, keep_field_codes: bool = False,
                 equations: Optional[OleEquations] = None):
        self.styles = styles
        self.equations = equations
        self.ole_in_paragraph: List[str] = []  # OLE equations of the paragraph being read
        self.plain_scripts = False  # super/subscripts read as plain text (term lists)
        self.last_term: Optional[Block] = None  # the term-list entry just read, for its continuation lines
        self.last_script: Optional[tuple] = None  # (parts, index, mark, text) of the last super/subscript run
        self.keep_field_codes = keep_field_codes
        self.math = OmmlConverter()
        self.fields = _Fields()
        self.counts: Counter = Counter()
        self.front_lines: List[Tuple[str, str]] = []
        self.seen_heading = False
        # paragraphs holding anything but plain text runs (see _SPECIAL), found for a whole
        # chunk at once by iter_blocks; None: _paragraph checks each paragraph itself
        self.special: Optional[set] = None

    # -- document ---------------------------------------------------------
    def read(self, stream: IO[bytes]) -> ReadResult:
        result = ReadResult(counts=self.counts, front_lines=self.front_lines)
        result.blocks = list(self.iter_blocks(stream))
        return result

    def iter_blocks(self, stream: IO[bytes]) -> Iterator[Block]:
        # A pull parser fed in chunks, told only where <w:body> starts: after each chunk every
        # child of the body but the last is complete, is turned into blocks and freed. One event
        # in all instead of one per paragraph and table at any depth (``iterparse`` with a tag
        # filter): about half the parsing time on a TS 38.331-sized file, memory still flat.
        parser = etree.XMLPullParser(events=("start",), tag=W + "body", **_PARSER_KW)
        body = None
        while True:
            chunk = stream.read(_CHUNK)
            if chunk:
                parser.feed(chunk)
            else:
                parser.close()
            if body is None:
                for _, el in parser.read_events():
                    body = el
            if body is not None:
                done = list(body)
                if chunk and done:
                    done.pop()  # (the last child may still be growing; none yet right after <w:body>)
                if done:
                    # One C-level walk of the body for the paragraphs the fast path of _paragraph
                    # must not take, instead of one ``iter(*_SPECIAL)`` a paragraph: setting up
                    # that iterator (19 tags) costs more than the walk itself (0.7 of 4.5 CPU-s
                    # on a TS 38.331-shaped spec). The growing last child is walked again next time.
                    self.special, by_top = _special_paragraphs(body)
                for el in done:
                    if el.tag == _P:  # most body children: no generator of their own
                        block = self._paragraph_block(el)
                        if block is not None:
                            yield block
                    else:
                        yield from self._body_element(el)
                    # drop the marks inside el first: lxml frees a subtree that no Python object
                    # references at once, and moves one that is referenced (3x the cost)
                    self.special.difference_update(by_top.pop(el, ()))
                    el.clear(keep_tail=False)
                self.special = None
                for _ in range(len(done)):
                    del body[0]
            if not chunk:
                return

    def _body_element(self, el) -> Iterator[Block]:
        tag = el.tag
        if tag == _P:
            block = self._paragraph_block(el)
            if block is not None:
                yield block
        elif tag == _TBL:
            yield from self._table_blocks(el)
        elif tag == _SDT:
            content = _child(el, _SDTCONTENT)
            for child in (content if content is not None else ()):
                if child.tag in (_P, _TBL, _SDT):
                    yield from self._body_element(child)

    # -- paragraphs -------------------------------------------------------
    def _paragraph(self, p) -> Tuple[str, str, int, Optional[int], str]:
        """(style name, role, level, outline level, text) of a paragraph, in one pass over
        its children: the first ``pPr`` gives the style, the runs the text."""
        first = next(iter(p), None)
        style = self._style(first) if first is not None and first.tag == _PPR else None
        special = self.special
        if style is not None and not self.keep_field_codes and "instr" not in self.fields.stack and \
                (p not in special if special is not None else next(p.iter(*_SPECIAL), None) is None):
            # The common paragraph (plain runs, possibly in hyperlinks, smart tags, content
            # controls or insertions): its text is its w:t texts, gathered in C. Anything that
            # needs the run-by-run reader (tabs, breaks, fields, symbols, scripts, objects,
            # maths, deletions) sends the paragraph there instead.
            text = _string(p)  # every text node: only w:t ones once the specials are ruled out
            if "\n" in text:  # whitespace between elements (a pretty-printed file): only the w:t texts
                text = "".join(p.itertext(_T, with_tail=False))
            if text.isascii() or _PUA_SEARCH(text) is None:
                if "$" in text:
                    text = text.replace("$", "$" if style[1] == CODE else "\\$")
                if "EMBED" in text:
                    text, n = _EMBED.subn("", text)
                    self.counts["removed_field_codes"] += n
                return style + (text,)
        parts: List[str] = []
        self.ole_in_paragraph.clear()
        # in a term list (EW/EX) a subscript is part of the term: "UE" + subscript "R" is UER
        self.plain_scripts = style is not None and style[0] in _TERM_LIST_STYLES
        ppr = self._inline(p, parts, paragraph=True)
        self.plain_scripts = False
        if "instr" in self.fields.stack:  # an instruction never spans paragraphs: recover
            self.fields.stack = [m for m in self.fields.stack if m != "instr"]
            self.counts["malformed_fields"] += 1
        text = "".join(parts)
        if "EMBED" in text:
            text, n = _EMBED.subn("", text)
            self.counts["removed_field_codes"] += n
        if style is None or ppr is not first:
            style = self._style(ppr)
        if _DOLLAR in text:  # a literal "$" of the Word text: escaped in prose, kept in code
            text = text.replace(_DOLLAR, "$" if style[1] == CODE else "\\$")
        return style + (text,)

    def _style(self, ppr) -> Tuple[str, str, int, Optional[int]]:
        # Plain child loops instead of ``find``: ElementPath costs ~2 us a call, and this
        # runs for every paragraph (70,000 in TS 38.331). The first pStyle/outlineLvl
        # count, as with ``find``.
        sid = None
        outline = None
        if ppr is not None:
            seen_style = seen_outline = False
            for prop in ppr:
                tag = prop.tag
                if tag == _PSTYLE and not seen_style:
                    seen_style = True
                    sid = prop.get(_VAL)
                elif tag == _OUTLINE and not seen_outline:
                    seen_outline = True
                    val = prop.get(_VAL)
                    if val and val.isdigit():
                        outline = int(val)
        name, role, level = self.styles.get(sid)
        return name, role, level, outline

    def _paragraph_block(self, p) -> Optional[Block]:
        name, role, level, outline, raw = self._paragraph(p)
        if role == CODE:
            text = raw.replace("\u00a0", " ").rstrip()
            if not self.seen_heading:
                self.front_lines.append((name, text))
            return Block(CODE, text, style=name)  # kept even when empty: blank lines inside code
        last_term, self.last_term = self.last_term, None
        entry = _term_entry(raw, name in _TERM_LIST_STYLES, last_term is not None and role == TEXT)
        if entry is not None:
            # "ABBR<tab>Expansion" (EW/EX): one tab between the term and its meaning, so later
            # stages (abbreviation tasks) split them exactly. A line with no term under an
            # entry ("<tab>UTRAN Registration Area" under "URA<tab>User Registration Area" in
            # TR 21.905, in the list's style or not) and a line break inside a meaning are
            # further expansions of the same term, joined to it with "; "
            term, meaning = entry
            if not term and last_term is not None:
                last_term.text += "; " + meaning
                self.last_term = last_term
                return None
            text = term + "\t" + meaning if term and meaning else term or meaning
        else:
            text = squeeze(raw)
            if len(self.ole_in_paragraph) == 1 and text == self.ole_in_paragraph[0]:
                text = "$" + text + "$"  # an equation object alone in its paragraph: display
                self.counts["n_equations_inline"] -= 1
                self.counts["n_equations_display"] += 1
        if role == TEXT and outline is not None and outline <= 8 and text and _numbered(raw):
            # a direct outline level makes a heading only of a numbered clause title: body
            # sentences carry one too in re-saved files (the TS 24.301 excerpt)
            role, level = HEADING, outline + 1
        if not self.seen_heading and role != HEADING:
            self.front_lines.append((name, text))
        if not text:
            return None
        if role == HEADING:
            self.seen_heading = True
            number, title = split_heading(raw)  # the raw text keeps the tab after the number
            return Block(HEADING, title, number=number, depth=clause_depth(number) or level, style=name,
                         annex=annex_kind(raw) if number.isalpha() else None)
        if role == TOC:
            return Block(TOC, text, style=name)
        if role == COVER:
            return Block(COVER, text, style=name)
        if entry is not None and "\t" in text:
            self.last_term = Block(TEXT, text, style=name)
            return self.last_term
        if text.startswith("$$") and text.endswith("$$"):
            return Block(MATH, text, style=name)
        if role == "list":
            text = "  " * (level - 1) + text.replace("\n", " ")
        return Block(TEXT, text, style=name)

    def _inline(self, el, parts: List[str], paragraph: bool = False):
        """Appends the text of ``el``'s inline content to ``parts``; for a paragraph
        (``paragraph=True``) returns its first ``pPr`` (read in the same pass)."""
        fields = self.fields
        ppr = None
        for child in el:
            tag = child.tag
            if tag == _R:
                self._run(child, parts)
            elif tag == _PPR:
                if paragraph and ppr is None:
                    ppr = child
            elif tag in _CONTAINERS:
                self._inline(child, parts)
            elif tag in _SKIP or not isinstance(tag, str):
                continue
            elif tag == _OMATH or tag == _OMATHPARA:
                if "instr" in fields.stack:  # inside a field instruction (a QUOTE copy)
                    continue
                latex = self.math.convert(child)
                if not latex:
                    continue
                if tag == _OMATHPARA:
                    self.counts["n_equations_display"] += 1
                    parts.append(f"\n$${latex}$$\n")
                else:
                    self.counts["n_equations_inline"] += 1
                    parts.append(f"${latex}$")
            elif tag == _SDT:
                content = _child(child, _SDTCONTENT)
                if content is not None:
                    self._inline(content, parts)
            elif tag == _ALTCONTENT:
                self.counts["n_figures"] += 1
            elif tag == _FLDSIMPLE:
                self.counts["removed_field_codes"] += 1
                self._inline(child, parts)
        return ppr

    def _run(self, r, parts: List[str]) -> None:
        # The hottest loop (one call per run, ~200,000 in a large spec): tag constants are
        # precomputed, "hidden" is recomputed only when a fldChar changes the field stack,
        # and rPr is scanned with a plain loop (vertAlign is its only property that matters).
        stack = self.fields.stack
        hidden = "instr" in stack
        script = fonts = None
        for child in r:
            tag = child.tag
            if tag == _T:
                if not hidden:
                    text = child.text
                    if text:
                        if not text.isascii() and _PUA_SEARCH(text) is not None:
                            text = self._private_use(text, fonts)
                        if "$" in text:  # not maths: see _paragraph
                            text = text.replace("$", _DOLLAR)
                        if script is None or self.plain_scripts:
                            parts.append(text)
                        else:
                            self._scripted(text, script, parts)
            elif tag == _RPR:
                for prop in child:
                    if prop.tag == _RFONTS:
                        fonts = prop
                    elif prop.tag == _VERTALIGN:
                        val = prop.get(_VAL)
                        script = "^" if val == "superscript" else "_" if val == "subscript" else None
                        break
            elif hidden and tag != _FLDCHAR:
                if self.keep_field_codes and tag == _INSTR and child.text:
                    parts.append(child.text)
                continue  # field instruction (or a result nested in one): not text
            elif tag == _TAB or tag == _PTAB:
                parts.append("\t")
            elif tag == _BR or tag == _CR:
                if child.get(_TYPE) != "page":
                    parts.append("\n")
            elif tag == _FLDCHAR:
                kind = child.get(_FLDCHARTYPE)
                if kind == "begin":
                    stack.append("instr")
                    self.counts["removed_field_codes"] += 1
                elif kind == "separate":
                    if stack:
                        stack[-1] = "result"
                elif kind == "end":
                    if stack:
                        stack.pop()
                hidden = "instr" in stack
            elif tag == _NBHYPHEN:
                parts.append("-")
            elif tag == _SYM:
                parts.append(_symbol(child))
            elif tag == _OBJECT:
                self._object(child, parts)
            elif tag in _FIGURES:
                self.counts["n_figures"] += 1
            elif tag == _OMATH or tag == _OMATHPARA:  # math inside a run (rare, but valid)
                parts.append(f"${self.math.convert(child)}$")

    def _scripted(self, text: str, mark: str, parts: List[str]) -> None:
        """Appends a super/subscript run's text; one straight after another of the same kind
        extends it (Word splits ``ki/4`` into runs: ``2^(ki/4)``, not ``2^(^(ki)^(/4))``)."""
        last = self.last_script
        if last is not None and last[0] is parts and last[1] == len(parts) - 1 and last[2] == mark:
            text = last[3] + text
            parts[-1] = _script(text, mark)
        else:
            parts.append(_script(text, mark))
        self.last_script = (parts, len(parts) - 1, mark, text)

    def _object(self, obj, parts: List[str]) -> None:
        ole = next(obj.iter(O + "OLEObject"), None)  # the first descendant, as find(".//...")
        prog = (ole.get("ProgID") or "") if ole is not None else ""
        if prog.startswith("Equation") or "MathType" in prog or prog.startswith("DSMT"):
            latex, reason = (self.equations.convert(ole.get(R + "id")) if self.equations is not None
                             else (None, "missing_part"))
            if latex:
                self.counts["n_equations_ole"] += 1
                self.counts["n_equations_inline"] += 1
                latex = f"${latex}$"
                self.ole_in_paragraph.append(latex)
                parts.append(latex)
            elif latex is not None:
                self.counts["equations_ole_empty"] += 1  # an empty object: Word shows nothing either
            else:
                self.counts["equation_placeholders"] += 1
                self.counts["equation_placeholder_" + reason] += 1
                parts.append(EQUATION_PLACEHOLDER)
        else:
            self.counts["n_figures"] += 1

    def _private_use(self, text: str, fonts) -> str:
        font = ""
        if fonts is not None:
            font = next((name for name in map(fonts.get, _FONT_ATTRS) if name), "")
        mapped, unknown = map_private_use(text, font)
        self.counts["symbol_chars_mapped"] += len(PRIVATE_USE.findall(text)) - unknown
        if unknown:
            self.counts["symbol_chars_unmapped"] += unknown
        return mapped

    # -- tables -----------------------------------------------------------
    def _table_blocks(self, tbl) -> Iterator[Block]:
        self.counts["n_tables"] += 1
        self.last_term = None
        rows_el = list(_rows(tbl))
        if len(rows_el) == 1:
            cells_el = list(_cells(rows_el[0]))
            if len(cells_el) == 1:  # a boxed note / code / figure: its content, not a 1x1 table
                self.counts["tables_single_cell"] += 1
                yield from self._cell_blocks(cells_el[0])
                return
        grid = self.table_grid(tbl)
        if not grid or not any(any(cell for cell in row) for row in grid):
            self.counts["tables_empty"] += 1
            return
        yield Block(TABLE, markdown_table(grid), style="table")

    def _cell_blocks(self, tc) -> Iterator[Block]:
        for child in tc:
            if child.tag == _P:
                block = self._paragraph_block(child)
                if block is not None:
                    if block.kind == HEADING:  # a heading style inside a box is not a clause
                        block = Block(TEXT, (block.number + " " + block.text).strip(), style=block.style)
                    yield block
            elif child.tag == _TBL:
                yield from self._table_blocks(child)
            elif child.tag == _SDT:
                content = _child(child, _SDTCONTENT)
                if content is not None:
                    yield from self._cell_blocks(content)

    def table_grid(self, tbl) -> List[List[str]]:
        """Rows of cell texts laid out on the table grid: a horizontally merged cell fills its
        first grid column (the others stay empty), a vertically merged cell repeats its text
        in every row it spans."""
        rows: List[List[str]] = []
        above: Dict[int, str] = {}
        for tr in _rows(tbl):
            row: List[str] = []
            trpr = _child(tr, _TRPR)
            if trpr is not None:
                row.extend([""] * _int(_child(trpr, _GRIDBEFORE), 0))
            for tc in _cells(tr):
                span, vmerge = 1, None
                tcpr = _child(tc, _TCPR)
                if tcpr is not None:
                    gs = vm = hm = None  # the first of each, as find() would pick
                    for prop in tcpr:
                        tag = prop.tag
                        if tag == _GRIDSPAN:
                            gs = prop if gs is None else gs
                        elif tag == _VMERGE:
                            vm = prop if vm is None else vm
                        elif tag == _HMERGE:
                            hm = prop if hm is None else hm
                    span = max(1, _int(gs, 1))
                    if vm is not None:
                        vmerge = vm.get(_VAL) or "continue"
                    if hm is not None and (hm.get(_VAL) or "continue") == "continue":
                        row.append("")  # legacy horizontal merge: covered by the cell before
                        continue
                col = len(row)
                if vmerge == "continue":
                    text = above.get(col, "")
                else:
                    text = self.cell_text(tc)
                    if vmerge == "restart":
                        self.counts["merged_cells"] += 1
                if span > 1:
                    self.counts["merged_cells"] += 1
                above[col] = text
                row.append(text)
                row.extend([""] * (span - 1))
            rows.append(row)
        width = max((len(r) for r in rows), default=0)
        for row in rows:
            row.extend([""] * (width - len(row)))
        return rows

    def cell_text(self, tc) -> str:
        lines: List[str] = []
        for child in tc:
            tag = child.tag
            if tag == _P:
                name, role, level, _, raw = self._paragraph(child)
                text = raw.replace("\u00a0", " ").rstrip() if role == CODE else squeeze(raw)
                if text:
                    if not self.seen_heading:
                        self.front_lines.append((name, text))
                    lines.append(text)
            elif tag == _TBL:  # nested table: its rows, cells separated by " / "
                self.counts["n_tables_nested"] += 1
                for row in self.table_grid(child):
                    line = " / ".join(c for c in row if c)
                    if line:
                        lines.append(line)
            elif tag == _SDT:
                content = _child(child, _SDTCONTENT)
                if content is not None:
                    lines.append(self.cell_text(content))
        return "\n".join(line for line in lines if line)


def _term_entry(raw: str, term_style: bool, after_entry: bool) -> Optional[Tuple[str, str]]:
    """(term, meaning) of a paragraph of a term list (term "" for a further meaning of the
    entry above), or None when the paragraph is not one."""
    body = raw.strip(" \u00a0\n")
    if "\t" not in body and not (term_style and after_entry):  # most paragraphs: neither case below
        return None
    term, tab, meaning = body.partition("\t")
    term = squeeze(term)
    meaning = "; ".join(part.rstrip(" .;") for part in (squeeze(m) for m in meaning.split("\n")) if part)
    if tab and (term or meaning):
        if term_style or (after_entry and (not term or (len(term) <= 30 and " " not in term and not term.endswith(":")))):
            return term, meaning
        return None
    if term_style and after_entry and body and "\n" not in body and len(body.split()) <= 14 and not body.endswith(":"):
        return "", squeeze(body).rstrip(" .;")  # a further meaning written without its tab
    return None


def _numbered(raw: str) -> bool:
    """Whether a paragraph's text reads as a numbered clause or annex heading."""
    return bool(split_heading(raw)[0])


def _special_paragraphs(root) -> Tuple[set, Dict[object, list]]:
    """The paragraphs under ``root`` (and the paragraphs around them) that hold an element of
    :data:`_SPECIAL` anywhere inside; and the same paragraphs by the child of ``root`` they are in."""
    marked = set()
    by_top: Dict[object, list] = {}
    for node in root.iter(*_SPECIAL):
        found = []
        el, top = node.getparent(), None
        while el is not None and el is not root:
            if el.tag == _P:
                if el not in marked:
                    marked.add(el)
                    found.append(el)
                elif not found:  # marked before, with every paragraph around it: nothing new
                    break
            top, el = el, el.getparent()
        if found:
            by_top.setdefault(top, []).extend(found)
    return marked, by_top


def _child(el, tag: str):
    """The first child with this tag, or None: ``el.find(tag)`` without ElementPath's
    per-call overhead (the properties element is almost always the first child)."""
    for child in el:
        if child.tag == tag:
            return child
    return None


def _wrapped(el, want: str) -> Iterator:
    """Children of ``el`` tagged ``want``, also inside content controls and custom XML wrappers."""
    for child in el:
        tag = child.tag
        if tag == want:
            yield child
        elif tag in _ROW_WRAPPERS:
            inner = _child(child, _SDTCONTENT) if tag == _SDT else child
            if inner is not None:
                yield from _wrapped(inner, want)


def _rows(tbl) -> Iterator:
    return _wrapped(tbl, _TR)


def _cells(tr) -> Iterator:
    return _wrapped(tr, _TC)


def _int(el, default: int) -> int:
    if el is None:
        return default
    try:
        return int(el.get(_VAL))
    except (TypeError, ValueError):
        return default


def _script(text: str, mark: str) -> str:
    text = text.strip()
    if not text:
        return ""
    if len(text) == 1 or (text[0] == "(" and text[-1] == ")" and _balanced(text[1:-1])):
        return mark + text
    return f"{mark}({text})"


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _symbol(el) -> str:
    code = el.get(W + "char") or ""
    try:
        value = int(code, 16)
    except ValueError:
        return ""
    font = el.get(W + "font") or ""
    if is_symbol_font(font) or 0xE000 <= value <= 0xF8FF:
        return symbol_char(value, font)
    return chr(value) if value >= 0x20 else ""


_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"


def _relationships(pkg, rels_name: str, base: str) -> List[Tuple[str, str, str]]:
    """(id, type suffix, part name) of the internal relationships of a ``.rels`` part."""
    if not pkg.has(rels_name):
        return []
    root = etree.fromstring(pkg.read(rels_name), etree.XMLParser(**_PARSER_KW))
    out = []
    for rel in root.iter(_REL):
        if rel.get("TargetMode") == "External":
            continue
        target = rel.get("Target") or ""
        name = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
        out.append((rel.get("Id") or "", (rel.get("Type") or "").rsplit("/", 1)[-1], name))
    return out


def _by_type(relationships: List[Tuple[str, str, str]]) -> Dict[str, str]:
    """Relationship type suffix -> part name (the first of each type)."""
    out: Dict[str, str] = {}
    for _, kind, name in relationships:
        out.setdefault(kind, name)
    return out


def _targets(pkg, rels_name: str, base: str) -> Dict[str, str]:
    return _by_type(_relationships(pkg, rels_name, base))


def read_package(pkg, keep_field_codes: bool = False) -> ReadResult:
    """Blocks of a ``.docx`` package (a :class:`~telecom_etl.extractors.threegpp.zips.SafeZip`)."""
    main = _targets(pkg, "_rels/.rels", "").get("officeDocument", "word/document.xml")
    if not pkg.has(main):
        raise StageFailure("not a Word document: the package has no main document part (word/document.xml)")
    folder = posixpath.dirname(main)
    relationships = _relationships(pkg, posixpath.join(folder, "_rels", posixpath.basename(main) + ".rels"), folder)
    rels = _by_type(relationships)
    equations = OleEquations(pkg.read, {rid: name for rid, kind, name in relationships if kind == "oleObject"})
    styles_part = rels.get("styles", posixpath.join(folder, "styles.xml"))
    styles = Styles(pkg.read(styles_part) if pkg.has(styles_part) else None)
    reader = DocxReader(styles, keep_field_codes=keep_field_codes, equations=equations)
    try:
        with pkg.open(main) as fh:
            result = reader.read(fh)
        if equations.unmapped:
            result.counts["equation_chars_unmapped"] += equations.unmapped
        result.skipped_parts.extend(("equation_placeholder." + reason, detail, part)
                                    for part, reason, detail in equations.failures())
    except etree.XMLSyntaxError as exc:
        raise StageFailure(f"corrupt .docx: document XML is not well-formed ({exc})") from None
    if pkg.has("docProps/core.xml"):
        try:
            core = etree.fromstring(pkg.read("docProps/core.xml"), etree.XMLParser(**_PARSER_KW))
            title = core.find("{http://purl.org/dc/elements/1.1/}title")
            result.core_title = (title.text or "").strip() or None if title is not None else None
        except etree.XMLSyntaxError:
            pass
    return result
