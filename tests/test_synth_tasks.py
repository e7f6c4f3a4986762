"""Passages, task prompts/parsers and pair validation of synth-instructions (pure, no Beam)."""
from __future__ import annotations

import json

import pytest

from conftest import corpus_file
from telecom_etl.record import Document
from telecom_etl.synth.chunking import code_units, passages_of, sections_of
from telecom_etl.synth.instructions import Item, SynthSettings, apply_budget, pairs_from_answer
from telecom_etl.synth.tasks import TASKS, Rejected, build_tasks
from telecom_etl.synth.tasks.abbreviations import Abbreviations, split_abbreviation, split_definition
from telecom_etl.synth.tasks.classification import WorkingGroupClassification
from telecom_etl.synth.tasks.code import CodeInfill, CodeSummarise
from telecom_etl.synth.tasks.math_infill import MathInfill
from telecom_etl.synth.tasks.mcq import MultipleChoice
from telecom_etl.synth.tasks.open_qa import OpenQA
from telecom_etl.synth.teacher import ChatResult
from telecom_etl.synth.validate import PairValidator, ValidationConfig

SPEC_MD = """# 1 Scope

The present document specifies the Radio Resource Control protocol for the radio interface between UE and NG-RAN.

# 3 Definitions, symbols and abbreviations

## 3.1 Definitions

For the purposes of the present document, the terms and definitions given in TR 21.905 [1] and the following apply:

**Dedicated signalling**: signalling sent on DCCH logical channel between the network and a single UE.

Field: The individual contents of an information element are referred to as fields.

NOTE: a note that is not a definition.

Primary Cell: see PCell.

## 3.2 Abbreviations

For the purposes of the present document, the following abbreviations apply:

AM\tAcknowledged Mode
ARQ Automatic Repeat Request
gNB next generation Node B
1x RTT CDMA2000 1x Radio Transmission Technology

# 5 Procedures

## 5.3.5 RRC reconfiguration

The purpose of this procedure is to modify an RRC connection, e.g. to establish, modify and release radio bearers, \
to perform reconfiguration with sync, to setup, modify and release measurements. The UE shall perform the \
reconfiguration procedure as specified below. Upon reception of the RRCReconfiguration message the UE shall \
apply the new configuration and submit the RRCReconfigurationComplete message to lower layers for transmission.

The transmit power is set as

$$P = \\min(P_{CMAX}, P_{0} + \\alpha \\cdot PL)$$

where PL is the downlink path loss estimate calculated in the UE and P_0 is configured by the network per cell.
Further text follows so that the context around the equation is long enough for a meaningful infill question.

```asn1
# 9 Not a heading inside code
RRCReconfiguration ::= SEQUENCE { rrc-TransactionIdentifier INTEGER }
```
"""


def spec_doc(text: str = SPEC_MD, **kw) -> Document:
    fields = dict(id="spec1", text=text, source="specs", kind="3gpp", uri="/x/38331-i10.docx",
                  spec_number="38.331", spec_type="TS", spec_version="18.1.0", spec_series="38",
                  working_group="RAN2")
    fields.update(kw)
    return Document(**fields)


def test_sections_follow_clause_headings_and_ignore_code_fences():
    sections = sections_of(SPEC_MD)
    paths = [s.path for s in sections]
    assert paths == ["1", "3", "3.1", "3.2", "5", "5.3.5"]
    rrc = sections[-1]
    assert rrc.title == "RRC reconfiguration" and rrc.trail == ["5 Procedures"]
    assert "# 9 Not a heading" in rrc.text  # inside ``` it is code, not a clause


def test_unnumbered_headings_are_qualified_by_their_section():
    paper = ("# A Paper Title\n\n## I. INTRODUCTION\n\nIntro.\n\n## II. SYSTEM MODEL\n\n### A. Network Model\n\n"
             "Net.\n\n## III. ANALYSIS\n\n### A. Network Model\n\nAgain.")
    assert [s.path for s in sections_of(paper)] == [
        "A Paper Title", "I. INTRODUCTION", "II. SYSTEM MODEL", "II. SYSTEM MODEL/A. Network Model",
        "III. ANALYSIS", "III. ANALYSIS/A. Network Model"]
    vocabulary = "# 3 Terms and definitions\n\n## A\n\nx: y\n\n# 4 Abbreviations\n\n## A\n\nAB\tA B"
    assert [s.path for s in sections_of(vocabulary)] == ["3", "3/A", "4", "4/A"]


def test_plain_numbered_headings_of_older_extractions_and_toc_lines():
    text = "Contents\n\n1\tScope\t5\n\n5.1\tRRC connection establishment\t7\n\n1\tScope\n\nThe scope text.\n\n" \
           "5.1\tRRC connection establishment\n\nThe establishment text."
    sections = sections_of(text)
    assert [(s.path, s.title) for s in sections][-2:] == [("1", "Scope"), ("5.1", "RRC connection establishment")]
    assert sections[-1].text == "The establishment text."


def test_passages_carry_provenance_and_long_sections_are_windowed():
    doc = spec_doc()
    passages = passages_of(doc, min_chars=100, max_chars=6000)
    rrc = next(p for p in passages if p.section == "5.3.5")
    assert rrc.citation() == "3GPP TS 38.331 V18.1.0, clause 5.3.5 (RRC reconfiguration)"
    assert rrc.meta["working_group"] == "RAN2" and rrc.doc_id == "spec1"
    long_doc = spec_doc(text="## 4 General\n\n" + "\n\n".join(f"Paragraph {i} " + "word " * 150 for i in range(20)))
    windows = passages_of(long_doc, min_chars=100, max_chars=2000)
    assert len(windows) > 5 and all(len(w.text) <= 2000 for w in windows)
    assert [w.part for w in windows] == list(range(len(windows))) and {w.section for w in windows} == {"4"}


def test_clause_level_records_are_one_passage_each():
    doc = spec_doc(text="## 5.3.5 RRC reconfiguration\n\n" + "The UE shall apply the configuration. " * 20,
                   clause_path="5.3.5", clause_title="RRC reconfiguration")
    (p,) = passages_of(doc)
    assert (p.section, p.section_title) == ("5.3.5", "RRC reconfiguration") and not p.text.startswith("#")


def test_spec_number_from_a_3gpp_file_name_when_metadata_is_missing():
    doc = spec_doc(spec_number=None, spec_series=None, working_group=None, uri="/specs/29274-h70.docx")
    p = passages_of(doc, min_chars=100)[0]
    assert p.meta["spec_number"] == "29.274" and p.meta["spec_series"] == "29"


def test_code_units_split_python_and_c_functions():
    py = "import os\n\n@cache\ndef a(x):\n    return x\n\n\nclass B:\n    def m(self):\n        pass\n"
    assert [(u.path, u.text.splitlines()[0]) for u in code_units(py, "Python")] == [("a", "@cache"), ("B", "class B:")]
    c = "#include <x.h>\n/* adds */\nint add(int a, int b)\n{\n    if (a) {\n        return a + b;\n    }\n    " \
        "return b;\n}\n\nstatic void f(void) {\n}\n"
    units = code_units(c, "C")
    assert [u.path for u in units] == ["add", "f"] and units[0].text.startswith("/* adds */")
    assert units[0].text.rstrip().endswith("}") and "return b;" in units[0].text


def test_abbreviation_and_definition_lines():
    assert split_abbreviation("AM\tAcknowledged Mode") == ("AM", "Acknowledged Mode")
    assert split_abbreviation("1x RTT CDMA2000 1x Radio Transmission Technology") == (
        "1x RTT", "CDMA2000 1x Radio Transmission Technology")
    assert split_abbreviation("A38 A single algorithm performing the functions of A3 and A8")[0] == "A38"
    assert split_abbreviation("For the purposes of the present document, the following abbreviations apply:") is None
    assert split_definition("**Dedicated signalling**: signalling sent on DCCH.") == (
        "Dedicated signalling", "signalling sent on DCCH.")
    assert split_definition("Primary Cell: see PCell.") is None
    assert split_definition("NOTE: a note that is not a definition.") is None


def test_abbreviation_task_mines_clause_3_offline():
    task = Abbreviations()
    pairs = [p for passage in passages_of(spec_doc(), min_chars=20) if task.applies(passage)
             for p in task.offline(passage)]
    found = {(p.fields["entry_kind"], p.fields["term"]) for p in pairs}
    assert found == {("definition", "Dedicated signalling"), ("definition", "Field"), ("abbreviation", "AM"),
                     ("abbreviation", "ARQ"), ("abbreviation", "gNB"), ("abbreviation", "1x RTT")}
    am = next(p for p in pairs if p.fields["term"] == "AM")
    assert "Acknowledged Mode" in am.response and "3GPP TS 38.331" in am.response
    assert am.teacher == "" and am.passage.section == "3.2"


@pytest.mark.corpus
def test_abbreviations_of_the_real_tr_21905():
    """TR 21.905 through the toolkit's own 3GPP reader (its abbreviations sit in smart tags and
    continuation lines, which naive Word readers lose)."""
    from telecom_etl.extractors.base import SourceItem
    from telecom_etl.extractors.spec import SpecSource
    from telecom_etl.manifest import SourceConfig

    path = corpus_file("specs", "21905-h20.docx")
    src = SpecSource(SourceConfig(name="specs", kind="3gpp", paths=["/"]))
    docs = [d for d in src.extract(SourceItem("specs", "3gpp", path)) if isinstance(d, Document)]
    task = Abbreviations(max_per_passage=10_000)
    pairs = [p for doc in docs for passage in passages_of(doc, min_chars=20) if task.applies(passage)
             for p in task.offline(passage)]
    entries = {(p.fields["term"], p.fields["meaning"]) for p in pairs if p.fields["entry_kind"] == "abbreviation"}
    abbreviations = {term for term, _ in entries}
    definitions = {p.fields["term"] for p in pairs if p.fields["entry_kind"] == "definition"}
    assert len(abbreviations) > 1200 and len(definitions) > 550  # 562 'term: meaning' paragraphs in clause 3
    assert {("AMF", "Authentication Management Field"), ("3GPP", "Third Generation Partnership Project"),
            ("DSS1", "Digital Subscriber Signalling No1"),  # "DSS" sits in a Word smart tag
            # "AC<TAB>Access Class (C0 to C15)" then three "<TAB>expansion" continuation paragraphs
            ("AC", "Access Class (C0 to C15); Access Condition; Application Context; Authentication Centre"),
            } <= entries
    assert "Access Stratum" in definitions
    assert all(p.passage.meta.get("spec_number") == "21.905" for p in pairs)


def test_wg_and_series_labels_come_from_metadata():
    passage = next(p for p in passages_of(spec_doc()) if p.section == "5.3.5")
    pairs = WorkingGroupClassification().offline(passage)
    assert [(p.fields["label_type"], p.fields["label"]) for p in pairs] == [("working_group", "RAN2"),
                                                                            ("spec_series", "38")]
    assert pairs[0].response.startswith("RAN2.") and "TS 38.331" in pairs[0].response


def test_math_infill_masks_a_display_equation_and_answers_with_the_original():
    passage = next(p for p in passages_of(spec_doc()) if p.section == "5.3.5")
    (pair,) = MathInfill().offline(passage)
    assert "[MASKED EQUATION]" in pair.instruction and "P_{CMAX}" not in pair.instruction
    assert pair.response == "$$P = \\min(P_{CMAX}, P_{0} + \\alpha \\cdot PL)$$"


def test_code_infill_hides_lines_and_answers_with_them():
    code = "def crc(data):\n    crc = 0\n    for b in data:\n        crc ^= b << 16\n        crc = step(crc)\n" \
           "    return crc & 0xFFFFFF\n"
    doc = Document(id="c1", text=code, source="code", kind="code", uri="/r/crc.py", path="crc.py",
                   code_language="Python")
    (passage,) = passages_of(doc)
    (pair,) = CodeInfill().offline(passage)
    hidden = pair.response.split("\n")[1:-1]
    assert "<FILL ME>" in pair.instruction and all(h not in pair.instruction for h in hidden)
    restored = pair.instruction.split("```python\n")[1].rsplit("\n```", 1)[0]
    indent = hidden[0][:len(hidden[0]) - len(hidden[0].lstrip())]
    assert restored.replace(indent + "<FILL ME>", "\n".join(hidden)) == code.rstrip("\n")


def result(content, finish="stop", error=None):
    return ChatResult(key="k" * 64, teacher="generator", model="m", content=content, finish_reason=finish,
                      error=error)


def test_open_qa_parses_items_and_cites_the_clause():
    passage = next(p for p in passages_of(spec_doc()) if p.section == "5.3.5")
    task = OpenQA()
    (prompt,) = task.prompts(passage)
    assert "RRC reconfiguration" in prompt.request.messages[-1]["content"] and prompt.request.json_schema
    answer = json.dumps({"items": [{"question": "What does the UE submit after applying an RRCReconfiguration?",
                                    "answer": "It submits the RRCReconfigurationComplete message to lower layers.",
                                    "evidence": "submit the RRCReconfigurationComplete message"}]})
    pairs, rejection = pairs_from_answer(task, prompt, result("```json\n" + answer + "\n```"))
    assert rejection is None and len(pairs) == 1
    assert pairs[0].response.endswith("Source: 3GPP TS 38.331 V18.1.0, clause 5.3.5 (RRC reconfiguration).")
    assert pairs[0].messages[-1] == {"role": "assistant", "content": pairs[0].response}
    for bad, reason in (("not json", "parse_failed"), ('{"items": []}', "no_questions")):
        assert pairs_from_answer(task, prompt, result(bad))[1].reason == reason
    assert pairs_from_answer(task, prompt, result(answer, finish="length"))[1].reason == "truncated"
    assert pairs_from_answer(task, prompt, result(None, error="timeout"))[1].reason == "teacher_timeout"


def test_mcq_checks_options_and_the_validator_answer():
    passage = next(p for p in passages_of(spec_doc()) if p.section == "5.3.5")
    task = MultipleChoice()
    (prompt,) = task.prompts(passage)
    item = {"question": "Which message does the UE send after applying an RRC reconfiguration?",
            "options": ["RRCSetupComplete", "RRCReconfigurationComplete", "RRCRelease", "MeasurementReport"],
            "answer": "option 2", "explanation": "The UE submits RRCReconfigurationComplete."}
    (pair,), rejection = pairs_from_answer(task, prompt, result(json.dumps({"items": [item]})))
    n = pair.fields["answer_index"]
    assert rejection is None and pair.fields["options"][n - 1] == "RRCReconfigurationComplete"
    assert sorted(pair.fields["options"]) == sorted(item["options"])  # reordered by a seeded hash
    assert f"option {n}: RRCReconfigurationComplete" in pair.instruction
    assert pair.response.startswith(f"option {n}: RRCReconfigurationComplete\n\nExplanation:")
    check = task.check_prompt(pair)
    assert f"option {n}: RRCReconfigurationComplete" in check.messages[0]["content"]
    assert task.check(pair, json.dumps({"answer": n})) is None
    assert task.check(pair, json.dumps({"answer": n % 4 + 1})) == "validator_disagrees"
    again, _ = pairs_from_answer(task, prompt, result(json.dumps({"items": [item]})))
    assert again[0].fields == pair.fields  # deterministic
    for change, reason in (({"answer": 7}, "answer_not_in_options"), ({"options": ["a", "b", "c"]}, "option_count"),
                           ({"options": ["a", "b", "c", "All of the above"]}, "catch_all_option")):
        bad = json.dumps({"items": [{**item, **change}]})
        assert pairs_from_answer(task, prompt, result(bad))[1].reason == reason


def test_code_summary_answer_makes_a_summarise_and_a_generate_pair():
    doc = Document(id="c1", text="def add(a, b):\n    total = a + b\n    log(total)\n    return total\n", source="code", kind="code",
                   uri="/r/add.py", path="add.py", code_language="Python")
    passage = passages_of(doc)[0]
    task = CodeSummarise()
    (prompt,) = task.prompts(passage)
    pairs, rejection = pairs_from_answer(task, prompt, result('{"summary": "Adds two numbers and returns the sum."}'))
    assert [p.task for p in pairs] == ["code_summarise", "code_generate"]
    assert pairs[1].response == f"```python\n{passage.text}\n```"  # the generated code is the original


def pair_for(task_name="open_qa", question="What is the purpose of the RRC reconfiguration procedure?",
             answer="The procedure modifies an RRC connection, e.g. to establish radio bearers."):
    passage = next(p for p in passages_of(spec_doc()) if p.section == "5.3.5")
    from telecom_etl.synth.tasks.base import Pair

    return Pair(task=task_name, prompt_version="x/1", instruction=question, response=answer + "\n\nSource: x.",
                passage=passage, fields={"question": question, "answer": answer})


@pytest.mark.parametrize("question,answer,rule", [
    ("What is the purpose of the RRC reconfiguration procedure?",
     "The procedure modifies an RRC connection, e.g. to establish radio bearers.", None),
    ("According to the passage, what does the UE do?", "The UE applies the new configuration to the connection.",
     "self_contained"),
    ("What is the purpose of the RRC reconfiguration procedure?",
     "As an AI language model, I cannot answer questions about this.", "refusal"),
    ("What is the purpose of the RRC reconfiguration procedure?",
     "Quantum chromodynamics explains gluon confinement inside hadrons.", "grounded"),
    ("Why?", "It is.", "length"),
])
def test_pair_validator_rules(question, answer, rule):
    pair = pair_for(question=question, answer=answer)
    verdict = PairValidator(ValidationConfig())(pair)
    assert (verdict[0] if verdict else None) == rule
    if rule is None:
        assert pair.checks == {"schema": "pass", "length": "pass", "refusal": "pass", "self_contained": "pass",
                               "grounded": "pass"}


def test_decontamination_against_a_teleqna_file(tmp_path):
    question = ("What is the purpose of the RRC reconfiguration procedure in NR when the network wants to modify "
                "an established RRC connection?")
    bench = tmp_path / "teleqna.json"
    bench.write_text(json.dumps({"question 0": {"question": question + " [3GPP Release 18]", "option 1": "a",
                                                "option 2": "b", "answer": "option 1: a", "category": "Standards"}}))
    validator = PairValidator(ValidationConfig(benchmarks=[str(bench)]))
    pair = pair_for(question=question)
    assert validator(pair)[0] == "contaminated"
    assert validator(pair_for()) is None


def test_budget_keeps_the_lowest_seeded_ranks_whatever_the_order():
    passages = passages_of(spec_doc(), min_chars=20)
    items = [Item("open_qa", p, i * 7919 % 13) for i, p in enumerate(passages)]
    kept, dropped = apply_budget(items, max_per_doc=2, max_per_source=None)
    kept_rev, _ = apply_budget(list(reversed(items)), max_per_doc=2, max_per_source=None)
    assert [i.passage.id for i in kept] == [i.passage.id for i in kept_rev] and len(kept) == 2
    assert {rule for _, rule in dropped} == {"budget_per_doc"}


def test_task_registry_and_settings():
    assert set(TASKS) == {"open_qa", "mcq", "wg_classification", "math_infill", "code_summarise", "code_infill",
                          "abbreviations"}
    assert [t.name for t in build_tasks(["abbreviations", "open_qa"])] == ["open_qa", "abbreviations"]
    with pytest.raises(ValueError, match="unknown task"):
        build_tasks(["summarise_everything"])
    assert SynthSettings(tasks=["code_summarise"]).produced_tasks() == ["code_summarise", "code_generate"]
    assert issubclass(Rejected, Exception)


def test_symbols_written_as_latex_are_mined():
    from telecom_etl.synth.tasks.abbreviations import split_symbol

    text = ("## 3.2 Symbols\n\nFor the purposes of the present document, the following symbols apply:\n\n"
            "$\\mu$ Subcarrier spacing configuration\n\n[equation] Subcarrier spacing\n\n"
            "$N_{\\text{sc}}^{\\text{RB}}$ Number of subcarriers per resource block\n\n"
            "\u0394f\tSubcarrier spacing in kHz\n")
    doc = spec_doc(text=text + "\n## 4 General\n\n" + "The general text of the specification. " * 10)
    task = Abbreviations()
    pairs = [p for passage in passages_of(doc, min_chars=20) if task.applies(passage) for p in task.offline(passage)]
    assert sorted((p.fields["entry_kind"], p.fields["term"]) for p in pairs) == [
        ("symbol", "$N_{\\text{sc}}^{\\text{RB}}$"), ("symbol", "$\\mu$"), ("symbol", "\u0394f")]
    assert split_symbol("[equation] Subcarrier spacing") is None  # an equation the reader could not convert
    mu = next(p for p in pairs if p.fields["term"] == "$\\mu$")
    assert mu.response == "In 3GPP TS 38.331 V18.1.0, $\\mu$ denotes subcarrier spacing configuration."
