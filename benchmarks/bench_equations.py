"""OLE equation objects of the real maths-heavy specs: how many become LaTeX that compiles, and what it costs.

For each spec of ../shared/corpus/specs that holds equation objects (TS 38.211, 38.212,
38.214 V18.1.0, TR 21.905), every ``word/embeddings/*.bin`` object is converted with
:func:`telecom_etl.extractors.threegpp.mtef.ole_to_latex` and checked with latex2mathml
(a LaTeX-to-MathML parser from PyPI): it must parse, and its MathML must not hold a
command latex2mathml does not know (those come out as ``<mi>\\cmd</mi>`` instead of
failing). Printed per file: objects, converted and compiling, converted but not compiling,
empty objects, placeholders by reason; then the whole-document view from the extracted
record (``extra`` counts, private-use characters left in the text).

Speed: TS 38.211 (800 objects) is extracted end to end (``SpecSource``, as build-pretrain
does) with the objects converted, side by side with the same extraction where every
object is left as the ``[equation]`` placeholder (the behaviour before OLE conversion),
alternating, best CPU time of ``--repeat`` runs each. Target: at most 1.5x.

    python benchmarks/bench_equations.py                 # corpus specs (skips without ../shared)
    python benchmarks/bench_equations.py --repeat 5
    python benchmarks/bench_equations.py path/36211-h00.docx ...

Without the corpus (or $TELECOM_ETL_CORPUS) the script says so and exits 0.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import os
import re
import sys
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.environ.get("TELECOM_ETL_CORPUS",
                        os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "corpus"))
DEFAULT = ("38211-i10.docx", "38212-i10.docx", "38214-i10.docx", "21905-h20.docx")
_UNKNOWN_COMMAND = re.compile(r">\\[A-Za-z]+<")
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")


def compiles(latex: str) -> bool:
    import latex2mathml.converter

    try:
        mathml = latex2mathml.converter.convert(latex)
    except Exception:  # latex2mathml raises its own error types (and IndexError) on bad input
        return False
    return _UNKNOWN_COMMAND.search(mathml) is None


def objects(path: str) -> collections.Counter:
    from telecom_etl.extractors.threegpp.mtef import EquationError, ole_to_latex

    counts: collections.Counter = collections.Counter()
    with zipfile.ZipFile(path) as zf:
        for name in sorted(zf.namelist()):
            if not (name.startswith("word/embeddings/") and name.endswith(".bin")):
                continue
            counts["objects"] += 1
            try:
                latex, unmapped = ole_to_latex(zf.read(name))
            except EquationError as exc:
                counts["placeholder:" + exc.reason] += 1
                continue
            counts["unmapped_chars"] += unmapped
            if not latex:
                counts["empty"] += 1
            elif compiles(latex):
                counts["compiles"] += 1
            else:
                counts["does_not_compile"] += 1
    return counts


def extract(path: str):
    from telecom_etl.extractors.base import SourceItem
    from telecom_etl.extractors.spec import SpecSource
    from telecom_etl.manifest import SourceConfig
    from telecom_etl.record import Document

    src = SpecSource(SourceConfig(name="bench", kind="3gpp", paths=["/"]))
    docs = [d for d in src.extract(SourceItem("bench", "3gpp", path)) if isinstance(d, Document)]
    return docs[0] if docs else None


@contextlib.contextmanager
def placeholders_only():
    """Every OLE object left as the placeholder, as before the conversion existed."""
    from telecom_etl.extractors.threegpp import mtef

    original = mtef.OleEquations.convert
    mtef.OleEquations.convert = lambda self, rel_id: (None, "not_converted")
    try:
        yield
    finally:
        mtef.OleEquations.convert = original


def cpu(fn, *args) -> float:
    start = time.process_time()
    fn(*args)
    return time.process_time() - start


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    files = args.files or [os.path.join(CORPUS, "specs", name) for name in DEFAULT]
    files = [f for f in files if os.path.exists(f)]
    if not files:
        print(f"skipped: no input files (corpus not found at {CORPUS}; set TELECOM_ETL_CORPUS or pass files)")
        return 0
    try:
        import latex2mathml  # noqa: F401
    except ImportError:
        print("skipped: latex2mathml is not installed (pip install -e '.[test]')")
        return 0

    print("OLE objects (word/embeddings/*.bin), converted with mtef.ole_to_latex, checked with latex2mathml")
    print(f"{'file':24s} {'objects':>7s} {'compiles':>8s} {'share':>6s} {'broken':>6s} {'empty':>5s}  placeholders")
    total: collections.Counter = collections.Counter()
    for path in files:
        c = objects(path)
        total.update(c)
        equations = c["objects"] - c["placeholder:not_equation"]
        share = c["compiles"] / equations if equations else 1.0
        held = ", ".join(f"{k.split(':', 1)[1]} {v}" for k, v in sorted(c.items()) if k.startswith("placeholder:"))
        print(f"{os.path.basename(path):24s} {c['objects']:7d} {c['compiles']:8d} {share:7.2%} "
              f"{c['does_not_compile']:6d} {c['empty']:5d}  {held or '-'}")
    equations = total["objects"] - total["placeholder:not_equation"]
    print(f"{'total':24s} {total['objects']:7d} {total['compiles']:8d} "
          f"{total['compiles'] / max(equations, 1):7.2%}   (share of equation objects; target >= 95%)")

    print("\nExtracted records (SpecSource): OLE equations as LaTeX, placeholders by reason, symbol fonts")
    for path in files:
        doc = extract(path)
        if doc is None:
            print(f"{os.path.basename(path):24s} no document")
            continue
        e = doc.extra
        keys = sorted(k for k in e if k.startswith(("n_equations_ole", "equation_placeholder", "equations_ole_empty",
                                                    "symbol_chars", "equation_chars")))
        print(f"{os.path.basename(path):24s} " + ", ".join(f"{k}={e[k]}" for k in keys)
              + f", private_use_left={len(_PRIVATE_USE.findall(doc.text))}, [equation] in text={doc.text.count('[equation]')}")

    target = next((f for f in files if os.path.basename(f).startswith("38211")), files[0])
    print(f"\nCPU seconds to extract {os.path.basename(target)} (best of {args.repeat}, alternating)")
    with_ole, without = [], []
    extract(target)  # warm imports and caches for both
    for _ in range(args.repeat):
        with_ole.append(cpu(extract, target))
        with placeholders_only():
            without.append(cpu(extract, target))
    best_with, best_without = min(with_ole), min(without)
    print(f"  objects left as placeholders (before): {best_without:.3f}")
    print(f"  objects converted to LaTeX (now):      {best_with:.3f}   ratio {best_with / best_without:.2f}x "
          f"(target <= 1.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
