"""Judge prompt and parser, pair selection with margins and counted drop reasons, the DPO row."""
from __future__ import annotations

import pyarrow as pa
import pytest

from telecom_etl.outcome import Dropped
from telecom_etl.synth.preferences.judge import (RUBRIC, JudgeParseError, judge_messages, overall,
                                                 parse_judgement)
from telecom_etl.synth.preferences.schema import (PREFERENCE_SCHEMA, Candidate, Pair, PreferenceItem,
                                                  SFTRecordError, item_from_sft)
from telecom_etl.synth.preferences.select import select_pair
from telecom_etl.synth.preferences.verify import answer_kind

PROMPT = [{"role": "system", "content": "You are a 3GPP expert."},
          {"role": "user", "content": "What does the AMF do during registration?"}]


def scores(*values):
    return dict(zip([c.name for c in RUBRIC], values))


# ---- judge ----------------------------------------------------------------------------

def test_judge_prompt_shows_one_answer_with_source_reference_and_rubric():
    msgs = judge_messages(PROMPT, "It authenticates the UE.", passage="Clause 4.2.2.2 ...", reference="The AMF ...")
    assert [m["role"] for m in msgs] == ["system", "user"]
    body = msgs[1]["content"]
    for needle in ("What does the AMF do", "Clause 4.2.2.2", "The AMF ...", "It authenticates the UE.",
                   *[c.name for c in RUBRIC], "JSON"):
        assert needle in body
    assert "model" not in body.lower().split("## answer to grade")[1]  # the judge never learns who wrote it


@pytest.mark.parametrize("reply,expected", [
    ('{"factual_accuracy": 8, "completeness": 7, "telecom_correctness": 9, "clarity": "8/10", "rationale": "ok"}',
     (8, 7, 9, 8)),
    ('Here you go:\n```json\n{"scores": {"accuracy": 3, "completeness": 4, "telecom_correctness": 2, '
     '"clarity": 6,}, "reasoning": "wrong value {x}"}\n```', (3, 4, 2, 6)),
    ("{'factual_accuracy': {'score': 9, 'reason': 'a'}, 'completeness': 9, 'telecom_correctness': 9, "
     "'clarity': 9}", (9, 9, 9, 9)),
    ('<think>{"draft": 1}</think>{"factual_accuracy": 11, "completeness": 0, "telecom_correctness": 5, '
     '"clarity": 5, "rationale": "x"}', (10, 1, 5, 5)),  # clamped to 1..10
    ('{"factual_accuracy": "4/5", "completeness": 10, "telecom_correctness": 10, "clarity": 10}', (8, 10, 10, 10)),
])
def test_judge_replies_parse_leniently(reply, expected):
    j = parse_judgement(reply)
    assert tuple(j.scores[c.name] for c in RUBRIC) == expected
    assert j.overall == overall(j.scores)


@pytest.mark.parametrize("reply", ["", "I think it is good. 8/10", '{"factual_accuracy": 8}', "{not json",
                                   '["factual_accuracy", 8]'])
def test_unusable_judge_replies_raise_a_parse_error(reply):
    with pytest.raises(JudgeParseError):
        parse_judgement(reply)


def test_overall_is_the_weighted_rubric_mean():
    assert abs(sum(c.weight for c in RUBRIC) - 1.0) < 1e-9
    assert overall(scores(10, 10, 10, 10)) == 10.0
    assert overall(scores(2, 10, 2, 10)) < overall(scores(10, 2, 10, 2))  # facts weigh more than form


# ---- selection ------------------------------------------------------------------------

def cand(text, model="m", judge=None, verdict=None, sample=0, finish="stop", error=None, judge_error=None):
    return Candidate(teacher=model, model=model, temperature=0.7, sample=sample, text=text, finish_reason=finish,
                     error=error, verdict=verdict, judge_score=judge, judge_error=judge_error,
                     rationale=None if judge is None else f"scored {judge}")


def item(candidates, kind="free", reference=None, task="qa"):
    return PreferenceItem(id="p1", sft_id="s1", task=task, answer_kind=kind, prompt=PROMPT, uri="x.parquet",
                          reference=reference, candidates=candidates)


def test_reference_decides_verifiable_items():
    it = item([cand("B", "strong", verdict="wrong"), cand("E", "weak", verdict="correct"),
               cand("hmm", "weak", verdict="unparsed", sample=1)], kind="mcq", reference="E")
    pair = select_pair(it)
    assert isinstance(pair, Pair)
    assert (pair.decided_by, pair.chosen.text, pair.rejected.text, pair.margin) == ("reference", "E", "B", 1.0)
    assert pair.judge_agrees is None  # the judge did not score them


def test_judge_ranks_correct_answers_and_its_agreement_is_recorded():
    it = item([cand("E short", judge=6.0, verdict="correct"), cand("E detailed", judge=9.0, verdict="correct"),
               cand("B", judge=7.5, verdict="wrong")], kind="mcq", reference="E")
    pair = select_pair(it, judge_model="judge-m")
    assert (pair.chosen.text, pair.rejected.text, pair.judge_agrees) == ("E detailed", "B", "agree")
    it = item([cand("E", judge=4.0, verdict="correct"), cand("B", judge=8.0, verdict="wrong")], kind="mcq",
              reference="E")
    assert select_pair(it).judge_agrees == "disagree"


def test_no_correct_candidate_is_all_bad_and_all_correct_goes_to_the_judge():
    bad = select_pair(item([cand("B", verdict="wrong"), cand("C", verdict="unparsed")], kind="mcq", reference="E"))
    assert isinstance(bad, Dropped) and bad.rule == "all_bad"
    unjudged = select_pair(item([cand("E", verdict="correct"), cand("(E)", verdict="correct")], kind="mcq",
                                reference="E"))
    assert unjudged.rule == "all_correct"
    judged = select_pair(item([cand("E.", judge=9.0, verdict="correct"), cand("(E)", judge=5.0, verdict="correct")],
                              kind="mcq", reference="E"))
    assert (judged.decided_by, judged.chosen.text, judged.margin) == ("judge", "E.", 4.0)


def test_a_truncated_correct_answer_is_never_chosen():
    it = item([cand("E ... (cut)", verdict="correct", finish="length"), cand("B", verdict="wrong")],
              kind="mcq", reference="E")
    assert select_pair(it).rule == "all_bad"


def test_judge_decides_free_items_with_a_margin():
    pair = select_pair(item([cand("a", judge=8.5), cand("b", judge=3.0), cand("c", judge=7.9)]), min_margin=1.0)
    assert (pair.decided_by, pair.chosen.text, pair.rejected.text, pair.margin) == ("judge", "a", "b", 5.5)
    assert pair.chosen_score == 8.5 and pair.rejected_score == 3.0


@pytest.mark.parametrize("candidates,rule", [
    ([], "no_candidates"),
    ([cand(None, error="server_error"), cand(None, error="server_error")], "no_candidates"),
    ([cand("a", judge=8.0), cand(None, error="timeout")], "single_candidate"),
    ([cand("same  answer", judge=8.0), cand("same answer", judge=8.0)], "identical_candidates"),
    ([cand("a", judge=7.0), cand("b", judge=7.0)], "tie"),
    ([cand("a", judge=7.5), cand("b", judge=7.0)], "margin_too_small"),
    ([cand("a", judge=5.0), cand("b", judge=2.0)], "all_bad"),
    ([cand("a", judge_error="judge_parse_failure"), cand("b", judge=8.0)], "judge_parse_failure"),
    ([cand("a", judge_error="server_error"), cand("b", judge_error="server_error")], "judge_failed"),
])
def test_items_without_a_clear_pair_are_dropped_with_a_named_rule(candidates, rule):
    got = select_pair(item(candidates), min_margin=1.0, min_chosen_score=6.0)
    assert isinstance(got, Dropped), got
    assert got.rule == rule and got.detail


# ---- records and the DPO row --------------------------------------------------------------

def kind_of(task, declared):
    return answer_kind(task, declared)


def test_sft_rows_become_prompts_with_their_reference():
    row = {"id": "sft-1", "task": "mcq", "source_id": "doc-9", "clause_path": "5.3", "prompt_version": "mcq/2",
           "teacher_model": "gpt-x",
           "messages": [{"role": "system", "content": "Answer with the letter."},
                        {"role": "user", "content": MCQ_Q}, {"role": "assistant", "content": "E) SCMA"}]}
    it = item_from_sft(row, "in/sft/part-0.parquet", kind_of)
    assert it.prompt == row["messages"][:2] and it.reference == "E) SCMA" and it.answer_kind == "mcq"
    assert (it.sft_id, it.source_id, it.clause_path, it.sft_model, it.source) == (
        "sft-1", "doc-9", "5.3", "gpt-x", "mcq")
    free = item_from_sft({**row, "task": "clause_qa", "extra": [("reference", "ref text")]}, "u", kind_of)
    assert free.answer_kind == "free" and free.reference == "ref text"
    no_ref = item_from_sft({**row, "task": "clause_qa"}, "u", kind_of)
    assert no_ref.reference is None and no_ref.sft_answer == "E) SCMA"
    assert item_from_sft({**row, "id": None}, "u", kind_of).sft_id == item_from_sft({**row, "id": None}, "v",
                                                                                      kind_of).sft_id
    for bad in ({"task": "x"}, {"messages": [{"role": "assistant", "content": "only"}]},
                {"messages": [{"role": "user"}]}):
        with pytest.raises(SFTRecordError):
            item_from_sft(bad, "u", kind_of)


MCQ_Q = "Which scheme uses MPA?\nA) NOMA\nB) PDMA\nE) SCMA"


def test_pair_rows_fit_the_dpo_schema_in_trl_conversational_form():
    it = item([cand("good", "teacher", judge=9.0), cand("poor", "student", judge=2.0)])
    pair = select_pair(it, judge_model="judge-m")
    row = pair.to_row()
    table = pa.Table.from_pylist([row], schema=PREFERENCE_SCHEMA)
    got = table.to_pylist()[0]
    assert got["prompt"] == PROMPT
    assert got["chosen"] == [{"role": "assistant", "content": "good"}]
    assert got["rejected"] == [{"role": "assistant", "content": "poor"}]
    assert (got["chosen_model"], got["rejected_model"], got["margin"], got["decided_by"]) == (
        "teacher", "student", 7.0, "judge")
    assert got["chosen_rationale"] == "scored 9.0" and got["judge_model"] == "judge-m"
    assert [c["model"] for c in got["candidates"]] == ["teacher", "student"]


def test_judge_score_struct_names_the_rubric():
    from telecom_etl.synth.preferences.schema import JUDGE_SCORES

    assert [f.name for f in JUDGE_SCORES] == [c.name for c in RUBRIC]


def test_reasoning_blocks_are_not_part_of_the_answer():
    from telecom_etl.synth.preferences.candidates import answer_text

    assert answer_text("<think>option B? no, E.</think>\n\nThe answer is E.") == "The answer is E."
    assert answer_text("<think>still thinking when the tokens ran out") == ""
    assert answer_text("No reasoning block.") == "No reasoning block."


@pytest.mark.parametrize("reply,expected", [
    ('{"better": "A", "rationale": "x"}', "A"), ('```json\n{"winner": "b"}\n```', "B"), ("better: tie", "tie"),
    ("**B**", "B"),
])
def test_pairwise_replies_parse(reply, expected):
    from telecom_etl.synth.preferences.judge import parse_preference

    assert parse_preference(reply) == expected


def test_a_pair_the_judge_does_not_confirm_in_both_orders_is_dropped():
    it = item([cand("a", judge=9.0), cand("b", judge=3.0)])
    it.pairwise = {"chosen": 0, "rejected": 1, "verdict": "inconsistent",
                   "detail": "chosen first: A, rejected first: A"}
    got = select_pair(it)
    assert isinstance(got, Dropped) and got.rule == "judge_inconsistent" and "rejected first: A" in got.detail
    it.pairwise = {"chosen": 0, "rejected": 1, "verdict": "confirmed"}
    assert select_pair(it).pairwise == "confirmed"
    it.pairwise = {"chosen": 0, "rejected": 1, "verdict": "server_error"}
    assert select_pair(it).rule == "judge_failed"


@pytest.mark.parametrize("row", [
    {"messages": [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}]},
    {"conversations": [{"from": "human", "value": "Q?"}, {"from": "gpt", "value": "A."}]},
    {"instruction": "Q?", "input": "", "output": "A."},
    {"prompt": "Q?", "completion": "A."},
    {"prompt": [{"role": "user", "content": "Q?"}], "completion": [{"role": "assistant", "content": "A."}]},
])
def test_sft_rows_in_the_usual_layouts_of_the_field(row):
    it = item_from_sft({**row, "task": "qa"}, "u", kind_of)
    assert it.prompt == [{"role": "user", "content": "Q?"}] and it.sft_answer == "A."


def test_alpaca_input_and_system_join_the_prompt():
    it = item_from_sft({"instruction": "Classify:", "input": "TS 38.211 text", "system": "Be brief.",
                        "output": "RAN1", "task": "wg_classification"}, "u", kind_of)
    assert it.prompt == [{"role": "system", "content": "Be brief."},
                         {"role": "user", "content": "Classify:\n\nTS 38.211 text"}]
    assert it.reference == "RAN1" and it.answer_kind == "label"
