"""Jupyter notebooks (``.ipynb``) as text: their code and markdown cells, in order.

The text uses the jupytext "percent" format (``# %%`` before a code cell, ``# %% [markdown]``
before a markdown cell whose lines become comments), which every notebook tool reads back
and which stays valid code of the kernel's language. Outputs (images, tables, tracebacks)
are left out: they are results, not code, and often huge.
"""
from __future__ import annotations

import json
from typing import Tuple

from telecom_etl.outcome import StageFailure

#: kernel language -> (language name, line comment)
KERNELS = {
    "python": ("Python", "#"), "r": ("R", "#"), "julia": ("Julia", "#"), "matlab": ("MATLAB", "%"),
    "octave": ("MATLAB", "%"), "scala": ("Scala", "//"), "java": ("Java", "//"), "c++": ("C++", "//"),
    "c": ("C", "//"), "go": ("Go", "//"), "rust": ("Rust", "//"), "javascript": ("JavaScript", "//"),
    "typescript": ("TypeScript", "//"), "bash": ("Shell", "#"), "sh": ("Shell", "#"), "ruby": ("Ruby", "#"),
    "sql": ("SQL", "--"), "haskell": ("Haskell", "--"), "lua": ("Lua", "--"), "erlang": ("Erlang", "%"),
    "elixir": ("Elixir", "#"), "powershell": ("PowerShell", "#"), "kotlin": ("Kotlin", "//"),
}


def _source(cell: dict, key: str) -> str:
    value = cell.get(key, "")
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return value if isinstance(value, str) else ""


def notebook_to_text(data: str) -> Tuple[str, str, int]:
    """(text, language, number of cells kept) of a notebook's JSON; StageFailure when unreadable."""
    try:
        nb = json.loads(data)
    except json.JSONDecodeError as exc:
        raise StageFailure(f"notebook is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(nb, dict):
        raise StageFailure("notebook is not a JSON object")
    meta = nb.get("metadata") if isinstance(nb.get("metadata"), dict) else {}
    kernel = ""
    for holder, key in ((meta.get("kernelspec"), "language"), (meta.get("language_info"), "name")):
        if isinstance(holder, dict) and isinstance(holder.get(key), str):
            kernel = holder[key].strip().lower()
            break
    language, comment = KERNELS.get(kernel, ("Python", "#") if not kernel else (kernel.title(), "#"))
    cells = nb.get("cells")
    if cells is None and isinstance(nb.get("worksheets"), list):  # nbformat 3
        cells = [c for ws in nb["worksheets"] if isinstance(ws, dict) for c in ws.get("cells") or []]
    if not isinstance(cells, list):
        raise StageFailure("notebook has no cell list (not nbformat 3 or 4)")
    parts = []
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        kind = cell.get("cell_type")
        if kind == "code":
            src = _source(cell, "source") or _source(cell, "input")
            if src.strip():
                parts.append(f"{comment} %%\n{src.rstrip()}\n")
        elif kind in ("markdown", "heading"):
            src = _source(cell, "source")
            if src.strip():
                lines = [f"{comment} {ln}".rstrip() for ln in src.rstrip().split("\n")]
                parts.append(f"{comment} %% [markdown]\n" + "\n".join(lines) + "\n")
    return "\n".join(parts), language, len(parts)
