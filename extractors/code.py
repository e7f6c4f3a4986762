"""Code repositories (kind ``code``): local folders, git checkouts and git URLs.

Each manifest path of a ``code`` source is one code tree:

* a local folder (a plain tree, or a git checkout: then only tracked files count, and
  the record carries the commit),
* a git URL (``https://``, ``ssh://``, ``git@host:owner/repo``, ``file://.../repo.git``,
  optionally ``#ref``) or a bare repository folder: cloned shallowly into the clone
  cache (``options.clone_cache``); a failed clone fails the source as one reject,
* a single file or a glob of files.

Listing learns the tree's license once (LICENSE/COPYING files, see
:mod:`~telecom_etl.extractors.coderepo.licenses`), its repo name and commit, and drops
what is not source with a counted rule (symlinks out of the root, vendored folders,
license texts, files over the size cap, excluded globs). Extraction reads one file:
binary content, invalid UTF-8 and unknown languages are counted drops; a notebook
becomes its cells. Quality rules (generated code, line lengths, alphabetic share, data
file sizes, license policy) are filters (:mod:`telecom_etl.filters.code`).

``options`` (all optional)::

    include: ["src/**", "*.asn"]    # globs relative to the tree root; a name-only glob matches at any depth
    exclude: ["tests/**"]
    max_file_kb: 1000               # larger files are dropped at listing (too_large)
    languages: [C, C++, ASN.1]      # keep only these languages (language_not_selected)
    vendored: drop                  # or keep: also read node_modules/, third_party/, ...
    decode_fallback: null           # or cp1252 / latin-1 / replace: read non-UTF-8 files instead of dropping them
    clone_cache: ~/.cache/telecom-etl/git
    git_timeout_s: 120
    ref: main                       # branch or tag to clone for URL paths (url#ref works too)
"""
from __future__ import annotations

import errno
import os
import stat
from typing import Any, Dict, Iterator, Optional, Union

from telecom_etl import io
from telecom_etl.extractors.base import SourceItem, SourceKind
from telecom_etl.extractors.coderepo import git, languages, licenses, notebook, paths
from telecom_etl.extractors.coderepo.tree import TreeWalker, _rel, notebook_limit
from telecom_etl.extractors.sniff import sniff
from telecom_etl.outcome import Dropped, StageFailure
from telecom_etl.registry import SOURCES

OPTIONS: Dict[str, Any] = {
    "include": [], "exclude": [], "max_file_kb": 1000, "languages": None, "vendored": "drop",
    "decode_fallback": None, "clone_cache": None, "git_timeout_s": git.DEFAULT_TIMEOUT_S, "ref": None,
}
DECODE_FALLBACKS = ("cp1252", "latin-1", "replace")  # replace: UTF-8 with U+FFFD for the bad bytes


def _str_list(config, key: str) -> list:
    value = config.options.get(key, OPTIONS[key])
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{key} must be a list of non-empty strings, got {value!r}")
    return value


@SOURCES.register("code")
class CodeSource(SourceKind):
    document_kind = "code"

    # -- options ---------------------------------------------------------
    @classmethod
    def validate_options(cls, config) -> None:
        opts = config.options or {}
        unknown = sorted(set(opts) - set(OPTIONS))
        if unknown:
            raise ValueError(f"unknown option(s) {', '.join(unknown)} for kind 'code' (known: {', '.join(sorted(OPTIONS))})")
        for key in ("include", "exclude"):
            for pattern in _str_list(config, key):
                paths.glob_regex(pattern)
        langs = _str_list(config, "languages")
        bad = [lang for lang in langs if lang not in languages.KNOWN_LANGUAGES]
        if bad:
            raise ValueError(f"languages: unknown language(s) {', '.join(bad)} (names as in GitHub Linguist, e.g. C, C++, Python, ASN.1)")
        for key in ("max_file_kb", "git_timeout_s"):
            value = opts.get(key, OPTIONS[key])
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{key} must be a positive number, got {value!r}")
        if opts.get("vendored", "drop") not in ("drop", "keep"):
            raise ValueError(f"vendored must be 'drop' or 'keep', got {opts.get('vendored')!r}")
        fallback = opts.get("decode_fallback")
        if fallback is not None and fallback not in DECODE_FALLBACKS:
            raise ValueError(f"decode_fallback must be null or one of {', '.join(DECODE_FALLBACKS)}, got {fallback!r}")
        for key in ("clone_cache", "ref"):
            value = opts.get(key)
            if value is not None and (not isinstance(value, str) or not value.strip() or value.startswith("-")):
                raise ValueError(f"{key} must be a non-empty string, got {value!r}")

    def option(self, key: str):
        value = (self.config.options or {}).get(key, OPTIONS[key])
        return OPTIONS[key] if value is None else value

    # -- listing ---------------------------------------------------------
    def list_items(self) -> Iterator[Union[SourceItem, Dropped]]:
        selector = paths.PathSelector(_str_list(self.config, "include"), _str_list(self.config, "exclude"))
        for path in self.config.paths:
            if len(self.config.paths) == 1:
                yield from self._list_path(path, selector)
                continue
            try:  # one repository that cannot be listed fails alone, not the whole source
                found = list(self._list_path(path, selector))
            except StageFailure as exc:
                found = [Dropped("path_failed", exc.reason, uri=path)]
            yield from found

    def _git_timeout(self) -> float:
        return float(self.option("git_timeout_s"))

    def _list_path(self, path: str, selector: paths.PathSelector):
        url, ref = git.split_ref(path)
        local = path
        if git.is_git_url(url) or (os.path.isdir(local) and git.is_bare_repository(local)):
            if not git.is_git_url(url):  # a bare repository folder; file:// keeps the clone shallow
                url = "file://" + os.path.abspath(local)
            ref = ref or self.config.options.get("ref")
            try:
                checkout = git.clone(url, git.cache_dir(self.config.options.get("clone_cache")), ref,
                                     timeout=self._git_timeout())
            except (git.GitError, OSError) as exc:
                raise StageFailure(f"git clone failed: {git.redact(url)}: {exc}") from None
            repo_url = git.redact(url)
            for out in self._list_tree(checkout, selector, top=checkout, repo_url=repo_url, uri_base=repo_url):
                if isinstance(out, SourceItem):  # what a worker without this clone needs to make it
                    out.meta.update(clone_url=url, clone_ref=ref, clone_rel=_rel(out.meta["local"], checkout))
                yield out
            return
        if io.has_scheme(path):
            raise StageFailure(f"code sources read local folders and git URLs, not {path.split('://')[0]}:// paths")
        if os.path.isdir(local):
            top = git.toplevel(local, timeout=self._git_timeout())
            yield from self._list_tree(local, selector, top=top, repo_url=None, uri_base=None)
            return
        if not any(c in local for c in "*?["):
            if not os.path.lexists(local):
                raise StageFailure(f"no such file or folder: {path}")
            root = os.path.dirname(os.path.abspath(local))
            yield from self._list_tree(root, selector, top=git.toplevel(root, timeout=self._git_timeout()),
                                       repo_url=None, uri_base=None, only=[os.path.abspath(local)])
            return
        # a glob: walk the folder before the first wildcard (glob.glob would follow
        # symlinked folders, loops included) and keep what the pattern matches
        parts = os.path.abspath(local).split(os.sep)
        first = next(i for i, p in enumerate(parts) if any(c in p for c in "*?["))
        root = os.sep.join(parts[:first]) or os.sep
        if not os.path.isdir(root):
            raise StageFailure(f"no such folder: {root}")
        wanted = paths.glob_regex("/".join(parts[first:]), anchored=True)
        matched = False
        for out in self._list_tree(root, selector, top=git.toplevel(root, timeout=self._git_timeout()),
                                   repo_url=None, uri_base=None):
            uri = out.uri if isinstance(out, Dropped) else out.meta["local"]
            if uri and wanted.match(_rel(uri, root)):
                matched = True
                yield out
        if not matched:
            raise StageFailure(f"no file matches {path}")

    def _list_tree(self, root: str, selector, top: Optional[str], repo_url: Optional[str],
                   uri_base: Optional[str], only: Optional[list] = None):
        timeout = self._git_timeout()
        tracked = commit = date = None
        if top is not None:
            try:
                tracked = git.tracked_files(top, timeout=timeout)
            except git.GitError as exc:
                raise StageFailure(f"cannot list the git checkout {top}: {exc}") from None
            rel_root = os.path.relpath(os.path.realpath(root), top).replace(os.sep, "/")
            prefix = "" if rel_root == "." else rel_root + "/"
            if not tracked or not any(p.startswith(prefix) for p in tracked):
                top = tracked = None  # an untracked folder inside a checkout: a plain tree
            else:
                commit = git.head_commit(top, timeout=timeout)
                date = git.commit_date(top, timeout=timeout) if commit else None
        if repo_url is None and top is not None:
            origin = git.origin_url(top, timeout=timeout)
            repo = git.repo_name(origin) if origin else os.path.basename(top)
        elif repo_url is not None:
            repo = git.repo_name(repo_url)
        else:
            repo = os.path.basename(os.path.abspath(root).rstrip(os.sep)) or "code"
        license_expr, license_from = licenses.detect_license(root, stop_at=top)
        walker = TreeWalker(root, selector, self._file_cap(), tracked=tracked, hard_cap=self.max_bytes,
                            top=top, drop_vendored=self.option("vendored") == "drop")
        meta = {"repo": repo, "commit": commit, "date": date, "license": license_expr,
                "license_from": license_from, "repo_url": repo_url}
        outcomes = walker.walk() if only is None else (walker.one(f) for f in only)
        for out in outcomes:
            if isinstance(out, Dropped):
                if uri_base is not None and out.uri:
                    out = Dropped(out.rule, out.detail, uri=self._uri(uri_base, commit, _rel(out.uri, root)))
                yield out
                continue
            path = out.rel if top is None else walker._top_rel(out.local)
            uri = out.local if uri_base is None else self._uri(uri_base, commit, out.rel)
            item_meta = {**meta, "local": out.local, "path": path, "size": out.size}
            if out.generated_tree:
                item_meta["generated_tree"] = out.generated_tree
            yield SourceItem(self.config.name, self.config.kind, uri, root=root, meta=item_meta)

    @staticmethod
    def _uri(base: str, commit: Optional[str], rel: str) -> str:
        return f"{base}@{commit or 'HEAD'}/{rel}"

    # -- extraction ------------------------------------------------------
    def _file_cap(self) -> int:
        """Bytes a file may have: ``options.max_file_kb``, never over the source's ``max_file_mb``."""
        return min(int(float(self.option("max_file_kb")) * 1024), self.max_bytes)

    def _limit(self, item: SourceItem) -> int:
        limit = self._file_cap()
        return min(notebook_limit(limit), self.max_bytes) if item.uri.endswith(".ipynb") else limit

    def _local_path(self, item: SourceItem) -> str:
        """Where to read the item. A worker other than the one that listed a cloned repository
        (Dataflow) clones it into its own cache first, and checks it has the listed commit."""
        meta = item.meta
        local = meta.get("local", item.uri)
        if meta.get("clone_url") is None or os.path.lexists(local):
            return local
        try:
            checkout = git.clone(meta["clone_url"], git.cache_dir(self.config.options.get("clone_cache")),
                                 meta.get("clone_ref"), timeout=self._git_timeout())
        except (git.GitError, OSError) as exc:
            raise StageFailure(f"git clone failed: {git.redact(meta['clone_url'])}: {exc}") from None
        head = git.head_commit(checkout, timeout=self._git_timeout())
        if meta.get("commit") and head != meta["commit"]:
            raise StageFailure(f"repository moved from {meta['commit'][:12]} to {(head or '?')[:12]} after listing")
        return os.path.join(checkout, meta["clone_rel"])

    def _read(self, item: SourceItem) -> bytes:
        local = self._local_path(item)
        limit = self._limit(item)
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(local, flags)
        except FileNotFoundError:
            raise StageFailure("file disappeared between listing and reading") from None
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EMLINK):  # it became a symlink after listing
                raise StageFailure("file was replaced by a symbolic link after listing") from None
            raise StageFailure(f"cannot read file: {exc.strerror or exc}") from None
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise StageFailure("not a regular file any more when read")
            data = fh.read(limit + 1)
        return data

    def extract(self, item: SourceItem):
        meta = item.meta
        data = self._read(item)
        limit = self._limit(item)
        if len(data) > limit:
            yield Dropped("too_large", f"grew past {limit} bytes after listing", uri=item.uri)
            return
        if not data.strip():
            yield Dropped("empty_file", "no content" if not data else "whitespace only", uri=item.uri)
            return
        kind = sniff(data[:8192])
        if kind in ("binary", "pdf", "zip", "ole"):
            yield Dropped("binary_file", f"{kind} content", uri=item.uri)
            return
        text, encoding = self._decode(data)
        if text is None:
            yield Dropped("not_utf8", encoding, uri=item.uri)
            return
        path = meta.get("path") or item.relpath
        language = languages.detect_language(path, text)
        if language is None:
            ext = os.path.splitext(path)[1]
            yield Dropped("unknown_language", f"no language for {'extension ' + ext if ext else 'this file name'}",
                          uri=item.uri)
            return
        extra = {"size_bytes": str(len(data))}
        if language == "Jupyter Notebook":
            text, language, cells = notebook.notebook_to_text(text)
            if not cells:
                yield Dropped("empty_notebook", "no code or markdown cell with content", uri=item.uri)
                return
            # the size rules judge the cells, not the outputs the file also carries
            extra.update(notebook="true", notebook_cells=str(cells), notebook_bytes=str(len(data)),
                         size_bytes=str(len(text.encode("utf-8"))))
        wanted = _str_list(self.config, "languages")
        if wanted and language not in wanted:
            yield Dropped("language_not_selected", language, uri=item.uri)
            return
        if encoding != "utf-8":
            extra["encoding"] = encoding
        license_expr, license_from = self.config.license, "manifest"
        if not license_expr:
            file_license, license_from = licenses.spdx_header(text), "spdx_header"
            if not file_license:
                file_license, license_from = licenses.header_notice(text), "header_notice"
            license_expr = file_license
        if not license_expr and meta.get("license"):
            license_expr, license_from = meta["license"], meta.get("license_from") or "license_file"
        if meta.get("license"):
            extra["repo_license"] = meta["license"]
        extra["license_from"] = license_from if license_expr else "none"
        if meta.get("repo_url"):
            extra["repo_url"] = meta["repo_url"]
        if meta.get("generated_tree"):  # judged by the code_generated filter
            extra["generated_tree"] = meta["generated_tree"]
        yield self.new_document(item, text, title=path, repo=meta.get("repo"), commit=meta.get("commit"),
                                date=meta.get("date"),
                                path=path, code_language=language, license=license_expr, extra=extra)

    def _decode(self, data: bytes):
        """(text, encoding) or (None, reason): UTF-8 (or UTF-16 with BOM), else the fallback or a drop."""
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            try:
                return data.decode("utf-16"), "utf-16"
            except UnicodeDecodeError as exc:
                return None, f"invalid UTF-16 at byte {exc.start}"
        try:
            return data.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError as exc:
            fallback = self.option("decode_fallback")
            if fallback == "replace":
                return data.decode("utf-8", errors="replace"), "utf-8-replaced"
            if fallback:
                return data.decode(fallback, errors="replace"), fallback
            return None, f"invalid UTF-8 at byte {exc.start}"

