"""ETSI PDF editions of 3GPP specs -> the same blocks as the Word reader.

* Identity from the content, not the (third-party) file name: the first page's
  ``(3GPP TS 38.201 version 19.0.0 Release 19)``, else ``/Subject`` or the title line
  ``ETSI TS 138 201 V19.0.0 (2026-01)`` (ETSI TS 1AB CDE is 3GPP AB.CDE).
* Page furniture: lines in the top/bottom bands that repeat (digits folded) on at
  least half the pages, and bare page numbers there, are removed and counted.
* Headings: the PDF outline (bookmarks) names every clause with its page; a text block
  on that page whose text is the bookmark title becomes the heading.
* Tables: ruled grids from the page's vector drawings (:mod:`.pdf_tables`: the grid PyMuPDF's
  table finder builds, without its per-character cost), only on pages whose drawings hold
  horizontal and vertical rules; the text inside a table's box is not repeated as prose.
* Code (Courier) blocks keep their lines and indentation.
* Maths glyphs without Unicode (Symbol positions in private use, control codes of subset
  fonts such as ``T121``) are mapped through the font's encoding or glyph names
  (:mod:`telecom_etl.extractors.pdfglyphs`); what stays unknown is U+FFFD, counted
  (``glyphs_mapped``, ``glyphs_unmapped``) and scored per record by the source.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from itertools import islice
from typing import Dict, List, Optional, Tuple

from telecom_etl.extractors.pdfglyphs import UNMAPPED, GlyphMapper
from telecom_etl.extractors.threegpp import filename as fn
from telecom_etl.extractors.threegpp.blocks import (CODE, COVER, HEADING, TABLE, TEXT, TOC, Block, ReadResult,
                                                     clause_depth, markdown_table, split_heading, squeeze)
from telecom_etl.extractors.threegpp.pdf_tables import find_tables as ruled_tables, has_rules
from telecom_etl.outcome import StageFailure

TOP_BAND, BOTTOM_BAND = 0.09, 0.07  # fractions of the page height holding running headers/footers
_DIGITS = re.compile(r"\d+")
# path painting operators (``x y w h re f``, ``x y l S``; a stray "f" in a text string only
# over-counts) and form/image invocations
# (``/Fm1 Do``, whose drawings are not in the page's own stream): counting them in the content
# stream costs a quarter of reading the page's drawings
_PAINT = re.compile(rb"\s[fFSsBb]\*?(?=\s|$)")
_SEGMENT = re.compile(rb"\s(?:l|re(?!\s+W))(?=\s)")  # a line or rectangle that is not a clip
_DO = re.compile(rb"/[^\s/\[\]()<>{}%]+\s*Do\b")
_DO_NAME = re.compile(rb"/([^\s/\[\]()<>{}%]+)\s*Do\b")
_UNMAPPED_SEARCH = UNMAPPED.search
_LEADER = re.compile(r"\.{4,}\s*\d+\s*$")
_ETSI_COVER = re.compile(r"ETSI\s+(?:TS|TR)\s+\d{3}\s+\d{3}(?:-\d+)?\s+V\d+\.\d+\.\d+\s*\((?P<date>\d{4}-\d{2})\)")


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


class PdfIdentity:
    def __init__(self, spec: Optional[fn.SpecId], release: Optional[int], title: Optional[str], date: Optional[str],
                 source: str):
        self.spec, self.release, self.title, self.date, self.source = spec, release, title, date, source


def identity(pdf) -> PdfIdentity:
    first = pdf[0].get_text() if pdf.page_count else ""
    lines = [ln.strip() for ln in first.splitlines() if ln.strip()]
    spec = fn.from_cover(first)
    source = "first_page"
    rel = None
    m = fn.ETSI_3GPP.search(" ".join(lines))
    if m and m["rel"]:
        rel = fn.release_number(m["rel"])
    meta = pdf.metadata or {}
    if spec is None:
        spec = fn.from_etsi(meta.get("subject") or "") or fn.from_etsi(meta.get("title") or "") or fn.from_etsi(first)
        source = "pdf_metadata" if spec else "none"
    date = None
    title_lines: List[str] = []
    cover_seen = False
    for ln in lines:
        cm = _ETSI_COVER.search(ln)
        if cm:
            date, cover_seen = cm["date"], True
            continue
        if cover_seen:
            if ln.startswith("(3GPP") or ln.upper().startswith(("TECHNICAL SPECIFICATION", "TECHNICAL REPORT")):
                break
            title_lines.append(ln)
    title = " ".join(title_lines).strip().rstrip(";") or None
    return PdfIdentity(spec, rel, title, date, source)


def _furniture(pages: List[List[Tuple[float, float, str]]], heights: List[float]) -> set:
    """Normalised texts of lines repeated in the header/footer bands of most pages."""
    seen: Counter = Counter()
    for lines, height in zip(pages, heights):
        keys = {_DIGITS.sub("#", _norm(text)) for y0, y1, text in lines
                if y1 < height * TOP_BAND or y0 > height * (1 - BOTTOM_BAND)}
        seen.update(k for k in keys if k)
    need = max(2, len(pages) // 2)
    return {k for k, n in seen.items() if n >= need}


def read_pdf(pdf, strip_furniture: bool = True, tables: bool = True) -> ReadResult:
    """Blocks of an ETSI spec PDF (an open ``pymupdf.Document``)."""
    if pdf.needs_pass:
        raise StageFailure("password-protected PDF")
    counts: Counter = Counter()
    toc_by_page: Dict[int, List[str]] = defaultdict(list)
    for level, title, page in pdf.get_toc(simple=True):
        toc_by_page[page - 1].append(_norm(title))
    page_blocks = []
    page_lines = []
    heights = []
    page_tables = []  # per page: (words, tables) of a page with ruled tables, else None
    glyphs = GlyphMapper(pdf)
    for page in pdf:
        textpage = page.get_textpage(flags=0)
        data = page.get_text("dict", textpage=textpage)
        size = (data["width"], data["height"])  # the page's size comes with the dict (page.rect costs a lookup)
        found = _find_tables(page, textpage, size) if tables else None
        if found and any(_UNMAPPED_SEARCH(w[4]) is not None for w in found[0]):
            found = (_map_words(glyphs, page, data["blocks"], found[0]), found[1])
        page_tables.append(found)
        # single-column pages: reading order is top to bottom (the footer block can come early in the stream)
        blocks = sorted((b for b in data["blocks"] if b.get("type") == 0), key=lambda b: (b["bbox"][1], b["bbox"][0]))
        page_blocks.append(blocks)
        heights.append(size[1])
        lines = []
        for b in blocks:
            for ln in b["lines"]:
                text = "".join(s["text"] for s in ln["spans"])
                if _UNMAPPED_SEARCH(text) is not None:  # maths glyphs without Unicode (Symbol, T121 fonts)
                    for span in ln["spans"]:
                        if _UNMAPPED_SEARCH(span["text"]) is not None:
                            span["text"] = glyphs.fix(page, span["text"], span["font"], span)
                    text = "".join(s["text"] for s in ln["spans"])
                lines.append((ln["bbox"][1], ln["bbox"][3], text))
        page_lines.append(lines)
    counts["glyphs_mapped"] += glyphs.mapped
    counts["glyphs_unmapped"] += glyphs.unmapped
    furniture = _furniture(page_lines, heights) if strip_furniture else set()
    result = ReadResult(counts=counts)
    seen_heading = False
    for index in range(pdf.page_count):
        height = heights[index]
        boxes = []
        if page_tables[index]:
            words, found = page_tables[index]
            for table in found:
                rows = _table_rows(words, table)
                if rows and any(any(c for c in r) for r in rows):
                    boxes.append((table.bbox, Block(TABLE, markdown_table(rows), style="table")))
        counts["n_tables"] += len(boxes)
        pending = sorted(boxes, key=lambda tb: tb[0][1])
        wanted = toc_by_page.get(index, [])
        for b in page_blocks[index]:
            x0, y0, x1, y1 = b["bbox"]
            while pending and pending[0][0][1] <= y0:
                result.blocks.append(pending.pop(0)[1])
            lines = []
            for ln in b["lines"]:
                if boxes and any(_inside(ln["bbox"], tb) for tb, _ in boxes):
                    continue  # the table's own text
                text = "".join(s["text"] for s in ln["spans"])
                ly0, ly1 = ln["bbox"][1], ln["bbox"][3]
                in_band = ly1 < height * TOP_BAND or ly0 > height * (1 - BOTTOM_BAND)
                if strip_furniture and in_band and (_DIGITS.sub("#", _norm(text)) in furniture or text.strip().isdigit()):
                    counts["removed_page_furniture"] += 1
                    continue
                lines.append((ln, text))
            if not lines:
                continue
            for block in _blocks(lines, wanted):
                if block.kind == HEADING:
                    seen_heading = True
                elif not seen_heading:
                    result.front_lines.append((block.style, block.text))
                result.blocks.append(block)
        result.blocks.extend(tb for _, tb in pending)
    return result


def _inside(bbox, box) -> bool:
    cx, cy = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]


def _find_tables(page, textpage, size):
    """(words, tables) of a page with ruled tables, else None. Only a page whose drawings hold
    horizontal and vertical rules is searched, from the drawings themselves (:mod:`.pdf_tables`,
    the grid PyMuPDF's finder would build, at a fraction of its cost); a rotated page goes to
    PyMuPDF's finder."""
    contents = page.read_contents()
    if (_PAINT.search(contents) is None or len(list(islice(_SEGMENT.finditer(contents), 2))) < 2) and (
            _DO.search(contents) is None or _only_images(page, contents)):
        return None  # nothing painted in the page's own stream, or a single rule, and no form: no grid to read
    drawings = page.get_cdrawings()
    if not has_rules(drawings):  # a table needs two horizontal and two vertical rules
        return None
    words = page.get_text("words", textpage=textpage)
    if page.rotation:
        try:  # the line-based finder; PyMuPDF >= 2 would otherwise run a layout model per page (~1 s)
            found = page.find_tables(use_layout=False).tables
        except TypeError:
            found = page.find_tables().tables
    else:
        found = ruled_tables(drawings, words, (0.0, 0.0, size[0], size[1]), size[1])
    return (words, found) if found else None


def _only_images(page, contents: bytes) -> bool:
    """Whether every XObject the page's stream invokes (``/Name Do``) is an image of its own
    resources (an ETSI cover's logos): images hold no drawings, so the page's drawings are its
    stream's alone. A form, a name not found there (inherited resources, escaped names) or
    anything unexpected: False (the drawings are read). Costs a few dictionary lookups, where
    reading the drawings of a cover page costs about a tenth of a plain get_text() loop."""
    try:
        doc = page.parent
        for name in set(_DO_NAME.findall(contents)):
            kind, subtype = doc.xref_get_key(page.xref, "Resources/XObject/" + name.decode("ascii") + "/Subtype")
            if kind != "name" or subtype != "/Image":
                return False
    except Exception:  # an odd name or dictionary: read the drawings
        return False
    return True


def _map_words(glyphs: GlyphMapper, page, blocks, words) -> list:
    """Words (table cells' text) with unmapped glyphs mapped in the font of the span that holds them."""
    out = []
    for w in words:
        if _UNMAPPED_SEARCH(w[4]) is None:
            out.append(w)
            continue
        font = ""
        try:
            cx, cy = (w[0] + w[2]) / 2, (w[1] + w[3]) / 2
            for span in blocks[w[5]]["lines"][w[6]]["spans"]:
                x0, y0, x1, y1 = span["bbox"]
                if x0 <= cx <= x1 and y0 - 1 <= cy <= y1 + 1:
                    font = span["font"]
                    break
        except (IndexError, KeyError):  # numbering of another text page: the font stays unknown (read as Symbol)
            pass
        out.append(w[:4] + (glyphs.fix(page, w[4], font, count=False),) + tuple(w[5:]))
    return out


def _table_rows(words, table) -> List[List[str]]:
    """Cell texts from the page's words by cell box (the finder's own text loses word spaces)."""
    rows = []
    # word centres, narrowed to the table's box, then to each row's band (words keep their order)
    tx0, ty0, tx1, ty1 = table.bbox
    centred = [((w[0] + w[2]) / 2, (w[1] + w[3]) / 2, w) for w in words]
    centred = [c for c in centred if tx0 <= c[0] <= tx1 and ty0 <= c[1] <= ty1]
    for row in table.rows:
        boxes = getattr(row, "cells", row)  # PyMuPDF's TableRow or a RuledTable row
        present = [b for b in boxes if b]
        band = []
        if present:
            top, bottom = min(b[1] for b in present), max(b[3] for b in present)
            band = [c for c in centred if top <= c[1] <= bottom]
        cells = []
        for box in boxes:
            if not box:
                cells.append("")
                continue
            x0, y0, x1, y1 = box
            inside = [w for cx, cy, w in band if x0 <= cx <= x1 and y0 <= cy <= y1]
            lines: List[str] = []
            last = None
            for w in inside:  # words come in reading order with (block, line) numbers
                key = (w[5], w[6])
                if key != last and lines:
                    lines.append("\n")
                lines.append(w[4] + " ")
                last = key
            cells.append(squeeze("".join(lines)))
        rows.append(cells)
    return rows


def _blocks(lines, wanted: List[str]) -> List[Block]:
    fonts = {s["font"] for ln, _ in lines for s in ln["spans"] if s["text"].strip()}
    if fonts and all("courier" in f.lower() for f in fonts):
        left = min(ln["bbox"][0] for ln, _ in lines)
        size = max((s["size"] for ln, _ in lines for s in ln["spans"]), default=8.0)
        out = []
        for ln, text in lines:
            indent = int(round((ln["bbox"][0] - left) / (0.6 * size)))
            out.append(" " * indent + text.rstrip())
        return [Block(CODE, "\n".join(out), style="code")]
    # lines on one baseline are one visual line (ETSI sets "5.3.2" and its title, or an
    # abbreviation and its expansion, apart)
    rows: List[Tuple[float, List[str]]] = []
    for ln, text in lines:
        y = ln["bbox"][3]
        if rows and abs(rows[-1][0] - y) < 2.0:
            rows[-1][1].append(text.strip())
        else:
            rows.append((y, [text.strip()]))
    whole = _join([" ".join(p for p in parts if p) for _, parts in rows])
    if _norm(whole) in wanted:
        number, title = split_heading(whole)
        return [Block(HEADING, title, number=number, depth=clause_depth(number) or 1, style="heading")]
    if len(rows) > 1 and sum(1 for _, parts in rows if len([p for p in parts if p]) > 1) > 1:
        # a two-column list (abbreviations, references): one entry per visual line
        texts = [" ".join(p for p in parts if p) for _, parts in rows]
        return [_classify(t) for t in texts if t.strip()]
    return [_classify(whole)] if whole.strip() else []


def _join(lines: List[str]) -> str:
    out = ""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        out = out + line if not out or out.endswith("-") else out + " " + line
    return squeeze(out)


def _classify(text: str) -> Block:
    text = squeeze(text)
    if _LEADER.search(text):
        return Block(TOC, text, style="toc")
    if _ETSI_COVER.search(text) or fn.ETSI_3GPP.search(text):
        return Block(COVER, text, style="cover")
    return Block(TEXT, text, style="text")
