"""What a path inside a code tree says about its file: vendored, generated, cache, VCS.

Shared by the listing (which drops vendored folders as counted ``vendored`` drops) and
by the code filters (which judge records that reached them some other way).
"""
from __future__ import annotations

import fnmatch
import re
from typing import Iterable, List, Optional, Tuple

from telecom_etl.listing import VCS_DIRS, glob_regex  # noqa: F401 (shared with every source's listing)


#: Folders that hold other projects' code copied in (dependencies, bundled libraries).
VENDORED_DIRS = frozenset({
    "node_modules", "bower_components", "jspm_packages", "vendor", "vendors", "_vendor", "vendored",
    "third_party", "third-party", "thirdparty", "3rdparty", "3rd_party", "3rd-party", "external",
    "externals", "extern", "Pods", "Carthage", "site-packages", "dist-packages", ".venv", "venv",
    ".cargo", "go-mod-cache", "subprojects", "deps", "_deps",
})

#: Tool caches, packaging output and editor state: made by tools, never source.
BUILD_ARTIFACT_SUFFIXES = (".egg-info", ".dist-info")
CACHE_DIRS = frozenset({
    "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".nox", ".eggs",
    ".gradle", ".idea", ".ipynb_checkpoints", ".cache", ".sass-cache", ".terraform", ".DS_Store",
    "_build", "CMakeFiles", ".cmake", ".pio", ".stack-work", "autom4te.cache",
})

#: File names of generated code: (glob, what made it).
GENERATED_NAMES: Tuple[Tuple[str, str], ...] = (
    ("*.pb.go", "protobuf (Go)"), ("*.pb.gw.go", "grpc-gateway"), ("*_grpc.pb.go", "gRPC (Go)"),
    ("*_pb2.py", "protobuf (Python)"), ("*_pb2.pyi", "protobuf (Python)"), ("*_pb2_grpc.py", "gRPC (Python)"),
    ("*.pb.cc", "protobuf (C++)"), ("*.pb.h", "protobuf (C++)"), ("*.pb-c.c", "protobuf-c"), ("*.pb-c.h", "protobuf-c"),
    ("*.grpc.pb.cc", "gRPC (C++)"), ("*.grpc.pb.h", "gRPC (C++)"), ("*_pb.js", "protobuf (JS)"),
    ("*.pb.rs", "protobuf (Rust)"), ("*.min.js", "minified"), ("*-min.js", "minified"), ("*.min.css", "minified"),
    ("*.min.mjs", "minified"), ("*.bundle.js", "bundled"), ("*.chunk.js", "bundled"), ("*.js.map", "source map"),
    ("*.css.map", "source map"), ("*.designer.cs", "designer"), ("*.g.cs", "generated (C#)"),
    ("*.g.dart", "generated (Dart)"), ("*.freezed.dart", "generated (Dart)"), ("*_generated.go", "generated"),
    ("*.generated.*", "generated"), ("zz_generated*.go", "generated"), ("moc_*.cpp", "Qt moc"), ("ui_*.h", "Qt uic"),
    ("qrc_*.cpp", "Qt rcc"), ("package-lock.json", "lock file"), ("yarn.lock", "lock file"),
    ("pnpm-lock.yaml", "lock file"), ("Cargo.lock", "lock file"), ("poetry.lock", "lock file"),
    ("Pipfile.lock", "lock file"), ("composer.lock", "lock file"), ("Gemfile.lock", "lock file"),
    ("go.sum", "lock file"), ("uv.lock", "lock file"), ("configure", "autoconf"), ("config.status", "autoconf"),
    ("Makefile.in", "automake"), ("aclocal.m4", "aclocal"), ("ltmain.sh", "libtool"), ("libtool", "libtool"),
    ("config.guess", "autoconf"), ("config.sub", "autoconf"), ("depcomp", "automake"), ("missing", "automake"),
    ("install-sh", "automake"), ("compile", "automake"),
    ("*_wrap.c", "SWIG"), ("*_wrap.cxx", "SWIG"), ("*_wrap.cpp", "SWIG"), ("*_wrap.h", "SWIG"),
    # asn1c's runtime skeletons, copied beside the code it generates (no header saying so)
    ("asn_application.[ch]", "asn1c skeleton"), ("asn_codecs*.[ch]", "asn1c skeleton"),
    ("asn_internal.[ch]", "asn1c skeleton"), ("asn_system.h", "asn1c skeleton"), ("asn_SEQUENCE_OF.[ch]", "asn1c skeleton"),
    ("asn_SET_OF.[ch]", "asn1c skeleton"), ("asn_bit_data.[ch]", "asn1c skeleton"), ("asn_random_fill.[ch]", "asn1c skeleton"),
    ("asn_ioc.h", "asn1c skeleton"), ("constr_*.[ch]", "asn1c skeleton"), ("ber_tlv_*.[ch]", "asn1c skeleton"),
    ("ber_decoder.[ch]", "asn1c skeleton"), ("der_encoder.[ch]", "asn1c skeleton"), ("per_decoder.[ch]", "asn1c skeleton"),
    ("per_encoder.[ch]", "asn1c skeleton"), ("per_support.[ch]", "asn1c skeleton"), ("per_opentype.[ch]", "asn1c skeleton"),
    ("xer_decoder.[ch]", "asn1c skeleton"), ("xer_encoder.[ch]", "asn1c skeleton"), ("xer_support.[ch]", "asn1c skeleton"),
    ("aper_*.[ch]", "asn1c skeleton"), ("uper_*.[ch]", "asn1c skeleton"), ("oer_*.[ch]", "asn1c skeleton"),
    ("converter-example.c", "asn1c skeleton"), ("converter-sample.c", "asn1c skeleton"),
    ("pdu_collection.c", "asn1c"), ("Makefile.am.libasncodec", "asn1c"), ("Makefile.am.asn1convert", "asn1c"),
)


#: Entries that mark a whole folder as a code generator's output: (name, what made it).
#: openapi-generator and swagger-codegen write them at the root of every tree they make
#: (a 5G core's SBI clients: thousands of files, many without a header comment).
GENERATOR_TREE_MARKERS: Tuple[Tuple[str, str], ...] = (
    (".openapi-generator", "openapi-generator"), (".openapi-generator-ignore", "openapi-generator"),
    (".swagger-codegen", "swagger-codegen"), (".swagger-codegen-ignore", "swagger-codegen"),
)
_TREE_MARKERS = dict(GENERATOR_TREE_MARKERS)


def generator_tree_marker(names: Iterable[str]) -> Optional[str]:
    """The generator whose marker is among a folder's entry names, else None."""
    for name in sorted(names):
        if name in _TREE_MARKERS:
            return f"{_TREE_MARKERS[name]} ({name})"
    return None


def path_parts(relpath: str) -> List[str]:
    return [p for p in relpath.replace("\\", "/").split("/") if p and p != "."]


def is_build_artifact_dir(name: str) -> bool:
    return name in CACHE_DIRS or name.endswith(BUILD_ARTIFACT_SUFFIXES)


def build_artifact_dir(relpath: str) -> Optional[str]:
    for part in path_parts(relpath)[:-1]:
        if is_build_artifact_dir(part):
            return part
    return None


def vendored_dir(relpath: str, names: Iterable[str] = VENDORED_DIRS) -> Optional[str]:
    """The vendored folder name on ``relpath``'s way (not its own file name), else None."""
    names = frozenset(names)
    for part in path_parts(relpath)[:-1]:
        if part in names:
            return part
    return None


_GENERATED_NAME = re.compile("|".join(f"(?P<g{i}>{fnmatch.translate(p)})" for i, (p, _) in enumerate(GENERATED_NAMES)))


def generated_name(relpath: str) -> Optional[str]:
    """What generated a file, judged by its name alone (``x.pb.go``: protobuf (Go))."""
    parts = path_parts(relpath)
    base = parts[-1] if parts else ""
    m = _GENERATED_NAME.match(base)  # one regex for all patterns: this runs once per record
    if m is None:
        return None
    return f"{GENERATED_NAMES[int(m.lastgroup[1:])][1]}: {base}"


class PathSelector:
    """The ``include`` / ``exclude`` globs of a source, over paths relative to its root."""

    def __init__(self, include: Optional[List[str]] = None, exclude: Optional[List[str]] = None):
        self.include = [(p, glob_regex(p)) for p in include or []]
        self.exclude = [(p, glob_regex(p)) for p in exclude or []]

    def why_not(self, relpath: str) -> Optional[str]:
        """None when selected, else the reason (which pattern excluded it)."""
        rel = "/".join(path_parts(relpath))
        for pattern, rx in self.exclude:
            if rx.match(rel):
                return f"matches exclude pattern {pattern!r}"
        if self.include and not any(rx.match(rel) for _, rx in self.include):
            return "matches no include pattern"
        return None
