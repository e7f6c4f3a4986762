"""Typed spec metadata: the file name's identity cross-checked against the cover page.

The cover (``3GPP TS 38.331 V18.0.0 (2023-12)``, ``(Release 18)``, the ``ZT`` title lines)
wins where it disagrees with the file name; each disagreement is recorded in
``extra["metadata_conflicts"]`` so a wrongly named file is visible, not silently fixed.
A document without a cover (a third-party excerpt) degrades to the file name.
"""
from __future__ import annotations

import re
from typing import Dict, Iterable, List, Optional, Tuple

from telecom_etl.extractors.threegpp import filename as fn
from telecom_etl.extractors.threegpp.wg import working_group

_TITLE_SKIP = re.compile(r"^(?:3rd Generation Partnership Project|Technical Specification Group\b|"
                         r"Technical (?:Specification|Report)$|\(?Release\s+\d+\)?;?$)", re.I)


def cover_identity(lines: Iterable[Tuple[str, str]]) -> Tuple[Optional[fn.SpecId], Optional[int], Optional[str]]:
    """(identity, release, title) from the (style, text) lines before the first heading."""
    ident = rel = None
    title_lines: List[str] = []
    for style, text in lines:
        if ident is None:
            ident = fn.from_cover(text)
        if rel is None:
            m = fn.RELEASE.search(text)
            if m:
                rel = fn.release_number(m["rel"])
        if style.upper() == "ZT":
            for piece in text.split("\n"):
                piece = piece.strip()
                if piece and not _TITLE_SKIP.match(piece):
                    title_lines.append(piece)
    title = " ".join(title_lines).strip().rstrip(";").strip() or None
    if title:
        title = re.sub(r"\s*\(Release\s+\d+\)\s*$", "", title, flags=re.I).strip()
    return ident, rel, title


def spec_fields(name_id: Optional[fn.SpecId], cover_id: Optional[fn.SpecId], cover_release: Optional[int],
                title: Optional[str], path_release: Optional[int] = None) -> Tuple[Dict, Dict[str, str]]:
    """Document fields (spec_number, spec_type, ...) and extra entries from both sources."""
    extra: Dict[str, str] = {}
    conflicts: List[str] = []
    number = (cover_id or name_id).number if (cover_id or name_id) else None
    version = (cover_id.version if cover_id and cover_id.version else None) or (name_id.version if name_id else None)
    if cover_id and name_id:
        if cover_id.number != name_id.number:
            conflicts.append(f"number: file name {name_id.number}, cover {cover_id.number}")
        if cover_id.version and name_id.version and cover_id.version != name_id.version:
            conflicts.append(f"version: file name {name_id.version}, cover {cover_id.version}")
    release = cover_release or fn.release_of(version)
    if cover_release and version and fn.release_of(version) not in (None, cover_release):
        conflicts.append(f"release: version {version} says {fn.release_of(version)}, cover says {cover_release}")
    if path_release and release and path_release != release:
        conflicts.append(f"release: folder says Rel-{path_release}, document says {release}")
    spec_type = cover_id.spec_type if cover_id and cover_id.spec_type else None
    if spec_type is None and number:
        spec_type = fn.default_type(number)
        extra["spec_type_source"] = "number"
    extra["metadata_source"] = "cover" if cover_id else ("file_name" if name_id else "none")
    if name_id and name_id.version:
        extra["version_code"] = fn.encode_version(name_id.version)
    if conflicts:
        extra["metadata_conflicts"] = "; ".join(conflicts)
    if title is None and number:
        extra["title_source"] = "number"
        title = f"3GPP {spec_type} {number}"
    fields = dict(spec_number=number, spec_type=spec_type, spec_version=version, spec_release=release,
                  spec_series=number[:2] if number else None, working_group=working_group(number),
                  date=cover_id.date if cover_id else None, title=title)
    return fields, extra


_REL_DIR = re.compile(r"(?:^|/)Rel-(\d+)(?:/|$)", re.I)


def release_from_path(path: str) -> Optional[int]:
    """``Specs/2024-03/Rel-18/38_series/...`` -> 18 (snapshots are filed by release)."""
    m = _REL_DIR.search(path.replace("\\", "/"))
    return fn.release_number(m.group(1)) if m else None
