"""Abbreviation and definition questions mined from clause 3 of 3GPP specs, no model involved.

3GPP specs list their vocabulary in clause 3 ("3.1 Definitions", "3.2 Symbols", "3.3
Abbreviations"; TR 21.905 uses clauses 3 and 4), one entry per paragraph:

* abbreviations and symbols (Word style ``EW``): ``ABBR<TAB>Expansion``. Extractors that
  turn the tab into a space leave ``ABBR Expansion``; the split is then chosen by how
  well the abbreviation's letters match the initials of the expansion (``1x RTT
  CDMA2000 1x Radio Transmission Technology`` -> ``1x RTT``);
* definitions: ``term: meaning.`` (the term sometimes in bold). Cross-references
  (``term: see other term.``) and NOTE/EXAMPLE paragraphs are skipped.

Sections are recognised by their title or an enclosing title (``Abbreviations``,
``Definitions``, ``Terms and definitions``, ``Symbols``), not by number. Every entry
becomes one pair; ``max_per_passage`` (a seeded hash picks which) bounds how many one
passage contributes. This task works offline and is the reference for spec-grounded
answers: the answer is the spec's own text.
"""
from __future__ import annotations

import re
from typing import List, Optional, Tuple

from telecom_etl.synth.chunking import pick_score
from telecom_etl.synth.tasks.base import Pair, Task, variant

_ABBR_SECTION = re.compile(r"abbreviation|acronym", re.I)
_SYMBOL_SECTION = re.compile(r"\bsymbols?\b", re.I)
_DEF_SECTION = re.compile(r"definition|\bterms\b|terminology", re.I)
_DEFINITION = re.compile(r"^\**([^:*\n]{1,100}?)\**\s*:\s+(.{8,})$")
_SKIP_TERM = re.compile(r"^(?:note|example|editor'?s note|for the purposes?)\b", re.I)
_INTRO = re.compile(r"^(?:for the purposes?|the following|in addition|void\b)", re.I)
_LIST_BULLET = re.compile(r"^\s*(?:[-*•]\s+)")


def _letters(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", text)


def initials_score(abbr: str, expansion: str) -> float:
    """Share of the abbreviation's characters found, in order, as initials of the expansion's words
    (a digit may also match a digit inside a word: 3GPP / Third Generation Partnership Project)."""
    chars = _letters(abbr).lower()
    words = [w for w in re.split(r"[\s\-/]+", expansion.lower()) if w]
    if not chars or not words:
        return 0.0
    hits, w = 0, 0
    for c in chars:
        for j in range(w, len(words)):
            if words[j].startswith(c):
                hits, w = hits + 1, j + 1
                break
    return hits / len(chars)


def _looks_abbreviation(token: str) -> bool:
    if not token or len(token) > 24:
        return False
    if not re.search(r"[A-Z0-9]", token):
        return False
    # an ordinary capitalised word ("For", "Radio") is not an abbreviation; "gNB", "UE", "5GC", "A3" are
    return bool(re.search(r"\d", token)) or sum(c.isupper() for c in token) >= 2 or not token[:1].isupper()


def split_abbreviation(line: str) -> Optional[Tuple[str, str]]:
    """``"AMF<TAB>Access and Mobility Management Function"`` -> (abbr, expansion); None when not one."""
    line = _LIST_BULLET.sub("", line.strip()).replace("**", "")
    if not line or len(line) > 300 or line.endswith(":") or _INTRO.match(line):
        return None
    if "\t" in line:
        abbr, _, expansion = line.partition("\t")
        abbr, expansion = abbr.strip(), expansion.strip(" \t.;")
        return (abbr, expansion) if abbr and expansion and len(abbr) <= 30 and _letters(abbr) else None
    tokens = line.split()
    if len(tokens) < 2:
        return None
    best, best_score = None, -1.0
    for k in range(1, min(3, len(tokens) - 1) + 1):
        head = tokens[:k]
        if not all(_looks_abbreviation(t) for t in head) or (k > 1 and head[-1] in ("A", "I")):
            break  # "A38 A single algorithm ...": the article starts the expansion
        abbr, expansion = " ".join(head), " ".join(tokens[k:]).strip(" .;")
        score = initials_score(abbr, expansion)
        if score > best_score + (0.0 if k == 1 else 0.25):  # a longer split must explain clearly more
            best, best_score = (abbr, expansion), score
    if best is None or best_score < 0.3 or not best[1][:1].isalnum():
        return None
    return best


_MATH_SYMBOL = re.compile(r"^\s*(\$[^$]{1,120}\$)\s*(?:\t|\s)\s*(\S.{3,})$")


def split_symbol(line: str) -> Optional[Tuple[str, str]]:
    """``$\\mu$ Subcarrier spacing configuration`` (a Word equation as LaTeX) -> (symbol, meaning).
    Symbols whose equation the extractor could not convert (``[equation]``) are skipped."""
    if "[equation]" in line.split(" ", 1)[0]:
        return None
    m = _MATH_SYMBOL.match(line)
    if not m:
        return None
    return m.group(1), m.group(2).strip().rstrip(";")


def split_definition(line: str) -> Optional[Tuple[str, str]]:
    line = _LIST_BULLET.sub("", line.strip())
    m = _DEFINITION.match(line)
    if not m:
        return None
    term, meaning = m.group(1).strip(), m.group(2).strip()
    if _SKIP_TERM.match(term) or re.match(r"^see\b", meaning, re.I) or len(term.split()) > 12:
        return None
    if term.endswith((".", ",")) or re.search(r"\b(?:shall|the following|apply)\b", term):
        return None
    return term, meaning


_VOCAB_WORDS = {"definition", "definitions", "term", "terms", "symbol", "symbols", "abbreviation", "abbreviations",
                "acronym", "acronyms", "and", "of", "for", "the", "purposes", "document", "present", "other",
                "general", "additional", "specific", "terminology"}


def is_vocabulary_title(title: str) -> bool:
    """"Definitions, symbols and abbreviations", "Terms and definitions", "Abbreviations": yes;
    "Message definition" (a clause of TS 24.301 on message contents): no."""
    words = re.findall(r"[a-z]+", re.sub(r"^[\dA-Z](?:\.\d+)*\s+", "", title.strip()).lower())
    return bool(words) and set(words) <= _VOCAB_WORDS and bool(set(words) - {"and", "of", "for", "the", "general"})


def section_mode(passage) -> Optional[str]:
    """abbreviation / symbol / definition for a vocabulary clause (or a sub-heading inside one,
    like TR 21.905's "A", "B" lists), else None."""
    names = [passage.section_title or ""] + list(reversed(passage.trail))
    for name in names:
        if not is_vocabulary_title(name):
            continue
        if _ABBR_SECTION.search(name):
            return "abbreviation"
        if _SYMBOL_SECTION.search(name) and not _DEF_SECTION.search(name):
            return "symbol"
        if _DEF_SECTION.search(name):
            return "definition"
    return None


def _continuation(line: str, mode: str, last) -> bool:
    """A further expansion of the entry above: 3GPP lists ``AC<TAB>Access Class`` then
    ``<TAB>Access Condition`` (an empty abbreviation; extractors that drop the tab leave a
    bare "Access Condition" line)."""
    if mode == "definition" or last is None:
        return False
    text = line.strip()
    return (line.startswith("\t") or (text[:1].isupper() and split_abbreviation(text) is None)) and \
        0 < len(text.split()) <= 14 and not text.endswith(":")


def entries(passage) -> List[Tuple[str, str, str]]:
    """(kind, key, value) entries of a vocabulary passage, in text order; an abbreviation with
    several expansions is one entry whose value joins them with "; "."""
    mode = section_mode(passage)
    if mode is None:
        return []
    out: List[list] = []
    last = None
    for line in passage.text.split("\n"):
        if not line.strip():
            continue
        if line.lstrip().startswith(("#", "|", "```")):
            last = None
            continue
        if mode == "definition":
            if last is not None and last[2].endswith(":") and re.match(r"^\s*[-*•]\s", line):
                last[2] += " " + _LIST_BULLET.sub("", line).strip()  # "...consists of:" + its list items
                continue
            got = split_definition(line)
            last = ["definition", *got] if got else None
            if last:
                out.append(last)
            continue
        if _continuation(line, mode, last):
            last[2] += "; " + line.strip().rstrip(" .;")
            continue
        got = split_symbol(line) if mode == "symbol" else None
        got = got or split_abbreviation(line)
        last = [mode, *got] if got else None
        if last:
            out.append(last)
    return [tuple(e) for e in out]


class Abbreviations(Task):
    name = "abbreviations"
    family = "abbreviations and definitions"
    version = "1"
    needs_teacher = False
    kinds = ("3gpp",)
    min_chars = 8  # a letter group of TR 21.905 can be one entry ("ZC<TAB>Zone Code")

    def __init__(self, seed: int = 0, max_per_passage: int = 40):
        self.seed, self.max_per_passage = seed, max_per_passage

    def applies(self, passage) -> bool:
        return passage.kind == "3gpp" and section_mode(passage) is not None

    def offline(self, passage) -> List[Pair]:
        found = entries(passage)
        chosen = sorted(range(len(found)), key=lambda i: pick_score(self.seed, passage.id, found[i][1]))
        chosen = sorted(chosen[:self.max_per_passage])
        where = passage.citation().split(",")[0]
        pairs = []
        for n in chosen:
            kind, key, value = found[n]
            if kind == "abbreviation":
                ask = variant(key, [f"What does the abbreviation {key} stand for in 3GPP specifications?",
                                    f"Expand the 3GPP abbreviation {key}.",
                                    f"In 3GPP terminology, what is {key} short for?"])
                if "; " in value:
                    response = f"{key} has several expansions in {where}: {value}."
                else:
                    response = f"{key} stands for {value} (as listed in {where})."
            elif kind == "symbol":
                ask = variant(key, [f"What does the symbol {key} denote in {where}?",
                                    f"In {where}, what is {key}?"])
                response = f"In {where}, {key} denotes {value[0].lower() + value[1:] if value[1:2].islower() else value}."
            else:
                ask = variant(key, [f"How does {where} define the term \"{key}\"?",
                                    f"What is meant by \"{key}\" in 3GPP specifications?",
                                    f"Give the 3GPP definition of \"{key}\"."])
                response = f"{where} defines {key} as: {value}"
            pairs.append(self.pair(passage, ask, response, n=n, fields={"entry_kind": kind, "term": key,
                                                                        "meaning": value}))
        return pairs
