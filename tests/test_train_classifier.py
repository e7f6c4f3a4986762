"""``telecom-etl train-classifier`` and the fastText classifier filter, on real documents."""
from __future__ import annotations

import json
import os
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from test_filters_heuristics import TELECOM_PROSE, doc, off_topic_docs, telecom_text

from telecom_etl.cli import main
from telecom_etl.filters import build_filter
from telecom_etl.filters.train import (Example, FastTextParams, binary_metrics, choose_threshold, chunk_text, roc_auc,
                                       split_examples, train_classifier)

SMALL = ["--dim", "16", "--bucket", "20000", "--epoch", "15"]  # small, fast models for tests

OTHER_PROSE = [
    "The garden needs water twice a week in summer, and the roses should be pruned in early spring before "
    "the new shoots appear. Compost from the kitchen keeps the soil rich and the worms busy.",
    "Our recipe for bread uses flour, water, salt and a little yeast. Knead the dough for ten minutes, let it "
    "rise overnight in a cool room, and bake it in a hot oven until the crust sounds hollow.",
    "The museum opens at nine and closes at six. Guided tours of the painting collection start every hour, "
    "and the cafe on the top floor serves lunch with a view over the old town and the river.",
    "Training for a marathon takes months. Runners build up their weekly distance slowly, rest one day in "
    "seven, and practise drinking and eating during long runs so that race day holds no surprises.",
]


def synthetic_corpus(n_docs: int = 24, seed: int = 5):
    """Documents of shuffled sentences: half telecom, half everyday prose (labeled)."""
    rng = random.Random(seed)
    tele = [s.strip() + "." for p in TELECOM_PROSE for s in p.split(".") if s.strip()]
    other = [s.strip() + "." for p in OTHER_PROSE for s in p.split(".") if s.strip()]
    rows = []
    for i in range(n_docs):
        pool, label = (tele, "telecom") if i % 2 == 0 else (other, "other")
        rows.append({"id": f"doc{i}", "text": " ".join(rng.choice(pool) for _ in range(12)), "label": label})
    return rows


@pytest.fixture(scope="module")
def real_docs(tmp_path_factory):
    """Positive: real specs and papers (extracted text); negative: real package documentation."""
    from test_filters_heuristics import _paper, extract_specs

    root = tmp_path_factory.mktemp("clf")
    pos, neg = root / "pos", root / "neg"
    pos.mkdir()
    neg.mkdir()
    specs = extract_specs(["21905-h20.docx", "24301-d80_open5gs-excerpt.docx", "38211-i10.docx", "23503-i40.docx"])
    papers = [_paper("alfano2007_LMS-MIMO_IEEE.pdf"),
              _paper("Learning-Based-Power-Control-for-mmWave-Massive-MIMO-against-Jamming.pdf")]
    for i, d in enumerate(specs + papers):
        (pos / f"telecom{i}.txt").write_text(d.text)
    for name, text in off_topic_docs(24):
        (neg / f"{name}.txt").write_text(text)
    # everyday prose too: a model that only saw software docs as negatives calls any
    # non-software English "telecom" (measured: a bread recipe scored 0.998)
    for row in synthetic_corpus(24, seed=11)[1::2]:
        (neg / f"prose-{row['id']}.txt").write_text(row["text"])
    return root


def test_train_classifier_cli_on_real_documents(real_docs, tmp_path):
    model = tmp_path / "models" / "telecom.bin"
    result = CliRunner().invoke(main, ["train-classifier", "-o", str(model), "--positive", str(real_docs / "pos"),
                                       "--negative", str(real_docs / "neg"), *SMALL])
    assert result.exit_code == 0, result.output
    assert "test: threshold" in result.output and "precision" in result.output and "F1" in result.output
    card = json.loads((tmp_path / "models" / "telecom.json").read_text())
    assert model.exists() and card["model"] == "telecom.bin"
    assert card["labels"] == ["other", "telecom"] and card["positive_label"] == "telecom"
    test = card["metrics"]["test"]
    assert test["n"] > 0 and test["tp"] + test["fn"] > 0
    # specs/papers vs software docs and everyday prose separate cleanly. With 6 positive documents
    # the threshold is placed on one or two validation documents, so the F1 at that threshold moves
    # with the package READMEs a fresh install brings (0.78-1.0 measured). ROC AUC measured 0.94-1.0
    # (one of ~17 negative chunks ranked first costs 0.06 on its own), F1 at 0.5 0.9-1.0.
    assert test["roc_auc"] >= 0.9, card["metrics"]
    assert card["metrics"]["test_at_0.5"]["f1"] >= 0.8, card["metrics"]
    assert "ROC AUC" in result.output and "rough estimate" in result.output
    assert card["split"]["unit"] == "document" and card["split"]["documents"] == 42
    assert {i["role"] for i in card["inputs"]} == {"positive", "negative"}
    assert card["params"]["seed"] == 1 and card["preprocessing"]

    # the trained model as a pipeline filter: a telecom document passes, other prose does not
    f = build_filter({"name": "fasttext_classifier", "model_path": str(model), "label": "telecom",
                      "threshold": 0.5})
    f.setup()
    good = doc(telecom_text(6))
    assert f.apply(good) is None and good.scores["fasttext_telecom"] > 0.5
    off = doc(next(r["text"] for r in synthetic_corpus(8, seed=99) if r["label"] == "other"))
    dropped = f.apply(off)
    assert dropped is not None and dropped.rule == "fasttext_classifier.below_threshold", off.scores
    assert off.scores["fasttext_telecom"] < 0.5 and "p(telecom) = " in dropped.detail


def test_training_is_deterministic(tmp_path):
    rows = synthetic_corpus()
    data = tmp_path / "labeled.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows))
    outs = []
    for run in ("a", "b"):
        model = tmp_path / run / "m.bin"
        result = CliRunner().invoke(main, ["train-classifier", "-o", str(model), "--data", str(data), *SMALL])
        assert result.exit_code == 0, result.output
        card = json.loads((tmp_path / run / "m.json").read_text())
        card.pop("created")
        outs.append((model.read_bytes(), card))
    assert outs[0][0] == outs[1][0]  # same bytes: thread=1 and a fixed seed
    assert outs[0][1] == outs[1][1]


def test_numeric_teacher_scores_from_parquet_are_binarized(tmp_path):
    rows = synthetic_corpus(20)
    for i, r in enumerate(rows):  # a teacher's 0-5 scores
        r["score"] = 4 + i % 2 if r["label"] == "telecom" else i % 3
    path = tmp_path / "scored.parquet"
    pq.write_table(pa.Table.from_pylist([{"id": r["id"], "text": r["text"], "score": r["score"]} for r in rows]), path)
    model = tmp_path / "edu.bin"
    result = CliRunner().invoke(main, ["train-classifier", "-o", str(model), "--data", str(path),
                                       "--label-field", "score", "--positive-min", "3", *SMALL])
    assert result.exit_code == 0, result.output
    card = json.loads((tmp_path / "edu.json").read_text())
    assert card["labels"] == ["other", "telecom"]
    split = card["split"]
    # scores 4-5 became "telecom", 0-2 "other": 10 documents each, one chunk per document
    assert sum(split[p].get("telecom", 0) for p in ("train", "validation", "test")) == 10
    assert sum(split[p].get("other", 0) for p in ("train", "validation", "test")) == 10
    r = CliRunner().invoke(main, ["train-classifier", "-o", str(model), "--data", str(path),
                                  "--label-field", "score", "--positive-min", "3", "--text-field", "body"])
    assert r.exit_code == 2 and "no column 'body'" in r.output


def test_weak_labels_from_keyword_density(tmp_path):
    docs = tmp_path / "unlabeled.jsonl"
    docs.write_text("\n".join(json.dumps({"id": r["id"], "text": r["text"]}) for r in synthetic_corpus(24)))
    model = tmp_path / "weak.bin"
    result = CliRunner().invoke(main, ["train-classifier", "-o", str(model), "--weak", str(docs), *SMALL])
    assert result.exit_code == 0, result.output
    card = json.loads((tmp_path / "weak.json").read_text())
    counts = card["notes"][f"weak:{docs}"]
    assert counts["positive"] == 12 and counts["negative"] == 12


def test_user_mistakes_are_one_line_errors(tmp_path):
    runner = CliRunner()
    r = runner.invoke(main, ["train-classifier", "-o", str(tmp_path / "m.bin")])
    assert r.exit_code == 2 and "give training examples" in r.output
    only_pos = tmp_path / "pos.jsonl"
    only_pos.write_text(json.dumps({"text": telecom_text()}) + "\n")
    r = runner.invoke(main, ["train-classifier", "-o", str(tmp_path / "m.bin"), "--positive", str(only_pos)])
    assert r.exit_code == 2 and "negative examples" in r.output
    r = runner.invoke(main, ["train-classifier", "-o", str(tmp_path / "m.bin"), "--positive", str(tmp_path / "nope")])
    assert r.exit_code == 2 and "no such file" in r.output


def test_split_never_cuts_a_document_and_threshold_choice():
    examples = [Example(f"chunk {i} of {g}", "telecom" if g % 2 else "other", f"g{g}")
                for g in range(20) for i in range(3)]
    train, valid, test, unit = split_examples(examples, holdout=0.2, seed=3)
    assert unit == "document"
    groups = [{e.group for e in part} for part in (train, valid, test)]
    assert not (groups[0] & groups[1]) and not (groups[0] & groups[2]) and not (groups[1] & groups[2])
    assert len(train) + len(valid) + len(test) == len(examples)
    assert split_examples(examples, 0.2, 3)[:3] == (train, valid, test)  # seeded: same split again
    scores, gold = [0.9, 0.8, 0.35, 0.3, 0.1], [True, True, True, False, False]
    assert choose_threshold(scores, gold) == 0.325  # midway between 0.35 (kept) and 0.3 (not)
    m = binary_metrics(scores, gold, 0.325)
    assert (m["precision"], m["recall"], m["f1"]) == (1.0, 1.0, 1.0)
    assert choose_threshold([0.2, 0.1], [False, False]) == 0.5
    assert roc_auc(scores, gold) == 1.0
    assert roc_auc([0.9, 0.3, 0.5, 0.1], [True, True, False, False]) == 0.75  # one of four pairs inverted
    assert roc_auc([0.5, 0.5], [True, False]) == 0.5  # a tie counts half
    assert roc_auc([0.2, 0.1], [False, False]) is None


def test_chunking_is_paragraph_aligned_and_capped():
    text = "\n".join(f"paragraph {i} " + "x" * 90 for i in range(100))
    chunks = chunk_text(text, chunk_chars=1000, max_chunks=4)
    assert len(chunks) == 4 and all(c.startswith("paragraph") for c in chunks)
    assert chunk_text("short", 1000) == ["short"] and chunk_text("  ", 1000) == []


def test_classifier_filter_needs_a_model(tmp_path, write_manifest):
    from telecom_etl.manifest import ManifestError, load_manifest

    (tmp_path / "t.txt").write_text("x")
    for entry, message in (("{name: fasttext_classifier}", "leave the filter out of the profile"),
                           (f"{{name: fasttext_classifier, model_path: {tmp_path}/none.bin}}", "model not found")):
        path = write_manifest(f"""
            sources: [{{name: t, kind: text, paths: [{tmp_path}/t.txt]}}]
            filters: {{profiles: {{default: [{entry}]}}}}
        """)
        with pytest.raises(ManifestError, match=message):
            load_manifest(path)


def test_classifier_label_is_checked_against_the_model_card(tmp_path):
    rows = synthetic_corpus()
    examples = [Example(r["text"], r["label"], r["id"]) for r in rows]
    res = train_classifier(examples, str(tmp_path / "m.bin"), "telecom", 0.3, FastTextParams(dim=16, bucket=20000))
    with pytest.raises(ValueError, match="label 'edu' is not a label"):
        build_filter({"name": "fasttext_classifier", "model_path": res.model_path, "label": "edu"})
    os.remove(res.card_path)  # without a card the model itself is checked, once per worker
    f = build_filter({"name": "fasttext_classifier", "model_path": res.model_path, "label": "edu"})
    with pytest.raises(ValueError, match="not in model"):
        f.setup()


def test_positive_documents_from_a_manifest(tmp_path):
    from telecom_etl.filters.train import read_records

    from conftest import ROOT

    recs = list(read_records(os.path.join(ROOT, "manifests", "sample.yaml")))
    assert len(recs) >= 3 and all(r["text"].strip() and r["id"] for r in recs)
    assert any("UE" in r["text"] for r in recs)  # the bundled 3GPP-style spec


def test_train_classifier_python_api_writes_model_and_card(tmp_path):
    rows = synthetic_corpus()
    examples = [Example(r["text"], r["label"], r["id"]) for r in rows]
    res = train_classifier(examples, str(tmp_path / "api.bin"), "telecom", 0.3,
                           FastTextParams(dim=16, bucket=20000, epoch=15))
    assert os.path.exists(res.model_path) and res.card_path.endswith("api.json")
    assert res.card["use"] == {"filter": "fasttext_classifier", "model_path": "api.bin", "label": "telecom",
                               "threshold": res.card["threshold"], "chunk_chars": 2000}
