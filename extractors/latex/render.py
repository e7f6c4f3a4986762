"""LaTeX to markdown through pandoc's LaTeX reader and its JSON AST.

Why pandoc: it is a real LaTeX reader (macro expansion of ``\\newcommand``/``\\renewcommand``/
``\\def``/``\\DeclareMathOperator``, environments, maths kept as LaTeX, tables parsed into cells,
citations and references as structured elements), it runs sandboxed (``--sandbox``: it reads no
file and no network; the flat text comes on standard input), with a heap limit and a timeout.
The markdown is written here from the AST, so numbering, citations, references, figures and the
back matter follow this project's rules rather than pandoc's markdown writer.

The text handed to pandoc is prepared by :mod:`telecom_etl.extractors.latex.source` (includes
flattened inside the tree, equations numbered, algorithms and complex tables cut out raw).
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from telecom_etl.extractors.latex.source import APPENDIX_MARK, RAW_MARK, Prepared
from telecom_etl.outcome import StageFailure

PANDOC_MISSING = "pandoc is not installed: LaTeX sources need it (Debian: apt-get install pandoc)"

# class commands pandoc does not know, defined as LaTeX would show them (prepended to the text)
PRELUDE = r"""
\providecommand{\IEEEPARstart}[2]{#1#2}
\providecommand{\IEEEmembership}[1]{#1}
\providecommand{\IEEEauthorrefmark}[1]{}
\providecommand{\IEEEauthorblockN}[1]{#1\\}
\providecommand{\IEEEauthorblockA}[1]{#1}
\providecommand{\IEEEcompsocitemizethanks}[1]{#1}
\providecommand{\IEEEcompsocthanksitem}{ }
\providecommand{\IEEEpeerreviewmaketitle}{}
\providecommand{\IEEEdisplaynontitleabstractindextext}{}
\providecommand{\IEEEraisesectionheading}[1]{#1}
\providecommand{\IEEEtitleabstractindextext}[1]{#1}
\providecommand{\IEEEoverridecommandlockouts}{}
\providecommand{\IEEEspecialpapernotice}[1]{}
\providecommand{\IEEEaftertitletext}[1]{}
\providecommand{\IEEEtriggeratref}[1]{}
\providecommand{\IEEEQED}{}
\providecommand{\IEEEQEDhere}{}
\providecommand{\markboth}[2]{}
\providecommand{\newblock}{}
\providecommand{\corref}[1]{}
\providecommand{\fnref}[1]{}
\providecommand{\tnoteref}[1]{}
\providecommand{\cortext}[2][]{#2}
\providecommand{\fntext}[2][]{#2}
\providecommand{\tnotetext}[2][]{#2}
\providecommand{\ead}[2][]{#2}
\providecommand{\address}[2][]{}
\providecommand{\affiliation}[2][]{}
\providecommand{\journal}[1]{}
\providecommand{\affil}[2][]{}
\providecommand{\email}[1]{}
\providecommand{\orcid}[1]{}
\providecommand{\figureref}[1]{Figure~\ref{#1}}
\providecommand{\tableref}[1]{Table~\ref{#1}}
\providecommand{\sectionref}[1]{Section~\ref{#1}}
\providecommand{\appendixref}[1]{Appendix~\ref{#1}}
\providecommand{\equationref}[1]{Equation~\eqref{#1}}
\providecommand{\algorithmref}[1]{Algorithm~\ref{#1}}
\providecommand{\theoremref}[1]{Theorem~\ref{#1}}
\providecommand{\lemmaref}[1]{Lemma~\ref{#1}}
"""

_ACK = re.compile(r"^\W*acknowledge?ments?\W*$|^\W*acknowledge?ments? and \w+\W*$", re.I)
_ACK_DIVS = {"acknowledgment", "acknowledgments", "acknowledgement", "acknowledgements", "acks", "ack"}
_DROP_DIVS = {"IEEEbiography", "IEEEbiographynophoto", "biography"}
_KEYWORD_DIVS = {"IEEEkeywords": "Index Terms", "keyword": "Keywords", "keywords": "Keywords",
                 "IEEEkeyword": "Index Terms"}
_RAW_SENTINEL = "\x00raw:"
_MATH_LABEL = re.compile(r"\\label\s*\{[^{}]*\}\s*")
_ROMAN = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"), (40, "XL"),
          (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]


def roman(n: int) -> str:
    out = ""
    for value, sym in _ROMAN:
        while n >= value:
            out += sym
            n -= value
    return out


def alpha(n: int) -> str:
    out = ""
    while n > 0:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


@dataclass
class Converted:
    markdown: str
    title: Optional[str]
    authors: List[str]
    abstract: str
    counts: Counter = field(default_factory=Counter)
    byline: str = ""
    front_notes: List[str] = field(default_factory=list)


def run_pandoc(text: str, timeout_s: float, heap_mb: int = 1024) -> dict:
    exe = shutil.which("pandoc")
    if exe is None:
        raise StageFailure(PANDOC_MISSING)
    cmd = [exe, "+RTS", f"-M{heap_mb}m", "-RTS", "--sandbox", "-f", "latex", "-t", "json"]
    try:
        proc = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise StageFailure(f"pandoc did not finish within {timeout_s:g} s") from None
    if proc.returncode != 0:
        err = " ".join(proc.stderr.decode("utf-8", "replace").split())[:300] or f"exit code {proc.returncode}"
        if "Heap exhausted" in err or "heap overflow" in err.lower():
            err = f"more than {heap_mb} MB of memory"
        raise StageFailure(f"pandoc rejected the source: {err}")
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise StageFailure("pandoc wrote no JSON") from None


class Renderer:
    """One pass over pandoc's blocks to markdown."""

    def __init__(self, prepared: Prepared, drop_references: bool, drop_acknowledgements: bool):
        self.prep = prepared
        self.drop_references, self.drop_ack = drop_references, drop_acknowledgements
        self.counts: Counter = Counter()
        self.notes: List[str] = []
        opts = prepared.class_options.replace(" ", "").split(",")
        ieee = prepared.doc_class == "IEEEtran"
        self.style = "ieee" if ieee and "compsoc" not in opts else "arabic"
        self.numbers = [0] * 7
        self.appendix = False
        self.figures = 0
        self.labels: Dict[str, str] = dict(prepared.labels)

    # -- numbering ------------------------------------------------------------------------------
    def _number(self, level: int) -> Tuple[str, str]:
        """(number shown in the heading, number a reference shows) of the next heading."""
        self.numbers[level] += 1
        for deeper in range(level + 1, len(self.numbers)):
            self.numbers[deeper] = 0
        parts = self.numbers[1:level + 1]
        if any(p == 0 for p in parts):
            parts = [max(p, 1) for p in parts]
        if self.style == "ieee":
            first = alpha(parts[0]) if self.appendix else roman(parts[0])
            if level == 1:
                return (f"Appendix {first}" if self.appendix else f"{first}."), first
            if level == 2:
                return f"{alpha(parts[1])}.", f"{first}-{alpha(parts[1])}"
            if level == 3:
                return f"{parts[2]})", f"{first}-{alpha(parts[1])}{parts[2]}"
            return "", ""
        if level > 3:
            return "", ""
        first = alpha(parts[0]) if self.appendix else str(parts[0])
        number = ".".join([first] + [str(p) for p in parts[1:]])
        return number, number

    def collect_headers(self, blocks: list) -> None:
        """First pass: the number of every labelled heading, for forward references."""
        saved = (list(self.numbers), self.appendix)
        for block in blocks:
            if self._is_appendix_mark(block):
                self.appendix = True
                self.numbers = [0] * 7
            elif block["t"] == "Header":
                level, (ident, classes, _), _ = block["c"]
                if "unnumbered" in classes:
                    continue
                _, ref = self._number(level)
                if ident and ident not in self.labels and ref:
                    self.labels[ident] = ref
            elif block["t"] == "Div":
                self.collect_headers(block["c"][1])
        self.numbers, self.appendix = saved

    @staticmethod
    def _is_appendix_mark(block: dict) -> bool:
        return (block["t"] in ("Para", "Plain") and len(block["c"]) == 1 and block["c"][0]["t"] == "Str"
                and block["c"][0]["c"] == APPENDIX_MARK)

    @staticmethod
    def _raw_index(block: dict) -> Optional[int]:
        if block["t"] in ("Para", "Plain") and len(block["c"]) == 1 and block["c"][0]["t"] == "Str":
            value = block["c"][0]["c"]
            if value.startswith(RAW_MARK) and value[len(RAW_MARK):].isdigit():
                return int(value[len(RAW_MARK):])
        return None

    # -- inlines --------------------------------------------------------------------------------
    def inlines(self, items: list) -> str:
        return "".join(self.inline(x) for x in items)

    def inline(self, x: dict) -> str:
        t, c = x["t"], x.get("c")
        if t == "Str":
            if c.startswith(RAW_MARK) and c[len(RAW_MARK):].isdigit():  # a raw block inside a group
                return f"\n\n{_RAW_SENTINEL}{int(c[len(RAW_MARK):])}\n\n"
            return c.replace("\u00a0", " ")  # ~
        if t in ("Space", "SoftBreak"):
            return " "
        if t == "LineBreak":
            return "\n"
        if t in ("Emph", "Strong", "Underline", "Strikeout", "SmallCaps", "Superscript", "Subscript"):
            return self.inlines(c)
        if t == "Quoted":
            open_, close = ("\u201c", "\u201d") if c[0]["t"] == "DoubleQuote" else ("\u2018", "\u2019")
            return open_ + self.inlines(c[1]) + close
        if t == "Cite":
            marks = []
            for cite in c[0]:
                mark = self.prep.bib.get(cite["citationId"], cite["citationId"])
                pre = " ".join(self.inlines(cite.get("citationPrefix") or []).split())
                post = " ".join(self.inlines(cite.get("citationSuffix") or []).split())
                marks.append(" ".join(x for x in (pre, mark, post) if x))
            self.counts["citations"] += len(marks)
            return "[" + ", ".join(marks) + "]"
        if t == "Code":
            return f"`{c[1]}`"
        if t == "Math":
            kind, tex = c[0]["t"], _MATH_LABEL.sub("", c[1]).strip()
            if kind == "DisplayMath":
                self.counts["display_math"] += 1
                return f"\n\n$${tex}$$\n\n"
            self.counts["inline_math"] += 1
            return f"${tex}$"
        if t == "RawInline":
            return ""
        if t == "Link":
            attr, content, (url, _) = c
            keyvals = dict(attr[2])
            if "reference" in keyvals:
                self.counts["references"] += 1
                target = keyvals["reference"]
                return self.labels.get(target, "[?]")
            text = self.inlines(content)
            return text or url
        if t == "Image":
            attr, caption, (_, title) = c
            if not title.startswith("fig:"):
                return ""
            self.figures += 1  # a figure is its caption
            number = self.labels.get(attr[0]) or str(self.figures)
            text = " ".join(self.inlines(caption).split())
            self.counts["figures"] += 1
            return f"\n\nFigure {number}: {text}\n\n" if text else ""
        if t == "Note":
            self.notes.append(self.blocks_text(c))
            return f"[^{len(self.notes)}]"
        if t == "Span":
            return self.inlines(c[1])
        return ""

    def blocks_text(self, blocks: list) -> str:
        return " ".join(self.render_blocks(blocks)).strip()

    # -- blocks ---------------------------------------------------------------------------------
    def render_blocks(self, blocks: list) -> List[str]:
        out: List[str] = []
        skip_level: Optional[int] = None
        for block in blocks:
            t, c = block["t"], block.get("c")
            if t == "Header" and skip_level is not None:
                if c[0] <= skip_level:
                    skip_level = None
            if skip_level is not None:
                continue
            if self._is_appendix_mark(block):
                self.appendix = True
                self.numbers = [0] * 7
                continue
            raw = self._raw_index(block)
            if raw is not None:
                kind, latex = self.prep.raw_blocks[raw]
                out.append(f"```latex\n{latex}\n```")
                self.counts[f"raw_{kind}"] += 1
                continue
            if t == "Header":
                level, (ident, classes, _), content = c
                title = " ".join(self.inlines(content).split())  # a forced line break (\\\\) is a space
                if self.drop_ack and _ACK.match(title):
                    self.counts["dropped_acknowledgements"] += 1
                    skip_level = level
                    continue
                if self.drop_references and re.match(r"^\W*(references|bibliography)\W*$", title, re.I):
                    skip_level = level
                    continue
                number = ""
                if "unnumbered" not in classes:
                    number, _ = self._number(level)
                self.counts["headings"] += 1
                hashes = "#" * min(level + 1, 6)
                out.append(f"{hashes} {number + ' ' if number else ''}{title}".rstrip())
            elif t in ("Para", "Plain"):
                text = self.inlines(c)
                for part in text.split("\n\n"):
                    if part.startswith(_RAW_SENTINEL):
                        kind, latex = self.prep.raw_blocks[int(part[len(_RAW_SENTINEL):])]
                        out.append(f"```latex\n{latex}\n```")
                        self.counts[f"raw_{kind}"] += 1
                    elif _tidy(part):
                        out.append(_tidy(part))
            elif t == "Div":
                (_, classes, _), inner = c
                name = classes[0] if classes else ""
                if name == "telecometlbibliography":
                    self.counts["bibliographies"] += 1
                    if not self.drop_references:
                        out.append("## References")
                        out.extend(self.render_blocks(inner))
                    continue
                if name in _ACK_DIVS and self.drop_ack:
                    self.counts["dropped_acknowledgements"] += 1
                    continue
                if name in _ACK_DIVS:
                    out.append("## Acknowledgements")
                if name in _DROP_DIVS and self.drop_ack:  # biographies are back matter too
                    continue
                parts = self.render_blocks(inner)
                if name in _KEYWORD_DIVS and parts:
                    parts[0] = f"{_KEYWORD_DIVS[name]}: {parts[0]}"
                out.extend(parts)
            elif t in ("BulletList", "OrderedList"):
                items = c if t == "BulletList" else c[1]
                start = 1 if t == "BulletList" else c[0][0]
                for i, item in enumerate(items):
                    body = " ".join(self.render_blocks(item)).strip()
                    if not body:
                        continue
                    marker = "-" if t == "BulletList" else f"{start + i}."
                    if body.startswith("[") and t == "BulletList" and re.match(r"^\[[^\]]+\] ", body):
                        out.append(body)  # bibliography entries carry their own marker
                    else:
                        out.append(f"{marker} {body}")
            elif t == "DefinitionList":
                for term, defs in c:
                    out.append(f"{self.inlines(term).strip()}: " + " ".join(
                        " ".join(self.render_blocks(d)) for d in defs))
            elif t == "BlockQuote":
                out.extend("> " + p for p in self.render_blocks(c))
            elif t == "CodeBlock":
                out.append(f"```\n{c[1]}\n```")
            elif t == "LineBlock":
                out.append("\n".join(self.inlines(line) for line in c))
            elif t == "Table":
                out.extend(self.table(c))
            elif t == "Figure":  # pandoc 3
                caption = self.blocks_text(c[1][1])
                out.append(f"Figure: {caption}" if caption else "")
            # RawBlock, HorizontalRule, Null: nothing to keep
        return [o for o in out if o]

    def table(self, c) -> List[str]:
        self.counts["tables_markdown"] += 1
        _, caption, _, head, bodies, _ = c
        cap = self.blocks_text(caption[1]) if caption and caption[1] else ""
        rows: List[List[str]] = []
        for row in head[1]:
            rows.append([self._cell(cell) for cell in row[1]])
        n_head = len(rows)
        for body in bodies:
            for row in body[2] + body[3]:
                rows.append([self._cell(cell) for cell in row[1]])
        out = [cap if re.match(r"^Table \d+: ", cap) else f"Table: {cap}"] if cap else []
        if not rows:
            return out
        width = max(len(r) for r in rows)
        rows = [r + [""] * (width - len(r)) for r in rows]
        header = rows[0] if n_head else [""] * width
        body_rows = rows[1:] if n_head else rows
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * width]
        lines += ["| " + " | ".join(r) + " |" for r in body_rows]
        out.append("\n".join(lines))
        return out

    def _cell(self, cell) -> str:
        return " ".join(self.render_blocks(cell[4])).replace("|", "\\|").replace("\n", " ").strip()


def _tidy(text: str) -> str:
    if text.startswith("$$"):
        return text.strip()
    return re.sub(r"[ \t]+", " ", text).strip()


def _plain(renderer: Renderer, inlines: list) -> str:
    kept = [x for x in inlines if x.get("t") != "Note"]
    return " ".join(renderer.inlines(kept).split())


def _meta_text(renderer: Renderer, value: Optional[dict]) -> str:
    if not value:
        return ""
    t, c = value["t"], value.get("c")
    if t == "MetaInlines":
        return _plain(renderer, c)
    if t == "MetaBlocks":
        return "\n\n".join(renderer.render_blocks(c))
    if t == "MetaString":
        return c
    if t == "MetaList":
        return ", ".join(_meta_text(renderer, v) for v in c)
    return ""


def _author_entries(value: Optional[dict]) -> list:
    if not value:
        return []
    return value["c"] if value["t"] == "MetaList" else [value]


def _authors(renderer: Renderer, value: Optional[dict]) -> List[str]:
    """Names from the author entries: the first line of each (an IEEE block's name line),
    memberships and affiliations left out."""
    from telecom_etl.extractors.paper import parse_byline

    names: List[str] = []
    for entry in _author_entries(value):
        if entry["t"] != "MetaInlines":
            continue
        text = renderer.inlines([x for x in entry["c"] if x.get("t") != "Note"]).replace("\u00a0", " ")
        first = " ".join(text.strip().split("\n")[0].split()).strip(" ,;")
        if not first:
            continue
        parsed = parse_byline(first)
        if parsed:
            names.extend(parsed)
        elif len(first) <= 60 and "," not in first and len(first.split()) <= 5:
            names.append(first)
    return list(dict.fromkeys(names))


def _byline(renderer: Renderer, value: Optional[dict]) -> str:
    """The author block as the paper prints it under the title (names, memberships,
    affiliations); footnotes on it (``\\thanks``) go to the notes."""
    parts = []
    for entry in _author_entries(value):
        if entry["t"] == "MetaInlines":
            text = renderer.inlines(entry["c"])
        else:
            text = _meta_text(renderer, entry)
        text = ", ".join(" ".join(line.split()) for line in text.split("\n") if line.strip())
        if text.strip(" ,"):
            parts.append(text.strip(" ,"))
    return "; ".join(parts)


def convert(prepared: Prepared, drop_references: bool = True, drop_acknowledgements: bool = False,
            timeout_s: float = 60.0) -> Converted:
    ast = run_pandoc(PRELUDE + prepared.text, timeout_s)
    renderer = Renderer(prepared, drop_references, drop_acknowledgements)
    meta = ast.get("meta") or {}
    blocks = ast.get("blocks") or []
    renderer.collect_headers(blocks)
    title = _meta_text(renderer, meta.get("title")) or None
    authors = _authors(renderer, meta.get("author"))
    # the notes of the title and the byline (\thanks: affiliations, dates, funding) as the
    # first page prints them, after the byline
    title_value = meta.get("title") or {}
    if title_value.get("t") == "MetaInlines":
        renderer.inlines([x for x in title_value["c"] if x.get("t") == "Note"])
    byline = _byline(renderer, meta.get("author"))
    byline = re.sub(r"\[\^\d+\]", "", byline)
    front_notes, renderer.notes = renderer.notes, []
    abstract = _meta_text(renderer, meta.get("abstract"))
    body = renderer.render_blocks(blocks)
    out: List[str] = []
    if title:
        out.append(f"# {title}")
    # the byline (names, affiliations, e-mails) and its notes are metadata, not body text, as
    # for PDF papers (extra.affiliations, extra.front_notes)
    if abstract.strip():
        out.append("## Abstract")
        out.append(abstract.strip())
    out.extend(body)
    if renderer.notes:
        out.extend(f"[^{i}]: {note}" for i, note in enumerate(renderer.notes, start=1) if note)
    markdown = "\n\n".join(out).strip()
    markdown = re.sub(r"\n{3,}", "\n\n", markdown) + "\n" if markdown else ""
    counts = renderer.counts
    counts.update(prepared.counts)
    return Converted(markdown, title, authors, abstract.strip(), counts, byline,
                     [note for note in front_notes if note])
