"""3GPP inputs other than a bare .docx: archives, bad archives, legacy .doc, ETSI PDFs, a whole run."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess

import pyarrow.parquet as pq
import pytest

from spec_fixtures import (ASN1_LINES, docx_bytes, make_bomb_zip, make_encrypted_zip, make_rich_spec,
                           make_traversal_zip, make_zip, write)
from telecom_etl.extractors.base import SourceItem
from telecom_etl.extractors.spec import SpecSource
from telecom_etl.manifest import SourceConfig, load_manifest
from telecom_etl.outcome import Dropped, StageFailure
from telecom_etl.record import Document


def extract(path, **options):
    src = SpecSource(SourceConfig(name="specs", kind="3gpp", paths=["/"], options=options))
    return list(src.extract(SourceItem("specs", "3gpp", str(path))))


def failure(path, **options) -> str:
    with pytest.raises(StageFailure) as err:
        extract(path, **options)
    return str(err.value)


# -- archives ---------------------------------------------------------------------

def test_archive_picks_the_spec_body_and_keeps_asn1_as_an_attachment(tmp_path):
    asn1 = "\n".join(["NR-RRC-Definitions DEFINITIONS AUTOMATIC TAGS ::=", "BEGIN"] + ASN1_LINES + ["END"])
    path = make_zip(str(tmp_path / "38999-i10.zip"), {
        "38999-i10/38999-i10.docx": docx_bytes(),
        "38999-i10/asn1/38999-i10_RRC.asn": asn1.encode(),
        "38999-i10/figures/logo.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64,
    })
    out = extract(path)
    docs = [d for d in out if isinstance(d, Document)]
    skipped = [d for d in out if isinstance(d, Dropped)]
    spec, attachment = docs
    assert spec.kind == "3gpp" and spec.spec_number == "38.999"
    assert "## 4.1 Equations" in spec.text and spec.extra["body_members"] == "38999-i10/38999-i10.docx"
    assert attachment.kind == "code" and attachment.code_language == "asn1" and attachment.text == asn1
    assert attachment.spec_number == "38.999" and attachment.uri.endswith("#attachment:38999-i10/asn1/38999-i10_RRC.asn")
    assert [(d.rule, d.uri.rsplit("#", 1)[1]) for d in skipped] == [("archive_member_skipped", "38999-i10/figures/logo.png")]


def test_a_spec_split_into_several_files_is_one_document(tmp_path):
    first = docx_bytes()
    second = docx_bytes(title_lines=("NR;", "Second part"))
    path = make_zip(str(tmp_path / "38999-i10.zip"), {"38999-i10_s00-s04.docx": first, "38999-i10_s05-s10.docx": second,
                                                      "cover letter.docx": docx_bytes(spec="21.999")})
    out = extract(path)
    (doc,) = [d for d in out if isinstance(d, Document)]
    assert doc.extra["body_members"] == "38999-i10_s00-s04.docx,38999-i10_s05-s10.docx"
    assert doc.text.count("# 1 Scope") == 2 and doc.title == "NR; Sample physical layer procedures"
    assert [d.detail for d in out if isinstance(d, Dropped)] == ["cover letter.docx: another document"]


def test_nested_archive_within_the_depth_limit(tmp_path):
    inner = tmp_path / "inner.zip"
    make_zip(str(inner), {"38999-i10.docx": docx_bytes()})
    path = make_zip(str(tmp_path / "38999-i10.zip"), {"inner.zip": inner.read_bytes()})
    (doc,) = [d for d in extract(path) if isinstance(d, Document)]
    assert doc.spec_version == "18.1.0"
    assert "nested deeper than 0 levels" in failure(path, max_depth=0)


@pytest.mark.parametrize("make,reason", [
    (lambda p: write(p, docx_bytes()[:5000]), "corrupt or truncated archive"),
    (lambda p: write(p, b""), "empty file (0 bytes)"),
    (lambda p: make_zip(p, {}), "empty archive: no members"),
    (make_encrypted_zip, "password-protected archive"),
    (make_traversal_zip, "archive member escapes the target folder: '../../etc/evil.txt'"),
    (lambda p: make_zip(p, {"notes.txt": b"release notes"}), "archive holds no Word document or PDF"),
    (lambda p: make_zip(p, {"38999-i10.docx": b"PK\x03\x04" + b"\x00" * 100}), "corrupt or truncated"),
    (lambda p: make_zip(p, {"38999-i10.docx": make_zip_bytes({"[Content_Types].xml": b"<x/>"})}),
     "not a Word document: the package has no main document part"),
    (lambda p: make_zip(p, {"38999-i10.docx": make_zip_bytes({"word/document.xml": b"<w:document"})}),
     "corrupt .docx: document XML is not well-formed"),
])
def test_bad_archives_fail_with_one_clear_reason(tmp_path, make, reason):
    path = str(tmp_path / "38999-i10.zip")
    make(path)
    assert reason in failure(path)


def make_zip_bytes(members) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_zip_bombs_stop_at_the_size_limit_even_when_headers_lie(tmp_path):
    honest = make_bomb_zip(str(tmp_path / "honest.zip"), unpacked_mb=40)
    assert "expands to 40 MiB, beyond the limit of 16 MiB" in failure(honest, max_unpacked_mb=16)
    liar = make_bomb_zip(str(tmp_path / "liar.zip"), unpacked_mb=40, lie=True)
    reason = failure(liar, max_unpacked_mb=16)
    assert "beyond the size limit" in reason or "corrupt or truncated" in reason


def test_password_protected_word_file_fails_clearly(tmp_path):
    # an encrypted .docx is an OLE container holding an 'EncryptedPackage' stream
    head = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64 + "EncryptedPackage".encode("utf-16-le")
    path = write(str(tmp_path / "38999-i10.docx"), head + b"\x00" * 512)
    assert failure(path) == "password-protected Word document: 38999-i10.docx"


def test_text_files_in_an_archive_tree_are_dropped_not_failed(tmp_path):
    path = write(str(tmp_path / "Specs" / "archive" / "38_series" / "38.999" / "index.html"), b"<html>listing</html>")
    (dropped,) = extract(path)
    assert dropped.rule == "wrong_kind" and "looks like a text file" in dropped.detail


def test_release_folder_of_a_dated_snapshot_is_cross_checked(tmp_path):
    folder = tmp_path / "Specs" / "2024-03" / "Rel-17" / "38_series"
    path = make_zip(str(folder / "38999-i10.zip"), {"38999-i10.docx": docx_bytes()})
    (doc,) = [d for d in extract(path) if isinstance(d, Document)]
    assert doc.spec_release == 18 and "folder says Rel-17, document says 18" in doc.extra["metadata_conflicts"]


# -- legacy .doc ------------------------------------------------------------------

needs_soffice = pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed")


@pytest.fixture(scope="module")
def legacy_doc(tmp_path_factory):
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) not installed")
    folder = tmp_path_factory.mktemp("doc")
    src = make_rich_spec(str(folder / "38999-i10.docx"))
    out = folder / "converted"
    profile = folder / "profile"
    subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "doc",
                    "--outdir", str(out), src], check=True, timeout=180, capture_output=True)
    path = folder / "38999-i10.doc"
    os.replace(out / "38999-i10.doc", path)
    return path


@needs_soffice
def test_legacy_doc_is_converted_and_read_like_docx(legacy_doc, tmp_path):
    (doc,) = extract(legacy_doc)
    assert doc.extra["source_format"] == "doc"
    assert (doc.spec_number, doc.spec_version, doc.title) == ("38.999", "18.1.0", "NR; Sample physical layer procedures")
    heads = [line for line in doc.text.splitlines() if line.startswith("#")]
    assert heads[:4] == ["# 1 Scope", "# 2 References", "# 4 General", "## 4.1 Equations"]
    assert "RRCSetup ::= SEQUENCE {" in doc.text and "| Bandwidth | 20 | MHz |" in doc.text
    assert "Copyright Notification" not in doc.text and "EMBED" not in doc.text
    # inside a zip too
    path = make_zip(str(tmp_path / "38999-i10.zip"), {"38999-i10.doc": legacy_doc.read_bytes()})
    (zdoc,) = [d for d in extract(path) if isinstance(d, Document)]
    assert zdoc.text == doc.text


def _fake_soffice(tmp_path, body: str) -> str:
    script = tmp_path / "soffice"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def _ole_doc(tmp_path) -> str:
    return write(str(tmp_path / "38999-i10.doc"),
                 b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64 + "WordDocument".encode("utf-16-le") + b"\x00" * 256)


def test_a_hanging_conversion_is_killed_at_the_timeout(tmp_path):
    soffice = _fake_soffice(tmp_path, "sleep 60")
    reason = failure(_ole_doc(tmp_path), soffice=soffice, doc_timeout_s=1)
    assert reason == "LibreOffice did not convert the .doc within 1 s (killed)"


def test_a_doc_libreoffice_cannot_convert_fails_with_its_message(tmp_path):
    soffice = _fake_soffice(tmp_path, "echo 'Error: source file could not be loaded' >&2; exit 1")
    assert failure(_ole_doc(tmp_path), soffice=soffice) == (
        "LibreOffice could not convert the .doc: Error: source file could not be loaded")


def test_without_libreoffice_a_doc_fails_and_says_why(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("TELECOM_ETL_SOFFICE", raising=False)
    assert "legacy Word .doc needs LibreOffice, but 'soffice' was not found" in failure(_ole_doc(tmp_path))


# -- ETSI PDF (generated) ---------------------------------------------------------

def make_etsi_pdf(path: str) -> str:
    import pymupdf

    pdf = pymupdf.open()
    texts = [
        ["ETSI TS 138 999 V18.1.0 (2024-04)", "5G;", "NR;", "Sample procedures", "(3GPP TS 38.999 version 18.1.0 "
         "Release 18)", "TECHNICAL SPECIFICATION"],
        ["Foreword", "This Technical Specification has been produced by the 3rd Generation Partnership Project (3GPP).",
         "1 Scope", "The present document specifies the sample procedures of the sample layer."],
        ["4 General", "The UE shall apply the sample configuration received from the network.",
         "4.1 Timers", "Timer T300 is started when the UE sends the request."],
        ["History", "V18.1.0 April 2024 Publication"],
    ]
    for i, lines in enumerate(texts):
        page = pdf.new_page(width=595, height=842)
        if i:
            page.insert_text((60, 40), "ETSI TS 138 999 V18.1.0 (2024-04)", fontsize=9)
            page.insert_text((300, 40), str(i), fontsize=9)
            page.insert_text((60, 820), "ETSI", fontsize=9)
        y = 100
        for line in lines:
            page.insert_text((60, y), line, fontsize=10)
            y += 40
    pdf.set_toc([[1, "Foreword", 2], [1, "1 Scope", 2], [1, "4 General", 3], [2, "4.1 Timers", 3], [1, "History", 4]])
    pdf.set_metadata({"subject": "TS 138 999 - V18.1.0", "title": "TS 138 999 - V18.1.0 - 5G; NR; Sample procedures"})
    pdf.save(path)
    return path


def test_etsi_pdf_identity_from_content_headings_from_outline_furniture_removed(tmp_path):
    path = make_etsi_pdf(str(tmp_path / "renamed_by_someone.pdf"))
    (doc,) = extract(path)
    assert (doc.spec_number, doc.spec_version, doc.spec_release, doc.working_group) == ("38.999", "18.1.0", 18, "RAN")
    assert doc.title == "5G; NR; Sample procedures" and doc.date == "2024-04" and doc.page_count == 4
    assert [ln for ln in doc.text.splitlines() if ln.startswith("#")] == ["# 1 Scope", "# 4 General", "## 4.1 Timers"]
    for junk in ("ETSI TS 138 999", "Foreword", "History", "Publication", "TECHNICAL SPECIFICATION"):
        assert junk not in doc.text, junk
    assert int(doc.extra["removed_page_furniture"]) >= 6 and doc.extra["source_format"] == "pdf"


# -- a whole run --------------------------------------------------------------------

def test_bad_inputs_are_counted_failures_and_the_rest_of_the_run_goes_on(tmp_path):
    from telecom_etl.pipelines.build_pretrain import run

    specs = tmp_path / "Specs" / "archive" / "38_series"
    make_zip(str(specs / "38.999" / "38999-i10.zip"), {"38999-i10.docx": docx_bytes()})
    make_encrypted_zip(str(specs / "38.999" / "38999-i00.zip"))
    write(str(specs / "38.998" / "38998-i00.zip"), docx_bytes()[:3000])
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(f"sources:\n  - name: specs\n    kind: 3gpp\n    paths: [{tmp_path / 'Specs'}]\n"
                        f"    options: {{granularity: both}}\ndedup: {{near: false}}\n")
    report = run(load_manifest(str(manifest)), str(tmp_path / "out"), [], progress=False)
    extract_stage = report["stages"]["extract"]["by_source"]["specs"]
    assert (extract_stage["in"], extract_stage["kept"], extract_stage["failed"]) == (3, 1, 2)
    errors = sorted(r["error"] for r in pq.read_table(str(tmp_path / "out" / "rejects")).to_pylist())
    assert errors[0].startswith("corrupt or truncated archive") and errors[1].startswith("password-protected archive")
    rows = pq.read_table(str(tmp_path / "out" / "pretrain")).to_pylist()
    whole = [r for r in rows if r["clause_path"] is None]
    assert len(whole) == 1 and whole[0]["spec_number"] == "38.999" and whole[0]["spec_release"] == 18
    assert {r["clause_path"] for r in rows if r["clause_path"]} >= {"4.1", "4.2", "5"}
