"""Hand-written PDFs whose fonts have no ToUnicode map, as ETSI's equation fonts (``T121``) and
Word's Symbol runs are: the glyphs' codes or private-use positions are all MuPDF can report."""
from __future__ import annotations

from typing import List, Sequence, Tuple


def _pdf(objects: Sequence[bytes]) -> bytes:
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def glyph_pdf(lines: List[Tuple[str, bytes]], names: Sequence[str], symbol_pua: bytes = b"") -> bytes:
    """One page: each line is Helvetica prose followed by codes (``bytes``) of a Type3 font named
    ``T121`` whose ``/Differences`` give codes 1.. the glyph ``names``, without a ToUnicode map;
    ``symbol_pua``: codes shown in a second Type3 font (``T13``) whose ToUnicode map writes them as
    Symbol positions in the private-use area (U+F0xx), as MathType does."""
    glyph = b"0 0 0 0 400 700 d0\n0 0 400 700 re f"
    content = b"BT\n"
    y = 760
    for prose, codes in lines:
        content += b"/F1 10 Tf 1 0 0 1 72 %d Tm (%s) Tj" % (y, prose.encode("latin-1"))
        if codes:
            content += b" /T3 10 Tf <%s> Tj /F1 10 Tf ( end) Tj" % codes.hex().encode()
        content += b"\n"
        y -= 16
    if symbol_pua:
        content += b"/F1 10 Tf 1 0 0 1 72 %d Tm (Matrix ) Tj /T4 10 Tf <%s> Tj\n" % (y, symbol_pua.hex().encode())
    content += b"ET"
    procs = b" ".join(b"/%s 7 0 R" % n.encode() for n in names)
    differences = b"1 " + b" ".join(b"/" + n.encode() for n in names)
    pua_codes = sorted(set(symbol_pua)) or [1]
    tounicode = (b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /T13+0 def "
                 b"1 begincodespacerange <00> <FF> endcodespacerange %d beginbfchar " % len(pua_codes)
                 + b" ".join(b"<%02X> <F0%02X>" % (c, 0xE9 + i % 3) for i, c in enumerate(pua_codes))
                 + b" endbfchar endcmap CMapName currentdict /CMap defineresource pop end end")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R /T3 6 0 R "
        b"/T4 8 0 R >> >> /Contents 4 0 R >>",
        _stream(content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Font /Subtype /Type3 /Name /T121 /FontBBox [0 0 500 700] /FontMatrix [0.001 0 0 0.001 0 0] "
        b"/CharProcs << " + procs + b" >> /Encoding << /Type /Encoding /Differences [" + differences
        + b"] >> /FirstChar 1 /LastChar %d /Widths [%s] /Resources << >> >>" % (
            len(names), b" ".join(b"500" for _ in names)),
        _stream(glyph),
        b"<< /Type /Font /Subtype /Type3 /Name /T13 /FontBBox [0 0 500 700] /FontMatrix [0.001 0 0 0.001 0 0] "
        b"/CharProcs << /g170 7 0 R >> /Encoding << /Type /Encoding /Differences [0 /g170] >> /FirstChar 0 "
        b"/LastChar 255 /Widths [" + b" ".join(b"500" for _ in range(256)) + b"] /ToUnicode 9 0 R /Resources << >> >>",
        _stream(tounicode),
    ]
    return _pdf(objects)
