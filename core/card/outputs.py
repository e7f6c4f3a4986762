"""Find the datasets in an output folder and read their columns, locally or on gs://.

An output folder of any telecom-etl command holds one folder of Parquet shards per
dataset (``pretrain/``, ``sft/``, ``preference/``, ``dropped/``, ``rejects/``, and
whatever a future command adds); folders starting with ``_`` or ``.`` (``_stats``,
``_cache``) are bookkeeping, and ``plots/`` holds no Parquet. Nothing here knows the
names in advance: a dataset is a folder with ``*.parquet`` in it (``dropped``,
``rejects``, ``failed``... are audit sets, ``dedup_index`` is state for later builds),
and its splits come from the shard names
(``train-00000-of-00002.parquet``, ``test-...``) or from split sub-folders
(``sft/train/*.parquet``), ``train`` otherwise.

Counts come from the Parquet footers (cheap, exact); columns are read only when asked
for, and only the asked-for ones (the ``text`` column of a big build is never loaded
to draw a histogram of ``n_chars``). Paths with a scheme (``gs://``) go through Beam's
FileSystems, the same layer the pipelines write with.
"""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from telecom_etl import io

#: Folders that are the point of a run, in the order a card lists them; the first one
#: present is the default config of the card.
PRIMARY_ORDER = ("pretrain", "sft", "preference")
#: Folders kept for inspection, listed after everything else.
AUDIT_ORDER = ("dropped", "dropped_inputs", "rejects", "failed")
#: Folders of Parquet that are state for later runs, not data: listed, never a card config.
INTERNAL = ("dedup_index",)
SPLIT_NAMES = ("train", "validation", "test")
_SPLIT_ALIASES = {"valid": "validation", "val": "validation", "dev": "validation", "eval": "test"}
_SPLIT_PREFIX = re.compile(r"^(train|validation|valid|val|dev|test|eval)(?=[-_.])")


@dataclass
class Dataset:
    """One dataset (a card config) of an output folder."""

    name: str  # folder name, also the config name
    folder: str
    splits: Dict[str, List[str]]  # split -> sorted shard paths
    rows: Dict[str, int] = field(default_factory=dict)  # split -> rows (Parquet footers)
    num_bytes: Dict[str, int] = field(default_factory=dict)  # split -> bytes on disk
    data_bytes: Dict[str, int] = field(default_factory=dict)  # split -> uncompressed bytes (the Hub's num_bytes)
    schema: Optional[pa.Schema] = None
    shard_rows: Dict[str, int] = field(default_factory=dict)  # path -> rows (Parquet footer)

    @property
    def files(self) -> List[str]:
        return [f for split in self.splits for f in self.splits[split]]

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def total_bytes(self) -> int:
        return sum(self.num_bytes.values())

    @property
    def columns(self) -> List[str]:
        return list(self.schema.names) if self.schema is not None else []

    @property
    def is_audit(self) -> bool:
        return self.name in AUDIT_ORDER or self.is_internal

    @property
    def is_internal(self) -> bool:
        return self.name in INTERNAL

    def has(self, *columns: str) -> bool:
        return all(c in self.columns for c in columns)

    def data_files(self, split: str) -> List[str]:
        """A split's shards relative to the dataset's parent folder, as Hugging Face
        ``data_files`` wants them: one glob when a glob selects exactly these shards,
        else the file list."""
        rel = {s: [f"{self.name}/{f[len(self.folder):].lstrip('/')}" for f in fs] for s, fs in self.splits.items()}
        everything = [r for fs in rel.values() for r in fs]
        mine = rel[split]
        for pattern in (f"{self.name}/*.parquet", f"{self.name}/{split}*.parquet", f"{self.name}/{split}/*.parquet"):
            selected = [r for r in everything if fnmatch.fnmatchcase(r, pattern) and r.count("/") == pattern.count("/")]
            if sorted(selected) == sorted(mine):
                return [pattern]
        return mine


def _split_of(relative: str) -> str:
    head = relative.split("/", 1)[0] if "/" in relative else relative
    m = _SPLIT_PREFIX.match(head) if "/" not in relative else re.match(r"^(\w+)$", head)
    if not m:
        return "train"
    name = m.group(1).lower()
    name = _SPLIT_ALIASES.get(name, name)
    return name if name in SPLIT_NAMES else "train"


def _match(pattern: str, sizes: Dict[str, int]) -> List[str]:
    """Paths matching ``pattern``; on object stores the listing's sizes go into ``sizes``,
    so a thousand shards cost one listing instead of a thousand metadata requests."""
    if not io.has_scheme(pattern):
        return io.match(pattern)
    from apache_beam.io.filesystems import FileSystems

    found = FileSystems.match([pattern])[0].metadata_list
    sizes.update({m.path: m.size_in_bytes for m in found})
    return sorted(m.path for m in found)


def _footer(path: str) -> pq.FileMetaData:
    if io.has_scheme(path):
        from apache_beam.io.filesystems import FileSystems

        with FileSystems.open(path) as fh:
            return pq.ParquetFile(fh).metadata
    return pq.ParquetFile(path).metadata


def _is_shard(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.endswith(".parquet") and not name.startswith((".", "_"))


def _order_key(name: str):
    if name in PRIMARY_ORDER:
        return (0, PRIMARY_ORDER.index(name), name)
    if name in AUDIT_ORDER:
        return (2, AUDIT_ORDER.index(name), name)
    if name in INTERNAL:
        return (3, INTERNAL.index(name), name)
    return (1, 0, name)


def discover(output: str) -> List[Dataset]:
    """Every dataset of ``output`` (primary ones first, then others, then dropped/rejects).

    ``output`` may also be one dataset folder or a single Parquet file (``inspect`` uses
    that): it is then returned as one dataset named after it.
    """
    output = output.rstrip("/") if len(output) > 1 else output
    if output.endswith(".parquet"):
        if not io.exists(output):
            return []
        name = output.rsplit("/", 1)[-1][: -len(".parquet")]
        folder = output.rsplit("/", 1)[0] if "/" in output else "."
        return [_with_footers(Dataset(name, folder, {"train": [output]}))]
    found: Dict[str, Dict[str, List[str]]] = {}
    sizes: Dict[str, int] = {}
    direct = [p for p in _match(io.join(output, "*.parquet"), sizes) if _is_shard(p)]
    for depth in ("*", "*/*"):
        for path in _match(io.join(output, depth, "*.parquet"), sizes):
            if not _is_shard(path):
                continue
            rel = path[len(output):].lstrip("/")
            top, rest = rel.split("/", 1)
            if top.startswith(("_", ".")):
                continue
            found.setdefault(top, {}).setdefault(_split_of(rest), []).append(path)
    if direct and not found:  # ``output`` is itself a dataset folder
        name = output.rsplit("/", 1)[-1] or "data"
        splits: Dict[str, List[str]] = {}
        for path in direct:
            splits.setdefault(_split_of(path.rsplit("/", 1)[-1]), []).append(path)
        return [_with_footers(Dataset(name, output, _ordered(splits)), sizes)]
    datasets = [_with_footers(Dataset(name, io.join(output, name), _ordered(splits)), sizes)
                for name, splits in found.items()]
    return sorted(datasets, key=lambda d: _order_key(d.name))


def _ordered(splits: Dict[str, List[str]]) -> Dict[str, List[str]]:
    order = {s: i for i, s in enumerate(SPLIT_NAMES)}
    return {s: sorted(splits[s]) for s in sorted(splits, key=lambda s: (order.get(s, 99), s))}


def _with_footers(ds: Dataset, sizes: Optional[Dict[str, int]] = None) -> Dataset:
    sizes = sizes or {}
    for split, files in ds.splits.items():
        rows = 0
        size = 0
        data = 0
        for path in files:
            meta = _footer(path)
            rows += meta.num_rows
            data += sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
            ds.shard_rows[path] = meta.num_rows
            size += sizes[path] if path in sizes else io.size(path)
            if ds.schema is None:
                ds.schema = meta.schema.to_arrow_schema()
        ds.rows[split] = rows
        ds.num_bytes[split] = size
        ds.data_bytes[split] = data
    return ds


def _read_table(path: str, columns: Optional[Sequence[str]]) -> pa.Table:
    if io.has_scheme(path):
        from apache_beam.io.filesystems import FileSystems

        with FileSystems.open(path) as fh:
            return pq.read_table(fh, columns=list(columns) if columns is not None else None)
    return pq.read_table(path, columns=list(columns) if columns is not None else None)


def read(ds: Dataset, columns: Optional[Iterable[str]] = None, splits: Optional[Iterable[str]] = None,
         with_split: bool = False) -> pl.DataFrame:
    """The rows of ``ds`` as a polars frame, with only ``columns`` (those that exist).

    ``with_split`` adds a ``split`` column. Missing columns are left out rather than
    failing, so callers can ask for optional columns (``scores``, ``task``) blindly.
    """
    wanted = None
    if columns is not None:
        wanted = [c for c in dict.fromkeys(columns) if c in ds.columns]
    frames = []
    for split in (splits if splits is not None else ds.splits):
        for path in ds.splits.get(split, []):
            table = _read_table(path, wanted)
            frame = pl.from_arrow(table)
            if isinstance(frame, pl.Series):  # a single column comes back as a Series
                frame = frame.to_frame()
            if with_split:
                frame = frame.with_columns(pl.lit(split).alias("split"))
            frames.append(frame)
    if not frames:
        names = wanted if wanted is not None else ds.columns
        return pl.DataFrame({n: [] for n in names})
    return pl.concat(frames, how="diagonal_relaxed")


def find(datasets: Sequence[Dataset], name: str) -> Optional[Dataset]:
    for ds in datasets:
        if ds.name == name:
            return ds
    return None


def read_positions(ds: Dataset, columns: Optional[Iterable[str]] = None) -> pl.DataFrame:
    """Like :func:`read`, plus ``__shard`` (index into ``ds.files``) and ``__row`` (row in
    that shard), so a few rows picked from a filtered frame can be fetched in full later
    with :func:`read_rows` without loading every shard's text."""
    wanted = None if columns is None else [c for c in dict.fromkeys(columns) if c in ds.columns]
    frames = []
    for i, path in enumerate(ds.files):
        table = _read_table(path, wanted)
        frame = pl.from_arrow(table)
        if isinstance(frame, pl.Series):
            frame = frame.to_frame()
        frame = frame.with_columns(pl.lit(i, dtype=pl.Int64).alias("__shard"),
                                   pl.int_range(0, frame.height, dtype=pl.Int64).alias("__row"))
        frames.append(frame)
    if not frames:
        return pl.DataFrame({"__shard": [], "__row": []}, schema={"__shard": pl.Int64, "__row": pl.Int64})
    return pl.concat(frames, how="diagonal_relaxed")


def _open_parquet(path: str):
    if io.has_scheme(path):
        from apache_beam.io.filesystems import FileSystems

        return pq.ParquetFile(FileSystems.open(path))
    return pq.ParquetFile(path)


def read_rows(ds: Dataset, positions: Sequence[tuple]) -> List[dict]:
    """Full rows at ``(shard index, row)`` positions, in the order given. Only the row
    groups holding those rows are read."""
    out: Dict[tuple, dict] = {}
    by_shard: Dict[int, List[int]] = {}
    for shard, row in positions:
        by_shard.setdefault(int(shard), []).append(int(row))
    for shard, rows in sorted(by_shard.items()):
        pf = _open_parquet(ds.files[shard])
        start = 0
        for g in range(pf.metadata.num_row_groups):
            n = pf.metadata.row_group(g).num_rows
            inside = [r for r in rows if start <= r < start + n]
            if inside:  # only the picked rows become Python objects (a row group may be a whole shard's text)
                group = pf.read_row_group(g).take([r - start for r in inside]).to_pylist()
                for r, row in zip(inside, group):
                    out[(shard, r)] = row
            start += n
    return [out[(int(s), int(r))] for s, r in positions if (int(s), int(r)) in out]
