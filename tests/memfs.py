"""``mem://`` — an in-process object store registered as a Beam FileSystem, for tests.

It behaves like GCS or S3 (flat keys, no directories, listing by prefix), so a test
that runs build-pretrain from ``mem://`` inputs into a ``mem://`` output proves that
every file access goes through Beam's FileSystems, as it must for ``gs://`` on Dataflow.
Beam finds FileSystem subclasses when they are imported; the store is one dict per
process, so use it with the in-process DirectRunner.
"""
from __future__ import annotations

import io
import posixpath
import time
from typing import Dict

from apache_beam.io.filesystem import BeamIOError, CompressionTypes, FileMetadata, FileSystem

STORE: Dict[str, bytes] = {}


class _Writer(io.BytesIO):
    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def close(self):
        if not self.closed:
            STORE[self.path] = self.getvalue()
        super().close()


class MemFileSystem(FileSystem):
    @classmethod
    def scheme(cls):
        return "mem"

    def join(self, basepath, *paths):
        return posixpath.join(basepath, *paths)

    def split(self, path):
        return posixpath.split(path)

    def mkdirs(self, path):
        pass

    def has_dirs(self):
        return False

    def _list(self, dir_or_prefix):
        for key in sorted(STORE):
            if key.startswith(dir_or_prefix):
                yield FileMetadata(key, len(STORE[key]), time.time())

    def create(self, path, mime_type="application/octet-stream", compression_type=CompressionTypes.AUTO):
        return _Writer(path)

    def open(self, path, mime_type="application/octet-stream", compression_type=CompressionTypes.AUTO):
        if path not in STORE:
            raise BeamIOError("not found", {path: FileNotFoundError(path)})
        return io.BytesIO(STORE[path])

    def copy(self, source_file_names, destination_file_names):
        for s, d in zip(source_file_names, destination_file_names):
            STORE[d] = STORE[s]

    def rename(self, source_file_names, destination_file_names):
        for s, d in zip(source_file_names, destination_file_names):
            STORE[d] = STORE.pop(s)

    def exists(self, path):
        return path in STORE

    def size(self, path):
        return len(STORE[path])

    def last_updated(self, path):
        return time.time()

    def checksum(self, path):
        return str(hash(STORE[path]))

    def metadata(self, path):
        return FileMetadata(path, len(STORE[path]), time.time())

    def delete(self, paths):
        for p in paths:
            for key in [k for k in STORE if k == p or k.startswith(p.rstrip("/") + "/")]:
                del STORE[key]

    def report_lineage(self, path, lineage, level=None):
        pass


def upload(local_root: str, prefix: str) -> None:
    import os

    for dirpath, _, files in os.walk(local_root):
        for name in files:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, local_root).replace(os.sep, "/")
            with open(path, "rb") as fh:
                STORE[f"{prefix.rstrip('/')}/{rel}"] = fh.read()


class RefusingFileSystem(MemFileSystem):
    """``refuse://``: lists and reads like ``mem://`` but refuses every write, as a bucket
    the account may only read does."""

    @classmethod
    def scheme(cls):
        return "refuse"

    def create(self, path, mime_type="application/octet-stream", compression_type=CompressionTypes.AUTO):
        raise BeamIOError("Create operation failed", {path: PermissionError(13, "Permission denied", path)})
