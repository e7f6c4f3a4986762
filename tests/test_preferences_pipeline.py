"""synth-preferences end to end: SFT shards -> loopback OpenAI server -> DPO Parquet + report."""
from __future__ import annotations

import json
import os
import re
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

sys.path.insert(0, os.path.dirname(__file__))
from openai_server import OpenAIServer  # noqa: E402

from telecom_etl.cli import main  # noqa: E402
from telecom_etl.synth.preferences.verify import check  # noqa: E402

MCQ_Q = ("Which NOMA scheme uses the message passing algorithm at the receiver?\n"
         "A) NOMA\nB) PDMA\nC) MUSA\nD) MUST\nE) SCMA\nAnswer with the letter of the option.")
LABEL_Q = "Which 3GPP working group is responsible for TS 38.211? Answer with one label of: RAN1, RAN2, SA2."
EQ_Q = "Fill in the masked equation of TS 38.211 clause 6.3.1.4: [MASK] (number of subcarriers of the allocation)."
CODE_Q = "Complete the masked line of this C function:\n```c\nint is_si(int rnti) {\n  [MASK]\n}\n```"
QA_Q = "What does the AMF do in the registration procedure of TS 23.502 clause 4.2.2.2?"
TIE_Q = "Explain the purpose of the SDAP layer."
GARBLE_Q = "Describe the GTP-U echo procedure."
HARD_Q = "Which option names the 5G core function that terminates NAS?\nA) SMF\nB) UPF\nC) AMF\nAnswer with a letter."

# what each endpoint model answers, per prompt (teacher is right, student is wrong)
ANSWERS = {
    "teacher-m": {MCQ_Q: "The correct answer is E) SCMA: it decodes with message passing.",
                  LABEL_Q: "Label: RAN1", EQ_Q: r"The masked equation is $$M_{sc} = M_{RB} \cdot 12$$",
                  CODE_Q: "```c\n  return rnti == SI_RNTI;\n```",
                  QA_Q: "The AMF authenticates the UE, allocates a 5G-GUTI and registers it with the UDM.",
                  TIE_Q: "SDAP maps QoS flows to data radio bearers.",
                  GARBLE_Q: "The GTP-U echo request checks that the peer is alive.",
                  HARD_Q: "Answer: A"},
    "student-m": {MCQ_Q: "Answer: B", LABEL_Q: "SA2", EQ_Q: r"$M_{sc} = M_{RB} + 12$",
                  CODE_Q: "```c\n  return rnti == P_RNTI;\n```",
                  QA_Q: "The AMF stores user data.", TIE_Q: "It maps QoS flows onto DRBs.",
                  GARBLE_Q: "Echo requests are sent on the user plane to test paths.",
                  HARD_Q: "B) UPF"},
}
# judge scores per answer text (all four criteria); missing -> 5; GARBLE answers get prose, no JSON
JUDGE = {ANSWERS["teacher-m"][QA_Q]: 9, ANSWERS["student-m"][QA_Q]: 3,
         ANSWERS["teacher-m"][TIE_Q]: 7, ANSWERS["student-m"][TIE_Q]: 7,
         ANSWERS["teacher-m"][MCQ_Q]: 9, ANSWERS["student-m"][MCQ_Q]: 2,
         ANSWERS["teacher-m"][LABEL_Q]: 6, ANSWERS["student-m"][LABEL_Q]: 8}  # the judge is wrong on this one


def responder(body):
    messages = body["messages"]
    if body["model"] == "judge-m":
        user = messages[1]["content"]
        graded = user.split("## Answer to grade\n", 1)[1].split("\n\n## Rubric", 1)[0]
        if graded in (ANSWERS["teacher-m"][GARBLE_Q], ANSWERS["student-m"][GARBLE_Q]):
            return "This answer is quite good overall, I would say 8 out of 10."
        s = JUDGE.get(graded, 5)
        verdict = {"factual_accuracy": s, "completeness": s, "telecom_correctness": s, "clarity": s,
                   "rationale": f"graded {s}"}
        return "```json\n" + json.dumps(verdict) + "\n```"
    prompt = messages[-1]["content"]
    return ANSWERS[body["model"]][prompt]


def sft_row(i, task, question, answer, **extra):
    return {"id": f"sft-{i:03d}", "task": task, "source_id": f"doc-{i}", "clause_path": "4.2",
            "teacher_model": "gpt-sft", "prompt_version": f"{task}/1",
            "messages": [{"role": "system", "content": "You are a telecom standards expert."},
                         {"role": "user", "content": question}, {"role": "assistant", "content": answer}], **extra}


ROWS = [
    sft_row(1, "mcq", MCQ_Q, "E) SCMA"),
    sft_row(2, "wg_classification", LABEL_Q, "RAN1", labels=["RAN1", "RAN2", "SA2"]),
    sft_row(3, "masked_equation", EQ_Q, r"$M_{\mathrm{sc}} = M_{\mathrm{RB}} \cdot 12$"),
    sft_row(4, "code_mask", CODE_Q, "return rnti == SI_RNTI;"),
    sft_row(5, "clause_qa", QA_Q, "The AMF authenticates the UE and registers it."),
    sft_row(6, "clause_qa", TIE_Q, "SDAP maps QoS flows to DRBs."),
    sft_row(7, "clause_qa", GARBLE_Q, "An echo request tests the path."),
    sft_row(8, "mcq", HARD_Q, "C) AMF"),
]
BAD_ROW = {"id": "sft-999", "task": "clause_qa", "messages": [{"role": "assistant", "content": "no question"}]}


def write_sft(folder, rows, name="part-00000-of-00001.parquet"):
    os.makedirs(folder, exist_ok=True)
    columns = sorted({k for r in rows for k in r})
    table = pa.Table.from_pylist([{k: r.get(k) for k in columns} for r in rows])
    pq.write_table(table, os.path.join(folder, name))


@pytest.fixture
def server():
    with OpenAIServer(responder=responder) as srv:
        yield srv


@pytest.fixture
def sft_dir(tmp_path):
    root = tmp_path / "sft_out"
    write_sft(str(root / "sft"), ROWS[:4] + [BAD_ROW], "part-00000-of-00002.parquet")
    write_sft(str(root / "sft"), ROWS[4:], "part-00001-of-00002.parquet")
    return root


def run_cli(server, sft_dir, out, *extra):
    args = ["synth-preferences", "--input", str(sft_dir), "--output", str(out), "--base-url", server.base_url,
            "--candidate", "model=teacher-m,temperature=0.2,name=teacher",
            "--candidate", "model=student-m,temperature=1.0,name=student",
            "-k", "2", "--judge-model", "judge-m", "--no-progress", *extra]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result


def shard_bytes(out):
    folder = os.path.join(out, "preference")
    return {n: open(os.path.join(folder, n), "rb").read() for n in sorted(os.listdir(folder))}


def test_pairs_reports_and_determinism(server, sft_dir, tmp_path):
    out = tmp_path / "pref"
    result = run_cli(server, sft_dir, out)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["balanced"], [c for c in report["checks"] if not c["ok"]]

    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset("parquet", data_files=str(out / "preference" / "*.parquet"), split="train")
    # the README's loading code (docs/dpo.md) works on the output as is
    sure = ds.filter(lambda r: r["decided_by"] == "reference" or r["margin"] >= 2.0)
    sure = sure.select_columns(["prompt", "chosen", "rejected"])
    assert sure.num_rows == 5 and sure.column_names == ["prompt", "chosen", "rejected"]
    assert sure[0]["chosen"][0].keys() == {"role", "content"}
    rows = {r["sft_id"]: r for r in ds}
    assert sorted(rows) == ["sft-001", "sft-002", "sft-003", "sft-004", "sft-005"]
    for r in ds:  # TRL's conversational preference format
        assert [m["role"] for m in r["prompt"]] == ["system", "user"]
        assert [m["role"] for m in r["chosen"]] == ["assistant"] == [m["role"] for m in r["rejected"]]
        assert (r["chosen_model"], r["rejected_model"]) == ("teacher-m", "student-m")

    kinds = {"sft-001": "mcq", "sft-002": "label", "sft-003": "equation", "sft-004": "code"}
    by_id = {r["id"]: r for r in ROWS}
    for sft_id, kind in kinds.items():
        r = rows[sft_id]
        assert (r["decided_by"], r["answer_kind"], r["margin"]) == ("reference", kind, 1.0)
        reference = by_id[sft_id]["messages"][-1]["content"]
        prompt = r["prompt"][-1]["content"]
        assert check(kind, r["chosen"][0]["content"], reference, prompt=prompt,
                     labels=["RAN1", "RAN2", "SA2"]).correct
        assert not check(kind, r["rejected"][0]["content"], reference, prompt=prompt,
                         labels=["RAN1", "RAN2", "SA2"]).correct
        assert (r["chosen_verdict"], r["rejected_verdict"]) == ("correct", "wrong")
    assert rows["sft-001"]["judge_agrees"] == "agree" and rows["sft-002"]["judge_agrees"] == "disagree"
    qa = rows["sft-005"]
    assert (qa["decided_by"], qa["chosen_score"], qa["rejected_score"], qa["margin"]) == ("judge", 9.0, 3.0, 6.0)
    assert qa["chosen_rationale"] == "graded 9" and qa["judge_model"] == "judge-m"
    assert qa["chosen"][0]["content"] == ANSWERS["teacher-m"][QA_Q]

    pref = report["preference"]
    assert pref["per_task"]["clause_qa"]["dropped_by_rule"] == {"judge_parse_failure": 1, "tie": 1}
    assert pref["per_task"]["mcq"] == {"prompts": 2, "pairs": 1, "yield": 0.5, "by_reference": 1, "by_judge": 0,
                                       "dropped_by_rule": {"all_bad": 1}, "judge_margin": {"n": 0},
                                       "judge_agrees_with_reference": 1.0}
    assert pref["per_task"]["wg_classification"]["judge_agrees_with_reference"] == 0.0
    assert pref["per_task"]["clause_qa"]["judge_margin"]["mean"] == 6.0
    assert pref["decided_by"] == {"reference": 4, "judge": 1, "reference_share": 0.8, "judge_share": 0.2}
    assert pref["judge_calls"]["failed_by_kind"] == {"judge_parse_failure": 2}
    # one correct x one wrong candidate in four verified items (the fifth has no correct one)
    assert pref["judge_agreement"]["candidate_couples"] == 4
    assert pref["judge_agreement"]["couples_agree"] == 1  # mcq; label: the judge is wrong; equation, code: ties
    stages = report["stages"]
    assert stages["prepare"]["failed"] == 1 and stages["read_records"]["kept"] == 9
    assert stages["select"]["kept"] == 5 and stages["select"]["dropped"] == 3

    # accounting: every request the server answered is in the usage, tokens and all
    sent = server.chat_requests()
    assert report["totals"]["requests"] == len(sent) and report["totals"]["cached"] == 0
    assert report["usage"]["by_teacher"]["judge"]["requests"] == sum(b["model"] == "judge-m" for b in sent)
    assert report["totals"]["prompt_tokens"] > 0
    dropped = pq.read_table(out / "dropped").to_pylist()
    assert sorted(d["drop_rule"] for d in dropped) == ["all_bad", "judge_parse_failure", "tie"]
    assert all(len(d["candidates"]) == 2 and d["candidates"][0]["text"] for d in dropped)
    rejects = pq.read_table(out / "rejects").to_pylist()
    assert [(r["stage"], r["error"]) for r in rejects] == [("prepare", "bad SFT record: record has no user message")]
    assert "synth-preferences" in result.output and "clause_qa: 1/3 prompts" in result.output
    card = (out / "README.md").read_text()
    assert "preference/" in card and (out / "report.html").exists()  # the dataset card of the folder

    # same inputs and cached answers -> the same bytes, and nothing is sent again
    out2 = tmp_path / "pref2"
    before = len(sent)
    again = run_cli(server, sft_dir, out2, "--cache-dir", str(out / "_cache" / "teacher"))
    assert again.exit_code == 0, again.output
    assert len(server.chat_requests()) == before
    assert shard_bytes(out2) == shard_bytes(out)
    report2 = json.loads((out2 / "report.json").read_text())
    assert report2["totals"]["cached"] == report2["totals"]["requests"] == before
    assert report2["totals"]["cost_usd"] == 0


def test_bad_options_are_one_line_errors(tmp_path, sft_dir):
    cases = [
        (["-k", "1", "--model", "m"], "-k must be at least 2"),
        (["--candidate", "model=m,temp=1", "--judge-model", "j"], "unknown key 'temp'"),
        (["--candidate", "m@hot", "--judge-model", "j"], "temperature/top_p must be numbers"),
        (["--candidate", "m"], "name the judge"),
        (["--model", "m", "--answer-kind", "mcq=multiple"], "--answer-kind 'mcq=multiple'"),
        ([], "--model NAME or --candidate SPEC"),
        (["--candidate", "a", "--candidate", "b", "--candidate", "c", "-k", "2", "--judge-model", "j"],
         "fewer than the 3 candidate sources"),
        (["--candidate", "m", "--candidate", "m", "--judge-model", "j"], "distinct names"),
        (["--model", "m", "--bogus_beam_flag", "1"], "unknown option --"),
    ]
    for extra, message in cases:
        result = CliRunner().invoke(main, ["synth-preferences", "--input", str(sft_dir), "--output",
                                           str(tmp_path / "o"), *extra])
        assert result.exit_code == 2, (extra, result.output)
        assert message in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(main, ["synth-preferences", "--input", str(tmp_path / "missing"), "--output",
                                       str(tmp_path / "o"), "--model", "m"])
    assert result.exit_code == 2 and "no such file or folder" in result.output
    result = CliRunner().invoke(main, ["synth-preferences", "--input", str(sft_dir), "--output", str(sft_dir),
                                       "--model", "m"])
    assert result.exit_code == 2 and "separate output folder" in result.output
    plain = tmp_path / "plain"
    plain.mkdir()
    result = CliRunner().invoke(main, ["synth-preferences", "--input", str(plain), "--output", str(plain / "pref"),
                                       "--model", "m"])
    assert result.exit_code == 2 and "would be read as input" in result.output


def test_dry_run_counts_prompts_and_requests_without_calling(server, sft_dir, tmp_path):
    result = run_cli(server, sft_dir, tmp_path / "dry", "--dry-run", "--limit", "6")
    assert result.exit_code == 0, result.output
    assert server.chat_requests() == []
    assert "5 prompts from 2 file(s), 1 malformed records" in result.output
    assert re.search(r"mcq\s+mcq\s+1 prompts", result.output)
    assert re.search(r"teacher\s+teacher-m\s+5 to send", result.output)
    assert re.search(r"judge \(at most\)\s+judge-m\s+10 to send", result.output)
    assert not (tmp_path / "dry").exists()


def pairwise_responder(biased):
    """The test judge, plus pairwise questions: a fair judge prefers the answer it scores higher; a
    position-biased one always says "A"."""
    def reply(body):
        user = body["messages"][-1]["content"]
        if body["model"] == "judge-m" and "## Answer A\n" in user:
            if biased:
                return '{"better": "A", "rationale": "the first one"}'
            a = user.split("## Answer A\n", 1)[1].split("\n\n## Answer B", 1)[0]
            b = user.split("## Answer B\n", 1)[1].split("\n\n## Output", 1)[0]
            return json.dumps({"better": "A" if JUDGE.get(a, 5) > JUDGE.get(b, 5) else "B", "rationale": "fair"})
        return responder(body)
    return reply


@pytest.mark.parametrize("biased", [False, True])
def test_pairwise_confirmation_in_both_orders(tmp_path, sft_dir, biased):
    with OpenAIServer(responder=pairwise_responder(biased)) as server:
        out = tmp_path / "out"
        result = run_cli(server, sft_dir, out, "--judge-confirm")
        assert result.exit_code == 0, result.output
        asked = [b for b in server.chat_requests() if "## Answer A\n" in b["messages"][-1]["content"]]
    report = json.loads((out / "report.json").read_text())
    assert report["balanced"]
    # only the judge-decided pair (clause_qa, 9 vs 3) is asked about, once in each order
    assert len(asked) == 2
    # the two requests run concurrently, so their arrival order says nothing: one has each answer first
    orders = sorted(
        "teacher first" if text.index(ANSWERS["teacher-m"][QA_Q]) < text.index(ANSWERS["student-m"][QA_Q])
        else "student first" for text in (b["messages"][-1]["content"] for b in asked))
    assert orders == ["student first", "teacher first"]
    qa = report["preference"]["per_task"]["clause_qa"]
    pairs = {r["sft_id"]: r for r in pq.read_table(out / "preference").to_pylist()}
    if biased:
        assert qa["pairs"] == 0 and qa["dropped_by_rule"]["judge_inconsistent"] == 1
        assert report["preference"]["judge_pairwise"]["not_confirmed"] == {"inconsistent": 1}
    else:
        assert qa["pairs"] == 1 and pairs["sft-005"]["judge_pairwise"] == "confirmed"
        assert report["preference"]["judge_pairwise"] == {"asked": 1, "confirmed": 1, "not_confirmed": {}}
    assert pairs["sft-001"]["judge_pairwise"] is None  # reference-decided pairs need no confirmation


def test_the_sft_answer_can_join_the_candidates(tmp_path, sft_dir):
    with OpenAIServer(responder=responder) as server:
        out = tmp_path / "out"
        result = run_cli(server, sft_dir, out, "--include-sft-answer", "--no-judge-verifiable")
        assert result.exit_code == 0, result.output
    pairs = {r["sft_id"]: r for r in pq.read_table(out / "preference").to_pylist()}
    hard = pairs["sft-008"]  # both endpoint models are wrong; the SFT answer is right
    assert (hard["chosen_model"], hard["chosen"][0]["content"], hard["decided_by"]) == ("gpt-sft", "C) AMF",
                                                                                      "reference")
    assert hard["rejected_verdict"] == "wrong" and len(hard["candidates"]) == 3


def test_benchmark_overlap_in_prompt_or_generated_answer_is_rejected(server, sft_dir, tmp_path):
    """The build-pretrain matching, on DPO data: a prompt holding a benchmark question is dropped before
    any candidate is bought; a pair whose generated answer holds a benchmark item is dropped at select."""
    bench = tmp_path / "eval.jsonl"
    bench.write_text("\n".join(json.dumps({"id": i, "question": q}) for i, q in (
        ("nomaq", MCQ_Q.split("\n")[0]), ("amf", ANSWERS["teacher-m"][QA_Q]), ("sdap", "What is SDAP for?"))))
    out = tmp_path / "pref"
    result = run_cli(server, sft_dir, out, "--benchmark", str(bench))
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["balanced"]
    assert report["stages"]["prepare"]["dropped_by_rule"] == {"contaminated": 1}
    assert report["stages"]["select"]["dropped_by_rule"]["contaminated"] == 1
    pairs = {r["sft_id"] for r in pq.read_table(out / "preference").to_pylist()}
    assert pairs == {"sft-002", "sft-003", "sft-004"}  # sft-001 (prompt) and sft-005 (answer) are gone
    dropped = {(d["drop_stage"], d["drop_detail"]) for d in pq.read_table(out / "dropped").to_pylist()
               if d["drop_rule"] == "contaminated"}
    assert dropped == {("prepare", "prompt matches eval:nomaq"), ("select", "generated answer matches eval:amf")}
    sent = [b["messages"][-1]["content"] for b in server.chat_requests()]
    assert MCQ_Q not in sent  # no candidate was bought for the contaminated prompt

    bad = tmp_path / "oran.json"
    bad.write_text('[["question", ["1. a"], "1"]\n["broken"')
    result = run_cli(server, sft_dir, tmp_path / "pref2", "--benchmark", str(bad))
    assert result.exit_code == 2 and "oran.json" in result.output and "Traceback" not in result.output


CSAT_Q = "What does CSAT stand for?"  # a benchmark's short question (under 8 words)
UPF_Q = "Explain the role of the UPF in the 5G core network."
SHORT_ANSWERS = {
    "teacher-m": {CSAT_Q: "Customer satisfaction.",
                  UPF_Q: "The UPF forwards user plane packets between the RAN and the data network. "
                         "What is a mesh link? It applies QoS enforcement and usage reporting."},
    "student-m": {CSAT_Q: "Carrier sense.", UPF_Q: "It stores subscriber data."},
}


def short_question_responder(body):
    if body["model"] == "judge-m":
        graded = body["messages"][1]["content"].split("## Answer to grade\n", 1)[1].split("\n\n## Rubric", 1)[0]
        teacher_answers = {*SHORT_ANSWERS["teacher-m"].values(), *ANSWERS["teacher-m"].values()}
        s = 9 if graded in teacher_answers else 3
        return json.dumps({"factual_accuracy": s, "completeness": s, "telecom_correctness": s, "clarity": s,
                           "rationale": f"graded {s}"})
    prompt = body["messages"][-1]["content"]
    if prompt in SHORT_ANSWERS[body["model"]]:
        return SHORT_ANSWERS[body["model"]][prompt]
    return responder(body)


def test_short_benchmark_questions_in_a_prompt_or_a_generated_answer_are_rejected(tmp_path):
    """Short questions (under 8 words: no 13-word n-gram) match as a whole sentence, in a prompt
    (dropped before any candidate is bought) and in a generated answer (dropped at select); the
    benchmark is a JSON list of objects."""
    sft = tmp_path / "sft_in"
    write_sft(str(sft / "sft"), [sft_row(1, "clause_qa", CSAT_Q, "Customer satisfaction."),
                                 sft_row(2, "clause_qa", UPF_Q, "The UPF forwards user plane packets."),
                                 sft_row(3, "clause_qa", QA_Q, "The AMF authenticates the UE and registers it.")])
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps([{"id": "q-csat", "question": CSAT_Q, "answer": "Customer satisfaction"},
                                 {"id": "q-mesh", "question": "What is a mesh link?"},
                                 {"id": "q-long", "question": "Which network function of the 5G core allocates "
                                                              "IP addresses to the UE during PDU session setup?"}]))
    out = tmp_path / "pref"
    with OpenAIServer(responder=short_question_responder) as srv:
        result = run_cli(srv, sft, out, "--benchmark", str(bench))
        sent = [b["messages"][-1]["content"] for b in srv.chat_requests()]
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["balanced"]
    assert report["stages"]["prepare"]["dropped_by_rule"] == {"contaminated": 1}
    assert report["stages"]["select"]["dropped_by_rule"]["contaminated"] == 1
    dropped = {(d["drop_stage"], d["drop_detail"]) for d in pq.read_table(out / "dropped").to_pylist()
               if d["drop_rule"] == "contaminated"}
    assert dropped == {("prepare", "prompt matches bench:q-csat"), ("select", "generated answer matches bench:q-mesh")}
    assert CSAT_Q not in sent  # no candidate was bought for the contaminated prompt
    assert {r["sft_id"] for r in pq.read_table(out / "preference").to_pylist()} == {"sft-003"}


def test_a_stage_that_fails_every_record_exits_non_zero_with_one_line(server, tmp_path):
    # Parquet files that are not SFT shards (no conversation column): every file fails at read
    write_sft(str(tmp_path / "in" / "sft"), [{"id": "x1", "text": "a pre-training record"}],
              "part-00000-of-00002.parquet")
    write_sft(str(tmp_path / "in" / "sft"), [{"id": "x2", "text": "another one"}], "part-00001-of-00002.parquet")
    result = run_cli(server, tmp_path / "in", tmp_path / "out")
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("telecom-etl: error:")]
    assert len(lines) == 1, result.output
    assert lines[0] == ("telecom-etl: error: stage read failed every record (2 files); commonest error: not an SFT "
                        "shard: no messages/conversations/instruction/prompt column (2 of 2)")
    assert "Traceback" not in result.output


def test_the_output_folder_is_locked_staged_interruptible_and_follows_the_umask(sft_dir, tmp_path):
    """RunFolder through synth-preferences: as tests/test_synth_pipeline.py checks it for
    synth-instructions (umask, staging, the lock, SIGINT 130 / SIGTERM 143, the folder as before)."""
    from runfolder_checks import check_run_folder

    check_run_folder(tmp_path, lambda out, url, cache: [
        "synth-preferences", "--input", str(sft_dir), "--output", str(out), "--base-url", url,
        "--candidate", "model=teacher-m,temperature=0.2,name=teacher",
        "--candidate", "model=student-m,temperature=1.0,name=student",
        "-k", "2", "--judge-model", "judge-m", "--cache-dir", str(cache), "--no-progress"], responder, "preference")
