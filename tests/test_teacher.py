"""The shared teacher client against a real OpenAI-compatible server on loopback."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from openai_server import OpenAIServer, answer, cut_body, hang, malformed, reset, slow, status, truncated
from telecom_etl.synth.cache import RequestCache
from telecom_etl.synth.teacher import (ChatRequest, Teacher, TeacherConfig, TeacherError, extract_json,
                                       load_teachers, price_for)


def ask(text: str, task: str = "qa", **kw) -> ChatRequest:
    return ChatRequest(messages=[{"role": "user", "content": text}], task=task, prompt_version="qa/1", **kw)


def config(server, tmp_path, **kw) -> TeacherConfig:
    values = dict(model="gpt-4o-mini", base_url=server.base_url, cache_dir=str(tmp_path / "cache"),
                  retry_base_delay=0.001, retry_max_delay=0.01, timeout=5, max_retries=2, concurrency=4)
    values.update(kw)
    return TeacherConfig(**values)


@pytest.fixture
def server():
    with OpenAIServer() as srv:
        yield srv


def test_answers_come_back_in_order_and_a_rerun_sends_nothing(server, tmp_path):
    requests = [ask(f"question {i}") for i in range(30)]
    with Teacher(config(server, tmp_path)) as teacher:
        first = teacher.complete_many(requests)
    assert [r.content for r in first] == [f"ok: question {i}" for i in range(30)]
    assert all(r.ok and not r.cached and r.finish_reason == "stop" for r in first)
    assert len(server.chat_requests()) == 30
    with Teacher(config(server, tmp_path)) as teacher:
        again = teacher.complete_many(requests)
        usage = teacher.usage.to_dict()
    assert len(server.chat_requests()) == 30  # nothing new was sent
    assert [r.content for r in again] == [r.content for r in first]
    assert all(r.cached for r in again)
    assert usage["total"]["cached"] == 30 and usage["total"]["cost_usd"] == 0
    assert usage["total"]["cached_cost_usd"] == pytest.approx(sum(r.cost for r in first))


def test_rate_limit_429_is_retried_after_the_servers_retry_after(server, tmp_path):
    server.when("slow down", status(429, retry_after=0.3), answer("now ok"))
    server.when("ms header", status(429, retry_after_ms=200), answer("ms ok"))
    with Teacher(config(server, tmp_path)) as teacher:
        a, b = teacher.complete_many([ask("slow down"), ask("ms header")])
    assert (a.content, a.attempts, b.content, b.attempts) == ("now ok", 2, "ms ok", 2)
    for needle, wait in (("slow down", 0.3), ("ms header", 0.2)):
        times = [r.at for r in server.requests if r.key and needle in json.dumps(r.body)]
        assert len(times) == 2 and times[1] - times[0] >= wait  # the backoff alone is <= 10 ms here


def test_persistent_server_errors_become_counted_failures_not_crashes(server, tmp_path):
    server.when("always broken", status(500))
    with Teacher(config(server, tmp_path, max_retries=3)) as teacher:
        results = teacher.complete_many([ask("always broken"), ask("fine")])
        usage = teacher.usage.to_dict()
    bad, good = results
    assert bad.error == "server_error" and bad.attempts == 4 and "HTTP 500" in bad.error_detail
    assert good.ok
    assert sum(1 for b in server.chat_requests() if "always broken" in json.dumps(b)) == 4
    assert usage["total"]["failed_by_kind"] == {"server_error": 1}
    assert bad.key not in RequestCache(str(tmp_path / "cache"))  # failures are not cached: a re-run retries


def test_timeouts_malformed_json_resets_and_cut_bodies_are_failure_kinds(server, tmp_path):
    server.when("too slow", slow(10))
    server.when("garbage", malformed())
    server.when("reset", reset())
    server.when("cut", cut_body())
    with Teacher(config(server, tmp_path, timeout=0.3, max_retries=1)) as teacher:
        results = teacher.complete_many([ask("too slow"), ask("garbage"), ask("reset"), ask("cut"), ask("fine")])
    assert [r.error for r in results] == ["timeout", "malformed_response", "connection", "connection", None]
    assert all(r.attempts == 2 for r in results[:4])
    assert results[4].content == "ok: fine"


def test_a_429_storm_then_recovery_loses_nothing(server, tmp_path):
    server.queue(*[status(429, retry_after_ms=5)] * 6, *[status(503)] * 4)
    with Teacher(config(server, tmp_path, max_retries=6, concurrency=8)) as teacher:
        results = teacher.complete_many([ask(f"q{i}") for i in range(20)])
    assert all(r.ok for r in results)
    assert len(server.answered_keys()) == 20 == len(set(server.answered_keys()))


def test_truncated_answers_are_kept_marked_and_cached(server, tmp_path):
    server.when("long", truncated("The first half of"))
    with Teacher(config(server, tmp_path)) as teacher:
        (result,) = teacher.complete_many([ask("long")])
        assert result.ok and result.truncated and result.content == "The first half of"
        assert teacher.usage.to_dict()["total"]["truncated"] == 1
    with Teacher(config(server, tmp_path)) as teacher:
        again = teacher.complete(ask("long"))
    assert again.cached and again.finish_reason == "length"


def test_identical_requests_in_one_call_are_sent_once(server, tmp_path):
    with Teacher(config(server, tmp_path, cache_dir=None)) as teacher:
        results = teacher.complete_many([ask("same")] * 5)
    assert len(server.chat_requests()) == 1
    assert [r.content for r in results] == ["ok: same"] * 5
    assert sum(not r.cached for r in results) == 1


def test_request_budget_stops_sending_and_counts_budget_exceeded(server, tmp_path):
    with Teacher(config(server, tmp_path, max_requests=3, concurrency=1)) as teacher:
        results = teacher.complete_many([ask(f"q{i}") for i in range(5)])
        usage = teacher.usage.to_dict()
    assert [r.error for r in results] == [None, None, None, "budget_exceeded", "budget_exceeded"]
    assert len(server.chat_requests()) == 3
    assert usage["total"]["failed_by_kind"] == {"budget_exceeded": 2}
    # cached answers are free: a new teacher with the same budget answers all 3 and buys 2 more... up to 3
    with Teacher(config(server, tmp_path, max_requests=3, concurrency=1)) as teacher:
        results = teacher.complete_many([ask(f"q{i}") for i in range(5)])
    assert all(r.ok for r in results) and len(server.chat_requests()) == 5


def test_cost_budget_and_price_table_override(server, tmp_path):
    prices = {"my-local-model": {"input": 1000.0, "output": 1000.0}}  # USD per 1M tokens
    cfg = config(server, tmp_path, model="my-local-model", prices=prices, max_cost=0.5, concurrency=1,
                 params={"max_tokens": 100})
    with Teacher(cfg) as teacher:
        results = teacher.complete_many([ask("x" * 400 + str(i)) for i in range(10)])
    ok = [r for r in results if r.ok]
    assert 0 < len(ok) < 10 and all(r.error == "budget_exceeded" for r in results if not r.ok)
    assert sum(r.cost for r in ok) <= 0.5
    assert ok[0].cost == pytest.approx((ok[0].prompt_tokens + ok[0].completion_tokens) * 1000 / 1e6)
    assert price_for("gpt-4o-mini-2024-07-18") == price_for("gpt-4o-mini") == (0.15, 0.60)
    assert price_for("unknown-model") is None


def test_dry_run_estimate_sends_nothing(server, tmp_path):
    with Teacher(config(server, tmp_path, params={"max_tokens": 200})) as teacher:
        teacher.complete(ask("already known"))
        est = teacher.estimate([ask("already known"), ask("new one"), ask("new one"), ask("a" * 4000)])
    assert len(server.chat_requests()) == 1
    assert (est["requests"], est["cached"], est["duplicates"], est["to_send"]) == (4, 1, 1, 2)
    from telecom_etl.synth.teacher import count_prompt_tokens

    # prompt tokens from the model's tokenizer (tiktoken offline), completion = max_tokens
    assert est["completion_tokens"] == 400 and est["prompt_tokens"] == sum(
        count_prompt_tokens(ask(t).messages, "gpt-4o-mini") for t in ("new one", "a" * 4000)) > 400
    assert est["cost_usd"] > 0 and est["batch_cost_usd"] == pytest.approx(est["cost_usd"] / 2)


def test_structured_output_is_requested_and_dropped_when_the_endpoint_refuses_it(tmp_path):
    def responder(body):
        if "response_format" in body:
            return status(400, message="response_format is not supported by this server")
        return '```json\n{"question": "What is T300?", "answer": "A timer."}\n```'

    schema = {"type": "object", "properties": {"question": {"type": "string"}}}
    with OpenAIServer(responder=responder) as srv, Teacher(config(srv, tmp_path)) as teacher:
        results = teacher.complete_many([ask("q1", json_schema=schema)])
        results += teacher.complete_many([ask("q2", json_schema=schema)])
        bodies = srv.chat_requests()
    assert bodies[0]["response_format"]["type"] == "json_schema"
    assert bodies[0]["response_format"]["json_schema"]["schema"] == schema
    assert [("response_format" in b) for b in bodies] == [True, True, False, False]  # json_schema, json_object
    assert all(extract_json(r.content) == {"question": "What is T300?", "answer": "A timer."} for r in results)


def test_extract_json_is_lenient():
    assert extract_json('{"a": 1}') == {"a": 1}
    assert extract_json('Sure! Here it is:\n{"a": [1, 2]}\nHope it helps.') == {"a": [1, 2]}
    assert extract_json("```\n[{\"q\": 1}]\n```") == [{"q": 1}]
    assert extract_json('{"a": "unterminated') is None
    assert extract_json("no json here") is None and extract_json(None) is None


def test_api_key_is_sent_but_never_stored_or_reported(server, tmp_path, monkeypatch):
    secret = "sk-test-SECRETKEY0123456789"
    monkeypatch.setenv("TELECOM_TEST_KEY", secret)
    server.when("fails", status(401, message=f"bad key {secret}"))
    with Teacher(config(server, tmp_path, api_key_env="TELECOM_TEST_KEY")) as teacher:
        results = teacher.complete_many([ask("works"), ask("fails")])
        usage = teacher.usage.to_dict()
        public = teacher.config.public()
    assert server.requests[0].headers.get("authorization") == f"Bearer {secret}"
    assert results[1].error == "auth"
    dumped = json.dumps([r.to_dict() for r in results]) + json.dumps(usage) + json.dumps(public)
    assert secret not in dumped and "SECRETKEY" not in dumped
    for root, _, files in os.walk(tmp_path / "cache"):
        for f in files:
            assert "SECRETKEY" not in open(os.path.join(root, f)).read()
    with pytest.raises(TeacherError, match="do not put API keys"):
        TeacherConfig.from_dict({"model": "m", "api_key": secret})


def test_teacher_configs_from_yaml_mapping():
    teachers = load_teachers({"teachers": {"generator": {"model": "gpt-4o-mini", "concurrency": 32},
                                           "validator": {"model": "gpt-4.1-mini"}},
                              "prices": {"gpt-4.1-mini": {"input": 0.1, "output": 0.2}}},
                             defaults={"base_url": "http://127.0.0.1:9/v1"})
    assert sorted(teachers) == ["generator", "validator"]
    assert teachers["generator"].concurrency == 32 and teachers["generator"].name == "generator"
    assert teachers["validator"].price() == (0.1, 0.2) and teachers["validator"].base_url == "http://127.0.0.1:9/v1"
    with pytest.raises(TeacherError, match="unknown option"):
        load_teachers({"teachers": {"g": {"model": "m", "temprature": 0.1}}})
    with pytest.raises(TeacherError, match="'model' is required"):
        load_teachers({"teachers": {"g": {"base_url": "x"}}})


def test_rate_limited_client_still_answers_everything(server, tmp_path):
    with Teacher(config(server, tmp_path, rpm=60_000, tpm=10_000_000)) as teacher:
        results = teacher.complete_many([ask(f"q{i}") for i in range(20)])
    assert all(r.ok for r in results)


def test_cache_ignores_partial_and_foreign_files(tmp_path):
    cache = RequestCache(str(tmp_path / "c"))
    key = "ab" + "0" * 62
    cache.put(key, {"content": "x"})
    assert cache.get(key)["content"] == "x"
    folder = tmp_path / "c" / "ab"
    (folder / ".tmp-killed-mid-write").write_text('{"content": "half')
    (folder / ("ab" + "1" * 62 + ".json")).write_text('{"content": "dam')  # damaged: a miss, not a crash
    assert cache.get("ab" + "1" * 62) is None
    assert cache.keys() == sorted([key, "ab" + "1" * 62])


def test_batch_mode_submits_polls_collects_at_half_price_with_the_same_cache(server, tmp_path):
    requests = [ask(f"batch q{i}") for i in range(6)]
    with Teacher(config(server, tmp_path, batch_poll_interval=0.001)) as teacher:
        results = teacher.complete_batch(requests)
        usage = teacher.usage.to_dict()
    assert all(r.ok and r.batch and not r.cached for r in results)
    assert [r.content for r in results] == [f"ok: batch q{i}" for i in range(6)]
    assert results[0].cost == pytest.approx((results[0].prompt_tokens * 0.15 + results[0].completion_tokens * 0.6)
                                            / 1e6 / 2)
    assert usage["total"]["batch"] == 6 and len(server.batches) == 1
    uploaded = server.files[next(iter(server.batches.values()))["input_file_id"]].decode().splitlines()
    line = json.loads(uploaded[0])
    assert line["method"] == "POST" and line["url"] == "/v1/chat/completions" and line["body"]["model"] == "gpt-4o-mini"
    # the same requests again: direct or batch, all from the cache
    with Teacher(config(server, tmp_path)) as teacher:
        assert all(r.cached for r in teacher.complete_many(requests))
        assert all(r.cached for r in teacher.complete_batch(requests))
    assert len(server.batches) == 1
    assert [r for r in server.requests if r.key and not r.via_batch] == []  # nothing went the direct way


def test_batch_interrupted_while_waiting_is_resumed_not_resubmitted(tmp_path):
    with OpenAIServer(batch_polls=3) as srv:
        requests = [ask(f"b{i}") for i in range(4)]
        with Teacher(config(srv, tmp_path, batch_poll_interval=0.001)) as teacher:
            first = teacher.complete_batch(requests, max_wait=0)
        assert all(r.error == "batch_failed" and "re-run" in r.error_detail for r in first)
        with Teacher(config(srv, tmp_path, batch_poll_interval=0.001)) as teacher:
            second = teacher.complete_batch(requests)
        assert all(r.ok for r in second)
        assert len(srv.batches) == 1  # resumed the journaled batch
        assert len(srv.answered_keys()) == 4 == len(set(srv.answered_keys()))


CHILD = textwrap.dedent("""
    import sys
    from telecom_etl.synth.teacher import ChatRequest, Teacher, TeacherConfig
    base_url, cache_dir = sys.argv[1], sys.argv[2]
    cfg = TeacherConfig(model="gpt-4o-mini", base_url=base_url, cache_dir=cache_dir, concurrency=4, timeout=600)
    with Teacher(cfg) as t:
        t.complete_many([ChatRequest(messages=[{"role": "user", "content": f"item {i:02d}"}]) for i in range(20)])
""")


def test_kill_and_rerun_pays_for_no_request_twice(tmp_path):
    state = {"hang": True}

    def responder(body):
        index = int(body["messages"][0]["content"].split()[-1])
        return hang() if state["hang"] and index >= 8 else f"answer {index}"

    cache_dir = tmp_path / "cache"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    with OpenAIServer(responder=responder) as srv:
        child = subprocess.Popen([sys.executable, str(script), srv.base_url, str(cache_dir)])
        deadline = time.monotonic() + 60
        cache = RequestCache(str(cache_dir))
        while len(cache.keys()) < 8 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.02)
        assert len(cache.keys()) == 8, "the child did not cache the 8 answered requests"
        child.send_signal(signal.SIGKILL)
        child.wait()
        paid_before = srv.answered_keys()
        assert len(paid_before) == 8
        state["hang"] = False
        with Teacher(TeacherConfig(model="gpt-4o-mini", base_url=srv.base_url, cache_dir=str(cache_dir))) as t:
            results = t.complete_many([ChatRequest(messages=[{"role": "user", "content": f"item {i:02d}"}])
                                       for i in range(20)])
        assert [r.content for r in results] == [f"answer {i}" for i in range(20)]
        assert sum(r.cached for r in results) == 8
        paid = srv.answered_keys()
        assert len(paid) == 20 == len(set(paid))  # every request paid for exactly once


def test_reasoning_model_parameters_are_adapted_from_the_endpoints_400(tmp_path):
    def responder(body):
        if "max_tokens" in body:
            return status(400, message="Unsupported parameter: 'max_tokens' is not supported with this model. "
                                       "Use 'max_completion_tokens' instead.")
        if "temperature" in body:
            return status(400, message="Unsupported value: 'temperature' does not support 0.2 with this model. "
                                       "Only the default (1) value is supported.")
        return "fine"

    with OpenAIServer(responder=responder) as srv, Teacher(config(srv, tmp_path)) as teacher:
        first = teacher.complete(ask("q1", params={"max_tokens": 100, "temperature": 0.2}))
        second = teacher.complete(ask("q2", params={"max_tokens": 100, "temperature": 0.2}))
        bodies = srv.chat_requests()
    assert first.ok and second.ok and first.attempts == 1
    assert bodies[-1]["max_completion_tokens"] == 100 and "temperature" not in bodies[-1]
    assert len(bodies) == 4  # two lessons learnt once, then one request per question
    assert first.key == ask("q1", params={"max_tokens": 100, "temperature": 0.2}).key("gpt-4o-mini")


def test_a_closed_teacher_can_be_used_again(server, tmp_path):
    teacher = Teacher(config(server, tmp_path, cache_dir=None))
    assert teacher.complete(ask("one")).ok
    teacher.close()
    assert teacher.complete(ask("two")).content == "ok: two"
    teacher.close()


def test_batch_mode_respects_the_request_budget(server, tmp_path):
    with Teacher(config(server, tmp_path, max_requests=2, batch_poll_interval=0.001)) as teacher:
        results = teacher.complete_batch([ask(f"b{i}") for i in range(4)])
    assert [r.error for r in results] == [None, None, "budget_exceeded", "budget_exceeded"]
    assert len(server.answered_keys()) == 2


def test_batches_are_cut_by_request_count_and_file_size(server, tmp_path):
    from telecom_etl.synth.teacher import batch_chunks

    lines = [(str(i), "x" * 99) for i in range(10)]
    assert [len(c) for c in batch_chunks(lines, 4, 10_000)] == [4, 4, 2]
    assert [len(c) for c in batch_chunks(lines, 100, 350)] == [3, 3, 3, 1]
    with Teacher(config(server, tmp_path, batch_max_requests=2, batch_poll_interval=0.001)) as teacher:
        results = teacher.complete_batch([ask(f"b{i}") for i in range(5)])
    assert all(r.ok for r in results) and len(server.batches) == 3
