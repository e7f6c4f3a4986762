"""``telecom-etl train-classifier``: train the fastText relevance/quality classifier."""
from __future__ import annotations

import json
import os

import click

from telecom_etl.cli import UserError


def _describe(path: str, role: str, n_docs: int, n_chunks: int) -> dict:
    return {"path": path, "role": role, "documents": n_docs, "chunks": n_chunks}


@click.command("train-classifier", short_help="Train the fastText telecom relevance/quality classifier.")
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
@click.option("--teacher-from", "teacher_paths", multiple=True, metavar="PATH",
              help="Unlabeled documents to sample and have a teacher LLM rate 0-5 (repeatable).")
@click.option("--teacher-sample", default=500, show_default=True, type=int, help="Chunks the teacher rates.")
@click.option("--teacher-model", default=None, help="Teacher model name (OpenAI-compatible endpoint).")
@click.option("--teacher-base-url", default=None, help="Endpoint, e.g. http://127.0.0.1:8000/v1 [default: $OPENAI_BASE_URL].")
@click.option("--teacher-api-key-env", default="OPENAI_API_KEY", show_default=True,
              help="Name of the environment variable holding the API key.")
@click.option("--teacher-config", default=None, metavar="FILE",
              help="Teachers YAML (teachers: {name: {model, base_url, ...}}) instead of --teacher-model/-base-url.")
@click.option("--teacher", "teacher_name", default=None, help="Which teacher of --teacher-config (default: the first).")
@click.option("--teacher-concurrency", default=8, show_default=True, type=int)
@click.option("--teacher-max-requests", default=None, type=int, help="Budget: requests sent (cache hits are free).")
@click.option("--teacher-cache", default=None, metavar="DIR",
              help="Answer cache [default: _teacher_cache/ next to the model]; a re-run costs nothing.")
@click.option("--save-labels", default=None, metavar="FILE.jsonl",
              help="Where the teacher's labels go [default: MODEL.labels.jsonl]; reusable with --data.")
def train_classifier(model_path, data_paths, positive_paths, negative_paths, weak_paths, weak_positive_min,
                     weak_negative_max, text_field, label_field, positive_label, negative_label, positive_min,
                     holdout, chunk_chars, max_chunks, seed, epoch, lr, dim, word_ngrams, bucket,
                     teacher_paths, teacher_sample, teacher_model, teacher_base_url, teacher_api_key_env,
                     teacher_config, teacher_name, teacher_concurrency, teacher_max_requests, teacher_cache,
                     save_labels):
    """Train a fastText classifier of telecom relevance/quality.

    \b
    Examples come from any mix of:
      --data FILE            labeled records (text + label; numeric labels with --positive-min)
      --positive / --negative  documents of one class (Parquet shards, JSONL, text, manifest)
      --weak PATH            unlabeled documents, labeled by telecom keyword density
      --teacher-from PATH    unlabeled documents, a sample rated 0-5 by a teacher LLM
                             (positive at --positive-min, default 3; FineWeb-Edu's recipe)
    Documents are chunked, split by document into train / validation / test, the
    threshold is the F1-best on validation, and test precision/recall/F1 are printed
    and saved in MODEL.json next to MODEL.bin. Training is single-threaded with a fixed
    seed, so the same inputs give the same model.
    """
    from telecom_etl.filters import train as T

    if not (data_paths or positive_paths or negative_paths or weak_paths or teacher_paths):
        raise UserError("give training examples: --data, --positive/--negative, --weak or --teacher-from")
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
        if teacher_paths:
            exs, inp, stats = _teacher_examples(
                teacher_paths, model_path, text_field, teacher_sample, seed, chunk_chars, max_chunks,
                positive_label, negative_label, 3 if positive_min is None else positive_min,
                dict(model=teacher_model, base_url=teacher_base_url, api_key_env=teacher_api_key_env,
                     config=teacher_config, name=teacher_name, concurrency=teacher_concurrency,
                     max_requests=teacher_max_requests, cache=teacher_cache), save_labels)
            examples += exs
            inputs += inp
            notes["teacher"] = stats
        params = T.FastTextParams(epoch=epoch, lr=lr, dim=dim, word_ngrams=word_ngrams, bucket=bucket, seed=seed)
        result = T.train_classifier(examples, model_path, positive_label, holdout, params, inputs, notes or None,
                                    chunk_chars=chunk_chars)
    except ValueError as exc:  # TeacherError is a ValueError too
        raise UserError(str(exc)) from None
    except RuntimeError as exc:  # fastText's "Encountered NaN." on a too-high learning rate
        raise UserError(f"fastText training failed: {exc} (try a lower --lr)") from None
    card = result.card
    if "teacher" in notes:
        t = notes["teacher"]
        click.echo(f"teacher: {t['rated']}/{t['requested']} chunks rated (scores {t['scores']}), "
                   f"failed {t['failed'] or 0}, invalid {t['invalid']}; labels in {t['labels_file']}")
    split = card["split"]
    click.echo(f"examples: train {split['train']}  validation {split['validation']}  test {split['test']} "
               f"(split by {split['unit']}, {split['documents']} documents)")
    for name in ("validation", "test", "test_at_0.5"):
        m = card["metrics"][name]
        click.echo(f"{name:>12}: threshold {m['threshold']:.4f}  precision {m['precision']:.4f}  "
                   f"recall {m['recall']:.4f}  F1 {m['f1']:.4f}  accuracy {m['accuracy']:.4f}  (n={m['n']})"
                   + (f"  ROC AUC {m['roc_auc']:.4f}" if m.get("roc_auc") is not None else ""))
    click.echo(f"threshold: {card['threshold']} (F1-best on validation)")
    n_valid = split.get("validation_positive_documents", 0)
    if n_valid < 5:
        click.echo(f"note: the threshold was placed on {n_valid} validation document(s) of the positive label, "
                   f"so it is a rough estimate; ROC AUC (threshold-free) says how well the labels separate. "
                   f"More documents or a larger --holdout give a steadier threshold.")
    click.echo(f"wrote {result.model_path} ({os.path.getsize(result.model_path) / 1e6:.1f} MB) and {result.card_path}")
    click.echo("manifest filter: " + json.dumps({"name": "fasttext_classifier", **{
        k: v for k, v in card["use"].items() if k != "filter"}}))


def _teacher_examples(paths, model_path, text_field, n, seed, chunk_chars, max_chunks, positive_label,
                      negative_label, positive_min, teacher_opts, save_labels):
    """Sample chunks of ``paths``, have the teacher rate them, save and return the labels."""
    from telecom_etl.filters import train as T
    from telecom_etl.filters.teacher_labels import label_with_teacher, sample_chunks
    from telecom_etl.synth.teacher import Teacher, TeacherConfig, TeacherError, load_teachers_file

    cache = teacher_opts["cache"] or os.path.join(os.path.dirname(os.path.abspath(model_path)), "_teacher_cache")
    if teacher_opts["config"]:
        teachers = load_teachers_file(teacher_opts["config"], defaults={"cache_dir": cache})
        name = teacher_opts["name"] or next(iter(teachers))
        if name not in teachers:
            raise TeacherError(f"no teacher {name!r} in {teacher_opts['config']} (known: {', '.join(teachers)})")
        config = teachers[name]
    elif teacher_opts["model"]:
        config = TeacherConfig(model=teacher_opts["model"], base_url=teacher_opts["base_url"],
                               api_key_env=teacher_opts["api_key_env"], concurrency=teacher_opts["concurrency"],
                               max_requests=teacher_opts["max_requests"], cache_dir=cache, name="labeler")
        config.validate()
    else:
        raise TeacherError("--teacher-from needs --teacher-model (and --teacher-base-url) or --teacher-config")
    records = [r for p in paths for r in T.read_records(p, text_field)]
    samples = sample_chunks(records, n, seed, text_field, chunk_chars, max_chunks)
    if not samples:
        raise ValueError("--teacher-from: no text to sample")
    with Teacher(config) as teacher:
        rows, stats = label_with_teacher(samples, teacher)
    labels_file = save_labels or os.path.splitext(model_path)[0] + ".labels.jsonl"
    os.makedirs(os.path.dirname(os.path.abspath(labels_file)), exist_ok=True)
    with open(labels_file, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    stats.update(labels_file=labels_file, teacher={"name": config.name, "model": config.model},
                 positive_min=positive_min)
    examples = [T.Example(row["text"], positive_label if row["score"] >= positive_min else negative_label, row["id"])
                for row in rows]
    inputs = [{"path": p, "role": "teacher", "documents": None, "chunks": None} for p in paths]
    inputs.append({"path": labels_file, "role": "teacher-labels", "documents": len({r["id"] for r in rows}),
                   "chunks": len(rows)})
    return examples, inputs, stats
