"""Whole-build scaling of build-pretrain: throughput, peak memory, cores, start-up (issue 20).

One command, from a fresh clone (after ``bash scripts/setup.sh``):

    .venv/bin/python benchmarks/bench_build.py                      # sizes 60,120,240,480 MB
    .venv/bin/python benchmarks/bench_build.py --sizes 30,60 --skip-cores
    .venv/bin/python benchmarks/bench_build.py --specs DIR          # other real .docx specs as the seed

Inputs are the real Word specs of ``../shared/corpus/specs`` (or ``--specs``) plus generated
*variants* of them, to reach each size: a variant is a copy of a real spec whose spec
number is changed and whose words are shuffled inside every text run, so it keeps the real
file's shape (runs per paragraph, tables, content controls, OLE objects, fonts, zip
members) while sharing no 5-gram with its original (near-dedup keeps it, as it keeps a
distinct real spec).

For each size, ``telecom-etl build-pretrain`` runs as a subprocess with the shipped
``3gpp`` profile; the script samples the resident memory of the whole process tree
(workers included) every 0.2 s and reads the tree's CPU time, and prints side by side:
MB of input per CPU-minute and per wall-minute, CPU seconds per MB, and peak RSS.
``--skip-cores`` leaves out the cores comparison: the first size built in one process with
``--extract-workers 1`` (the baseline), with Beam's ``--direct_running_mode multi_processing
--direct_num_workers 2`` (``--skip-beam-multi`` leaves it out) and in one process with
``--extract-workers 2`` (two extraction children at once): wall ratio and CPU ratio against the
baseline, and whether the shards are identical; run it on an otherwise idle machine. The one-file start-up row builds the
smallest real spec alone. PDF speed and near-dedup precision have their own commands
(``bench_pdf.py``, ``bench_dedup.py``), printed at the end.
"""
from __future__ import annotations

import argparse
import glob
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CORPUS = os.environ.get("TELECOM_ETL_CORPUS", os.path.join(os.path.dirname(ROOT), "shared", "corpus"))
CLI = os.path.join(os.path.dirname(sys.executable), "telecom-etl")
_TEXT = re.compile(rb"(<w:t(?: [^>]*)?>)([^<]*)(</w:t>)")


def make_variant(src: str, dest: str, seed: int) -> None:
    """A copy of the .docx ``src`` with the words of every run shuffled (same XML shape)."""
    rng = random.Random(seed)

    def shuffle(match):
        words = match.group(2).split(b" ")
        if len(words) > 1:
            rng.shuffle(words)
        return match.group(1) + b" ".join(words) + match.group(3)

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "word/document.xml":
                data = _TEXT.sub(shuffle, data)
            zout.writestr(info, data)


def build_input(folder: str, specs: list, target_mb: float) -> float:
    """Real specs, then numbered variants of them, until ``target_mb`` of .docx is in ``folder``."""
    os.makedirs(folder, exist_ok=True)
    total, i = 0, 0
    while total < target_mb * 1e6:
        src = specs[i % len(specs)]
        base = os.path.basename(src)
        if i < len(specs):
            dest = os.path.join(folder, base)
            shutil.copyfile(src, dest)
        else:  # another spec number (99xxx), the same version letters: kept by the version policy
            dest = os.path.join(folder, f"99{i:03d}-{base.split('-', 1)[1]}")
            make_variant(src, dest, seed=i)
        total += os.path.getsize(dest)
        i += 1
    return total / 1e6


def tree_usage(pid: int):
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc] + proc.children(recursive=True)
    except psutil.Error:
        return 0, 0.0
    rss = cpu = 0
    for p in procs:
        try:
            rss += p.memory_info().rss
            t = p.cpu_times()
            cpu += t.user + t.system + getattr(t, "children_user", 0) + getattr(t, "children_system", 0)
        except psutil.Error:
            pass
    return rss, cpu


def run_build(manifest: str, out: str, beam_args=()) -> dict:
    """Wall, CPU (tree) and peak RSS (tree) of one build-pretrain subprocess."""
    start = time.monotonic()
    before = os.times()
    proc = subprocess.Popen([CLI, "build-pretrain", "--manifest", manifest, "--output", out, "--no-progress",
                             *beam_args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = [0]
    last_cpu = [0.0]

    def sample():
        while proc.poll() is None:
            rss, cpu = tree_usage(proc.pid)
            peak[0] = max(peak[0], rss)
            last_cpu[0] = max(last_cpu[0], cpu)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = proc.communicate()[0].decode("utf-8", "replace")
    sampler.join()
    wall = time.monotonic() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    if proc.returncode != 0:
        raise SystemExit(f"build failed ({proc.returncode}):\n{output[-3000:]}")
    return {"wall": wall, "cpu": max(cpu, last_cpu[0]), "rss_mb": peak[0] / 1e6, "output": output}


def shard_digests(out: str) -> dict:
    import hashlib

    return {os.path.relpath(p, out): hashlib.sha256(open(p, "rb").read()).hexdigest()
            for p in sorted(glob.glob(os.path.join(out, "*", "*.parquet")))}


MANIFEST = """version: 1
name: bench-build
sources:
  - name: specs
    kind: 3gpp
    paths: [{folder}]
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="60,120,240,480", help="input sizes in MB (comma-separated)")
    ap.add_argument("--specs", default=os.path.join(CORPUS, "specs"), help="folder of real .docx specs")
    ap.add_argument("--skip-cores", action="store_true", help="leave out the 1-vs-2-process comparison")
    ap.add_argument("--skip-beam-multi", action="store_true",
                    help="in the cores comparison, leave out Beam's multi_processing run (keep extract_workers 1 vs 2)")
    ap.add_argument("--keep", action="store_true", help="keep the generated inputs and outputs")
    args = ap.parse_args(argv)
    specs = sorted(glob.glob(os.path.join(args.specs, "*.docx")))
    if not specs:
        print(f"skipped: no .docx specs in {args.specs} (set --specs or TELECOM_ETL_CORPUS)")
        return 0
    if not os.path.exists(CLI):
        print(f"skipped: {CLI} not found (run bash scripts/setup.sh first)")
        return 0
    work = tempfile.mkdtemp(prefix="bench-build-")
    try:
        smallest = min(specs, key=os.path.getsize)
        one = os.path.join(work, "one")
        os.makedirs(one)
        shutil.copyfile(smallest, os.path.join(one, os.path.basename(smallest)))
        with open(os.path.join(work, "one.yaml"), "w") as fh:
            fh.write(MANIFEST.format(folder=one))
        r = run_build(os.path.join(work, "one.yaml"), os.path.join(work, "out-one"))
        print(f"one-file build ({os.path.basename(smallest)}, {os.path.getsize(smallest) / 1e6:.1f} MB): "
              f"{r['cpu']:.2f} CPU-s, {r['wall']:.1f} s wall, peak RSS {r['rss_mb']:.0f} MB  (target < 3 CPU-s)")
        print()
        print(f"{'input MB':>9} {'docs':>6} {'CPU s':>8} {'wall s':>8} {'MB/CPU-min':>11} {'MB/wall-min':>12} "
              f"{'CPU s/MB':>9} {'peak RSS MB':>12}")
        rows = []
        for size in [float(s) for s in args.sizes.split(",") if s.strip()]:
            folder = os.path.join(work, f"in-{size:g}")
            mb = build_input(folder, specs, size)
            manifest = os.path.join(work, f"m-{size:g}.yaml")
            with open(manifest, "w") as fh:
                fh.write(MANIFEST.format(folder=folder))
            r = run_build(manifest, os.path.join(work, f"out-{size:g}"))
            docs = len(glob.glob(os.path.join(folder, "*.docx")))
            rows.append((mb, r))
            print(f"{mb:9.1f} {docs:6d} {r['cpu']:8.1f} {r['wall']:8.1f} {mb / r['cpu'] * 60:11.1f} "
                  f"{mb / r['wall'] * 60:12.1f} {r['cpu'] / mb:9.3f} {r['rss_mb']:12.0f}", flush=True)
            if not args.keep:
                shutil.rmtree(os.path.join(work, f"out-{size:g}"), ignore_errors=True)
        if len(rows) >= 2:
            (mb0, r0), (mb1, r1) = rows[0], rows[-1]
            print(f"memory growth: {(r1['rss_mb'] - r0['rss_mb']) / (mb1 - mb0):.2f} MB of RSS per MB of input "
                  f"between {mb0:.0f} and {mb1:.0f} MB (target: peak under 2,000 MB at every size)")
        if not args.skip_cores and rows:
            mb, _ = rows[0]
            manifest = os.path.join(work, f"m-{float(args.sizes.split(',')[0]):g}.yaml")
            print()
            print(f"cores, on {mb:.0f} MB (run on an idle machine):")
            single = run_build(manifest, os.path.join(work, "out-1p"), ["--extract-workers", "1"])
            rows = [("one process, extract_workers 1", single)]
            if not args.skip_beam_multi:
                rows.append(("Beam multi_processing, 2 workers", run_build(
                    manifest, os.path.join(work, "out-2p"),
                    ["--direct_running_mode", "multi_processing", "--direct_num_workers", "2"])))
            rows.append(("one process, extract_workers 2", run_build(
                manifest, os.path.join(work, "out-2x"), ["--extract-workers", "2"])))
            for label, r in rows:
                print(f"  {label:33}: {r['wall']:7.1f} s wall, {r['cpu']:7.1f} CPU-s, RSS {r['rss_mb']:.0f} MB")
            for label, r in rows[1:]:
                print(f"  {label:33}: wall speed-up {single['wall'] / r['wall']:.2f}x (target >= 1.7x), "
                      f"CPU ratio {r['cpu'] / single['cpu']:.2f} (target <= 1.15)")
            same = shard_digests(os.path.join(work, "out-1p")) == shard_digests(os.path.join(work, "out-2x"))
            print(f"  shards of extract_workers 1 and 2 {'identical' if same else 'DIFFER'}")
        print()
        print("PDF pages per CPU-second against get_text():  .venv/bin/python benchmarks/bench_pdf.py")
        print("clause-level near-dedup P/R/F1 against exact: .venv/bin/python benchmarks/bench_dedup.py")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"inputs and outputs kept in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
