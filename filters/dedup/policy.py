"""Which record of a duplicate cluster to keep: one deterministic ranking for every dedup stage.

Ranking (the smallest key is the representative):

1. records of an earlier build (incremental dedup): they are already published;
2. 3GPP specifications with a known version, newest version first (a later version
   supersedes earlier text, and the spec is the authoritative copy of text that papers
   and code quote);
3. the better rendering of the same document (:data:`FORMAT_PREFERENCE`, from
   ``extra["source_format"]``): a paper's LaTeX source over its PDF, a spec's Word file
   over the ETSI PDF of the same version (maths and tables survive in the source, a PDF's
   text layer loses them);
4. the higher quality score (``scores["quality"]``, else ``scores["relevance"]``);
5. the longer text;
6. the smallest id.

:func:`rank_string` encodes that key as a string that sorts the same way, so the
distributed connected-components step can use it directly as the node name: the
minimum node of a component is its representative.

Version grouping (stage ``dedup_version``): records of the same spec (and, with
``newest_per_release``, the same release) are one group; only the newest version's
records stay, whatever their text similarity, and of those only the best rendering's
(the Word records when the same version is also there as a PDF). The renderings of one
paper (same title: :func:`paper_key`) are a group too: its LaTeX source stays, its PDF goes.
A garbled rendering (:func:`is_garbled`: its records lost more than
:data:`~telecom_etl.extractors.pdfglyphs.FLAG_SHARE` of their characters as unmapped glyphs,
the threshold of the ``unmapped_glyphs`` flag) never supersedes a clean one of its group,
whatever the version: :func:`best_rendering` ranks clean renderings first, then the newest
version, then the format.
"""
from __future__ import annotations

import os
import re
import struct
import unicodedata
from typing import Iterable, List, Mapping, Optional, Tuple

from telecom_etl.extractors.pdfglyphs import FLAG_SHARE
from telecom_etl.record import Document

# 3GPP file names: 38211-i10 (V18.1.0, one base-36 character per field), 24229-083700 (V8.37.0),
# multi-part specs 38101-1-i10 (TS 38.101-1)
_SPEC_FILE = re.compile(r"(?<![0-9])(\d{2})(\d{2,3})((?:-\d{1,2})?)-([0-9a-z]{3}|\d{6})(?![0-9a-z])", re.IGNORECASE)
_SPEC_NUMBER = re.compile(r"(?<![0-9.])(\d{2})\s*\.\s*(\d{2,3})((?:-\d{1,2})?)(?![0-9])")
_VERSION = re.compile(r"(?<![0-9.])(\d{1,3}(?:\.\d{1,3}){1,3})(?![0-9])")


def version_tuple(version: Optional[str]) -> Tuple[int, ...]:
    """``"18.1.0"``, ``"V18.1.0"``, ``"18.1.0 (2024-03)"`` -> ``(18, 1, 0)``; unknown -> ``()``."""
    match = _VERSION.search(version or "")
    return tuple(int(x) for x in match.group(1).split(".")) if match else ()


def canonical_spec_number(number: Optional[str]) -> Optional[str]:
    """``"TS 38.101-1"``, ``"38 . 211"`` -> ``"38.101-1"``, ``"38.211"``; None when there is none."""
    match = _SPEC_NUMBER.search(number or "")
    return f"{match.group(1)}.{match.group(2)}{match.group(3)}" if match else None


def spec_from_filename(name: str) -> Tuple[Optional[str], Optional[str]]:
    """(spec number, version) from a 3GPP file name such as ``38211-i10.docx``, else (None, None)."""
    match = _SPEC_FILE.search(os.path.basename(name or ""))
    if not match:
        return None, None
    series, number, part, code = match.groups()
    code = code.lower()
    if len(code) == 6:
        fields = [int(code[i:i + 2]) for i in (0, 2, 4)]
    else:
        fields = [int(ch, 36) for ch in code]
    return f"{series}.{number}{part}", ".".join(str(f) for f in fields)


def spec_identity(doc: Document) -> Tuple[Optional[str], Tuple[int, ...]]:
    """(spec number, version tuple) of a 3GPP record: from its metadata, else from its file name."""
    if doc.kind != "3gpp":
        return None, ()
    number, version = canonical_spec_number(doc.spec_number), version_tuple(doc.spec_version)
    if not number or not version:
        name_number, name_version = spec_from_filename(doc.uri.rsplit("/", 1)[-1].split("!")[-1])
        if not version and name_version and number in (None, name_number):
            version = version_tuple(name_version)
        number = number or name_number
    return number, version


def paper_key(doc: Document) -> Optional[str]:
    """One paper's renderings share this key: its title, case, accents and punctuation folded
    (a LaTeX source and the PDF typeset from it carry the same title, while their texts differ
    too much for near-dedup: 5-gram Jaccard 0.27-0.63 on real templates and their PDFs).
    None for titles too short to name one paper."""
    if doc.kind != "paper" or not doc.title:
        return None
    title = doc.title.strip()
    if title.endswith(")") and "(" not in title:  # a footnote mark glued on, as typeset ("Linebreaka)")
        title = re.sub(r"[a-z*]\)$", "", title)
    title = title.rstrip("*\u2020\u2021\u00a7\u00b6\u2217\u22c6 ")
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii").lower()
    words = re.findall(r"[a-z0-9]+", folded)
    if len(words) < 4 or len("".join(words)) < 20:
        return None
    return " ".join(words)


def version_group(doc: Document, spec_policy: str) -> Optional[str]:
    """The group whose records compete on version and rendering (None: the record competes with
    no other): a 3GPP spec (per release with ``newest_per_release``), or one paper."""
    if spec_policy == "none":
        return None
    if doc.kind == "paper":
        key = paper_key(doc)
        return f"paper:{key}" if key else None
    number, version = spec_identity(doc)
    if not number or not version:
        return None
    # the whole spec competes: every record of the newest version stays (all its clauses or
    # Word files), every record of an older version goes, including clauses the newer one dropped
    group = number
    if spec_policy == "newest_per_release":
        group += f"@Rel-{version[0]}"
    return group


def link_tag(doc: Document, spec_policy: str) -> str:
    """Near-dedup never links two records whose tags are both set and differ.

    With ``newest_per_release`` two releases of one spec are both kept on purpose, so they
    must not end up as near-duplicates of each other; the tag is the spec and release.
    """
    if spec_policy != "newest_per_release":
        return ""
    number, version = spec_identity(doc)
    if not number or not version:
        return ""
    return f"{number}@{version[0]}"


def may_link(tag_a: str, tag_b: str) -> bool:
    if not tag_a or not tag_b:
        return True
    spec_a, _, rel_a = tag_a.partition("@")
    spec_b, _, rel_b = tag_b.partition("@")
    return spec_a != spec_b or rel_a == rel_b


#: renderings of one document, best first; a format not listed ranks after these and before
#: ``pdf``, whose text layer is the lossiest (maths glyphs, reading order)
FORMAT_PREFERENCE = ("latex", "docx", "doc", "rtf", "text")
_UNKNOWN_FORMAT = len(FORMAT_PREFERENCE)
_PDF_FORMAT = _UNKNOWN_FORMAT + 1


def source_format(doc: Document) -> str:
    return (doc.extra.get("source_format") or "").lower()


def format_rank(doc: Document) -> int:
    """0 for the most faithful rendering (a LaTeX source) up to :data:`_PDF_FORMAT`."""
    fmt = source_format(doc)
    if fmt == "pdf":
        return _PDF_FORMAT
    return FORMAT_PREFERENCE.index(fmt) if fmt in FORMAT_PREFERENCE else _UNKNOWN_FORMAT


def quality_of(doc: Document) -> float:
    value = doc.scores.get("quality", doc.scores.get("relevance", 0.0))
    return 0.0 if value != value else float(value)  # NaN ranks as 0


def rank_key(doc: Document, previous: bool = False):
    """Sort key: the smallest key is the representative."""
    _, version = spec_identity(doc)
    newest = tuple(-x for x in version)
    return (0 if previous else 1, 0 if version else 1, newest, format_rank(doc), -quality_of(doc), -len(doc.text),
            doc.id)


def _descending_float(value: float) -> str:
    """16 hex digits that sort ascending as ``value`` descends (IEEE-754 order trick)."""
    bits = struct.unpack(">Q", struct.pack(">d", -float(value)))[0]
    bits = bits ^ 0xFFFFFFFFFFFFFFFF if bits >> 63 else bits | (1 << 63)
    return f"{bits:016x}"


def rank_string(doc: Document, previous: bool = False) -> str:
    """:func:`rank_key` as a string with the same order, ending in ``|id``."""
    _, version = spec_identity(doc)
    fields = (list(version) + [0, 0, 0])[:3]
    newest = "".join(f"{9999 - min(max(f, 0), 9999):04d}" for f in fields)
    length = f"{10 ** 15 - min(len(doc.text), 10 ** 15 - 1):015d}"
    return (f"{0 if previous else 1}{0 if version else 1}{newest}{format_rank(doc)}"
            f"{_descending_float(quality_of(doc))}{length}|{doc.id}")


#: the flag of a record whose PDF text layer lost glyphs (set with ``scores["unmapped_char_share"]``)
GARBLED_FLAG = "unmapped_glyphs"

RenderingKey = Tuple[Tuple[int, ...], int]  # (version tuple, format rank)


def rendering_key(doc: Document) -> RenderingKey:
    """Which rendering of its version group a record belongs to: its version and its format."""
    return spec_identity(doc)[1], format_rank(doc)


def lost_glyphs(doc: Document) -> Tuple[int, int]:
    """(characters lost as unmapped glyphs, visible characters) of a record, from its
    ``scores["unmapped_char_share"]`` (a record flagged ``unmapped_glyphs`` without the score
    counts as wholly lost; a record with neither lost nothing)."""
    from telecom_etl.spill import visible_chars

    visible = visible_chars(doc.text)  # the text may be in a spill file by now (telecom_etl.spill)
    share = doc.scores.get("unmapped_char_share")
    if share is None or share != share:
        share = 1.0 if GARBLED_FLAG in doc.flags else 0.0
    return int(round(float(share) * visible)), visible


def is_garbled(lost: int, visible: int) -> bool:
    """A rendering whose records lost more than the ``unmapped_glyphs`` flag's share of their
    characters (in a one-record-per-document build: exactly when its record is flagged)."""
    return visible > 0 and lost > FLAG_SHARE * visible


def best_rendering(renderings: Mapping[RenderingKey, Tuple[int, int]]) -> RenderingKey:
    """The rendering whose records stay, of ``{rendering_key: (lost, visible)}`` summed over
    the records of one version group: a clean rendering before a garbled one whatever the
    version, then the newest version, then the better format."""
    return min(renderings, key=lambda key: (is_garbled(*renderings[key]), tuple(-v for v in key[0]), key[1]))


def id_of_rank(rank: str) -> str:
    return rank.split("|", 1)[1]


def choose(docs: Iterable[Document]) -> Tuple[Document, List[Document]]:
    """(representative, the others) of a cluster, deterministically."""
    ordered = sorted(docs, key=rank_key)
    return ordered[0], ordered[1:]
