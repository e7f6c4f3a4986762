"""Deterministic, atomic Parquet shards (local or any Beam filesystem).

The number of shards follows from the total size (``ceil(bytes / shard_max_bytes)``),
each row goes to shard ``xxh64(sort key) % n``, and each shard is sorted by its key
before it is written, so the same records always give the same files, byte for byte,
whatever the runner's parallelism. A shard is written to a temporary name and renamed,
so a reader (or a re-run after a kill) never sees a partial file.
"""
from __future__ import annotations

import io as _io
import json
import math
from typing import Callable, List, Optional

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

from telecom_etl import io


def stable_shard(key: str, n: int) -> int:
    return xxhash.xxh64_intdigest(key.encode("utf-8")) % n


def shard_name(prefix: str, index: int, count: int) -> str:
    return f"{prefix}-{index:05d}-of-{count:05d}.parquet"


def parquet_bytes(rows: List[dict], schema: pa.Schema, row_group_rows: int, compression: str) -> bytes:
    buf = _io.BytesIO()
    if not rows:  # no row group at all: 🤗 datasets cannot read a row group of 0 rows (ArrowInvalid)
        pq.ParquetWriter(buf, schema, compression=None if compression == "none" else compression).close()
        return buf.getvalue()
    table = pa.Table.from_pylist(rows, schema=schema)
    pq.write_table(table, buf, row_group_size=row_group_rows,
                   compression=None if compression == "none" else compression,
                   write_statistics=True)
    return buf.getvalue()


def write_parquet(path: str, rows: List[dict], schema: pa.Schema, row_group_rows: int, compression: str) -> None:
    """Write ``rows`` as :func:`parquet_bytes` would (the same bytes), atomically, one row group at a
    time: a text spilled by the build (:class:`telecom_etl.spill.SpilledText`) is read back only
    for its row group, so a shard's texts are never all in memory at once."""
    from telecom_etl.spill import TextReader, is_spilled

    comp = None if compression == "none" else compression
    with io.atomic_writer(path) as fh, TextReader() as reader:
        writer = pq.ParquetWriter(fh, schema, compression=comp, write_statistics=True)
        try:
            # a remote spill file is fetched once, in file order, before the id-ordered reads
            reader.prefetch([r["text"] for r in rows if is_spilled(r.get("text"))])
            for start in range(0, len(rows), row_group_rows):
                table = _row_group(rows[start:start + row_group_rows], schema, reader)
                writer.write_table(table, row_group_size=row_group_rows)
                del table
        finally:
            writer.close()


def _row_group(rows: List[dict], schema: pa.Schema, reader) -> pa.Table:
    """One row group as a table. Spilled texts go from their files straight into one Arrow buffer
    (one copy of the row group's text in memory, no Python strings); the same table either way."""
    from telecom_etl.spill import is_spilled

    texts = [r.get("text") for r in rows] if "text" in schema.names else []
    if not any(is_spilled(t) for t in texts) or any(t is None for t in texts):
        return pa.Table.from_pylist(rows, schema=schema)
    import numpy as np

    inline = {i: t.encode("utf-8") for i, t in enumerate(texts) if not is_spilled(t)}
    sizes = np.fromiter((t.size if is_spilled(t) else len(inline[i]) for i, t in enumerate(texts)),
                        dtype=np.int64, count=len(texts))
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    data = bytearray(int(offsets[-1]))
    view = memoryview(data)
    for i in sorted(range(len(texts)), key=lambda i: (texts[i].path, texts[i].offset) if i not in inline else ("", i)):
        start, end = int(offsets[i]), int(offsets[i + 1])
        if i in inline:
            view[start:end] = inline.pop(i)
        else:
            reader.read_into(texts[i], view[start:end])
    del view
    column = pa.LargeStringArray.from_buffers(len(texts), pa.py_buffer(offsets.tobytes()), pa.py_buffer(data))
    column.validate(full=True)  # UTF-8, as from_pylist would insist
    index = schema.get_field_index("text")
    rest = pa.Table.from_pylist([{k: v for k, v in r.items() if k != "text"} for r in rows],
                                schema=schema.remove(index))
    return rest.add_column(index, schema.field(index), column)


class WriteShards(beam.PTransform):
    """Write elements as ``folder/prefix-NNNNN-of-MMMMM.parquet``; outputs (path, rows) per shard."""

    def __init__(self, folder: str, prefix: str, schema: pa.Schema, to_row: Callable[[object], dict],
                 key: Callable[[object], str], size: Callable[[object], int],
                 shard_max_bytes: int = 256 << 20, row_group_rows: int = 1000, compression: str = "zstd",
                 run_id: Optional[str] = None):
        super().__init__()
        if run_id:  # which run wrote the shard (telecom-etl inspect checks shards, report and card agree)
            from telecom_etl.runfolder import RUN_ID_KEY

            schema = schema.with_metadata({**(schema.metadata or {}), RUN_ID_KEY.encode(): run_id.encode()})
        self.folder, self.prefix, self.schema = folder, prefix, schema
        self.to_row, self.key, self.size = to_row, key, size
        self.shard_max_bytes, self.row_group_rows, self.compression = shard_max_bytes, row_group_rows, compression

    def expand(self, elements):
        key, size, to_row = self.key, self.size, self.to_row
        max_bytes = self.shard_max_bytes
        keyed = elements | "Key" >> beam.Map(lambda e: (key(e), size(e), to_row(e)))
        count = (
            keyed
            | "Sizes" >> beam.Map(lambda k: k[1])
            | "Total" >> beam.CombineGlobally(sum)
            | "Count" >> beam.Map(lambda total: max(1, math.ceil(total / max_bytes)))
        )
        n = beam.pvalue.AsSingleton(count)
        assigned = keyed | "Assign" >> beam.Map(lambda k, n: (stable_shard(k[0], n), (k[0], k[2])), n=n)
        every = count | "Every" >> beam.FlatMap(lambda n: [(i, None) for i in range(n)])
        folder, prefix, schema = self.folder, self.prefix, self.schema
        rg, comp = self.row_group_rows, self.compression

        def write(shard, n):
            index, members = shard
            rows = sorted((m for m in members if m is not None), key=lambda m: m[0])
            path = io.join(folder, shard_name(prefix, index, n))
            write_parquet(path, [r for _, r in rows], schema, rg, comp)
            return path, len(rows)

        return ((assigned, every) | "WithEmpty" >> beam.Flatten() | "Group" >> beam.GroupByKey()
                | "Write" >> beam.Map(write, n=n))


class WriteJson(beam.PTransform):
    """Collect a small PCollection into one sorted JSON list written atomically at ``path``."""

    def __init__(self, path: str, sort_key: Optional[Callable] = None):
        super().__init__()
        self.path, self.sort_key = path, sort_key

    def expand(self, pcoll):
        path, sort_key = self.path, self.sort_key

        def write(items):
            items = sorted(items, key=sort_key) if sort_key else sorted(items)
            io.write_bytes_atomic(path, json.dumps(items, indent=1, sort_keys=True, default=list).encode())
            return path

        return pcoll | "Collect" >> beam.combiners.ToList() | "Write" >> beam.Map(write)


def shard_entry(path: str) -> str:
    """A shard as ``_stats/files.json`` names it: ``folder/file`` inside the output (never the
    machine's path of the output, nor of the run's staging folder)."""
    return "/".join(path.replace("\\", "/").rstrip("/").rsplit("/", 2)[-2:])


def remove_stale(output: str, folders) -> int:
    """Delete what an earlier run left in ``output/<folder>``: shards this run did not write
    (``output/_stats/files.json`` lists the ones it did; the shard count may have changed) and
    temporary files of a killed run. Returns how many files went."""
    written = {shard_entry(p) for p, _ in json.loads(io.read_bytes(io.join(output, "_stats", "files.json")))}
    removed = 0
    for folder in folders:
        path = io.join(output, folder)
        if not io.exists(path):
            continue
        for f in io.listdir(path):
            name = f.rsplit("/", 1)[-1]
            if (name.endswith(".parquet") and f"{folder}/{name}" not in written) or name.startswith(".tmp-"):
                io.remove_matching(path, name)
                removed += 1
    return removed
