"""synth-preferences on SFT shards in the synth-instructions format (SFT_SCHEMA rows from the real tasks)."""
from __future__ import annotations

import json
import os
import sys

import pyarrow as pa
import pyarrow.parquet as pq
from click.testing import CliRunner

sys.path.insert(0, os.path.dirname(__file__))
from openai_server import OpenAIServer  # noqa: E402

from telecom_etl.cli import main  # noqa: E402
from telecom_etl.synth.chunking import Passage  # noqa: E402
from telecom_etl.synth.preferences.schema import item_from_sft  # noqa: E402
from telecom_etl.synth.preferences.verify import answer_kind, check  # noqa: E402
from telecom_etl.synth.sft_schema import SFT_SCHEMA, sft_row  # noqa: E402
from telecom_etl.synth.tasks.abbreviations import Abbreviations  # noqa: E402
from telecom_etl.synth.tasks.base import Prompt  # noqa: E402
from telecom_etl.synth.tasks.classification import WorkingGroupClassification  # noqa: E402
from telecom_etl.synth.tasks.code import CodeInfill  # noqa: E402
from telecom_etl.synth.tasks.math_infill import MathInfill  # noqa: E402
from telecom_etl.synth.tasks.mcq import MultipleChoice  # noqa: E402
from telecom_etl.synth.tasks.open_qa import OpenQA  # noqa: E402

META = {"spec_number": "38.211", "spec_type": "TS", "spec_version": "18.1.0", "working_group": "RAN1",
        "spec_series": "38"}
PHY = ("The number of subcarriers of the PUSCH allocation follows from the number of resource blocks. "
       "Each resource block spans twelve consecutive subcarriers in the frequency domain, so the bandwidth "
       "of the scheduled transmission grows linearly with the allocation:\n\n"
       "$$M_{\\mathrm{sc}}^{\\mathrm{PUSCH}} = M_{\\mathrm{RB}}^{\\mathrm{PUSCH}} "
       "\\cdot N_{\\mathrm{sc}}^{\\mathrm{RB}}$$"
       "\n\nwhere the resource block size is fixed for all numerologies and the allocation is signalled in DCI.")
CODE = "\n".join(["int rnti_type(int rnti) {", "  if (rnti == 0xFFFF) {", "    return SI_RNTI;", "  }",
                  "  if (rnti == 0xFFFE) {", "    return P_RNTI;", "  }", "  return C_RNTI;", "}"])


def real_sft_rows():
    phy = Passage(doc_id="doc-38211", source="specs", kind="3gpp", section="6.3.1.4", section_title="Transform "
                  "precoding", text=PHY, title="NR physical channels", meta=dict(META))
    code = Passage(doc_id="doc-code", source="code", kind="code", section="rnti_type", section_title="rnti_type",
                   text=CODE, meta={"code_language": "c", "path": "src/rnti.c"})
    abbr = Passage(doc_id="doc-21905", source="specs", kind="3gpp", section="4", section_title="Abbreviations",
                   text="AMF\tAccess and Mobility Management Function\nSMF\tSession Management Function",
                   meta={"spec_number": "21.905", "working_group": "SA1", "spec_series": "21"})
    pairs = WorkingGroupClassification().offline(phy) + MathInfill().offline(phy) + CodeInfill().offline(code)
    pairs += Abbreviations().offline(abbr)
    mcq, qa = MultipleChoice(), OpenQA()
    mcq_answer = {"items": [{"question": "How many subcarriers does one NR resource block span?",
                             "options": ["6", "12", "14", "24"], "answer": 2,
                             "explanation": "A resource block is twelve subcarriers."}]}
    pairs += mcq.parse(Prompt("mcq", phy, mcq.prompts(phy)[0].request), json.dumps(mcq_answer))
    qa_answer = {"items": [{"question": "How does the PUSCH bandwidth grow with the allocation?",
                            "answer": "Linearly: twelve subcarriers per resource block.", "evidence": "..."}]}
    pairs += qa.parse(Prompt("open_qa", phy, qa.prompts(phy)[0].request), json.dumps(qa_answer))
    return [sft_row(p) for p in pairs]


def kind_of(task, declared):
    return answer_kind(task, declared)


def test_every_synth_instructions_task_maps_to_its_answer_kind_and_reference():
    rows = real_sft_rows()
    items = {}
    for row in rows:
        it = item_from_sft(row, "sft/part-0.parquet", kind_of)
        items.setdefault((it.task, it.answer_kind), []).append((row, it))
    assert sorted(items) == [("abbreviations", "expansion"), ("code_infill", "code"), ("math_infill", "equation"),
                             ("mcq", "mcq"), ("open_qa", "free"), ("wg_classification", "label")]
    for (task, kind), members in items.items():
        for row, it in members:
            assert it.sft_id == row["id"] and it.source_id == row["doc_id"] and it.clause_path == row["section"]
            assert it.prompt == row["messages"][:-1] and it.reference
            if kind != "free":  # the record's own answer passes its own check
                assert check(kind, row["messages"][-1]["content"], it.reference,
                             prompt=it.prompt[-1]["content"], options=it.options, labels=it.labels).correct, task
    row, mcq = items[("mcq", "mcq")][0]
    fields = json.loads(row["fields"])
    assert mcq.options == dict(enumerate(fields["options"], 1)) and mcq.options[int(mcq.reference)] == "12"
    wg = [it for _, it in items[("wg_classification", "label")]]
    assert {it.reference for it in wg} == {"RAN1", "38"}
    assert "RAN1" in next(it for it in wg if it.reference == "RAN1").labels
    assert items[("open_qa", "free")][0][1].reference == "Linearly: twelve subcarriers per resource block."


WRONG = {"mcq": "option 4: 24", "label": "RAN2. The text is from an RRC specification.",
         "equation": "$$M_{sc}^{PUSCH} = M_{RB}^{PUSCH} + N_{sc}^{RB}$$", "code": "```c\n    return P_RNTI;\n```",
         "expansion": "It stands for Authentication Management Function."}


def test_pipeline_on_real_sft_shards_picks_the_reference_answer(tmp_path):
    rows = real_sft_rows()
    folder = tmp_path / "sft_run" / "sft"
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=SFT_SCHEMA), folder / "part-00000-of-00001.parquet")
    by_prompt = {r["messages"][-2]["content"]: r for r in rows}

    def responder(body):
        if body["model"] == "judge":
            return json.dumps({"factual_accuracy": 8, "completeness": 8, "telecom_correctness": 8, "clarity": 8,
                               "rationale": "fine"})
        row = by_prompt[body["messages"][-1]["content"]]
        kind = item_from_sft(row, "x", kind_of).answer_kind
        if body["model"] == "good":
            return row["messages"][-1]["content"]
        return WRONG.get(kind, "I am not sure.")

    with OpenAIServer(responder=responder) as server:
        out = tmp_path / "pref"
        result = CliRunner().invoke(main, [
            "synth-preferences", "-i", str(tmp_path / "sft_run"), "-o", str(out), "--base-url", server.base_url,
            "--candidate", "good@0.3", "--candidate", "weak@1.0", "-k", "2", "--judge-model", "judge",
            "--no-judge-verifiable", "--no-progress"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["balanced"]
    pairs = pq.read_table(out / "preference").to_pylist()
    verified = [p for p in pairs if p["decided_by"] == "reference"]
    assert {p["task"] for p in verified} == {"mcq", "wg_classification", "math_infill", "code_infill",
                                            "abbreviations"}
    for p in verified:
        assert p["chosen_model"] == "good" and p["chosen_verdict"] == "correct"
        assert p["chosen"][0]["content"] == by_prompt[p["prompt"][-1]["content"]]["messages"][-1]["content"]
    # the judge was asked only about the free-form task (its answers tie at 8: dropped, counted)
    assert report["preference"]["per_task"]["open_qa"]["dropped_by_rule"] == {"tie": 1}
    judged = [b for b in server.chat_requests() if b["model"] == "judge"]
    assert len(judged) == 2 and all("How does the PUSCH bandwidth" in b["messages"][1]["content"] for b in judged)
    assert report["preference"]["decided_by"]["reference"] == len(verified) == len(pairs)
