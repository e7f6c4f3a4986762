"""Reference checks of candidate answers: MCQ options, labels, equations, code."""
from __future__ import annotations

import json
import os

import pytest

from conftest import CORPUS
from telecom_etl.synth.preferences.verify import (CORRECT, UNPARSED, WRONG, answer_kind, check, check_code,
                                                  check_equation, check_label, check_mcq, extract_option,
                                                  normalize_latex, parse_options, reference_option)

MCQ = """Which scheme uses the message passing algorithm at the receiver?
A) NOMA
B) PDMA
C) MUSA
D) MUST
E) SCMA"""

TELEQNA = """What is the diversity gain for the detection of each symbol in the Alamouti scheme?
option 1: 0
option 2: 4
option 3: 2
option 4: 1"""


def test_options_are_read_from_lettered_and_numbered_lists():
    assert parse_options(MCQ) == {1: "NOMA", 2: "PDMA", 3: "MUSA", 4: "MUST", 5: "SCMA"}
    assert parse_options(TELEQNA) == {1: "0", 2: "4", 3: "2", 4: "1"}
    steps = "Steps:\n1. attach\n2. register\n\nOptions:\n(a) AMF\n(b) SMF\n(c) UPF"
    assert parse_options(steps) == {1: "AMF", 2: "SMF", 3: "UPF"}  # not the steps before it
    assert parse_options("no options here") == {}


@pytest.mark.parametrize("answer,expected", [
    ("E", 5), ("e) SCMA", 5), ("The answer is (e).", 5), ("Answer: E", 5), ("**Answer:** E", 5),
    ("Option 5", 5), ("5", 5), ("SCMA uses message passing.", 5),
    ("I think B is wrong; the correct answer is E", 5),
    ("The correct answer is option 2, not option 1", 2),
    ("Final answer: **(b)**", 2), ("B) PDMA is the one", 2), ("Option 3 is correct because MUSA spreads", 3),
    ("A scheme called SCMA is used", 5),  # the article "A" is not option A
    ("the answer is a scheme called SCMA", 5),
    ("NOMA and PDMA are both candidates", None), ("", None), ("I do not know.", None),
])
def test_the_option_a_free_text_answer_picks(answer, expected):
    assert extract_option(answer, parse_options(MCQ)) == expected


@pytest.mark.parametrize("answer,options,expected", [
    # the article "A" is no option letter; the stated text names the option
    ("Answer: A user to use different identities on a single UE",
     ["A user to use different UEs", "A user to use different identities on a single UE"], 2),
    ("Answer: H.324 information", ["H.243 information", "H.223 information", "H.245 information",
                                   "H.324 information"], 4),  # "H." is no letter H
    ("Answer: 8 W/kg", ["0.08 W/kg", "0.4 W/kg", "8 W/kg", "1.6 W/kg", "10 W/kg"], 3),  # a value, not option 8
    ("Answer: 4 ms", ["1 ms", "2 ms", "8 ms", "4 ms"], 4),  # not option number 4 ("4 ms" is the 4th by chance)
    ("Answer: 2 ms", ["1 ms", "4 ms", "2 ms"], 3),
    ("Answer: C-band", ["S-band", "C-band", "Ka-band"], 2),  # no letter C
    ("Answer: B - it is the PDMA scheme", ["NOMA", "PDMA"], 2),
    ("The correct answer is option 2: A function that contains a model.", ["A function", "A function that "
                                                                          "contains a model"], 2),
])
def test_stated_answers_are_read_by_their_option_text(answer, options, expected):
    assert extract_option(answer, dict(enumerate(options, 1))) == expected




@pytest.mark.parametrize("answer,expected", [
    ("The diversity gain is 2 for each symbol.", 3),  # a value, read as the option text
    ("option 3", 3), ("Answer: option 2", 2), ("The correct answer is option 4: 1.", 4),
    ("2", None),  # value 2 (option 3) or option 2? ambiguous
    ("Answer: 4", None), ("Answer: option 4", 4),
    ("The answer is 4.", None),
    ("3", 3),  # no option has the value 3
])
def test_numeric_option_texts_are_not_confused_with_option_numbers(answer, expected):
    assert extract_option(answer, parse_options(TELEQNA)) == expected


def test_reference_names_its_option_in_every_usual_form():
    opts = parse_options(MCQ)
    assert reference_option("option 5: SCMA", opts) == 5
    assert reference_option("E", opts) == 5
    assert reference_option("SCMA", opts) == 5
    assert reference_option("5", opts) == 5
    v = check_mcq("The correct answer is E) SCMA.", "option 5: SCMA", MCQ)
    assert (v.status, v.extracted, v.expected) == (CORRECT, "5", "5")
    assert check_mcq("Answer: B", "E", MCQ).status == WRONG
    assert check_mcq("It depends on the deployment.", "E", MCQ).status == UNPARSED
    with pytest.raises(ValueError):
        check_mcq("E", "no option named", MCQ)


def test_teleqna_answers_match_their_own_reference():
    path = os.path.join(CORPUS, "qa", "TeleQnA_sample300.json")
    if not os.path.exists(path):
        pytest.skip(f"shared corpus file not available: {path}")
    with open(path) as fh:
        data = json.load(fh)
    n = 0
    for q in data.values():
        options = {int(k.split()[1]): v for k, v in q.items() if k.startswith("option ")}
        prompt = q["question"] + "\n" + "\n".join(f"option {i}: {t}" for i, t in sorted(options.items()))
        right = int(q["answer"].split(":")[0].split()[1])
        wrong = next(i for i in options if i != right)
        assert check_mcq(q["answer"], q["answer"], prompt).status == CORRECT
        assert check_mcq(f"The correct answer is option {right}.", q["answer"], prompt).status == CORRECT
        assert check_mcq(f"Answer: option {wrong}", q["answer"], prompt).status == WRONG
        n += 1
    assert n == 300


def test_labels_ignore_case_spacing_and_punctuation():
    assert check_label("Label: RAN 1", "RAN1", ["RAN1", "RAN2"]).status == CORRECT
    assert check_label("**ran-1**.", "RAN1").status == CORRECT
    assert check_label("The working group is RAN1.", "RAN1").status == CORRECT
    assert check_label("RAN2", "RAN1").status == WRONG
    assert check_label("RAN1 or RAN2, hard to say", "RAN1", ["RAN1", "RAN2"]).status == UNPARSED
    assert check_label("", "RAN1").status == UNPARSED
    assert check_label("Category: SA2\nbecause it is about policy", "SA2", ["SA2", "CT1"]).status == CORRECT
    wgs = ["RAN", "RAN1", "RAN2", "SA2"]
    assert check_label("RAN1. The text is from TS 38.211, maintained by TSG RAN WG1.", "RAN1", wgs).status == CORRECT
    assert check_label("It comes from TS 38.211, which TSG RAN WG1 maintains.", "RAN1", wgs).status == CORRECT
    assert check_label("It comes from TS 38.331, which RAN2 maintains.", "RAN1", wgs).status == WRONG
    assert check_label("The 36 series, not the 38 series.", "38", ["36", "38"]).status == WRONG
    assert check_label("Either the 36 or the 38 series.", "38", ["36", "38"]).status == UNPARSED


def test_latex_normalisation_ignores_spacing_delimiters_and_font_wrappers():
    assert normalize_latex(r"$y = \dfrac{a}{b}$") == normalize_latex(r"y=\frac {a}{ b }")
    assert normalize_latex(r"N_{\mathrm{RB}}^{\text{DL}} \, \cdot \, 12") == normalize_latex(r"N_{RB}^{DL}\cdot12")
    assert normalize_latex(r"\left( x^{2} \right)") == "(x^2)"
    assert normalize_latex(r"\alpha x") != normalize_latex(r"\alphax")  # a control word keeps its space
    assert normalize_latex("a \u2264 b") == normalize_latex(r"a \le b") == normalize_latex(r"a\leq b")
    assert normalize_latex(r"\begin{aligned}y &= w_{n} \left\lfloor k \right\rfloor\end{aligned}") == \
        normalize_latex(r"y=w_n\lfloor k\rfloor")


def test_equations_are_found_in_any_math_delimiter():
    ref = r"M_{\mathrm{sc}}^{\mathrm{PUSCH}} = M_{\mathrm{RB}}^{\mathrm{PUSCH}} \cdot N_{\mathrm{sc}}^{\mathrm{RB}}"
    good = "The masked equation is\n\\[ M_{sc}^{PUSCH}=M_{RB}^{PUSCH}\\cdot N_{sc}^{RB} \\]\nwhere ..."
    bad = "It is $M_{sc}^{PUSCH}=M_{RB}^{PUSCH}+N_{sc}^{RB}$."
    assert check_equation(good, ref).status == CORRECT
    assert check_equation(bad, ref).status == WRONG
    assert check_equation("", ref).status == UNPARSED
    assert check_equation(r"```latex" + "\n" + ref + "\n```", ref).status == CORRECT


def test_code_comparison_ignores_whitespace_only():
    ref = "if (rnti == SI_RNTI) {\n    return true;\n}"
    assert check_code("```c\nif(rnti==SI_RNTI){return true;}\n```", ref).status == CORRECT
    assert check_code("```c\nif (rnti == P_RNTI) { return true; }\n```", ref).status == WRONG
    assert check_code("if (rnti ==   SI_RNTI)\n{\n return true;\n}", ref).status == CORRECT  # no fence
    assert check_code("```c\nreturnx;\n```", "return x;").status == WRONG  # a space between words matters


def test_answer_kinds_come_from_overrides_declarations_and_task_names():
    assert answer_kind("mcq") == "mcq"
    assert answer_kind("teleqna_multiple_choice") == "mcq"
    assert answer_kind("wg_classification") == "label"
    assert answer_kind("masked_equation") == "equation"
    assert answer_kind("code_masked_span") == "code"
    assert answer_kind("code_explanation") == "free"
    assert answer_kind("clause_qa") == "free"
    assert answer_kind("clause_qa", declared="label") == "label"
    assert answer_kind("mcq", overrides={"mcq": "free"}) == "free"
    with pytest.raises(ValueError):
        check("free", "x", "y")


def test_code_answers_may_repeat_the_context_but_add_nothing_else():
    prompt = "Fill in <FILL ME>:\n```c\nint f(int rnti) {\n  if (rnti == 0xFFFF) {\n    <FILL ME>\n  }\n}\n```"
    ref = "```c\n    return SI_RNTI;\n```"
    with_context = "```c\n  if (rnti == 0xFFFF) {\n    return SI_RNTI;\n  }\n```"
    assert check_code(with_context, ref, prompt).status == CORRECT
    assert check_code("```c\n  return SI_RNTI;\n  x = 1;\n```", ref, prompt).status == WRONG
    assert check("code", with_context, ref, prompt=prompt).correct


def test_an_equation_with_anything_appended_is_wrong_but_a_restated_lhs_is_fine():
    ref = r"\frac{1}{4}\left[ \begin{matrix}1 & 1 \\ -1 & 1\end{matrix} \right]"
    assert check_equation("$$" + ref + "+1$$", ref).status == WRONG
    assert check_equation(r"$$W = " + ref + "$$", ref).status == CORRECT
    assert check_equation(r"$$a = b + c$$", "b + c = a").status == WRONG
