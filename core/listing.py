"""Listing local inputs without leaving the source root: every entry is a file to read or one counted drop.

A manifest path (a folder, a file or a glob) becomes regular files to read and
:class:`~telecom_etl.outcome.Dropped` outcomes for what is not read. A symbolic link is
never followed, whether it names a file or a folder (a folder link could loop, or lead
out of the root, or to ``..``): a link leaving the root is ``symlink_outside_root``,
one pointing at an ancestor folder or at itself ``symlink_loop``, a dangling one
``symlink_broken``, one to something inside the root ``symlink_duplicate`` (the target
is read where it lives). FIFOs, sockets and devices are ``special_file`` (opening a FIFO
would wait for a writer); a name that is not valid UTF-8 is ``bad_file_name`` with the
bytes shown as ``\\xNN`` (records and Parquet need valid UTF-8). Globs walk the folder
before the first wildcard this way, so ``**`` always finishes.

The path the user wrote in the manifest is trusted: a root folder or an explicitly named
file may itself be a link (a mount point, a shared corpus); what is found under it may not.
"""
from __future__ import annotations

import errno
import os
import re
import stat
from typing import Iterator, Optional, Pattern, Union

from telecom_etl.outcome import Dropped

#: Version-control metadata: not part of a tree's content, never walked.
VCS_DIRS = frozenset({".git", ".hg", ".svn", ".bzr", "CVS", "_darcs", ".repo"})
SPECIAL = "not a regular file (device, FIFO or socket)"

Listed = Union[str, Dropped]


def is_vcs_metadata(entry: os.DirEntry) -> bool:
    """A version-control folder, or the ``.git`` file of a worktree or submodule (``gitdir: ...``)."""
    if entry.name not in VCS_DIRS or entry.is_symlink():
        return False
    return entry.is_dir(follow_symlinks=False) or entry.name == ".git"


def utf8_name(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes arrive as lone surrogates
        return False
    return True


def printable(path: str) -> str:
    """A path with undecodable bytes shown as \\xNN (valid UTF-8 for records and reports)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def relpath(path: str, root: str) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def shown_target(link: str) -> str:
    """A link's target as a drop's detail shows it: as written when relative; an absolute one by
    its last name only (``absolute path .../passwd``): no path of this machine in the output, and
    the same detail wherever the corpus sits."""
    if not os.path.isabs(link):
        return link
    return f"absolute path .../{os.path.basename(os.path.normpath(link))}"


def symlink_outcome(local: str, real_root: str) -> Dropped:
    """The counted drop for the symbolic link ``local`` found under ``real_root`` (a realpath)."""
    try:
        link = os.readlink(local)
    except OSError:  # removed while listing
        return Dropped("file_vanished", "removed while listing", uri=printable(local))
    link = printable(shown_target(link))
    uri = printable(local)
    try:
        target_stat = os.stat(local)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Dropped("symlink_loop", "symbolic link loop", uri=uri)
        return Dropped("symlink_broken", f"link target missing: {link}", uri=uri)
    target = os.path.realpath(local)
    if not within(target, real_root):
        return Dropped("symlink_outside_root", f"link leaves the source root (-> {link})", uri=uri)
    here = os.path.realpath(os.path.dirname(local))
    if stat.S_ISDIR(target_stat.st_mode) and within(here, target):
        return Dropped("symlink_loop", f"link to its own ancestor folder {relpath(target, real_root) or '.'}", uri=uri)
    return Dropped("symlink_duplicate", f"link to {relpath(target, real_root)} (read there)", uri=uri)


def walk(root: str, real_root: Optional[str] = None) -> Iterator[Listed]:
    """Regular files under ``root`` (sorted, depth first) and a drop for everything else."""
    real_root = real_root or os.path.realpath(root)
    try:
        with os.scandir(root) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        yield Dropped("unreadable_dir", f"cannot list folder: {exc.strerror or exc}", uri=printable(root))
        return
    for entry in entries:
        what, info = classify(entry)
        if what == "link":
            yield symlink_outcome(entry.path, real_root)
        elif what == "dir":
            yield from walk(entry.path, real_root)
        elif what == "file":
            yield entry.path
        elif what == "drop":
            yield info


def classify(entry: os.DirEntry):
    """What a folder entry is, without following it: ``("skip", None)`` for version-control
    metadata, ``("drop", Dropped)``, ``("link", None)``, ``("dir", stat)`` or ``("file", stat)``."""
    if is_vcs_metadata(entry):
        return "skip", None
    if not utf8_name(entry.name):
        # records and Parquet need valid UTF-8 paths; such a name is one counted drop
        return "drop", Dropped("bad_file_name", "file name is not valid UTF-8", uri=printable(entry.path))
    if entry.is_symlink():
        return "link", None
    try:
        st = entry.stat(follow_symlinks=False)
    except FileNotFoundError:
        return "drop", Dropped("file_vanished", "removed while listing", uri=entry.path)
    if stat.S_ISDIR(st.st_mode):
        return "dir", st
    if stat.S_ISREG(st.st_mode):
        return "file", st
    return "drop", Dropped("special_file", SPECIAL, uri=entry.path)


def one_file(path: str) -> Listed:
    """A file the manifest names itself (it may be a link: the user chose it)."""
    if not utf8_name(path):
        return Dropped("bad_file_name", "file name is not valid UTF-8", uri=printable(path))
    try:
        st = os.stat(path)
    except OSError as exc:
        if os.path.islink(path):
            return symlink_outcome(path, os.path.realpath(os.path.dirname(path)))
        return Dropped("file_vanished", f"cannot stat: {exc.strerror or exc}", uri=path)
    if not stat.S_ISREG(st.st_mode):
        return Dropped("special_file", SPECIAL, uri=path)
    return path


def list_path(path: str) -> Iterator[Listed]:
    """Everything a local manifest path (folder, file or glob) names, never leaving its root."""
    if os.path.isdir(path):
        yield from walk(path)
        return
    if not any(c in path for c in "*?["):
        if os.path.lexists(path):
            yield one_file(path)
        return
    parts = os.path.abspath(path).split(os.sep)
    first = next(i for i, p in enumerate(parts) if any(c in p for c in "*?["))
    root = os.sep.join(parts[:first]) or os.sep
    if not os.path.isdir(root):
        return
    pattern = parts[first:]
    wanted = glob_regex("/".join(pattern), anchored=True)
    for out in walk(root):
        uri = out.uri if isinstance(out, Dropped) else out
        rel = relpath(uri, root)
        if wanted.match(rel) or (isinstance(out, Dropped) and _could_hold(rel, pattern)):
            yield out


def _could_hold(rel: str, pattern) -> bool:
    """Could the glob ``pattern`` (split in parts) match a file under the folder ``rel``?
    A link to a folder the glob would have entered is counted, not silently skipped."""
    if "**" in pattern:
        return True
    parts = rel.split("/")
    return len(parts) < len(pattern) and all(glob_regex(p, anchored=True).match(r) for p, r in zip(pattern, parts))


def glob_regex(pattern: str, anchored: Optional[bool] = None) -> Pattern[str]:
    """A relative-path glob as a regex: ``**`` crosses folders, ``*`` and ``?`` do not.

    A pattern without ``/`` matches a file name at any depth (like .gitignore);
    a pattern ending in ``/`` matches everything under such a folder. ``anchored=True``
    gives shell semantics (the pattern is matched from the root).
    """
    pat = pattern.strip()
    while pat.startswith("./"):
        pat = pat[2:]
    if pat.endswith("/"):
        pat += "**"
    if anchored is None:
        anchored = "/" in pat.rstrip("/")
    out, i = [], 0
    while i < len(pat):
        c = pat[i]
        if pat.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pat.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            j = pat.find("]", i + 1)
            if j == -1:
                out.append(re.escape(c))
                i += 1
            else:
                body = pat[i + 1:j]
                out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
                i = j + 1
        else:
            out.append(re.escape(c))
            i += 1
    body = "".join(out)
    return re.compile(("^" if anchored else r"^(?:.*/)?") + body.lstrip("/") + "$")
