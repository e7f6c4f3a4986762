"""3GPP / ETSI specifications (kind ``3gpp``): ``.zip`` releases, ``.docx``, ``.doc`` and ETSI PDFs.

One input file becomes one spec record (and/or one record per clause), with typed
metadata (number, type, version, release, series, working group, date, title) and the
body as markdown: clause headings carrying their numbers, tables as markdown tables,
ASN.1 as fenced code, equations as LaTeX, boilerplate removed (see
:mod:`telecom_etl.extractors.threegpp.markdown`). What the file is comes from its bytes,
not its name. Inputs that cannot be read (corrupt, encrypted, empty, unsafe or
oversized archives, a ``.doc`` LibreOffice cannot convert in time) fail with one line.

Manifest ``options`` (all optional)::

    granularity: document | clause | both   # records per spec, per clause, or both
    strip: {cover: true, contents: true, foreword: true, change_history: true,
            void_clauses: true, field_codes: true, page_furniture: true}
    attachments: true        # text members of an archive (ASN.1, OpenAPI YAML) -> code records
    pdf_tables: true         # table detection in ETSI PDFs (about 0.1 s per page with rules)
    doc_timeout_s: 180       # LibreOffice conversion of a legacy .doc / .rtf
    soffice: null            # path of the LibreOffice binary (default: soffice on PATH)
    # archive limits: they refuse bombs (by entries, expansion ratio, total size and depth),
    # never a real spec (TS 38.212 V18.1.0 is a .docx of 3,008 members; no member of the
    # shared real specs expands more than 46 times)
    max_members: 100000      # zip entries of one input, nested archives included
    max_ratio: 200           # output per compressed byte of a member, past its first MiB
    max_unpacked_mb: 2048    # bytes read out of one input, nested archives included
    max_depth: 2             # zip in zip in zip
"""
from __future__ import annotations

import posixpath
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Tuple

from telecom_etl.extractors.base import SourceKind
from telecom_etl.extractors.sniff import decode_text, sniff
from telecom_etl.extractors.threegpp import filename as fn
from telecom_etl.extractors.threegpp.blocks import HEADING, ReadResult
from telecom_etl.extractors.threegpp.markdown import Strip, assemble, clause_records
from telecom_etl.extractors.threegpp.metadata import cover_identity, release_from_path, spec_fields
from telecom_etl.extractors.threegpp.zips import Limits, MiB, SafeZip
from telecom_etl.normalize import normalize_text
from telecom_etl.outcome import Dropped, StageFailure
from telecom_etl.registry import SOURCES

GRANULARITIES = ("document", "clause", "both")
_ATTACHMENT_LANG = {".asn": "asn1", ".asn1": "asn1", ".yaml": "yaml", ".yml": "yaml", ".json": "json",
                    ".xsd": "xml", ".xml": "xml", ".abnf": "abnf", ".txt": "text", ".c": "c", ".h": "c"}
_NUMBERS = re.compile(r"(\d+)")


@dataclass(frozen=True)
class SpecOptions:
    granularity: str = "document"
    strip: Strip = Strip()
    attachments: bool = True
    pdf_tables: bool = True
    doc_timeout_s: float = 180.0
    soffice: Optional[str] = None
    limits: Limits = Limits()


def parse_options(options: Dict[str, Any]) -> SpecOptions:
    """Validated options; ValueError with a clear message for anything wrong."""
    options = dict(options or {})
    known = {"granularity", "strip", "attachments", "pdf_tables", "doc_timeout_s", "soffice", "max_members",
             "max_unpacked_mb", "max_depth", "max_ratio"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for kind '3gpp' (known: {', '.join(sorted(known))})")
    gran = options.get("granularity", "document")
    if gran not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)} (got {gran!r})")
    strip = options.get("strip") or {}
    if not isinstance(strip, dict):
        raise ValueError(f"strip must be a mapping of rule -> true/false (rules: {', '.join(Strip.names())})")
    bad = sorted(set(strip) - set(Strip.names()))
    if bad:
        raise ValueError(f"unknown strip rule(s) {bad} (known: {', '.join(Strip.names())})")
    for key, value in list(strip.items()) + [(k, options[k]) for k in ("attachments", "pdf_tables") if k in options]:
        if not isinstance(value, bool):
            raise ValueError(f"{key} must be true or false (got {value!r})")

    def number(key: str, default, kind=float, low=0):
        value = options.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= low:
            raise ValueError(f"{key} must be a number > {low} (got {value!r})")
        return kind(value)

    soffice = options.get("soffice")
    if soffice is not None and not isinstance(soffice, str):
        raise ValueError(f"soffice must be a path (got {soffice!r})")
    limits = Limits(max_members=number("max_members", Limits.max_members, int),
                    max_unpacked_bytes=int(number("max_unpacked_mb", Limits.max_unpacked_bytes / MiB) * MiB),
                    max_member_bytes=min(Limits.max_member_bytes,
                                         int(number("max_unpacked_mb", Limits.max_unpacked_bytes / MiB) * MiB)),
                    max_depth=number("max_depth", Limits.max_depth, int, low=-1),
                    max_ratio=number("max_ratio", Limits.max_ratio, low=1))
    return SpecOptions(granularity=gran, strip=Strip(**strip), attachments=options.get("attachments", True),
                       pdf_tables=options.get("pdf_tables", True),
                       doc_timeout_s=number("doc_timeout_s", 180.0), soffice=soffice, limits=limits)


def natural_key(name: str) -> Tuple:
    return tuple(int(t) if t.isdigit() else t.lower() for t in _NUMBERS.split(name))


@dataclass
class _Body:
    result: ReadResult
    fmt: str  # docx / doc / rtf / pdf
    members: List[str]
    pdf_identity: Any = None


@SOURCES.register("3gpp")
class SpecSource(SourceKind):
    document_kind = "3gpp"

    def __init__(self, config):
        super().__init__(config)
        self.options = parse_options(config.options)

    @classmethod
    def validate_options(cls, config) -> None:
        parse_options(config.options)

    # -- extraction ------------------------------------------------------
    def extract(self, item):
        data = self.read(item)
        kind = sniff(data[:16])
        if kind == "empty":
            raise StageFailure("empty file (0 bytes)")
        attachments: List[Tuple[str, str]] = []
        skipped: List[Dropped] = []
        if kind == "zip":
            pkg = SafeZip(data, self.options.limits, what="archive")
            if pkg.has("word/document.xml") or pkg.has("[Content_Types].xml"):
                body = _Body(self._read_docx_package(pkg), "docx", [item.name])
            else:
                body = self._read_archive(pkg, item, attachments, skipped)
        elif kind in ("ole", "rtf"):
            body = _Body(self._read_legacy(data, kind, item.name), "doc" if kind == "ole" else "rtf", [item.name])
        elif kind == "pdf":
            body = self._read_pdf(data, item.name, anonymous=False)
            if body is None:
                yield self.wrong_kind(item, "a 3GPP/ETSI specification", "a PDF with no spec number on its first "
                                      "page, in its metadata or in its file name", "pdf")
                return
        else:
            yield self.wrong_kind(item, "a 3GPP specification (Word, zip or ETSI PDF)", content=kind)
            return
        yield from self._documents(item, body, attachments)
        yield from skipped

    # -- readers ----------------------------------------------------------
    def _read_docx_package(self, pkg: SafeZip) -> ReadResult:
        from telecom_etl.extractors.threegpp.docx_reader import read_package

        return read_package(pkg, keep_field_codes=not self.options.strip.field_codes)

    def _read_docx_bytes(self, data: bytes, label: str, budget=None) -> ReadResult:
        return self._read_docx_package(SafeZip(data, self.options.limits, what=label, budget=budget))

    def _read_legacy(self, data: bytes, kind: str, name: str, budget=None) -> ReadResult:
        from telecom_etl.extractors.threegpp.legacy_doc import doc_to_docx

        if kind == "ole":
            head = data[:1 << 20]
            if "EncryptedPackage".encode("utf-16-le") in head:
                raise StageFailure(f"password-protected Word document: {name}")
            if "WordDocument".encode("utf-16-le") not in data:
                raise StageFailure(f"an OLE file that is not a Word document: {name}")
        docx = doc_to_docx(data, self.options.doc_timeout_s, self.options.soffice)
        return self._read_docx_bytes(docx, f"converted .{'doc' if kind == 'ole' else 'rtf'}", budget)

    def _read_pdf(self, data: bytes, name: str, anonymous: bool = True) -> Optional[_Body]:
        """The body of an ETSI PDF; None, unless ``anonymous``, for a PDF that names no spec
        (on its first page, in its metadata or its file name): not a spec at all."""
        import pymupdf

        from telecom_etl.extractors.threegpp.etsi_pdf import identity, read_pdf

        try:
            pdf = pymupdf.open(stream=data, filetype="pdf")
        except Exception as exc:  # PyMuPDF raises its own types for broken files
            raise StageFailure(f"corrupt PDF: {exc}") from None
        with pdf:
            if pdf.needs_pass:
                raise StageFailure("password-protected PDF")
            ident = identity(pdf)
            if not anonymous and ident.spec is None and fn.from_filename(name) is None:
                return None
            result = read_pdf(pdf, strip_furniture=self.options.strip.page_furniture,
                              tables=self.options.pdf_tables)
            result.counts["page_count"] = pdf.page_count
        return _Body(result, "pdf", [name], ident)

    def _read_archive(self, pkg: SafeZip, item, attachments, skipped) -> _Body:
        """The spec body of a 3GPP archive: its Word file(s) named like the archive (a spec split
        into several files is read in name order as one), text members as attachments."""
        words: List[Tuple[str, str, bytes]] = []  # (member, format, bytes)
        pdfs: List[Tuple[str, bytes]] = []
        self._collect(pkg, item, 0, words, pdfs, attachments, skipped)
        if words:
            wanted = fn.from_filename(item.name)
            same = [w for w in words if wanted and (fn.from_filename(w[0]) or fn.SpecId("")).number == wanted.number]
            chosen = same or words
            chosen_names = {c[0] for c in chosen}
            for name, _, _ in words:
                if name not in chosen_names:
                    skipped.append(Dropped("archive_member_skipped", f"{posixpath.basename(name)}: another document",
                                           uri=f"{item.uri}#{name}"))
            results = []
            for name, fmt, data in chosen:
                if fmt == "docx":
                    results.append(self._read_docx_bytes(data, f"archive member {posixpath.basename(name)!r}",
                                                         pkg.budget))
                else:
                    results.append(self._read_legacy(data, "ole" if fmt == "doc" else "rtf", name, pkg.budget))
            fmt = "docx" if all(c[1] == "docx" for c in chosen) else chosen[0][1]
            return _Body(_merge(results, self.options.strip), fmt, [c[0] for c in chosen])
        if pdfs:
            body = self._read_pdf(pdfs[0][1], pdfs[0][0])
            body.members = [pdfs[0][0]]
            return body
        raise StageFailure(f"archive holds no Word document or PDF (members: {', '.join(pkg.names[:5])})")

    def _collect(self, pkg: SafeZip, item, depth: int, words, pdfs, attachments, skipped) -> None:
        for name in sorted(pkg.names, key=natural_key):
            base = posixpath.basename(name)
            if not base or base.startswith(".") or name.startswith("__MACOSX/"):
                continue
            kind = sniff(pkg.head(name, 16))
            if kind == "zip":
                data = pkg.read(name)
                inner = SafeZip(data, pkg.limits, f"archive member {base!r}", pkg.budget)
                if inner.has("word/document.xml") or inner.has("[Content_Types].xml"):
                    words.append((name, "docx", data))
                elif depth + 1 > pkg.limits.max_depth:
                    raise StageFailure(f"archives nested deeper than {pkg.limits.max_depth} levels: {name!r}")
                else:
                    self._collect(inner, item, depth + 1, words, pdfs, attachments, skipped)
            elif kind in ("ole", "rtf"):
                words.append((name, "doc" if kind == "ole" else "rtf", pkg.read(name)))
            elif kind == "pdf":
                pdfs.append((name, pkg.read(name)))
            elif kind == "text" and self.options.attachments:
                text = decode_text(pkg.read(name))
                if text and text.strip():
                    attachments.append((name, text))
            else:
                skipped.append(Dropped("archive_member_skipped", f"{base}: {kind}", uri=f"{item.uri}#{name}"))

    # -- records ----------------------------------------------------------
    def _documents(self, item, body: _Body, attachments: List[Tuple[str, str]]) -> Iterator:
        opts = self.options
        result = body.result
        name_id = fn.from_filename(item.name)
        if body.fmt == "pdf":
            ident = body.pdf_identity
            fields, extra = spec_fields(None if ident.spec else name_id, ident.spec, ident.release, ident.title,
                                        release_from_path(item.uri))
            if ident.date:
                fields["date"] = ident.date
            extra["metadata_source"] = ident.source if ident.spec else extra["metadata_source"]
        else:
            cover_id, cover_rel, title = cover_identity(result.front_lines)
            fields, extra = spec_fields(name_id, cover_id, cover_rel, title, release_from_path(item.uri))
        assembled = assemble(result.blocks, opts.strip)
        counts: Counter = Counter(result.counts)
        counts.update(assembled.counts)
        counts["n_equations"] = counts["n_equations_inline"] + counts["n_equations_display"]
        extra.update({k: str(v) for k, v in sorted(counts.items()) if v or k in _ALWAYS})
        extra["source_format"] = body.fmt
        if body.fmt == "pdf":
            extra["glyphs_unmapped"] = str(counts["glyphs_unmapped"])
        extra["body_members"] = ",".join(body.members)
        if body.fmt == "pdf" and "page_count" in counts:
            fields["page_count"] = counts["page_count"]
        text = normalize_text(assembled.text, "3gpp")
        if not text.strip():
            yield Dropped("empty_document", "no text left after boilerplate removal", uri=item.uri)
            return
        pdf = body.fmt == "pdf"
        if opts.granularity in ("document", "both"):
            yield self.new_document(item, text, extra=dict(extra), **fields, **(_glyph_scores(text) if pdf else {}))
        if opts.granularity in ("clause", "both"):
            for rec in clause_records(assembled):
                clause_extra = dict(extra, clause_parent=rec["parent"], clause_depth=rec["depth"], granularity="clause")
                if rec["annex"] is not None:
                    clause_extra["annex_kind"] = rec["annex"] or "unstated"
                clause_text = normalize_text(rec["text"], "3gpp")
                yield self.new_document(item, clause_text, part=f"clause:{rec['part']}",
                                        clause_path=rec["path"] or None, clause_title=rec["title"], extra=clause_extra,
                                        **fields, **(_glyph_scores(clause_text) if pdf else {}))
        for name, code in attachments:
            ext = posixpath.splitext(name)[1].lower()
            lang = _ATTACHMENT_LANG.get(ext) or ("asn1" if "::=" in code and "DEFINITIONS" in code else "text")
            att_fields = dict(fields, title=f"{fields.get('title') or item.name}: {posixpath.basename(name)}")
            yield self.new_document(item, code, part=f"attachment:{name}", kind="code", code_language=lang,
                                    path=name, extra={"attachment_of": extra["body_members"], "source_format": "text"},
                                    **att_fields)
        for rule, detail, part in result.skipped_parts:  # e.g. an equation object left as a placeholder
            yield Dropped(rule, detail, uri=f"{item.uri}#{part}")


def _glyph_scores(text: str) -> Dict[str, Any]:
    """A PDF record's share of glyphs without Unicode (``scores.unmapped_char_share``, which the
    dedup policy can weigh against a Word rendering of the same version) and its flag."""
    from telecom_etl.extractors.pdfglyphs import FLAG_SHARE, unmapped_share

    share = unmapped_share(text)
    return {"scores": {"unmapped_char_share": share},
            "flags": ["unmapped_glyphs"] if share > FLAG_SHARE else []}


_ALWAYS = ("n_tables", "n_equations", "equation_placeholders", "n_clauses", "n_code_blocks")


def _merge(results: List[ReadResult], strip: Strip) -> ReadResult:
    """One body from a spec split into several files; later files' own cover pages dropped."""
    if len(results) == 1:
        return results[0]
    merged = ReadResult(front_lines=list(results[0].front_lines), counts=Counter(results[0].counts))
    merged.blocks = list(results[0].blocks)
    merged.core_title = results[0].core_title
    merged.skipped_parts = list(results[0].skipped_parts)
    for res in results[1:]:
        merged.counts.update(res.counts)
        merged.skipped_parts.extend(res.skipped_parts)
        blocks = res.blocks
        if strip.cover:
            first = next((i for i, b in enumerate(blocks) if b.kind == HEADING), len(blocks))
            merged.counts["removed_cover"] += first
            blocks = blocks[first:]
        merged.blocks.extend(blocks)
    return merged
