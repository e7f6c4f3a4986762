"""Blocks -> clauses -> boilerplate removed -> markdown (whole spec and per clause).

Each removal rule is switchable (:class:`Strip`) and counted (``removed_<rule>``, in
blocks), so a report can say what was taken out and a reviewer can turn a rule off:

* ``cover``: everything before the first heading (cover page, legal and copyright
  notices, the 3GPP address block; read for metadata first);
* ``contents``: the table of contents (``TT``/``toc N`` styles, ETSI contents pages);
* ``foreword``: the standard Foreword clause (and, in ETSI editions, the ETSI front
  clauses: Intellectual Property Rights, Legal Notice, Modal verbs terminology);
* ``change_history``: the Change history annex (ETSI: the History clause);
* ``void_clauses``: a clause titled "Void" with no content.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Dict, List, Optional

from telecom_etl.extractors.threegpp.blocks import CODE, COVER, HEADING, MATH, TABLE, TOC, Block, annex_label

_FOREWORD = {"foreword", "intellectual property rights", "legal notice", "modal verbs terminology"}
_HISTORY = re.compile(r"^(?:change\s*history|history(?: of changes)?|document history|change record)\b", re.I)
_VOID = re.compile(r"^[\[(]?\s*void\s*[\])]?\.?$", re.I)
_ASN1 = re.compile(r"::=|ASN1START|\bSEQUENCE\s*\{|\bENUMERATED\s*\{|\bCHOICE\s*\{")


@dataclass(frozen=True)
class Strip:
    """Which boilerplate to remove (all on by default)."""

    cover: bool = True
    contents: bool = True
    foreword: bool = True
    change_history: bool = True
    void_clauses: bool = True
    field_codes: bool = True  # applied by the Word reader
    page_furniture: bool = True  # applied by the PDF reader

    @classmethod
    def names(cls) -> List[str]:
        return [f.name for f in fields(cls)]


@dataclass
class Clause:
    number: str  # "5.3.5", "A.1"; "" for an unnumbered heading
    title: str
    depth: int
    parent: Optional[str]  # path of the enclosing clause
    blocks: List[Block] = field(default_factory=list)
    annex: Optional[str] = None  # an annex: its kind ("informative", "normative", "")
    # Always a clause number: its own, else (an unnumbered heading such as TS 38.331's
    # "- BWP" or TR 21.905's letter groups) the nearest numbered enclosing clause's; ""
    # before any numbered clause (Introduction). Set by _link_parents.
    path: str = ""
    annex_kind: Optional[str] = None  # the kind of the annex this clause is in (itself or an ancestor)

    @property
    def label(self) -> str:
        """What precedes the title: the number, or ``Annex A (informative):`` for an annex."""
        return annex_label(self.number, self.annex) if self.annex is not None and self.number else self.number

    @property
    def heading(self) -> str:
        return f"{'#' * max(1, min(self.depth, 6))} {(self.label + ' ' + self.title).strip()}"


@dataclass
class Assembled:
    text: str
    clauses: List[Clause]
    preamble: List[Block]  # kept blocks before the first heading
    counts: Counter


def assemble(blocks: List[Block], strip: Strip = Strip()) -> Assembled:
    counts: Counter = Counter()
    first = next((i for i, b in enumerate(blocks) if b.kind == HEADING), None)
    preamble: List[Block] = []
    for b in blocks[:first] if first is not None else blocks:
        if b.kind == TOC and strip.contents:
            counts["removed_contents"] += 1
        elif strip.cover and (first is not None or b.kind == COVER):
            counts["removed_cover"] += 1
            counts["removed_tables"] += b.kind == TABLE
        else:
            preamble.append(b)
    clauses = _clauses(blocks[first:] if first is not None else [], strip, counts)
    clauses = _remove(clauses, strip, counts)
    _link_parents(clauses)
    parts = [render_blocks(preamble)] if preamble else []
    for clause in clauses:
        parts.append(clause.heading)
        body = render_blocks(clause.blocks)
        if body:
            parts.append(body)
    counts["n_clauses"] = len(clauses)
    counts["n_code_blocks"] = sum(_code_runs(c.blocks) for c in clauses) + _code_runs(preamble)
    return Assembled("\n\n".join(p for p in parts if p) + "\n", clauses, preamble, counts)


def _clauses(blocks: List[Block], strip: Strip, counts: Counter) -> List[Clause]:
    clauses: List[Clause] = []
    for b in blocks:
        if b.kind == HEADING:
            clauses.append(Clause(b.number, b.text, max(1, b.depth), None, annex=b.annex))
        elif b.kind == TOC and strip.contents:
            counts["removed_contents"] += 1
        else:
            clauses[-1].blocks.append(b)
    return clauses


def _remove(clauses: List[Clause], strip: Strip, counts: Counter) -> List[Clause]:
    kept: List[Clause] = []
    skip_depth, skip_rule = None, ""  # inside a removed clause: drop its subclauses too
    for i, c in enumerate(clauses):
        if skip_depth is not None:
            if c.number and c.depth > skip_depth:
                counts[skip_rule] += 1 + len(c.blocks)
                counts["removed_tables"] += sum(b.kind == TABLE for b in c.blocks)
                continue
            skip_depth = None
        title = c.title.strip().lower()
        rule = None
        if strip.foreword and not c.number and title in _FOREWORD:
            rule = "removed_foreword"
        elif strip.change_history and _HISTORY.match(title) and (not c.number or c.number.isalpha()):
            rule = "removed_change_history"
        elif strip.void_clauses and _VOID.match(title) and not _has_content(c.blocks):
            nxt = clauses[i + 1] if i + 1 < len(clauses) else None
            if nxt is None or nxt.depth <= c.depth:
                counts["removed_void_clauses"] += 1
                continue
        if rule:
            counts[rule] += 1 + len(c.blocks)
            counts["removed_tables"] += sum(b.kind == TABLE for b in c.blocks)
            skip_depth, skip_rule = c.depth, rule
            continue
        kept.append(c)
    return kept


def _has_content(blocks: List[Block]) -> bool:
    return any(b.text.strip() for b in blocks)


def _link_parents(clauses: List[Clause]) -> None:
    stack: List[Clause] = []
    for c in clauses:
        while stack and stack[-1].depth >= c.depth:
            stack.pop()
        c.parent = stack[-1].path or None if stack else None
        c.path = c.number or (stack[-1].path if stack else "")
        c.annex_kind = c.annex if c.annex is not None else (stack[-1].annex_kind if stack else None)
        stack.append(c)


def _code_runs(blocks: List[Block]) -> int:
    runs, prev = 0, None
    for b in blocks:
        if b.kind == CODE and prev != CODE:
            runs += 1
        prev = b.kind
    return runs


def render_blocks(blocks: List[Block]) -> str:
    """Markdown of consecutive blocks; runs of code paragraphs become one fenced block."""
    out: List[str] = []
    code: List[str] = []

    def flush() -> None:
        while code and not code[-1].strip():
            code.pop()
        while code and not code[0].strip():
            code.pop(0)
        if code:
            body = "\n".join(code)
            fence = "~~~" if "```" in body else "```"
            lang = "asn1" if _ASN1.search(body) else ""
            out.append(f"{fence}{lang}\n{body}\n{fence}")
        code.clear()

    for b in blocks:
        if b.kind == CODE:
            code.extend(b.text.split("\n"))
            continue
        flush()
        if b.kind in (TABLE, MATH) or b.text.strip():
            out.append(b.text)
    flush()
    return "\n\n".join(out)


def clause_records(assembled: Assembled) -> List[Dict[str, str]]:
    """One entry per clause with content: its path (a clause number, "" for an unnumbered
    clause before the first numbered one), title, parent, depth, annex kind and markdown
    (the heading followed by the clause's own blocks, not its subclauses)."""
    records = []
    seen: Counter = Counter()
    for c in assembled.clauses:
        body = render_blocks(c.blocks)
        if not body:
            continue
        key = c.path or c.title
        seen[key] += 1
        part = key if seen[key] == 1 else f"{key}#{seen[key]}"
        records.append({"part": part, "path": c.path, "title": c.title, "parent": c.parent or "",
                        "depth": str(c.depth), "annex": c.annex_kind, "text": c.heading + "\n\n" + body + "\n"})
    return records

