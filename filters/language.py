"""Language identification (``language``): py3langid, whose model ships in the wheel.

Offline by construction: no model download at run time. The language code and the
model's (normalised) probability go into ``doc.lang`` / ``doc.lang_score``; documents
whose language is not in ``allowed`` (or whose confidence is below ``min_score``) are
dropped. Code records are skipped by default: identifiers and keywords are not a
natural language, and a comment language check belongs to the code profile.

Long documents are judged on a few evenly spaced windows of their prose (tables, code
and ASN.1 removed), so a 500-page spec costs the same as a page and an English spec
with a French annex title page is not misjudged by its first kilobyte.
"""
from __future__ import annotations

from typing import Optional, Sequence

from telecom_etl.filters.base import Filter
from telecom_etl.filters.heuristics import prose_view
from telecom_etl.outcome import Dropped
from telecom_etl.registry import FILTERS

_IDENTIFIER = None  # one py3langid model per process (about 4.5 MB, 0.2 s to load)


def _identifier():
    global _IDENTIFIER
    if _IDENTIFIER is None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        _IDENTIFIER = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _IDENTIFIER


def sample_text(text: str, window: int = 3000, windows: int = 3) -> str:
    """Up to ``windows`` evenly spaced slices of ``window`` characters (the whole text if short)."""
    if len(text) <= window * windows:
        return text
    step = (len(text) - window) // (windows - 1) if windows > 1 else 0
    return "\n".join(text[i * step:i * step + window] for i in range(windows))


def identify(text: str) -> tuple:
    """(ISO 639-1 code, probability) of ``text`` by py3langid."""
    lang, prob = _identifier().classify(text)
    return str(lang), float(prob)


@FILTERS.register("language")
class LanguageFilter(Filter):
    def __init__(self, allowed: Optional[Sequence[str]] = ("en",), min_score: float = 0.65,
                 skip_kinds: Sequence[str] = ("code",), window: int = 3000, windows: int = 3):
        if isinstance(allowed, str):
            allowed = [allowed]
        self.allowed = frozenset(a.lower() for a in allowed) if allowed else None
        self.min_score = float(min_score)
        if not 0 <= self.min_score <= 1:
            raise ValueError("language: min_score must be between 0 and 1")
        self.skip_kinds = frozenset(skip_kinds or ())
        self.window, self.windows = int(window), int(windows)

    def setup(self):
        _identifier()

    def filter(self, doc):
        if doc.kind in self.skip_kinds:
            return None
        prose = prose_view(doc.text)
        # A record that is all table or code (a spec clause of IE definitions) is
        # identified by its raw text, and only dropped for a confidently foreign language.
        structured = len(prose.strip()) < 50
        sample = sample_text(doc.text if structured else prose, self.window, self.windows)
        if not sample.strip():
            return Dropped("language.no_text", "no text to identify")
        lang, prob = identify(sample)
        doc.lang, doc.lang_score = lang, round(prob, 4)
        if structured and prob < self.min_score:
            return None
        if self.allowed is not None and lang not in self.allowed:
            return Dropped("language.not_allowed", f"{lang} ({prob:.2f}) not in {sorted(self.allowed)}")
        if prob < self.min_score:
            return Dropped("language.low_score", f"{lang} with probability {prob:.2f} < {self.min_score}")
        return None
