"""Papers from their LaTeX sources (kind ``paper``): trees made here, as folders, arXiv e-prints
(gzipped tar, single gzipped .tex) and plain .tex files; markdown, metadata and bad inputs."""
from __future__ import annotations

import gzip
import json
import io
import os
import re
import shutil
import tarfile

import latex2mathml.converter
import pytest

from telecom_etl.extractors import SOURCES
from telecom_etl.extractors.latex.render import PANDOC_MISSING
from telecom_etl.manifest import SourceConfig
from telecom_etl.outcome import Dropped, StageFailure
from telecom_etl.record import Document
from test_paper_source import extract_all

pytestmark = pytest.mark.skipif(shutil.which("pandoc") is None,
                                reason="pandoc is not installed (scripts/setup.sh installs it as root)")

TITLE = "Pilot Contamination in Cell-Free Massive MIMO"
MAIN = r"""\documentclass[journal]{IEEEtran}
\usepackage{amsmath,graphicx,algorithm,algorithmic}
% a comment that must not reach the output: SECRETCOMMENT
\newcommand{\SNR}{\mathsf{SNR}}
\newcommand{\norm}[1]{\left\| #1 \right\|}
\def\pilots{$\tau_p$ pilots}
\DeclareMathOperator{\tr}{tr}
\begin{document}
\title{Pilot Contamination in Cell-Free Massive MIMO}
\author{Alice~Marconi,~\IEEEmembership{Member,~IEEE,} and Bob~Shannon%
\thanks{A. Marconi is with Somewhere University (e-mail: alice@example.org).}}
\maketitle
\begin{abstract}
We study uplink training with \pilots{} under contamination.
\end{abstract}
\input{sections/intro}
\include{sections/model}
\section*{Acknowledgment}
We thank the reviewers for their careful reading.
\bibliographystyle{IEEEtran}
\bibliography{refs}
\end{document}
"""
INTRO = r"""\section{Introduction}\label{sec:intro}
\IEEEPARstart{C}{ell-free} networks serve every user from many access points \cite{ngo2017,bjornson2020}.
The model of Section~\ref{sec:model} gives the rate in \eqref{eq:rate}; Fig.~\ref{fig:setup} shows the setup.
"""
MODEL = r"""\section{System Model}\label{sec:model}
Each access point estimates the channel $\mathbf{h}_k \in \mathbb{C}^{N}$ with \pilots.
\begin{equation}\label{eq:rate}
R_k = \log_2\left(1 + \SNR_k \norm{\mathbf{h}_k}^2\right)
\end{equation}
\begin{align}
a &= \tr(\mathbf{A}) \label{eq:a} \\
b &= c \nonumber
\end{align}
\subsection{Estimation}
The estimate is unbiased.
\begin{figure}[t]\centering\includegraphics[width=\linewidth]{setup}
\caption{The cell-free setup with $L$ access points.}\label{fig:setup}\end{figure}
\begin{table}[t]\caption{Parameters}\begin{tabular}{|c|c|}\hline Name & Value\\\hline $N$ & 64\\\hline\end{tabular}\end{table}
\begin{algorithm}\caption{Pilot assignment}\begin{algorithmic}[1]\STATE assign $\tau_p$ pilots\end{algorithmic}\end{algorithm}
"""
BBL = r"""\begin{thebibliography}{1}
\bibitem{ngo2017} H.~Q. Ngo \emph{et al.}, ``Cell-free massive MIMO,'' \emph{IEEE TWC}, 2017.
\bibitem{bjornson2020} E.~Bj\"ornson and L.~Sanguinetti, ``Making cell-free massive MIMO competitive,'' 2020.
\end{thebibliography}
"""
TREE = {"paper.tex": MAIN, "sections/intro.tex": INTRO, "sections/model.tex": MODEL, "paper.bbl": BBL,
        "refs.bib": "@article{ngo2017, title={Cell-free}}\n"}


def write_tree(root, files=TREE, binary=None):
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(text if isinstance(text, bytes) else text.encode("utf-8"))
    return root


def tar_bytes(files=TREE, extra_members=()):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for rel, text in files.items():
            data = text.encode("utf-8") if isinstance(text, str) else text
            info = tarfile.TarInfo(rel)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra_members:
            tar.addfile(info, io.BytesIO(b""))
    return buf.getvalue()


def source(paths, **options):
    config = SourceConfig(name="papers", kind="paper", paths=[str(p) for p in paths], license="CC-BY-4.0",
                          options=options)
    SOURCES["paper"].validate_options(config)
    return SOURCES["paper"](config)


def only_doc(path, **options):
    results = extract_all(source([path], **options))
    assert len(results) == 1, results
    return results[0][1]


def test_folder_tree_markdown(tmp_path):
    root = write_tree(str(tmp_path / "2403.01234"))
    with open(os.path.join(root, "setup.pdf"), "wb") as fh:  # a figure: read with the tree, not an item
        fh.write(b"%PDF-1.4\n%%EOF\n")
    doc = only_doc(tmp_path)
    assert isinstance(doc, Document), doc
    assert doc.title == TITLE and doc.authors == ["Alice Marconi", "Bob Shannon"]
    assert doc.kind == "paper" and doc.arxiv_id == "2403.01234" and doc.extra["source_format"] == "latex"
    text = doc.text
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings == [f"# {TITLE}", "## Abstract", "## I. Introduction", "## II. System Model",
                        "### A. Estimation", "## Acknowledgment"]
    assert "Cell-free networks serve every user" in text  # \IEEEPARstart
    assert "with $\\tau_p$ pilots under contamination" in text  # \def expanded
    assert "[1, 2]" in text and "Section II gives the rate in (1); Fig. 1 shows" in text
    assert "$$R_k = \\log_2\\left(1 + \\mathsf{SNR}_k \\left\\| \\mathbf{h}_k \\right\\|^2\\right) \\tag{1}$$" in text
    assert "\\mathop{\\mathrm{tr}}(\\mathbf{A}) \\tag{2}" in text and "\\tag{3}" not in text
    assert "\\label" not in text and "SECRETCOMMENT" not in text and "\\nonumber" not in text
    assert "| Name | Value |" in text and "| $N$ | 64 |" in text
    assert "```latex\n\\begin{algorithm}" in text
    assert "The cell-free setup with $L$ access points." in text and "includegraphics" not in text
    assert "Ngo" not in text  # references dropped by default
    assert doc.extra["latex_includes_resolved"] == "2" and doc.extra["latex_bbl_used"] == "1"
    # the byline and its notes are metadata, as for PDF papers, with e-mail addresses removed
    assert doc.extra["affiliations"] == "Alice Marconi, Member, IEEE, and Bob Shannon"
    assert "Somewhere University" in doc.extra["front_notes"] and "Somewhere" not in text
    assert "alice@example.org" not in doc.extra["front_notes"] and doc.extra["pii_emails"] == "1"
    displays = re.findall(r"^\$\$(.+?)\$\$$", text, re.S | re.M)
    assert len(displays) == 2 and doc.extra["latex_display_equations"] == "2"
    for tex in displays:
        latex2mathml.converter.convert(tex)  # a LaTeX maths parser accepts every display block


def test_eprint_forms_give_the_same_markdown(tmp_path):
    folder = only_doc(write_tree(str(tmp_path / "folder")))
    (tmp_path / "2403.01234").write_bytes(gzip.compress(tar_bytes(), mtime=0))  # arXiv: no extension
    (tmp_path / "plain.tar").write_bytes(tar_bytes())
    single = MAIN.replace("\\input{sections/intro}", INTRO).replace("\\include{sections/model}", MODEL)
    (tmp_path / "single.gz").write_bytes(gzip.compress(single.encode("utf-8"), mtime=0))
    results = dict(extract_all(source([tmp_path / "2403.01234", tmp_path / "plain.tar", tmp_path / "single.gz"])))
    eprint, tar, gz = (results[str(tmp_path / n)] for n in ("2403.01234", "plain.tar", "single.gz"))
    assert eprint.text == tar.text == folder.text
    assert eprint.extra["latex_origin"] == "tar.gz" and tar.extra["latex_origin"] == "tar"
    assert gz.extra["latex_origin"] == "gzip" and "[1, 2]" not in gz.text  # no .bbl beside it: keys
    assert "[ngo2017, bjornson2020]" in gz.text and eprint.arxiv_id == "2403.01234"


def test_references_and_acknowledgements_are_switchable(tmp_path):
    root = write_tree(str(tmp_path / "p"))
    kept = only_doc(root, drop_references=False)
    assert "## References" in kept.text and "[1] H. Q. Ngo et al., “Cell-free massive MIMO,”" in kept.text
    dropped = only_doc(root, drop_acknowledgements=True)
    assert "reviewers" not in dropped.text and "## Acknowledgment" not in dropped.text
    assert dropped.extra["latex_dropped_acknowledgements"] == "1"


def test_encodings_latin1_and_bom(tmp_path):
    latin = MAIN.replace("Bob~Shannon", "Bj\u00f6rn~M\u00fcller").replace("\\input{sections/intro}", "Caf\u00e9 r\u00e9sum\u00e9.")
    (tmp_path / "latin1.tex").write_bytes(latin.encode("latin-1"))
    (tmp_path / "bom.tex").write_bytes(b"\xef\xbb\xbf" + MAIN.encode("utf-8"))
    results = dict(extract_all(source([tmp_path / "latin1.tex", tmp_path / "bom.tex"])))
    latin_doc, bom_doc = results[str(tmp_path / "latin1.tex")], results[str(tmp_path / "bom.tex")]
    assert "Caf\u00e9 r\u00e9sum\u00e9." in latin_doc.text and "Bj\u00f6rn M\u00fcller" in latin_doc.authors
    assert bom_doc.title == TITLE and "\ufeff" not in bom_doc.text


def test_missing_input_and_loops_are_counted_the_rest_converted(tmp_path):
    files = dict(TREE)
    files["paper.tex"] = MAIN.replace("\\input{sections/intro}", "\\input{sections/gone}\\input{loop/a}")
    files["loop/a.tex"] = "Text of A. \\input{loop/b}"
    files["loop/b.tex"] = "Text of B. \\input{loop/a}"
    doc = only_doc(write_tree(str(tmp_path / "p"), files))
    assert isinstance(doc, Document)
    assert doc.extra["latex_includes_missing"] == "1" and doc.extra["latex_missing_inputs"] == "sections/gone"
    assert doc.extra["latex_include_loops"] == "1" and doc.flags == ["latex_missing_input", "pii_redacted"]
    assert "Text of A. Text of B." in doc.text and "## I. System Model" in doc.text


def test_nothing_outside_the_tree_is_read(tmp_path):
    outside = tmp_path / "outside.tex"
    outside.write_text("OUTSIDE-SECRET")
    files = dict(TREE)
    files["paper.tex"] = MAIN.replace("\\input{sections/intro}", f"\\input{{{outside}}}\\input{{../outside}}"
                                      "\\input{link}\\input{linkdir/x}")
    root = write_tree(str(tmp_path / "p"), files)
    os.symlink(str(outside), os.path.join(root, "link.tex"))
    os.symlink(str(tmp_path), os.path.join(root, "linkdir"))
    results = extract_all(source([root]))
    links = sorted(x.rule for _, x in results if isinstance(x, Dropped))
    assert links == ["symlink_outside_root", "symlink_outside_root"]  # each link one counted drop at listing
    (doc,) = [x for _, x in results if isinstance(x, Document)]
    assert "OUTSIDE-SECRET" not in doc.text
    assert doc.extra["latex_includes_outside_tree"] == "2" and doc.extra["latex_includes_missing"] == "2"
    assert doc.extra["latex_skipped_links"] == "2"
    # the same in an e-print: a member that escapes fails the input, a link member is skipped
    escape = tarfile.TarInfo("../escape.tex")
    (tmp_path / "escape.tar").write_bytes(tar_bytes(extra_members=[escape]))
    link = tarfile.TarInfo("link.tex")
    link.type, link.linkname = tarfile.SYMTYPE, str(outside)
    files["paper.tex"] = MAIN.replace("\\input{sections/intro}", "\\input{link}")
    (tmp_path / "link.tar").write_bytes(tar_bytes(files, extra_members=[link]))
    results = dict(extract_all(source([tmp_path / "escape.tar", tmp_path / "link.tar"])))
    failure = results[str(tmp_path / "escape.tar")]
    assert isinstance(failure, StageFailure) and "escapes the source tree" in str(failure)
    linked = results[str(tmp_path / "link.tar")]
    assert "OUTSIDE-SECRET" not in linked.text and linked.extra["latex_skipped_links"] == "1"


def test_bombs_not_latex_and_converter_failures(tmp_path, monkeypatch):
    (tmp_path / "bomb.gz").write_bytes(gzip.compress(b"\0" * (3 << 20)))
    (tmp_path / "notes.txt").write_text("Just some notes, no LaTeX here.\n")
    (tmp_path / "truncated.tar.gz").write_bytes(gzip.compress(tar_bytes())[:200])
    loop = "\\documentclass{article}\\newcommand{\\lp}{\\lp x}\\begin{document}\\lp\\end{document}\n"
    (tmp_path / "loop").mkdir()  # a folder of its own: a main file makes its folder one source
    (tmp_path / "loop" / "macro-loop.tex").write_text(loop)
    results = dict(extract_all(source([tmp_path], max_unpacked_mb=1)))
    reasons = {os.path.basename(k): str(v) for k, v in results.items()}
    notes = results.pop(str(tmp_path / "notes.txt"))  # not a paper: the same wrong_kind drop as every kind gives
    assert isinstance(notes, Dropped) and notes.rule == "wrong_kind" and "without \\documentclass" in notes.detail
    assert all(isinstance(v, StageFailure) for v in results.values()), results
    assert "unpacks to more than 1 MB" in reasons["bomb.gz"]
    assert reasons["truncated.tar.gz"].startswith("truncated gzip")
    assert reasons["macro-loop.tex"].startswith("pandoc rejected the source") and "Loop" in reasons["macro-loop.tex"]
    # a conversion that does not finish in time fails the input (this one cannot: 1 ms)
    (hang,) = extract_all(source([write_tree(str(tmp_path / "slow"))], latex_timeout_s=0.001))
    assert isinstance(hang[1], StageFailure) and "did not finish within 0.001 s" in str(hang[1])
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    (missing,) = extract_all(source([tmp_path / "slow"]))
    assert str(missing[1]) == PANDOC_MISSING


def test_bad_options_are_one_line():
    for options, message in (({"latex_timeout_s": 0}, "latex_timeout_s must be a positive number"),
                             ({"drop_acknowledgements": "yes"}, "drop_acknowledgements must be true or false")):
        config = SourceConfig(name="p", kind="paper", paths=["x"], options=options)
        with pytest.raises(ValueError, match=message):
            SOURCES["paper"].validate_options(config)


def test_arxiv_snapshot_selects_and_describes_eprints(tmp_path):
    from test_paper_arxiv import CC_BY, record

    snapshot = tmp_path / "arxiv.jsonl"
    snapshot.write_text("\n".join(json.dumps(r) for r in (
        record("2403.01234", "Pilot Contamination in Cell-Free Massive MIMO", "eess.SP cs.IT", CC_BY),
        record("2403.05678", "Image Denoising with Transformers", "cs.CV", CC_BY))) + "\n")
    eprints = tmp_path / "eprints"
    eprints.mkdir()
    (eprints / "2403.01234v2").write_bytes(gzip.compress(tar_bytes(), mtime=0))
    (eprints / "2403.05678.tar.gz").write_bytes(gzip.compress(tar_bytes(), mtime=0))
    results = dict(extract_all(source([eprints], arxiv_metadata=str(snapshot), categories=["eess.SP"],
                                      licenses=["CC-BY-4.0"])))
    doc = results[str(eprints / "2403.01234v2")]
    assert doc.arxiv_id == "2403.01234" and doc.categories == ["eess.SP", "cs.IT"]
    assert doc.license == "CC-BY-4.0" and doc.date == "2021-01-04" and doc.authors == ["Alice Marconi", "Bob Shannon"]
    assert doc.title == "Pilot Contamination in Cell-Free Massive MIMO (extended version)"  # the snapshot's
    other = results[str(eprints / "2403.05678.tar.gz")]
    assert isinstance(other, Dropped) and other.rule == "category"


def test_complex_tables_lists_and_citation_notes(tmp_path):
    body = r"""\section{Results}
As shown in \cite[see][Thm.~2]{ngo2017}, the table holds.
\begin{table}[h]\caption{Rates per user}\label{tab:rates}
\begin{tabular}{|c|c|}\hline \multicolumn{2}{|c|}{Rate} \\ \hline 1 & 2 \\ \hline\end{tabular}\end{table}
Table~\ref{tab:rates} lists them.
\begin{itemize}
\item A claim with a display: \[ x = y^2 \]
\end{itemize}
"""
    files = dict(TREE)
    files["paper.tex"] = MAIN.replace("\\input{sections/intro}", body).replace("\\include{sections/model}", "")
    doc = only_doc(write_tree(str(tmp_path / "p"), files))
    text = doc.text
    assert "As shown in [see 1 Thm. 2], the table holds." in text
    assert "Table 1: Rates per user\n\n```latex\n\\begin{tabular}{|c|c|}\\hline \\multicolumn{2}" in text
    assert "Table 1 lists them." in text and "- A claim with a display:" in text and "$$x = y^2$$" in text


def test_macros_with_tex_conditionals_stay_unexpanded(tmp_path):
    body = r"""\newcommand{\eval}[1]{\relax\ifx#1\right\relax\left.\fi#1\right\rvert}
\newcommand{\Rset}{\mathbb{R}}
\section{Maths}
\begin{equation} D = \eval{f}_{t=1} + \Rset \end{equation}
"""
    files = dict(TREE)
    files["paper.tex"] = MAIN.replace("\\input{sections/intro}", body).replace("\\include{sections/model}", "")
    doc = only_doc(write_tree(str(tmp_path / "p"), files))
    (block,) = re.findall(r"^\$\$(.+?)\$\$$", doc.text, re.S | re.M)
    assert block.startswith("D = \\eval{f}_{t=1} + \\mathbb{R}") and block.endswith("\\tag{1}")
    assert "\\ifx" not in doc.text
    latex2mathml.converter.convert(block)
    assert doc.extra["latex_macros_left_unexpanded"] == "1"


def test_verbatim_examples_do_not_shift_numbers_and_forced_breaks_in_headings(tmp_path):
    body = r"""\section{Usage:\\ with a forced break}
Type this:
\begin{verbatim}
\appendix
\begin{equation} a = b \end{equation}
\end{verbatim}
and get
\begin{equation} c = d \end{equation}
"""
    files = dict(TREE)
    files["paper.tex"] = MAIN.replace("\\input{sections/intro}", body).replace("\\include{sections/model}", "")
    doc = only_doc(write_tree(str(tmp_path / "p"), files))
    assert "## I. Usage: with a forced break" in doc.text
    assert "\\begin{equation} a = b \\end{equation}" in doc.text  # the example, as typed
    assert "$$c = d \\tag{1}$$" in doc.text and "\\tag{2}" not in doc.text


# -- parts of a paper: subfiles sections and standalone figures (issue 15) ------------------------

PARTS_MAIN = r"""\documentclass{article}
\usepackage{subfiles,graphicx}
\begin{document}
\title{Subfiles and Standalone Figures in One Cell-Free Paper}
\author{Alice Marconi}
\maketitle
\subfile{sections/intro}
\section{Results}
The measured rate matches the model. \includegraphics{figures/diagram}
\end{document}
"""
SUBFILE = r"""\documentclass[../main.tex]{subfiles}
\begin{document}
\section{Introduction}
Every access point serves every user of the cell-free network at once.
\end{document}
"""
TIKZ = r"""\documentclass[tikz]{standalone}
\begin{document}
\begin{tikzpicture}\node (ap) at (0,0) {AP}; \node (ue) at (2,0) {UE}; \draw[->] (ap) -- (ue);
\draw (0,1) -- (2,1) -- (2,2) -- (0,2) -- cycle; \node at (1,1.5) {a long tikz figure, longer than the main file};
\draw (0,3) -- (2,3) -- (2,4) -- (0,4) -- cycle; \node at (1,3.5) {and another box, so that it is the longest};
\end{tikzpicture}
\end{document}
"""
PARTS_TREE = {"main.tex": PARTS_MAIN, "sections/intro.tex": SUBFILE, "figures/diagram.tex": TIKZ,
              "overview.tex": TIKZ + "%" + "x" * len(PARTS_MAIN) + "\n"}  # beside main.tex and longer


def _one_paper_of_parts(doc):
    assert isinstance(doc, Document), doc
    assert doc.extra["latex_main"] == "main.tex" and doc.title.startswith("Subfiles and Standalone")
    assert [ln for ln in doc.text.splitlines() if ln.startswith("#")][1:] == ["## 1 Introduction", "## 2 Results"]
    assert doc.text.count("Every access point serves every user") == 1  # the \subfile's body, once
    assert "subfiles" not in doc.text and "tikzpicture" not in doc.text


def test_subfiles_sections_and_standalone_figures_are_parts_not_papers_folder(tmp_path):
    write_tree(str(tmp_path / "2403.01234"), PARTS_TREE)
    results = extract_all(source([tmp_path]))
    # one record: the section is not a second record duplicating it, the figures no no_text drops
    assert [(os.path.relpath(uri, tmp_path), type(x).__name__) for uri, x in results] == \
        [("2403.01234/main.tex", "Document")], results
    _one_paper_of_parts(results[0][1])
    assert results[0][1].extra["latex_includes_resolved"] == "1"


def test_subfiles_sections_and_standalone_figures_are_parts_not_papers_tar(tmp_path):
    (tmp_path / "2403.01234").write_bytes(gzip.compress(tar_bytes(PARTS_TREE), mtime=0))
    (tmp_path / "plain.tar").write_bytes(tar_bytes(PARTS_TREE))
    results = dict(extract_all(source([tmp_path / "2403.01234", tmp_path / "plain.tar"])))
    eprint, plain = results[str(tmp_path / "2403.01234")], results[str(tmp_path / "plain.tar")]
    _one_paper_of_parts(eprint)
    assert eprint.text == plain.text


def test_a_main_file_that_another_file_includes_is_a_part(tmp_path):
    # a chapter that compiles on its own (its own \documentclass, as docmute allows), input by the
    # main file from a subfolder and named like nothing else: read with the main file, not a paper
    chapter = ("\\documentclass{article}\n\\begin{document}\n\\section{Chapter}\nA chapter written to compile "
               "on its own as well.\n\\end{document}\n")
    files = {"main.tex": PARTS_MAIN.replace("\\subfile{sections/intro}", "\\input{chapters/one}"),
             "chapters/one.tex": chapter}
    results = extract_all(source([write_tree(str(tmp_path / "paper"), files)]))
    assert [os.path.basename(uri) for uri, _ in results] == ["main.tex"], results
    assert results[0][1].text.count("A chapter written to compile") == 1
    (tmp_path / "paper.tar").write_bytes(tar_bytes({"a-main.tex": files["main.tex"], "one.tex": chapter}))
    (_, tar_doc), = extract_all(source([tmp_path / "paper.tar"]))
    assert tar_doc.extra["latex_main"] == "a-main.tex"  # chapters/one missing there: the main still wins


def test_a_standalone_figure_or_subfile_on_its_own_is_a_counted_drop(tmp_path):
    (tmp_path / "figure.tex").write_text(TIKZ)
    (tmp_path / "figures.tar").write_bytes(tar_bytes({"a.tex": TIKZ, "b.tex": SUBFILE}))
    results = dict(extract_all(source([tmp_path / "figure.tex", tmp_path / "figures.tar"])))
    figure, figures = results[str(tmp_path / "figure.tex")], results[str(tmp_path / "figures.tar")]
    assert isinstance(figure, Dropped) and figure.rule == "latex_part"
    assert figure.detail == ("only parts of another document (\\documentclass{standalone}: a figure or section "
                             "compiled on its own), no paper")
    assert isinstance(figures, Dropped) and figures.rule == "latex_part" and "{subfiles}" in figures.detail


def test_own_macros_renewcommand_and_several_arguments_are_expanded(tmp_path):
    body = r"""\newcommand{\vect}[1]{\mathbf{#1}}
\newcommand{\inner}[2]{\left\langle #1, #2 \right\rangle}
\newcommand{\power}[2][x]{#1^{#2}}
\newcommand{\pair}[2]{#1 and then #2}
\newcommand{\Rate}{R}
\renewcommand{\Rate}{C}
\renewcommand{\vec}[1]{\boldsymbol{#1}}
\section{Macros}
We study \pair{uplink training}{downlink precoding} in turn.
\begin{equation} \Rate = \inner{\vect{h}}{\vec{w}} + \power{2} + \power[y]{3} \end{equation}
"""
    files = dict(TREE)
    files["paper.tex"] = MAIN.replace("\\input{sections/intro}", body).replace("\\include{sections/model}", "")
    doc = only_doc(write_tree(str(tmp_path / "p"), files))
    assert "We study uplink training and then downlink precoding in turn." in doc.text  # two arguments
    (block,) = re.findall(r"^\$\$(.+?)\$\$$", doc.text, re.S | re.M)
    # \renewcommand of the paper's own macro and of a LaTeX one; an optional first argument
    assert re.sub(r"\s+", "", block) == re.sub(r"\s+", "", r"C = \left\langle \mathbf{h}, \boldsymbol{w} "
                                                             r"\right\rangle + x^{2} + y^{3} \tag{1}")
    assert "\\Rate" not in doc.text and "\\pair" not in doc.text and "\\inner" not in doc.text
    latex2mathml.converter.convert(block)


def test_subfile_resolution(tmp_path):
    main = PARTS_MAIN.replace("\\subfile{sections/intro}", "\\subfile{sections/intro}\n\\subfile{sections/more.tex}\n"
                              "\\subfile{sections/gone}")
    more = SUBFILE.replace("\\begin{document}", "\\newcommand{\\local}{ignored}\n\\begin{document}").replace(
        "\\section{Introduction}\nEvery access point serves every user of the cell-free network at once.",
        "\\section{More}\nA second section, named with its extension.")
    doc = only_doc(write_tree(str(tmp_path / "p"), {"main.tex": main, "sections/intro.tex": SUBFILE,
                                                     "sections/more.tex": more}))
    assert [ln for ln in doc.text.splitlines() if ln.startswith("##")] == ["## 1 Introduction", "## 2 More",
                                                                         "## 3 Results"]
    assert "A second section, named with its extension." in doc.text
    assert "documentclass" not in doc.text and "ignored" not in doc.text  # a subfile's preamble is not its text
    assert doc.extra["latex_includes_resolved"] == "2" and doc.extra["latex_includes_missing"] == "1"
    assert doc.extra["latex_missing_inputs"] == "sections/gone" and "latex_missing_input" in doc.flags


def test_a_gzipped_tar_named_pdf_is_read_as_latex_by_its_bytes(tmp_path):
    folder = only_doc(write_tree(str(tmp_path / "folder")))
    (tmp_path / "eprint.pdf").write_bytes(gzip.compress(tar_bytes(), mtime=0))  # arXiv e-print, misnamed
    (tmp_path / "single").mkdir()  # a .tex named .docx, in a folder of its own (its folder is its tree)
    (tmp_path / "single" / "paper.docx").write_bytes(MAIN.replace("\\input{sections/intro}", INTRO).encode("utf-8"))
    results = dict(extract_all(source([tmp_path / "eprint.pdf", tmp_path / "single"])))
    eprint, tex = results[str(tmp_path / "eprint.pdf")], results[str(tmp_path / "single" / "paper.docx")]
    assert isinstance(eprint, Document) and eprint.extra["source_format"] == "latex"
    assert eprint.extra["latex_origin"] == "tar.gz" and eprint.text == folder.text
    assert isinstance(tex, Document) and tex.extra["latex_main"] == "paper.docx" and tex.title == TITLE
    assert "Cell-free networks serve every user" in tex.text


def test_display_maths_as_typeset_displaymath_nested_and_iffalse(tmp_path):
    """ijmsample (ijmart) shapes: a ``displaymath`` environment, ``align*`` inside ``gather`` (amsmath
    allows it: one display), and displays inside ``\\iffalse ... \\fi`` (never typeset). Each typeset
    display is exactly one $$ block that latex2mathml accepts, and bench_latex's reference counts
    the same blocks."""
    import sys

    body = r"""\section{Displays}
Abel's lemma:
\begin{displaymath}
\sum_{k=m}^n f_k(g_{k+1}-g_k) = f_{n+1}g_{n+1} - \sum_{k=m}^n g_{k+1} (f_{k+1} - f_k)
\end{displaymath}
Within gather:
\begin{gather}
\begin{split} \varphi(x,z) &=z-\gamma_{10}x
\end{split}\\[6pt]
\begin{align*}
\zeta^0 &=(\xi^0)^2,\\
\zeta^1 &=\xi^0\xi^1,
\end{align*}
\end{gather}
\iffalse % never typeset
And now SKIPPEDPROSE with a literal tag:
\begin{multline*}\tag*{[a]}
\int_a^b f \\ = \int_a^b g
\end{multline*}
\fi
Some text after.
"""
    files = dict(TREE)
    files["paper.tex"] = MAIN.replace("\\input{sections/intro}", body).replace("\\include{sections/model}", "")
    doc = only_doc(write_tree(str(tmp_path / "p"), files))
    blocks = re.findall(r"\$\$(.+?)\$\$", doc.text, re.S)
    assert len(blocks) == 2, blocks
    assert blocks[0].startswith("\\sum_{k=m}^n f_k(g_{k+1}-g_k)")
    assert "\\varphi(x,z)" in blocks[1] and "\\begin{align*}" in blocks[1] and "\\zeta^1 &=\\xi^0\\xi^1" in blocks[1]
    assert "SKIPPEDPROSE" not in doc.text and "\\int_a^b f" not in doc.text and "Some text after." in doc.text
    for block in blocks:
        latex2mathml.converter.convert(block)

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
    from bench_latex import display_blocks, drop_false_branches, strip_comments

    assert display_blocks(drop_false_branches(strip_comments(body))) == len(blocks)
    assert display_blocks(strip_comments(body)) == 3  # the skipped display counts only if TeX would typeset it
    assert drop_false_branches(r"a \iffalse b \ifx c\fi d \fi e \iffalse f \else g \fi h").split() == \
        ["a", "e", "g", "\\fi", "h"]


def test_iffalse_skips_nested_conditionals_and_keeps_the_else_branch():
    """TeX skips an \\iffalse branch counting the conditionals nested in it, and typesets its
    \\else branch: the first \\fi does not end it, and the \\else text stays."""
    from telecom_etl.extractors.latex.source import strip_comments

    src = ("Kept before. \\iffalse Draft \\ifx\\a\\b inner \\fi still draft \\newif\\ifnotes also draft "
           "% a \\fi in a comment\n\\fi Kept after. \\iffalse old text \\else New text. \\fi End.")
    out = strip_comments(src)
    assert "Draft" not in out and "draft" not in out and "inner" not in out and "old text" not in out
    assert "Kept before." in out and "Kept after." in out and "New text." in out and out.endswith("End.")
    assert "\\fi" not in out and "\\else" not in out
    assert strip_comments("a \\iffalse never closed") == "a "  # TeX skips to the end too
    assert strip_comments("\\verb|\\iffalse| x") == "\\verb|\\iffalse| x"  # verbatim stays
