"""Source code trees (kind ``code``). Backbone version: text files with language by extension."""
from __future__ import annotations

import os

from telecom_etl.extractors.base import SourceKind
from telecom_etl.extractors.sniff import decode_text
from telecom_etl.outcome import Dropped
from telecom_etl.registry import SOURCES

LANGUAGES = {".py": "Python", ".c": "C", ".h": "C", ".cc": "C++", ".cpp": "C++", ".hpp": "C++",
             ".go": "Go", ".rs": "Rust", ".java": "Java", ".js": "JavaScript", ".ts": "TypeScript",
             ".m": "MATLAB", ".sh": "Shell", ".asn": "ASN.1", ".asn1": "ASN.1"}


@SOURCES.register("code")
class CodeSource(SourceKind):
    document_kind = "code"

    def extract(self, item):
        ext = os.path.splitext(item.uri)[1].lower()
        language = LANGUAGES.get(ext)
        if language is None:
            yield Dropped("not_code", f"extension {ext or '(none)'}", uri=item.uri)
            return
        text = decode_text(self.read(item))
        if text is None:
            yield Dropped("binary_file", "not text", uri=item.uri)
            return
        yield self.new_document(item, text, title=item.relpath, path=item.relpath, code_language=language)
