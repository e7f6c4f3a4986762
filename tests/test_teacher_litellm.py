"""The teacher and both synth commands against a real third-party gateway: LiteLLM's proxy on
loopback (see tests/litellm_proxy.py), with the project's loopback server as its upstream so
the upstream's log counts every request that went through (issue 17)."""
from __future__ import annotations

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from litellm_proxy import LiteLLMProxy, litellm_binary  # noqa: E402
from openai_server import OpenAIServer  # noqa: E402
from test_preferences_pipeline import ROWS, write_sft  # noqa: E402
from test_preferences_pipeline import responder as preference_responder  # noqa: E402
from test_synth_pipeline import run_cli, shards, teacher  # noqa: E402,F401

pytestmark = pytest.mark.skipif(litellm_binary() is None, reason="litellm[proxy] is not installed "
                                "(bash scripts/setup.sh puts it in .venv-litellm)")

MODELS = {"gw-teacher": {"upstream": "gpt-4o-mini"}, "gw-window": {"rpm": 2, "upstream": "gpt-4o-mini"},
          "teacher-m": {}, "student-m": {}, "judge-m": {}}


def upstream(body):
    if body["model"] in ("teacher-m", "student-m", "judge-m"):
        return preference_responder(body)
    return teacher(body)


@pytest.fixture(scope="module")
def gateway():
    with OpenAIServer(responder=upstream) as server:
        with LiteLLMProxy(MODELS, server.base_url) as proxy:
            os.environ[proxy.key_env] = proxy.key
            try:
                yield proxy, server
            finally:
                os.environ.pop(proxy.key_env, None)


def forwarded(server, model: str) -> int:
    return sum(1 for b in server.chat_requests() if b["model"] == model)


def test_a_one_minute_window_is_outlasted_with_no_request_lost(gateway, tmp_path):
    """rpm=2: the third request gets LiteLLM's 429 with llm_provider-retry-after: 60; the
    client waits as told (the whole teacher pauses) and loses nothing. Three requests: one
    window's wait (each refused attempt also counts in LiteLLM's next minute, so a fourth
    request would cost a second window and no more proof)."""
    from telecom_etl.synth.teacher import ChatRequest, Teacher, TeacherConfig

    proxy, server = gateway
    before = forwarded(server, "gpt-4o-mini")
    cfg = TeacherConfig(model="gw-window", base_url=proxy.base_url, api_key_env=proxy.key_env, max_retries=0,
                        concurrency=4, cache_dir=str(tmp_path / "cache"), timeout=30)
    requests = [ChatRequest(messages=[{"role": "user", "content": f"window question {i}"}], task="qa")
                for i in range(3)]
    with Teacher(cfg) as teacher_client:
        results = teacher_client.complete_many(requests)
        pauses, waited = teacher_client.gate.pauses, teacher_client.gate.waited
    assert all(r.ok for r in results), [r.error_detail for r in results if not r.ok]
    assert forwarded(server, "gpt-4o-mini") - before == 3  # each answered once, none lost
    assert pauses >= 1 and waited >= 30  # LiteLLM asked for its window (60 s), not our backoff
    assert max(r.attempts for r in results) >= 2


def test_a_request_budget_holds_through_the_gateway_with_two_workers(gateway, shards, tmp_path):
    proxy, server = gateway
    before = forwarded(server, "gpt-4o-mini")
    result = run_cli("-i", shards, "-o", str(tmp_path / "out"), "--base-url", proxy.base_url, "--model", "gw-teacher",
                     "--api-key-env", proxy.key_env, "--max-requests", "3",
                     "--direct_running_mode", "multi_processing", "--direct_num_workers", "2")
    assert result.exit_code == 0, result.output
    sent = forwarded(server, "gpt-4o-mini") - before
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert 0 < sent <= 3 and report["budget"]["actual"]["requests"] == sent and report["budget"]["refused"] > 0
    assert proxy.key not in (tmp_path / "out" / "report.json").read_text()


def test_a_money_budget_for_a_gateway_alias_without_a_price_is_refused_before_any_request(gateway, shards, tmp_path):
    proxy, server = gateway
    before = len(server.chat_requests())
    result = run_cli("-i", shards, "-o", str(tmp_path / "out"), "--base-url", proxy.base_url, "--model", "gw-teacher",
                     "--api-key-env", proxy.key_env, "--max-cost", "0.000001")
    assert result.exit_code == 2 and "'gw-teacher'" in result.output and "--price gw-teacher=IN,OUT" in result.output
    assert len(server.chat_requests()) == before


def test_batch_against_the_gateway_falls_back_to_online(gateway, shards, tmp_path):
    proxy, server = gateway
    before = forwarded(server, "gpt-4o-mini")
    result = run_cli("-i", shards, "-o", str(tmp_path / "out"), "--base-url", proxy.base_url, "--model", "gw-teacher",
                     "--api-key-env", proxy.key_env, "--batch", "--tasks", "code_summarise")
    assert result.exit_code == 0, result.output
    assert "no Batch API" in result.output and "running online instead of --batch" in result.output
    assert forwarded(server, "gpt-4o-mini") > before and server.batches == {}


def test_preference_accounting_matches_what_went_through_the_gateway(gateway, tmp_path):
    proxy, server = gateway
    sft = tmp_path / "sft_out"
    write_sft(str(sft / "sft"), ROWS)
    before = {m: forwarded(server, m) for m in ("teacher-m", "student-m", "judge-m")}
    from click.testing import CliRunner

    from telecom_etl.cli import main

    result = CliRunner().invoke(main, [
        "synth-preferences", "--input", str(sft), "--output", str(tmp_path / "out"), "--base-url", proxy.base_url,
        "--api-key-env", proxy.key_env, "--candidate", "model=teacher-m,temperature=0.2,name=teacher",
        "--candidate", "model=student-m,temperature=1.0,name=student", "-k", "2", "--judge-model", "judge-m",
        "--no-progress"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    usage = report["usage"]["by_teacher"]
    for name, model in (("teacher", "teacher-m"), ("student", "student-m"), ("judge", "judge-m")):
        assert usage[name]["attempts"] == forwarded(server, model) - before[model] > 0, name
    assert report["preference"]["pairs"] > 0
