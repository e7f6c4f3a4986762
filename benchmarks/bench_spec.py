"""Time per spec: the 3GPP source (full extraction) vs a plain python-docx loop, side by side.

The baseline is what a generic reader does: ``docx.Document(path)``, then ``p.text`` of
every body paragraph and ``cell.text`` of every cell of every table. It extracts less
(no clause structure, no equations, no merged-cell layout, no metadata); the target is
for the full extraction to be at least 3x faster anyway.

    python benchmarks/bench_spec.py                      # the Word specs of ../shared/corpus/specs
    python benchmarks/bench_spec.py path/38331-i00.docx  # any files (.docx, .zip, .doc, .pdf)
    python benchmarks/bench_spec.py --repeat 3

Each file is timed ``--repeat`` times per reader, the two readers alternating; the best
time of each is reported (the least disturbed run).
"""
from __future__ import annotations

import argparse
import glob
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "corpus", "specs")


def ours(path: str):
    from telecom_etl.extractors.base import SourceItem
    from telecom_etl.extractors.spec import SpecSource
    from telecom_etl.manifest import SourceConfig
    from telecom_etl.record import Document

    src = SpecSource(SourceConfig(name="bench", kind="3gpp", paths=["/"]))
    docs = [d for d in src.extract(SourceItem("bench", "3gpp", path)) if isinstance(d, Document)]
    return docs[0] if docs else None


def python_docx_loop(path: str) -> int:
    import docx

    document = docx.Document(path)
    chars = 0
    for p in document.paragraphs:
        chars += len(p.text)
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                chars += len(cell.text)
    return chars


def best(fn, path, repeat):
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn(path)
        times.append(time.perf_counter() - t0)
    return min(times), result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)
    files = args.files or sorted(glob.glob(os.path.join(CORPUS, "*.docx")))
    if not files:
        print(f"no input files (give paths, or provide {CORPUS})", file=sys.stderr)
        return 2
    ours(files[0])  # warm imports (lxml, the package) outside the timings
    python_docx_loop(files[0])
    head = (f"{'file':34s} {'MB':>5s} {'ours s':>7s} {'docx s':>7s} {'ratio':>6s} {'tables':>6s} {'eqs':>5s} "
            f"{'placeh':>6s} {'clauses':>7s} {'ours chars':>10s} {'docx chars':>10s}")
    print(head)
    print("-" * len(head))
    total_ours = total_docx = 0.0
    for path in files:
        mb = os.path.getsize(path) / 1e6
        t_ours = t_docx = 0.0
        doc = chars = None
        for _ in range(args.repeat):  # alternate the readers so both see the same machine state
            a, doc = best(ours, path, 1)
            b, chars = (best(python_docx_loop, path, 1) if path.endswith(".docx") else (float("nan"), 0))
            t_ours = a if not t_ours else min(t_ours, a)
            t_docx = b if not t_docx else min(t_docx, b)
        total_ours += t_ours
        total_docx += t_docx if t_docx == t_docx else 0
        e = doc.extra if doc else {}
        print(f"{os.path.basename(path)[:34]:34s} {mb:5.1f} {t_ours:7.2f} {t_docx:7.2f} {t_docx / t_ours:6.1f} "
              f"{e.get('n_tables', '-'):>6s} {e.get('n_equations', '-'):>5s} {e.get('equation_placeholders', '-'):>6s} "
              f"{e.get('n_clauses', '-'):>7s} {len(doc.text) if doc else 0:10d} {chars or 0:10d}")
    if total_docx:
        print(f"{'total':34s} {'':5s} {total_ours:7.2f} {total_docx:7.2f} {total_docx / total_ours:6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
