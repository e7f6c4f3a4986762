"""Records' text out of the runner's memory: spill files and the references that replace the text.

A local Beam runner holds every shuffled PCollection in memory, so a record that carries its
text through the dedup shuffles and into the shard writer's grouping makes a build's memory
grow with its input (issue 20: 2.4 MB of RSS per MB of input). ``build-pretrain`` therefore
moves the text out right after the filter stage, still inside the fused extract -> normalise
-> filter step, before any shuffle:

* :func:`spill` writes the texts of a batch of records to one *spill file* under the run's
  staging folder (write-then-rename through :mod:`telecom_etl.io`, so ``gs://`` works; the
  name is a hash of the ids it holds, so a retried batch writes the same file) and returns
  the records with ``text`` replaced by a :class:`SpilledText`: where the text is, its length,
  and what later stages need from it (near-dedup's MinHash signature and a small record's
  shingle set, computed while the text is at hand).
* Dedup stages see only these light records (``len(doc.text)`` still gives the length, so
  ranking, accounting and shard sizing are unchanged; anything that would read the text
  fails loudly instead of reading a reference).
* The shard writer (:mod:`telecom_etl.pipelines.write`) reads the texts back with a
  :class:`TextReader`, one row group at a time, and writes the same bytes as before.

A spill file is the records' UTF-8 texts (``surrogatepass``: any Python string comes back
exactly) one after the other; a reference is (path, byte offset, byte length). The spill
folder lives in the run's staging folder: it is removed before the commit, and a killed
run's is removed with the rest of its staging folder by the next run.
"""
from __future__ import annotations

import hashlib
import os
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from telecom_etl import io
from telecom_etl.record import Document, content_hash

SPILL_FOLDER = "_spill"
#: a Sketch: (MinHash signature bytes, shingle-set bytes or b"") of one text
Sketch = Tuple[bytes, bytes]


def visible_chars(text) -> int:
    """Characters other than spaces and line breaks, of a text or of a spilled one (counted
    when it was spilled): what dedup_version weighs a rendering's lost glyphs against."""
    if isinstance(text, SpilledText):
        if text.n_visible is None:
            raise ValueError(f"{text!r} was spilled without its visible-character count")
        return text.n_visible
    return len(text) - text.count(" ") - text.count("\n")


class SpilledText:
    """A record's text moved to a spill file. ``len()`` is the text's length in characters;
    ``sketch`` is near-dedup's (signature, shingle set) of the text, when the build dedups."""

    __slots__ = ("path", "offset", "size", "n_chars", "sketch", "n_visible")

    def __init__(self, path: str, offset: int, size: int, n_chars: int, sketch: Optional[Sketch] = None,
                 n_visible: Optional[int] = None):
        self.path, self.offset, self.size, self.n_chars, self.sketch = path, offset, size, n_chars, sketch
        self.n_visible = n_visible  # characters other than spaces and line breaks (see visible_chars)

    def __len__(self) -> int:
        return self.n_chars

    def __reduce__(self):
        return SpilledText, (self.path, self.offset, self.size, self.n_chars, self.sketch, self.n_visible)

    def __eq__(self, other) -> bool:
        return isinstance(other, SpilledText) and self.__reduce__() == other.__reduce__()

    def __hash__(self) -> int:
        return hash((self.path, self.offset))

    def __repr__(self) -> str:
        return f"SpilledText({self.path!r}, offset={self.offset}, size={self.size}, n_chars={self.n_chars})"


def is_spilled(text) -> bool:
    return isinstance(text, SpilledText)


def spill_name(ids: Sequence[str]) -> str:
    """The spill file of a batch, named by the ids it holds (the same batch, the same name)."""
    digest = hashlib.sha1("\x00".join(ids).encode("utf-8")).hexdigest()
    return f"spill-{digest[:32]}.txt"


def spill(docs: Sequence[Document], folder: str,
          sketcher: Optional[Callable[[List[str]], List[Sketch]]] = None) -> List[Document]:
    """Write the texts of ``docs`` to one spill file in ``folder``; the records with their text
    replaced by a :class:`SpilledText` (and ``content_hash`` filled in when it was not set, as
    the shard writer would have)."""
    if not docs:
        return []
    texts = [d.text for d in docs]
    sketches = sketcher(texts) if sketcher is not None else [None] * len(texts)
    encoded = [t.encode("utf-8", "surrogatepass") for t in texts]
    path = io.join(folder, spill_name([d.id for d in docs]))
    io.write_bytes_atomic(path, b"".join(encoded))
    out, offset = [], 0
    for doc, text, data, sketch in zip(docs, texts, encoded, sketches):
        ref = SpilledText(path, offset, len(data), len(text), sketch, visible_chars(text))
        offset += len(data)
        changes = {"text": ref}
        if doc.content_hash is None:
            changes["content_hash"] = content_hash(text)
        out.append(doc.replace(**changes))
    return out


class TextReader:
    """Reads spilled texts back. Local spill files are read in place (``pread``); a remote one
    (``gs://``) is fetched in forward order, range by range, into a local scratch file once per
    reader, so that a shard's random order of ids never makes random reads on an object store."""

    def __init__(self, max_open: int = 64):
        self.max_open = max_open
        self._fds: Dict[str, int] = {}
        self._local: Dict[Tuple[str, int], Tuple[str, int]] = {}  # remote (path, offset) -> (scratch, offset)
        self._scratch: Optional[str] = None

    # -- remote spill files: fetch what will be read, in file order --------------------------------
    def prefetch(self, refs: Sequence[SpilledText]) -> None:
        """Copy the remote ``refs`` (all the reader will be asked for) to a local scratch file."""
        remote = sorted({(r.path, r.offset, r.size) for r in refs if io.has_scheme(r.path)})
        remote = [r for r in remote if (r[0], r[1]) not in self._local]
        if not remote:
            return
        import tempfile

        from apache_beam.io.filesystems import FileSystems

        if self._scratch is None:
            fd, self._scratch = tempfile.mkstemp(prefix="telecom-etl-spill-")
            os.close(fd)
        with open(self._scratch, "ab") as out:
            at = out.tell()
            current, fh, pos = None, None, 0
            try:
                for path, offset, size in remote:
                    if path != current:
                        if fh is not None:
                            fh.close()
                        fh, current, pos = FileSystems.open(path), path, 0
                    if offset != pos:
                        fh.seek(offset)
                    data = fh.read(size)
                    if len(data) != size:
                        raise OSError(f"spill file {path} is shorter than its references (offset {offset})")
                    pos = offset + size
                    out.write(data)
                    self._local[(path, offset)] = (self._scratch, at)
                    at += size
            finally:
                if fh is not None:
                    fh.close()

    # -- reading ---------------------------------------------------------------------------------
    def _fd(self, path: str) -> int:
        fd = self._fds.get(path)
        if fd is None:
            if len(self._fds) >= self.max_open:
                old = next(iter(self._fds))
                os.close(self._fds.pop(old))
            fd = self._fds[path] = os.open(path[len("file://"):] if path.startswith("file://") else path,
                                           os.O_RDONLY)
        return fd

    def _where(self, ref: SpilledText) -> Tuple[int, int]:
        path, offset = ref.path, ref.offset
        if io.has_scheme(path):
            if (path, offset) not in self._local:
                self.prefetch([ref])
            path, offset = self._local[(ref.path, ref.offset)]
        return self._fd(path), offset

    def read(self, ref: SpilledText) -> str:
        fd, offset = self._where(ref)
        data = os.pread(fd, ref.size, offset)
        if len(data) != ref.size:
            raise OSError(f"spill file {ref.path} is shorter than its references (offset {ref.offset})")
        return data.decode("utf-8", "surrogatepass")

    def read_into(self, ref: SpilledText, into: memoryview) -> None:
        """The text's UTF-8 bytes into ``into`` (``ref.size`` bytes long), without a Python string."""
        fd, offset = self._where(ref)
        done = 0
        while done < ref.size:
            n = os.preadv(fd, [into[done:]], offset + done)
            if n <= 0:
                raise OSError(f"spill file {ref.path} is shorter than its references (offset {ref.offset})")
            done += n

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds = {}
        if self._scratch is not None:
            try:
                os.unlink(self._scratch)
            except OSError:
                pass
            self._scratch = None
        self._local = {}

    def __enter__(self) -> "TextReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
