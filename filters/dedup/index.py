"""The signature index a build writes next to its shards, for incremental near-dedup of the next build.

``OUT/dedup_index/index-NNNNN-of-MMMMM.parquet`` holds one row per record the build kept
(plus the rows of the index it was itself deduplicated against, so the index always
covers the whole published corpus): id, rank string, link tag and MinHash signature. The
signature parameters (ngram, num_perm, seed, scheme) are in the Parquet schema metadata;
a build only compares against an index made with the same parameters.

A later build with ``dedup.previous_index: OLD_OUT`` puts those rows into its LSH buckets
as already-published records: they rank before every new record, so a new record that
is a near-duplicate of old text is dropped (``previous_build_duplicate``, naming the old
id), and nothing old is ever dropped (it is not in the new build to begin with).
"""
from __future__ import annotations

import json
import os
import re
from typing import Dict, List

import pyarrow as pa

from telecom_etl.filters.dedup.components import BucketMember

INDEX_FOLDER = "dedup_index"
INDEX_PREFIX = "index"
_META_KEY = b"telecom_etl.dedup_index"
_SHARD = re.compile(r"^index-(\d{5})-of-(\d{5})\.parquet$")


def index_schema(params: Dict) -> pa.Schema:
    return pa.schema([("id", pa.string()), ("rank", pa.string()), ("tag", pa.string()), ("signature", pa.binary())],
                     metadata={b"telecom_etl.schema": b"dedup_index",
                               _META_KEY: json.dumps(params, sort_keys=True).encode()})


def index_row(member: BucketMember) -> dict:
    return {"id": member.rank.split("|", 1)[1], "rank": member.rank, "tag": member.tag, "signature": member.sig}


def previous_member(row: dict) -> BucketMember:
    """An index row as a bucket member of an earlier build (rank prefix "0": ranks first)."""
    rank = row["rank"]
    return BucketMember("0" + rank[1:], row.get("tag") or "", bytes(row["signature"]))


def index_folder(path: str) -> str:
    """``path`` may name a build's output folder or its dedup_index folder."""
    from telecom_etl import io

    inner = io.join(path.rstrip("/"), INDEX_FOLDER)
    return inner if io.exists(inner) else path.rstrip("/")


def index_files(path: str) -> List[str]:
    """The shards of the index at ``path``: one complete ``index-*-of-N`` set, else ValueError."""
    from telecom_etl import io

    folder = index_folder(path)
    if not io.exists(folder):
        raise ValueError(f"no dedup index at {path} (a build writes one to OUT/{INDEX_FOLDER}/)")
    sets: Dict[int, List[str]] = {}
    for f in io.match(io.join(folder, "index-*.parquet")):
        m = _SHARD.match(f.rsplit("/", 1)[-1])
        if m:
            sets.setdefault(int(m.group(2)), []).append(f)
    complete = {n: sorted(fs) for n, fs in sets.items() if len(fs) == n}
    if len(complete) != 1 or len(sets) != 1:
        found = ", ".join(f"{len(fs)} of {n}" for n, fs in sorted(sets.items())) or "no shards"
        raise ValueError(f"dedup index at {folder} is not one complete set of shards ({found})")
    return next(iter(complete.values()))


def index_params(path: str) -> Dict:
    """Signature parameters the index at ``path`` was built with."""
    import pyarrow.parquet as pq

    from telecom_etl import io

    first = index_files(path)[0]
    if io.has_scheme(first):
        from apache_beam.io.filesystems import FileSystems

        with FileSystems.open(first) as fh:
            schema = pq.read_schema(fh)
    else:
        schema = pq.read_schema(first)
    meta = (schema.metadata or {}).get(_META_KEY)
    if meta is None:
        raise ValueError(f"{first} is not a telecom-etl dedup index")
    return json.loads(meta)


def check_index(path: str, params: Dict) -> None:
    """Raise ValueError (one line) when the index at ``path`` cannot be compared with ``params``."""
    found = index_params(path)
    differ = [f"{k}={found.get(k)!r} (this build: {v!r})" for k, v in sorted(params.items()) if found.get(k) != v]
    if differ:
        raise ValueError(f"dedup index at {path} was built with other signature parameters: " + ", ".join(differ))


def same_folder(a: str, b: str) -> bool:
    return os.path.abspath(a.rstrip("/")) == os.path.abspath(b.rstrip("/"))
