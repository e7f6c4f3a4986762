"""Math modelling: mask one equation of a passage and ask for it back from its context.

Display equations (``$$...$$``, ``\\[...\\]``, ``\\begin{equation}...``; the 3GPP
extractor writes Word equations as ``$$...$$``) are candidates when they are real
formulas (an operator or a command, not a lone symbol). One equation per passage is
chosen with a seeded hash; the instruction is the passage with that equation replaced
by ``[MASKED EQUATION]`` and the answer is the original LaTeX, so the task needs no
teacher and the answer is exact by construction.
"""
from __future__ import annotations

import re
from typing import List

from telecom_etl.synth.chunking import pick_score
from telecom_etl.synth.tasks.base import Pair, Task, variant

_DISPLAY = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\begin\{(equation|align|eqnarray|multline)\*?\}(.+?)"
                      r"\\end\{\3\*?\}", re.S)
MASK = "[MASKED EQUATION]"


def is_formula(latex: str) -> bool:
    body = latex.strip()
    return len(body) >= 5 and bool(re.search(r"[=<>]|\\(?:le|ge|sum|frac|int|prod|approx|propto|cdot|mod)\b", body))


def display_equations(text: str) -> List[re.Match]:
    return [m for m in _DISPLAY.finditer(text) if is_formula(m.group(1) or m.group(2) or m.group(4) or "")]


class MathInfill(Task):
    name = "math_infill"
    family = "math modelling"
    version = "1"
    needs_teacher = False
    kinds = ("3gpp", "paper")

    def __init__(self, seed: int = 0, min_context: int = 200):
        self.seed, self.min_context = seed, min_context

    def offline(self, passage) -> List[Pair]:
        found = display_equations(passage.text)
        if not found:
            return []
        m = min(found, key=lambda x: pick_score(self.seed, passage.id, str(x.start())))
        latex = (m.group(1) or m.group(2) or m.group(4)).strip()
        context = passage.text[:m.start()] + MASK + passage.text[m.end():]
        if len(context) - len(MASK) < self.min_context:
            return []
        ask = variant(passage.id + "math", [
            "The following telecom text contains an equation replaced by [MASKED EQUATION]. Write the masked "
            "equation in LaTeX, using the notation of the surrounding text.",
            "Reconstruct the equation hidden as [MASKED EQUATION] in this passage. Give it in LaTeX.",
        ])
        return [self.pair(passage, f"{ask}\n\n{context}", f"$${latex}$$", n=0,
                          fields={"equation": latex, "equations_in_passage": len(found)})]
