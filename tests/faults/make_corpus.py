"""Generate the fault corpus: hostile, broken and odd inputs, reproducibly.

    python tests/faults/make_corpus.py DIR

writes DIR/{specs,papers,code,text,outside}/... and DIR/expected.json, which maps each
fault input (path relative to DIR) to what must happen to it: "bad" (exactly one
counted failure or drop with its reason, never a document), "kept", or "any" (a file
whose handling is the source's option, e.g. non-UTF-8 code). The pipeline test
(tests/test_faults.py) runs build-pretrain over it and checks every entry.
"""
from __future__ import annotations

import io
import json
import os
import struct
import sys
import zipfile
import zlib
from typing import Dict

BAD = "bad"  # must become exactly one failure or drop, never a kept document


def _zip_bytes(members: Dict[str, bytes], compression=zipfile.ZIP_DEFLATED, level: int = 6) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression, compresslevel=level) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = compression
            zf.writestr(info, data)
    return buf.getvalue()


def _mark_encrypted(data: bytes) -> bytes:
    """Set the 'encrypted' bit of every member, as a password-protected zip has."""
    out = bytearray(data)
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while True:
            i = out.find(sig, start)
            if i < 0:
                break
            flags = struct.unpack_from("<H", out, i + off)[0]
            struct.pack_into("<H", out, i + off, flags | 0x1)
            start = i + 4
    return bytes(out)


def _one_member_zip(name: bytes, body: bytes, crc: int, size: int) -> bytes:
    """A zip of one deflated member from its raw deflate bytes (headers as given: they may lie)."""
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(body), size, len(name), 0)
    central = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc, len(body), size,
                          len(name), 0, 0, 0, 0, 0, 0)
    cd_offset = len(local) + len(name) + len(body)
    cd = central + name
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(cd), cd_offset, 0)
    return local + name + body + cd + end


def _zip_bomb(expanded_mb: int = 1024) -> bytes:
    """One member that inflates to ``expanded_mb`` MiB of zeros (about 1 MiB compressed)."""
    return _repeated(b"", b"\0" * (1 << 20), expanded_mb, b"", level=9)


def _set_method(data: bytes, method: int) -> bytes:
    """The same zip with every member's compression method field set to ``method``."""
    out = bytearray(data)
    for sig, off in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        start = 0
        while (i := out.find(sig, start)) >= 0:
            struct.pack_into("<H", out, i + off, method)
            start = i + 4
    return bytes(out)


def stream_bomb_docx(method: int, expanded_mb: int) -> bytes:
    """A .docx whose word/document.xml is ``expanded_mb`` MiB of zeros compressed with bzip2
    (``zipfile.ZIP_BZIP2``) or LZMA: a few KB that ``zipfile`` decompresses in one read."""
    import bz2
    import lzma

    zeros = b"\0" * (1 << 20)
    if method == zipfile.ZIP_BZIP2:
        comp = bz2.BZ2Compressor(9)
        body = b"".join(comp.compress(zeros) for _ in range(expanded_mb)) + comp.flush()
    else:
        filters = [{"id": lzma.FILTER_LZMA1, "preset": 0}]
        comp = lzma.LZMACompressor(lzma.FORMAT_RAW, filters=filters)
        props = lzma._encode_filter_properties(filters[0])
        body = struct.pack("<BBH", 9, 4, len(props)) + props + b"".join(
            comp.compress(zeros) for _ in range(expanded_mb)) + comp.flush()
    crc = 0
    for _ in range(expanded_mb):
        crc = zlib.crc32(zeros, crc)
    good = _docx_with(b"<w:document/>")
    # the package's other parts as they are, then the bomb as word/document.xml
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            if info.filename != "word/document.xml":
                dst.writestr(info, src.read(info))
    parts = buf.getvalue()
    name = b"word/document.xml"
    size = expanded_mb << 20
    head_end = parts.find(b"PK\x01\x02")  # first central directory entry: local records end here
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 63, 0, method, 0, 0x21, crc, len(body), size, len(name), 0)
    central = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 63, 63, 0, method, 0, 0x21, crc, len(body), size,
                          len(name), 0, 0, 0, 0, 0, head_end)
    eocd = parts.rfind(b"PK\x05\x06")
    n_entries = struct.unpack_from("<H", parts, eocd + 10)[0] + 1
    cd = parts[head_end:eocd] + central + name
    cd_offset = head_end + len(local) + len(name) + len(body)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, n_entries, n_entries, len(cd), cd_offset, 0)
    return parts[:head_end] + local + name + body + cd + end


def entries_bomb_zip(inner: int = 170, members: int = 600) -> bytes:
    """A zip of ``inner`` zips of ``members`` one-byte members each: small, but every entry
    costs memory once listed (the issue's case had 1,500 x 1,500)."""
    one = _zip_bytes({f"{i}": b"x" for i in range(members)}, zipfile.ZIP_STORED)
    return _zip_bytes({f"inner{j}.zip": one for j in range(inner)}, zipfile.ZIP_STORED)


W_NS = b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def _repeated(prefix: bytes, block: bytes, n: int, suffix: bytes, level: int = 6) -> bytes:
    """A zip of one member, word/document.xml = ``prefix + block * n + suffix``: the block is
    deflated once after a full flush and its bytes repeated, so a member of hundreds of MiB
    costs a fraction of a second to make and deflates as its content would."""
    comp = zlib.compressobj(level, zlib.DEFLATED, -15)
    head = comp.compress(prefix) + comp.flush(zlib.Z_FULL_FLUSH)
    body = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    tail = comp.compress(suffix) + comp.flush()
    crc = zlib.crc32(prefix)
    for _ in range(n):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(suffix, crc)
    return _one_member_zip(b"word/document.xml", head + body * n + tail, crc, len(prefix) + len(block) * n + len(suffix))


def big_xml_docx(xml_mb: int = 200) -> bytes:
    """A .docx of ``xml_mb`` MiB of ordinary paragraphs (the issue's 31 MB file held 200 MB of
    XML: 5.4 GB to read and one record of 186 million characters)."""
    import random

    rng = random.Random(0)
    para = (b"<w:p><w:r><w:t>The UE shall start timer T3410 (run %s) and enter state EMM-REGISTERED-INITIATED "
            b"when the network accepts the attach request.</w:t></w:r></w:p>")
    block = b"".join(para % rng.randbytes(8).hex().encode() for _ in range(7000))  # about 1 MiB
    return _repeated(b"<w:document " + W_NS + b"><w:body>", block, (xml_mb << 20) // len(block),
                          b"</w:body></w:document>")


def text_node_docx(node_mb: int = 150) -> bytes:
    """A .docx whose only paragraph is one text node of ``node_mb`` MiB (9.9 GB to read before)."""
    import random

    rng = random.Random(0)
    vocab = [w.encode() for w in "the UE shall start timer when network accepts attach request session PDU "
             "bearer AMF SMF gNB cell NAS RRC".split()]
    block = b" ".join(rng.choice(vocab) + str(rng.randrange(1000)).encode() for _ in range(120_000))[:1 << 20]
    return _repeated(b"<w:document " + W_NS + b"><w:body><w:p><w:r><w:t>", block + b" ", node_mb,
                          b"</w:t></w:r></w:p></w:body></w:document>")


def deep_tables_docx(depth: int = 600) -> bytes:
    """Tables nested ``depth`` deep: under libxml2's depth limit, over Python's recursion limit."""
    cell = b"<w:p><w:r><w:t>deep</w:t></w:r></w:p>"
    return _docx_with(b"<w:document " + W_NS + b"><w:body>" + b"<w:tbl><w:tr><w:tc>" * depth + cell +
                      b"</w:tc></w:tr></w:tbl>" * depth + b"</w:body></w:document>")


def page_tree_cycle_pdf() -> bytes:
    """A PDF whose page tree's parent chain is a cycle (MuPDF: ``code=7: cycle in parent chain``)."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 /Parent 3 0 R >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            b"<< /Length 44 >>\nstream\nBT /F1 12 Tf 72 720 Td (Hello cycle) Tj ET\nendstream"]
    out, offsets = b"%PDF-1.4\n", []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)


def many_records_zip(docx: bytes, records: int = 20_500) -> bytes:
    """A spec archive with ``records`` tiny ASN.1 attachments: each is one record (the issue's
    760 KB zip made 90,001)."""
    members = {"38999-i10.docx": docx}
    members.update({f"asn/m{i}.asn": b"M ::= INTEGER (0..7)\n" for i in range(records)})
    return _zip_bytes(members)


def _docx_with(document_xml: bytes, level: int = 6) -> bytes:
    content_types = (b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
                     b'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
                     b'<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
                     b'officedocument.wordprocessingml.document.main+xml"/></Types>')
    rels = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            b'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            b'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>')
    return _zip_bytes({"[Content_Types].xml": content_types, "_rels/.rels": rels, "word/document.xml": document_xml},
                      level=level)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r>
<w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>"""


def make(root: str, big_text_mb: int = 200) -> Dict[str, str]:
    from telecom_etl.samples import make_code_tree, make_paper_pdf, make_spec_docx

    expected: Dict[str, str] = {}

    def put(rel: str, data: bytes, outcome: str = BAD) -> str:
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)
        expected[rel] = outcome
        return path

    # a good spec and a good paper next to the bad ones: the run must still produce them
    good_docx = make_spec_docx(os.path.join(root, "specs", "38999-i10.docx"))
    expected["specs/38999-i10.docx"] = "kept"
    good_pdf = make_paper_pdf(os.path.join(root, "papers", "good.pdf"))
    expected["papers/good.pdf"] = "kept"
    docx_bytes = open(good_docx, "rb").read()
    pdf_bytes = open(good_pdf, "rb").read()

    # --- 3GPP inputs -----------------------------------------------------------------
    put("specs/zero.docx", b"")
    put("specs/zero.zip", b"")
    put("specs/truncated.docx", docx_bytes[: len(docx_bytes) // 2])
    put("specs/truncated.zip", _zip_bytes({"38999-i10.docx": docx_bytes})[:2000])
    put("specs/password.zip", _mark_encrypted(_zip_bytes({"38999-i10.docx": docx_bytes}, zipfile.ZIP_STORED)))
    put("specs/bomb.docx", _zip_bomb())
    put("specs/bomb-in-archive.zip", _zip_bytes({"38999-i10.docx": _zip_bomb()}, zipfile.ZIP_STORED))
    nested = b"no spec in here"
    for depth in range(8):
        nested = _zip_bytes({f"level{depth}.zip" if depth else "readme.txt": nested})
    put("specs/nested.zip", nested)
    put("specs/traversal.zip", _zip_bytes({"../../escaped.docx": docx_bytes, "/etc/absolute.docx": docx_bytes}))
    put("specs/malformed-xml.docx", _docx_with(b"<w:document><w:body><w:p>unclosed"))
    put("specs/entity-expansion.docx", _docx_with(BILLION_LAUGHS))
    put("specs/not-a-doc.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(0) + b"\x00garbage" * 512)
    put("specs/html-named.docx", b"<html><body>404 Not Found</body></html>")
    # issue 19 items 5, 6 and 11: every compression method bounded, named when unsupported
    put("specs/bzip2-bomb.docx", stream_bomb_docx(zipfile.ZIP_BZIP2, 64))
    put("specs/lzma-bomb.docx", stream_bomb_docx(zipfile.ZIP_LZMA, 64))
    put("specs/deflate64.docx", _set_method(docx_bytes, 9))
    put("specs/method99.docx", _set_method(docx_bytes, 99))
    put("specs/entries-bomb.zip", entries_bomb_zip())
    # item 11: what raised RecursionError or a MuPDF error is one readable line
    put("specs/deep-tables.docx", deep_tables_docx())
    put("specs/38999-cycle.pdf", page_tree_cycle_pdf())

    # --- papers ------------------------------------------------------------------------
    put("papers/zero.pdf", b"")
    put("papers/truncated.pdf", pdf_bytes[:600])
    put("papers/text-named.pdf", b"This is a plain text file that pretends to be a PDF.\n" * 20)
    import pymupdf

    doc = pymupdf.open(stream=pdf_bytes, filetype="pdf")
    encrypted = doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="owner", user_pw="secret")
    doc.close()
    put("papers/encrypted.pdf", encrypted)
    put("papers/page-tree-cycle.pdf", page_tree_cycle_pdf())
    # a file that disappears between listing and reading: a link whose target is gone
    os.makedirs(os.path.join(root, "papers"), exist_ok=True)
    gone = os.path.join(root, "papers", "vanished.pdf")
    if os.path.lexists(gone):
        os.unlink(gone)
    os.symlink(os.path.join(root, "papers", "deleted-before-read.pdf"), gone)
    expected["papers/vanished.pdf"] = BAD

    # --- code tree -----------------------------------------------------------------------
    code = os.path.join(root, "code")
    make_code_tree(code)
    expected["code/rrc/timers.py"] = "kept"
    put("code/lib/firmware.bin", bytes(range(256)) * 64)
    put("code/lib/latin1.c", "/* Réseau d'accès radio, contrôle */\nint main(void) { return 0; }\n"
        .encode("latin-1") * 3, outcome="any")
    os.makedirs(os.path.join(root, "outside"), exist_ok=True)
    with open(os.path.join(root, "outside", "secret.py"), "w") as fh:
        fh.write("API_KEY = 'must never be read through a link'\n" * 5)
    for name, target in (("code/loop-a", "loop-b"), ("code/loop-b", "loop-a"),
                         ("code/escape.py", os.path.join(root, "outside", "secret.py")),
                         ("code/dir-escape", os.path.join(root, "outside"))):
        path = os.path.join(root, name)
        if os.path.lexists(path):
            os.unlink(path)
        os.symlink(target, path)
    put("code/deep.ipynb", b'{"cells": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    for name in ("code/escape.py", "code/dir-escape", "code/loop-a", "code/loop-b"):
        expected[name] = BAD  # one counted drop each (symlink_outside_root / symlink_loop), never read
    # --- plain text: one huge file, one duplicate name across sources ----------------------
    big = os.path.join(root, "text", "huge.txt")
    os.makedirs(os.path.dirname(big), exist_ok=True)
    line = b"The gNB forwards the PDU session resource setup request to the UE over the Uu interface.\n"
    with open(big, "wb") as fh:
        block = line * (1 << 20 // len(line) + 1)
        written = 0
        while written < big_text_mb << 20:
            fh.write(block)
            written += len(block)
    expected["text/huge.txt"] = BAD
    put("text/timers.py", open(os.path.join(code, "rrc", "timers.py"), "rb").read(), outcome="kept")

    expected.update(make_links_and_special_files(root))

    with open(os.path.join(root, "expected.json"), "w") as fh:
        json.dump(expected, fh, indent=1, sort_keys=True)
    return expected


SECRET = "must never be read through a link"


def _link(root: str, rel: str, target: str) -> None:
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.lexists(path):
        os.unlink(path)
    os.symlink(target, path)


def make_links_and_special_files(root: str) -> Dict[str, str]:
    """Issue 19 items 2, 3, 4 and 7 for the text, 3GPP and paper sources (and a ``**`` glob
    source under ``glob/``): links out of the root, to files and folders, loops and ``..``
    links, FIFOs and names that are not UTF-8. Each is exactly one counted drop at listing;
    no byte of ``outside/`` may reach any output (the files there carry :data:`SECRET`)."""
    expected: Dict[str, str] = {}
    outside = os.path.join(root, "outside")
    os.makedirs(os.path.join(outside, "deeper"), exist_ok=True)
    for name in ("secret.txt", "deeper/secret.txt"):
        with open(os.path.join(outside, name), "w") as fh:
            fh.write(f"The gNB configures the UE with the PDCCH search space. {SECRET}.\n" * 20)
    secret = os.path.join(outside, "secret.txt")
    for src in ("text", "specs", "papers"):
        ext = {"text": ".txt", "specs": ".docx", "papers": ".pdf"}[src]
        links = {f"{src}/outside-file{ext}": secret,            # a file link leaving the root
                 f"{src}/outside-dir": outside,                  # a folder link leaving the root
                 f"{src}/sub/up": "..",                          # a link to an ancestor (loop)
                 f"{src}/sub/upup": "../..",                     # a `..` link out of the root
                 f"{src}/self": "self",                          # a link to itself (ELOOP)
                 f"{src}/relative-escape{ext}": "../outside/secret.txt"}
        for rel, target in links.items():
            _link(root, rel, target)
            expected[rel] = BAD
        fifo = os.path.join(root, src, f"pipe{ext}")
        if os.path.lexists(fifo):
            os.unlink(fifo)
        os.mkfifo(fifo)  # opening it would wait for a writer
        expected[f"{src}/pipe{ext}"] = BAD
        bad_name = os.path.join(os.fsencode(root), src.encode(), b"caf\xe9-r\xe9seau" + ext.encode())
        with open(bad_name, "wb") as fh:
            fh.write(b"The AMF forwards the NAS message to the SMF of the PDU session.\n" * 10)
        expected[f"{src}/caf\\xe9-r\\xe9seau{ext}"] = BAD  # counted under its printable uri
    # a `**` glob over a folder with one file, a loop link, an outside link and two `..` links
    glob_dir = os.path.join(root, "glob")
    os.makedirs(os.path.join(glob_dir, "a", "b"), exist_ok=True)
    with open(os.path.join(glob_dir, "a", "notes.txt"), "w") as fh:
        fh.write("The SMF selects the UPF for the PDU session and installs the N4 rules.\n" * 10)
    expected["glob/a/notes.txt"] = "kept"
    for rel, target in (("glob/loop", "."), ("glob/a/b/up", ".."), ("glob/a/b/upup", "../../.."),
                        ("glob/a/out", outside), ("glob/a/leak.txt", secret)):
        _link(root, rel, target)
        expected[rel] = BAD
    return expected


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "fault-corpus"
    for rel, outcome in sorted(make(target).items()):
        print(f"{outcome:8} {rel}")
