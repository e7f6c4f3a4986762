"""Text normalisation applied to every record before filtering and dedup.

Prose (specs, papers, text) gets NFKC, which folds ligatures (``ﬁ``), full-width forms
and non-breaking spaces/hyphens. Code keeps its characters (NFKC would turn ``x²`` into
``x2``); only line endings, trailing spaces and control characters are cleaned.
"""
from __future__ import annotations

import re
import unicodedata

from telecom_etl.record import Document, content_hash

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200e\u200f\ufeff]")
_BLANKS = re.compile(r"\n{3,}")
_PROSE_REPLACE = (("\u00a0", " "), ("\u2011", "-"), ("\u00ad", ""), ("\u2010", "-"), ("\u202f", " "))


def normalize_text(text: str, kind: str = "text") -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if kind != "code" and not text.isascii():
        # str.replace beats str.translate here: translate walks non-ASCII text char by char
        for char, repl in _PROSE_REPLACE:
            if char in text:
                text = text.replace(char, repl)
        text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub("", text)
    if " \n" in text or "\t\n" in text:  # (a regex backtracks over every run of indentation)
        text = "\n".join(line.rstrip(" \t") for line in text.split("\n"))
    if "\n\n\n" in text:
        text = _BLANKS.sub("\n\n", text)
    text = text.strip("\n").rstrip()
    return text + "\n" if text else ""


def normalize(doc: Document):
    """The normalised record, or a drop when nothing is left."""
    from telecom_etl.outcome import Dropped

    text = normalize_text(doc.text, doc.kind)
    if not text:
        return Dropped("empty_text", "no text after normalisation")
    title = unicodedata.normalize("NFKC", doc.title).strip() if doc.title else doc.title
    return doc.replace(text=text, title=title, content_hash=content_hash(text))
