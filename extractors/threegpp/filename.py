"""Spec identity from names and cover lines.

3GPP file names are ``<spec>-<ver>``: ``38211-i10`` is TS 38.211 V18.1.0 (one base-36
character per version field, ``a`` = 10 ... ``z`` = 35) and a few old specs use six
decimal digits (``24229-083700`` is V8.37.0). Multi-part specs carry the part:
``36521-1-i00`` is 36.521-1. The cover line of the document says the same thing in words
(``3GPP TS 38.211 V18.1.0 (2023-12)``) and wins where the two disagree.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"

# 38211-i10, 36521-1-i00, 24229-083700, 21905-800; optional suffixes (_s00-s07, _ASN1, -cover)
_NAME = re.compile(r"^(?P<series>\d{2})(?P<num>\d{3})(?:-(?P<part>\d{1,2}))?-(?P<ver>\d{6}|[0-9a-z]{3})(?![0-9a-z])",
                   re.IGNORECASE)
# ETSI deliverable number in names and metadata: "TS 138 201", "ts_13852101" (ETSI file names)
_ETSI = re.compile(r"\b(?P<type>TS|TR)[\s_]*1(?P<series>\d{2})[\s_]?(?P<num>\d{3})(?:-(?P<part>\d{1,2}))?"
                   r"(?:[\s_\-]+V?(?P<ver>\d+\.\d+\.\d+))?", re.IGNORECASE)
# cover line: "3GPP TS 38.211 V18.1.0 (2023-12)", "3GPP TR 21.905 V17.2.0 (2022-03)"
COVER = re.compile(r"3GPP\s+(?P<type>TS|TR)\s+(?P<number>\d{2}\.\d{3}(?:-\d{1,2})?)\s+V\s?(?P<ver>\d+\.\d+\.\d+)"
                   r"(?:\s*\((?P<date>\d{4}-\d{2})\))?", re.IGNORECASE)
# ETSI cover: "(3GPP TS 38.201 version 19.0.0 Release 19)"
ETSI_3GPP = re.compile(r"3GPP\s+(?P<type>TS|TR)\s+(?P<number>\d{2}\.\d{3}(?:-\d{1,2})?)\s+version\s+"
                       r"(?P<ver>\d+\.\d+\.\d+)(?:\s+Release\s+(?P<rel>\d+))?", re.IGNORECASE)
RELEASE = re.compile(r"\(\s*Release\s+(?P<rel>\d+)\s*\)", re.IGNORECASE)


@dataclass(frozen=True)
class SpecId:
    number: str  # "38.211", "36.521-1"
    version: Optional[str] = None  # "18.1.0"
    spec_type: Optional[str] = None  # "TS" / "TR"
    date: Optional[str] = None  # "2023-12"

    @property
    def series(self) -> str:
        return self.number[:2]

    @property
    def release(self) -> Optional[int]:
        return release_of(self.version)


def release_of(version: Optional[str]) -> Optional[int]:
    """Release of a version: its major number from Rel-4 on; V3.x.y is Release 1999 (99)."""
    if not version:
        return None
    major = int(version.split(".")[0])
    if major >= 4:
        return major
    return 99 if major == 3 else None


def release_number(text: str) -> Optional[int]:
    """``Release 18`` -> 18, ``Release 1999`` -> 99 (how 3GPP numbers R99 in versions)."""
    rel = int(text)
    return 99 if rel == 1999 else rel


def decode_version(code: str) -> Optional[str]:
    """``i10`` -> ``18.1.0``; ``083700`` -> ``8.37.0``; None when it is neither form."""
    code = code.lower()
    if len(code) == 6 and code.isdigit():
        return f"{int(code[:2])}.{int(code[2:4])}.{int(code[4:])}"
    if len(code) == 3 and all(c in _B36 for c in code):
        return ".".join(str(_B36.index(c)) for c in code)
    return None


def encode_version(version: str) -> str:
    """``18.1.0`` -> ``i10`` (six digits when a field is over 35)."""
    fields = [int(x) for x in version.split(".")]
    if all(f < 36 for f in fields):
        return "".join(_B36[f] for f in fields)
    return "".join(f"{f:02d}" for f in fields)


def default_type(number: str) -> str:
    """TS or TR from the number alone: xx.8xx and xx.9xx are Technical Reports."""
    return "TR" if number[3] in "89" else "TS"


def from_filename(name: str) -> Optional[SpecId]:
    """Spec number and version from a 3GPP file name (``38211-i10.zip``, ``36521-1-i00.docx``)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    m = _NAME.match(base)
    if not m:
        return None
    version = decode_version(m["ver"])
    if version is None:
        return None
    number = f"{m['series']}.{m['num']}" + (f"-{m['part']}" if m["part"] else "")
    return SpecId(number, version)


def from_etsi(text: str) -> Optional[SpecId]:
    """3GPP identity of an ETSI deliverable: ``ETSI TS 138 201 V19.0.0`` -> TS 38.201 V19.0.0."""
    m = _ETSI.search(text or "")
    if not m:
        return None
    number = f"{m['series']}.{m['num']}" + (f"-{m['part']}" if m["part"] else "")
    return SpecId(number, m["ver"], m["type"].upper())


def from_cover(text: str) -> Optional[SpecId]:
    """Identity from a cover line (``3GPP TS 38.211 V18.1.0 (2023-12)``) or an ETSI cover."""
    m = COVER.search(text)
    if m:
        return SpecId(m["number"], m["ver"], m["type"].upper(), m["date"])
    m = ETSI_3GPP.search(text)
    if m:
        return SpecId(m["number"], m["ver"], m["type"].upper())
    return None
