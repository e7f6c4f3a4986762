"""fastText relevance/quality classifier (``fasttext_classifier``).

Scores every record with a model trained by ``telecom-etl train-classifier`` and drops
records whose probability of ``label`` is below ``threshold`` (take the threshold from
the model card the trainer writes next to the model). The probability is stored as
``doc.scores[score_name]`` (default ``fasttext_<label>``).

The model is loaded in :meth:`setup`, once per worker process (a cache shares it
between profiles). A model is required: to skip classification, leave the filter out
of the profile; a classifier entry without ``model_path`` is a manifest error.
"""
from __future__ import annotations

import os
import re
import tempfile
from typing import Dict, Optional

from telecom_etl import io
from telecom_etl.filters.base import Filter
from telecom_etl.outcome import Dropped
from telecom_etl.registry import FILTERS

_MODELS: Dict[str, object] = {}
_SPACES = re.compile(r"\s+")
_PUNCT = re.compile(r"([.,;:!?()\[\]{}\"'`|<>=])")
#: Version of :func:`fasttext_text`; written to the model card, since a model only
#: works on text prepared the way its training text was.
PREPROCESSING = "lower+split-punct+one-line/v1"


def fasttext_text(text: str, max_chars: Optional[int] = None) -> str:
    """Text as the classifier sees it, in training and scoring alike: lower-cased,
    punctuation split off words ("UE." and "UE" are one token), on one line (fastText
    reads a newline as the end of an example)."""
    if max_chars:
        text = text[:max_chars]
    return _SPACES.sub(" ", _PUNCT.sub(r" \1 ", text.lower())).strip()


def load_model(path: str, cache: bool = True):
    """A fastText model from a local path or any filesystem Beam reads (gs://...), cached
    per process (``cache=False`` for a model file that was just rewritten)."""
    if not cache:
        _MODELS.pop(path, None)
    if path not in _MODELS:
        import fasttext

        fasttext.FastText.eprint = lambda *a, **k: None  # silences the load_model deprecation line
        if io.has_scheme(path):
            with tempfile.NamedTemporaryFile(suffix=".bin", delete=False) as tmp:
                tmp.write(io.read_bytes(path, 4 * 1024 ** 3))
            try:
                _MODELS[path] = fasttext.load_model(tmp.name)
            finally:
                os.unlink(tmp.name)
        else:
            _MODELS[path] = fasttext.load_model(path)
    return _MODELS[path]


def label_probability(model, text: str, label: str) -> float:
    """Probability the model gives ``label`` (without the ``__label__`` prefix) for ``text``."""
    labels, probs = model.predict(text, k=-1)
    want = "__label__" + label
    for lab, p in zip(labels, probs):
        if lab == want:
            return min(1.0, max(0.0, float(p)))
    return 0.0


def document_probability(model, text: str, label: str, max_chars: Optional[int] = 100_000,
                         chunk_chars: Optional[int] = 2000) -> float:
    """Mean probability of ``label`` over the document's chunks (paragraph-aligned)."""
    if max_chars:
        text = text[:max_chars]
    if not chunk_chars or len(text) <= chunk_chars:
        return label_probability(model, fasttext_text(text), label)
    from telecom_etl.filters.train import chunk_text

    chunks = chunk_text(text, chunk_chars, max_chunks=10 ** 6)
    return sum(label_probability(model, fasttext_text(c), label) for c in chunks) / len(chunks)


@FILTERS.register("fasttext_classifier")
class FastTextClassifier(Filter):
    def __init__(self, model_path: Optional[str] = None, label: str = "telecom", threshold: float = 0.5,
                 score_name: Optional[str] = None, max_chars: Optional[int] = 100_000,
                 chunk_chars: Optional[int] = 2000):
        if not model_path:
            raise ValueError("fasttext_classifier needs model_path (a model written by `telecom-etl "
                             "train-classifier`); to skip classification, leave the filter out of the profile")
        if not io.has_scheme(model_path) and not os.path.isfile(model_path):
            raise ValueError(f"fasttext_classifier: model not found: {model_path}")
        self.model_path, self.label = model_path, str(label)
        card = os.path.splitext(model_path)[0] + ".json"
        if not io.has_scheme(model_path) and os.path.isfile(card):  # cheap check of the label now
            import json

            with open(card, encoding="utf-8") as fh:
                labels = json.load(fh).get("labels") or []
            if labels and self.label not in labels:
                raise ValueError(f"fasttext_classifier: label {self.label!r} is not a label of {model_path} "
                                 f"(labels: {', '.join(labels)})")
        self.threshold = float(threshold)
        self.score_name = score_name or f"fasttext_{self.label}"
        # The score of a long document settles within its first ~100k characters. It is
        # the mean over chunks of the size train-classifier trains on (a whole 100k-char
        # text averages so many words that probabilities drift to the prior).
        self.max_chars = max_chars
        self.chunk_chars = chunk_chars

    def setup(self):
        self.model = load_model(self.model_path)
        labels = [lab[len("__label__"):] for lab in self.model.get_labels()]
        if self.label not in labels:
            raise ValueError(f"fasttext_classifier: label {self.label!r} not in model {self.model_path} "
                             f"(labels: {', '.join(labels)})")

    def filter(self, doc):
        if not hasattr(self, "model"):
            self.setup()
        p = document_probability(self.model, doc.text, self.label, self.max_chars, self.chunk_chars)
        doc.scores[self.score_name] = round(p, 5)
        if p < self.threshold:
            return Dropped("fasttext_classifier.below_threshold",
                           f"p({self.label}) = {p:.3f} < {self.threshold}")
        return None
