"""synth-preferences under endpoint faults: failing models, budgets, truncation, judge errors, workers."""
from __future__ import annotations

import json
import os
import sys

import pyarrow.parquet as pq
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from openai_server import OpenAIServer, status, truncated  # noqa: E402
from test_preferences_pipeline import (ANSWERS, BAD_ROW, MCQ_Q, QA_Q, ROWS, responder, run_cli,  # noqa: E402
                                       shard_bytes, write_sft)

pytestmark = pytest.mark.faults


@pytest.fixture
def sft_dir(tmp_path):
    root = tmp_path / "sft_out"
    write_sft(str(root / "sft"), ROWS + [BAD_ROW])
    return root


def load(out):
    report = json.loads((out / "report.json").read_text())
    assert report["balanced"], [c for c in report["checks"] if not c["ok"]]
    return report


def by_model(server) -> dict:
    """Chat requests the server received, per model (its own log)."""
    out: dict = {}
    for body in server.chat_requests():
        out[body["model"]] = out.get(body["model"], 0) + 1
    return out


def test_a_dead_student_leaves_single_candidates_and_every_request_is_counted(tmp_path, sft_dir):
    def student_down(body):
        if body["model"] == "student-m":
            return status(500, message="student overloaded")
        if body["model"] == "teacher-m" and "SDAP" in body["messages"][-1]["content"]:
            return status(503)
        return responder(body)

    with OpenAIServer(responder=student_down) as server:
        out = tmp_path / "out"
        result = run_cli(server, sft_dir, out, "--max-retries", "0", "--max-failure-rate", "1")
        assert result.exit_code == 0, result.output
        log = by_model(server)
    report = load(out)
    select = report["stages"]["select"]
    # the prompt without any answer flows on with its calls and is dropped by a named rule
    assert select["kept"] == 0 and select["dropped_by_rule"] == {"single_candidate": 7, "no_candidates": 1}
    assert report["stages"]["generate"]["failed"] == 0
    dropped = {d["drop_rule"]: d for d in pq.read_table(out / "dropped").to_pylist()}
    assert "server_error x2" in dropped["no_candidates"]["drop_detail"]
    usage = report["usage"]["by_teacher"]
    # issue 17 item 5: the accounting matches the server's log, also for the prompt that got nothing
    assert usage["student"]["failed_by_kind"] == {"server_error": 8} and usage["student"]["ok"] == 0
    assert usage["teacher"]["failed_by_kind"] == {"server_error": 1} and usage["teacher"]["ok"] == 7
    assert {"student-m": usage["student"]["attempts"], "teacher-m": usage["teacher"]["attempts"],
            "judge-m": usage["judge"]["attempts"]} == log
    assert usage["student"]["cost_usd"] == 0


def test_everything_failing_exits_non_zero_with_one_line(tmp_path, sft_dir):
    with OpenAIServer(responder=lambda body: status(429, retry_after=0.001)) as server:
        out = tmp_path / "out"
        result = run_cli(server, sft_dir, out, "--max-retries", "0")
        sent = sum(by_model(server).values())
    assert result.exit_code == 1
    report = load(out)
    total = report["usage"]["total"]
    assert total["failed"] == total["requests"] > 0 and total["attempts"] == sent
    assert result.output.strip().splitlines()[-1].startswith(
        f"telecom-etl: error: every teacher request failed ({total['failed']} of {total['failed']}: rate_limited")


@pytest.mark.parametrize("workers", [1, 2])
def test_the_run_budget_holds_on_any_number_of_workers(tmp_path, sft_dir, workers):
    multi = ["--direct_running_mode", "multi_processing", "--direct_num_workers", "2"] if workers > 1 else []
    with OpenAIServer(responder=responder) as server:
        out = tmp_path / "out"
        result = run_cli(server, sft_dir, out, "--max-requests", "13", *multi)
        assert result.exit_code == 0, result.output
        sent = sum(by_model(server).values())
    report = load(out)
    spend = report["budget"]
    # 8 prompts, each at most 2 candidates + 2 judge calls + 2 judge retries: 2 admitted
    assert spend["units"] == 8 and spend["admitted"] == 2 and spend["requests"] == 12
    assert report["stages"]["budget"]["dropped_by_rule"] == {"budget_exceeded": 6}
    assert 0 < sent <= 12 and spend["actual"]["requests"] == sent
    assert report["stages"]["generate"]["in"] == 2


def test_truncated_correct_answers_are_not_chosen_and_judge_errors_are_counted(tmp_path, sft_dir):
    def faults(body):
        prompt = body["messages"][-1]["content"]
        if body["model"] == "teacher-m" and prompt == MCQ_Q:
            return truncated("The correct answer is E) SC")
        if body["model"] == "judge-m" and ANSWERS["student-m"][QA_Q] in body["messages"][1]["content"]:
            return status(400, message="context too long")
        return responder(body)

    with OpenAIServer(responder=faults) as server:
        out = tmp_path / "out"
        assert run_cli(server, sft_dir, out).exit_code == 0
    report = load(out)
    tasks = report["preference"]["per_task"]
    assert tasks["mcq"]["pairs"] == 0 and tasks["mcq"]["dropped_by_rule"] == {"all_bad": 2}
    assert tasks["clause_qa"]["dropped_by_rule"] == {"judge_failed": 1, "judge_parse_failure": 1, "tie": 1}
    assert report["preference"]["judge_calls"]["failed_by_kind"] == {"bad_request": 1, "judge_parse_failure": 2}
    dropped = {d["sft_id"]: d for d in pq.read_table(out / "dropped").to_pylist()}
    mcq = dropped["sft-001"]["candidates"]
    assert [(c["model"], c["finish_reason"], c["verdict"]) for c in mcq] == [
        ("teacher-m", "length", "correct"), ("student-m", "stop", "wrong")]  # right but cut: never chosen


def test_several_workers_write_the_same_bytes(tmp_path, sft_dir):
    with OpenAIServer(responder=responder) as server:
        one = tmp_path / "one"
        assert run_cli(server, sft_dir, one).exit_code == 0
        two = tmp_path / "two"
        result = run_cli(server, sft_dir, two, "--cache-dir", str(one / "_cache" / "teacher"),
                         "--direct_running_mode", "multi_processing", "--direct_num_workers", "2")
        assert result.exit_code == 0, result.output
    assert shard_bytes(one) == shard_bytes(two)
    assert load(two)["totals"]["cached"] == load(one)["totals"]["requests"]


def test_unreadable_and_foreign_shards_are_rejected_whole_and_sharegpt_shards_are_read(tmp_path):
    import pyarrow as pa

    root = tmp_path / "in"
    write_sft(str(root), ROWS[4:5], "a-sft.parquet")
    pq.write_table(pa.table({"text": ["a pre-training document"]}), root / "b-pretrain.parquet")
    (root / "c-broken.parquet").write_bytes(b"PAR1 not really")
    sharegpt = {"id": "sg-1", "task": "clause_qa", "conversations": [
        {"from": "system", "value": "You are a telecom standards expert."}, {"from": "human", "value": QA_Q},
        {"from": "gpt", "value": "The AMF registers the UE."}]}
    write_sft(str(root), [sharegpt], "d-sharegpt.parquet")
    with OpenAIServer(responder=responder) as server:
        out = tmp_path / "out"
        assert run_cli(server, root, out).exit_code == 0
    report = load(out)
    assert report["stages"]["read"]["failed"] == 2 and report["stages"]["read_records"]["kept"] == 2
    errors = sorted(r["error"] for r in pq.read_table(out / "rejects").to_pylist())
    assert errors[0].startswith("not a readable Parquet file") and errors[1].startswith("not an SFT shard")
    assert sorted(r["sft_id"] for r in pq.read_table(out / "preference").to_pylist()) == ["sft-005", "sg-1"]


def test_a_rerun_removes_shards_and_temporary_files_of_an_earlier_run(tmp_path, sft_dir):
    out = tmp_path / "out"
    (out / "preference").mkdir(parents=True)
    (out / "preference" / "part-00003-of-00004.parquet").write_bytes(b"old shard")
    (out / "preference" / ".tmp-killed").write_bytes(b"half")
    with OpenAIServer(responder=responder) as server:
        assert run_cli(server, sft_dir, out).exit_code == 0
    assert sorted(os.listdir(out / "preference")) == ["part-00000-of-00001.parquet"]
    assert load(out)["balanced"]


def test_concurrency_holds_across_prompts_when_the_endpoint_is_slow(tmp_path, sft_dir):
    """Several prompts' candidate requests are in flight together (one prompt has only k=2)."""
    from openai_server import slow

    with OpenAIServer(responder=lambda body: slow(0.3, status(500))) as server:
        result = run_cli(server, sft_dir, tmp_path / "out", "--max-retries", "0", "--concurrency", "8")
        assert result.exit_code == 1
        peak = server.max_in_flight
    assert peak >= 5, peak
