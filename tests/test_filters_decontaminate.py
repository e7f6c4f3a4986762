"""Benchmark decontamination on the real TeleQnA sample: planted questions are found,
real specs are not flagged, and the pure index is reusable outside the pipeline."""
from __future__ import annotations

import json
import re

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
    f = build_filter({"name": "decontaminate", "benchmarks": [path], "action": "drop"})
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
    """TeleQnA is written from specs; indexing questions (not answers), short ones as whole
    sentences only, keeps specs clean."""
    path, _ = teleqna
    index = BenchmarkIndex.from_files([path])
    assert index.n_items == 300 and index.n_short > 0  # short questions are matched too
    for d in extract_specs(["21905-h20.docx", "38211-i10.docx", "24301-d80_open5gs-excerpt.docx"]):
        assert index.matches(d.text) == [], d.uri


def test_jsonl_benchmark_and_pure_index_for_synthesis(tmp_path):
    bench = tmp_path / "my-eval.jsonl"
    rows = [{"id": "q1", "question": "Which timer controls how long the UE waits before retrying the "
                                     "registration procedure after a failure in the network?"},
            {"id": "q2", "question": "What is NR?"}, {"id": "q3", "question": "Why?"}]
    bench.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    index = BenchmarkIndex.build(load_benchmark(str(bench)), n=13, min_words=8)
    assert (index.n_short, index.n_skipped_short) == (1, 1)  # "Why?" is too short to mean anything
    generated_pair = ("Q: which timer controls how long the UE waits before retrying the registration "
                      "procedure after a failure in the network? A: T3511.")
    assert index.matches(generated_pair) == ["my-eval:q1"]
    # a short question matches as a sentence of its own, not as words inside running text
    assert index.matches("What is NR? It is the 5G radio.") == ["my-eval:q2"]
    assert index.matches("Q2: what is NR\nA: the 5G radio") == ["my-eval:q2"]
    assert index.matches("The UE knows what is NR cell selection.") == []
    assert index.matches("We ask what is NR? and answer") == []


def test_short_teleqna_questions_are_caught_as_sentences(teleqna):
    """Every question of the sample, short ones included, is found planted in prose."""
    path, data = teleqna
    index = BenchmarkIndex.from_files([path])
    assert index.n_short > 40 and index.n_skipped_short == 0
    missed = []
    for key, item in data.items():
        text = f"{TELECOM_PROSE[0]} {item['question']} {TELECOM_PROSE[1]}"
        if f"TeleQnA_sample300:{key}" not in index.matches(text):
            missed.append(item["question"])
    assert missed == []


def _manifest_with_benchmark(write_manifest, tmp_path, bench):
    (tmp_path / "t.txt").write_text("x")
    return write_manifest(f"""
        sources: [{{name: t, kind: text, paths: [{tmp_path}/t.txt]}}]
        filters:
          profiles:
            default:
              - {{name: decontaminate, benchmarks: [{bench}]}}
    """)


def test_bad_parameters_are_manifest_errors(tmp_path, write_manifest):
    from telecom_etl.manifest import ManifestError, load_manifest

    path = _manifest_with_benchmark(write_manifest, tmp_path, tmp_path / "missing.json")
    with pytest.raises(ManifestError, match="benchmark file not found"):
        load_manifest(path)


def _sentence_starts(text, k):
    """Positions just after a ". " inside prose lines (not tables, not headings), spread over the text."""
    import re

    spots = [m.end() for m in re.finditer(r"(?<=[a-z])\. (?=[A-Z])", text)
             if not text[text.rfind("\n", 0, m.start()) + 1:].startswith(("|", "#"))]
    assert len(spots) >= k
    return [spots[i * len(spots) // k] for i in range(k)]


def test_spec_with_planted_questions_is_kept_and_only_those_sentences_go(teleqna):
    """A real spec with three planted questions (a long one, a mid-length one, a short one) is kept;
    exactly the planted sentences and one table row are removed; everything else is byte-identical."""
    path, data = teleqna
    spec = extract_specs(["23503-i40.docx"])[0]
    original = spec.text
    questions = [_pick(data, 14, 40, 1)[0], _pick(data, 8, 12, 1)[0], _pick(data, 3, 6, 1)[0]]
    text = original
    for (_, q), at in sorted(zip(questions, _sentence_starts(original, 3)), key=lambda p: -p[1]):
        text = text[:at] + q + "? " + text[at:] if not q.endswith("?") else text[:at] + q + " " + text[at:]
    row = f"| {questions[0][1]} | 5 |\n"
    table_at = text.index("\n|") + 1
    text = text[:table_at] + row + text[table_at:]
    assert len(text) > 100_000
    d = doc(text, kind="3gpp")
    f = build_filter({"name": "decontaminate", "benchmarks": [path]})  # default: redact long records
    assert f.apply(d) is None, "a spec with a few benchmark questions is kept"
    assert d.text == original  # only the planted sentences and the row went, the rest byte-identical
    assert d.extra["benchmark_matches"] == ",".join(sorted(f"TeleQnA_sample300:{k}" for k, _ in questions))
    spans = [tuple(map(int, s.split("-"))) for s in d.extra["benchmark_redacted"].split(",")]
    assert len(spans) == 4 and sum(b - a for a, b in spans) == int(d.extra["benchmark_redacted_chars"])
    assert [text[a:b] for a, b in spans if text[a] == "|"] == [row]
    assert "benchmark_redacted" in d.flags


def test_short_record_is_dropped_and_large_overlap_is_dropped(teleqna):
    path, data = teleqna
    key, q = _pick(data, 14, 40, 1)[0]
    f = build_filter({"name": "decontaminate", "benchmarks": [path], "drop_below_chars": 500})
    dropped = f.apply(doc(TELECOM_PROSE[0] + " " + q))
    assert dropped is not None and "drop_below_chars 500" in dropped.detail
    long_text = (q + "\n") * 20 + TELECOM_PROSE[0]
    dropped = f.apply(doc(long_text))
    assert dropped is not None and "max_redacted_share" in dropped.detail


ORAN_ROWS = [
    ["Which O-RAN interface connects the Near-RT RIC to the E2 nodes for control and monitoring of the RAN?",
     ["1. A1", "2. E2", "3. O1", "4. Open Fronthaul"], "2"],
    ["What is an xApp?", ["1. A Near-RT RIC application", "2. A UE", "3. A cell", "4. A beam"], "1"],
]


@pytest.mark.parametrize("name,body", [
    ("oran.json", "\r\n".join(json.dumps(r) for r in ORAN_ROWS) + "\r\n"),  # ORAN-Bench: JSONL arrays, CRLF
    ("oran-list.json", "\ufeff" + json.dumps(ORAN_ROWS)),  # a JSON list of arrays with a BOM
    ("objects.json", json.dumps([{"id": "q0", "question": ORAN_ROWS[0][0], "answer": "E2"},  # a JSON list of
                                 {"id": "q1", "question": ORAN_ROWS[1][0]}])),  # objects
    ("bench.csv", "id,question,answer\r\nq0,\"" + ORAN_ROWS[0][0] + "\",E2\r\nq1," + ORAN_ROWS[1][0] + ",xApp\r\n"),
    ("bench.tsv", "\ufeffquestion\tanswer\n" + ORAN_ROWS[0][0] + "\tE2\n" + ORAN_ROWS[1][0] + "\tx\n"),
    ("questions.txt", "\ufeff" + ORAN_ROWS[0][0] + "\r\n\r\n" + ORAN_ROWS[1][0] + "\r\n"),
])
def test_benchmark_formats(tmp_path, name, body):
    path = tmp_path / name
    path.write_bytes(body.encode("utf-8"))
    items = load_benchmark(str(path))
    assert [i.texts[0] for i in items] == [ORAN_ROWS[0][0], ORAN_ROWS[1][0]]
    if name == "objects.json":
        assert [i.id for i in items] == ["objects:q0", "objects:q1"]
    index = BenchmarkIndex.build(items)
    text = f"{TELECOM_PROSE[0]} {ORAN_ROWS[0][0]} {TELECOM_PROSE[1]}\nWhat is an xApp?\n{TELECOM_PROSE[2]}"
    assert len(index.matches(text)) == 2


def test_oran_answers_resolve_to_the_numbered_option(tmp_path):
    path = tmp_path / "oran.json"
    path.write_text("\n".join(json.dumps(r) for r in ORAN_ROWS))
    items = load_benchmark(str(path), fields=("question", "answer"))
    assert [i.texts[1] for i in items] == ["E2", "A Near-RT RIC application"]


@pytest.mark.parametrize("name,body,message", [
    ("broken.json", '{"question 0": {"question": "What is', "broken.json:1: not JSON or JSON Lines"),
    ("rows.jsonl", '{"question": "a b c d"}\n{"question": oops}\n', "rows.jsonl:2: not JSON Lines"),
    ("numbers.json", "[1, 2, 3]", "item 0 is a int, not a question"),
    ("noq.csv", "id,prompt\n1,What is it?\n", "noq.csv:1: no 'question' column (columns: id, prompt)"),
    ("blob.bin", "\x00\x01\x02 binary", "unrecognised benchmark format"),
    ("latin1.txt", None, "not UTF-8 text"),
    ("empty.jsonl", "\r\n", "empty benchmark file"),
])
def test_unreadable_benchmark_is_one_manifest_line_and_check_fails(tmp_path, write_manifest, name, body, message):
    from click.testing import CliRunner

    from telecom_etl.cli import main
    from telecom_etl.manifest import ManifestError, load_manifest

    bench = tmp_path / name
    bench.write_bytes(body.encode("utf-8") if body is not None else "Qu'est-ce qu'un r\xe9seau ?".encode("latin-1"))
    path = _manifest_with_benchmark(write_manifest, tmp_path, bench)
    with pytest.raises(ManifestError, match=re.escape(message)) as err:
        load_manifest(path)
    assert "\n" not in str(err.value) and ":6: filters.profiles.default[0]: decontaminate: " in str(err.value)
    result = CliRunner().invoke(main, ["build-pretrain", "--check", "-m", path])
    assert result.exit_code == 2 and "OK" not in result.output
