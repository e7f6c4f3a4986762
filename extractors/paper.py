"""Research papers (kind ``paper``) as PDFs or LaTeX sources: clean markdown plus bibliographic metadata.

LaTeX sources (a ``.tex`` file, a folder holding one, an arXiv e-print: a gzipped tar or a single
gzipped ``.tex``; told apart by their bytes) go through :mod:`telecom_etl.extractors.latex`
(pandoc's LaTeX reader): maths stays LaTeX, sections keep the paper's numbers, citations and
references become readable markers. A folder with a main file (``\\documentclass`` and
``\\begin{document}``) is one item, its other files are read with it; PDFs and e-prints
directly beside the main file (not used as figures) stay items of their own. The same
selection (arXiv snapshot, categories, licences) applies to both. One kind for both formats
because they are the same documents with the same metadata and options, often mixed in one
folder, and the dedup stage prefers the source rendering of a paper over its PDF.

Text comes from :func:`telecom_etl.extractors.pdfdoc.pdf_to_markdown` (reading order, running
headers/footers, hyphenation, figure debris, references). Metadata, best source first:

* the arXiv metadata snapshot, when the source names one (``options.arxiv_metadata``): title,
  authors, categories, licence, DOI, date of v1;
* the PDF: identifiers on the first page, the arXiv margin stamp, a repository cover page, the
  info dictionary; the title set in the largest type; the byline under it;
* the file name (``2101.00001v2.pdf``, ``10.1109_TWC.2020.123.pdf``).

Options (``options:`` of a ``kind: paper`` source)::

    drop_references: true        # drop the References/Bibliography section
    drop_acknowledgements: false # drop Acknowledgement sections (and IEEE biographies) of LaTeX sources
    latex_timeout_s: 120         # a LaTeX conversion still running then fails the input
    max_unpacked_mb: 256         # a LaTeX source tree larger than this unpacked fails (tar/gzip bombs)
    drop_cover_pages: true       # drop repository download covers
    on_garbage_text: fail        # fail | drop | flag
    pii: true                    # remove e-mail addresses and phone numbers (filters/pii.py), counted
                                 # per record in extra.pii_emails / extra.pii_phones
    arxiv_metadata: /data/arxiv-metadata-oai-snapshot.json
    categories: [eess.SP, cs.IT, cs.NI]      # select by arXiv category (any overlap)
    licenses: [CC-BY-4.0, CC-BY-SA-4.0, CC0-1.0]   # licence policy (SPDX ids)

Selection happens while listing, before any PDF is parsed: a paper outside the categories is
``Dropped("category")``, one whose licence (the snapshot's, else the source's ``license``) is
outside the policy ``Dropped("license_policy")``, so both are counted per source.

A garbage text layer (Type-3 fonts without a usable encoding, scanned pages) fails the file by
default: it is not an on-purpose skip but a PDF this extractor cannot read (it needs OCR), so it
belongs in the rejects with its reason. ``drop`` counts it as a drop instead; ``flag`` keeps the
text with the flag ``garbage_text_layer`` for a later filter or OCR pass to decide.
"""
from __future__ import annotations

import dataclasses
import os
import re
from typing import Any, Dict, Iterator, List, Optional, Tuple

from telecom_etl import io
from telecom_etl.extractors import arxiv
from telecom_etl.extractors.base import SourceItem, SourceKind
from telecom_etl.extractors.latex import latex_to_markdown
from telecom_etl.extractors.latex import source as latex_source
from telecom_etl.extractors.latex import tree as latex_tree
from telecom_etl.extractors.pdfdoc import PdfError, PdfText, pdf_to_markdown
from telecom_etl.extractors.pdfglyphs import FLAG_SHARE
from telecom_etl.extractors.sniff import sniff
from telecom_etl.outcome import Dropped, StageFailure
from telecom_etl.registry import SOURCES

GARBAGE_MODES = ("fail", "drop", "flag")
_OPTIONS = {"drop_references", "drop_cover_pages", "on_garbage_text", "arxiv_metadata", "categories", "licenses",
            "drop_acknowledgements", "latex_timeout_s", "max_unpacked_mb", "pii"}
_CATEGORY = re.compile(r"^[a-z]+(?:-[a-z]+)*(?:\.[A-Za-z]+(?:-[A-Za-z]+)*)?$")

# -- identifiers and names in text ---------------------------------------------------------------

DOI_RE = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>,;]+)", re.I)
_DOI_IN_NAME = re.compile(r"(10\.\d{4,9})[_/](.+?)(?:\.pdf)?$", re.I)
_PAREN_MARK = re.compile(r"\(\s*(?:\d{1,2}|[a-z]|\*{1,3})(?:\s*,\s*(?:\d{1,2}|[a-z]))*\s*\)")  # "(1)", "(1,2)", "(a)"
_NAME_MARKS = re.compile(r"[\u2217\u2020\u2021\u00a7\u00b6\u2016*#\u22c6\u2605\u2606\d\u00b9\u00b2\u00b3\u2070-\u2079]+")
# IEEE member grades ("Life Fellow", "Lifetime Fellow, IEEE", "Student Member") are not names
_MEMBERSHIP = re.compile(r"^(?:(?:Senior|Student|Life|Lifetime|Graduate Student|Associate)\s+)?(?:Member|Fellow)"
                         r"(?:,?\s*(?:IEEE|OSA|ACM|SPIE))?$|^(?:IEEE|OSA|ACM)$", re.I)
_NOT_A_NAME = re.compile(r"university|universit[àaé]|department|institute|school|laborator|college|email|e-mail|"
                         r"@|\bdept\b|centre|center|faculty|abstract|inc\.|ltd|corporation|research|campus|"
                         r"street|road|china|usa|germany|france|italy|japan|korea|india|canada|\bavenue\b", re.I)
# a capitalised name part (Jean-Luc, McDonald, O'Brien, Émile), an initial (J., J.-L.), a particle
_UPPER = "A-Z\u00c0-\u00de"
_LOWER = "a-z\u00df-\u024f'\u2019"
_NAME_TOKEN = re.compile(rf"^(?:[{_UPPER}][{_LOWER}]*(?:[{_UPPER}][{_LOWER}]+)?(?:-[{_UPPER}]?[{_LOWER}]+)*|"
                         rf"[{_UPPER}]\.(?:-?[{_UPPER}]\.)?|[{_UPPER}][a-z]*\.|"
                         r"de|del|della|der|di|da|dos|du|la|le|van|von|ter|ten|bin|al|el|[A-Z][A-Z]+)$")
_JUNK_TITLE = re.compile(r"\.(?:dvi|pdf|docx?|tex|ps|eps)$|^microsoft (?:word|powerpoint)|^untitled|^title$|^\W*$"
                         r"|^paper\s*\d*$|^manuscript", re.I)


def find_doi(*texts: Optional[str]) -> Optional[str]:
    """The first DOI in ``texts`` (trailing punctuation of the sentence removed)."""
    for text in texts:
        if not text:
            continue
        m = DOI_RE.search(text)
        if m:
            return m.group(1).rstrip(".)]}\u201d'").rstrip(".")
    return None


def doi_from_path(path: str) -> Optional[str]:
    m = _DOI_IN_NAME.search(os.path.basename(path))
    return f"{m.group(1)}/{m.group(2)}" if m else None


def parse_byline(line: str) -> List[str]:
    """Author names of a byline ("A. Alfano, and B. De Maio, Member, IEEE", "Li Xiao∗‡, Bin Gao†"),
    or [] when the line is not a byline (an affiliation, a sentence)."""
    line = _NAME_MARKS.sub(" ", _PAREN_MARK.sub(" ", line))
    if _NOT_A_NAME.search(line) or len(line) > 300:
        return []
    names = []
    for part in re.split(r",|;|\s+and\s+|\s+&\s+|\band\s+", line):
        part = " ".join(part.split()).strip(" .")
        if part.lower().startswith("and "):
            part = part[4:]
        if not part or _MEMBERSHIP.match(part):
            continue
        tokens = part.split()
        if not (2 <= len(tokens) <= 5) or not all(_NAME_TOKEN.match(t) for t in tokens):
            return []
        if not any(len(t.strip(".")) > 1 and t[0].isupper() for t in tokens[1:]):
            return []
        names.append(part)
    return names


# front matter that lands in a paper's body: affiliations (with their e-mails) before the abstract,
# and the first page's footnotes (funding, "manuscript received", "X is with the Department of")
_AFFILIATION = re.compile(r"universit|department|institute|school of|laborator|college|faculty|\bdept\b|"
                          r"centre|center for|e-?mail|@", re.I)
_FRONT_NOTE = re.compile(r"^(?:\W{0,3}\s*)?(?:this (?:work|research|paper|project) (?:was|is|has been) (?:\w+ )?"
                         r"(?:supported|funded|sponsored|financed)|the (?:work|research) of .{0,80}(?:was|is) "
                         r"(?:\w+ )?(?:supported|funded)|manuscript received|(?:[A-Z][\w.\- ]{1,60}(?:,| and) )*"
                         r"[A-Z][\w.\- ]{1,60} (?:is|are) (?:now )?with the |corresponding author)", re.I)


def move_front_matter(markdown: str, authors: List[str], extra: Dict[str, str]) -> str:
    """The body without its front matter: the byline and affiliation paragraphs before the first
    heading or abstract go (affiliations to ``extra["affiliations"]``), and funding and
    affiliation footnotes anywhere go to ``extra["front_notes"]``."""
    paragraphs = markdown.split("\n\n")
    kept: List[str] = []
    affiliations: List[str] = []
    notes: List[str] = []
    before_body = True
    surnames = {a.split()[-1] for a in authors if a.split()}
    for i, para in enumerate(paragraphs):
        text = para.strip()
        if before_body and (text.startswith("#") and i > 0 or re.match(r"abstract\b|index terms", text, re.I)):
            before_body = False
        if before_body and i > 0 and not text.startswith("#"):
            if _AFFILIATION.search(text) and len(text) < 1500:
                affiliations.append(" ".join(text.split()))
                continue
            if surnames and sum(1 for name in surnames if name in text) >= max(1, len(surnames) // 2) \
                    and len(text) < 400:
                continue  # the byline: the authors are in the record's ``authors``
        if not text.startswith(("#", "$$", "|")) and _FRONT_NOTE.match(text) and len(text) < 1200:
            notes.append(" ".join(text.split()))
            continue
        kept.append(para)
    if affiliations:
        extra["affiliations"] = " | ".join(affiliations)
    if notes:
        extra["front_notes"] = " | ".join(notes)
    return "\n\n".join(kept) if kept else markdown


def authors_from_front(front_lines: List[str]) -> List[str]:
    """Authors from the lines under the title: the first byline-looking lines before anything else."""
    authors: List[str] = []
    for line in front_lines[:4]:
        names = parse_byline(line)
        if not names:
            if authors:
                break
            continue
        authors.extend(names)
    return authors


def authors_from_metadata(value: Optional[str]) -> List[str]:
    if not value:
        return []
    return parse_byline(value.replace(";", ","))


def plausible_title(value: Optional[str]) -> Optional[str]:
    value = " ".join((value or "").split())
    if len(value) < 8 or " " not in value or _JUNK_TITLE.search(value):
        return None
    return value


# -- the source kind --------------------------------------------------------------------------

@SOURCES.register("paper")
class PaperSource(SourceKind):
    document_kind = "paper"

    @classmethod
    def validate_options(cls, config) -> None:
        options = config.options or {}
        unknown = sorted(set(options) - _OPTIONS)
        if unknown:
            raise ValueError(f"unknown option(s) {', '.join(unknown)} for kind 'paper' (known: "
                             f"{', '.join(sorted(_OPTIONS))})")
        for key in ("drop_references", "drop_cover_pages", "drop_acknowledgements", "pii"):
            if key in options and not isinstance(options[key], bool):
                raise ValueError(f"{key} must be true or false (got {options[key]!r})")
        for key in ("latex_timeout_s", "max_unpacked_mb"):
            value = options.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
                raise ValueError(f"{key} must be a positive number (got {value!r})")
        mode = options.get("on_garbage_text", "fail")
        if mode not in GARBAGE_MODES:
            raise ValueError(f"on_garbage_text must be one of {', '.join(GARBAGE_MODES)} (got {mode!r})")
        snapshot = options.get("arxiv_metadata")
        if snapshot is not None:
            if not isinstance(snapshot, str) or not snapshot:
                raise ValueError("arxiv_metadata must be the path of the arXiv metadata snapshot (JSON lines)")
            if not io.has_scheme(snapshot) and not os.path.isfile(os.path.expanduser(snapshot)):
                raise ValueError(f"arxiv_metadata: no such file: {snapshot} (relative paths are taken from the "
                                 f"current directory)")
        for key in ("categories", "licenses"):
            value = options.get(key)
            if value is None:
                continue
            if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
                raise ValueError(f"{key} must be a non-empty list of strings (got {value!r})")
        for cat in options.get("categories") or []:
            if not _CATEGORY.match(cat):
                raise ValueError(f"categories: {cat!r} is not an arXiv category such as eess.SP or cs.IT")
        if options.get("categories") and snapshot is None:
            raise ValueError("categories selects papers by their arXiv metadata: set arxiv_metadata too")
        for lic in options.get("licenses") or []:
            if lic not in arxiv.KNOWN_LICENSES and not lic.startswith("LicenseRef-"):
                raise ValueError(f"licenses: {lic!r} is not an SPDX id of a licence arXiv uses (e.g. "
                                 f"CC-BY-4.0, CC-BY-SA-4.0, CC0-1.0, {arxiv.ARXIV_NONEXCLUSIVE})")

    # -- options --------------------------------------------------------------------------------
    def option(self, key: str, default: Any = None) -> Any:
        return (self.config.options or {}).get(key, default)

    @property
    def selection(self) -> arxiv.Selection:
        return arxiv.Selection(categories=tuple(self.option("categories") or ()),
                               licenses=tuple(self.option("licenses") or ()))

    # -- listing: arXiv metadata and the selection ----------------------------------------------
    def list_items(self) -> Iterator:
        snapshot = self.option("arxiv_metadata")
        selection = self.selection
        if not snapshot and not selection.licenses:
            yield from self._files_and_trees()
            return
        items: List[Tuple[SourceItem, Optional[str]]] = []
        for item in self._files_and_trees():
            if isinstance(item, Dropped):
                yield item
                continue
            arxiv_id = arxiv.arxiv_id_from_path(item.uri)
            if arxiv_id is None and item.meta.get("latex_root"):
                arxiv_id = arxiv.arxiv_id_from_path(item.meta["latex_root"])
            if arxiv_id is None and snapshot:  # only worth a look when there is metadata to find
                arxiv_id = self._id_from_first_page(item)
            items.append((item, arxiv_id))
        records = arxiv.load_records(os.path.expanduser(snapshot), {i for _, i in items if i}) if snapshot else {}
        for item, arxiv_id in items:
            record = records.get(arxiv_id) if arxiv_id else None
            if selection.categories:
                if record is None:
                    why = "not in the arXiv snapshot" if arxiv_id else "no arXiv id in the file name or first page"
                    yield Dropped("category", f"{why}: categories unknown", uri=item.uri)
                    continue
                miss = selection.category_miss(record.categories)
                if miss:
                    yield Dropped("category", miss, uri=item.uri)
                    continue
            license_id = record.license if record else self.config.license
            miss = selection.license_miss(license_id)
            if miss:
                yield Dropped("license_policy", miss, uri=item.uri)
                continue
            meta = dict(item.meta)
            if arxiv_id:
                meta["arxiv_id"] = arxiv_id
            if record is not None:
                meta["arxiv"] = dataclasses.asdict(record)
            yield dataclasses.replace(item, meta=meta)

    def _files_and_trees(self) -> Iterator:
        """The listed files, with each LaTeX source folder as one item (its main file).

        A main file has ``\\documentclass`` and ``\\begin{document}``, is not a part (a
        ``standalone`` figure, a ``subfiles`` section: compiled on their own, never papers) and
        is included by no other listed file (:func:`latex_source.included_paths`); the other
        files under its folder are read with it."""
        items = list(super().list_items())
        local = [item for item in items if isinstance(item, SourceItem) and not io.has_scheme(item.uri)]
        listed = {os.path.normpath(item.uri) for item in local}
        documents: List[str] = []
        included: set = set()
        for item in local:
            text = self._latex_text(item.uri)
            if text is None:
                continue
            path = os.path.normpath(item.uri)
            if latex_source.has_document(text) and latex_source.part_class(text) is None:
                documents.append(item.uri)
            top = os.path.normpath(item.root) if item.root else ""
            included |= latex_source.included_paths(path, text, listed, top=top) - {path}
        mains: Dict[str, List[str]] = {}
        # a main file is included by no other file (when each includes another, a loop: all are)
        for uri in [u for u in documents if os.path.normpath(u) not in included] or documents:
            mains.setdefault(os.path.dirname(uri), []).append(uri)
        if not mains:
            yield from items
            return
        figures = {folder: latex_tree_figures(folder) for folder in mains}
        for item in items:
            if isinstance(item, Dropped) or io.has_scheme(item.uri):
                yield item
                continue
            folder = os.path.dirname(item.uri)
            if item.uri in mains.get(folder, ()):
                yield dataclasses.replace(item, meta={**item.meta, "latex_root": folder})
                continue
            owner = folder
            while owner not in mains and os.path.dirname(owner) != owner and owner.startswith(item.root or "/"):
                owner = os.path.dirname(owner)
            if owner not in mains:
                yield item
                continue
            if owner == folder and _standalone_beside_source(item.uri, figures[owner]):
                yield item  # a paper PDF or e-print beside a source, not one of its figures
            # else: a file of that LaTeX source, read with its main file

    def _latex_text(self, path: str) -> Optional[str]:
        """A listed local file's text, comments stripped, when it is a text file (else None)."""
        try:
            if os.path.islink(path) or os.path.getsize(path) > min(self.max_bytes, 16 * 1024 * 1024):
                return None
            with open(path, "rb") as fh:
                head = fh.read(1024)
                if sniff(head) != "text":
                    return None
                data = head + fh.read()
        except OSError:
            return None
        text = latex_source.decode(data)
        return latex_source.strip_comments(text) if text else None

    def _id_from_first_page(self, item: SourceItem) -> Optional[str]:
        """arXiv-compiled PDFs carry ``arXiv:2101.00001v1 [cs.IT] ...`` in the margin of page 1."""
        import pymupdf

        try:
            data = self.read(item)
            if sniff(data[:1024]) != "pdf":
                return None
            with pymupdf.open(stream=data, filetype="pdf") as doc:
                if doc.needs_pass or doc.page_count == 0:
                    return None
                return arxiv.arxiv_id_from_text(doc.load_page(0).get_text())
        except Exception:  # unreadable here: extraction will fail it with the reason
            return None

    # -- extraction -----------------------------------------------------------------------------
    def extract(self, item: SourceItem):
        data = self.read(item)
        kind = sniff(data[:1024])
        if kind == "empty" or not data.strip():
            yield Dropped("empty_file", "no content", uri=item.uri)
            return
        if kind != "pdf":
            if data.startswith(latex_tree.GZIP_MAGIC) or latex_tree.is_tar(data) or item.meta.get("latex_root") or (
                    kind == "text" and _is_latex(data)):
                yield from self._extract_latex(item, data)
                return
            looks = "a text file without \\documentclass and \\begin{document}" if kind == "text" else ""
            yield self.wrong_kind(item, "a paper (PDF or LaTeX source)", looks, kind)
            return
        try:
            pdf = pdf_to_markdown(data, drop_references=self.option("drop_references", True),
                                  drop_cover_pages=self.option("drop_cover_pages", True))
        except PdfError as exc:  # the reject line is the reason alone, as for any StageFailure
            raise StageFailure(exc.reason) from None
        flags: List[str] = []
        garbage = pdf.quality.get("garbage")
        if garbage:
            mode = self.option("on_garbage_text", "fail")
            if mode == "fail":
                raise StageFailure(f"garbage text layer: {garbage}")
            if mode == "drop":
                yield Dropped("garbage_text_layer", str(garbage), uri=item.uri)
                return
            flags.append("garbage_text_layer")
        if not pdf.markdown.strip():
            yield Dropped("no_text", "the PDF has no text after cleaning", uri=item.uri)
            return
        fields = paper_metadata(item, pdf)
        extra = fields.pop("extra")
        if garbage:
            extra["garbage_text_layer"] = str(garbage)
        markdown = pdf.markdown if garbage else move_front_matter(pdf.markdown, fields["authors"], extra)
        if self.option("pii", True):
            markdown = self._redact(markdown, extra, flags)
        share = float(pdf.quality.get("unmapped_char_share", 0.0))
        if share > FLAG_SHARE:
            flags.append("unmapped_glyphs")
        extra["glyphs_unmapped"] = str(pdf.quality.get("glyphs_unmapped", 0))
        for key in ("display_equations", "equation_placeholders"):
            if key in pdf.quality:
                extra[key] = str(pdf.quality[key])
        yield self.new_document(item, markdown, flags=flags, extra=extra,
                                scores={"unmapped_char_share": share}, **fields)
        for reason, part, detail in pdf.placeholders:  # each [equation (N)] placeholder: a dropped part
            yield Dropped(f"equation_placeholder.{reason}", detail, uri=f"{item.uri}#{part}")

    @staticmethod
    def _redact(text: str, extra: Dict[str, str], flags: List[str]) -> str:
        """The paper's text without e-mail addresses and phone numbers (counted in ``extra``)."""
        from telecom_etl.filters.pii import redact_pii

        text, counts = redact_pii(text)
        for key in ("affiliations", "front_notes"):  # the front matter moved to metadata, too
            if key in extra:
                extra[key], more = redact_pii(extra[key])
                counts = {k: counts[k] + more[k] for k in counts}
        extra["pii_emails"], extra["pii_phones"] = str(counts["emails"]), str(counts["phones"])
        if counts["emails"] or counts["phones"]:
            flags.append("pii_redacted")
        return text


    def _extract_latex(self, item: SourceItem, data: bytes):
        limits = latex_tree.TreeLimits(max_unpacked_mb=float(self.option("max_unpacked_mb", 256)))
        root = item.meta.get("latex_root")
        if root:
            tree = latex_tree.from_folder(root, os.path.relpath(item.uri, root).replace(os.sep, "/"), limits)
        else:
            tree = latex_tree.from_bytes(data, item.name, limits)
        try:
            paper = latex_to_markdown(tree, drop_references=self.option("drop_references", True),
                                      drop_acknowledgements=self.option("drop_acknowledgements", False),
                                      timeout_s=float(self.option("latex_timeout_s", 120)))
        except latex_source.LatexPart as exc:  # a standalone figure or a subfile given on its own
            yield Dropped("latex_part", str(exc), uri=item.uri)
            return
        if not paper.markdown.strip():
            yield Dropped("no_text", "the LaTeX source has no text", uri=item.uri)
            return
        fields = latex_metadata(item, paper)
        flags = ["latex_missing_input"] if paper.missing_inputs else []
        extra = fields.pop("extra")
        markdown = paper.markdown
        if self.option("pii", True):
            markdown = self._redact(markdown, extra, flags)
        yield self.new_document(item, markdown, flags=flags, extra=extra, **fields)


def _is_latex(data: bytes) -> bool:
    text = latex_source.decode(data)
    return bool(text) and latex_source.has_document(latex_source.strip_comments(text))


def latex_metadata(item: SourceItem, paper) -> Dict[str, Any]:
    """Document fields of a paper from its arXiv record (if any), its LaTeX source and its path."""
    record = item.meta.get("arxiv") or {}
    arxiv_id = (record.get("arxiv_id") or item.meta.get("arxiv_id") or arxiv.arxiv_id_from_path(item.uri)
                or (arxiv.arxiv_id_from_path(item.meta["latex_root"]) if item.meta.get("latex_root") else None))
    extra: Dict[str, str] = {"source_format": "latex", "latex_main": paper.main, "latex_origin": paper.origin}
    for key, value in sorted(paper.counts.items()):
        if value:
            extra[f"latex_{key}"] = str(value)
    if paper.missing_inputs:
        extra["latex_missing_inputs"] = ",".join(paper.missing_inputs[:20])
    if paper.abstract:
        extra["abstract"] = paper.abstract
    if paper.byline:  # the same keys as the PDF path's front matter
        extra["affiliations"] = paper.byline
    if paper.front_notes:
        extra["front_notes"] = " | ".join(" ".join(note.split()) for note in paper.front_notes)
    for key, value in (("journal_ref", record.get("journal_ref")), ("arxiv_comments", record.get("comments")),
                       ("date_source", "arxiv_v1" if record.get("date") else None)):
        if value:
            extra[key] = str(value)
    return {
        "title": record.get("title") or paper.title or os.path.splitext(item.name)[0],
        "authors": list(record.get("authors") or []) or paper.authors,
        "doi": record.get("doi") or find_doi(paper.markdown[:8000]),
        "arxiv_id": arxiv_id,
        "categories": list(record.get("categories") or []),
        "license": record.get("license"),
        "date": record.get("date"),
        "extra": extra,
    }


_GRAPHICS = re.compile(r"\\includegraphics\s*(?:\[[^\]]*\])?\s*\{([^{}]+)\}")


def latex_tree_figures(folder: str) -> set:
    """Base names (without extension) of the graphics the LaTeX files of ``folder`` include."""
    names = set()
    paths = [os.path.join(d, f) for d, _, files in os.walk(folder, followlinks=False) for f in files]
    for path in sorted(paths):
        if os.path.islink(path) or not os.path.isfile(path) or os.path.getsize(path) > 16 * 1024 * 1024:
            continue
        try:
            with open(path, "rb") as fh:
                head = fh.read(1024)
                if sniff(head) != "text":
                    continue
                text = latex_source.decode(head + fh.read()) or ""
        except OSError:
            continue
        for m in _GRAPHICS.finditer(text):
            names.add(os.path.splitext(os.path.basename(m.group(1).strip()))[0])
    return names


def _standalone_beside_source(path: str, figures: set) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(1024)
    except OSError:
        return True  # extraction reports it
    if sniff(head) == "pdf":
        return os.path.splitext(os.path.basename(path))[0] not in figures
    return head.startswith(latex_tree.GZIP_MAGIC) or latex_tree.is_tar(head)


def paper_metadata(item: SourceItem, pdf: PdfText) -> Dict[str, Any]:
    """Document fields of a paper from its arXiv record (if any), the PDF and the file name."""
    record = item.meta.get("arxiv") or {}
    info = pdf.metadata
    head = pdf.markdown[:8000]  # about the first page: identifiers sit in its footnotes
    stamps = "\n".join(pdf.stamps)
    front = "\n".join(pdf.front_lines)
    arxiv_id = (record.get("arxiv_id") or item.meta.get("arxiv_id") or arxiv.arxiv_id_from_path(item.uri)
                or arxiv.arxiv_id_from_text(stamps) or arxiv.arxiv_id_from_text(head))
    doi = (record.get("doi") or find_doi(info.get("subject"), info.get("keywords"), stamps, front, head)
           or doi_from_path(item.uri))
    title = (record.get("title") or pdf.title or plausible_title(info.get("title"))
             or os.path.splitext(item.name)[0])
    authors = (list(record.get("authors") or []) or authors_from_front(pdf.front_lines)
               or authors_from_metadata(info.get("author")))
    date = record.get("date") or info.get("creationDate")
    extra: Dict[str, str] = {"source_format": "pdf"}
    for key, value in (("pdf_producer", info.get("producer")), ("pdf_creator", info.get("creator")),
                       ("journal_ref", record.get("journal_ref")), ("arxiv_comments", record.get("comments")),
                       ("date_source", "arxiv_v1" if record.get("date") else ("pdf_creation" if date else None))):
        if value:
            extra[key] = str(value)
    if pdf.removed:
        extra["pdf_removed"] = ",".join(f"{k}={v}" for k, v in sorted(pdf.removed.items()))
    return {
        "title": title,
        "authors": authors,
        "doi": doi,
        "arxiv_id": arxiv_id,
        "categories": list(record.get("categories") or []),
        "page_count": pdf.page_count,
        "license": record.get("license"),
        "date": date,
        "extra": extra,
    }
