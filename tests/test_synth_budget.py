"""synth-instructions: the run's budget holds on any runner, money needs a price, --batch falls
back, the exit status tells when the teacher failed, refusals are counted (issue 17)."""
from __future__ import annotations

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from openai_server import OpenAIServer  # noqa: E402
from test_synth_pipeline import read_rows, run_cli, shards, teacher  # noqa: E402,F401

MULTI = ["--direct_running_mode", "multi_processing", "--direct_num_workers", "2"]


def report_of(out):
    report = json.loads((out / "report.json").read_text())
    assert report["balanced"], [c for c in report["checks"] if not c["ok"]]
    return report


def test_a_request_budget_holds_across_two_worker_processes_and_is_the_same_every_run(shards, tmp_path):
    counts, admitted = [], []
    for run in range(2):
        out = tmp_path / f"out{run}"
        with OpenAIServer(responder=teacher) as server:
            result = run_cli("-i", shards, "-o", str(out), "--base-url", server.base_url, "--model", "gpt-4o-mini",
                             "--max-requests", "3", "--cache-dir", str(tmp_path / f"cache{run}"), *MULTI)
            assert result.exit_code == 0, result.output
            counts.append(len(server.chat_requests()))  # the server's own log
        report = report_of(out)
        spend = report["budget"]
        assert spend["with_requests"] > 3 and spend["requests"] <= 3  # more was wanted than the budget allows
        assert spend["actual"]["requests"] == counts[-1]
        assert report["stages"]["budget"]["dropped_by_rule"]["budget_exceeded"] == spend["refused"] > 0
        assert "budget: " in result.output
        admitted.append(sorted({r["request_key"] for r in read_rows(out / "sft")
                                if r["task"] in ("open_qa", "mcq", "code_summarise")}))
    assert counts[0] <= 3 and counts[0] == counts[1]
    assert admitted[0] == admitted[1]  # the same items were bought both times


def test_a_money_budget_for_a_model_without_a_price_is_refused_before_any_request(shards, tmp_path):
    with OpenAIServer(responder=teacher) as server:
        result = run_cli("-i", shards, "-o", str(tmp_path / "out"), "--base-url", server.base_url,
                         "--model", "my-proxy-alias", "--max-cost", "0.000001")
        assert server.requests == []
    assert result.exit_code == 2
    line = result.output.strip().splitlines()[-1]
    assert "my-proxy-alias" in line and "--price my-proxy-alias=IN,OUT" in line and "prices:" in line
    # with a price given on the command line the same budget runs, and spends within it
    with OpenAIServer(responder=teacher) as server:
        result = run_cli("-i", shards, "-o", str(tmp_path / "out2"), "--base-url", server.base_url,
                         "--model", "my-proxy-alias", "--max-cost", "0.004", "--price", "my-proxy-alias=0.5,2")
        assert result.exit_code == 0, result.output
        sent = len(server.chat_requests())
    spend = report_of(tmp_path / "out2")["budget"]
    assert 0 < sent == spend["actual"]["requests"] and spend["refused"] > 0 and spend["cost_usd"] <= 0.004
    assert spend["actual"]["cost_usd"] <= 0.004


def test_a_token_budget_needs_no_price(shards, tmp_path):
    with OpenAIServer(responder=teacher) as server:
        result = run_cli("-i", shards, "-o", str(tmp_path / "out"), "--base-url", server.base_url,
                         "--model", "vllm-model", "--max-total-tokens", "3000")
        assert result.exit_code == 0, result.output
    spend = report_of(tmp_path / "out")["budget"]
    assert 0 < spend["tokens"] <= 3000 and spend["actual"]["tokens"] <= spend["tokens"]


def test_batch_without_a_batch_api_runs_online_and_batch_only_stops(shards, tmp_path):
    with OpenAIServer(responder=teacher, batch_api=False) as server:
        result = run_cli("-i", shards, "-o", str(tmp_path / "out"), "--base-url", server.base_url,
                         "--model", "gpt-4o-mini", "--batch", "--batch-poll", "0.001")
        assert result.exit_code == 0, result.output
        online = len(server.chat_requests())
    assert online > 0 and "no Batch API" in result.output and "running online" in result.output
    report = report_of(tmp_path / "out")
    assert "no Batch API" in report["batch_fallback"] and report["usage"]["total"]["sent"] == online
    with OpenAIServer(responder=teacher, batch_api=False) as server:
        result = run_cli("-i", shards, "-o", str(tmp_path / "out2"), "--base-url", server.base_url,
                         "--model", "gpt-4o-mini", "--batch-only")
        assert server.chat_requests() == []
    assert result.exit_code == 2 and "--batch-only: nothing was sent" in result.output.strip().splitlines()[-1]


def test_exit_status_is_non_zero_when_every_teacher_request_failed(shards, tmp_path, monkeypatch):
    from openai_server import status

    with OpenAIServer(responder=lambda body: status(401, message="invalid key")) as server:
        result = run_cli("-i", shards, "-o", str(tmp_path / "out"), "--base-url", server.base_url,
                         "--model", "gpt-4o-mini")
        sent = len(server.chat_requests())
    assert result.exit_code == 1
    assert f"every teacher request failed ({sent} of {sent}: auth x{sent})" in result.output
    report = report_of(tmp_path / "out")  # the run still wrote its outputs and balanced report
    assert report["usage"]["total"]["failed_by_kind"] == {"auth": sent}


def test_more_failures_than_the_allowed_rate_exit_non_zero(shards, tmp_path):
    from openai_server import status

    def half(body):
        return status(500) if "Pilot Assignment" in json.dumps(body) else teacher(body)

    with OpenAIServer(responder=half) as server:
        base = ["-i", shards, "--base-url", server.base_url, "--model", "gpt-4o-mini", "--max-retries", "0"]
        strict = run_cli(*base, "-o", str(tmp_path / "out"), "--max-failure-rate", "0.01")
        lenient = run_cli(*base, "-o", str(tmp_path / "out2"), "--max-failure-rate", "0.99")
    assert strict.exit_code == 1 and "> --max-failure-rate 0.01" in strict.output
    assert lenient.exit_code == 0, lenient.output


def test_a_plain_text_refusal_is_counted_as_a_refusal(shards, tmp_path):
    def refuse(body):
        return "I'm sorry, but I can't help with that request." if "Pilot Assignment" in json.dumps(body) \
            else teacher(body)

    with OpenAIServer(responder=refuse) as server:
        result = run_cli("-i", shards, "-o", str(tmp_path / "out"), "--base-url", server.base_url,
                         "--model", "gpt-4o-mini", "--max-failure-rate", "1")
        assert result.exit_code == 0, result.output
    report = report_of(tmp_path / "out")
    rejected = {k: v for t in report["tasks"].values() for k, v in t["rejected_answers"].items()}
    assert rejected.get("refusal", 0) > 0 and "parse_failed" not in rejected


def test_concurrency_holds_when_every_answer_is_a_slow_failure(shards, tmp_path):
    """Issue 17 item 8: requests stay in flight together however slow and failing the endpoint is
    (Beam's adaptive batching used to shrink the teacher's batches to 1-2 items)."""
    from openai_server import slow, status

    with OpenAIServer(responder=lambda body: slow(0.3, status(500))) as server:
        result = run_cli("-i", shards, "-o", str(tmp_path / "out"), "--base-url", server.base_url,
                         "--model", "gpt-4o-mini", "--max-retries", "1", "--concurrency", "8")
        assert result.exit_code == 1  # everything failed
        peak, sent = server.max_in_flight, len(server.chat_requests())
    assert sent >= 8 and peak >= 5, (peak, sent)
