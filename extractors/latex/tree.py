"""A LaTeX source tree read safely: a folder, a gzipped tar (an arXiv e-print), a single
gzipped ``.tex`` or a plain ``.tex``; the type comes from the bytes, never the extension.

Everything later reads the tree's files from memory (:class:`SourceTree`), so nothing outside
the tree can be read: members whose path leaves the tree fail the input, symlinks and hard
links (in a folder or a tar) are skipped and counted, and the unpacked size, the member count
and the gzip expansion are bounded (a bomb is one failure with its reason).
"""
from __future__ import annotations

import io as _io
import os
import posixpath
import tarfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, Optional

from telecom_etl.outcome import StageFailure

GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class TreeLimits:
    max_unpacked_mb: float = 256.0  # all files of one source, unpacked
    max_members: int = 5000

    @property
    def max_bytes(self) -> int:
        return int(self.max_unpacked_mb * 1024 * 1024)


@dataclass
class SourceTree:
    """The files of one LaTeX source (posix paths relative to the tree root -> bytes)."""

    files: Dict[str, bytes]
    origin: str  # folder | tar | gzip | tex
    main: Optional[str] = None  # the main file when the caller knows it
    counts: Counter = field(default_factory=Counter)  # skipped members by reason


def is_tar(data: bytes) -> bool:
    return len(data) > 262 and data[257:262] == b"ustar"


def gunzip(data: bytes, limit: int, what: str = "gzip stream") -> bytes:
    """Decompress every member of a gzip stream, stopping past ``limit`` bytes (a bomb fails)."""
    out = bytearray()
    rest = data
    while rest.startswith(GZIP_MAGIC):
        dec = zlib.decompressobj(16 + zlib.MAX_WBITS)
        pending = rest
        try:
            while True:
                out += dec.decompress(pending, limit + 1 - len(out))
                if len(out) > limit:
                    raise StageFailure(f"{what} unpacks to more than {limit / (1024 * 1024):g} MB (gzip bomb?)")
                if dec.eof:
                    break
                pending = dec.unconsumed_tail
                if not pending:
                    raise StageFailure(f"truncated {what}")
        except zlib.error as exc:
            raise StageFailure(f"corrupt {what}: {exc}") from None
        rest = dec.unused_data.lstrip(b"\x00")  # trailing garbage after the last member is ignored, as by gzip(1)
    return bytes(out)


def _clean_member(name: str) -> Optional[str]:
    """The member's path inside the tree, or None when it would leave the tree."""
    name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    norm = posixpath.normpath(name)
    if norm == ".":
        return ""
    if norm.startswith("../") or norm == "..":
        return None
    return norm


def from_tar(data: bytes, limits: TreeLimits) -> SourceTree:
    tree = SourceTree({}, "tar")
    total = 0
    try:
        with tarfile.open(fileobj=_io.BytesIO(data), mode="r:") as tar:
            for n, member in enumerate(tar):
                if n >= limits.max_members:
                    raise StageFailure(f"tar has more than {limits.max_members} members")
                path = _clean_member(member.name)
                if path is None:
                    raise StageFailure(f"tar member {member.name!r} escapes the source tree")
                if member.issym() or member.islnk():
                    tree.counts["skipped_links"] += 1
                    continue
                if not member.isfile():
                    continue
                total += member.size
                if total > limits.max_bytes:
                    raise StageFailure(f"tar unpacks to more than {limits.max_unpacked_mb:g} MB (tar bomb?)")
                fh = tar.extractfile(member)
                tree.files[path] = fh.read() if fh is not None else b""
    except tarfile.TarError as exc:
        raise StageFailure(f"corrupt tar: {exc}") from None
    return tree


def from_bytes(data: bytes, name: str, limits: TreeLimits) -> SourceTree:
    """The tree of a file's bytes: gzip (of a tar or of one .tex), tar, or one .tex."""
    origin = "tex"
    if data.startswith(GZIP_MAGIC):
        data = gunzip(data, limits.max_bytes)
        origin = "gzip"
    if is_tar(data):
        tree = from_tar(data, limits)
        tree.origin = "tar" if origin == "tex" else "tar.gz"
        return tree
    base = posixpath.basename(name.replace("\\", "/")) or "main.tex"
    for suffix in (".gz", ".GZ"):
        if origin == "gzip" and base.endswith(suffix):
            base = base[: -len(suffix)]
    return SourceTree({base: data}, origin, main=base)


def from_folder(root: str, main: str, limits: TreeLimits) -> SourceTree:
    """The regular files under ``root``; symlinks are never followed (counted)."""
    tree = SourceTree({}, "folder", main=main)
    total = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for d in list(dirnames):
            if os.path.islink(os.path.join(dirpath, d)):
                tree.counts["skipped_links"] += 1
        dirnames[:] = sorted(d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))
                             and d not in (".git", ".hg", ".svn"))
        for fname in sorted(filenames):
            path = os.path.join(dirpath, fname)
            if os.path.islink(path):
                tree.counts["skipped_links"] += 1
                continue
            if not os.path.isfile(path):
                continue
            if len(tree.files) >= limits.max_members:
                raise StageFailure(f"source folder has more than {limits.max_members} files")
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            size = os.path.getsize(path)
            # figures and data are not needed to convert the text; only their names are
            if size > 4 * 1024 * 1024 and not rel.endswith((".tex", ".bbl", ".sty", ".cls")):
                tree.files[rel] = b""
                continue
            total += size
            if total > limits.max_bytes:
                raise StageFailure(f"source folder holds more than {limits.max_unpacked_mb:g} MB")
            with open(path, "rb") as fh:
                tree.files[rel] = fh.read(limits.max_bytes + 1)
    return tree
