"""Synthesis tasks, one module per family (prompt, parser and checks side by side).

==================  ========  =====================================================
task                teacher   pairs
==================  ========  =====================================================
open_qa             yes       question + answer grounded in a clause/section, cited
mcq                 yes (+1)  TeleQnA-style 4-5 options, kept when a validator agrees
wg_classification   no        working group / series of a spec text (from metadata)
math_infill         no        masked display equation -> its original LaTeX
code_summarise      yes       code -> summary, and summary -> code (code_generate)
code_infill         no        masked code lines -> the original lines
abbreviations       no        abbreviations, symbols and definitions of clause 3
==================  ========  =====================================================
"""
from __future__ import annotations

import inspect
from typing import Dict, List, Optional, Sequence

from telecom_etl.synth.tasks.abbreviations import Abbreviations
from telecom_etl.synth.tasks.base import Pair, Prompt, Rejected, Task
from telecom_etl.synth.tasks.classification import WorkingGroupClassification
from telecom_etl.synth.tasks.code import CodeInfill, CodeSummarise
from telecom_etl.synth.tasks.math_infill import MathInfill
from telecom_etl.synth.tasks.mcq import MultipleChoice
from telecom_etl.synth.tasks.open_qa import OpenQA

TASKS = {cls.name: cls for cls in (OpenQA, MultipleChoice, WorkingGroupClassification, MathInfill, CodeSummarise,
                                   CodeInfill, Abbreviations)}
#: pair task names a selected task can produce (code_summarise also makes code_generate pairs)
PRODUCES = {name: [name] for name in TASKS}
PRODUCES["code_summarise"] = ["code_summarise", "code_generate"]

__all__ = ["TASKS", "PRODUCES", "Pair", "Prompt", "Rejected", "Task", "build_tasks"]


def build_tasks(names: Optional[Sequence[str]] = None, seed: int = 0,
                options: Optional[Dict[str, dict]] = None) -> List[Task]:
    """Task objects for ``names`` (all when None), in registry order; ValueError for an unknown name.
    ``options`` gives per-task constructor arguments (``{"open_qa": {"per_passage": 3}}``)."""
    names = list(TASKS) if not names else list(dict.fromkeys(names))
    unknown = [n for n in names if n not in TASKS]
    if unknown:
        raise ValueError(f"unknown task(s) {', '.join(unknown)}; known: {', '.join(TASKS)}")
    out = []
    for name in TASKS:
        if name not in names:
            continue
        cls = TASKS[name]
        kwargs = dict((options or {}).get(name) or {})
        if "seed" in inspect.signature(cls).parameters:
            kwargs.setdefault("seed", seed)
        try:
            out.append(cls(**kwargs))
        except TypeError as exc:
            raise ValueError(f"task {name}: bad option ({exc})") from None
    return out
