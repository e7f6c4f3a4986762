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
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

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
    #: an input making more records or characters than this fails (a 760 KB zip made 90,001 records)
    max_records_per_file: int = Field(default=20_000, ge=1)
    max_chars_per_file: int = Field(default=100_000_000, ge=1)
    # records' uri: SOURCE/path inside the source (default), or the local absolute path when true
    absolute_uris: bool = False
    # the paths as the manifest wrote them, before they were resolved, an absolute one relative to
    # the manifest's folder unless absolute_uris (shown in the report and card: no machine paths)
    _paths_as_written: List[str] = PrivateAttr(default_factory=list)

    @property
    def paths_as_written(self) -> List[str]:
        return list(self._paths_as_written or self.paths)

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
    verify: bool = True  # check candidate pairs' Jaccard before linking them
    exact_max_shingles: int = Field(default=512, ge=0)  # records with at most this many shingles compare exactly
    confirm_representative: bool = True  # drop a record only when it is itself a near-duplicate of its representative
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
    #: address space an extraction may add (MiB); with extract_isolation, each input is read in a
    #: reused child process that is killed at the timeout and fails an input over this limit
    extract_memory_mb: Optional[float] = Field(default=4096, gt=0)
    extract_isolation: bool = True
    #: inputs extracted at once, each in its own child process (with extract_isolation); unset: the
    #: cores this process may use on the local in-process DirectRunner, 1 on any other runner (whose
    #: workers already run one process per core). Never changes the output (not in the digests).
    extract_workers: Optional[int] = Field(default=None, ge=1, le=256)

    # where the manifest was read from (not a YAML field)
    path: Optional[str] = Field(default=None, exclude=True)

    @property
    def absolute_paths(self) -> bool:
        """A source asks for the machine's paths (``absolute_uris: true``): the report and card then
        show the manifest, output and source paths as given; otherwise relative ones only."""
        return any(s.absolute_uris for s in self.sources)

    @property
    def folder(self) -> Optional[str]:
        """The local folder the manifest was read from (what its relative paths are relative to)."""
        if not self.path or io.has_scheme(self.path):
            return None
        return os.path.dirname(os.path.abspath(self.path))

    def shown(self, value):
        """``value`` (a path, or dicts and lists holding paths) as the report and card show it:
        absolute local paths relative to the manifest's folder unless :attr:`absolute_paths`."""
        from telecom_etl.uris import portable

        return value if self.absolute_paths else portable(value, self.folder)

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


def _position(node, loc) -> Optional[tuple]:
    """(line, column) of the YAML node at ``loc`` (of its key in a mapping), or of the closest
    parent that exists: problems are listed in this order, so two on one line (a flow list
    ``[{...}, {...}]``) come out in the order of the file too."""
    def at(mark):
        return mark.line + 1, mark.column

    pos = at(node.start_mark) if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    pos, node = at(key.start_mark), value
                    break
            else:
                return pos
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            pos = at(node.start_mark)
        else:
            return pos
    return pos


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


#: pydantic error type -> our wording (no library or Python words in a user-facing line)
_WORDING = {
    "missing": "required field is missing",
    "list_type": "must be a list (write [value] for a single one)",
    "dict_type": "must be a mapping (key: value)",
    "model_type": "must be a mapping (key: value)",
    "model_attributes_type": "must be a mapping (key: value)",
    "string_type": "must be text",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
}


def _model_at(loc) -> Optional[type]:
    """The manifest model class of the mapping at ``loc`` (for the keys it knows)."""
    import typing

    cls: Any = Manifest
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)) or part not in cls.model_fields:
            return None
        ann = cls.model_fields[part].annotation
        while typing.get_origin(ann) is not None:  # List[X], Dict[str, X], Optional[X]
            args = [a for a in typing.get_args(ann) if a is not type(None)]
            ann = args[-1] if args else None
        cls = ann
    return cls if isinstance(cls, type) and issubclass(cls, BaseModel) else None


def _scalar(value) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None


def _problem(err: dict) -> str:
    """One pydantic error in the manifest's words."""
    from telecom_etl.registry import did_you_mean

    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    got = f" (got {value!r})" if _scalar(value) and kind != "missing" else ""
    if kind == "extra_forbidden":
        model = _model_at(err["loc"][:-1])
        known = sorted(model.model_fields) if model else []
        hint = did_you_mean(err["loc"][-1], [k for k in known if k != "path"]).strip(" ()")
        return f"unknown key ({hint} known: {', '.join(k for k in known if k != 'path')})" if hint else \
            f"unknown key (known: {', '.join(k for k in known if k != 'path')})" if known else "unknown key"
    if kind in _WORDING:
        return _WORDING[kind] + got
    if kind == "too_short":
        n = ctx.get("min_length", 1)
        return f"must list at least {n} item{'s' if n != 1 else ''}"
    if kind in ("less_than", "less_than_equal", "greater_than", "greater_than_equal"):
        bound = next(iter(ctx.values()), "?")
        words = {"less_than": "less than", "less_than_equal": "at most", "greater_than": "greater than",
                 "greater_than_equal": "at least"}[kind]
        return f"must be {words} {bound}{got}"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "")
        options = [o.strip() for o in expected.replace(" or ", ", ").split(",") if o.strip()]
        hint = did_you_mean(value, options).strip(" ()") if isinstance(value, str) else ""
        return f"must be one of {', '.join(options)} (got {value!r}{'; ' + hint if hint else ''})"
    if kind == "string_pattern_mismatch":
        return f"must start with a letter or digit and hold only letters, digits, '_', '.' and '-'{got}"
    if kind == "value_error":
        msg = err["msg"]
        return msg[len("Value error, "):] if msg.startswith("Value error, ") else msg
    msg = err["msg"].replace("Input should be", "must be").replace("Input", "value")
    return msg + got


def _valid_items(model, items) -> List[tuple]:
    """(index, model) of each item that validates on its own (when the whole manifest does not)."""
    out = []
    for i, item in enumerate(items if isinstance(items, list) else []):
        try:
            out.append((i, model.model_validate(item)))
        except ValidationError:
            continue
    return out


def _unknown_profile(add, i: int, profile: str, profiles) -> None:
    from telecom_etl.registry import did_you_mean

    known = ", ".join(sorted(profiles)) or "none"
    hint = did_you_mean(profile, profiles).strip(" ()")
    add(("sources", i, "filter_profile"), f"unknown profile {profile!r} ({hint + ' ' if hint else ''}known: {known})")


def load_manifest(path: str) -> Manifest:
    """Read, validate and resolve a manifest; raises :class:`ManifestError` listing every
    mistake, one line each (``file:line: field: problem``), in the order of the file."""
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

    problems: List[tuple] = []

    def add(loc, msg: str) -> None:
        problems.append((_position(node, loc) or (1, 0), len(problems), f"{_loc_str(loc)}: {msg}"))

    manifest: Optional[Manifest]
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        manifest = None
        for err in exc.errors():
            add(err["loc"], _problem(err))
    if manifest is not None:
        sources = list(enumerate(manifest.sources))
        profiles = {name: list(enumerate(specs)) for name, specs in manifest.filters.profiles.items()}
    else:  # check what can be checked of the parts that are right (at their place in the file)
        sources = _valid_items(SourceConfig, data.get("sources"))
        raw = (data.get("filters") or {}).get("profiles") if isinstance(data.get("filters"), dict) else None
        profiles = {name: _valid_items(FilterSpec, specs)
                    for name, specs in (raw.items() if isinstance(raw, dict) else [])}

    if manifest is None:  # a source that failed validation may still name a profile that does not exist
        valid = {i for i, _ in sources}
        for i, raw_source in enumerate(data.get("sources") if isinstance(data.get("sources"), list) else []):
            wanted = raw_source.get("filter_profile") if isinstance(raw_source, dict) else None
            if i not in valid and isinstance(wanted, str) and wanted not in profiles:
                _unknown_profile(add, i, wanted, profiles)
    base = os.path.dirname(os.path.abspath(path)) if not io.has_scheme(path) else None
    from telecom_etl.uris import shown_path

    names = set()
    for i, source in sources:
        if source.name in names:
            add(("sources", i, "name"), f"duplicate source name {source.name!r}")
        names.add(source.name)
        source._paths_as_written = list(source.paths) if source.absolute_uris else \
            [shown_path(p, base) for p in source.paths]
        resolved = []
        for j, p in enumerate(source.paths):
            p = os.path.expanduser(p)
            if not _is_remote(p) and not os.path.isabs(p) and base is not None:
                p = os.path.normpath(os.path.join(base, p))
            if not _is_remote(p):
                has_glob = any(ch in p for ch in "*?[")
                if (has_glob and not io.match(p)) or (not has_glob and not os.path.exists(p)):
                    add(("sources", i, "paths", j), f"no such file or directory: {p}")
            resolved.append(p)
        source.paths = resolved
        profile = source.filter_profile
        if profile is not None and profile not in profiles:
            _unknown_profile(add, i, profile, profiles)
        _resolve_paths(source.options, base)
        try:
            from telecom_etl.extractors import SOURCES

            SOURCES[source.kind].validate_options(source)
        except (ValueError, TypeError) as exc:
            add(("sources", i, "options"), str(exc))

    from telecom_etl.filters import build_filter

    if manifest is not None and manifest.dedup.previous_index and base is not None \
            and not _is_remote(manifest.dedup.previous_index):
        manifest.dedup.previous_index = os.path.normpath(os.path.join(base, manifest.dedup.previous_index))
    for pname, specs in profiles.items():
        for k, spec in specs:
            _resolve_paths(spec.model_extra or {}, base)
            try:
                build_filter(spec)
            except (KeyError, TypeError, ValueError) as exc:
                param = getattr(exc, "param", None)
                loc = ("filters", "profiles", pname, k) + ((param,) if param else ())
                add(loc, getattr(exc, "problem", None) or str(exc))
    if problems:
        raise ManifestError("\n".join(f"{path}:{pos[0]}: {msg}" for pos, _, msg in sorted(problems)))
    manifest.path = path
    return manifest


#: settings that change how a run is executed, never what it writes: left out of the digests
EXECUTION_ONLY = {"extract_workers"}


def manifest_digest(manifest: Manifest) -> str:
    """A short digest of the validated manifest (goes into the report and dataset card)."""
    import hashlib
    import json

    blob = json.dumps(manifest.model_dump(mode="json", exclude=EXECUTION_ONLY), sort_keys=True).encode()
    return hashlib.sha1(blob).hexdigest()[:12]


_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_name(text: str) -> str:
    return _SAFE.sub("_", text).strip("_") or "x"


def _listing(root: str):
    """What a source path holds, independent of where it sits: (path inside it, size) per file."""
    if _is_remote(root):
        return root
    files = io.match(root)
    base = root if os.path.isdir(root) else None
    out = []
    for f in files:
        rel = os.path.relpath(f, base) if base else os.path.basename(f)
        try:
            out.append([rel.replace(os.sep, "/"), os.path.getsize(f)])
        except OSError:
            out.append([rel, None])
    return sorted(out, key=lambda x: x[0])


def _portable(value):
    if isinstance(value, dict):
        return {k: _portable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_portable(v) for v in value]
    if isinstance(value, str) and os.path.isabs(value) and os.path.exists(value):
        return [os.path.basename(value), os.path.getsize(value) if os.path.isfile(value) else None]
    return value


def portable_digest(manifest: Manifest) -> str:
    """A digest of the settings and of the inputs' names and sizes, never of where they sit.

    The same corpus under another folder or on another machine gives the same digest (a
    run id built on it keeps shards byte-identical); adding, renaming or resizing an input
    changes it.
    """
    import hashlib
    import json

    data = manifest.model_dump(mode="json", exclude=EXECUTION_ONLY)
    for src_dict, src in zip(data["sources"], manifest.sources):
        src_dict["paths"] = [_listing(p) for p in src.paths]
    blob = json.dumps(_portable(data), sort_keys=True).encode()
    return hashlib.sha1(blob).hexdigest()[:16]
