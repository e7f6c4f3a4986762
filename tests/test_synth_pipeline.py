"""synth-instructions end to end: real Beam pipelines, a real OpenAI-compatible server on loopback."""
from __future__ import annotations

import glob
import json
import os
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from openai_server import OpenAIServer, status, truncated
from telecom_etl.cli import main
from telecom_etl.record import PRETRAIN_SCHEMA, Document
from telecom_etl.synth.cache import RequestCache

SPEC = """## 1 Scope

The present document specifies the Radio Resource Control protocol for the radio interface between the UE and \
NG-RAN, including connection control, system information and measurement configuration procedures.

## 3 Definitions, symbols and abbreviations

### 3.1 Definitions

**Dedicated signalling**: signalling sent on the DCCH logical channel between the network and a single UE.

Field: the individual contents of an information element are referred to as fields.

### 3.2 Abbreviations

AM\tAcknowledged Mode
ARQ\tAutomatic Repeat Request
gNB\tnext generation Node B
SRB\tSignalling Radio Bearer

## 5 Procedures

### 5.3.5 RRC reconfiguration

The purpose of this procedure is to modify an RRC connection, e.g. to establish, modify and release radio bearers, \
to perform reconfiguration with sync and to set up, modify and release measurements. The UE shall apply the \
received configuration. Upon successful completion the UE submits the RRCReconfigurationComplete message to lower \
layers for transmission. If the UE is unable to comply with the configuration it initiates the re-establishment.

### 5.5.3 Uplink power control

The UE sets the transmit power of the physical uplink shared channel in each transmission occasion. The power \
depends on the configured nominal power, the path loss estimate and the closed loop adjustment state.

$$P_{PUSCH} = \\min\\{P_{CMAX}, P_{0} + 10\\log_{10}(2^{\\mu} M_{RB}) + \\alpha \\cdot PL + f\\}$$

where PL is the downlink path loss estimate in dB calculated by the UE and f is the closed loop power control \
adjustment state accumulated from the transmit power control commands of the serving cell.

### 5.6 Timer handling

When timer T300 expires the UE shall reset MAC, release the MAC configuration and re-establish RLC for all \
radio bearers that are established, then inform upper layers about the failure to establish the RRC connection. \
When timer T310 expires in RRC_CONNECTED the UE initiates the connection re-establishment procedure.
"""

PAPER = """# Pilot Assignment for Massive MIMO

## I. Introduction

Massive multiple-input multiple-output is a key technology of fifth generation networks. Large antenna arrays at \
the base station serve many users on the same time-frequency resource and the spectral efficiency grows with the \
number of antennas while pilot contamination limits the achievable rate in multi-cell systems.

## II. System model

We consider L cells with M antennas at each base station and K single-antenna users per cell. The achievable \
uplink rate of user k under maximum-ratio combining is

$$R_k = \\log_2\\left(1 + \\frac{M p \\beta_k}{\\sum_{j \\ne k} p \\beta_j + \\sigma^2}\\right)$$

where p is the transmit power, beta denotes the large-scale fading coefficients and sigma squared the noise \
variance of the receiver; the rate grows logarithmically with the number of antennas M.
"""

CODE = '''def crc24a(data: bytes) -> int:
    """CRC24A of TS 38.212 clause 5.1 over the transport block."""
    crc = 0
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x864CFB
    return crc & 0xFFFFFF
'''


def write_shard(folder, docs):
    os.makedirs(folder / "pretrain", exist_ok=True)
    table = pa.Table.from_pylist([d.to_row() for d in docs], schema=PRETRAIN_SCHEMA)
    pq.write_table(table, folder / "pretrain" / "part-00000-of-00001.parquet")
    return str(folder)


@pytest.fixture
def shards(tmp_path):
    docs = [
        Document(id="spec38331", text=SPEC, source="specs", kind="3gpp", uri="/specs/38331-i10.docx",
                 spec_number="38.331", spec_type="TS", spec_version="18.1.0", spec_release=18, spec_series="38",
                 working_group="RAN2"),
        Document(id="paper1", text=PAPER, source="papers", kind="paper", uri="/papers/mimo.pdf",
                 title="Pilot Assignment for Massive MIMO"),
        Document(id="code1", text=CODE, source="code", kind="code", uri="/repo/phy/crc.py", path="phy/crc.py",
                 repo="sample-ran", code_language="Python"),
    ]
    return write_shard(tmp_path / "in", docs)


def passage_of(text: str) -> str:
    return text.split("<passage>\n", 1)[1].split("\n</passage>", 1)[0] if "<passage>" in text else ""


def sentences(text: str):
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", re.sub(r"\$\$.*?\$\$", "", text, flags=re.S))
            if len(s.split()) > 6]


def teacher(body):
    """A deterministic stand-in for an LLM that follows each task's prompt."""
    text = body["messages"][-1]["content"]
    passage = passage_of(text)
    if text.startswith("Answer the multiple-choice question"):
        # the validator: picks the full-sentence option (the right one), except on the power control clause
        options = re.findall(r"^option (\d+): (.*)$", text, re.M)
        right = int(max(options, key=lambda o: len(o[1]))[0])
        return json.dumps({"answer": right % len(options) + 1 if "(Uplink power control)" in text else right})
    if "multiple-choice" in text:
        first = sentences(passage)[0]
        return json.dumps({"items": [{
            "question": f"Which statement about '{' '.join(first.split()[:6])}' is correct?",
            "options": ["It is unrelated", first, "It is deprecated", "It is optional"], "answer": 2,
            "explanation": "The specification states it."}]})
    if text.startswith("Read the passage and write"):
        items = [{"question": f"What does the text state about {' '.join(s.split()[1:7])}?", "answer": s,
                  "evidence": s} for s in sentences(passage)[:2]]
        return "Here you go:\n```json\n" + json.dumps({"items": items}) + "\n```"
    if text.startswith("Summarise what the following"):
        return json.dumps({"summary": "Computes the CRC24A checksum of TS 38.212 over a byte string and returns "
                                      "the 24-bit remainder."})
    return "I cannot help with that."


def run_cli(*args):
    result = CliRunner().invoke(main, ["synth-instructions", *args], catch_exceptions=False)
    return result


def read_rows(folder):
    rows = []
    for path in sorted(glob.glob(os.path.join(folder, "*.parquet"))):
        rows.extend(pq.read_table(path).to_pylist())
    return rows


def test_without_a_teacher_offline_tasks_run_and_llm_tasks_are_skipped(shards, tmp_path):
    out = tmp_path / "out"
    result = run_cli("-i", shards, "-o", str(out))
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["balanced"], [c for c in report["checks"] if not c["ok"]]
    rows = read_rows(out / "sft")
    tasks = {r["task"] for r in rows}
    assert tasks == {"abbreviations", "wg_classification", "math_infill", "code_infill"}
    for name in ("open_qa", "mcq", "code_summarise"):
        assert report["tasks"][name]["skipped"] > 0 and report["tasks"][name]["pairs_made"] == 0
    assert "no_teacher" in report["stages"]["generate"]["dropped_by_rule"]
    assert report["usage"]["total"]["requests"] == 0
    assert "skipped" in result.output and "accounting: all counts add up" in result.output
    math = [r for r in rows if r["task"] == "math_infill"]
    assert {r["doc_id"] for r in math} == {"spec38331", "paper1"}
    assert {r["section"] for r in math} == {"5.5.3", "II. System model"}


def teachers_yaml(tmp_path, server, extra=""):
    path = tmp_path / "teachers.yaml"
    path.write_text(f"""
teachers:
  generator: {{model: gpt-4o-mini, base_url: "{server.base_url}", retry_base_delay: 0.001, max_retries: 1}}
  validator: {{model: gpt-4.1-mini, base_url: "{server.base_url}", retry_base_delay: 0.001, max_retries: 1}}
prices:
  gpt-4.1-mini: {{input: 0.4, output: 1.6}}
{extra}""")
    return str(path)


def test_full_run_with_teachers_every_family_traceable_and_counted(shards, tmp_path):
    out = tmp_path / "out"
    with OpenAIServer(responder=teacher) as server:
        server.when("clause 5.6 (Timer handling)", truncated('{"items": [{"question": "What happens when T300'))
        server.when("Pilot Assignment", status(500))  # the paper's generator requests always fail
        # the paper's requests fail on purpose: 4 of 13 is over the default --max-failure-rate
        result = run_cli("-i", shards, "-o", str(out), "--teachers", teachers_yaml(tmp_path, server),
                         "--max-failure-rate", "0.5")
        assert result.exit_code == 0, result.output
        sent = len(server.chat_requests())
    report = json.loads((out / "report.json").read_text())
    assert report["balanced"], [c for c in report["checks"] if not c["ok"]]
    rows = read_rows(out / "sft")
    by_task = {}
    for r in rows:
        by_task.setdefault(r["task"], []).append(r)
    assert set(by_task) == {"open_qa", "mcq", "wg_classification", "math_infill", "code_summarise",
                            "code_generate", "code_infill", "abbreviations"}
    # traceable: every pair names its document, section and (for teacher tasks) the cached request
    ids = {"spec38331", "paper1", "code1"}
    cache = RequestCache(str(out / "_cache" / "teacher"))
    for r in rows:
        assert r["doc_id"] in ids and r["section"] and r["citation"] and r["prompt_version"]
        assert r["passage"].strip()  # the source text travels with the pair (synth-preferences judges on it)
        assert [m["role"] for m in r["messages"]][-2:] == ["user", "assistant"]
        if r["task"] in ("open_qa", "mcq", "code_summarise", "code_generate"):
            assert r["teacher"] == "generator" and r["model"] == "gpt-4o-mini" and r["request_key"] in cache
    assert all(r["section"] != "5.6" for r in by_task["open_qa"])  # truncated answer: rejected
    assert all("validator" in {v["check"] for v in r["validation"]} for r in by_task["mcq"])
    for r in by_task["mcq"]:  # options are reordered; the answer follows its option
        fields = json.loads(r["fields"])
        assert len(fields["options"][fields["answer_index"] - 1].split()) > 6
    # rejects: counted by reason, in the report and in rejects/
    rejects = read_rows(out / "rejects")
    reasons = {(r["task"], r["reason"]) for r in rejects}
    assert {("open_qa", "truncated"), ("mcq", "truncated"), ("mcq", "validator_disagrees")} <= reasons
    assert ("open_qa", "teacher_server_error") in reasons
    tasks = report["tasks"]
    assert tasks["open_qa"]["rejected_answers"]["truncated"] >= 1
    assert tasks["mcq"]["rejected_pairs"]["validator_disagrees"] >= 1
    assert 0 < tasks["mcq"]["rejection_rate"] < 1 and tasks["abbreviations"]["rejection_rate"] == 0
    assert sum(len(v) for v in by_task.values()) == report["totals"]["pairs_out"]
    # tokens and cost, per teacher and per task; the paper's 500s are counted failures
    usage = report["usage"]
    assert usage["by_teacher"]["generator"]["prompt_tokens"] > 0 and usage["by_teacher"]["generator"]["cost_usd"] > 0
    assert usage["by_teacher"]["validator"]["sent"] >= tasks["mcq"]["pairs_kept"] >= 1
    assert usage["by_task"]["open_qa"]["failed_by_kind"] == {"server_error": 2}  # the two paper sections
    assert sent > usage["total"]["sent"]  # the failing requests were retried
    assert "$" in result.output and "teacher:" in result.output
    # the folder explains itself: a dataset card whose sft config counts the pairs, and the HTML report
    card = (out / "README.md").read_text()
    assert f"num_examples: {report['totals']['pairs_out']}" in card and (out / "report.html").exists()


def test_rerun_with_the_cache_sends_nothing_and_writes_identical_shards(shards, tmp_path):
    with OpenAIServer(responder=teacher) as server:
        cfg = teachers_yaml(tmp_path, server)
        first = run_cli("-i", shards, "-o", str(tmp_path / "a"), "--teachers", cfg,
                        "--cache-dir", str(tmp_path / "cache"))
        sent = len(server.chat_requests())
        second = run_cli("-i", shards, "-o", str(tmp_path / "b"), "--teachers", cfg,
                         "--cache-dir", str(tmp_path / "cache"), "--direct_running_mode", "multi_threading")
        assert first.exit_code == 0 and second.exit_code == 0, second.output
        assert len(server.chat_requests()) == sent  # every answer came from the cache
    a = sorted(glob.glob(str(tmp_path / "a" / "sft" / "*.parquet")))
    b = sorted(glob.glob(str(tmp_path / "b" / "sft" / "*.parquet")))
    assert [os.path.basename(p) for p in a] == [os.path.basename(p) for p in b]
    assert all(open(x, "rb").read() == open(y, "rb").read() for x, y in zip(a, b))
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    assert report["usage"]["total"]["sent"] == 0 and report["usage"]["total"]["cost_usd"] == 0
    assert report["usage"]["total"]["cached_cost_usd"] > 0


def test_dry_run_counts_requests_and_cost_and_calls_nothing(shards, tmp_path):
    with OpenAIServer(responder=teacher) as server:
        result = run_cli("-i", shards, "-o", str(tmp_path / "out"), "--base-url", server.base_url,
                         "--model", "gpt-4o-mini", "--dry-run")
        assert result.exit_code == 0, result.output
        assert server.requests == []
    assert "nothing was sent" in result.output
    plan = json.loads(result.output[:result.output.rindex("}") + 1])
    generator = plan["teachers"]["generator"]
    assert generator["to_send"] > 0 and generator["cost_usd"] > 0 and generator["price_known"]
    assert plan["items_per_task"]["abbreviations"] >= 2
    assert not os.path.exists(tmp_path / "out" / "sft")


def test_batch_mode_buys_answers_through_the_batch_api(shards, tmp_path):
    with OpenAIServer(responder=teacher) as server:
        result = run_cli("-i", shards, "-o", str(tmp_path / "out"), "--teachers", teachers_yaml(tmp_path, server),
                         "--batch", "--batch-poll", "0.001")
        assert result.exit_code == 0, result.output
        direct = [r for r in server.requests if r.key and not r.via_batch]
        assert len(server.batches) == 2 and direct == []  # generator batch, then validator batch
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["batch_prepass"]["total"]["batch"] > 0
    assert report["usage"]["total"]["sent"] == 0  # the pipeline itself found every answer cached
    assert {r["task"] for r in read_rows(tmp_path / "out" / "sft")} >= {"open_qa", "mcq", "code_summarise"}


def test_output_loads_with_datasets_in_trl_conversational_format(shards, tmp_path):
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "out"
    with OpenAIServer(responder=teacher) as server:
        assert run_cli("-i", shards, "-o", str(out), "--base-url", server.base_url, "--model",
                       "gpt-4o-mini").exit_code == 0
    ds = datasets.load_dataset("parquet", data_files=str(out / "sft" / "*.parquet"), split="train",
                               cache_dir=str(tmp_path / "hf"))
    assert len(ds) == json.loads((out / "report.json").read_text())["totals"]["pairs_out"]
    first = ds[0]["messages"]
    assert isinstance(first, list) and set(first[0]) == {"role", "content"}
    assert {m["role"] for row in ds["messages"] for m in row} <= {"system", "user", "assistant"}
    assert all(row[-1]["role"] == "assistant" for row in ds["messages"])  # what SFTTrainer trains on


def test_over_real_build_pretrain_shards(sample_dir, tmp_path):
    from telecom_etl.manifest import load_manifest
    from telecom_etl.pipelines.build_pretrain import run as build_pretrain

    manifest_path = tmp_path / "m.yaml"
    manifest_path.write_text(f"""
sources:
  - {{name: specs, kind: 3gpp, paths: ["{sample_dir}/specs"]}}
  - {{name: code, kind: code, paths: ["{sample_dir}/code/sample-ran"]}}
""")
    build_pretrain(load_manifest(str(manifest_path)), str(tmp_path / "pre"), [], progress=False)
    with OpenAIServer(responder=teacher) as server:
        result = run_cli("-i", str(tmp_path / "pre"), "-o", str(tmp_path / "out"), "--base-url", server.base_url,
                         "--model", "gpt-4o-mini", "--min-chars", "100")
        assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["balanced"] and report["totals"]["docs_in"] >= 2
    tasks = {r["task"] for r in read_rows(tmp_path / "out" / "sft")}
    assert {"abbreviations", "wg_classification", "open_qa", "code_summarise", "code_infill"} <= tasks


@pytest.mark.parametrize("args,message", [
    (["--tasks", "open_qa,poetry"], "unknown task(s) poetry"),
    (["--validator-model", "x"], "--validator-model needs a generator"),
    (["--batch"], "--batch needs a teacher"),
    (["--benchmark", "/nonexistent/teleqna.json"], "benchmark file not found"),
    (["--no_such_beam_flag", "1"], "unknown option --"),
])
def test_user_mistakes_are_one_line(shards, tmp_path, args, message):
    result = CliRunner().invoke(main, ["synth-instructions", "-i", shards, "-o", str(tmp_path / "o"), *args])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


def test_config_mistakes_are_one_line(tmp_path, shards):
    bad = tmp_path / "t.yaml"
    bad.write_text("teachers:\n  generator: {model: m, api_key: sk-secret}\n")
    result = CliRunner().invoke(main, ["synth-instructions", "-i", shards, "--teachers", str(bad)])
    assert result.exit_code == 2 and "do not put API keys" in result.output and "sk-secret" not in result.output
    bad.write_text("teachers:\n  generator: {model: m, base_url: 'http://127.0.0.1:9/v1'}\n"
                   "validation: {grounded: 0.9}\n")
    result = CliRunner().invoke(main, ["synth-instructions", "-i", shards, "--teachers", str(bad)])
    assert result.exit_code == 2 and "validation: unknown option(s) grounded" in result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(main, ["synth-instructions", "-i", str(empty)])
    assert result.exit_code == 2 and "no Parquet shards" in result.output


def test_a_missing_api_key_is_one_line_before_anything_runs(shards, tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("TELECOM_ETL_NO_SUCH_KEY", raising=False)
    result = CliRunner().invoke(main, ["synth-instructions", "-i", shards, "-o", str(tmp_path / "o"), "--model",
                                       "gpt-4o-mini", "--api-key-env", "TELECOM_ETL_NO_SUCH_KEY"])
    assert result.exit_code == 2 and "set TELECOM_ETL_NO_SUCH_KEY" in result.output
    assert not (tmp_path / "o").exists()


def test_killed_run_then_rerun_pays_for_no_request_twice(shards, tmp_path):
    """SIGKILL the command while teacher requests hang, re-run it: every answer bought before the
    kill comes from the cache, the rest are bought once, and the output is complete."""
    import signal
    import subprocess
    import sys
    import time

    state = {"hang": True, "answered": 0}

    def responder(body):
        # answer the first 3 requests, then hang until the process is killed
        if state["hang"] and state["answered"] >= 3:
            from openai_server import hang

            return hang()
        state["answered"] += 1
        return teacher(body)

    out, cache = tmp_path / "out", tmp_path / "cache"
    with OpenAIServer(responder=responder) as server:
        args = ["-i", shards, "-o", str(out), "--base-url", server.base_url, "--model", "gpt-4o-mini",
                "--cache-dir", str(cache), "--concurrency", "2"]
        child = subprocess.Popen([sys.executable, "-c", "from telecom_etl.cli import main; main()",
                                  "synth-instructions", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while len(RequestCache(str(cache)).keys()) < 3 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)
        assert len(RequestCache(str(cache)).keys()) == 3, "the first run did not cache its 3 answers"
        child.send_signal(signal.SIGKILL)
        child.wait()
        bought_before = server.answered_keys()
        state["hang"] = False
        result = run_cli(*args)
        assert result.exit_code == 0, result.output
        paid = server.answered_keys()
    assert len(bought_before) == 3 and len(paid) == len(set(paid))  # nothing bought twice
    report = json.loads((out / "report.json").read_text())
    assert report["balanced"] and report["usage"]["total"]["cached"] == 3
    assert report["usage"]["total"]["sent"] == len(paid) - 3


def test_per_task_budgets_from_the_config_file(shards, tmp_path):
    cfg = tmp_path / "run.yaml"
    cfg.write_text("tasks: [abbreviations, wg_classification]\n"
                   "budgets: {abbreviations: {max_per_doc: 1}}\n")
    result = run_cli("-i", shards, "-o", str(tmp_path / "out"), "--teachers", str(cfg), "--max-per-doc", "2")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    rows = read_rows(tmp_path / "out" / "sft")
    assert {r["task"] for r in rows} == {"abbreviations", "wg_classification"}
    assert len({r["section"] for r in rows if r["task"] == "abbreviations"}) == 1  # one vocabulary clause
    assert len({r["section"] for r in rows if r["task"] == "wg_classification"}) == 2
    assert report["tasks"]["abbreviations"]["items_dropped"] == {"budget_per_doc": 1}
    bad = tmp_path / "bad.yaml"
    bad.write_text("budgets: {poetry: {max_per_doc: 1}}\n")
    result = CliRunner().invoke(main, ["synth-instructions", "-i", shards, "--teachers", str(bad)])
    assert result.exit_code == 2 and "budgets: poetry" in result.output


def test_per_source_budget_keeps_the_same_items_as_the_driver_plan(shards, tmp_path):
    from telecom_etl.pipelines.synth_instructions import input_shards, plan_items
    from telecom_etl.synth.instructions import SynthSettings

    result = run_cli("-i", shards, "-o", str(tmp_path / "out"), "--max-per-source", "1", "--max-per-doc", "2")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["balanced"]
    select = report["stages"]["select"]
    assert select["dropped_by_rule"]["budget_per_source"] > 0 and select["dropped_by_rule"]["budget_per_doc"] > 0
    rows = read_rows(tmp_path / "out" / "sft")
    per = {}
    for r in rows:
        per.setdefault((r["task"], r["source"]), set()).add((r["doc_id"], r["section"], r["passage_part"]))
    assert all(len(v) == 1 for v in per.values())  # one item per task and source
    planned = plan_items(SynthSettings(max_per_doc=2, max_per_source=1), input_shards(shards))
    assert {(i.task, i.passage.doc_id, i.passage.section) for i in planned if i.task == "abbreviations"} == {
        (r["task"], r["doc_id"], r["section"]) for r in rows if r["task"] == "abbreviations"}


def short_question_teacher(body):
    """The test teacher, except that open-answer questions are a benchmark's short question
    ("What does CSAT stand for?", 5 words) or a question of its own."""
    text = body["messages"][-1]["content"]
    if text.startswith("Read the passage and write"):
        passage = passage_of(text)
        first = sentences(passage)[0]
        question = "What does CSAT stand for?" if "(RRC reconfiguration)" in text else \
            f"What does the text state about {' '.join(first.split()[1:7])}?"
        return json.dumps({"items": [{"question": question, "answer": first, "evidence": first}]})
    return teacher(body)


@pytest.mark.parametrize("form", ["teleqna", "json_list"])
def test_a_pair_overlapping_a_short_benchmark_question_is_rejected(shards, tmp_path, form):
    short = "What does CSAT stand for?"  # under 8 words: matched as a whole sentence, not by n-grams
    other = "Which protocol layer performs header compression for user plane data in 5G NR networks?"
    if form == "teleqna":
        bench = tmp_path / "teleqna.json"
        bench.write_text(json.dumps({f"question {i}": {"question": q + " [3GPP Release 18]", "option 1": "a",
                                                        "option 2": "b", "answer": "option 1: a",
                                                        "category": "Lexicon"} for i, q in enumerate((other, short))}))
        item = "teleqna:question 1"
    else:  # a JSON list of objects, with ids
        bench = tmp_path / "bench.json"
        bench.write_text(json.dumps([{"id": "q-long", "question": other}, {"id": "q-csat", "question": short}]))
        item = "bench:q-csat"
    out = tmp_path / "out"
    with OpenAIServer(responder=short_question_teacher) as server:
        result = run_cli("-i", shards, "-o", str(out), "--teachers", teachers_yaml(tmp_path, server),
                         "--tasks", "open_qa", "--benchmark", str(bench))
    assert result.exit_code == 0, result.output
    rejects = [r for r in read_rows(out / "rejects") if r["reason"] == "contaminated"]
    assert [(r["task"], r["section"]) for r in rejects] == [("open_qa", "5.3.5")]
    assert rejects[0]["detail"] == f"matches {item}"
    kept = read_rows(out / "sft")
    assert kept and all(short not in json.dumps(r["messages"]) for r in kept)  # the others pass
    report = json.loads((out / "report.json").read_text())
    assert report["tasks"]["open_qa"]["rejected_pairs"] == {"contaminated": 1}


def test_a_stage_that_fails_every_record_exits_non_zero_with_one_line(shards, tmp_path, monkeypatch):
    from telecom_etl.synth.tasks.abbreviations import Abbreviations

    def broken(self, passage):
        raise ValueError("abbreviation table unreadable")

    monkeypatch.setattr(Abbreviations, "offline", broken)  # every item of the task fails in generate
    result = CliRunner().invoke(main, ["synth-instructions", "-i", shards, "-o", str(tmp_path / "out"),
                                       "--tasks", "abbreviations"])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("telecom-etl: error:")]
    assert len(lines) == 1, result.output
    assert re.fullmatch(r"telecom-etl: error: stage generate failed every record \((\d+) items\); commonest error: "
                        r"ValueError: abbreviation table unreadable \(\1 of \1\)", lines[0]), lines[0]


def test_the_output_folder_is_locked_staged_interruptible_and_follows_the_umask(shards, tmp_path):
    """RunFolder through synth-instructions: umask 027 gives 0640/0750, a run waiting on its
    teacher shows nothing of itself, a second run into the folder is one line, SIGINT/SIGTERM
    exit 130/143 with one line and leave the previous run's folder byte for byte."""
    from runfolder_checks import check_run_folder

    check_run_folder(tmp_path, lambda out, url, cache: [
        "synth-instructions", "-i", shards, "-o", str(out), "--base-url", url, "--model", "gpt-4o-mini",
        "--cache-dir", str(cache), "--no-progress"], teacher, "sft")
