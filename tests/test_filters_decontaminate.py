"""Benchmark decontamination on the real TeleQnA sample: planted questions are found,
real specs are not flagged, and the pure index is reusable outside the pipeline."""
from __future__ import annotations

import json

import pytest
from conftest import corpus_file
from test_filters_heuristics import TELECOM_PROSE, doc, extract_specs

from telecom_etl.filters import build_filter
from telecom_etl.filters.decontaminate import BenchmarkIndex, load_benchmark, tokens


@pytest.fixture(scope="module")
def teleqna():
    path = corpus_file("qa", "TeleQnA_sample300.json")
    with open(path, encoding="utf-8") as fh:
        return path, json.load(fh)


def _pick(data, min_words, max_words, k):
    out = []
    for key, item in data.items():
        q = item["question"].split(" [3GPP")[0]
        if min_words <= len(tokens(q)) <= max_words:
            out.append((key, q))
        if len(out) == k:
            break
    return out


def test_teleqna_reader(teleqna):
    path, data = teleqna
    items = load_benchmark(path)
    assert len(items) == len(data) == 300
    first = items[0]
    assert first.id == "TeleQnA_sample300:question 0"
    assert "[3GPP Release" not in first.texts[0]  # the release tag is not item text
    with_answers = load_benchmark(path, fields=("question", "answer"))
    q0 = data["question 0"]
    assert with_answers[0].texts[1] == q0[q0["answer"].split(":")[0]]  # "option 2: ..." resolved


def test_planted_questions_are_found_and_named(teleqna):
    path, data = teleqna
    long_qs = _pick(data, 14, 40, 2)
    short_q = _pick(data, 8, 12, 1)
    planted = long_qs + short_q
    # planted with changed case, punctuation and line breaks, inside real telecom prose
    text = "\n\n".join([TELECOM_PROSE[0], long_qs[0][1].upper(), TELECOM_PROSE[1],
                        "Quiz: " + long_qs[1][1].replace(" ", "\n", 3) + " Answer below.",
                        TELECOM_PROSE[2], short_q[0][1] + "!!", TELECOM_PROSE[3]])
    f = build_filter({"name": "decontaminate", "benchmarks": [path]})
    f.setup()
    dropped = f.apply(doc(text))
    assert dropped is not None and dropped.rule == "decontaminate.TeleQnA_sample300"
    for key, _ in planted:
        assert f"TeleQnA_sample300:{key}" in dropped.detail
    assert dropped.detail.startswith("3 benchmark item(s)")
    # a fragment shorter than n words of a long question is not a match
    fragment = " ".join(long_qs[0][1].split()[:8])
    assert f.apply(doc(TELECOM_PROSE[0] + " " + fragment)) is None


def test_flag_mode_keeps_and_marks(teleqna):
    path, data = teleqna
    key, q = _pick(data, 14, 40, 1)[0]
    f = build_filter({"name": "decontaminate", "benchmarks": [path], "action": "flag"})
    d = doc(TELECOM_PROSE[0] + "\n" + q)
    assert f.apply(d) is None
    assert "benchmark_overlap" in d.flags and d.extra["benchmark_matches"] == f"TeleQnA_sample300:{key}"


def test_real_specs_are_not_flagged_by_questions(teleqna):
    """TeleQnA is written from specs; indexing questions (not answers) keeps specs clean."""
    path, _ = teleqna
    index = BenchmarkIndex.from_files([path])
    assert index.n_items == 300 and index.n_skipped_short > 0
    for d in extract_specs(["21905-h20.docx", "38211-i10.docx", "24301-d80_open5gs-excerpt.docx"]):
        assert index.matches(d.text) == [], d.uri


def test_jsonl_benchmark_and_pure_index_for_synthesis(tmp_path):
    bench = tmp_path / "my-eval.jsonl"
    rows = [{"id": "q1", "question": "Which timer controls how long the UE waits before retrying the "
                                     "registration procedure after a failure in the network?"},
            {"id": "q2", "question": "What is NR?"}]
    bench.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    index = BenchmarkIndex.build(load_benchmark(str(bench)), n=13, min_words=8)
    assert index.n_skipped_short == 1  # "What is NR?" is too generic to match on
    generated_pair = ("Q: which timer controls how long the UE waits before retrying the registration "
                      "procedure after a failure in the network? A: T3511.")
    assert index.matches(generated_pair) == ["my-eval:q1"]
    assert index.matches("What is NR? It is the 5G radio.") == []


def test_bad_parameters_are_manifest_errors(tmp_path, write_manifest):
    from telecom_etl.manifest import ManifestError, load_manifest

    (tmp_path / "t.txt").write_text("x")
    path = write_manifest(f"""
        sources: [{{name: t, kind: text, paths: [{tmp_path}/t.txt]}}]
        filters:
          profiles:
            default:
              - {{name: decontaminate, benchmarks: [{tmp_path}/missing.json]}}
    """)
    with pytest.raises(ManifestError, match="benchmark file not found"):
        load_manifest(path)
