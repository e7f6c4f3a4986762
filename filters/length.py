"""Length bounds on a record's text (characters and words)."""
from __future__ import annotations

from typing import Optional

from telecom_etl.filters.base import Filter
from telecom_etl.registry import FILTERS


@FILTERS.register("length")
class LengthFilter(Filter):
    def __init__(self, min_chars: int = 200, max_chars: Optional[int] = None, min_words: int = 0):
        self.min_chars, self.max_chars, self.min_words = int(min_chars), max_chars, int(min_words)

    def filter(self, doc):
        n = len(doc.text)
        if n < self.min_chars:
            return f"{n} chars < {self.min_chars}"
        if self.max_chars is not None and n > self.max_chars:
            return f"{n} chars > {self.max_chars}"
        if self.min_words and len(doc.text.split()) < self.min_words:
            return f"fewer than {self.min_words} words"
        return None
