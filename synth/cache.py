"""Disk cache of teacher answers: one JSON file per request key, written atomically.

Every teacher request is keyed by :func:`cache_key` (sha256 of model, messages,
parameters and prompt version). The answer is stored as ``ROOT/ab/<key>.json``:
written to a temporary file in the same folder, flushed and fsynced, then renamed, so
a run killed mid-write leaves at most an ignored ``.tmp-*`` file, never a half entry.
One file per key (rather than one database) lets several processes or Beam workers
share a folder without locks, and a remote folder (``gs://...``) works through
:mod:`telecom_etl.io`.

Only successful answers are stored (a truncated answer was paid for, so it is stored
too); failures are not, so a re-run retries them and sends nothing else.
Entries never contain API keys: they hold the answer, usage and the model name only.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from typing import Any, Optional

from telecom_etl import io

CACHE_FORMAT = 1


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def cache_key(model: str, messages: list, params: dict, prompt_version: str) -> str:
    """The request's identity: the same model, messages, parameters and prompt version, the same key."""
    payload = {"model": model, "messages": messages, "params": params, "prompt_version": prompt_version}
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


class RequestCache:
    """``get(key) -> dict | None`` and ``put(key, entry)``; safe across processes and kills."""

    def __init__(self, root: str):
        self.root = root
        self.remote = io.has_scheme(root)  # folders are made by the first put

    def path(self, key: str) -> str:
        return io.join(self.root, key[:2], key + ".json")

    def get(self, key: str) -> Optional[dict]:
        path = self.path(key)
        try:
            if self.remote:
                if not io.exists(path):
                    return None
                data = io.read_bytes(path)
            else:
                with open(path, "rb") as fh:
                    data = fh.read()
        except FileNotFoundError:
            return None
        try:
            entry = json.loads(data)
        except ValueError:  # damaged by something other than us (we never write in place): a miss
            return None
        if not isinstance(entry, dict) or entry.get("key") != key or entry.get("format") != CACHE_FORMAT:
            return None
        return entry

    def put(self, key: str, entry: dict) -> None:
        entry = {**entry, "key": key, "format": CACHE_FORMAT}
        data = canonical_json(entry).encode("utf-8")
        path = self.path(key)
        if self.remote:
            io.write_bytes_atomic(path, data)
            return
        folder = os.path.dirname(path)
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
        try:
            os.fchmod(fd, io.file_mode())  # as open() would, not mkstemp's 0600
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def keys(self) -> list:
        """Every stored key (sorted); for tests and cache inspection."""
        if self.remote:
            paths = io.match(io.join(self.root, "*", "*.json"))
        else:
            paths = [os.path.join(dp, f) for dp, _, fs in os.walk(self.root) for f in fs
                     if f.endswith(".json") and not f.startswith(".tmp-")]
        return sorted(p.rsplit("/", 1)[-1][:-5] for p in paths if len(p.rsplit("/", 1)[-1]) == 69)

    # a small side store for resumable batch jobs (see Teacher.complete_batch)
    def journal_path(self, name: str) -> str:
        return io.join(self.root, "_batches", name + ".json")

    def read_journal(self, name: str) -> Optional[dict]:
        path = self.journal_path(name)
        if not io.exists(path):
            return None
        try:
            return json.loads(io.read_bytes(path))
        except ValueError:
            return None

    def write_journal(self, name: str, value: dict) -> None:
        io.write_bytes_atomic(self.journal_path(name), canonical_json(value).encode("utf-8"))
