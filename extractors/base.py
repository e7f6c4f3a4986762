"""Source kinds: how a manifest source becomes input items, and an item becomes documents.

A source kind is one class registered under a name (the manifest's ``kind``):

* :meth:`SourceKind.list_items` expands the source's paths into :class:`SourceItem`\\ s
  (files, or members a kind wants to treat separately). It runs inside the pipeline,
  so a listing failure is a counted reject, not a crash.
* :meth:`SourceKind.extract` turns one item into zero or more :class:`Document`\\ s,
  or :class:`Dropped` markers for inputs skipped on purpose (e.g. a binary file in a
  code tree). Raising an exception fails the item with that error as the reason.

Neither knows about Beam, counting or output files.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, Optional, Union

from telecom_etl import io, listing
from telecom_etl.outcome import Dropped
from telecom_etl.record import Document
from telecom_etl.uris import record_id, shown_uri


@dataclass(frozen=True)
class SourceItem:
    """One input of a source: a file (local or remote) and what listing learned about it."""

    source: str  # manifest source name
    kind: str
    uri: str
    root: Optional[str] = None  # the manifest path this item was found under
    meta: Dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def name(self) -> str:
        return os.path.basename(self.uri.rstrip("/"))

    @property
    def relpath(self) -> str:
        if self.root and not io.has_scheme(self.uri) and os.path.isdir(self.root):
            return os.path.relpath(self.uri, self.root)
        return self.name


Extracted = Union[Document, Dropped]


class SourceKind:
    """Base class of a source kind. Subclasses override :meth:`extract` (and maybe listing)."""

    registry_name = "source"
    document_kind = "text"  # Document.kind of what this source produces

    def __init__(self, config):
        self.config = config  # telecom_etl.manifest.SourceConfig

    @classmethod
    def validate_options(cls, config) -> None:
        """Raise ValueError for bad ``options`` of this kind (called at manifest load)."""
        if config.options:
            raise ValueError(f"source kind {config.kind!r} takes no options (got {sorted(config.options)})")

    # -- listing ---------------------------------------------------------
    def list_items(self) -> Iterator[Union[SourceItem, Dropped]]:
        """The files under each manifest path; a local path never leads out of its root
        (links, FIFOs, devices and non-UTF-8 names are counted drops: :mod:`telecom_etl.listing`)."""
        for root in self.config.paths:
            found = io.match(root) if io.has_scheme(root) else listing.list_path(root)
            for path in found:
                yield path if isinstance(path, Dropped) else SourceItem(self.config.name, self.config.kind, path,
                                                                        root=root)

    # -- extraction ------------------------------------------------------
    @property
    def max_bytes(self) -> int:
        return int(self.config.max_file_mb * 1024 * 1024)

    def read(self, item: SourceItem) -> bytes:
        # a file found under a root is opened without following a link (it may have become one
        # since listing) and only when it is still a regular file (a FIFO would block the read)
        return io.read_bytes(item.uri, self.max_bytes, regular_only=item.uri != item.root)

    def extract(self, item: SourceItem) -> Iterator[Extracted]:  # pragma: no cover - abstract
        raise NotImplementedError

    def wrong_kind(self, item: SourceItem, wanted: str, looks: str = "", content: str = "") -> Dropped:
        """The one outcome of an input that is not what this kind reads (a paper PDF listed under
        ``kind: 3gpp``, a text file named ``.pdf``): a counted ``wrong_kind`` drop that says what
        it looks like, the same for every kind."""
        from telecom_etl.extractors.sniff import LOOKS_LIKE, wrong_kind_detail

        return Dropped("wrong_kind", wrong_kind_detail(self.config.kind, wanted, looks or LOOKS_LIKE.get(content, content),
                                                       content), uri=item.uri)

    def new_document(self, item: SourceItem, text: str, part: str = "", **fields: Any) -> Document:
        """A document from ``item`` with the source's license and default metadata applied."""
        cfg = self.config
        values: Dict[str, Any] = {}
        extra: Dict[str, str] = {}
        from dataclasses import fields as dc_fields

        known = {f.name for f in dc_fields(Document)}
        for key, value in (cfg.metadata or {}).items():
            if key in known:
                values[key] = value
            else:
                extra[str(key)] = str(value)
        values.update({k: v for k, v in fields.items() if v is not None})
        extra.update(values.pop("extra", {}) or {})
        values.setdefault("license", cfg.license)
        values.setdefault("kind", self.document_kind)
        # id and uri from the path inside the source, never from where the corpus sits (telecom_etl.uris)
        return Document(id=record_id(cfg, item.uri, part), text=text, source=cfg.name,
                        uri=shown_uri(cfg, item.uri) + (f"#{part}" if part else ""), extra=extra, **values)
