"""Generators of 3GPP-style inputs built in code (python-docx plus raw WordprocessingML).

:func:`make_rich_spec` writes a .docx that exercises every extraction rule once:

* cover page in a table (``ZA``/``ZB``/``ZT``) + legal notice (``FP``), Contents (``TT``
  and ``toc N`` entries with ``PAGEREF`` fields), the standard Foreword;
* clause headings 1-3 deep, an empty "Void" clause, a Void clause that has content;
* inline and display OMML equations (fraction, sum with limits, sub/superscripts,
  delimiters), an OMML copy inside a ``QUOTE`` field instruction (must not be doubled),
  an OLE ``Equation.3`` object (-> placeholder), an ``EMBED`` field-code leftover;
* a table with a header row, a horizontally merged (``gridSpan``) and a vertically
  merged (``vMerge``) cell; a one-cell box holding a note;
* ASN.1 in ``PL`` paragraphs (tabs and indentation kept);
* a Change history annex with its table.

The archive helpers build the bad inputs of the issue: traversal, encryption, zip bomb,
truncation, empty archives.
"""
from __future__ import annotations

import io
import os
import struct
import zipfile
from typing import Dict, Optional

W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
M_NS = 'xmlns:m="http://schemas.openxmlformats.org/officeDocument/2006/math"'
VO_NS = 'xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office"'

# x^2 (inline)
INLINE_MATH = ('<m:oMath {m}><m:sSup><m:e><m:r><m:t>x</m:t></m:r></m:e><m:sup><m:r><m:t>2</m:t></m:r></m:sup>'
               '</m:sSup></m:oMath>').format(m=M_NS)
# c(n) = sum_{i=0}^{N-1} a_i / 2   (display)
DISPLAY_MATH = (
    '<m:oMathPara {m}><m:oMath>'
    '<m:r><m:t>c</m:t></m:r><m:d><m:e><m:r><m:t>n</m:t></m:r></m:e></m:d><m:r><m:t>=</m:t></m:r>'
    '<m:nary><m:naryPr><m:chr m:val="∑"/></m:naryPr><m:sub><m:r><m:t>i=0</m:t></m:r></m:sub>'
    '<m:sup><m:r><m:t>N−1</m:t></m:r></m:sup><m:e><m:f><m:num><m:sSub><m:e><m:r><m:t>a</m:t></m:r></m:e>'
    '<m:sub><m:r><m:t>i</m:t></m:r></m:sub></m:sSub></m:num><m:den><m:r><m:t>2</m:t></m:r></m:den></m:f></m:e>'
    '</m:nary><m:r><m:rPr><m:nor/></m:rPr><m:t> mod </m:t></m:r><m:r><m:t>2</m:t></m:r>'
    '</m:oMath></m:oMathPara>').format(m=M_NS)
DISPLAY_LATEX = r"c\left( n \right)=\sum_{i=0}^{N-1} \frac{a_{i}}{2}\text{ mod }2"
OLE_EQUATION = ('<w:r {w}><w:object><v:shape {vo} id="_x0000_i1025" style="width:20pt;height:10pt"/>'
                '<o:OLEObject {vo} Type="Embed" ProgID="Equation.3" ShapeID="_x0000_i1025" ObjectID="_1"/>'
                '</w:object></w:r>').format(w=W_NS, vo=VO_NS)
ASN1_LINES = ["-- ASN1START", "RRCSetup ::= SEQUENCE {", "\trrc-TransactionIdentifier\tRRC-TransactionIdentifier,",
              "\tcriticalExtensions\t\tCHOICE {", "\t\trrcSetup\t\t\tRRCSetup-IEs", "\t}", "}", "-- ASN1STOP"]
FOREWORD = ["This Technical Specification has been produced by the 3rd Generation Partnership Project (3GPP).",
            "The contents of the present document are subject to continuing work within the TSG and may change "
            "following formal TSG approval."]


def _xml(fragment: str):
    from docx.oxml import parse_xml

    return parse_xml(fragment)


def _field(instr: str, result: str = "") -> str:
    runs = [f'<w:r {W_NS}><w:fldChar w:fldCharType="begin"/></w:r>',
            f'<w:r {W_NS}><w:instrText xml:space="preserve"> {instr} </w:instrText></w:r>']
    if result:
        runs += [f'<w:r {W_NS}><w:fldChar w:fldCharType="separate"/></w:r>',
                 f'<w:r {W_NS}><w:t>{result}</w:t></w:r>']
    runs.append(f'<w:r {W_NS}><w:fldChar w:fldCharType="end"/></w:r>')
    return "".join(runs)


def _append(paragraph, *fragments: str) -> None:
    for fragment in fragments:
        if fragment.startswith("<w:r ") and "</w:r><w:r" in fragment:  # several runs
            for run in fragment.replace("</w:r><w:r", "</w:r>\x00<w:r").split("\x00"):
                paragraph._p.append(_xml(run))
        else:
            paragraph._p.append(_xml(fragment))


def _styles(document) -> None:
    from docx.enum.style import WD_STYLE_TYPE

    for name in ("ZA", "ZB", "ZT", "FP", "TT", "toc 1", "toc 2", "EX", "EW", "PL", "TH", "TAH", "TAL", "NO",
                 "B1", "EQ"):
        try:
            document.styles[name]
        except KeyError:
            document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)


def _heading(document, text: str, level: int):
    return document.add_paragraph(text, style=f"Heading {min(level, 9)}")


def make_rich_spec(path: str, spec: str = "38.999", version: str = "18.1.0", date: str = "2024-03",
                   spec_type: str = "TS", title_lines=("NR;", "Sample physical layer procedures"),
                   cover: bool = True) -> str:
    import docx

    document = docx.Document()
    _styles(document)
    if cover:
        table = document.add_table(rows=1, cols=1)
        cell = table.cell(0, 0)
        cell.paragraphs[0].text = f"3GPP {spec_type} {spec} V{version} ({date})"
        cell.paragraphs[0].style = document.styles["ZA"]
        cell.add_paragraph("Technical Specification", style="ZB")
        cell.add_paragraph("3rd Generation Partnership Project;", style="ZT")
        cell.add_paragraph("Technical Specification Group Radio Access Network;", style="ZT")
        for line in title_lines:
            cell.add_paragraph(line, style="ZT")
        cell.add_paragraph(f"(Release {version.split('.')[0]})", style="ZT")
        for line in ("3GPP", "Postal address", "Copyright Notification",
                     "No part may be reproduced except as authorized by written permission."):
            document.add_paragraph(line, style="FP")
        document.add_paragraph("Contents", style="TT")
        for number, heading, level in (("1", "Scope", 1), ("4", "General", 1), ("4.1", "Equations", 2)):
            p = document.add_paragraph(f"{number}\t{heading}\t", style=f"toc {level}")
            _append(p, _field("PAGEREF _Toc1 \\h", "7"))
    _heading(document, "Foreword", 1)
    for text in FOREWORD:
        document.add_paragraph(text)

    _heading(document, "1\tScope", 1)
    p = document.add_paragraph("The present document specifies the sample power ")
    _append(p, INLINE_MATH)
    p.add_run(" of the sample channel.")
    p = document.add_paragraph("A quoted symbol ")
    _append(p, INLINE_MATH, _field("QUOTE"))  # the field instruction would hold a copy
    p.add_run(" appears once. EMBED Equation.3 ")
    p.add_run("Text after a field code leftover.")

    _heading(document, "2\tReferences", 1)
    document.add_paragraph("[1]\t3GPP TR 21.905: \"Vocabulary for 3GPP Specifications\".", style="EX")

    _heading(document, "3\tVoid", 1)

    _heading(document, "4\tGeneral", 1)
    _heading(document, "4.1\tEquations", 2)
    document.add_paragraph("The sequence is defined by")
    _append(document.add_paragraph(style="EQ"), DISPLAY_MATH)
    p = document.add_paragraph("where the legacy symbol ")
    _append(p, OLE_EQUATION)
    p.add_run(" is given by the higher layers.")
    _heading(document, "4.1.1\tVoid", 3)
    document.add_paragraph("This clause was voided but still carries a note.")

    _heading(document, "4.2\tTables", 2)
    document.add_paragraph("Table 4.2-1: Sample parameters", style="TH")
    table = document.add_table(rows=4, cols=3)
    table.style = document.styles["Table Grid"]
    rows = [["Parameter", "Value", "Unit"], ["Bandwidth", "20", "MHz"], ["Spacing", "15", ""],
            ["Note", "", ""]]
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value:
                table.cell(r, c).paragraphs[0].text = value
                table.cell(r, c).paragraphs[0].style = document.styles["TAH" if r == 0 else "TAL"]
    table.cell(1, 2).merge(table.cell(2, 2))  # vertical merge: "MHz" spans two rows
    for p in table.cell(1, 2).paragraphs[1:]:
        p._p.getparent().remove(p._p)
    table.cell(3, 0).merge(table.cell(3, 2))  # horizontal merge across the whole row
    for p in table.cell(3, 0).paragraphs[1:]:
        p._p.getparent().remove(p._p)
    table.cell(3, 0).paragraphs[0].text = "All values are | examples."
    box = document.add_table(rows=1, cols=1)
    box.cell(0, 0).paragraphs[0].text = "NOTE:\tA boxed note."
    box.cell(0, 0).paragraphs[0].style = document.styles["NO"]

    _heading(document, "5\tProtocol data units", 1)
    document.add_paragraph("The message is defined as follows:")
    for line in ASN1_LINES:
        document.add_paragraph(line, style="PL")
    _heading(document, "5.1\tRRC timers", 2)
    document.add_paragraph("-\tT300 is started on transmission of RRCSetupRequest.", style="B1")

    _heading(document, "Annex A (informative):\tChange history", 8)
    hist = document.add_table(rows=2, cols=3)
    for c, value in enumerate(["Date", "Meeting", "New version"]):
        hist.cell(0, c).text = value
    for c, value in enumerate([date, "RAN#103", version]):
        hist.cell(1, c).text = value
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    document.save(path)
    return path


def docx_bytes(**kwargs) -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = make_rich_spec(os.path.join(tmp, "spec.docx"), **kwargs)
        with open(path, "rb") as fh:
            return fh.read()


# ---------------------------------------------------------------------------
# archives
# ---------------------------------------------------------------------------

def make_zip(path: str, members: Dict[str, bytes]) -> str:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def make_encrypted_zip(path: str, name: str = "38999-i10.docx", data: bytes = b"secret") -> str:
    """A zip whose member carries the 'encrypted' flag (as a password-protected 3GPP zip would)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(name, data)
    raw = bytearray(buf.getvalue())
    # set bit 0 of the general purpose flags in the local header (offset 6) and central directory (offset 8)
    struct.pack_into("<H", raw, 6, struct.unpack_from("<H", raw, 6)[0] | 1)
    central = raw.rfind(b"PK\x01\x02")
    struct.pack_into("<H", raw, central + 8, struct.unpack_from("<H", raw, central + 8)[0] | 1)
    with open(path, "wb") as fh:
        fh.write(bytes(raw))
    return path


def make_bomb_zip(path: str, unpacked_mb: int = 64, lie: bool = False) -> str:
    """A highly compressible member; with ``lie`` the headers claim it is 1 KiB."""
    chunk = b"\x00" * (1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("38999-i10.docx", "w", force_zip64=True) as fh:
            for _ in range(unpacked_mb):
                fh.write(chunk)
    if lie:
        raw = bytearray(open(path, "rb").read())
        central = raw.rfind(b"PK\x01\x02")
        struct.pack_into("<I", raw, central + 24, 1024)  # uncompressed size in the central directory
        with open(path, "wb") as fh:
            fh.write(bytes(raw))
    return path


def make_traversal_zip(path: str, docx: Optional[bytes] = None) -> str:
    return make_zip(path, {"38999-i10.docx": docx or b"x", "../../etc/evil.txt": b"owned"})


def write(path: str, data: bytes) -> str:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)
    return path
