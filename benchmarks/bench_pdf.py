"""PDF cleaning speed: ``pdfdoc.pdf_to_markdown`` vs a plain ``page.get_text()`` loop, side by side.

The baseline is the cheapest thing a pipeline can do with PyMuPDF: open the bytes and call
``page.get_text()`` on every page (reading order as stored, no cleaning). The full extraction
(column order, header/footer and figure removal, dehyphenation, headings, quality signals) must
cost at most twice that loop.

    python benchmarks/bench_pdf.py                     # the PDFs of ../shared/corpus (papers, specs)
    python benchmarks/bench_pdf.py some/*.pdf --repeat 7
    python benchmarks/bench_pdf.py --check             # exit 1 when the overall ratio exceeds 2.0

Each file is timed ``--repeat`` times per reader, the two readers alternating so that a busy
machine slows both alike; times are CPU seconds of the benchmark process (``time.process_time``,
so other processes on a shared machine do not count) and the best (least disturbed) of each is
reported, as ``timeit`` does: "pages/s" is pages per CPU second of one core. Import and first-call costs
are paid before timing (PyMuPDF 2.0 loads an ONNX layout model on import, about 0.3 s once per
process). Optionally ``--sorted`` adds ``page.get_text(sort=True)`` and ``--pymupdf4llm`` adds
``pymupdf4llm.to_markdown`` for reference (both much slower).
"""
from __future__ import annotations

import argparse
import glob
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.environ.get("TELECOM_ETL_CORPUS", os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "corpus"))
LIMIT = 2.0


def plain_loop(data: bytes) -> int:
    import pymupdf

    with pymupdf.open(stream=data, filetype="pdf") as doc:
        chars = 0
        for page in doc:
            chars += len(page.get_text())
        return chars


def sorted_loop(data: bytes) -> int:
    import pymupdf

    with pymupdf.open(stream=data, filetype="pdf") as doc:
        return sum(len(page.get_text(sort=True)) for page in doc)


def cleaned(data: bytes) -> int:
    from telecom_etl.extractors.pdfdoc import pdf_to_markdown

    return len(pdf_to_markdown(data).markdown)


def llm_markdown(data: bytes) -> int:
    import pymupdf
    import pymupdf4llm

    with pymupdf.open(stream=data, filetype="pdf") as doc:
        return len(pymupdf4llm.to_markdown(doc, show_progress=False))


def timed(fn, data: bytes) -> float:
    """CPU seconds of this process: on a shared machine other processes' load does not count."""
    start = time.process_time()
    fn(data)
    return time.process_time() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="PDF files (default: the PDFs of ../shared/corpus)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--check", action="store_true", help=f"exit 1 when the overall ratio exceeds {LIMIT}")
    parser.add_argument("--sorted", action="store_true", help="also time get_text(sort=True)")
    parser.add_argument("--pymupdf4llm", action="store_true", help="also time pymupdf4llm.to_markdown")
    args = parser.parse_args(argv)
    files = args.files or sorted(glob.glob(os.path.join(CORPUS, "papers", "*.pdf"))
                                 + glob.glob(os.path.join(CORPUS, "specs", "*.pdf")))
    if not files:
        print(f"no PDF files (corpus not found at {CORPUS}); pass files as arguments")
        return 2
    import pymupdf

    readers = [("plain get_text", plain_loop), ("pdfdoc", cleaned)]
    if args.sorted:
        readers.append(("get_text(sort=True)", sorted_loop))
    print(f"PyMuPDF {pymupdf.__version__}, {args.repeat} alternating runs per file and reader, best CPU times\n")
    header = f"{'file':44s} {'pages':>5s} " + " ".join(f"{name + ' p/s':>22s}" for name, _ in readers) + f" {'ratio':>6s}"
    print(header)
    totals = {name: 0.0 for name, _ in readers}
    total_pages = 0
    for path in files:
        with open(path, "rb") as fh:
            data = fh.read()
        with pymupdf.open(stream=data, filetype="pdf") as doc:
            pages = doc.page_count
        note = ""
        for _, fn in readers:  # warm-up: imports, font caches
            try:
                fn(data)
            except Exception as exc:  # a garbage or broken PDF still counts for the baseline
                note = f"  ({type(exc).__name__}: {exc})"
        times = {name: [] for name, _ in readers}
        for _ in range(args.repeat):
            for name, fn in readers:
                try:
                    times[name].append(timed(fn, data))
                except Exception:
                    times[name].append(float("nan"))
        medians = {name: min(t) for name, t in times.items()}
        for name in totals:
            totals[name] += medians[name]
        total_pages += pages
        ratio = medians["pdfdoc"] / medians["plain get_text"]
        cells = " ".join(f"{pages / medians[name]:22.1f}" for name, _ in readers)
        print(f"{os.path.basename(path)[:44]:44s} {pages:5d} {cells} {ratio:6.2f}{note}")
    overall = totals["pdfdoc"] / totals["plain get_text"]
    cells = " ".join(f"{total_pages / totals[name]:22.1f}" for name, _ in readers)
    print(f"{'ALL (' + str(len(files)) + ' files)':44s} {total_pages:5d} {cells} {overall:6.2f}")
    print(f"\npdfdoc: {total_pages / totals['pdfdoc']:.1f} pages/s; plain get_text loop: "
          f"{total_pages / totals['plain get_text']:.1f} pages/s; ratio {overall:.2f} (limit {LIMIT:.1f})")
    if args.pymupdf4llm:
        # timed last and on its own: it starts a layout model whose threads would also be billed
        # to the loops above (CPU time counts every thread of the process)
        llm_pages, llm_cpu, llm_wall = 0, 0.0, 0.0
        for path in files:
            with open(path, "rb") as fh:
                data = fh.read()
            wall = time.perf_counter()
            try:
                llm_cpu += timed(llm_markdown, data)
            except Exception as exc:
                print(f"pymupdf4llm failed on {os.path.basename(path)}: {type(exc).__name__}: {exc}")
                continue
            llm_wall += time.perf_counter() - wall
            with pymupdf.open(stream=data, filetype="pdf") as doc:
                llm_pages += doc.page_count
        if llm_pages:
            print(f"pymupdf4llm (reference, one run per file): {llm_pages / llm_cpu:.1f} pages per CPU second, "
                  f"{llm_pages / llm_wall:.1f} pages/s wall")
    if args.check and overall > LIMIT:
        print(f"FAIL: cleaning costs {overall:.2f}x the plain loop (limit {LIMIT:.1f}x)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
