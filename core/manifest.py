"""The manifest: a declarative YAML file naming the sources and the pipeline settings.

Loading validates everything before any work starts; a mistake becomes one
:class:`ManifestError` naming the file, the line and the field, e.g.::

    manifests/x.yaml:7: sources[0].kind: unknown source kind 'pdfs' (known: 3gpp, code, paper, text)
"""
from __future__ import annotations

import os
import re
from typing import Any, Dict, List, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from telecom_etl import io

DEFAULT_MANIFEST = os.path.join("manifests", "sample.yaml")


class ManifestError(Exception):
    """A manifest mistake, as one line: ``file:line: field: what is wrong``."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FilterSpec(_Model):
    """One filter of a profile: its registered name and its constructor arguments."""

    model_config = ConfigDict(extra="allow")
    name: str

    @property
    def params(self) -> Dict[str, Any]:
        return dict(self.model_extra or {})


class SourceConfig(_Model):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    kind: str
    paths: List[str] = Field(min_length=1)
    license: Optional[str] = None
    metadata: Dict[str, Any] = Field(default_factory=dict)
    filter_profile: Optional[str] = None  # defaults to the profile named like the kind, else "default"
    options: Dict[str, Any] = Field(default_factory=dict)  # kind-specific, validated by the source kind
    max_file_mb: float = Field(default=100, gt=0)  # larger inputs fail with a clear reason

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        from telecom_etl.extractors import SOURCES  # registers every kind

        SOURCES.get_or_error(value)
        return value


class FiltersConfig(_Model):
    profiles: Dict[str, List[FilterSpec]] = Field(default_factory=dict)


class DedupConfig(_Model):
    exact: bool = True
    near: bool = True
    ngram: int = Field(default=5, ge=1, le=32)
    num_perm: int = Field(default=128, ge=16, le=1024)
    threshold: float = Field(default=0.8, gt=0, lt=1)
    verify: bool = True  # check candidate pairs' estimated Jaccard before linking them
    spec_policy: Literal["newest", "newest_per_release", "none"] = "newest"
    previous_index: Optional[str] = None  # signatures of an earlier build to dedup against
    seed: int = Field(default=1, ge=0)  # MinHash permutations (signatures compare only with equal seed)
    scheme: Literal["oph", "kperm"] = "oph"  # one-permutation MinHash (fast) or num_perm permutations
    cc_rounds: int = Field(default=8, ge=1, le=64)  # large-star/small-star rounds unrolled in the graph
    write_index: bool = True  # kept records' signatures to OUT/dedup_index/ (a later build's previous_index)


class OutputConfig(_Model):
    shard_max_mb: float = Field(default=256, gt=0)
    row_group_rows: int = Field(default=1000, ge=1)
    compression: Literal["zstd", "snappy", "gzip", "none"] = "zstd"
    write_dropped: bool = True  # dropped records go to OUT/dropped/ for inspection


class Manifest(_Model):
    version: Literal[1] = 1
    name: str = "telecom-etl"
    description: Optional[str] = None
    sources: List[SourceConfig] = Field(min_length=1)
    filters: FiltersConfig = Field(default_factory=FiltersConfig)
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    #: an input still being extracted after this many seconds fails (a hung parser never stalls the run)
    extract_timeout_s: Optional[float] = Field(default=600, gt=0)

    # where the manifest was read from (not a YAML field)
    path: Optional[str] = Field(default=None, exclude=True)

    def profile_for(self, source: SourceConfig) -> List[FilterSpec]:
        name = source.filter_profile
        if name is None:
            name = source.kind if source.kind in self.filters.profiles else "default"
        return list(self.filters.profiles.get(name, []))


# ---------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------

def _loc_str(loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _line_for(node, loc) -> Optional[int]:
    """Line (1-based) of the YAML node at ``loc``, or of the closest parent that exists."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    line, node = key.start_mark.line + 1, value
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _is_remote(path: str) -> bool:
    """Paths not checked at load: URLs (gs://, https://, file://, git@host:...), checked by their source kind."""
    return "://" in path or path.startswith("git@")


#: option / filter parameter names whose values are file paths, resolved like ``paths``
PATH_KEYS = {"clone_cache", "arxiv_metadata", "model_path", "terms_path", "benchmarks", "previous_index"}


def _resolve_paths(values: Dict[str, Any], base: Optional[str]) -> None:
    """Make relative local paths in ``values`` (for PATH_KEYS and ``*_path`` keys) relative to ``base``."""
    if base is None:
        return

    def resolve(v):
        if isinstance(v, str) and v and not _is_remote(v):
            v = os.path.expanduser(v)
            return v if os.path.isabs(v) else os.path.normpath(os.path.join(base, v))
        if isinstance(v, list):
            return [resolve(x) for x in v]
        return v

    for key in list(values):
        if key in PATH_KEYS or key.endswith("_path"):
            values[key] = resolve(values[key])


def load_manifest(path: str) -> Manifest:
    """Read, validate and resolve a manifest; raises :class:`ManifestError` on any mistake."""
    if not io.exists(path):
        raise ManifestError(f"{path}: manifest not found")
    try:
        text = io.read_bytes(path, 16 * 1024 * 1024).decode("utf-8")
    except (UnicodeDecodeError, ValueError, OSError) as exc:
        raise ManifestError(f"{path}: cannot read manifest: {exc}") from None
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ManifestError(f"{path}{where}: not valid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise ManifestError(f"{path}:1: a manifest is a mapping with at least 'sources'")
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        line = _line_for(node, err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required field is missing"
        elif err["type"] == "value_error" and msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        more = f" (and {len(exc.errors()) - 1} more problem(s))" if len(exc.errors()) > 1 else ""
        raise ManifestError(f"{path}:{line or 1}: {_loc_str(err['loc'])}: {msg}{more}") from None

    base = os.path.dirname(os.path.abspath(path)) if not io.has_scheme(path) else None
    manifest.path = path
    names = set()
    for i, source in enumerate(manifest.sources):
        if source.name in names:
            line = _line_for(node, ("sources", i, "name"))
            raise ManifestError(f"{path}:{line}: sources[{i}].name: duplicate source name {source.name!r}")
        names.add(source.name)
        resolved = []
        for j, p in enumerate(source.paths):
            p = os.path.expanduser(p)
            if not _is_remote(p) and not os.path.isabs(p) and base is not None:
                p = os.path.normpath(os.path.join(base, p))
            if not _is_remote(p):
                has_glob = any(ch in p for ch in "*?[")
                if (has_glob and not io.match(p)) or (not has_glob and not os.path.exists(p)):
                    line = _line_for(node, ("sources", i, "paths", j))
                    raise ManifestError(f"{path}:{line}: sources[{i}].paths[{j}]: no such file or directory: {p}")
            resolved.append(p)
        source.paths = resolved
        profile = source.filter_profile
        if profile is not None and profile not in manifest.filters.profiles:
            line = _line_for(node, ("sources", i, "filter_profile"))
            known = ", ".join(sorted(manifest.filters.profiles)) or "none"
            raise ManifestError(f"{path}:{line}: sources[{i}].filter_profile: unknown profile {profile!r} (known: {known})")
        _resolve_paths(source.options, base)
        try:
            from telecom_etl.extractors import SOURCES

            SOURCES[source.kind].validate_options(source)
        except (ValueError, TypeError) as exc:
            line = _line_for(node, ("sources", i, "options"))
            raise ManifestError(f"{path}:{line}: sources[{i}].options: {exc}") from None

    from telecom_etl.filters import build_filter

    if manifest.dedup.previous_index and base is not None and not _is_remote(manifest.dedup.previous_index):
        manifest.dedup.previous_index = os.path.normpath(os.path.join(base, manifest.dedup.previous_index))
    for pname, specs in manifest.filters.profiles.items():
        for k, spec in enumerate(specs):
            _resolve_paths(spec.model_extra or {}, base)
            try:
                build_filter(spec)
            except (KeyError, TypeError, ValueError) as exc:
                line = _line_for(node, ("filters", "profiles", pname, k))
                msg = str(exc)
                raise ManifestError(f"{path}:{line}: filters.profiles.{pname}[{k}]: {msg}") from None
    return manifest


def manifest_digest(manifest: Manifest) -> str:
    """A short digest of the validated manifest (goes into the report and dataset card)."""
    import hashlib
    import json

    blob = json.dumps(manifest.model_dump(mode="json"), sort_keys=True).encode()
    return hashlib.sha1(blob).hexdigest()[:12]


_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_name(text: str) -> str:
    return _SAFE.sub("_", text).strip("_") or "x"
