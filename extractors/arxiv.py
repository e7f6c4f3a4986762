"""The public arXiv metadata snapshot: select papers by category and license, attach metadata.

The snapshot (``arxiv-metadata-oai-snapshot.json``, one JSON object a line, several GB) has per
paper ``id``, ``title``, ``authors`` / ``authors_parsed``, ``abstract``, ``categories`` (space
separated), ``license`` (a URL or null), ``doi``, ``journal-ref``, ``versions`` and ``update_date``.
It is streamed once per source: only the records of the PDFs being processed are parsed (the id is
read from the start of each line first), so memory stays proportional to the PDFs, not to arXiv.

A license policy is a list of SPDX ids; arXiv's license URLs are mapped to SPDX ids by
:func:`license_spdx` (arXiv's own non-exclusive licence, which does not allow redistribution, is
``LicenseRef-arXiv-nonexclusive-distrib-1.0``; a record without a licence, as for papers before
2004, is ``LicenseRef-arXiv-unspecified``).
"""
from __future__ import annotations

import bz2
import gzip
import json
import os
import re
from dataclasses import dataclass
from typing import Dict, Iterable, Iterator, List, Optional, Sequence

from telecom_etl import io

# -- identifiers ------------------------------------------------------------------------------

# new style (2007-): YYMM.NNNN or YYMM.NNNNN; old style: archive[.SUBJ]/YYMMNNN
_NEW_ID = r"(?P<new>\d{4}\.\d{4,5})"
_OLD_ID = r"(?P<old>(?:[a-z]+(?:-[a-z]+)*)(?:\.[A-Z]{2})?/\d{7})"
ARXIV_IN_TEXT = re.compile(r"arXiv:\s?(?:" + _NEW_ID + "|" + _OLD_ID + r")(?:v\d+)?", re.I)
_NEW_IN_NAME = re.compile(r"(?<![\d.])(\d{4}\.\d{4,5})(?:v\d+)?(?![\d])")
_OLD_IN_NAME = re.compile(r"(?:^|[/\\_])([a-z]+(?:-[a-z]+)*)(?:\.[A-Z]{2})?[/_]?(\d{7})(?:v\d+)?(?:\.pdf)?$", re.I)
_OLD_ARCHIVES = frozenset(
    "acc-phys adap-org alg-geom ao-sci astro-ph atom-ph bayes-an chao-dyn chem-ph cmp-lg comp-gas cond-mat cs "
    "dg-ga funct-an gr-qc hep-ex hep-lat hep-ph hep-th math math-ph mtrl-th nlin nucl-ex nucl-th patt-sol "
    "physics plasm-ph q-alg q-bio quant-ph solv-int supr-con".split())


def normalize_arxiv_id(value: str) -> Optional[str]:
    """``2101.00001`` / ``hep-th/9901001`` from any spelling (``arXiv:2101.00001v2``, URLs), or None."""
    value = (value or "").strip()
    m = re.search(r"(\d{4}\.\d{4,5})(?:v\d+)?", value)
    if m and int(m.group(1)[2:4]) in range(1, 13):
        return m.group(1)
    m = re.search(r"([a-z]+(?:-[a-z]+)*)(?:\.[A-Z]{2})?/(\d{7})", value, re.I)
    if m and m.group(1).lower() in _OLD_ARCHIVES:
        return f"{m.group(1).lower()}/{m.group(2)}"
    return None


def arxiv_id_from_path(path: str) -> Optional[str]:
    """The arXiv id a PDF's file name or path carries (``2101.00001v2.pdf``, ``hep-th9901001.pdf``,
    ``.../hep-th/9901001v1.pdf``), or None."""
    name = os.path.basename(path)
    m = _NEW_IN_NAME.search(name)
    if m and 1 <= int(m.group(1)[2:4]) <= 12:
        return m.group(1)
    tail = "/".join(path.replace("\\", "/").split("/")[-2:])
    for candidate in (name, tail):
        m = _OLD_IN_NAME.search(candidate)
        if m and m.group(1).lower() in _OLD_ARCHIVES:
            return f"{m.group(1).lower()}/{m.group(2)}"
    return None


def arxiv_id_from_text(text: str) -> Optional[str]:
    """The first ``arXiv:...`` identifier in a text (the margin stamp of arXiv PDFs), or None."""
    m = ARXIV_IN_TEXT.search(text or "")
    if not m:
        return None
    return normalize_arxiv_id(m.group("new") or m.group("old"))


# -- licences ---------------------------------------------------------------------------------

ARXIV_NONEXCLUSIVE = "LicenseRef-arXiv-nonexclusive-distrib-1.0"
ARXIV_UNSPECIFIED = "LicenseRef-arXiv-unspecified"
PUBLIC_DOMAIN = "LicenseRef-public-domain"
_CC = re.compile(r"creativecommons\.org/licenses/(by(?:-nc)?(?:-sa|-nd)?)/(\d\.\d)", re.I)

#: every licence id a policy may name: the CC family arXiv offers, and the LicenseRefs above
KNOWN_LICENSES = frozenset(
    [f"CC-{kind}-{version}" for kind in ("BY", "BY-SA", "BY-NC", "BY-ND", "BY-NC-SA", "BY-NC-ND")
     for version in ("1.0", "2.0", "2.5", "3.0", "4.0")]
    + ["CC0-1.0", ARXIV_NONEXCLUSIVE, ARXIV_UNSPECIFIED, PUBLIC_DOMAIN])


def license_spdx(url: Optional[str]) -> str:
    """SPDX id of an arXiv licence URL (``http://creativecommons.org/licenses/by/4.0/`` -> ``CC-BY-4.0``)."""
    if not url or not url.strip():
        return ARXIV_UNSPECIFIED
    url = url.strip()
    m = _CC.search(url)
    if m:
        return f"CC-{m.group(1).upper()}-{m.group(2)}"
    if "publicdomain/zero" in url:
        return "CC0-1.0"
    if "creativecommons.org/licenses/publicdomain" in url or "publicdomain/mark" in url:
        return PUBLIC_DOMAIN
    if "arxiv.org/licenses/nonexclusive-distrib" in url:
        return ARXIV_NONEXCLUSIVE
    return "LicenseRef-" + re.sub(r"[^A-Za-z0-9.-]+", "-", url.split("://")[-1]).strip("-")


# -- records ----------------------------------------------------------------------------------

@dataclass
class ArxivRecord:
    """The fields of a snapshot record that a paper document carries."""

    arxiv_id: str
    title: str
    authors: List[str]
    categories: List[str]
    license: str  # SPDX id
    abstract: str = ""
    doi: Optional[str] = None
    date: Optional[str] = None  # first version's date, ISO
    journal_ref: Optional[str] = None
    comments: Optional[str] = None
    raw_license: Optional[str] = None

    @classmethod
    def from_json(cls, obj: dict) -> "ArxivRecord":
        authors = []
        for parts in obj.get("authors_parsed") or []:
            last, first = (parts + ["", ""])[:2]
            suffix = parts[2] if len(parts) > 2 else ""
            name = " ".join(p for p in (first.strip(), last.strip(), suffix.strip()) if p)
            if name:
                authors.append(name)
        if not authors and obj.get("authors"):
            authors = [a.strip() for a in re.split(r",\s*|\s+and\s+", obj["authors"]) if a.strip()]
        return cls(
            arxiv_id=normalize_arxiv_id(str(obj.get("id", ""))) or str(obj.get("id", "")),
            title=" ".join(str(obj.get("title") or "").split()),
            authors=authors,
            categories=str(obj.get("categories") or "").split(),
            license=license_spdx(obj.get("license")),
            abstract=" ".join(str(obj.get("abstract") or "").split()),
            doi=(obj.get("doi") or "").split()[0] if obj.get("doi") else None,
            date=_first_version_date(obj),
            journal_ref=obj.get("journal-ref") or None,
            comments=obj.get("comments") or None,
            raw_license=obj.get("license"),
        )


_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}


def _first_version_date(obj: dict) -> Optional[str]:
    """ISO date of v1 (``"Mon, 2 Apr 2007 19:18:42 GMT"``), else ``update_date``."""
    for version in obj.get("versions") or []:
        m = re.search(r"(\d{1,2}) ([A-Za-z]{3}) (\d{4})", str(version.get("created", "")))
        if m and m.group(2).lower() in _MONTHS:
            return f"{m.group(3)}-{_MONTHS[m.group(2).lower()]:02d}-{int(m.group(1)):02d}"
    update = str(obj.get("update_date") or "")
    return update if re.fullmatch(r"\d{4}-\d{2}-\d{2}", update) else None


# -- selection --------------------------------------------------------------------------------

@dataclass
class Selection:
    """Which papers a source takes: by category (any overlap; ``eess`` means every ``eess.*``)
    and by licence (SPDX ids). Empty lists select everything."""

    categories: Sequence[str] = ()
    licenses: Sequence[str] = ()

    def category_miss(self, categories: Sequence[str]) -> Optional[str]:
        """None when selected, else why not."""
        if not self.categories:
            return None
        for wanted in self.categories:
            for cat in categories:
                if cat == wanted or ("." not in wanted and cat.split(".")[0] == wanted):
                    return None
        return f"categories {' '.join(categories) or '(none)'} not in {', '.join(self.categories)}"

    def license_miss(self, license_id: Optional[str]) -> Optional[str]:
        if not self.licenses:
            return None
        if license_id in self.licenses:
            return None
        return f"license {license_id or 'unknown'} not in {', '.join(self.licenses)}"


# -- the snapshot -----------------------------------------------------------------------------

_LINE_ID = re.compile(rb'^\s*\{\s*"id"\s*:\s*"([^"]+)"')


def _open_text(path: str):
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head[:2] == b"\x1f\x8b":
        return gzip.open(path, "rb")
    if head[:3] == b"BZh":
        return bz2.open(path, "rb")
    return open(path, "rb")


def iter_snapshot(path: str, wanted: Optional[Iterable[str]] = None) -> Iterator[ArxivRecord]:
    """Records of the snapshot at ``path`` (plain, .gz or .bz2; local or any Beam filesystem);
    with ``wanted``, only those ids are parsed. Lines that are not JSON objects raise ValueError
    naming the line."""
    wanted_set = None if wanted is None else {normalize_arxiv_id(w) or w for w in wanted}
    with io.local_path(path) as local, _open_text(local) as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            if wanted_set is not None:
                m = _LINE_ID.match(line)
                if m and (normalize_arxiv_id(m.group(1).decode("utf-8", "replace")) or "") not in wanted_set:
                    continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: not a JSON line of the arXiv snapshot ({exc.msg})") from None
            if not isinstance(obj, dict) or "id" not in obj:
                raise ValueError(f"{path}:{number}: a snapshot line is an object with an 'id'")
            record = ArxivRecord.from_json(obj)
            if wanted_set is None or record.arxiv_id in wanted_set:
                yield record


def load_records(path: str, ids: Iterable[str]) -> Dict[str, ArxivRecord]:
    """The snapshot records of ``ids`` (one pass over the file)."""
    return {r.arxiv_id: r for r in iter_snapshot(path, wanted=ids)}
