"""build-pretrain's filter stage end to end (real Beam pipeline) on a mixed input: real
specs and papers, the garbage-text PDF, generated junk, off-topic documentation, and a
document with planted TeleQnA questions. Every drop is counted by rule and source."""
from __future__ import annotations

import glob
import json
import os
from collections import Counter

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import ROOT, corpus_file
from test_filters_heuristics import GARBAGE_PDF, JUNK, TELECOM_PROSE, off_topic_docs, raw_pdf_text, telecom_text
from test_train_classifier import SMALL

from telecom_etl.filters.decontaminate import tokens


@pytest.fixture(scope="module")
def classifier_model(tmp_path_factory):
    """A small model trained on specs/papers NOT used below vs. package docs NOT used below."""
    from click.testing import CliRunner
    from test_filters_heuristics import _paper, extract_specs

    from telecom_etl.cli import main

    root = tmp_path_factory.mktemp("model")
    (root / "pos").mkdir()
    (root / "neg").mkdir()
    positives = extract_specs(["23503-i40.docx", "38211-i10.docx"]) + [
        _paper("Learning-Based-Power-Control-for-mmWave-Massive-MIMO-against-Jamming.pdf")]
    for i, d in enumerate(positives):
        (root / "pos" / f"p{i}.txt").write_text(d.text)
    for name, text in off_topic_docs(30)[10:]:  # the pipeline below uses the first ones
        (root / "neg" / f"{name}.txt").write_text(text)
    result = CliRunner().invoke(main, ["train-classifier", "-o", str(root / "telecom.bin"), "--positive",
                                       str(root / "pos"), "--negative", str(root / "neg"), *SMALL])
    assert result.exit_code == 0, result.output
    return str(root / "telecom.bin")


def _planted_question() -> tuple:
    with open(corpus_file("qa", "TeleQnA_sample300.json"), encoding="utf-8") as fh:
        data = json.load(fh)
    for key, item in data.items():
        q = item["question"].split(" [3GPP")[0]
        if len(tokens(q)) >= 15:
            return key, q
    raise AssertionError("no long question")


def test_filter_stage_counts_every_drop_by_rule_and_source(tmp_path, classifier_model):
    from telecom_etl.manifest import load_manifest
    from telecom_etl.pipelines.build_pretrain import run
    from telecom_etl.record import as_dict

    web = tmp_path / "web"
    web.mkdir()
    for name, (make, _) in JUNK.items():
        (web / f"junk-{name}.txt").write_text(make())
    off_topic = off_topic_docs(30)[:4]
    for name, text in off_topic:
        (web / f"offtopic-{name}.txt").write_text(text)
    (web / "good-telecom.txt").write_text(telecom_text(6))
    # the garbage PDF's raw text layer without its control characters (with them, the
    # text source already skips the file as binary), as a careless converter leaves it
    garbage = "".join(ch for ch in raw_pdf_text(GARBAGE_PDF) if ch in "\n\t" or ch.isprintable())
    (web / "garbage-text-layer.txt").write_text(garbage)
    key, question = _planted_question()
    (web / "planted-benchmark.txt").write_text("\n\n".join(TELECOM_PROSE[:3] + [question] + TELECOM_PROSE[3:]))

    teleqna = corpus_file("qa", "TeleQnA_sample300.json")
    profiles = yaml.safe_load(open(os.path.join(ROOT, "manifests", "sample.yaml")))["filters"]["profiles"]
    for name in ("default", "3gpp", "paper"):
        chain = profiles[name]
        # the classifier sits before keyword relevance, so off-topic text shows its verdict
        # (the 3gpp profile has no relevance rule: it goes last there)
        at = next((i for i, f in enumerate(chain) if f["name"] == "telecom_keywords"), len(chain))
        chain.insert(at, {"name": "fasttext_classifier", "model_path": classifier_model, "label": "telecom",
                          "threshold": 0.5})
        chain.append({"name": "decontaminate", "benchmarks": [teleqna], "n": 13})
    manifest = {
        "sources": [
            {"name": "specs", "kind": "3gpp", "paths": [corpus_file("specs", "21905-h20.docx"),
                                                        corpus_file("specs", "24301-d80_open5gs-excerpt.docx")]},
            {"name": "papers", "kind": "paper",
             "paths": [corpus_file("papers", "alfano2007_LMS-MIMO_IEEE.pdf"),
                       corpus_file("papers", GARBAGE_PDF)]},
            {"name": "web", "kind": "text", "paths": [str(web)]},
        ],
        "filters": {"profiles": {k: profiles[k] for k in ("default", "3gpp", "paper")}},
        "dedup": {"exact": True},
    }
    path = tmp_path / "mixed.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    out = str(tmp_path / "out")
    report = run(load_manifest(str(path)), out, [], progress=False)

    assert report["balanced"], [c for c in report["checks"] if not c["ok"]]
    # every profile has a classifier here, so the report notes no skipped classifier step
    assert not [n for n in report.get("notes", []) if "classifier" in n]
    assert "fasttext_classifier" in report["sources"]["web"]["filters"]
    f = report["stages"]["filter"]
    by_rule = f["dropped_by_rule"]
    # junk: each generated page is dropped by the rule built to catch it
    expected = Counter(rule for _, rule in JUNK.values())
    for rule, n in expected.items():
        assert by_rule.get(rule, 0) >= n, (rule, by_rule)
    assert by_rule["decontaminate.TeleQnA_sample300"] == 1
    web_rules = f["by_source"]["web"]["dropped_by_rule"]
    assert f["by_source"]["web"]["in"] == len(JUNK) + len(off_topic) + 3
    assert f["by_source"]["web"]["kept"] == 1  # only the good telecom page
    assert sum(web_rules.values()) == len(JUNK) + len(off_topic) + 2
    # The garbage PDF never reaches the output: the paper extractor rejects it (a failed
    # extract), and if it did not, the paper profile's line rules would drop it.
    papers = f["by_source"]["papers"]
    rejected = report["stages"]["extract"]["by_source"]["papers"]["failed"]
    assert (rejected, papers["in"], papers["kept"]) in ((1, 1, 1), (0, 2, 1))
    assert all(rule.startswith("fineweb_lines.") for rule in papers["dropped_by_rule"])
    assert f["by_source"]["specs"]["kept"] == 2 and f["by_source"]["specs"]["dropped"] == 0
    for rule in by_rule:  # a few example ids per rule
        assert f["examples"][rule]

    kept = pq.read_table(glob.glob(os.path.join(out, "pretrain", "*.parquet"))).to_pylist()
    uris = sorted(os.path.basename(r["uri"]) for r in kept)
    assert uris == ["21905-h20.docx", "24301-d80_open5gs-excerpt.docx", "alfano2007_LMS-MIMO_IEEE.pdf",
                    "good-telecom.txt"]
    for r in kept:
        scores = as_dict(r["scores"])
        assert r["lang"] == "en" and r["lang_score"] > 0.9
        assert scores["fasttext_telecom"] >= 0.5
        assert r["kind"] == "3gpp" or scores["telecom_keywords"] > 0.02  # no relevance rule for specs

    dropped = pq.read_table(glob.glob(os.path.join(out, "dropped", "*.parquet"))).to_pylist()
    why = {os.path.basename(r["uri"]): (r["drop_rule"], r["drop_detail"]) for r in dropped}
    assert why["planted-benchmark.txt"][0] == "decontaminate.TeleQnA_sample300"
    assert f"TeleQnA_sample300:{key}" in why["planted-benchmark.txt"][1]
    # and the report names the matched benchmark items
    decon = report["decontamination"]
    assert decon["documents"] == 1 and f"TeleQnA_sample300:{key}" in decon["items"]
    assert decon["documents_matched"][0]["uri"].endswith("planted-benchmark.txt")
    assert why["garbage-text-layer.txt"][0] == "gopher_repetition.dup_lines"  # one word per line
    assert "lines repeat" in why["garbage-text-layer.txt"][1]
    for name, _ in off_topic:
        assert f"offtopic-{name}.txt" in why
