"""Programming language of a file from its name (extension, well-known file name) or shebang.

The table follows the names GitHub Linguist and The Stack use, and adds what telecom
code trees hold beyond the usual: ASN.1 and SNMP MIBs (protocol definitions), TTCN-3
(ETSI/3GPP conformance tests), YANG (NETCONF models), P4 (data planes), OMNeT++ NED and
ns-2 Tcl (simulators), GNU Radio Companion flowgraphs, MATLAB/Octave, Verilog/VHDL.
"""
from __future__ import annotations

import posixpath
import re
from typing import Optional

EXTENSIONS = {
    # systems languages
    ".c": "C", ".h": "C", ".cc": "C++", ".cpp": "C++", ".cxx": "C++", ".c++": "C++", ".hh": "C++",
    ".hpp": "C++", ".hxx": "C++", ".h++": "C++", ".ipp": "C++", ".tcc": "C++", ".inl": "C++",
    ".cu": "CUDA", ".cuh": "CUDA", ".cl": "OpenCL", ".ispc": "ISPC",
    ".rs": "Rust", ".go": "Go", ".zig": "Zig", ".nim": "Nim", ".d": "D",
    ".s": "Assembly", ".S": "Assembly", ".asm": "Assembly", ".nasm": "Assembly",
    ".f": "Fortran", ".for": "Fortran", ".f77": "Fortran", ".f90": "Fortran", ".f95": "Fortran",
    ".f03": "Fortran", ".f08": "Fortran",
    # JVM, .NET, mobile
    ".java": "Java", ".kt": "Kotlin", ".kts": "Kotlin", ".scala": "Scala", ".groovy": "Groovy",
    ".gradle": "Groovy", ".clj": "Clojure", ".cs": "C#", ".fs": "F#", ".vb": "Visual Basic",
    ".swift": "Swift", ".mm": "Objective-C++", ".dart": "Dart",
    # scripting
    ".py": "Python", ".pyi": "Python", ".pyw": "Python", ".pyx": "Cython", ".pxd": "Cython",
    ".pxi": "Cython", ".rb": "Ruby", ".pl": "Perl", ".pm": "Perl", ".t": "Perl", ".php": "PHP",
    ".lua": "Lua", ".tcl": "Tcl", ".exp": "Tcl", ".r": "R", ".R": "R", ".jl": "Julia",
    ".sh": "Shell", ".bash": "Shell", ".zsh": "Shell", ".ksh": "Shell", ".fish": "Shell",
    ".ps1": "PowerShell", ".psm1": "PowerShell", ".bat": "Batchfile", ".cmd": "Batchfile",
    ".awk": "Awk", ".sed": "sed",
    # functional, BEAM
    ".erl": "Erlang", ".hrl": "Erlang", ".app.src": "Erlang", ".escript": "Erlang",
    ".ex": "Elixir", ".exs": "Elixir", ".hs": "Haskell", ".lhs": "Haskell", ".ml": "OCaml",
    ".mli": "OCaml", ".elm": "Elm", ".lisp": "Common Lisp", ".scm": "Scheme", ".rkt": "Racket",
    # web
    ".js": "JavaScript", ".mjs": "JavaScript", ".cjs": "JavaScript", ".jsx": "JavaScript",
    ".ts": "TypeScript", ".tsx": "TypeScript", ".mts": "TypeScript", ".vue": "Vue",
    ".svelte": "Svelte", ".html": "HTML", ".htm": "HTML", ".css": "CSS", ".scss": "SCSS",
    ".sass": "Sass", ".less": "Less",
    # hardware, DSP, maths
    ".m": "MATLAB", ".mlx": "MATLAB", ".v": "Verilog", ".vh": "Verilog", ".sv": "SystemVerilog",
    ".svh": "SystemVerilog", ".vhd": "VHDL", ".vhdl": "VHDL", ".xdc": "Tcl", ".sdc": "Tcl",
    ".tla": "TLA+", ".mod": "AMPL",
    # telecom protocol definitions, tests, simulators, data planes
    ".asn": "ASN.1", ".asn1": "ASN.1", ".mib": "SMI", ".my": "SMI", ".smi": "SMI",
    ".ttcn": "TTCN-3", ".ttcn3": "TTCN-3", ".ttcnpp": "TTCN-3", ".ttcnin": "TTCN-3",
    ".yang": "YANG", ".p4": "P4", ".proto": "Protocol Buffer", ".thrift": "Thrift",
    ".fbs": "FlatBuffers", ".capnp": "Cap'n Proto", ".avdl": "Avro IDL", ".idl": "IDL",
    ".ned": "OMNeT++ NED", ".sdl": "SDL", ".msc": "MSC", ".cddl": "CDDL", ".gdmo": "GDMO", ".abnf": "ABNF", ".bnf": "BNF", ".ebnf": "EBNF",
    ".i": "SWIG", ".swg": "SWIG", ".swig": "SWIG",  # interface files of GNU Radio / srsRAN / liquid-dsp bindings
    ".grc": "GNU Radio Companion", ".dts": "Device Tree", ".dtsi": "Device Tree",
    ".bb": "BitBake", ".bbappend": "BitBake", ".bbclass": "BitBake",
    # build systems
    ".cmake": "CMake", ".mk": "Makefile", ".mak": "Makefile", ".am": "Makefile",
    ".ac": "M4Sugar", ".m4": "M4", ".bzl": "Starlark", ".bazel": "Starlark", ".star": "Starlark",
    ".ninja": "Ninja", ".nix": "Nix", ".dockerfile": "Dockerfile", ".sql": "SQL",
    ".patch": "Diff", ".diff": "Diff",
    # documentation
    ".md": "Markdown", ".markdown": "Markdown", ".rst": "reStructuredText", ".adoc": "AsciiDoc",
    ".asciidoc": "AsciiDoc", ".tex": "TeX", ".txt": "Text", ".org": "Org",
    # data and configuration
    ".json": "JSON", ".jsonc": "JSON", ".json5": "JSON", ".geojson": "JSON", ".yaml": "YAML",
    ".yml": "YAML", ".toml": "TOML", ".ini": "INI", ".cfg": "INI", ".conf": "INI",
    ".service": "INI", ".xml": "XML", ".xsd": "XML", ".xsl": "XML", ".xslt": "XML",
    ".wsdl": "XML", ".csv": "CSV", ".tsv": "TSV", ".ipynb": "Jupyter Notebook",
}

FILENAMES = {
    "makefile": "Makefile", "gnumakefile": "Makefile", "kbuild": "Makefile",
    "cmakelists.txt": "CMake", "dockerfile": "Dockerfile", "containerfile": "Dockerfile",
    "kconfig": "Kconfig", "jenkinsfile": "Groovy", "vagrantfile": "Ruby", "rakefile": "Ruby",
    "gemfile": "Ruby", "sconstruct": "Python", "sconscript": "Python", "build.bazel": "Starlark",
    "workspace.bazel": "Starlark", "meson.build": "Meson", "meson_options.txt": "Meson",
    "go.mod": "Go Module", "rebar.config": "Erlang", "readme": "Text", "install": "Text",
    "changelog": "Text", "news": "Text", "todo": "Text", "authors": "Text",
    "configure.ac": "M4Sugar", "configure.in": "M4Sugar", "omnetpp.ini": "INI",
}

#: Interpreter (from a shebang line) -> language.
INTERPRETERS = {
    "python": "Python", "pypy": "Python", "bash": "Shell", "sh": "Shell", "dash": "Shell",
    "zsh": "Shell", "ksh": "Shell", "ash": "Shell", "fish": "Shell", "perl": "Perl", "ruby": "Ruby",
    "node": "JavaScript", "nodejs": "JavaScript", "deno": "TypeScript", "lua": "Lua", "luajit": "Lua",
    "tclsh": "Tcl", "wish": "Tcl", "expect": "Tcl", "ns": "Tcl", "rscript": "R", "octave": "MATLAB",
    "escript": "Erlang", "elixir": "Elixir", "php": "PHP", "awk": "Awk", "gawk": "Awk",
    "make": "Makefile", "julia": "Julia", "pwsh": "PowerShell", "runghc": "Haskell",
    "stack": "Haskell", "swift": "Swift", "groovy": "Groovy", "scala": "Scala", "osascript": "AppleScript",
}

#: Languages whose files are prose rather than code (line-length rules do not fit them).
PROSE_LANGUAGES = frozenset({"Markdown", "reStructuredText", "AsciiDoc", "Text", "Org", "TeX"})
#: Data and configuration formats (size-range rules apply to them).
DATA_LANGUAGES = frozenset({"JSON", "YAML", "TOML", "INI", "XML", "CSV", "TSV", "GNU Radio Companion"})

KNOWN_LANGUAGES = frozenset(EXTENSIONS.values()) | frozenset(FILENAMES.values()) | frozenset(INTERPRETERS.values())

_VERSION_SUFFIX = re.compile(r"[\d.]+$")
_OBJC = re.compile(r"^\s*(#import\b|@interface\b|@implementation\b|@protocol\b|@end\b)", re.M)
_MATLAB = re.compile(r"^\s*(function\b|%|end\s*$|disp\(|fprintf\()", re.M)
_COQ = re.compile(r"^\s*(Theorem|Lemma|Proof\.|Qed\.|Require Import|Inductive)\b", re.M)


def shebang_language(head: str) -> Optional[str]:
    """Language named by a ``#!`` line (``/usr/bin/env -S python3 -u`` gives Python)."""
    if not head.startswith("#!"):
        return None
    words = head[2:].split("\n", 1)[0].strip().split()
    if not words:
        return None
    name = posixpath.basename(words[0])
    if name == "env":
        rest = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
        if not rest:
            return None
        name = posixpath.basename(rest[0])
    return INTERPRETERS.get(_VERSION_SUFFIX.sub("", name).lower()) or INTERPRETERS.get(name.lower())


def _disambiguate(ext: str, language: str, text: str) -> str:
    """Extensions that two languages share: decide from the content."""
    head = text[:20000]
    if ext == ".m" and _OBJC.search(head) and not _MATLAB.search(head):
        return "Objective-C"
    if ext == ".v" and _COQ.search(head):
        return "Coq"
    if ext == ".h" and re.search(r"^\s*(class\s+\w|namespace\b|template\s*<)", head, re.M):
        return "C++"
    return language


def detect_language(relpath: str, text: str = "") -> Optional[str]:
    """Language of a file from its path and (optionally) its text; None when unknown.

    Order: well-known file name, extension (``config.h.in`` is read as ``config.h``),
    then the shebang line of extension-less scripts.
    """
    base = posixpath.basename(relpath.replace("\\", "/"))
    lower = base.lower()
    if "." not in base and text.startswith("#!"):
        found = shebang_language(text)
        if found:
            return found
    if base in ("BUILD", "WORKSPACE"):  # Bazel; a lowercase "build" is usually a script
        return "Starlark"
    if lower in FILENAMES:
        return FILENAMES[lower]
    if lower.startswith("dockerfile.") or lower.endswith(".dockerfile"):
        return "Dockerfile"
    if lower.startswith(("makefile.", "makefile-")):
        return "Makefile"
    if lower.endswith(".in") and len(lower) > 3:  # autotools/cmake templates: config.h.in
        inner = detect_language(relpath[:-3], text)
        if inner is not None:
            return inner
    stem, ext = posixpath.splitext(base)
    if ext:
        if base.endswith(".app.src"):
            return "Erlang"
        language = EXTENSIONS.get(ext) or EXTENSIONS.get(ext.lower())
        if language is not None:
            return _disambiguate(ext.lower(), language, text) if text else language
    return shebang_language(text) if text else None
