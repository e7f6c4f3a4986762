"""LaTeX paper sources: fidelity, failure rate and speed on real sources, and the source kept over
the PDF in a mixed build. One command:

    python benchmarks/bench_latex.py                 # fetches the templates once (apt-get download)
    python benchmarks/bench_latex.py --repeat 5 --json out.json

Real sources: the journal templates and samples that Debian's TeX Live ships in
``texlive-publishers-doc`` (IEEEtran ``bare_*``, elsarticle templates and ``elsdoc``, revtex aps/aip,
ijmart, aomart, pmlr, asmejour). They are read from ``/usr/share/doc/texlive-doc/latex`` when the
package is installed, else the package is fetched once with ``apt-get download`` into ``--cache``
(default ``~/.cache/telecom-etl/texlive``) and only those files are unpacked. Each is converted
in four forms: the plain ``.tex``, the single gzipped ``.tex`` exactly as the package ships it, and
an arXiv-style tree assembled from it (every section in its own file under ``sections/`` pulled in
by ``\\input``, the bibliography moved to ``main.bbl`` behind ``\\bibliography``), as a folder and as
a gzipped tar. Everything goes through the ``paper`` source kind as build-pretrain runs it.

Measured per source, against the source itself (comments, verbatim examples, and
``\\iffalse ... \\fi`` that TeX never typesets, removed):

* headings: every ``\\section``/``\\subsection``/``\\subsubsection`` title, in order, among the
  markdown headings;
* display maths: every ``equation``/``align``/``gather``/``multline``/``eqnarray``/``flalign``/
  ``alignat``/``displaymath`` (starred or not; one nested in another, such as ``align*`` inside
  ``gather``, is part of the outer display), ``\\[...\\]`` and ``$$...$$`` of the source is one
  ``$$...$$`` block, and latex2mathml accepts every block (braces and environments balanced too);
* prose words: the words of the source body with maths, comments and commands removed (command
  arguments that are not prose, such as labels, citation keys and file names, dropped), as a
  multiset: the share present in the markdown (target >= 95 %);
* failures, and sources per CPU second of one core (this process and its pandoc children), side
  by side with bare ``pandoc -f latex -t markdown`` on the same files;
* a mixed folder: each template that pdflatex compiles (``apt-get install texlive-latex-base
  texlive-publishers texlive-fonts-recommended``; without it this part is skipped with the reason)
  as its source in one of the four forms plus its PDF, through ``build-pretrain``: the source
  rendering of each paper is kept and its PDF dropped naming it (``duplicate_of``).
"""
from __future__ import annotations

import argparse
import collections
import gzip
import io
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

TEMPLATES = [
    "ieeetran/bare_jrnl.tex.gz", "ieeetran/bare_conf.tex.gz", "ieeetran/bare_adv.tex.gz",
    "ieeetran/bare_conf_compsoc.tex.gz", "ieeetran/bare_jrnl_compsoc.tex.gz", "ieeetran/bare_jrnl_comsoc.tex.gz",
    "ieeetran/bare_jrnl_transmag.tex.gz", "elsarticle/elsarticle-template-num.tex.gz",
    "elsarticle/elsarticle-template-harv.tex.gz", "elsarticle/elsarticle-template-num-names.tex.gz",
    "elsarticle/elsdoc.tex.gz", "revtex/sample/aps/apssamp.tex.gz", "revtex/sample/aip/aipsamp.tex.gz",
    "ijmart/ijmsample.tex.gz", "aomart/aomsample.tex.gz", "jmlr/pmlr-sample.tex.gz",
    "asmejour/asmewide_example/asmejour-wide-equation-examples.tex.gz",
]
DOC_ROOT = "usr/share/doc/texlive-doc/latex"
DISPLAY_ENVS = r"equation|align|gather|multline|eqnarray|flalign|alignat|displaymath"


# -- the real sources ---------------------------------------------------------------------------

def find_templates(cache: str) -> str:
    """The folder holding texlive-doc/latex/<package>/...: installed, cached, or fetched now."""
    for root in ("/" + DOC_ROOT, os.path.join(cache, DOC_ROOT)):
        if all(os.path.exists(os.path.join(root, t)) for t in TEMPLATES):
            return root
    os.makedirs(cache, exist_ok=True)
    debs = [f for f in os.listdir(cache) if f.startswith("texlive-publishers-doc_") and f.endswith(".deb")]
    if not debs:
        print("fetching texlive-publishers-doc (about 210 MB, once) ...", file=sys.stderr)
        subprocess.run(["apt-get", "download", "texlive-publishers-doc"], cwd=cache, check=True,
                       stdout=subprocess.DEVNULL)
        debs = [f for f in os.listdir(cache) if f.startswith("texlive-publishers-doc_") and f.endswith(".deb")]
    deb = os.path.join(cache, sorted(debs)[-1])
    members = ["./" + DOC_ROOT + "/" + t for t in TEMPLATES]
    dpkg = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", cache] + members, stdin=dpkg.stdout, check=True)
    dpkg.wait()
    return os.path.join(cache, DOC_ROOT)


def strip_comments(text: str) -> str:
    return re.sub(r"(?<!\\)%[^\n]*", "", text.replace("\r\n", "\n"))


def body_of(text: str) -> str:
    m = re.search(r"\\begin\{document\}(.*?)(\\end\{document\}|$)", text, re.S)
    return m.group(1) if m else text


def balanced_arg(text: str, start: int) -> str:
    """The braced argument starting at ``text[start] == '{'``."""
    depth, i = 0, start
    while i < len(text):
        if text[i] == "{" and text[i - 1] != "\\":
            depth += 1
        elif text[i] == "}" and text[i - 1] != "\\":
            depth -= 1
            if depth == 0:
                return text[start + 1:i]
        i += 1
    return text[start + 1:]


def as_tree(name: str, text: str) -> dict:
    """An arXiv-style tree of one file: sections under sections/, the bibliography in main.bbl."""
    files = {}
    bib = re.search(r"\\begin\{thebibliography\}.*?\\end\{thebibliography\}", text, re.S)
    if bib:
        files["main.bbl"] = bib.group(0) + "\n"
        text = text[:bib.start()] + "\\bibliography{refs}\n" + text[bib.end():]
    begin = re.search(r"\\begin\{document\}", text)
    end = re.search(r"\\end\{document\}", text)
    if begin and end:
        body = text[begin.end():end.start()]
        cuts = [m.start() for m in re.finditer(r"^\\section\*?\s*[\[{]", body, re.M)]
        if cuts:
            pieces = [body[:cuts[0]]]
            for i, cut in enumerate(cuts):
                part = body[cut:cuts[i + 1] if i + 1 < len(cuts) else len(body)]
                tail = ""
                m = re.search(r"^\\bibliography\{refs\}|^\\appendix\b|^\\begin\{IEEEbiography", part, re.M)
                if m:  # the back matter stays in the main file
                    part, tail = part[:m.start()], part[m.start():]
                rel = f"sections/s{i + 1:02d}.tex"
                files[rel] = part
                pieces.append(f"\\input{{{rel[:-4]}}}\n{tail}")
            text = text[:begin.end()] + "".join(pieces) + text[end.start():]
    files["main.tex"] = text
    return files


def tar_gz(files: dict) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for rel in sorted(files):
            data = files[rel].encode("utf-8")
            info = tarfile.TarInfo(rel)
            info.size, info.mtime = len(data), 0
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(buf.getvalue(), mtime=0)


# -- what the source holds ----------------------------------------------------------------------

# commands whose arguments are not prose (labels, keys, file names, lengths, running heads), with
# how many braced arguments they take
_NOT_PROSE = dict.fromkeys("label ref eqref autoref cref Cref pageref cite citep citet citealp citeauthor citeyear "
                           "nocite includegraphics bibliographystyle bibliography input include url documentclass "
                           "usepackage hspace vspace thispagestyle pagestyle fnref corref ead tnoteref email orcid "
                           "cline color textcolor linewidth doi pacs".split(), 1)
_NOT_PROSE.update(dict.fromkeys("setlength addtolength setcounter markboth newcommand renewcommand "
                                "providecommand DeclareMathOperator resizebox".split(), 2))
_NOT_PROSE.update(dict.fromkeys("figureref tableref sectionref appendixref equationref algorithmref theoremref "
                                "lemmaref".split(), 1))
# the byline and its notes are metadata (extra.affiliations, extra.front_notes), as for PDFs
_NOT_PROSE.update(dict.fromkeys("author thanks IEEEcompsocitemizethanks".split(), 1))
_NOT_PROSE.update({"multicolumn": 2, "multirow": 2, "affiliation": 1, "address": 1, "journal": 1,
                   "IEEEoverridecommandlockouts": 0, "IEEEauthorrefmark": 1})


def _drop_command(text: str, name: str, n_args: int) -> str:
    out, pos = [], 0
    pattern = re.compile(rf"\\{name}(?![a-zA-Z])\*?")
    while True:
        m = pattern.search(text, pos)
        if not m:
            out.append(text[pos:])
            return "".join(out)
        out.append(text[pos:m.start()])
        i, taken = m.end(), 0
        while i < len(text):
            j = i
            while j < len(text) and text[j] in " \t\n":
                j += 1
            if j < len(text) and text[j] == "[":
                k = text.find("]", j)
                i = k + 1 if k > 0 else len(text)
                continue
            if taken < n_args and j < len(text) and text[j] == "{":
                i = j + len(balanced_arg(text, j)) + 2
                taken += 1
                continue
            break
        pos = i


def expected_headings(body: str):
    out = []
    for m in re.finditer(r"\\(section|subsection|subsubsection)\*?\s*(?:\[[^\]]*\])?\s*\{", body):
        title = prose_of(balanced_arg(body, m.end() - 1))
        words = re.findall(r"[a-z0-9]+", title.lower())
        if words:
            out.append(" ".join(words))
    return out


def drop_false_branches(text: str) -> str:
    """What TeX skips: ``\\iffalse ... \\fi`` (conditionals nested in it counted, as TeX counts them;
    an ``\\else`` branch is typeset, so kept)."""
    out, pos, skipping, depth = [], 0, False, 0
    for tok in re.finditer(r"\\(if[a-zA-Z]*|fi|else)(?![a-zA-Z])", text):
        word = tok.group(1)
        if not skipping:
            if word == "iffalse":
                out.append(text[pos:tok.start()])
                skipping, depth = True, 1
            continue
        if word.startswith("if"):
            depth += 1
        elif word == "fi":
            depth -= 1
        elif depth == 1:  # \else of the \iffalse: its branch is typeset, its \fi dropped below
            skipping, pos = False, tok.end()
            continue
        if depth == 0:
            skipping, pos = False, tok.end()
    if not skipping:
        out.append(text[pos:])
    return "".join(out)


def display_blocks(body: str) -> int:
    """Display-maths blocks as LaTeX typesets them: an environment inside another display
    environment (``align*`` within ``gather``, as amsmath allows) is part of the outer block."""
    n, depth = 0, 0
    pattern = rf"\\(begin|end)\{{(?:{DISPLAY_ENVS})\*?\}}|(?<!\\)\\\[|\$\$"
    dollars = 0
    for m in re.finditer(pattern, body):
        if m.group(1) == "begin":
            n += depth == 0
            depth += 1
        elif m.group(1) == "end":
            depth = max(0, depth - 1)
        elif m.group(0) == "$$":
            dollars += 1
        else:
            n += 1
    return n + dollars // 2


def prose_of(tex: str) -> str:
    text = re.sub(rf"\\begin\{{({DISPLAY_ENVS})(\*?)\}}.*?\\end\{{\1\2\}}", " ", tex, flags=re.S)
    text = re.sub(r"\\begin\{(thebibliography)\}\{[^}]*\}", " ", text)
    text = re.sub(r"(?<!\\)\\\[.*?\\\]", " ", text, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"(?<!\\)\$.*?(?<!\\)\$", " ", text, flags=re.S)
    text = re.sub(r"\\\(.*?\\\)", " ", text, flags=re.S)
    for name, n_args in _NOT_PROSE.items():  # the command with its arguments
        text = _drop_command(text, name, n_args)
    text = re.sub(r"\\begin\s*\{(?:tabular\*?|tabularx|array|longtable)\}\s*(?:\{[^{}]*\}\s*)?"
                  r"\{(?:[^{}]|\{[^{}]*\})*\}", " ", text)  # column specs
    text = re.sub(r"\\begin\s*\{[^}]*\}(?:\s*\[[^\]]*\])?|\\end\s*\{[^}]*\}", " ", text)
    text = re.sub(r"\\[egx]?def\s*\\[A-Za-z@]+[^{]*\{(?:[^{}]|\{[^{}]*\})*\}", " ", text)  # definitions
    text = re.sub(r"\\[hv]skip\s*[-\d.]+\s*[a-z]{2}(?:\s*plus\s*[-\d.]+\s*[a-z]{2})?"
                  r"(?:\s*minus\s*[-\d.]+\s*[a-z]{2})?", " ", text)
    text = re.sub(r"\\bibitem\s*(?:\[[^\]]*\])?\s*\{[^}]*\}", " ", text)
    text = re.sub(r"\\[a-zA-Z@]+\*?", " ", text)  # other commands: their arguments are the prose
    text = re.sub(r"\\.", " ", text)
    return re.sub(r"[{}\[\]~&^_]", " ", text)


def words_of(text: str) -> collections.Counter:
    return collections.Counter(w.lower() for w in re.findall(r"[A-Za-z]{3,}", text))


def math_ok(block: str) -> bool:
    from latex2mathml.converter import convert

    depth = 0
    for i, ch in enumerate(block):
        if ch in "{}" and (i == 0 or block[i - 1] != "\\"):
            depth += 1 if ch == "{" else -1
            if depth < 0:
                return False
    if depth or len(re.findall(r"\\begin\{", block)) != len(re.findall(r"\\end\{", block)):
        return False
    try:
        convert(block)
        return True
    except Exception:
        return False


def in_order(expected, found) -> int:
    """How many expected headings appear, in order, among the found ones."""
    hits, j = 0, 0
    for title in expected:
        k = j
        while k < len(found) and title not in found[k]:
            k += 1
        if k < len(found):
            hits, j = hits + 1, k + 1
    return hits


# -- runs -----------------------------------------------------------------------------------------

def cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def paper_source(paths):
    from telecom_etl.extractors import SOURCES
    from telecom_etl.manifest import SourceConfig

    config = SourceConfig(name="papers", kind="paper", paths=list(paths), license="CC-BY-4.0",
                          options={"drop_references": False, "drop_acknowledgements": False})
    SOURCES["paper"].validate_options(config)
    return SOURCES["paper"](config)


def convert_all(src, items):
    from telecom_etl.outcome import StageFailure

    out = {}
    for item in items:
        try:
            docs = list(src.extract(item))
            out[item.uri] = docs[0] if docs else "no document"
        except StageFailure as exc:
            out[item.uri] = f"failed: {exc}"
    return out


def bare_pandoc(paths):
    for path in paths:
        subprocess.run(["pandoc", "--sandbox", "-f", "latex", "-t", "markdown", path], capture_output=True)


def compile_pdf(tex_path: str, workdir: str) -> str:
    """pdflatex twice (references resolved); figures the source names are stand-in boxes."""
    import pymupdf

    text = open(tex_path, encoding="utf-8", errors="replace").read()
    for m in re.finditer(r"\\includegraphics\s*(?:\[[^\]]*\])?\s*\{([^}]+)\}", strip_comments(text)):
        name = os.path.join(workdir, os.path.splitext(m.group(1))[0] + ".pdf")
        if not os.path.exists(name):
            os.makedirs(os.path.dirname(name), exist_ok=True)
            doc = pymupdf.open()
            doc.new_page(width=200, height=100).draw_rect(pymupdf.Rect(10, 10, 190, 90))
            doc.save(name)
    for _ in range(2):
        proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex_path], cwd=workdir,
                              capture_output=True, timeout=120)
    pdf = os.path.join(workdir, os.path.splitext(os.path.basename(tex_path))[0] + ".pdf")
    return pdf if proc.returncode == 0 and os.path.exists(pdf) else ""


def mixed_build(plain_dir: str, work: str):
    """Sources and PDFs of the same papers in one folder through build-pretrain."""
    import pyarrow.parquet as pq

    from telecom_etl.manifest import load_manifest
    from telecom_etl.pipelines.build_pretrain import run

    if shutil.which("pdflatex") is None:
        return {"skipped": "pdflatex not installed (apt-get install texlive-latex-base texlive-publishers "
                           "texlive-fonts-recommended)"}
    folder = os.path.join(work, "mixed")
    os.makedirs(folder)
    compiled, not_compiled = [], []
    untitled = []
    for i, name in enumerate(sorted(os.listdir(plain_dir))):
        stem = name[:-4]
        source_text = open(os.path.join(plain_dir, name), encoding="utf-8", errors="replace").read()
        stripped = strip_comments(source_text)
        title = re.search(r"\\title\s*(?:\[[^\]]*\])?\s*\{", stripped)
        if not title or len(re.findall(r"[A-Za-z]+", prose_of(balanced_arg(stripped, title.end() - 1)))) < 4:
            untitled.append(stem)  # nothing names the paper in both renderings (the empty templates)
            continue
        build = os.path.join(work, "pdflatex", stem)
        os.makedirs(build)
        shutil.copy(os.path.join(plain_dir, name), build)
        pdf = compile_pdf(os.path.join(build, name), build)
        if not pdf:
            not_compiled.append(stem)
            continue
        shutil.copy(pdf, os.path.join(folder, f"{stem}.pdf"))
        text = open(os.path.join(plain_dir, name), encoding="utf-8", errors="replace").read()
        form = i % 4  # the source in each form in turn
        if form == 0:
            shutil.copy(os.path.join(plain_dir, name), os.path.join(folder, name))
        elif form == 1:
            with open(os.path.join(folder, f"{stem}.tex.gz"), "wb") as fh:
                fh.write(gzip.compress(text.encode("utf-8"), mtime=0))
        elif form == 2:
            with open(os.path.join(folder, f"{stem}-src.tar.gz"), "wb") as fh:
                fh.write(tar_gz(as_tree(stem, text)))
        else:
            for rel, part in as_tree(stem, text).items():
                path = os.path.join(folder, f"{stem}-src", rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as fh:
                    fh.write(part)
        compiled.append(stem)
    # a folder that holds a main file reads its other files as part of it: keep plain .tex
    # files in a folder of their own, as a user would keep a source folder
    for name in os.listdir(folder):
        if name.endswith(".tex"):
            os.makedirs(os.path.join(folder, name[:-4] + "-plain"))
            shutil.move(os.path.join(folder, name), os.path.join(folder, name[:-4] + "-plain", name))
    manifest = os.path.join(work, "mixed.yaml")
    with open(manifest, "w") as fh:
        fh.write(f"version: 1\nsources:\n  - name: papers\n    kind: paper\n    paths: [{folder}]\n"
                 f"dedup: {{exact: true, near: true}}\n")
    out = os.path.join(work, "mixed-out")
    run(load_manifest(manifest), out, [], progress=False)

    def rows(sub):
        path = os.path.join(out, sub)
        files = [os.path.join(path, f) for f in sorted(os.listdir(path)) if f.endswith(".parquet")] \
            if os.path.isdir(path) else []
        return [r for f in files for r in pq.read_table(f).to_pylist()]

    kept, dropped = rows("pretrain"), rows("dropped")
    by_id = {r["id"]: r for r in kept}
    dropped_by_id = {r["id"]: r for r in dropped}

    def fmt(row):
        return dict((e["key"], e["value"]) for e in row["extra"] or []).get("source_format")

    def kept_for(row):
        """The kept record a record's duplicate_of chain ends at (itself when kept)."""
        for _ in range(8):
            if row["id"] in by_id:
                return row
            row = by_id.get(row["duplicate_of"]) or dropped_by_id.get(row["duplicate_of"])
            if row is None:
                return None
        return None

    results = {}
    for stem in compiled:
        renderings = [r for r in kept + dropped if f"/{stem}" in r["uri"]]
        pdf = next((r for r in renderings if r["uri"].endswith(f"/{stem}.pdf")), None)
        final = kept_for(pdf) if pdf else None
        # the paper's PDF is dropped, and what stands for it in the build is a LaTeX rendering
        ok = pdf is not None and pdf["id"] not in by_id and final is not None and fmt(final) == "latex"
        results[stem] = {"ok": ok, "pdf_rule": pdf.get("drop_rule") if pdf else None,
                         "kept_for_pdf": os.path.basename(final["uri"]) if final else None}
    return {"papers": len(compiled), "source_kept_pdf_dropped": sum(r["ok"] for r in results.values()),
            "not_compiled": not_compiled, "untitled_left_out": untitled, "per_paper": results}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", default=os.path.expanduser("~/.cache/telecom-etl/texlive"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="write the results here too")
    parser.add_argument("--no-mixed", action="store_true", help="leave out the mixed-folder build")
    args = parser.parse_args(argv)
    if shutil.which("pandoc") is None:
        print("pandoc is not installed: apt-get install pandoc (scripts/setup.sh does it as root)")
        return 1
    root = find_templates(args.cache)
    work = tempfile.mkdtemp(prefix="bench-latex-")
    try:
        forms = {"tex": os.path.join(work, "tex"), "tex.gz": os.path.join(work, "gz"),
                 "tree": os.path.join(work, "tree"), "tar.gz": os.path.join(work, "targz")}
        for folder in forms.values():
            os.makedirs(folder)
        refs = {}
        for rel in TEMPLATES:
            data = open(os.path.join(root, rel), "rb").read()
            stem = os.path.basename(rel)[:-len(".tex.gz")]
            text = gzip.decompress(data).decode("utf-8", "replace")
            with open(os.path.join(forms["tex"], stem + ".tex"), "w", encoding="utf-8") as fh:
                fh.write(text)
            shutil.copy(os.path.join(root, rel), os.path.join(forms["tex.gz"], stem + ".tex.gz"))
            tree = as_tree(stem, text)
            for rel_path, part in tree.items():
                path = os.path.join(forms["tree"], stem, rel_path)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as fh:
                    fh.write(part)
            with open(os.path.join(forms["tar.gz"], stem + ".tar.gz"), "wb") as fh:
                fh.write(tar_gz(tree))
            # verbatim examples (a maths package's manual shows its source) are code, not maths or prose
            # what TeX skips (\iffalse ... \fi) is neither maths nor prose of the paper
            body = drop_false_branches(re.sub(r"\\begin\{(verbatim\*?|Verbatim|lstlisting)\}.*?\\end\{\1\}"
                                              r"|\\verb(.).*?\2", " ", body_of(strip_comments(text)), flags=re.S))
            refs[stem] = {"headings": expected_headings(body), "display": display_blocks(body),
                          "words": words_of(prose_of(body))}

        report = {"sources": {}, "forms": {}}
        all_items, stems_of = [], {}
        for form, folder in forms.items():
            src = paper_source([folder])
            items = [i for i in src.list_items() if hasattr(i, "uri")]
            for item in items:
                stem = os.path.basename(item.meta["latex_root"] if form == "tree" else item.uri)
                for suffix in (".tex.gz", ".tar.gz", ".tex"):
                    stem = stem[:-len(suffix)] if stem.endswith(suffix) else stem
                stems_of[item.uri] = (form, stem)
            all_items.append((src, items))
        # fidelity (one pass) and speed (best of --repeat, alternating with bare pandoc)
        results = {}
        for src, items in all_items:
            results.update(convert_all(src, items))
        best_ours, best_bare = float("inf"), float("inf")
        plain = sorted(os.path.join(forms["tex"], f) for f in os.listdir(forms["tex"]))
        n_items = sum(len(items) for _, items in all_items)
        for _ in range(args.repeat):
            t = cpu()
            for src, items in all_items:
                convert_all(src, items)
            best_ours = min(best_ours, cpu() - t)
            t = cpu()
            for _ in forms:  # as many conversions as ours
                bare_pandoc(plain)
            best_bare = min(best_bare, cpu() - t)
        totals = collections.Counter()
        for uri, doc in sorted(results.items()):
            form, stem = stems_of[uri]
            ref = refs[stem]
            row = {"form": form, "source": stem}
            if isinstance(doc, str):
                row["failed"] = doc
                totals["failed"] += 1
            else:
                text = doc.text
                found = [" ".join(re.findall(r"[a-z0-9]+", line.lower())) for line in text.splitlines()
                         if line.startswith("#")]
                blocks = re.findall(r"\$\$(.+?)\$\$", text, re.S)
                out_words = words_of(text)
                hit = sum(min(n, out_words[w]) for w, n in ref["words"].items())
                row.update({"headings": f"{in_order(ref['headings'], found)}/{len(ref['headings'])}",
                            "display_maths": f"{len(blocks)}/{ref['display']}",
                            "maths_parse": f"{sum(math_ok(b) for b in blocks)}/{len(blocks)}",
                            "prose_words": round(hit / max(1, sum(ref["words"].values())), 4)})
                totals["headings_found"] += in_order(ref["headings"], found)
                totals["headings"] += len(ref["headings"])
                totals["display_found"] += min(len(blocks), ref["display"])
                totals["display"] += ref["display"]
                totals["display_extra"] += max(0, len(blocks) - ref["display"])
                totals["maths_ok"] += sum(math_ok(b) for b in blocks)
                totals["blocks"] += len(blocks)
                totals["words_hit"] += hit
                totals["words"] += sum(ref["words"].values())
                totals["min_prose_share"] = min(totals.get("min_prose_share", 1.0), row["prose_words"])
            report["sources"][f"{form}:{stem}"] = row
        summary = {
            "sources": len(results), "failed": totals["failed"],
            "headings_in_order": f"{totals['headings_found']}/{totals['headings']}",
            "display_maths_blocks": f"{totals['display_found']}/{totals['display']}",
            "display_maths_accepted_by_latex2mathml": f"{totals['maths_ok']}/{totals['blocks']}",
            "prose_words_present": round(totals["words_hit"] / max(1, totals["words"]), 4),
            "lowest_prose_share": totals.get("min_prose_share"),
            "sources_per_cpu_second": round(n_items / best_ours, 1),
            "bare_pandoc_markdown_per_cpu_second": round(n_items / best_bare, 1),
            "ratio_to_bare_pandoc": round(best_ours / best_bare, 2),
        }
        report["summary"] = summary
        if not args.no_mixed:
            report["mixed_folder"] = mixed_build(forms["tex"], work)
        print(f"{'source':52} {'headings':>9} {'display':>8} {'parse':>7} {'words':>6}")
        for key, row in report["sources"].items():
            if "failed" in row:
                print(f"{key:52} {row['failed']}")
            else:
                print(f"{key:52} {row['headings']:>9} {row['display_maths']:>8} {row['maths_parse']:>7} "
                      f"{row['prose_words']:>6}")
        print(json.dumps(summary, indent=1))
        if "mixed_folder" in report:
            mixed = report["mixed_folder"]
            print("mixed folder:", json.dumps({k: v for k, v in mixed.items() if k != "per_paper"}))
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(report, fh, indent=1, sort_keys=True)
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
