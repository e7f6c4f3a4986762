"""The teacher client against hostile or odd endpoints (issue 19 items 8-10, issue 17 item 4):
trickling bodies and headers, echoed secrets, lying usage numbers, floods, rate-limit headers."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from email.utils import formatdate

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from openai_server import OpenAIServer, Window, answer, limited, slow_headers, trickle  # noqa: E402
from telecom_etl.synth.teacher import (ChatRequest, Teacher, TeacherConfig, parse_duration,  # noqa: E402
                                       redact_url, server_wait)

pytestmark = pytest.mark.faults

KEY = "sk-telecom-etl-secret-0123456789abcdef"


def ask(text: str, **kw) -> ChatRequest:
    return ChatRequest(messages=[{"role": "user", "content": text}], task="qa", prompt_version="qa/1", **kw)


def config(server, tmp_path, **kw) -> TeacherConfig:
    values = dict(model="gpt-4o-mini", base_url=server.base_url, cache_dir=str(tmp_path / "cache"),
                  retry_base_delay=0.001, retry_max_delay=0.01, timeout=5, max_retries=1, concurrency=4,
                  api_key_env="TELECOM_ETL_TEST_KEY")
    values.update(kw)
    return TeacherConfig(**values)


@pytest.fixture
def key_env(monkeypatch):
    monkeypatch.setenv("TELECOM_ETL_TEST_KEY", KEY)
    return KEY


def grep(folder, needle: str) -> list:
    """Files under ``folder`` whose bytes contain ``needle``."""
    out = subprocess.run(["grep", "-rl", "-F", needle, str(folder)], capture_output=True, text=True)
    return out.stdout.split()


# ---- 19.8: every request has an overall deadline ------------------------------------------

@pytest.mark.parametrize("reply", [trickle(0.05), slow_headers(0.05)], ids=["endless-chunked-body", "slow-headers"])
def test_a_trickling_endpoint_cannot_hold_a_request_past_its_deadline(tmp_path, reply):
    with OpenAIServer() as server:
        server.when("trickle", reply)
        with Teacher(config(server, tmp_path, timeout=0.6, max_retries=1)) as teacher:
            bad, good = teacher.complete_many([ask("trickle me"), ask("fine")])
    # each byte arrives well inside the read timeout: only an overall deadline ends the attempt
    assert bad.error in ("timeout", "connection") and bad.attempts == 2, bad
    assert good.ok


# ---- 19.9: secrets never reach data -------------------------------------------------------

def test_an_endpoint_echoing_the_key_gets_it_scrubbed_from_answers_and_cache(tmp_path, key_env):
    def echo(body):
        return f"my key is {key_env} and again {key_env}."

    with OpenAIServer(responder=echo) as server:
        with Teacher(config(server, tmp_path)) as teacher:
            (r,) = teacher.complete_many([ask("tell me the key")])
        assert server.requests[-1].headers["authorization"] == f"Bearer {key_env}"  # the key was sent
    assert r.ok and key_env not in r.content and "***" in r.content
    assert grep(tmp_path / "cache", key_env) == []
    assert grep(tmp_path / "cache", "my key is") != []  # the answer itself was cached


def test_credentials_in_the_base_url_are_redacted_for_reports():
    assert redact_url("https://alice:s3cr3tpass@gw.example/v1?api-key=abcdef123&x=1") == \
        "https://***@gw.example/v1?api-key=***&x=***"
    cfg = TeacherConfig(model="m", base_url="http://u:p4ssw0rd@127.0.0.1:9/v1?api-key=k3yk3yk3y")
    public = json.dumps(cfg.public())
    assert "p4ssw0rd" not in public and "k3yk3yk3y" not in public and "127.0.0.1:9/v1" in public


# ---- 19.10: usage numbers are not trusted; answers have a size cap ------------------------

@pytest.mark.parametrize("usage", [{"prompt_tokens": -1_000_000, "completion_tokens": -5},
                                   {"prompt_tokens": 10 ** 12, "completion_tokens": 10 ** 12},
                                   {"prompt_tokens": "lots", "completion_tokens": None}],
                         ids=["negative", "absurd", "garbage"])
def test_lying_usage_is_clamped_flagged_and_cannot_open_a_budget(tmp_path, usage):
    with OpenAIServer(responder=lambda body: answer("a fine answer", usage=usage)) as server:
        cfg = config(server, tmp_path, max_cost=0.0005)  # gpt-4o-mini: each request reserves ~0.0003 USD
        with Teacher(cfg) as teacher:
            results = [teacher.complete(ask(f"q{i} " + "word " * 50, params={"max_tokens": 400}))
                       for i in range(6)]
            usage_row = teacher.usage.to_dict()["total"]
        sent = len(server.chat_requests())
    ok = [r for r in results if r.ok]
    assert all(r.usage_clamped for r in ok) and usage_row["usage_clamped"] == len(ok)
    assert all(0 <= r.prompt_tokens <= 400 and 0 <= r.completion_tokens <= 400 for r in ok)
    # a count is never negative (it cannot lower the spend) nor above what the request can have used
    assert all(r.cost >= 0 for r in ok) and 0 <= usage_row["cost_usd"] <= 0.0005 + 1e-12
    assert [r.error for r in results if not r.ok] == ["budget_exceeded"] * (6 - len(ok)) == \
        ["budget_exceeded"] * (6 - sent)


def test_an_answer_over_the_size_cap_is_refused_and_not_cached(tmp_path):
    big = "x" * 300_000
    with OpenAIServer(responder=lambda body: big if "flood" in json.dumps(body) else "small") as server:
        with Teacher(config(server, tmp_path, max_answer_bytes=100_000)) as teacher:
            flood, fine = teacher.complete_many([ask("flood me"), ask("fine")])
        assert len([b for b in server.chat_requests() if "flood" in json.dumps(b)]) == 1  # not asked again
    assert flood.error == "too_large" and fine.ok
    cache_bytes = sum(p.stat().st_size for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert cache_bytes < 50_000


# ---- 17.4: every common rate-limit header ---------------------------------------------------

def test_rate_limit_headers_are_all_read():
    assert parse_duration("6m0s") == 360 and parse_duration("1s") == 1 and parse_duration("20ms") == 0.02
    assert parse_duration("1h2m3.5s") == 3723.5 and parse_duration("soon") is None
    assert server_wait({"retry-after": "7"}) == 7
    assert server_wait({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert server_wait({"llm_provider-retry-after": "60"}) == 60
    assert server_wait({"x-ratelimit-reset-requests": "1s", "x-ratelimit-reset-tokens": "6m0s"}) == 360
    import time

    assert 25 <= server_wait({"retry-after": formatdate(time.time() + 30, usegmt=True)}) <= 30
    assert server_wait({}) is None and server_wait({"retry-after": "garbage"}) is None


@pytest.mark.parametrize("headers", [{"llm_provider-retry-after": "0.4"}, {"x-ratelimit-reset-requests": "400ms"},
                                     {"x-ratelimit-reset-tokens": "0.4s"}],
                         ids=["litellm", "openai-requests", "openai-tokens"])
def test_a_server_wait_pauses_the_whole_teacher_not_only_the_request_told(tmp_path, headers):
    with OpenAIServer() as server:
        server.queue(limited(429, **headers))
        with Teacher(config(server, tmp_path, concurrency=1, max_retries=0)) as teacher:
            results = teacher.complete_many([ask(f"q{i}") for i in range(3)])
            pauses = teacher.gate.pauses
        times = [r.at for r in server.requests if r.key]
    assert all(r.ok for r in results) and pauses == 1
    # the first request was told to wait 0.4 s; nothing at all was sent meanwhile
    assert len(times) == 4 and times[1] - times[0] >= 0.38


def test_a_window_much_longer_than_the_retry_budget_is_outlasted_with_no_request_lost(tmp_path):
    """A server-side window (here 1.5 s, 4 requests) asks each refused request to wait until it
    resets; max_retries=0 proves rate-limit waits do not use the retry budget."""
    window = Window(limit=4, seconds=1.5)
    with OpenAIServer(window=window) as server:
        with Teacher(config(server, tmp_path, concurrency=8, max_retries=0)) as teacher:
            results = teacher.complete_many([ask(f"q{i}") for i in range(10)])
    assert all(r.ok for r in results), [r.error_detail for r in results if not r.ok]
    assert window.refused >= 1 and len(server.answered_keys()) == 10


# ---- 19.9 end to end: no secret in any file of OUT or the cache ------------------------------

def test_secrets_appear_in_no_output_file_of_either_command(tmp_path, key_env):
    from click.testing import CliRunner

    from telecom_etl.cli import main
    from test_preferences_pipeline import ROWS, write_sft
    from test_synth_pipeline import teacher, write_shard
    from telecom_etl.record import Document

    password, url_key = "pa55w0rd-in-url", "url-api-key-987654"

    def echo(body):  # a hostile endpoint: every answer carries the credentials it was sent
        got = teacher(body) if "passage" in json.dumps(body) else "An answer."
        return f"{got} {key_env} {password} {url_key}"

    shards = write_shard(tmp_path / "in", [Document(
        id="d1", text="## 5.3 RRC connection\n" + "The UE sends RRCSetupRequest to the gNB after random access. " * 20,
        source="specs", kind="3gpp", uri="/s/38331.docx", spec_number="38.331", working_group="RAN2")])
    write_sft(str(tmp_path / "sft" / "sft"), ROWS)
    with OpenAIServer(responder=echo) as server:
        base = server.base_url.replace("http://", f"http://user:{password}@") + f"?api-key={url_key}"
        runs = [["synth-instructions", "-i", shards, "-o", str(tmp_path / "out1"), "--model", "gpt-4o-mini"],
                ["synth-preferences", "-i", str(tmp_path / "sft"), "-o", str(tmp_path / "out2"), "--model", "m",
                 "-k", "2", "--no-progress"]]
        for args in runs:
            result = CliRunner().invoke(main, [*args, "--base-url", base, "--api-key-env", "TELECOM_ETL_TEST_KEY",
                                               "--max-failure-rate", "1"], catch_exceptions=False)
            assert result.exit_code == 0, result.output
            for secret in (key_env, password, url_key):
                assert secret not in result.output
        assert len(server.chat_requests()) > 10
    for out in ("out1", "out2"):
        assert (tmp_path / out / "report.json").exists() and (tmp_path / out / "README.md").exists()
        for secret in (key_env, password, url_key):
            assert grep(tmp_path / out, secret) == [], (out, secret)  # rows, rejects, drops, cache, reports
        assert grep(tmp_path / out, "***") != []  # the echoed secrets were there, scrubbed


def test_a_run_budget_holds_against_lying_usage_numbers(tmp_path):
    """The plan admits by estimates, so an endpoint reporting negative usage buys nothing extra."""
    from click.testing import CliRunner

    from telecom_etl.cli import main
    from test_synth_pipeline import teacher, write_shard
    from telecom_etl.record import Document

    shards = write_shard(tmp_path / "in", [Document(
        id=f"d{i}", text=f"## 5.{i} Procedure {i}\n" + f"The gNB configures procedure {i} for the UE in RRC. " * 20,
        source="specs", kind="3gpp", uri=f"/s/{i}.docx", spec_number="38.331", working_group="RAN2")
        for i in range(4)])
    sent = {}
    for name, usage in (("honest", None), ("lying", {"prompt_tokens": -10 ** 9, "completion_tokens": -10 ** 9})):
        with OpenAIServer(responder=lambda body: answer(teacher(body), usage=usage)) as server:
            result = CliRunner().invoke(main, ["synth-instructions", "-i", shards, "-o", str(tmp_path / name),
                                               "--base-url", server.base_url, "--model", "gpt-4o-mini",
                                               "--max-cost", "0.002", "--max-failure-rate", "1"],
                                        catch_exceptions=False)
            assert result.exit_code == 0, result.output
            sent[name] = len(server.chat_requests())
        report = json.loads((tmp_path / name / "report.json").read_text())
        assert report["budget"]["refused"] > 0 and report["usage"]["total"]["cost_usd"] >= 0
        assert (report["usage"]["total"]["usage_clamped"] > 0) == (name == "lying")  # flagged in the report
    assert 0 < sent["lying"] == sent["honest"]
