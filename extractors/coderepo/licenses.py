"""The license of a code tree, as an SPDX id, from its LICENSE/COPYING files or file headers.

Detection reads the license texts a project ships (``LICENSE``, ``LICENSE.md``,
``COPYING``, ``COPYING.LESSER``, ``LICENSE-MIT`` ...) and recognises each by key phrases
of the license's own wording (like GitHub's licensee, without its corpus). Telecom stacks
are mostly copyleft, so the GPL family is told apart carefully:

* ``-or-later`` only when the project's notice grants "any later version" (the full GPL
  text carries that phrase in its "How to Apply" appendix, which does not count);
* ``COPYING`` (GPL-3.0) beside ``COPYING.LESSER`` (LGPL-3.0) is an LGPL project, as the
  LGPL v3 requires both texts to ship together;
* ``LICENSE-MIT`` + ``LICENSE-APACHE`` (the Rust convention) is a choice: ``Apache-2.0 OR MIT``;
  other combinations of different licenses are ``AND``.

Per-file ``SPDX-License-Identifier:`` headers are read by :func:`spdx_header`.
"""
from __future__ import annotations

import os
import re
from typing import Dict, Iterable, List, Optional, Tuple

_LICENSE_NAME = re.compile(
    r"^(un)?licen[cs]e([-._][\w.-]+)?$|^copying([-._][\w.-]+)?$|^copyright([-._][\w.-]+)?$|^notice(\.[\w]+)?$"
    r"|^patents(\.[\w]+)?$|^legal(\.[\w]+)?$|^mit-license(\.[\w]+)?$",
    re.I)


def is_license_file(name: str) -> bool:
    """True for LICENSE, LICENCE.md, COPYING.LESSER, LICENSE-APACHE, NOTICE, UNLICENSE, ..."""
    return bool(_LICENSE_NAME.match(name))


def _norm(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"')
    text = re.sub(r"[*#>\-=_`|]+", " ", text)  # markdown decoration, comment frames
    return re.sub(r"\s+", " ", text).strip()


_GNU_NAMES = (("AGPL", "gnu affero general public license"), ("LGPL", "gnu lesser general public license"),
              ("LGPL", "gnu library general public license"), ("GPL", "gnu general public license"))


def _gnu(text: str) -> Optional[Tuple[int, str]]:
    """GPL/LGPL/AGPL id with -only/-or-later, from a normalised text, or None.

    The license named first decides (the GPL v3 text itself mentions the Affero and
    Lesser licenses further down); its version is the first one named after it.
    """
    hits = [(text.find(name), family) for family, name in _GNU_NAMES if name in text]
    if not hits:
        return None
    pos, family = min(hits)
    m = re.search(r"\bversion (\d)(\.\d)?\b", text[pos:pos + 400])
    if not m:
        return None
    version = m.group(1) + (m.group(2) or ".0")
    if family == "LGPL" and version == "2.0" and "lesser" in text[pos:pos + 40]:
        version = "2.1"
    if (family, version) not in (("GPL", "2.0"), ("GPL", "3.0"), ("LGPL", "2.0"), ("LGPL", "2.1"),
                                 ("LGPL", "3.0"), ("AGPL", "3.0"), ("GPL", "1.0")):
        return None
    # the project's notice only: cut the license's own "How to Apply" appendix
    notice = text.split("how to apply these terms", 1)[0].split("end of terms and conditions", 1)[0]
    later = re.search(r"version " + re.escape(m.group(1)) + r"(\.\d)?,? (of the license,? )?or \(?at your option\)? any later version",
                      notice)
    return pos, f"{family}-{version}-{'or-later' if later else 'only'}"


# (SPDX id, phrases that must all appear in the normalised text). The match whose first
# phrase comes earliest wins; on a tie the earlier entry (the more specific license).
_PHRASES: List[Tuple[str, Tuple[str, ...]]] = [
    ("MPL-2.0", ("mozilla public license", "2.0")),
    ("MPL-1.1", ("mozilla public license", "1.1")),
    ("EPL-2.0", ("eclipse public license", "2.0")),
    ("EPL-1.0", ("eclipse public license", "1.0")),
    ("EUPL-1.2", ("european union public licence", "1.2")),
    ("Apache-2.0", ("apache license", "version 2.0")),
    ("Apache-2.0", ("licensed under the apache license, version 2.0",)),
    ("CDDL-1.0", ("common development and distribution license",)),
    ("GFDL-1.3-only", ("gnu free documentation license", "version 1.3")),
    ("GFDL-1.2-only", ("gnu free documentation license", "version 1.2")),
    ("LicenseRef-OAI-PL-1.1", ("openairinterface", "public license", "1.1")),
    ("LicenseRef-OAI-PL-1.0", ("openairinterface", "public license")),
    ("BSL-1.0", ("boost software license",)),
    ("Apache-1.1", ("apache software license", "version 1.1")),
    ("NCSA", ("university of illinois/ncsa open source license",)),
    ("X11", ("permission is hereby granted, free of charge", "x consortium")),
    ("MIT-CMU", ("by obtaining, using, and/or copying this software and/or its associated documentation",)),
    ("Artistic-2.0", ("artistic license 2.0",)),
    ("Unlicense", ("this is free and unencumbered software released into the public domain",)),
    ("CC0-1.0", ("cc0 1.0 universal",)),
    ("CC-BY-SA-4.0", ("attribution sharealike 4.0 international",)),
    ("CC-BY-4.0", ("attribution 4.0 international",)),
    ("WTFPL", ("do what the fuck you want to public license",)),
    ("Zlib", ("this software is provided 'as is', without any express or implied warranty",
              "altered source versions must be plainly marked as such")),
    ("PSF-2.0", ("python software foundation", "license agreement")),
    ("ISC", ("permission to use, copy, modify, and/or distribute this software for any purpose",)),
    ("ISC", ("permission to use, copy, modify, and distribute this software for any purpose with or without fee",)),
    ("MIT", ("permission is hereby granted, free of charge, to any person obtaining a copy",)),
    ("BSD-4-Clause", ("redistribution and use in source and binary forms", "all advertising materials mentioning")),
    ("BSD-3-Clause", ("redistribution and use in source and binary forms",
                      "may be used to endorse or promote products derived from this software")),
    ("BSD-2-Clause", ("redistribution and use in source and binary forms",
                      "redistributions in binary form must reproduce")),
]


def identify(text: str, short_statements: bool = True) -> Optional[str]:
    """SPDX id of one license text (or a license notice), or None when unrecognised.

    ``short_statements`` also accepts bare one-liners ("MIT License", "GPLv2"), which
    fit a LICENSE file but not a comment of a source file.
    """
    t = _norm(text)
    if not t:
        return None
    if t.startswith("spdx license identifier") or "spdx license identifier:" in t[:200]:
        found = spdx_header(text)
        if found:
            return found
    # a file may hold several license texts (a project's own, then bundled third-party
    # ones; the MPL and GPL v3 texts name other licenses too): the one it opens with wins
    best: Optional[Tuple[int, str]] = None
    for spdx, phrases in _PHRASES:
        if all(p in t for p in phrases):
            if spdx == "ISC" and "copyright notice and this permission notice appear" not in t:
                spdx = "0BSD"
            if spdx == "MIT" and "mit no attribution" in t:
                spdx = "MIT-0"  # the MIT grant without its attribution condition
            cand = (t.find(phrases[0]), spdx)
            best = cand if best is None or cand[0] < best[0] else best
    gnu = _gnu(t)
    if gnu and (best is None or gnu[0] < best[0]):
        best = gnu
    if best is not None:
        return best[1]
    if not short_statements:
        return None
    # bare one-line statements: "MIT License", "Licensed under GPLv2"
    short = t[:300]
    for pattern, spdx in ((r"\bmit license\b", "MIT"), (r"\bapache[- ]2(\.0)?\b", "Apache-2.0"),
                          (r"\bagplv?3|\baffero gpl[- ]?(v|version )?3", "AGPL-3.0-only"),
                          (r"\bgplv?3\+|gpl[- ]3\.0[- ]or[- ]later", "GPL-3.0-or-later"),
                          (r"\bgplv?2\+|gpl[- ]2\.0[- ]or[- ]later", "GPL-2.0-or-later"),
                          (r"\bgplv3\b|gpl[- ]3\.0\b", "GPL-3.0-only"), (r"\bgplv2\b|gpl[- ]2\.0\b", "GPL-2.0-only"),
                          (r"\bbsd 3 clause\b|\bnew bsd\b", "BSD-3-Clause"), (r"\bbsd 2 clause\b|\bsimplified bsd\b", "BSD-2-Clause")):
        if len(t) < 300 and re.search(pattern, short):
            return spdx
    return None


_SPDX_LINE = re.compile(r"SPDX-License-Identifier:\s*([^\n*]+?)\s*(?:\*/|-->|\"\"\"|'''|$)", re.M)
_SPDX_TOKEN = re.compile(r"^[A-Za-z0-9.+\-]+$|^\($|^\)$")


def spdx_header(text: str, max_lines: int = 30) -> Optional[str]:
    """The license expression of a ``SPDX-License-Identifier:`` line near the top, if any."""
    head = "\n".join(text.split("\n", max_lines)[:max_lines])
    m = _SPDX_LINE.search(head)
    if not m:
        return None
    expr = m.group(1).strip().rstrip(";,.")
    tokens = expr.replace("(", " ( ").replace(")", " ) ").split()
    if not tokens or not all(_SPDX_TOKEN.match(tok) for tok in tokens):
        return None
    return " ".join(tokens).replace("( ", "(").replace(" )", ")")


def header_notice(text: str, max_lines: int = 40) -> Optional[str]:
    """The license a source file's header comment grants ("... under the terms of the GNU
    Lesser General Public License ... version 2.1 ... or any later version"), if any."""
    head = "\n".join(text.split("\n", max_lines)[:max_lines])
    if "licen" not in head.lower():
        return None
    return identify(head, short_statements=False)


def _choice_group(name: str) -> bool:
    """LICENSE-MIT, LICENSE-APACHE, LICENSE.MIT: several of these offer a choice (Rust convention)."""
    return bool(re.match(r"^licen[cs]e[-.](mit|apache|apache-2\.0|bsd|zlib|unlicense|boost)", name, re.I))


def combine(found: Dict[str, str]) -> Optional[str]:
    """One expression from {file name: SPDX id} of the license files of one directory."""
    ids = sorted(set(found.values()))
    if not ids:
        return None
    if len(ids) == 1:
        return ids[0]
    lesser = [i for i in ids if i.startswith("LGPL-")]
    if lesser:  # COPYING (GPL) + COPYING.LESSER (LGPL): an LGPL project
        rest = [i for i in ids if not i.startswith(("GPL-", "LGPL-"))]
        ids = sorted(set(lesser)) + rest
        if len(ids) == 1:
            return ids[0]
    # LICENSE-MIT + LICENSE-APACHE offer a choice; any other license file adds terms
    choice = sorted({i for n, i in found.items() if i in ids and _choice_group(n)})
    rest = [i for i in ids if i not in choice]
    if len(choice) < 2:
        return " AND ".join(ids)
    if not rest:
        return " OR ".join(choice)
    return " AND ".join([f"({' OR '.join(choice)})"] + rest)


def license_files(folder: str) -> List[str]:
    """License file names in ``folder`` (regular files only, sorted)."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    return [n for n in names if is_license_file(n) and os.path.isfile(os.path.join(folder, n))
            and not os.path.islink(os.path.join(folder, n))]


def read_small(path: str, limit: int = 256 * 1024) -> str:
    with open(path, "rb") as fh:
        return fh.read(limit).decode("utf-8", errors="replace")


def detect_in_folder(folder: str) -> Tuple[Optional[str], Dict[str, str]]:
    """(expression, {file: id}) for the license files of one folder."""
    found = {}
    for name in license_files(folder):
        if name.lower().startswith(("notice", "patents", "copyright", "legal")):
            continue  # attribution notices, not grants
        try:
            spdx = identify(read_small(os.path.join(folder, name)))
        except OSError:
            continue
        if spdx:
            found[name] = spdx
    return combine(found), found


def _owning_dist_infos(folder: str) -> List[str]:
    """``*.dist-info`` folders of the installed distribution that owns package ``folder``."""
    parent, name = os.path.split(folder.rstrip(os.sep))
    try:
        infos = sorted(n for n in os.listdir(parent) if n.endswith(".dist-info"))
    except OSError:
        return []
    norm = re.sub(r"[-_.]+", "_", name).lower() + "-"
    named = [n for n in infos if n.lower().startswith(norm)]
    if named:
        return [os.path.join(parent, n) for n in named]
    for info in infos:  # import name differs from the distribution name (yaml: PyYAML)
        try:
            with open(os.path.join(parent, info, "RECORD"), encoding="utf-8", errors="replace") as fh:
                if any(line.startswith(name + "/") for line in fh):
                    return [os.path.join(parent, info)]
        except OSError:
            continue
    return []


def _dist_info_license(folder: str) -> Optional[str]:
    """An installed Python package: its ``*.dist-info`` names the license."""
    for info in _owning_dist_infos(folder):
        try:
            head = read_small(os.path.join(info, "METADATA"), 64 * 1024).split("\n\n", 1)[0]
        except OSError:
            head = ""
        m = re.search(r"^License-Expression:\s*(.+)$", head, re.M)
        if m:
            return m.group(1).strip()
        for where in (os.path.join(info, "licenses"), info):
            expr = detect_in_folder(where)[0] if os.path.isdir(where) else None
            if expr:
                return expr
        m = re.search(r"^License:\s*(.+)$", head, re.M)  # free text: "Apache License, Version 2.0"
        expr = identify(m.group(1)) if m else None
        if expr:
            return expr
        found = sorted({_CLASSIFIERS[c] for c in re.findall(r"^Classifier: License :: OSI Approved :: (.+?)\s*$", head, re.M)
                        if c in _CLASSIFIERS})
        if found:
            return " OR ".join(found)
    return None


_CLASSIFIERS = {
    "Apache Software License": "Apache-2.0", "MIT License": "MIT", "BSD License": "BSD-3-Clause",
    "ISC License (ISCL)": "ISC", "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "GNU General Public License v2 (GPLv2)": "GPL-2.0-only", "GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
    "GNU General Public License v2 or later (GPLv2+)": "GPL-2.0-or-later",
    "GNU General Public License v3 or later (GPLv3+)": "GPL-3.0-or-later",
    "GNU Lesser General Public License v2 or later (LGPLv2+)": "LGPL-2.1-or-later",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "GNU Affero General Public License v3": "AGPL-3.0-only", "Python Software Foundation License": "PSF-2.0",
}


def detect_license(root: str, stop_at: Optional[str] = None) -> Tuple[Optional[str], str]:
    """(SPDX expression, where it came from) for a code tree rooted at ``root``.

    Looks in ``root``, then in its parents up to ``stop_at`` (the git top level when the
    tree is a sub-folder of a checkout), then beside an installed Python package.
    """
    folder = os.path.abspath(root)
    stop = os.path.abspath(stop_at) if stop_at else folder
    while True:
        expr, found = detect_in_folder(folder)
        if expr:
            rel = os.path.relpath(folder, root)
            files = ",".join(sorted(found))
            return expr, (files if rel == "." else os.path.join(rel, files))
        if folder == stop or not folder.startswith(stop) or os.path.dirname(folder) == folder:
            break
        folder = os.path.dirname(folder)
    expr = _dist_info_license(root)
    if expr:
        return expr, "dist-info"
    return None, ""


def expression_ids(expr: str) -> Iterable[str]:
    return [t for t in re.split(r"[\s()]+", expr) if t and t.upper() not in ("AND", "OR", "WITH")]
