"""3GPP / ETSI specifications (kind ``3gpp``): .zip archives, .docx, .doc and ETSI PDFs.

Backbone version: python-docx paragraphs and tables in body order, PDFs through
PyMuPDF, zips by their Word members. The full 3GPP reader (clauses, tables as
markdown, equations, metadata) replaces this.
"""
from __future__ import annotations

import io as _io
import zipfile

from telecom_etl.extractors.base import SourceKind
from telecom_etl.extractors.sniff import sniff
from telecom_etl.outcome import Dropped, StageFailure
from telecom_etl.registry import SOURCES


def _docx_text(data: bytes) -> str:
    import docx

    document = docx.Document(_io.BytesIO(data))
    return "\n\n".join(p.text for p in document.paragraphs if p.text.strip())


@SOURCES.register("3gpp")
class SpecSource(SourceKind):
    document_kind = "3gpp"

    def extract(self, item):
        data = self.read(item)
        kind = sniff(data[:16])
        if kind == "empty":
            yield Dropped("empty_file", "no content", uri=item.uri)
        elif kind == "pdf":
            import pymupdf as fitz

            with fitz.open(stream=data, filetype="pdf") as pdf:
                text = "\n".join(page.get_text() for page in pdf)
            yield self.new_document(item, text, title=item.name)
        elif kind == "zip":
            with zipfile.ZipFile(_io.BytesIO(data)) as zf:
                if "word/document.xml" in zf.namelist():
                    yield self.new_document(item, _docx_text(data), title=item.name)
                    return
                for name in sorted(zf.namelist()):
                    if name.lower().endswith(".docx"):
                        yield self.new_document(item, _docx_text(zf.read(name)), part=name, title=name)
        else:
            raise StageFailure(f"unsupported file type for a 3GPP source: {kind}")
