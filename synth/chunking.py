"""Section-aware passages for synthesis: clauses of specs, sections of papers, units of code.

A pre-training record is one whole document (its text carrying headings) or one
clause (``clause_path`` set). :func:`sections_of` splits a document at its headings:

* markdown headings (``## 5.3.5 RRC reconfiguration``), as the 3GPP and paper
  extractors write them;
* plain numbered heading lines (``5.3.5<TAB>RRC reconfiguration``), as older or
  third-party extractions have them (table-of-contents lines ending in a page number
  are not headings);
* code records are split into top-level functions/classes (Python ``def``/``class``,
  C-family function bodies at column 0), else kept as one unit.

:func:`passages_of` turns sections into :class:`Passage` objects of bounded size (too
short ones are skipped, long ones cut at paragraph boundaries into windows), each
carrying the document's metadata and its clause/section path, so every pair made from
it can be traced back. :func:`pick_score` gives the seeded hash that budgets sample by
(no randomness: the same ids and seed always select the same passages).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from telecom_etl.record import Document

_MD_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
# a plain heading's number has a digit ("5.1", "A.2"; a lone "C<TAB>Conditional" is an abbreviation
# entry) and its title starts with a capital ("3<TAB>or greater indicates ..." is Foreword prose)
_PLAIN_HEADING = re.compile(r"^(\d{1,2}(?:\.\d{1,3}){0,6}|[A-Z](?:\.\d{1,3}){1,6})\t([A-Z][^\t]{0,199})$")
_NUMBER = re.compile(r"^((?:Annex\s+)?(?:[A-Z]|\d{1,2})(?:\.\d{1,3}){0,7})\.?(?:\s+|$)(.*)$")
_FENCE = re.compile(r"^(```|~~~)")
_SPEC_FILE = re.compile(r"(?:^|/)(\d{2})(\d{3})(?:-\d+)?-[0-9a-z]{3,6}(?:\.\w+)?$", re.I)


@dataclass
class Section:
    path: str  # clause number ("5.3.5"), else the title; "" for text before any heading
    title: str
    depth: int
    text: str  # the section's own body (not its subsections), heading excluded
    trail: List[str] = field(default_factory=list)  # titles of the enclosing sections, outermost first


@dataclass
class Passage:
    """A piece of one document, small enough for one prompt, with its provenance."""

    doc_id: str
    source: str
    kind: str
    section: str  # clause/section path ("5.3.5"), code unit name, or "" (whole document)
    section_title: str
    text: str
    part: int = 0  # window number when a long section was cut
    title: str = ""  # document title
    meta: Dict[str, str] = field(default_factory=dict)  # spec_number, working_group, spec_series, ...
    trail: List[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.doc_id}:{self.section}:{self.part}"

    def citation(self) -> str:
        """Where the passage comes from, for answers that cite their source."""
        m = self.meta
        if self.kind == "3gpp" and m.get("spec_number"):
            name = f"3GPP {m.get('spec_type') or 'TS'} {m['spec_number']}"
            if m.get("spec_version"):
                name += f" V{m['spec_version']}"
        else:
            name = self.title or m.get("path") or self.doc_id
        if self.section:
            where = "clause" if self.kind == "3gpp" else ("unit" if self.kind == "code" else "section")
            label = f"{where} {self.section}"
            if self.section_title and self.section_title != self.section:
                label += f" ({self.section_title})"
            return f"{name}, {label}"
        return name


def split_number(heading: str) -> tuple:
    """``"5.3.5 RRC reconfiguration"`` -> ("5.3.5", "RRC reconfiguration"); no number -> ("", heading)."""
    heading = heading.strip().replace("**", "")
    m = _NUMBER.match(heading)
    if m and m.group(2) and (any(c.isdigit() for c in m.group(1)) or m.group(1).startswith("Annex")):
        return m.group(1), m.group(2).strip()
    return "", heading


def sections_of(text: str) -> List[Section]:
    """Split a document at its headings (markdown or plain numbered lines); code fences are opaque."""
    sections: List[Section] = []
    stack: List[tuple] = []  # (depth, heading, path)
    current = Section("", "", 0, "")
    body: List[str] = []
    in_fence = False

    def close() -> None:
        current.text = "\n".join(body).strip()
        if current.text or current.path:
            sections.append(current)

    for line in text.split("\n"):
        if _FENCE.match(line.strip()):
            in_fence = not in_fence
        heading = None
        if not in_fence:
            m = _MD_HEADING.match(line)
            if m:
                number, title = split_number(m.group(2))
                heading = (len(m.group(1)), number, title)
            else:
                m = _PLAIN_HEADING.match(line.rstrip())
                if m and not re.search(r"\t\d+$", line.rstrip()):
                    number, title = m.group(1), m.group(2).strip()
                    heading = (number.count(".") + 1, number, title)
        if heading is None:
            body.append(line)
            continue
        close()
        depth, number, title = heading
        while stack and stack[-1][0] >= depth:
            stack.pop()
        # an unnumbered heading is qualified by its parent ("4/A" in TR 21.905's lists, "II. SYSTEM
        # MODEL/A. Network Model" in a paper), unless the parent is a paper's title (depth 1, no number)
        parent = stack[-1] if stack else None
        qualify = parent is not None and parent[2] and (parent[2][:1].isdigit() or parent[0] >= 2)
        path = number or (f"{parent[2]}/{title}" if qualify else title)
        current = Section(path, title, depth, "", [t for _, t, _ in stack])
        stack.append((depth, (number + " " + title).strip(), path))
        body = []
    close()
    return sections


# ---- code ------------------------------------------------------------------

_PY_UNIT = re.compile(r"^(?:async\s+def|def|class)\s+([A-Za-z_]\w*)")
_C_FUNC = re.compile(r"^[A-Za-z_][\w\s\*,\(\)\[\]:<>&~]*?\b([A-Za-z_]\w*)\s*\([^;]*\)\s*(?:const\s*)?\{?\s*$")


def code_units(text: str, language: Optional[str]) -> List[Section]:
    """Top-level functions/classes of a code file (the whole file when none is found)."""
    lines = text.split("\n")
    lang = (language or "").lower()
    units: List[Section] = []
    if lang == "python":
        starts = [(i, m.group(1)) for i, line in enumerate(lines) for m in [_PY_UNIT.match(line)] if m]
        for n, (i, name) in enumerate(starts):
            # decorators directly above belong to the unit
            j = i
            while j > 0 and lines[j - 1].startswith("@"):
                j -= 1
            end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
            while end > i + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("@")):
                end -= 1
            units.append(Section(name, name, 1, "\n".join(lines[j:end]).rstrip()))
    elif lang in ("c", "c++", "cpp", "java", "go", "rust", "c#", "javascript", "typescript", "kotlin", "scala"):
        i = 0
        while i < len(lines):
            m = _C_FUNC.match(lines[i]) if lines[i][:1].strip() and not lines[i].startswith(("#", "//", "/*")) else None
            brace = m and ("{" in lines[i] or (i + 1 < len(lines) and lines[i + 1].strip() == "{"))
            if not brace or m.group(1) in ("if", "for", "while", "switch", "return"):
                i += 1
                continue
            depth, j, opened = 0, i, False
            while j < len(lines):
                depth += lines[j].count("{") - lines[j].count("}")
                opened = opened or "{" in lines[j]
                if opened and depth <= 0:
                    break
                j += 1
            start = i
            while start > 0 and lines[start - 1].strip().startswith(("/*", "*", "//")) and start > i - 12:
                start -= 1
            units.append(Section(m.group(1), m.group(1), 1, "\n".join(lines[start:j + 1]).rstrip()))
            i = j + 1
    if not units:
        units = [Section("", "", 0, text.strip())]
    return units


# ---- passages ------------------------------------------------------------------

def doc_meta(doc: Document) -> Dict[str, str]:
    meta = {k: str(v) for k, v in (("spec_number", doc.spec_number), ("spec_type", doc.spec_type),
                                   ("spec_version", doc.spec_version), ("spec_release", doc.spec_release),
                                   ("spec_series", doc.spec_series), ("working_group", doc.working_group),
                                   ("path", doc.path), ("repo", doc.repo), ("code_language", doc.code_language),
                                   ("arxiv_id", doc.arxiv_id), ("doi", doc.doi), ("license", doc.license))
            if v not in (None, "")}
    if doc.kind == "3gpp" and "spec_number" not in meta:
        # records of older extractions carry the spec only in the 3GPP file name (38331-i10.docx)
        m = _SPEC_FILE.search(doc.uri or "")
        if m:
            meta["spec_number"] = f"{m.group(1)}.{m.group(2)}"
    if "spec_number" in meta and "spec_series" not in meta:
        meta["spec_series"] = meta["spec_number"].split(".")[0]
    return meta


def _windows(text: str, max_chars: int) -> List[str]:
    """Cut at paragraph (then line) boundaries into pieces of at most ``max_chars``."""
    if len(text) <= max_chars:
        return [text]
    out, cur = [], ""
    for para in re.split(r"(\n\s*\n)", text):
        if len(cur) + len(para) > max_chars and cur.strip():
            out.append(cur.strip())
            cur = ""
        while len(para) > max_chars:  # one huge paragraph or table: cut at a line, else hard
            cut = para.rfind("\n", 0, max_chars)
            cut = cut if cut > max_chars // 2 else max_chars
            out.append(para[:cut].strip())
            para = para[cut:]
        cur += para
    if cur.strip():
        out.append(cur.strip())
    return [o for o in out if o]


def passages_of(doc: Document, min_chars: int = 300, max_chars: int = 6000) -> List[Passage]:
    """The passages of one record (see the module docstring); [] when nothing is long enough."""
    meta = doc_meta(doc)
    if doc.kind == "code":
        sections = code_units(doc.text, doc.code_language)
        min_chars = min(min_chars, 60)  # a short function is still a unit worth a task
    elif doc.clause_path:
        parts = sections_of(doc.text)
        body = "\n\n".join(s.text for s in parts if s.text) if parts else doc.text
        sections = [Section(doc.clause_path, doc.clause_title or doc.clause_path, doc.clause_path.count(".") + 1,
                            body)]
    else:
        sections = sections_of(doc.text)
    out: List[Passage] = []
    for sec in sections:
        if len(sec.text) < min_chars:
            continue
        for part, piece in enumerate(_windows(sec.text, max_chars)):
            if len(piece) < min_chars and part > 0:
                continue
            out.append(Passage(doc.id, doc.source, doc.kind, sec.path, sec.title, piece, part,
                               doc.title or "", meta, list(sec.trail)))
    return out


def pick_score(seed: int, *parts: str) -> int:
    """A stable pseudo-random rank for (seed, parts): budgets keep the lowest ranks."""
    data = "\x00".join([str(seed), *parts]).encode("utf-8")
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "big")
