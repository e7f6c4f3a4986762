"""From a source tree to one flat LaTeX text that the converter reads.

* :func:`find_main`: the file with ``\\documentclass`` and ``\\begin{document}`` that no other
  file of the tree includes and that is not a part (``standalone`` figures, ``subfiles``
  sections: :data:`PART_CLASSES`); of several, the shallowest, then the longest, then the
  first name;
* :func:`strip_comments`: ``%`` comments (not ``\\%``, not inside ``\\verb``/verbatim),
  ``comment`` environments and ``\\iffalse ... \\fi``;
* :func:`flatten`: ``\\input``, ``\\include``, ``\\subfile``, ``\\import`` resolved inside the tree
  only (absolute paths and ``..`` out of the root are refused), loops and missing files counted
  and left out, the expansion bounded; ``\\bibliography`` replaced by the tree's ``.bbl``;
* :func:`prepare`: numbers the displayed equations as LaTeX would (``\\tag{n}`` on each
  numbered row, labels remembered), cuts algorithms and tables that markdown cannot hold into
  raw blocks, turns ``thebibliography`` into a numbered list and marks ``\\appendix``.

The converter then never sees a file name: it gets the flat text on standard input.
"""
from __future__ import annotations

import posixpath
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

from telecom_etl.extractors.sniff import looks_binary
from telecom_etl.outcome import StageFailure

MAX_DEPTH = 16
NOT_LATEX = "not a PDF or a LaTeX source (text without \\documentclass and \\begin{document})"
_DOCCLASS = re.compile(r"\\document(?:class|style)\s*(?:\[(?P<opts>[^\]]*)\])?\s*\{(?P<cls>[^}]*)\}")
_BEGIN_DOC = re.compile(r"\\begin\s*\{document\}")
_END_DOC = re.compile(r"\\end\s*\{document\}")
_INCLUDE = re.compile(
    r"\\(?P<cmd>input|include|subfile|subfileinclude)\s*\{(?P<arg>[^{}]*)\}"
    r"|\\(?P<icmd>import|subimport|inputfrom|subinputfrom|includefrom|subincludefrom)\*?\s*\{(?P<dir>[^{}]*)\}\s*\{(?P<file>[^{}]*)\}"
    r"|\\input\s+(?P<bare>[^\s{}\\]+)"
    r"|\\(?P<bib>bibliography)\s*\{(?P<bibarg>[^{}]*)\}")
_VERBATIM_ENVS = ("verbatim", "Verbatim", "lstlisting", "minted", "comment", "alltt")


def decode(data: bytes) -> Optional[str]:
    """Text of a .tex file: UTF-8 (BOM dropped), else Latin-1/cp1252; None when binary."""
    if looks_binary(data):
        return None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


# -- comments ---------------------------------------------------------------------------------

_COMMENT_SCAN = re.compile(
    r"\\\\|\\%|\\verb\*?(?P<d>[^a-zA-Z\s*])(?:(?!(?P=d)).)*(?P=d)"
    r"|\\begin\s*\{(?P<env>verbatim\*?|Verbatim|lstlisting|minted|alltt)\}.*?\\end\s*\{(?P=env)\}"
    r"|\\begin\s*\{comment\}.*?\\end\s*\{comment\}"
    r"|\\iffalse\b"
    r"|%[^\n]*(?:\n(?![ \t]*\n)[ \t]*)?", re.S)  # a comment eats its line end, not a paragraph break


_CONDITIONAL = re.compile(r"\\newif\s*\\if[a-zA-Z@]*|\\ifthenelse\b|\\if[a-zA-Z@]*|\\else\b|\\fi\b|%[^\n]*")


def _false_branch_end(text: str, start: int):
    """For ``\\iffalse`` ending at ``start``: (end of the skipped part, start of the kept ``\\else``
    branch or None, end of the matching ``\\fi``), counting nested conditionals as TeX skips
    them (``\\newif`` declarations and ``\\ifthenelse`` are not conditionals; comments are)."""
    depth, else_at = 0, None
    for m in _CONDITIONAL.finditer(text, start):
        token = m.group(0)
        if token.startswith(("%", "\\newif", "\\ifthenelse")):
            continue
        if token == "\\fi":
            if depth == 0:
                return else_at, m.start(), m.end()
            depth -= 1
        elif token == "\\else":
            if depth == 0 and else_at is None:
                else_at = m.end()
        else:
            depth += 1
    return else_at, len(text), len(text)  # unclosed: TeX skips to the end too


def strip_comments(text: str) -> str:
    """Comments, ``comment`` environments and never-typeset ``\\iffalse`` branches removed
    (an ``\\else`` branch of ``\\iffalse`` is typeset, so it stays); verbatim text kept."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out, pos = [], 0
    while True:
        m = _COMMENT_SCAN.search(text, pos)
        if m is None:
            out.append(text[pos:])
            return "".join(out)
        out.append(text[pos:m.start()])
        whole = m.group(0)
        if whole.startswith("\\iffalse"):
            else_at, else_end, fi_end = _false_branch_end(text, m.end())
            # the kept branch is scanned again (it may hold comments of its own)
            text = text[:m.start()] + (text[else_at:else_end] if else_at is not None else "") + text[fi_end:]
            pos = m.start()  # what came before is already in out
            continue
        if not (whole.startswith("%") or re.match(r"\\begin\s*\{comment\}", whole)):
            out.append(whole)
        pos = m.end()


def has_document(text: str) -> bool:
    return bool(_DOCCLASS.search(text) and _BEGIN_DOC.search(text))


# -- the main file ----------------------------------------------------------------------------

def tex_texts(files: Dict[str, bytes]) -> Dict[str, str]:
    """Decoded text of the tree's text files (comments stripped), by path."""
    out = {}
    for path, data in files.items():
        if not data or len(data) > 16 * 1024 * 1024:
            continue
        text = decode(data)
        if text is not None:
            out[path] = strip_comments(text)
    return out


#: classes of files that are parts of another document, never papers: a standalone figure
#: (tikz, pgfplots) compiled on its own, a section compiled on its own with the subfiles package
PART_CLASSES = ("standalone", "subfiles")


class LatexPart(StageFailure):
    """The source's only documents are parts of another one (standalone figures, subfiles)."""


def part_class(text: str) -> Optional[str]:
    """``standalone`` or ``subfiles`` when the file's ``\\documentclass`` is one of
    :data:`PART_CLASSES`, else None."""
    m = _DOCCLASS.search(text)
    cls = m.group("cls").strip() if m else ""
    return cls if cls in PART_CLASSES else None


def include_names(text: str) -> List[str]:
    """The names a file ``\\input``s, ``\\include``s, ``\\subfile``s or ``\\import``s, as written."""
    names = []
    for m in _INCLUDE.finditer(text):
        if m.group("bib"):
            continue
        if m.group("icmd"):
            names.append(posixpath.join(m.group("dir").strip(), m.group("file").strip()))
        else:
            names.append((m.group("arg") if m.group("arg") is not None else m.group("bare")) or "")
    return [n.strip().strip('"') for n in names if n.strip().strip('"')]


def included_paths(path: str, text: str, paths, top: str = "") -> Set[str]:
    """The files of ``paths`` (a set of posix paths: a tree's, or a folder listing's) that the
    file at ``path`` includes. A name is taken relative to the file's own folder and to every
    folder above it up to ``top`` (LaTeX reads it from the main file's folder, the subfiles
    package from the part's own), with ``.tex`` added or as written."""
    found: Set[str] = set()
    folders = []
    folder = posixpath.dirname(path)
    top = "" if top in (".", "./") else top.rstrip("/")
    while True:
        folders.append(folder)
        if not folder or folder == top or folder == "/" or (top and not folder.startswith(top + "/")):
            break
        folder = posixpath.dirname(folder)
    for name in include_names(text):
        if name.startswith(("/", "~")) or re.match(r"^[A-Za-z]:", name):
            continue
        for base in folders:
            joined = posixpath.normpath(posixpath.join(base, name))
            if joined.startswith("../") or joined == "..":
                continue
            for candidate in (joined + ".tex", joined):
                if candidate in paths:
                    found.add(candidate)
    return found


def main_files(texts: Dict[str, str]) -> List[str]:
    """The papers of a tree: files with ``\\documentclass`` and ``\\begin{document}`` that are not
    of a part class (:data:`PART_CLASSES`) and that no other file of the tree includes; best
    first (the shallowest, then the longest, then the first name)."""
    documents = [p for p, t in texts.items() if has_document(t)]
    included: Set[str] = set()
    for path, text in texts.items():
        included |= included_paths(path, text, texts) - {path}
    papers = [p for p in documents if part_class(texts[p]) is None]
    top = [p for p in papers if p not in included] or papers  # each includes another (a loop): all
    return sorted(top, key=lambda p: (p.count("/"), -len(texts[p]), p))


def find_main(texts: Dict[str, str], hint: Optional[str] = None) -> str:
    if hint and hint in texts and has_document(texts[hint]):
        cls = part_class(texts[hint])
        if cls:
            raise LatexPart(_part_detail(cls))
        return hint
    mains = main_files(texts)
    if not mains:
        parts = sorted({part_class(t) for t in texts.values() if has_document(t)} - {None})
        if parts:
            raise LatexPart(_part_detail(*parts))
        if hint and hint in texts:
            raise StageFailure(NOT_LATEX)
        raise StageFailure("no LaTeX main file (\\documentclass and \\begin{document}) in the source")
    return mains[0]


def _part_detail(*classes: str) -> str:
    named = " and ".join(f"\\documentclass{{{c}}}" for c in classes)
    return f"only parts of another document ({named}: a figure or section compiled on its own), no paper"


# -- includes ---------------------------------------------------------------------------------

@dataclass
class Flat:
    text: str
    main: str
    counts: Counter = field(default_factory=Counter)
    missing: List[str] = field(default_factory=list)


def _resolve(texts: Dict[str, str], base: str, name: str, exts=(".tex", "")) -> Tuple[Optional[str], str]:
    """(path in the tree, why not) for an included name, relative to ``base`` (a folder)."""
    name = name.strip().strip('"')
    if not name:
        return None, "empty"
    if name.startswith("/") or name.startswith("~") or re.match(r"^[A-Za-z]:", name):
        return None, "outside"
    joined = posixpath.normpath(posixpath.join(base, name)) if base else posixpath.normpath(name)
    if joined.startswith("../") or joined == "..":
        return None, "outside"
    for ext in exts:
        candidate = joined + ext if ext and not joined.endswith(ext) else joined
        if candidate in texts:
            return candidate, ""
    return None, "missing"


def _body(text: str) -> str:
    """The document body of a file that is a whole document (``\\subfile`` targets)."""
    m = _BEGIN_DOC.search(text)
    if not m:
        return text
    end = _END_DOC.search(text, m.end())
    return text[m.end():end.start() if end else len(text)]


def flatten(texts: Dict[str, str], main: str, max_chars: int = 32 * 1024 * 1024) -> Flat:
    flat = Flat("", main)
    root_dir = posixpath.dirname(main)
    bbls = sorted(p for p in texts if p.endswith(".bbl"))
    main_bbl = posixpath.splitext(main)[0] + ".bbl"
    budget = [max_chars]

    def expand(path: str, stack: Tuple[str, ...]) -> str:
        text = texts[path]

        def repl(m: re.Match) -> str:
            if m.group("bib"):
                bbl = main_bbl if main_bbl in texts else (bbls[0] if len(bbls) == 1 else None)
                if bbl is None:
                    flat.counts["bibliography_without_bbl"] += 1
                    return ""
                flat.counts["bbl_used"] += 1
                return texts[bbl]
            if m.group("icmd"):
                base = posixpath.join(root_dir, m.group("dir")) if not m.group("icmd").startswith("sub") \
                    else posixpath.join(posixpath.dirname(path), m.group("dir"))
                name = m.group("file")
                if m.group("dir").startswith("/"):
                    flat.counts["includes_outside_tree"] += 1
                    return ""
            else:
                base, name = root_dir, m.group("arg") if m.group("arg") is not None else m.group("bare")
            target, why = _resolve(texts, base, name)
            if target is None:
                key = {"outside": "includes_outside_tree", "missing": "includes_missing"}.get(why, "includes_missing")
                flat.counts[key] += 1
                if why == "missing":
                    flat.missing.append(name.strip())
                return ""
            if target in stack:
                flat.counts["include_loops"] += 1
                return ""
            if len(stack) >= MAX_DEPTH:
                flat.counts["includes_too_deep"] += 1
                return ""
            flat.counts["includes_resolved"] += 1
            inner = expand(target, stack + (target,))
            if m.group("cmd") in ("subfile", "subfileinclude") or has_document(texts[target]):
                inner = _body(inner)  # a part that also compiles on its own (subfiles, docmute): its body
            budget[0] -= len(inner)
            if budget[0] < 0:
                raise StageFailure(f"\\input expansion exceeds {max_chars // (1024 * 1024)} MB (included files "
                                   "repeat too often)")
            sep = "\n\\clearpage\n" if m.group("cmd") == "include" else ""
            return f"{sep}{inner}\n" if sep else f"{inner} "

        return _INCLUDE.sub(repl, text)

    flat.text = expand(main, (main,))
    return flat


# -- preparation for the converter --------------------------------------------------------------

RAW_MARK = "TELECOMETLRAWBLOCK"
APPENDIX_MARK = "TELECOMETLAPPENDIX"

_DISPLAY = re.compile(r"\\begin\s*\{(?P<env>equation|align|gather|multline|eqnarray|flalign|alignat|xalignat)"
                      r"(?P<star>\*?)\}(?P<arg>\{\d+\})?(?P<body>.*?)\\end\s*\{(?P=env)(?P=star)\}", re.S)
_ROWED = {"align", "gather", "eqnarray", "flalign", "alignat", "xalignat"}
_LABEL = re.compile(r"\\label\s*\{([^{}]*)\}")
_NONUMBER = re.compile(r"\\(?:nonumber|notag)\b")
_ALGO = re.compile(r"\\begin\s*\{(?P<env>algorithm2e|algorithm|algorithmic)(?P<star>\*?)\}.*?"
                   r"\\end\s*\{(?P=env)(?P=star)\}", re.S)
_TABULAR = re.compile(r"\\begin\s*\{(?P<env>tabular[x*]?|tabulary|longtable|supertabular|array)\}"
                      r".*?\\end\s*\{(?P=env)\}", re.S)
_COMPLEX_TABLE = re.compile(r"\\multirow|\\multicolumn|\\begin\s*\{tabular|\\cline|\\diagbox|\\makecell")
_FLOAT = re.compile(r"\\begin\s*\{(?P<env>figure|table)(?P<star>\*?)\}.*?\\end\s*\{(?P=env)(?P=star)\}", re.S)
_THEBIB = re.compile(r"\\begin\s*\{thebibliography\}\s*(?:\{[^{}]*\})?(?P<body>.*?)\\end\s*\{thebibliography\}", re.S)
_BIBITEM = re.compile(r"\\bibitem\s*(?:\[(?P<opt>(?:[^\[\]]|\{[^{}]*\})*)\])?\s*\{(?P<key>[^{}]*)\}")
_APPENDIX = re.compile(r"\\(?:appendix|appendices)\b(?!\s*\{)")
_VERBATIM = re.compile(r"\\begin\s*\{(verbatim\*?|Verbatim|lstlisting|minted|alltt)\}.*?\\end\s*\{\1\}"
                       r"|\\verb\*?([^a-zA-Z\s*]).*?\2", re.S)
_VERB_MARK = "\x00verbatim:"
_GLUE = re.compile(r"\\[hv]skip\s*-?[\d.]+\s*(?:em|ex|pt|cm|mm|in|bp|sp|pc|fil+)"
                   r"(?:\s*plus\s*-?[\d.]+\s*(?:em|ex|pt|cm|mm|in|bp|sp|pc|fil+))?"
                   r"(?:\s*minus\s*-?[\d.]+\s*(?:em|ex|pt|cm|mm|in|bp|sp|pc|fil+))?\s*(?:\\relax\b)?")


@dataclass
class Prepared:
    text: str
    raw_blocks: List[Tuple[str, str]]  # (kind, raw LaTeX) by placeholder number
    labels: Dict[str, str]  # label -> the number the paper shows ("3", "IV", "2a")
    bib: Dict[str, str]  # citation key -> marker ("1", "Smith et al., 2001")
    doc_class: str
    class_options: str
    counts: Counter = field(default_factory=Counter)


def _split_rows(body: str) -> List[str]:
    """Rows of an align-like body at top-level ``\\\\`` (not inside braces or nested environments)."""
    rows, depth, env, start, i = [], 0, 0, 0, 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            if body.startswith("\\\\", i) and depth == 0 and env == 0:
                rows.append(body[start:i])
                i += 2
                m = re.match(r"\*?\s*\[[^\]]*\]", body[i:])  # \\[2pt]
                if m:
                    i += m.end()
                start = i
                continue
            if body.startswith("\\begin", i):
                env += 1
            elif body.startswith("\\end", i):
                env -= 1
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        i += 1
    rows.append(body[start:])
    return rows


def number_equations(text: str, labels: Dict[str, str], counts: Counter) -> str:
    """``\\tag{n}`` on every row LaTeX numbers; labels point at those numbers."""
    n = [0]

    def number_row(row: str, numbered: bool) -> str:
        found = _LABEL.findall(row)
        if _NONUMBER.search(row) or not numbered:
            return _NONUMBER.sub("", row)
        tag = re.search(r"\\tag\*?\s*\{([^{}]*)\}", row)
        if tag:
            value = tag.group(1)
        else:
            n[0] += 1
            value = str(n[0])
            row = row.rstrip() + f" \\tag{{{value}}}"
        for lab in found:
            labels[lab] = f"({value})"
        return row

    def repl(m: re.Match) -> str:
        env, star, body = m.group("env"), m.group("star"), m.group("body")
        counts["display_equations"] += 1
        numbered = not star
        if env in _ROWED:
            rows = _split_rows(body)
            last_empty = len(rows) > 1 and not rows[-1].strip()
            out = [number_row(r, numbered) if (i < len(rows) - 1 or not last_empty) else r
                   for i, r in enumerate(rows)]
            body = "\\\\".join(out)
        else:
            body = number_row(body, numbered)
        return f"\\begin{{{env}{star}}}{m.group('arg') or ''}{body}\\end{{{env}{star}}}"

    return _DISPLAY.sub(repl, text)


def _command_arg(text: str, name: str) -> Optional[Tuple[int, int, str]]:
    """(start, end, content) of the first ``\\name[opt]{content}``'s braced argument
    (``start``/``end`` span the braces), braces balanced; None when there is none."""
    m = re.search(rf"\\{name}\*?\s*(?:\[[^\]]*\]\s*)?\{{", text)
    if not m:
        return None
    close = closing_brace(text, m.end() - 1)
    return (m.end() - 1, close + 1, text[m.end():close]) if close < len(text) else None


def closing_brace(text: str, start: int) -> int:
    """Index of the ``}`` that closes the ``{`` at ``start`` (escaped braces skipped), or len(text)."""
    depth, i = 0, start
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return len(text)


_MACRO_DEF = re.compile(r"\\(?:(?:re|provide)?newcommand\*?\s*\{?\s*\\[A-Za-z@]+\s*\}?\s*(?:\[\d\])?\s*"
                        r"(?:\[[^\]]*\])?|\\[egx]?def\s*\\[A-Za-z@]+[^{]*)\s*\{")
_TEX_PRIMITIVES = re.compile(r"\\(?:if[a-z]*|expandafter|csname|futurelet|afterassignment|aftergroup|"
                             r"noexpand|edef|xdef)(?![A-Za-z])")


def drop_unexpandable_macros(text: str, counts: Counter) -> str:
    """Remove definitions whose bodies use TeX conditionals or expansion primitives: the
    converter cannot evaluate them and would splice their raw branches into the maths; left
    undefined, a use stays a readable command (``\\eval{f}_{x}``)."""
    out, pos = [], 0
    for m in _MACRO_DEF.finditer(text):
        if m.start() < pos:
            continue
        i = closing_brace(text, m.end() - 1)
        if _TEX_PRIMITIVES.search(text, m.end(), i):
            out.append(text[pos:m.start()])
            pos = i + 1
            counts["macros_left_unexpanded"] += 1
    out.append(text[pos:])
    return "".join(out)


def prepare(flat: Flat) -> Prepared:
    text = flat.text
    m = _DOCCLASS.search(text)
    doc_class = (m.group("cls").strip() if m else "")
    options = (m.group("opts") or "") if m else ""
    raw: List[Tuple[str, str]] = []
    labels: Dict[str, str] = {}
    counts: Counter = Counter()
    # verbatim text (code, a manual's LaTeX examples) is no part of the numbering passes below
    verbatim: List[str] = []

    def protect(vm: re.Match) -> str:
        verbatim.append(vm.group(0))
        return f"{_VERB_MARK}{len(verbatim) - 1}\x00"

    text = _VERBATIM.sub(protect, text)
    text = drop_unexpandable_macros(text, counts)

    def placeholder(kind: str, latex: str) -> str:
        raw.append((kind, latex.strip()))
        return f"\n\n{RAW_MARK}{len(raw) - 1:05d}\n\n"

    # floats first: their numbers follow source order, as LaTeX counts them
    numbers = Counter()

    def float_repl(fm: re.Match) -> str:
        env, whole = fm.group("env"), fm.group(0)
        numbers[env] += 1
        for lab in _LABEL.findall(whole):
            labels[lab] = str(numbers[env])
        if env != "table":
            return whole
        caption = _command_arg(whole, "caption")
        if caption is None:
            return whole
        start, end, text_ = caption
        shown = f"Table {numbers[env]}: {text_}"
        if not any(_COMPLEX_TABLE.search(t.group(0)[len("\\begin{"):]) for t in _TABULAR.finditer(whole)):
            return whole[:start] + "{" + shown + "}" + whole[end:]
        # the table will be kept as raw LaTeX, which has no caption of its own: the caption
        # becomes a paragraph before it
        without = whole[:whole.rfind("\\caption", 0, start)] + whole[end:]
        opening = re.match(r"\\begin\s*\{table\*?\}\s*(?:\[[^\]]*\])?", without)
        body = without[opening.end():without.rindex("\\end")]
        return f"\n\n{shown}\n\n{body}\n\n"

    text = _FLOAT.sub(float_repl, text)
    algo_n = [0]

    def algo_repl(am: re.Match) -> str:
        if am.group("env") != "algorithmic" or "\\caption" in am.group(0):
            algo_n[0] += 1
            for lab in _LABEL.findall(am.group(0)):
                labels[lab] = str(algo_n[0])
        counts["algorithms"] += 1
        return placeholder("algorithm", am.group(0))

    text = _ALGO.sub(algo_repl, text)

    def table_repl(tm: re.Match) -> str:
        inner = tm.group(0)[len("\\begin{"):]
        if _COMPLEX_TABLE.search(inner):
            counts["tables_latex"] += 1
            return placeholder("table", tm.group(0))
        return tm.group(0)

    text = _TABULAR.sub(table_repl, text)
    text = number_equations(text, labels, counts)
    bib: Dict[str, str] = {}

    def bib_repl(bm: re.Match) -> str:
        items = []
        body = bm.group("body")
        marks = list(_BIBITEM.finditer(body))
        for i, im in enumerate(marks):
            end = marks[i + 1].start() if i + 1 < len(marks) else len(body)
            key = im.group("key").strip()
            mark = str(len(bib) + 1)
            opt = (im.group("opt") or "").strip()
            if opt and not opt.isdigit():
                mark = re.sub(r"[{}]", "", opt)
            bib.setdefault(key, mark)
            entry = re.sub(r"\\newblock\b", " ", body[im.end():end]).strip()
            items.append(f"\\item {{[{bib[key]}]}} {entry}")
        counts["bib_entries"] += len(marks)
        return ("\n\n\\begin{telecometlbibliography}\n\\begin{itemize}\n" + "\n".join(items)
                + "\n\\end{itemize}\n\\end{telecometlbibliography}\n\n")

    text = _THEBIB.sub(bib_repl, text)
    text = _APPENDIX.sub(f"\n\n{APPENDIX_MARK}\n\n", text, count=1)
    text = _GLUE.sub(" ", text)

    def restore(value: str) -> str:
        return re.sub(f"{_VERB_MARK}(\\d+)\x00", lambda vm: verbatim[int(vm.group(1))], value)

    raw = [(kind, restore(latex)) for kind, latex in raw]
    return Prepared(restore(text), raw, labels, bib, doc_class, options, counts)
