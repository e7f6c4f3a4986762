"""PDF extraction speed against a plain ``page.get_text()`` loop, side by side, in CPU time.

The baseline is the cheapest thing a pipeline can do with PyMuPDF: open the bytes and call
``page.get_text()`` on every page (reading order as stored, no cleaning). Each PDF is read by
the reader the pipeline uses for it:

* an ETSI spec edition (``etsi_pdf.identity`` finds a 3GPP spec in it): the ``3gpp`` reader,
  ``identity`` + ``read_pdf`` (outline headings, furniture, ruled tables), budget 3x the loop;
* any other PDF (papers): ``pdfdoc.pdf_to_markdown`` (column order, header/footer and figure
  removal, dehyphenation, headings, quality signals), budget 2x the loop.

    python benchmarks/bench_pdf.py                     # the PDFs of ../shared/corpus (specs, papers)
    python benchmarks/bench_pdf.py some/*.pdf --repeat 7
    python benchmarks/bench_pdf.py --check             # exit 1 when a file or a group exceeds its budget
    python benchmarks/bench_pdf.py --finder            # also time PyMuPDF's find_tables on the ETSI pages

Each file is timed ``--repeat`` times per reader, the readers alternating so that a busy
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
LIMITS = {"etsi": 3.0, "paper": 2.0}  # budget per reader, in multiples of the plain loop
NAMES = {"etsi": "ETSI specs (3gpp reader)", "paper": "papers (pdfdoc)"}


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


def etsi_reader(data: bytes) -> int:
    """What the 3gpp source does with an ETSI PDF: identity from the content, then the blocks."""
    import pymupdf

    from telecom_etl.extractors.threegpp.etsi_pdf import identity, read_pdf

    with pymupdf.open(stream=data, filetype="pdf") as doc:
        identity(doc)
        return len(read_pdf(doc).blocks)


def pymupdf_finder(data: bytes) -> int:
    """PyMuPDF's own table finder on every page that has drawings (what the 3gpp reader used to run)."""
    import pymupdf

    with pymupdf.open(stream=data, filetype="pdf") as doc:
        found = 0
        for page in doc:
            page.get_text("dict", flags=0)
            if len(page.get_cdrawings()) >= 4:
                found += len(page.find_tables(use_layout=False).tables)
        return found


def kind_of(data: bytes) -> str:
    import pymupdf

    from telecom_etl.extractors.threegpp.etsi_pdf import identity

    try:
        with pymupdf.open(stream=data, filetype="pdf") as doc:
            return "etsi" if identity(doc).spec else "paper"
    except Exception:  # not readable: timed as a paper, the failure is printed
        return "paper"


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
    parser.add_argument("--check", action="store_true", help="exit 1 when a file or group exceeds its budget "
                        + ", ".join(f"({NAMES[k]} {v:.1f}x)" for k, v in LIMITS.items()))
    parser.add_argument("--sorted", action="store_true", help="also time get_text(sort=True)")
    parser.add_argument("--finder", action="store_true", help="also time PyMuPDF's find_tables on ETSI pages")
    parser.add_argument("--pymupdf4llm", action="store_true", help="also time pymupdf4llm.to_markdown")
    args = parser.parse_args(argv)
    files = args.files or sorted(glob.glob(os.path.join(CORPUS, "specs", "*.pdf"))
                                 + glob.glob(os.path.join(CORPUS, "papers", "*.pdf")))
    if not files:
        print(f"no PDF files (corpus not found at {CORPUS}); pass files as arguments")
        return 2
    import pymupdf

    print(f"PyMuPDF {pymupdf.__version__}, {args.repeat} alternating runs per file and reader, best CPU times\n")
    extra = [("get_text(sort=True)", sorted_loop)] if args.sorted else []
    header = (f"{'file':44s} {'pages':>5s} {'get_text p/s':>13s} {'reader p/s':>11s} {'ratio':>6s} {'limit':>6s}"
              + "".join(f" {name + ' p/s':>24s}" for name, _ in extra)
              + (f" {'find_tables p/s':>16s} {'x':>6s}" if args.finder else ""))
    groups = {kind: {"pages": 0, "plain": 0.0, "reader": 0.0, "finder": 0.0, "files": 0} for kind in LIMITS}
    over = []
    rows = {kind: [] for kind in LIMITS}
    for path in files:
        with open(path, "rb") as fh:
            data = fh.read()
        with pymupdf.open(stream=data, filetype="pdf") as doc:
            pages = doc.page_count
        kind = kind_of(data)
        readers = [("plain", plain_loop), ("reader", etsi_reader if kind == "etsi" else cleaned)] + extra
        if args.finder and kind == "etsi":
            readers.append(("finder", pymupdf_finder))
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
        best = {name: min(t) for name, t in times.items()}
        group = groups[kind]
        group["pages"] += pages
        group["files"] += 1
        for name in ("plain", "reader", "finder"):
            group[name] += best.get(name, 0.0)
        ratio = best["reader"] / best["plain"]
        if ratio > LIMITS[kind]:
            over.append(f"{os.path.basename(path)} {ratio:.2f}x (limit {LIMITS[kind]:.1f}x)")
        line = (f"{os.path.basename(path)[:44]:44s} {pages:5d} {pages / best['plain']:13.1f} "
                f"{pages / best['reader']:11.1f} {ratio:6.2f} {LIMITS[kind]:6.1f}"
                + "".join(f" {pages / best[name]:24.1f}" for name, _ in extra))
        if "finder" in best:
            line += f" {pages / best['finder']:16.1f} {best['finder'] / best['plain']:6.1f}"
        rows[kind].append(line + note)
    for kind, lines in rows.items():
        if not lines:
            continue
        print(f"{NAMES[kind]}, budget {LIMITS[kind]:.1f}x the plain loop")
        print(header)
        print("\n".join(lines))
        g = groups[kind]
        ratio = g["reader"] / g["plain"]
        if ratio > LIMITS[kind]:
            over.append(f"{NAMES[kind]} overall {ratio:.2f}x (limit {LIMITS[kind]:.1f}x)")
        line = (f"{'ALL (' + str(g['files']) + ' files)':44s} {g['pages']:5d} {g['pages'] / g['plain']:13.1f} "
                f"{g['pages'] / g['reader']:11.1f} {ratio:6.2f} {LIMITS[kind]:6.1f}")
        if g["finder"]:
            line += " " * sum(25 for _ in extra) + f" {g['pages'] / g['finder']:16.1f} {g['finder'] / g['plain']:6.1f}"
        print(line + "\n")
    print("side by side (CPU time, reader / plain get_text loop):")
    for kind, g in groups.items():
        if g["files"]:
            print(f"  {NAMES[kind]:28s} {g['reader'] / g['plain']:5.2f}x  (budget {LIMITS[kind]:.1f}x, "
                  f"{g['pages'] / g['reader']:.0f} pages/s vs {g['pages'] / g['plain']:.0f})")
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
    if over:
        print("over budget: " + "; ".join(over))
    if args.check and over:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
