"""``telecom-etl train-classifier``: train the fastText relevance/quality classifier."""
from __future__ import annotations

import json
import os

import click

from telecom_etl.cli import UserError


def _describe(path: str, role: str, n_docs: int, n_chunks: int) -> dict:
    return {"path": path, "role": role, "documents": n_docs, "chunks": n_chunks}


@click.command("train-classifier")
@click.option("--output", "-o", "model_path", required=True, metavar="MODEL.bin",
              help="Model file to write; its card goes next to it as MODEL.json.")
@click.option("--data", "data_paths", multiple=True, metavar="PATH",
              help="Labeled examples: Parquet, JSONL or a JSON list with a text and a label field (repeatable).")
@click.option("--positive", "positive_paths", multiple=True, metavar="PATH",
              help="Positive documents: Parquet shards (e.g. OUT/pretrain), JSONL, text files or a manifest (repeatable).")
@click.option("--negative", "negative_paths", multiple=True, metavar="PATH",
              help="Negative documents, same forms as --positive (repeatable).")
@click.option("--weak", "weak_paths", multiple=True, metavar="PATH",
              help="Unlabeled documents labeled by telecom keyword density (repeatable).")
@click.option("--weak-positive-min", default=0.04, show_default=True, type=float,
              help="Keyword density at or above which a --weak chunk is positive.")
@click.option("--weak-negative-max", default=0.005, show_default=True, type=float,
              help="Keyword density at or below which a --weak chunk is negative.")
@click.option("--text-field", default="text", show_default=True)
@click.option("--label-field", default="label", show_default=True)
@click.option("--label", "positive_label", default="telecom", show_default=True,
              help="Name of the positive class (what fasttext_classifier's `label` keeps).")
@click.option("--negative-label", default="other", show_default=True)
@click.option("--positive-min", type=float, default=None,
              help="Numeric labels (e.g. a teacher's 0-5 scores): this value and above are positive.")
@click.option("--holdout", default=0.2, show_default=True, type=float,
              help="Share of documents held out (half validation for the threshold, half test).")
@click.option("--chunk-chars", default=2000, show_default=True, type=int,
              help="Documents are cut into chunks of about this many characters.")
@click.option("--max-chunks", default=50, show_default=True, type=int, help="Chunks kept per document.")
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--epoch", default=25, show_default=True, type=int)
@click.option("--lr", default=0.5, show_default=True, type=float)
@click.option("--dim", default=50, show_default=True, type=int)
@click.option("--word-ngrams", default=2, show_default=True, type=int)
@click.option("--bucket", default=200_000, show_default=True, type=int,
              help="Hash buckets for word n-grams (bucket x dim floats is most of the model size).")
def train_classifier(model_path, data_paths, positive_paths, negative_paths, weak_paths, weak_positive_min,
                     weak_negative_max, text_field, label_field, positive_label, negative_label, positive_min,
                     holdout, chunk_chars, max_chunks, seed, epoch, lr, dim, word_ngrams, bucket):
    """Train a fastText classifier of telecom relevance/quality.

    \b
    Examples come from any mix of:
      --data FILE            labeled records (text + label; numeric labels with --positive-min)
      --positive / --negative  documents of one class (Parquet shards, JSONL, text, manifest)
      --weak PATH            unlabeled documents, labeled by telecom keyword density
    Documents are chunked, split by document into train / validation / test, the
    threshold is the F1-best on validation, and test precision/recall/F1 are printed
    and saved in MODEL.json next to MODEL.bin. Training is single-threaded with a fixed
    seed, so the same inputs give the same model.
    """
    from telecom_etl.filters import train as T

    if not (data_paths or positive_paths or negative_paths or weak_paths):
        raise UserError("give training examples: --data, --positive/--negative or --weak")
    examples, inputs, notes = [], [], {}
    common = dict(chunk_chars=chunk_chars, max_chunks=max_chunks)
    try:
        for path in data_paths:
            recs = list(T.read_records(path, text_field))
            exs = T.examples_from_records(recs, text_field, label_field=label_field, positive_label=positive_label,
                                          negative_label=negative_label, positive_min=positive_min, **common)
            examples += exs
            inputs.append(_describe(path, "labeled", len(recs), len(exs)))
        for role, paths, label in (("positive", positive_paths, positive_label),
                                   ("negative", negative_paths, negative_label)):
            for path in paths:
                recs = list(T.read_records(path, text_field))
                exs = T.examples_from_records(recs, text_field, label=label, **common)
                examples += exs
                inputs.append(_describe(path, role, len(recs), len(exs)))
        for path in weak_paths:
            recs = list(T.read_records(path, text_field))
            exs, counts = T.weak_label_examples(recs, text_field, weak_positive_min, weak_negative_max,
                                                positive_label, negative_label, **common)
            examples += exs
            inputs.append(_describe(path, "weak", len(recs), len(exs)))
            notes[f"weak:{path}"] = counts
        params = T.FastTextParams(epoch=epoch, lr=lr, dim=dim, word_ngrams=word_ngrams, bucket=bucket, seed=seed)
        result = T.train_classifier(examples, model_path, positive_label, holdout, params, inputs, notes or None,
                                    chunk_chars=chunk_chars)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    except RuntimeError as exc:  # fastText's "Encountered NaN." on a too-high learning rate
        raise UserError(f"fastText training failed: {exc} (try a lower --lr)") from None
    card = result.card
    split = card["split"]
    click.echo(f"examples: train {split['train']}  validation {split['validation']}  test {split['test']} "
               f"(split by {split['unit']}, {split['documents']} documents)")
    for name in ("validation", "test", "test_at_0.5"):
        m = card["metrics"][name]
        click.echo(f"{name:>12}: threshold {m['threshold']:.4f}  precision {m['precision']:.4f}  "
                   f"recall {m['recall']:.4f}  F1 {m['f1']:.4f}  accuracy {m['accuracy']:.4f}  (n={m['n']})")
    click.echo(f"threshold: {card['threshold']} (F1-best on validation)")
    click.echo(f"wrote {result.model_path} ({os.path.getsize(result.model_path) / 1e6:.1f} MB) and {result.card_path}")
    click.echo("manifest filter: " + json.dumps({"name": "fasttext_classifier", **{
        k: v for k, v in card["use"].items() if k != "filter"}}))
