"""A TS 38.331-sized synthetic spec for the benchmark (the shared corpus lacks 38.331).

TS 38.331 is the worst case of the Word reader: ~27,000 ``PL`` (ASN.1) paragraphs and
800+ tables (field descriptions, conditional presence) in a 3.5 MB .docx whose
``document.xml`` is tens of MB. This writes a document of that shape, with the markup
Word really produces (rsid attributes, ``w14:paraId``, runs split mid-line with their own
properties, tabs as ``<w:tab/>`` elements, several ``_Toc`` bookmarks around each heading, a
TOC with ``PAGEREF`` fields, a cover table), at the rates measured in the shared corpus's
protocol specs (TS 29.274 V19.6.0, 24.380, 33.180: the shape table of ``bench_spec.py``), so
parsing cost per paragraph is realistic:

* cover table (``ZA``/``ZB``/``ZT``), legal notice (``FP``), Contents (``TT``/``toc N``);
* Foreword, clauses 1-5 of procedural prose (``B1``/``B2`` lists, ``NO`` notes, inline
  ``$x^2$``-style OMML now and then), clause 6.3.x of IEs: an unnumbered ``Heading 4``
  ``–\\tIEName`` per IE, its ASN.1 in ``PL`` paragraphs (between ``-- ASN1START`` and
  ``-- ASN1STOP``) and a field-description table (one column, bold-italic field names)
  or a conditional-presence table (two columns, a vertically merged cell);
* a Change history annex.

Deterministic (seeded): the same arguments give the same bytes.

    python benchmarks/stress_spec.py /tmp/38331-stress.docx
"""
from __future__ import annotations

import io
import os
import random
import re
import sys
import zipfile
from typing import List
from xml.sax.saxutils import escape

W14 = 'xmlns:w14="http://schemas.microsoft.com/office/word/2010/wordml"'
M_NS = 'xmlns:m="http://schemas.openxmlformats.org/officeDocument/2006/math"'

_WORDS = ("the UE shall set the field to value of when configured by network cell group RRC message procedure "
          "initiate transmission reception SCell PCell bandwidth part serving measurement report timer "
          "expiry upon receiving include indicate otherwise absent present release setup reconfiguration "
          "radio bearer security key SRB DRB MAC PDCP RLC entity parameter list index").split()
_FONTS = '<w:rFonts w:ascii="Arial" w:hAnsi="Arial" w:cs="Arial" w:eastAsia="SimSun"/>'
_TYPES = ("INTEGER (0..15)", "INTEGER (1..maxNrofCells)", "ENUMERATED {true}", "ENUMERATED {ms10, ms20, ms40, spare1}",
          "BOOLEAN", "BIT STRING (SIZE (8))", "OCTET STRING", "SEQUENCE (SIZE (1..maxNrofBWPs)) OF BWP-Id",
          "SetupRelease { PDCCH-Config }", "CellGroupId", "RNTI-Value", "ServCellIndex")


class _Ids:
    """Word-looking rsid / paraId values (hex, deterministic)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.rsids = [f"00{rng.randrange(16 ** 6):06X}" for _ in range(40)]
        self.n = 0

    def rsid(self) -> str:
        return self.rng.choice(self.rsids)

    def para(self) -> str:
        self.n += 1
        return f'w14:paraId="{self.n:08X}" w14:textId="77777777" w:rsidR="{self.rsid()}" w:rsidRDefault="{self.rsid()}"'


class _Writer:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.ids = _Ids(self.rng)
        self.out: List[str] = []
        self.bookmark = 0
        self.counts = {"pl": 0, "tables": 0, "headings": 0, "paragraphs": 0, "content_controls": 0}

    # -- runs and paragraphs --------------------------------------------
    def run(self, text: str, rpr: str = "") -> str:
        """One run; a tab in ``text`` is a ``<w:tab/>`` element, as Word writes it (never a tab
        character inside ``<w:t>``: none of the shared corpus specs has one)."""
        rpr = f"<w:rPr>{rpr}</w:rPr>" if rpr else ""
        content = []
        for i, piece in enumerate(text.split("\t")):
            if i:
                content.append("<w:tab/>")
            if piece:
                space = ' xml:space="preserve"' if piece[:1] == " " or piece[-1:] == " " else ""
                content.append(f"<w:t{space}>{escape(piece)}</w:t>")
        return f'<w:r w:rsidRPr="{self.ids.rsid()}">{rpr}{"".join(content)}</w:r>'

    def props(self, base: str = "", cell: bool = False) -> str:
        """A run's own properties, in schema order, at the rates of the shared corpus's protocol
        specs (TS 29.274 V19.6.0, 24.380, 33.180; runs with any: body 0.3-0.6, table cells
        0.6-1.0): rFonts ~0.2, one w:lang ~0.35, noProof ~0.2 outside tables, sz/szCs ~0.25
        inside them, plus the caller's (bold/italic field names, ASN.1 noProof/colour)."""
        rng = self.rng
        fonts = _FONTS if rng.random() < 0.2 else ""
        bold_italic = "".join(x for x in ("<w:b/>", "<w:i/>") if x in base)
        no_proof = "<w:noProof/>" if "<w:noProof/>" in base or (not cell and rng.random() < 0.2) else ""
        colour = "".join(re.findall(r"<w:color [^>]*/>", base))
        size = '<w:sz w:val="18"/><w:szCs w:val="18"/>' if cell and rng.random() < 0.25 else ""
        roll = rng.random()
        lang = ('<w:lang w:val="en-US"/>' if roll < 0.15 else '<w:lang w:eastAsia="en-GB"/>' if roll < 0.35
                else "")
        return fonts + bold_italic + no_proof + colour + size + lang

    def split_runs(self, text: str, rpr: str = "", cell: bool = False) -> str:
        """Word splits a line into runs at every edit, spell-check and language boundary: in
        the real 38.331 (as in TS 29.274 V19.6.0 of the shared corpus, 5.3 runs a paragraph,
        half of them 1-2 characters) most runs are a word or a piece of one, each with its
        own properties (fonts, language, size). A tab is a ``<w:tab/>``, in a run of its own
        about half the time (as in the corpus specs: 1,479 of 2,957 in TS 29.274 V19.6.0).
        No ``proofErr`` marks: the corpus specs have none."""
        pieces, rng = [], self.rng
        edited = rng.random() < 0.2  # most paragraphs are one or two runs, edited ones many small ones
        while text:
            if text[0] == "\t" and rng.random() < 0.5:
                cut = 1  # the tab alone in its run
            elif not edited:
                cut = len(text) if len(text) < 12 or rng.random() < 0.6 else rng.randrange(4, len(text))
            else:
                cut = len(text) if len(text) <= 3 else min(len(text), rng.choice((1, 2, 2, 3, 4, 6, 9, 14, 24)))
            if "\t" in text[1:cut]:  # a tab starts a run (alone or before its text)
                cut = text.index("\t", 1)
            piece, text = text[:cut], text[cut:]
            pieces.append(self.run(piece, self.props(rpr, cell)))
        return "".join(pieces)

    def inline_control(self, inner: str) -> str:
        """A run-level content control (a tagged span, as editing tools leave around terms)."""
        self.counts["content_controls"] += 1
        return (f'<w:sdt><w:sdtPr><w:alias w:val="term"/><w:tag w:val="t{self.counts["content_controls"]}"/>'
                f'<w:id w:val="{self.rng.randrange(1 << 30)}"/></w:sdtPr><w:sdtContent>{inner}</w:sdtContent></w:sdt>')

    def block_control(self, inner: str, tag: str) -> str:
        """A block-level content control around paragraphs and tables (nested ones inside)."""
        self.counts["content_controls"] += 1
        return (f'<w:sdt><w:sdtPr><w:tag w:val="{escape(tag)}"/><w:id w:val="{self.rng.randrange(1 << 30)}"/>'
                f'</w:sdtPr><w:sdtContent>{inner}</w:sdtContent></w:sdt>')

    def para(self, style: str, body: str, ppr_extra: str = "") -> str:
        self.counts["paragraphs"] += 1
        return (f'<w:p {self.ids.para()}><w:pPr><w:pStyle w:val="{style}"/>{ppr_extra}</w:pPr>{body}</w:p>')

    def text_para(self, style: str, text: str) -> str:
        return self.para(style, self.split_runs(text, cell=style.startswith("TA")))

    def heading(self, level: int, number: str, title: str) -> str:
        """A heading inside the ``_Toc`` bookmarks every regenerated contents left on it (4.7-6.3
        a heading in the corpus's protocol specs, up to 18)."""
        self.counts["headings"] += 1
        ids = []
        for _ in range(self.rng.randrange(3, 9)):
            self.bookmark += 1
            ids.append(self.bookmark)
        body = ("".join(f'<w:bookmarkStart w:id="{i}" w:name="_Toc{100000000 + i}"/>' for i in ids)
                + (self.run(number) + '<w:r><w:tab/></w:r>' if number else "")
                + self.split_runs(title) + "".join(f'<w:bookmarkEnd w:id="{i}"/>' for i in ids))
        return self.para(f"Heading{level}", body)

    def pl(self, line: str) -> str:
        """An ASN.1 line: leading spaces and alignment runs kept, a colour on comments."""
        self.counts["pl"] += 1
        rpr = '<w:color w:val="808080"/>' if line.lstrip().startswith("--") else "<w:noProof/>"
        body = self.split_runs(line, rpr) if line else ""
        return self.para("PL", body, '<w:rPr><w:noProof/></w:rPr>')

    def sentence(self, n: int) -> str:
        words = [self.rng.choice(_WORDS) for _ in range(n)]
        return (" ".join(words)).capitalize() + "."

    # -- tables ---------------------------------------------------------
    def cell(self, paragraphs: str, width: int, extra: str = "") -> str:
        return f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>{extra}</w:tcPr>{paragraphs}</w:tc>'

    def row(self, cells: str) -> str:
        return f'<w:tr w:rsidR="{self.ids.rsid()}" w14:paraId="{self.ids.n:08X}" w14:textId="77777777">{cells}</w:tr>'

    def table(self, grid: List[int], rows: List[str]) -> str:
        self.counts["tables"] += 1
        cols = "".join(f'<w:gridCol w:w="{w}"/>' for w in grid)
        return ('<w:tbl><w:tblPr><w:tblW w:w="0" w:type="auto"/><w:tblBorders>'
                + "".join(f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="auto"/>'
                          for side in ("top", "left", "bottom", "right", "insideH", "insideV"))
                + '</w:tblBorders><w:tblLayout w:type="fixed"/><w:tblLook w:val="04A0"/></w:tblPr>'
                + f"<w:tblGrid>{cols}</w:tblGrid>" + "".join(rows) + "</w:tbl>")

    def field_table(self, ie: str, fields: List[str]) -> str:
        rows = [self.row(self.cell(self.text_para("TAH", f"{ie} field descriptions"), 14173))]
        for name in fields:
            desc = self.para("TAL", self.split_runs(name, "<w:b/><w:i/>", cell=True))
            desc += self.text_para("TAL", self.sentence(self.rng.randrange(15, 70)))
            if self.rng.random() < 0.3:
                desc += self.text_para("TAL", "If the field is absent, the UE applies the value " + name + ".")
            rows.append(self.row(self.cell(desc, 14173)))
        return self.table([14173], rows)

    def condition_table(self, conds: List[str]) -> str:
        rows = [self.row(self.cell(self.text_para("TAH", "Conditional Presence"), 4027)
                         + self.cell(self.text_para("TAH", "Explanation"), 10146))]
        for i, cond in enumerate(conds):
            merge = ""
            if len(conds) > 2 and i == 1:
                merge = '<w:vMerge w:val="restart"/>'
            elif len(conds) > 2 and i == 2:
                merge = "<w:vMerge/>"
            explanation = self.text_para("TAL", self.sentence(self.rng.randrange(10, 30))) if i != 2 or not merge else self.para("TAL", "")
            rows.append(self.row(self.cell(self.para("TAL", self.split_runs(cond, "<w:i/>", cell=True)), 4027)
                                 + self.cell(explanation, 10146, merge)))
        return self.table([4027, 10146], rows)

    # -- content --------------------------------------------------------
    def asn1(self, ie: str, fields: List[str]) -> List[str]:
        tag = ie.upper()
        lines = ["-- ASN1START", f"-- TAG-{tag}-START", "", f"{ie} ::=                   SEQUENCE {{"]
        for i, name in enumerate(fields):
            kind = self.rng.choice(_TYPES)
            opt = "OPTIONAL,   -- Need R" if self.rng.random() < 0.5 else ","
            lines.append(f"    {name:<40}{kind:<36} {opt}".rstrip())
            if self.rng.random() < 0.15:
                lines.append("    ...,")
                lines.append("    [[")
                lines.append(f"    {name}-r17{'':<31}ENUMERATED {{enabled}}       OPTIONAL    -- Need R")
                lines.append("    ]]")
        lines += ["}", "", f"-- TAG-{tag}-STOP", "-- ASN1STOP"]
        return lines

    def equation(self) -> str:
        return (f'<m:oMath {M_NS}><m:sSub><m:e><m:r><m:t>N</m:t></m:r></m:e><m:sub><m:r><m:t>RB</m:t></m:r>'
                '</m:sub></m:sSub><m:r><m:t>=</m:t></m:r><m:f><m:num><m:r><m:t>x</m:t></m:r></m:num>'
                '<m:den><m:r><m:t>2</m:t></m:r></m:den></m:f></m:oMath>')


def _body(w: _Writer, n_pl: int, n_tables: int) -> str:
    rng, out = w.rng, w.out
    # cover, notices, contents
    cover = "".join(w.row(w.cell(w.text_para(s, t), 10423)) for s, t in (
        ("ZA", "3GPP TS 38.331 V18.4.0 (2024-12)"), ("ZB", "Technical Specification"),
        ("ZT", "3rd Generation Partnership Project;"),
        ("ZT", "Technical Specification Group Radio Access Network;"), ("ZT", "NR;"),
        ("ZT", "Radio Resource Control (RRC) protocol specification"), ("ZT", "(Release 18)")))
    out.append(w.table([10423], [cover]))
    w.counts["tables"] -= 1  # the cover is not content
    for text in ("3GPP", "Postal address", "3GPP support office address", "Copyright Notification",
                 "No part may be reproduced except as authorized by written permission."):
        out.append(w.text_para("FP", text))
    out.append(w.text_para("TT", "Contents"))
    toc_at = len(out)
    out.append(w.heading(1, "", "Foreword"))
    out.append(w.text_para("Normal", "This Technical Specification has been produced by the 3rd Generation "
                                     "Partnership Project (3GPP)."))
    # procedural clauses: prose with lists and notes
    for c in range(1, 6):
        out.append(w.heading(1, str(c), w.sentence(3)[:-1]))
        for s in range(1, 11):
            out.append(w.heading(2, f"{c}.{s}", w.sentence(4)[:-1]))
            for t in range(1, 9):
                out.append(w.heading(3, f"{c}.{s}.{t}", w.sentence(3)[:-1]))
                for _ in range(rng.randrange(4, 12)):
                    if rng.random() < 0.1:  # a tagged term inside the sentence
                        body = (w.split_runs(w.sentence(rng.randrange(5, 20))[:-1] + " ")
                                + w.inline_control(w.split_runs(rng.choice(_WORDS)))
                                + w.split_runs(" " + w.sentence(rng.randrange(5, 20)).lower()))
                        out.append(w.para("Normal", body))
                        continue
                    out.append(w.text_para("Normal", w.sentence(rng.randrange(15, 60))))
                    if rng.random() < 0.1:
                        body = w.split_runs("the value ") + w.equation() + w.run(" is used.")
                        out.append(w.para("Normal", body))
                for _ in range(rng.randrange(4, 14)):
                    out.append(w.text_para("B1", "-\t" + w.sentence(rng.randrange(8, 25))))
                    if rng.random() < 0.4:
                        out.append(w.text_para("B2", "-\t" + w.sentence(rng.randrange(6, 20))))
                if rng.random() < 0.3:
                    out.append(w.text_para("NO", "NOTE:\t" + w.sentence(rng.randrange(10, 30))))
    # information elements: ASN.1 + field description / conditional presence tables
    out.append(w.heading(1, "6", "Protocol data units, formats and parameters (ASN.1)"))
    out.append(w.heading(2, "6.3", "RRC information elements"))
    sub, ie_no = 0, 0
    while w.counts["pl"] < n_pl or w.counts["tables"] < n_tables:
        if ie_no % 60 == 0:
            sub += 1
            out.append(w.heading(3, f"6.3.{sub}", w.sentence(3)[:-1]))
        ie_no += 1
        ie = f"IE{ie_no}-" + "".join(x.capitalize() for x in rng.sample(_WORDS, 2))
        fields = [f"field{i}-" + rng.choice(_WORDS) for i in range(rng.randrange(6, 36))]
        section: List[str] = [w.heading(4, "", "–\t" + ie),
                              w.text_para("Normal", f"The IE {ie} is used to " + w.sentence(rng.randrange(8, 20)).lower()),
                              w.text_para("TH", f"{ie} information element")]
        code = [w.pl(line) for line in w.asn1(ie, fields)[: max(0, n_pl - w.counts["pl"])]]
        tables = []
        if w.counts["tables"] < n_tables:
            tables.append(w.field_table(ie, fields))
        if w.counts["tables"] < n_tables and rng.random() < 0.25:
            tables.append(w.condition_table([f"Cond{k}" for k in range(rng.randrange(1, 5))]))
        if ie_no % 6 == 0:  # one IE in six sits in nested content controls (section > ASN.1 / tables)
            section += [w.block_control("".join(code), "asn1"), w.block_control("".join(tables), "fields")]
            out.append(w.block_control("".join(section), ie))
        else:
            out.extend(section + code + tables)
    out.append(w.heading(8, "", "Annex A (informative):\tChange history"))
    hist = [w.row("".join(w.cell(w.text_para("TAH", h), 1500) for h in ("Date", "Meeting", "TDoc", "New version")))]
    for v in range(40):
        hist.append(w.row("".join(w.cell(w.text_para("TAL", t), 1500)
                                  for t in (f"2024-{v % 12 + 1:02d}", f"RAN#{100 + v}", f"RP-24{v:04d}",
                                            f"18.{v // 10}.{v % 10}"))))
    out.append(w.table([1500] * 4, hist))
    # contents, filled in now that the headings exist
    toc = []
    for level, number in ((1, "1"), (2, "1.1"), (1, "6"), (2, "6.3")):
        toc.append(w.para(f"TOC{level}", w.run(f"{number}\tClause") + w.run("\t")
                          + '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
                          + '<w:r><w:instrText xml:space="preserve"> PAGEREF _Toc100000001 \\h </w:instrText></w:r>'
                          + '<w:r><w:fldChar w:fldCharType="separate"/></w:r>' + w.run("12")
                          + '<w:r><w:fldChar w:fldCharType="end"/></w:r>'))
    out[toc_at:toc_at] = toc * 100
    return "".join(out)


def make_stress_spec(path: str, n_pl: int = 27000, n_tables: int = 831, seed: int = 38331) -> dict:
    """Write the synthetic spec to ``path``; returns what it holds (counts)."""
    import docx

    # the package skeleton (content types, relationships, styles) from python-docx's template,
    # with the 3GPP paragraph styles added; the body is written as raw XML below
    document = docx.Document()
    from docx.enum.style import WD_STYLE_TYPE

    for name in ("ZA", "ZB", "ZT", "FP", "TT", "PL", "TH", "TAH", "TAL", "NO", "B1", "B2", "TOC 1", "TOC 2"):
        try:
            document.styles[name]
        except KeyError:
            document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    buf = io.BytesIO()
    document.save(buf)
    writer = _Writer(seed)
    body = _body(writer, n_pl, n_tables)
    with zipfile.ZipFile(buf) as src:
        xml = src.read("word/document.xml").decode("utf-8")
        start = xml.index("<w:body>") + len("<w:body>")
        sect = xml.index("<w:sectPr")
        xml = xml[:start] + body + xml[sect:]
        if "xmlns:w14=" not in xml[:2000]:
            xml = xml.replace("<w:document ", f"<w:document {W14} ", 1)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                data = xml.encode("utf-8") if info.filename == "word/document.xml" else src.read(info.filename)
                info = zipfile.ZipInfo(info.filename, date_time=(2024, 12, 1, 0, 0, 0))  # deterministic bytes
                info.compress_type = zipfile.ZIP_DEFLATED
                dst.writestr(info, data)
    os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(out.getvalue())
    return dict(writer.counts, xml_mb=round(len(xml) / 1e6, 1))


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "38331-stress.docx"
    print(target, make_stress_spec(target))
