"""Where a record came from, said without the machine it was built on.

A record's ``uri`` (and the ``uri`` of its drops and rejects) is ``SOURCE/PATH``: the
manifest source's name, then the file's path inside the source's root (the folder the
manifest names, the folder before a glob's first wildcard, or a named file's folder),
then ``#part`` for a part of a file. When a source has several roots in different
folders, the root folder's name comes first (``specs/38_series/38211-i10.zip``), with
its position added when two roots share a name. Remote inputs (``gs://...``, git URLs)
keep their full URI; ``absolute_uris: true`` on a source keeps local absolute paths.

Record ids are made from the relative form, so the same files under another folder or
on another machine give the same ids (:func:`record_id`).
"""
from __future__ import annotations

import os
from typing import List, Optional, Sequence, Tuple

from telecom_etl.record import make_id


def _is_remote(path: str) -> bool:
    return "://" in path or path.startswith("git@")


def root_folder(root: str) -> str:
    """The folder paths under ``root`` are relative to: the root itself, the folder before a glob's
    first wildcard, or a named file's folder."""
    root = os.path.normpath(root)
    if any(ch in root for ch in "*?["):
        parts = root.split(os.sep)
        first = next(i for i, p in enumerate(parts) if any(ch in p for ch in "*?["))
        return os.sep.join(parts[:first]) or os.sep
    return root if os.path.isdir(root) or not os.path.exists(root) and not os.path.splitext(root)[1] \
        else os.path.dirname(root)


def _labels(roots: Sequence[str]) -> List[Tuple[str, str]]:
    """(folder, label) of each distinct local root folder; no label when there is only one."""
    folders: List[str] = []
    for r in roots:
        if not _is_remote(r):
            f = root_folder(r)
            if f not in folders:
                folders.append(f)
    if len(folders) <= 1:
        return [(f, "") for f in folders]
    names = [os.path.basename(f.rstrip(os.sep)) or "root" for f in folders]
    return [(f, f"{n}-{k}" if names.count(n) > 1 else n) for k, (f, n) in enumerate(zip(folders, names))]


def relative_uri(source: str, roots: Sequence[str], uri: str) -> str:
    """``SOURCE/PATH#part`` for a local file under one of ``roots``; other URIs as they are."""
    if not uri or _is_remote(uri):
        return uri
    path, sep, part = uri.partition("#")
    best: Optional[Tuple[str, str]] = None
    for folder, label in _labels(roots):
        inside = path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)
        if inside and (best is None or len(folder) > len(best[0])):
            best = (folder, label)
    if best is None:
        return uri  # not under a root (should not happen): keep what we know
    rel = os.path.relpath(path, best[0]) if path != best[0] else os.path.basename(path)
    rel = rel.replace(os.sep, "/")
    return f"{source}/" + (f"{best[1]}/" if best[1] else "") + rel + sep + part


def shown_uri(config, uri: str) -> str:
    """The uri written for an input of source ``config`` (a manifest SourceConfig)."""
    if getattr(config, "absolute_uris", False):
        return uri
    return relative_uri(config.name, config.paths, uri)


def record_id(config, uri: str, part: str = "") -> str:
    """A record's id: from the source name, the path inside the source and the part, never from
    where the corpus sits."""
    return make_id(config.name, relative_uri(config.name, config.paths, uri), part)


# ---------------------------------------------------------------------------
# paths of this machine in what a run writes (report, card): relative unless asked
# ---------------------------------------------------------------------------

def _local_path_like(value) -> bool:
    """A text naming an absolute local path that exists (up to a glob's first wildcard):
    a source path, a model or benchmark file, a cache folder; not a regular expression or a URL."""
    if not isinstance(value, str) or not value or _is_remote(value) or "\n" in value:
        return False
    path = os.path.expanduser(value)
    if not os.path.isabs(path):
        return False
    head = root_folder(path) if any(ch in path for ch in "*?[") else path
    return head not in (os.sep, "") and os.path.exists(head)


def shown_path(path: str, anchor: Optional[str]) -> str:
    """A local path of a manifest as the run's report and card show it: relative to ``anchor``
    (the manifest's folder) when it is absolute; relative paths and URIs as they are."""
    if anchor is None or not _local_path_like(path):
        return path
    return os.path.relpath(os.path.expanduser(path), anchor).replace(os.sep, "/")


def shown_location(path: Optional[str]) -> Optional[str]:
    """A path the user gave on the command line (the manifest, ``-o``) as a run's outputs show
    it: as given when relative or remote, else its last name (``.`` for the root)."""
    if not path or _is_remote(path) or not os.path.isabs(os.path.expanduser(path)):
        return path
    return os.path.basename(os.path.normpath(os.path.expanduser(path))) or "."


def portable(value, anchor: Optional[str]):
    """``value`` (dicts, lists, texts) with every absolute local path made relative to ``anchor``."""
    if isinstance(value, dict):
        return {k: portable(v, anchor) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [portable(v, anchor) for v in value]
    return shown_path(value, anchor) if isinstance(value, str) else value


def portable_yaml(text: str, anchor: Optional[str]) -> str:
    """The manifest's text as written (comments, layout) with each scalar naming an absolute
    local path replaced by its path relative to ``anchor`` (the manifest's folder)."""
    import json

    import yaml

    if anchor is None:
        return text
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return text
    spans = []
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            if _local_path_like(node.value):
                new = shown_path(node.value, anchor)
                plain = all(ch not in new for ch in ":#{}[],&*!|>'\"%@`") and new.strip() == new
                spans.append((node.start_mark.index, node.end_mark.index, new if plain else json.dumps(new)))
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    for start, end, new in sorted(spans, reverse=True):
        text = text[:start] + new + text[end:]
    return text
