"""Plain text and markdown files."""
from __future__ import annotations

from telecom_etl.extractors.base import SourceKind
from telecom_etl.extractors.sniff import decode_text, sniff
from telecom_etl.outcome import Dropped
from telecom_etl.registry import SOURCES


@SOURCES.register("text")
class TextSource(SourceKind):
    document_kind = "text"

    def extract(self, item):
        data = self.read(item)
        if not data.strip():
            yield Dropped("empty_file", "no content", uri=item.uri)
            return
        text = decode_text(data)
        kind = sniff(data[:1024])
        if text is None or kind in ("pdf", "zip", "ole"):
            yield self.wrong_kind(item, "a text file", content=kind if kind != "text" else "binary")
            return
        yield self.new_document(item, text, title=item.name)
