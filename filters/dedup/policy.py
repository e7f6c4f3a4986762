"""Which record of a duplicate cluster to keep: one deterministic ranking for every dedup stage.

For 3GPP specifications the newest version wins (a later release supersedes earlier
text); otherwise the higher quality score, then the longer text, then the smallest id.
"""
from __future__ import annotations

from typing import Iterable, List, Tuple

from telecom_etl.record import Document


def version_tuple(version: str | None) -> Tuple[int, ...]:
    if not version:
        return ()
    try:
        return tuple(int(x) for x in version.split("."))
    except ValueError:
        return ()


def rank_key(doc: Document):
    """Sort key: the smallest key is the representative."""
    quality = doc.scores.get("quality", doc.scores.get("relevance", 0.0))
    newest = tuple(-x for x in version_tuple(doc.spec_version)) if doc.kind == "3gpp" else ()
    return (newest, -quality, -len(doc.text), doc.id)


def choose(docs: Iterable[Document]) -> Tuple[Document, List[Document]]:
    """(representative, the others) of a cluster, deterministically."""
    ordered = sorted(docs, key=rank_key)
    return ordered[0], ordered[1:]
