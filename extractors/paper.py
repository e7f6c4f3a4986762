"""Research papers as PDFs (kind ``paper``). Backbone version: PyMuPDF page text."""
from __future__ import annotations

from telecom_etl.extractors.base import SourceKind
from telecom_etl.extractors.sniff import sniff
from telecom_etl.outcome import Dropped, StageFailure
from telecom_etl.registry import SOURCES


@SOURCES.register("paper")
class PaperSource(SourceKind):
    document_kind = "paper"

    def extract(self, item):
        import pymupdf as fitz

        data = self.read(item)
        kind = sniff(data[:16])
        if kind == "empty":
            yield Dropped("empty_file", "no content", uri=item.uri)
            return
        if kind != "pdf":
            raise StageFailure(f"not a PDF (looks like {kind})")
        with fitz.open(stream=data, filetype="pdf") as pdf:
            if pdf.needs_pass:
                raise StageFailure("encrypted PDF (password required)")
            text = "\n".join(page.get_text() for page in pdf)
            yield self.new_document(item, text, title=pdf.metadata.get("title") or item.name,
                                    page_count=pdf.page_count)
