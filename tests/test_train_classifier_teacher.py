"""Teacher-LLM labels for the classifier (FineWeb-Edu recipe) against a real
OpenAI-compatible server on loopback: sampling, rubric, retries, cache, training."""
from __future__ import annotations

import json
import re

from click.testing import CliRunner
from openai_server import OpenAIServer, malformed, status
from test_train_classifier import SMALL, synthetic_corpus

from telecom_etl.cli import main
from telecom_etl.filters.teacher_labels import RUBRIC_VERSION, parse_rating, sample_chunks

TELECOM_WORDS = re.compile(r"\b(UE|gNB|PUSCH|AMF|SMF|MIMO|RRC|downlink)\b")


def rate(body: dict) -> str:
    """A stand-in teacher: reads the extract between <<< >>> and follows the rubric's spirit."""
    prompt = body["messages"][-1]["content"]
    extract = prompt.split("<<<", 1)[1].split(">>>", 1)[0]
    hits = len(TELECOM_WORDS.findall(extract))
    score = 0 if hits == 0 else (4 if hits >= 3 else 2)
    return json.dumps({"reason": f"{hits} telecom terms", "score": score})


def test_sampling_is_seeded_and_stable():
    rows = synthetic_corpus(10)
    a = sample_chunks(rows, 5, seed=3)
    assert [s.id for s in a] == [s.id for s in sample_chunks(rows, 5, seed=3)]
    assert [s.id for s in a] != [s.id for s in sample_chunks(rows, 5, seed=4)]
    assert len(sample_chunks(rows, 100)) == 10  # never more than there is


def test_parse_rating_accepts_only_integer_scores_0_to_5():
    assert parse_rating('{"reason": "spec text", "score": 5}') == (5, "spec text")
    assert parse_rating('```json\n{"score": "3", "reason": "ok"}\n```') == (3, "ok")
    assert parse_rating('{"score": 4.0}')[0] == 4
    for bad in ('{"score": 6}', '{"score": 2.5}', '{"reason": "no score"}', "five", None, '{"score": true}'):
        assert parse_rating(bad)[0] is None, bad


def test_teacher_labels_train_a_classifier_and_a_rerun_costs_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # a loopback server needs no key
    docs = tmp_path / "unlabeled.jsonl"
    docs.write_text("\n".join(json.dumps({"id": r["id"], "text": r["text"]}) for r in synthetic_corpus(24)))
    model = tmp_path / "edu" / "telecom-edu.bin"
    with OpenAIServer(responder=rate) as server:
        # the first two answers fail: a rate limit (retried) and an unparseable body (retried)
        server.queue(status(429, retry_after=0.01), malformed())
        args = ["train-classifier", "-o", str(model), "--teacher-from", str(docs), "--teacher-sample", "20",
                "--teacher-model", "labeler-test", "--teacher-base-url", server.base_url, *SMALL]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        bodies = server.chat_requests()
        assert "teacher: 20/20 chunks rated" in result.output
        card = json.loads((tmp_path / "edu" / "telecom-edu.json").read_text())
        labels = [json.loads(line) for line in (tmp_path / "edu" / "telecom-edu.labels.jsonl").read_text().splitlines()]

        # the same run again: every answer comes from the teacher cache, nothing is sent
        again = CliRunner().invoke(main, args)
        assert again.exit_code == 0, again.output
        assert len(server.chat_requests()) == len(bodies)

    assert len(bodies) == 22  # 20 ratings + 2 retried failures
    assert all(b["model"] == "labeler-test" and b["temperature"] == 0 for b in bodies)
    assert "additive" in bodies[-1]["messages"][0]["content"]
    teacher = card["notes"]["teacher"]
    assert teacher["rubric"] == RUBRIC_VERSION and teacher["rated"] == 20 and teacher["positive_min"] == 3
    assert sum(teacher["scores"].values()) == 20 and teacher["scores"]["0"] > 0 and teacher["scores"]["4"] > 0
    assert len(labels) == 20 and all({"id", "chunk", "text", "score", "reason"} <= set(r) for r in labels)
    # scores >= 3 became the positive class
    split = card["split"]
    n_pos = sum(split[p].get("telecom", 0) for p in ("train", "validation", "test"))
    assert n_pos == sum(1 for r in labels if r["score"] >= 3)
    assert card["metrics"]["test"]["n"] > 0

    # the saved labels are training data on their own
    retrain = CliRunner().invoke(main, ["train-classifier", "-o", str(tmp_path / "again.bin"), "--data",
                                        str(tmp_path / "edu" / "telecom-edu.labels.jsonl"), "--label-field",
                                        "score", "--positive-min", "3", *SMALL])
    assert retrain.exit_code == 0, retrain.output


def test_teacher_options_are_checked(tmp_path):
    docs = tmp_path / "d.jsonl"
    docs.write_text(json.dumps({"id": "a", "text": "The UE sends a preamble."}) + "\n")
    r = CliRunner().invoke(main, ["train-classifier", "-o", str(tmp_path / "m.bin"), "--teacher-from", str(docs)])
    assert r.exit_code == 2 and "--teacher-model" in r.output
