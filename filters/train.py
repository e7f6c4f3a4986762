"""Training and evaluation of the fastText relevance/quality classifier (pure, no Beam).

``telecom-etl train-classifier`` is a thin CLI over :func:`train_classifier`:

1. examples come from labeled files (text + label), from positive and negative
   corpora, or from weak labels (telecom keyword density, :mod:`.relevance`); long
   documents are cut into chunks, and every chunk remembers its document (``group``);
2. the split is by document, so no document has chunks on both sides; a seeded hash
   orders documents, so the same inputs and seed give the same split; held-out
   documents are halved into *validation* (chooses the threshold) and *test* (reports);
3. fastText trains with ``thread=1`` and a fixed seed: the same inputs give the same
   model bytes on the same machine and fastText build (across CPUs/compilers floating
   point may differ in the last bits);
4. precision/recall/F1 of the positive label are measured on validation over all
   thresholds; the F1-best threshold is applied to the test split, whose numbers are
   what the card reports.

The model file and a JSON card (inputs, date, parameters, labels, split sizes, metrics,
threshold) are written side by side: ``telecom.bin`` and ``telecom.json``.
"""
from __future__ import annotations

import datetime as _dt
import glob
import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from telecom_etl.filters.classifier import PREPROCESSING, fasttext_text, label_probability

CARD_VERSION = 1


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    group: str  # the document a chunk came from: splits never cut through a document


@dataclass
class FastTextParams:
    """fastText supervised settings. ``bucket`` x ``dim`` floats is most of the model size
    (200k x 50 x 4 bytes = 40 MB); fastText's own default (2M x 100) makes 800 MB files."""

    epoch: int = 25
    lr: float = 0.5
    dim: int = 50
    word_ngrams: int = 2
    min_count: int = 1
    bucket: int = 200_000
    minn: int = 0
    maxn: int = 0
    loss: str = "softmax"
    seed: int = 1

    def fasttext_kwargs(self) -> dict:
        return dict(epoch=self.epoch, lr=self.lr, dim=self.dim, wordNgrams=self.word_ngrams,
                    minCount=self.min_count, bucket=self.bucket, minn=self.minn, maxn=self.maxn,
                    loss=self.loss, seed=self.seed, thread=1, verbose=0)


# ---------------------------------------------------------------------------
# reading inputs
# ---------------------------------------------------------------------------

TEXT_SUFFIXES = (".txt", ".md", ".rst", ".text")


def _expand(path: str) -> List[str]:
    if os.path.isdir(path):
        files = sorted(glob.glob(os.path.join(path, "*.parquet")))
        if not files:
            files = sorted(f for f in glob.glob(os.path.join(path, "*"))
                           if f.endswith((".jsonl", ".json") + TEXT_SUFFIXES))
        if not files:
            raise ValueError(f"{path}: no .parquet, .jsonl or text files in this folder")
        return files
    if any(ch in path for ch in "*?["):
        files = sorted(glob.glob(path))
        if not files:
            raise ValueError(f"{path}: no file matches")
        return files
    if not os.path.exists(path):
        raise ValueError(f"{path}: no such file or directory")
    return [path]


def read_records(path: str, text_field: str = "text") -> Iterator[dict]:
    """Records (dicts with ``text_field``, maybe ``id`` and a label) of a file, folder or glob:
    Parquet (e.g. ``OUT/pretrain``), JSONL or a JSON list, plain text/markdown files (one
    record each), or a telecom-etl manifest (its sources are extracted and normalised)."""
    for f in _expand(path):
        if f.endswith(".parquet"):
            import pyarrow.parquet as pq

            pf = pq.ParquetFile(f)
            names = set(pf.schema_arrow.names)
            if text_field not in names:
                raise ValueError(f"{f}: no column {text_field!r} (columns: {', '.join(sorted(names))})")
            for batch in pf.iter_batches(batch_size=256):
                for i, row in enumerate(batch.to_pylist()):
                    row.setdefault("id", f"{f}#{i}")
                    yield row
        elif f.endswith(".jsonl"):
            with open(f, encoding="utf-8") as fh:
                for i, line in enumerate(fh):
                    if line.strip():
                        try:
                            row = json.loads(line)
                        except json.JSONDecodeError as exc:
                            raise ValueError(f"{f}:{i + 1}: not JSON: {exc.msg}") from None
                        row.setdefault("id", f"{f}#{i}")
                        yield row
        elif f.endswith(".json"):
            with open(f, encoding="utf-8") as fh:
                data = json.load(fh)
            if not isinstance(data, list):
                raise ValueError(f"{f}: expected a JSON list of records")
            for i, row in enumerate(data):
                row.setdefault("id", f"{f}#{i}")
                yield row
        elif f.endswith((".yaml", ".yml")):
            yield from _manifest_records(f)
        else:
            with open(f, encoding="utf-8", errors="replace") as fh:
                yield {"id": f, text_field: fh.read()}


def _manifest_records(path: str) -> Iterator[dict]:
    """Documents of a manifest's sources, extracted and normalised without Beam."""
    from telecom_etl.extractors import SOURCES
    from telecom_etl.manifest import load_manifest
    from telecom_etl.normalize import normalize
    from telecom_etl.outcome import Dropped

    manifest = load_manifest(path)
    for source in manifest.sources:
        kind = SOURCES[source.kind](source)
        for item in kind.list_items():
            if isinstance(item, Dropped):
                continue
            for doc in kind.extract(item):
                if isinstance(doc, Dropped):
                    continue
                doc = normalize(doc)
                if not isinstance(doc, Dropped):
                    yield {"id": doc.id, "text": doc.text}


def chunk_text(text: str, chunk_chars: int = 2000, max_chunks: int = 50) -> List[str]:
    """Cut a document into paragraph-aligned chunks of about ``chunk_chars`` characters,
    at most ``max_chunks`` evenly spread ones (one 500-page spec must not outvote a
    hundred papers)."""
    text = text.strip()
    if not text:
        return []
    if len(text) <= chunk_chars:
        return [text]
    chunks, cur, size = [], [], 0
    for para in text.split("\n"):
        cur.append(para)
        size += len(para) + 1
        if size >= chunk_chars:
            chunks.append("\n".join(cur).strip())
            cur, size = [], 0
    if cur and "\n".join(cur).strip():
        chunks.append("\n".join(cur).strip())
    chunks = [c for c in chunks if c]
    if len(chunks) > max_chunks:
        step = len(chunks) / max_chunks
        chunks = [chunks[int(i * step)] for i in range(max_chunks)]
    return chunks


def binarize(label, positive_label: str, negative_label: str, positive_min: Optional[float]) -> str:
    """A label as the classifier's class: numeric labels (a teacher's 0-5 score) become
    positive at ``positive_min`` and above; other labels are kept as written."""
    if positive_min is not None:
        try:
            return positive_label if float(label) >= positive_min else negative_label
        except (TypeError, ValueError):
            raise ValueError(f"label {label!r} is not a number (--positive-min needs numeric labels)") from None
    return str(label).strip().replace(" ", "_")


def examples_from_records(records: Iterable[dict], text_field: str, label: Optional[str] = None,
                          label_field: Optional[str] = None, chunk_chars: int = 2000, max_chunks: int = 50,
                          positive_label: str = "telecom", negative_label: str = "other",
                          positive_min: Optional[float] = None) -> List[Example]:
    out = []
    for rec in records:
        text = rec.get(text_field)
        if not isinstance(text, str) or not text.strip():
            continue
        if label is not None:
            lab = label
        else:
            if label_field not in rec or rec[label_field] is None:
                raise ValueError(f"record {rec.get('id')!r} has no {label_field!r} field")
            lab = binarize(rec[label_field], positive_label, negative_label, positive_min)
        group = str(rec.get("id"))
        for chunk in chunk_text(text, chunk_chars, max_chunks):
            out.append(Example(chunk, lab, group))
    return out


def weak_label_examples(records: Iterable[dict], text_field: str = "text", positive_min: float = 0.04,
                        negative_max: float = 0.005, positive_label: str = "telecom",
                        negative_label: str = "other", chunk_chars: int = 2000,
                        max_chunks: int = 50) -> Tuple[List[Example], Dict[str, int]]:
    """Label chunks by telecom keyword density: dense ones positive, term-free ones negative,
    the ambiguous middle left out. Returns the examples and how many chunks went where."""
    from telecom_etl.filters.relevance import keyword_density, load_terms

    terms = load_terms()
    out, counts = [], {"positive": 0, "negative": 0, "ambiguous": 0}
    for rec in records:
        text = rec.get(text_field)
        if not isinstance(text, str):
            continue
        for chunk in chunk_text(text, chunk_chars, max_chunks):
            density, _ = keyword_density(chunk, terms)
            if density >= positive_min:
                out.append(Example(chunk, positive_label, str(rec.get("id"))))
                counts["positive"] += 1
            elif density <= negative_max:
                out.append(Example(chunk, negative_label, str(rec.get("id"))))
                counts["negative"] += 1
            else:
                counts["ambiguous"] += 1
    return out, counts


# ---------------------------------------------------------------------------
# split, train, evaluate
# ---------------------------------------------------------------------------

def _rank(seed: int, key: str) -> str:
    return hashlib.sha1(f"{seed}\x00{key}".encode("utf-8")).hexdigest()


def split_examples(examples: Sequence[Example], holdout: float = 0.2, seed: int = 1,
                   min_groups: int = 5) -> Tuple[List[Example], List[Example], List[Example], str]:
    """(train, validation, test, unit). Per label, a ``holdout`` share of documents (seeded
    hash order) is held out and halved into validation and test. A label with fewer than
    ``min_groups`` documents is split by chunk instead (``unit`` says which happened)."""
    if not 0 < holdout < 1:
        raise ValueError("holdout must be between 0 and 1")
    by_label: Dict[str, Dict[str, List[Example]]] = {}
    for ex in examples:
        by_label.setdefault(ex.label, {}).setdefault(ex.group, []).append(ex)
    train, valid, test = [], [], []
    units = set()
    for label in sorted(by_label):
        groups = by_label[label]
        if len(groups) >= min_groups:
            units.add("document")
            keys = sorted(groups, key=lambda g: _rank(seed, g))
            units_list = [groups[k] for k in keys]
        else:
            units.add("chunk")
            chunks = [ex for g in sorted(groups) for ex in groups[g]]
            chunks.sort(key=lambda ex: _rank(seed, ex.group + "\x00" + ex.text))
            units_list = [[ex] for ex in chunks]
        n_hold = max(2, round(len(units_list) * holdout)) if len(units_list) >= 4 else 0
        held = units_list[:n_hold]
        for u in units_list[n_hold:]:
            train.extend(u)
        for i, u in enumerate(held):
            (valid if i % 2 == 0 else test).extend(u)
    return train, valid, test, "+".join(sorted(units))


def write_fasttext_file(examples: Iterable[Example], path: str) -> int:
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for ex in examples:
            line = fasttext_text(ex.text)
            if line:
                fh.write(f"__label__{ex.label} {line}\n")
                n += 1
    return n


_FIT = ("import json, sys, fasttext\n"
        "fasttext.FastText.eprint = lambda *a, **k: None\n"
        "fasttext.train_supervised(input=sys.argv[1], **json.loads(sys.argv[3])).save_model(sys.argv[2])\n")


def train_fasttext(examples: Sequence[Example], params: FastTextParams, model_path: str):
    """Train on ``examples`` and save the model to ``model_path``; returns the loaded model.

    Training runs in a fresh Python process: in fasttext-numpy2 0.10, a process that has
    called ``predict`` fails its next training with "Encountered NaN." (seen here), so
    in-process training would break a second run in one Python session (tests,
    notebooks, a worker that scored before). A plain subprocess (not multiprocessing)
    needs no ``if __name__ == "__main__"`` guard in the caller's script.
    """
    import subprocess
    import sys

    from telecom_etl.filters.classifier import load_model

    with tempfile.TemporaryDirectory(prefix="telecom-etl-ft-") as tmp:
        path = os.path.join(tmp, "train.txt")
        if write_fasttext_file(examples, path) == 0:
            raise ValueError("no training examples")
        proc = subprocess.run([sys.executable, "-c", _FIT, path, model_path, json.dumps(params.fasttext_kwargs())],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
            raise RuntimeError(lines[-1] if lines else f"fastText exited with code {proc.returncode}")
    return load_model(model_path, cache=False)


def binary_metrics(scores: Sequence[float], gold: Sequence[bool], threshold: float) -> dict:
    tp = sum(1 for s, g in zip(scores, gold) if s >= threshold and g)
    fp = sum(1 for s, g in zip(scores, gold) if s >= threshold and not g)
    fn = sum(1 for s, g in zip(scores, gold) if s < threshold and g)
    tn = len(gold) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"threshold": round(threshold, 4), "precision": round(precision, 4), "recall": round(recall, 4),
            "f1": round(f1, 4), "accuracy": round((tp + tn) / len(gold), 4) if gold else 0.0,
            "tp": tp, "fp": fp, "fn": fn, "tn": tn, "n": len(gold)}


def roc_auc(scores: Sequence[float], gold: Sequence[bool]) -> Optional[float]:
    """Area under the ROC curve: the chance that a random positive scores above a random
    negative (ties count half). Threshold-free, so it stays meaningful when the validation
    split is too small to place a threshold well. ``None`` without both labels."""
    pairs = sorted(zip(scores, gold))
    n_pos = sum(1 for _, g in pairs if g)
    n_neg = len(pairs) - n_pos
    if not n_pos or not n_neg:
        return None
    rank_sum, i = 0.0, 0
    while i < len(pairs):  # average ranks over ties (Mann-Whitney U)
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        mid = (i + 1 + j) / 2
        rank_sum += mid * sum(1 for k in range(i, j) if pairs[k][1])
        i = j
    return round((rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg), 4)


def choose_threshold(scores: Sequence[float], gold: Sequence[bool], default: float = 0.5) -> float:
    """The F1-best threshold on (validation) scores, placed midway between the lowest
    score it keeps and the next score below (the widest margin, not the edge of the
    observed positives); ties go to the threshold nearest 0.5. With no positive
    example, ``default``."""
    if not any(gold) or not scores:
        return default
    cands = sorted(set(round(s, 4) for s in scores))
    best = max(cands, key=lambda t: (binary_metrics(scores, gold, t)["f1"], -abs(t - 0.5)))
    below = [c for c in cands if c < best]
    return round((best + below[-1]) / 2, 4) if below else float(best)


def score(model, examples: Sequence[Example], label: str) -> List[float]:
    return [label_probability(model, fasttext_text(ex.text), label) for ex in examples]


def _label_counts(examples: Sequence[Example]) -> Dict[str, int]:
    out: Dict[str, int] = {}
    for ex in examples:
        out[ex.label] = out.get(ex.label, 0) + 1
    return dict(sorted(out.items()))


@dataclass
class TrainResult:
    model_path: str
    card_path: str
    card: dict = field(default_factory=dict)


def card_path_for(model_path: str) -> str:
    return os.path.splitext(model_path)[0] + ".json"


def train_classifier(examples: Sequence[Example], model_path: str, positive_label: str = "telecom",
                     holdout: float = 0.2, params: Optional[FastTextParams] = None,
                     inputs: Optional[List[dict]] = None, notes: Optional[dict] = None,
                     chunk_chars: int = 2000) -> TrainResult:
    """Split, train, choose the threshold, evaluate, and write the model and its card."""
    params = params or FastTextParams()
    labels = sorted({ex.label for ex in examples})
    if positive_label not in labels:
        raise ValueError(f"no example has the positive label {positive_label!r} (labels: {', '.join(labels) or 'none'})")
    if len(labels) < 2:
        raise ValueError(f"only one label ({labels[0]}): a classifier needs negative examples too")
    train, valid, test, unit = split_examples(examples, holdout, params.seed)
    if not train or not valid or not test:
        raise ValueError(f"too few examples to hold out validation and test sets "
                         f"({len(examples)} chunks); give more documents or a larger --holdout")
    os.makedirs(os.path.dirname(os.path.abspath(model_path)), exist_ok=True)
    model = train_fasttext(train, params, model_path)
    v_scores = score(model, valid, positive_label)
    v_gold = [ex.label == positive_label for ex in valid]
    threshold = choose_threshold(v_scores, v_gold)
    t_scores = score(model, test, positive_label)
    t_gold = [ex.label == positive_label for ex in test]
    metrics = {
        "test": dict(binary_metrics(t_scores, t_gold, threshold), roc_auc=roc_auc(t_scores, t_gold)),
        "test_at_0.5": binary_metrics(t_scores, t_gold, 0.5),
        "validation": dict(binary_metrics(v_scores, v_gold, threshold), roc_auc=roc_auc(v_scores, v_gold)),
    }
    import fasttext

    card = {
        "card_version": CARD_VERSION,
        "model": os.path.basename(model_path),
        "task": "telecom relevance/quality (fastText supervised)",
        "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "labels": labels,
        "positive_label": positive_label,
        "threshold": threshold,
        "threshold_rule": "F1-best on the validation split",
        "metrics": metrics,
        "split": {"unit": unit, "holdout": holdout, "seed": params.seed,
                  "train": _label_counts(train), "validation": _label_counts(valid), "test": _label_counts(test),
                  "documents": len({ex.group for ex in examples}),
                  "validation_positive_documents": len({ex.group for ex in valid if ex.label == positive_label})},
        "params": asdict(params),
        "preprocessing": PREPROCESSING,
        "fasttext": getattr(fasttext, "__version__", "fasttext-numpy2"),
        "inputs": inputs or [],
        "deterministic": "thread=1 and a fixed seed: same inputs -> same split and model on the same "
                         "machine/fastText build; the 'created' time is the only varying card field",
        "use": {"filter": "fasttext_classifier", "model_path": os.path.basename(model_path),
                "label": positive_label, "threshold": threshold, "chunk_chars": chunk_chars},
    }
    if notes:
        card["notes"] = notes
    card_path = card_path_for(model_path)
    with open(card_path, "w", encoding="utf-8") as fh:
        json.dump(card, fh, indent=2, sort_keys=False)
        fh.write("\n")
    return TrainResult(model_path, card_path, card)
