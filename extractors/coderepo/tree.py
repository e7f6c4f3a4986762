"""Walk a code tree into files to read and counted drops, never following links out.

Every regular file under the root becomes exactly one :class:`TreeFile` or one
:class:`Dropped` with a rule: a symlink is never followed (a link leaving the root is
``symlink_outside_root``, one pointing at an ancestor or itself ``symlink_loop``, a
dangling one ``symlink_broken``, one to a file inside the tree ``symlink_duplicate``: the
target is read where it lives). Version-control metadata (``.git``) is not part of the
tree and is not walked; tool output (``__pycache__/``, ``*.egg-info/``) is ``build_artifact``. In a git checkout only tracked files count; an untracked folder
or a submodule is one drop for the whole folder (a build folder can hold many files).
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Dict, Iterator, Optional, Set, Union

from telecom_etl import listing
from telecom_etl.extractors.coderepo import git, licenses, paths
from telecom_etl.outcome import Dropped


@dataclass(frozen=True)
class TreeFile:
    local: str  # path to open
    rel: str  # path relative to the walked root (posix)
    size: int
    generated_tree: Optional[str] = None  # "openapi-generator (.openapi-generator) in api/": a generator's output folder


def notebook_limit(max_bytes: int) -> int:
    """Notebooks carry their outputs (images, tables): read them up to 10x the cap; the
    size rules then judge the cells' text."""
    return max_bytes * 10


_rel = listing.relpath


class TreeWalker:
    """Lists one root. ``tracked`` ({path relative to ``top``: git mode}) switches on git mode."""

    def __init__(self, root: str, selector: paths.PathSelector, max_bytes: int,
                 tracked: Optional[Dict[str, str]] = None, top: Optional[str] = None,
                 drop_vendored: bool = True, hard_cap: Optional[int] = None):
        self.root = os.path.abspath(root)
        self.real_root = os.path.realpath(root)
        self.selector, self.max_bytes, self.drop_vendored = selector, max_bytes, drop_vendored
        self.hard_cap = hard_cap or notebook_limit(max_bytes)
        self.tracked = tracked
        self.top = os.path.realpath(top) if top else None
        self.tracked_dirs: Set[str] = set()
        if tracked is not None:
            for path in tracked:
                parts = path.split("/")
                for i in range(1, len(parts)):
                    self.tracked_dirs.add("/".join(parts[:i]))

    # -- helpers ----------------------------------------------------------
    def _top_rel(self, local: str) -> str:
        """Path relative to the git top level (through the real root, as git sees it)."""
        real = os.path.join(self.real_root, os.path.relpath(local, self.root))
        return _rel(real, self.top)

    def _symlink(self, local: str) -> Dropped:
        return listing.symlink_outcome(local, self.real_root)

    # -- walking ----------------------------------------------------------
    def walk(self) -> Iterator[Union[TreeFile, Dropped]]:
        yield from self._walk_dir(self.root, vendored=None, cache=None, generated=None)

    def _generated_here(self, folder: str, names) -> Optional[str]:
        marker = paths.generator_tree_marker(names)
        if marker is None:
            return None
        rel = _rel(folder, self.root)
        return f"{marker} in {rel}/" if rel != "." else marker

    def _generated_above(self, folder: str) -> Optional[str]:
        """The generator marker of ``folder`` or of a folder between it and the root."""
        found = None
        while True:
            try:
                names = os.listdir(folder)
            except OSError:
                names = []
            found = self._generated_here(folder, names) or found  # the outermost marked folder wins
            if os.path.realpath(folder) == self.real_root or folder == os.path.dirname(folder):
                return found
            folder = os.path.dirname(folder)

    def _walk_dir(self, folder: str, vendored: Optional[str], cache: Optional[str], generated: Optional[str]):
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield Dropped("unreadable_dir", f"cannot list folder: {exc.strerror or exc}", uri=folder)
            return
        if generated is None:
            generated = self._generated_here(folder, [e.name for e in entries])
        for entry in entries:
            local = entry.path
            what, info = listing.classify(entry)
            if what == "drop":
                yield info
            elif what == "link":
                if self.tracked is not None and self._top_rel(local) not in self.tracked:
                    yield Dropped("untracked", "not tracked by git", uri=local)
                else:
                    yield self._symlink(local)
            elif what == "dir":
                yield from self._enter(entry, local, vendored, cache, generated)
            elif what == "file":
                yield self._file(local, entry.name, info.st_size, vendored, cache, generated)

    def _enter(self, entry, local: str, vendored: Optional[str], cache: Optional[str], generated: Optional[str]):
        if self.tracked is not None:
            top_rel = self._top_rel(local)
            if self.tracked.get(top_rel) == git.GITLINK or os.path.exists(os.path.join(local, ".git")):
                yield Dropped("submodule", "git submodule or nested repository (its own source)", uri=local)
                return
            if top_rel not in self.tracked_dirs:
                yield Dropped("untracked", "folder holds no file tracked by git", uri=local)
                return
        if vendored is None and self.drop_vendored and entry.name in paths.VENDORED_DIRS:
            vendored = _rel(local, self.root)
        if cache is None and paths.is_build_artifact_dir(entry.name):
            cache = _rel(local, self.root)
        yield from self._walk_dir(local, vendored, cache, generated)

    def _file(self, local: str, name: str, size: int, vendored: Optional[str], cache: Optional[str],
              generated: Optional[str] = None):
        rel = _rel(local, self.root)
        if self.tracked is not None and self._top_rel(local) not in self.tracked:
            return Dropped("untracked", "not tracked by git", uri=local)
        if cache is not None:
            return Dropped("build_artifact", f"in tool output folder {cache}/", uri=local)
        if vendored is not None:
            return Dropped("vendored", f"in vendored folder {vendored}/", uri=local)
        why = self.selector.why_not(rel)
        if why:
            return Dropped("excluded", why, uri=local)
        if licenses.is_license_file(name):
            return Dropped("license_file", "license text (recorded as the tree's license)", uri=local)
        limit = min(notebook_limit(self.max_bytes), self.hard_cap) if name.endswith(".ipynb") else self.max_bytes
        if size > limit:
            return Dropped("too_large", f"{size} bytes > {limit}", uri=local)
        return TreeFile(local, rel, size, generated)

    def one(self, local: str) -> Union[TreeFile, Dropped]:
        """One named file (a glob match) judged like a walked one."""
        if self.tracked is not None and self._top_rel(local) not in self.tracked:
            return Dropped("untracked", "not tracked by git", uri=local)
        if os.path.islink(local):
            return self._symlink(local)
        try:
            st = os.lstat(local)
        except FileNotFoundError:
            return Dropped("file_vanished", "removed while listing", uri=local)
        if not stat.S_ISREG(st.st_mode):
            return Dropped("special_file", listing.SPECIAL, uri=local)
        rel = _rel(local, self.root)
        vendored = paths.vendored_dir(rel) if self.drop_vendored else None
        cache = paths.build_artifact_dir(rel)
        return self._file(local, os.path.basename(local), st.st_size, vendored and vendored + "/..", cache,
                          self._generated_above(os.path.dirname(os.path.abspath(local))))
