"""Near-dedup benchmark: signature speed, cluster quality, end-to-end cost vs datatrove. One command:

    .venv/bin/python benchmarks/bench_dedup.py [--bases 1000] [--datatrove-python PATH]

(``bash scripts/setup.sh`` makes ``.venv``; ``bash benchmarks/setup_peers.sh`` makes the peer-tools
virtualenv ``.peer-venv`` with datatrove, found by default.)

1. Signature throughput (MB/s, one core) of telecom-etl's NumPy MinHash vs datasketch
   ``MinHash.update_batch`` on the same texts and permutation count, and the mean absolute
   error of both Jaccard estimates against the exact shingle Jaccard on sampled pairs.
2. Near-dup quality: pairwise precision / recall / F1 of cluster membership on a generated
   labelled corpus (planted near-duplicates with known edit rates, filters/dedup/synthetic.py)
   and on the clauses of every spec in ../shared/corpus/specs, cut as build-pretrain cuts them
   (``granularity: clause``; truth: connected components of clause pairs whose exact 5-gram
   Jaccard >= threshold), side by side with the previous behaviour (candidate pairs decided by
   the MinHash estimate, components not confirmed against their representative).
3. End to end: wall time and peak RSS of telecom-etl's Beam ``NearDedup`` (FnApiRunner, one
   process) vs datatrove's four MinHash stages (LocalPipelineExecutor, one worker), both run
   as subprocesses on the same JSONL with the same n-grams and bands x rows.

datatrove is a benchmark-only dependency in its own virtualenv (benchmarks/setup_peers.sh);
without it the datatrove columns print "skipped: datatrove not installed".
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.environ.get("TELECOM_ETL_CORPUS", os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "corpus"))
ROOT = os.path.dirname(HERE)
DEFAULT_DT_PYTHON = os.path.join(ROOT, ".peer-venv", "bin", "python")  # made by benchmarks/setup_peers.sh
_WORD = re.compile(r"\w+")


# --------------------------------------------------------------------------- inputs

def docx_paragraphs(path):
    """(style name, text) of a .docx's body paragraphs (python-docx; the benchmark does not need the full 3GPP reader)."""
    import docx

    document = docx.Document(path)
    styles = {}
    out = []
    for p in document.paragraphs:
        sid = p._p.pPr.pStyle.val if p._p.pPr is not None and p._p.pPr.pStyle is not None else None
        if sid not in styles:
            styles[sid] = p.style.name if p.style is not None else ""
        if p.text.strip():
            out.append((styles[sid], p.text))
    return out


def corpus_clauses():
    """One record per clause of every spec of ../shared/corpus/specs, extracted as build-pretrain does
    (``granularity: clause``, normalised); [] when the corpus is absent."""
    import glob

    from telecom_etl.extractors import SOURCES
    from telecom_etl.extractors.base import SourceItem
    from telecom_etl.manifest import SourceConfig
    from telecom_etl.normalize import normalize
    from telecom_etl.record import Document

    records = []
    for path in sorted(glob.glob(os.path.join(CORPUS, "specs", "*"))):
        options = {"granularity": "clause", "max_members": 20000}  # Rel-18 RAN1 .docx: 2,000-3,000 members
        src = SOURCES["3gpp"](SourceConfig(name="specs", kind="3gpp", paths=[path], options=options))
        try:
            for d in src.extract(SourceItem("specs", "3gpp", path)):
                d = normalize(d) if isinstance(d, Document) else d
                if isinstance(d, Document) and d.text.strip():
                    records.append({"id": d.id, "text": d.text, "spec": os.path.basename(path)})
        except Exception as exc:  # reported, not fatal: the figure names how many clauses it covers
            print(f"  (skipped {os.path.basename(path)}: {str(exc).splitlines()[0][:100]})")
    return records


def planted_records(bases, seed=0):
    from telecom_etl.filters.dedup.synthetic import planted_corpus

    docs = planted_corpus(n_bases=bases, seed=seed)
    return [{"id": d.id, "text": d.text} for d in docs], {d.id: d.cluster for d in docs}, docs


def exact_truth(records, ngram, threshold):
    """Ground truth by exact Jaccard: components of pairs with J >= threshold (sparse product, all pairs)."""
    import scipy.sparse as sp

    from telecom_etl.filters.dedup.components import components_reference
    from telecom_etl.filters.dedup.minhash import shingle_hashes

    sets = [np.unique(shingle_hashes(r["text"], ngram)) for r in records]
    vocab = np.unique(np.concatenate(sets))
    rows = np.concatenate([np.full(s.size, i) for i, s in enumerate(sets)])
    cols = np.concatenate([np.searchsorted(vocab, s) for s in sets])
    m = sp.csr_matrix((np.ones(rows.size, dtype=np.int32), (rows, cols)), shape=(len(sets), vocab.size))
    inter = (m @ m.T).tocoo()
    sizes = np.array([s.size for s in sets])
    edges = []
    for i, j, n in zip(inter.row, inter.col, inter.data):
        if i < j and n / (sizes[i] + sizes[j] - n) >= threshold:
            edges.append((records[i]["id"], records[j]["id"]))
    labels = components_reference(edges)
    return {r["id"]: labels.get(r["id"], r["id"]) for r in records}, len(edges)


# --------------------------------------------------------------------------- 1. signatures

def real_documents():
    """Whole documents of ../shared/corpus (specs via python-docx, papers via PyMuPDF), normalised as
    build-pretrain normalises them before dedup; [] when the corpus is absent."""
    import glob

    from telecom_etl.normalize import normalize_text

    texts = []
    for path in sorted(glob.glob(os.path.join(CORPUS, "specs", "*.docx"))):
        texts.append(normalize_text("\n".join(t for _, t in docx_paragraphs(path))))
    for path in sorted(glob.glob(os.path.join(CORPUS, "papers", "*.pdf"))):
        import pymupdf

        with pymupdf.open(path) as pdf:
            texts.append(normalize_text("\n".join(page.get_text() for page in pdf)))
    return [t for t in texts if t.strip()]


def _cpu(fn, repeat):
    """Best process CPU time of ``repeat`` runs (CPU, not wall: other jobs share this machine)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def _ds_shingles(text, ngram):
    words = _WORD.findall(text.lower())
    return [" ".join(words[i:i + ngram]).encode() for i in range(max(1, len(words) - ngram + 1))]


def bench_signatures(texts, num_perm, ngram, repeat=3):
    from datasketch import MinHash

    from telecom_etl.filters.dedup.minhash import MinHasher

    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    out = {"mb": mb, "docs": len(texts)}
    for scheme in ("oph", "kperm"):
        hasher = MinHasher(num_perm, ngram, scheme=scheme)
        out[f"{scheme}_mb_s"] = mb / _cpu(lambda: hasher.signatures(texts), repeat)
    shingles = [_ds_shingles(t, ngram) for t in texts]
    shingling = _cpu(lambda: [_ds_shingles(t, ngram) for t in texts], 1)
    perms = MinHash(num_perm=num_perm).permutations

    def ds_default():  # what most callers write: a fresh MinHash per document
        for sh in shingles:
            MinHash(num_perm=num_perm).update_batch(sh)

    def ds_shared():  # the fastest datasketch use: permutations computed once
        for sh in shingles:
            MinHash(num_perm=num_perm, permutations=perms, scheme="affine32").update_batch(sh)

    out["datasketch_default_mb_s"] = mb / _cpu(ds_default, repeat)
    shared = _cpu(ds_shared, repeat)
    out["datasketch_mb_s"] = mb / shared
    out["datasketch_with_shingling_mb_s"] = mb / (shared + shingling)
    return out


def bench_estimates(docs, num_perm, ngram, pairs=600, seed=0):
    """Mean absolute Jaccard error vs exact, each tool against its own shingle sets, same pairs.

    Pairs: each planted variant (near-duplicates, partial quotes, heavy edits) with its base.
    """
    import random

    from datasketch import MinHash

    from telecom_etl.filters.dedup.minhash import MinHasher, estimate_jaccard, exact_jaccard

    by_id = {d.id: d for d in docs}
    candidates = [(by_id[d.id.split("-")[0]], d) for d in docs if "-" in d.id]
    rng = random.Random(seed)
    rng.shuffle(candidates)
    errors = {"oph": [], "kperm": [], "datasketch": []}
    for i, (a, b) in enumerate(candidates[:pairs]):
        truth = exact_jaccard(a.text, b.text, ngram)
        for scheme in ("oph", "kperm"):
            hasher = MinHasher(num_perm, ngram, seed=i, scheme=scheme)  # fresh seed per pair, as datasketch
            errors[scheme].append(abs(estimate_jaccard(hasher.signature(a.text), hasher.signature(b.text)) - truth))
        set_a, set_b = set(_ds_shingles(a.text, ngram)), set(_ds_shingles(b.text, ngram))
        ma, mb = MinHash(num_perm=num_perm, seed=i), MinHash(num_perm=num_perm, seed=i)
        ma.update_batch(list(set_a))
        mb.update_batch(list(set_b))
        errors["datasketch"].append(abs(ma.jaccard(mb) - len(set_a & set_b) / len(set_a | set_b)))
    return {k: (float(np.mean(v)), float(np.std(v) / np.sqrt(len(v)))) for k, v in errors.items()} | {
        "pairs": len(errors["oph"])}


# --------------------------------------------------------------------------- 2+3. end to end

def run_ours(input_path, out_dir, ngram, num_perm, threshold, verify, exact_max_shingles=512, confirm=True):
    """(child process) Beam NearDedup over a JSONL file; writes clusters.json (id -> representative)."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from telecom_etl.pipelines.dedup import NearDedup
    from telecom_etl.pipelines.write import WriteJson
    from telecom_etl.record import Document

    def to_doc(line):
        row = json.loads(line)
        return Document(id=row["id"], text=row["text"], source="bench", kind="text", uri=row["id"])

    stats = os.path.join(out_dir, "dedup.json")
    with beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"])) as p:
        docs = p | beam.io.ReadFromText(input_path) | "Parse" >> beam.Map(to_doc)
        result = docs | NearDedup(num_perm=num_perm, ngram=ngram, threshold=threshold, verify=verify,
                                  stats_path=stats, exact_max_shingles=exact_max_shingles, confirm=confirm)
        ((result.kept | "KeptIds" >> beam.Map(lambda d: [d.id, d.id]),
          result.dropped | "DroppedIds" >> beam.Map(lambda r: [r.doc.id, r.why.duplicate_of]))
         | beam.Flatten() | WriteJson(os.path.join(out_dir, "clusters.json")))


DATATROVE_SCRIPT = r"""
import json, os, sys
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupSignature, MinhashDedupBuckets,
                                              MinhashDedupCluster, MinhashDedupFilter)
from datatrove.utils.hashing import HashConfig
src, out, ngram, bands, rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
cfg = MinhashConfig(n_grams=ngram, num_buckets=bands, hashes_per_bucket=rows, hash_config=HashConfig(precision=64))
logs = os.path.join(out, "logs")
def run(name, pipeline, tasks=1):
    LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=1, logging_dir=os.path.join(logs, name)).run()
run("sig", [JsonlReader(src), MinhashDedupSignature(output_folder=os.path.join(out, "sigs"), config=cfg)])
run("buckets", [MinhashDedupBuckets(input_folder=os.path.join(out, "sigs"), output_folder=os.path.join(out, "buckets"),
                                    config=cfg)], tasks=bands)
run("cluster", [MinhashDedupCluster(input_folder=os.path.join(out, "buckets"), output_folder=os.path.join(out, "remove"),
                                    config=cfg, save_cluster_id=True)])
run("filter", [JsonlReader(src),
               MinhashDedupFilter(input_folder=os.path.join(out, "remove"), load_cluster_ids=True,
                                  exclusion_writer=JsonlWriter(os.path.join(out, "removed"), compression=None)),
               JsonlWriter(os.path.join(out, "kept"), compression=None)])
clusters = {}
for folder in ("kept", "removed"):
    for name in os.listdir(os.path.join(out, folder)):
        for line in open(os.path.join(out, folder, name)):
            row = json.loads(line)
            cid = row.get("metadata", {}).get("minhash_cluster_id", -1)
            clusters[row["id"]] = row["id"] if cid in (-1, None) else f"cluster{cid}"
json.dump(sorted(clusters.items()), open(os.path.join(out, "clusters.json"), "w"))
"""


def measured(cmd, log_path):
    """Run ``cmd`` as a child (output to ``log_path``); (wall seconds, peak RSS MB of the child).

    Peak RSS comes from GNU time (``/usr/bin/time -f %M``) when present; otherwise from
    ``os.wait4`` of a fresh launcher process, so this (large) process's pages are never counted.
    """
    rss_path = log_path + ".rss"
    if os.path.exists("/usr/bin/time"):
        full = ["/usr/bin/time", "-f", "%M", "-o", rss_path] + cmd
    else:
        launcher = ("import os, sys\npid = os.fork()\nif pid == 0:\n    os.execv(sys.argv[2], sys.argv[2:])\n"
                    "_, status, usage = os.wait4(pid, 0)\nopen(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
                    "sys.exit(os.waitstatus_to_exitcode(status))")
        full = [sys.executable, "-c", launcher, rss_path] + cmd
    t0 = time.perf_counter()
    with open(log_path, "wb") as log:
        code = subprocess.call(full, stdout=log, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - t0
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} ... exited with {code}; see {log_path}")
    with open(rss_path) as fh:
        return wall, int(fh.read().strip().splitlines()[-1]) / 1024.0


def end_to_end(records, work, ngram, num_perm, threshold, dt_python, label, before=False):
    from telecom_etl.filters.dedup.lsh import lsh_params_for

    bands, rows = lsh_params_for(threshold, num_perm, verify=True)  # the same bands x rows for both tools
    os.makedirs(work, exist_ok=True)
    src = os.path.join(work, f"{label}.jsonl")
    with open(src, "w") as fh:
        for r in records:
            fh.write(json.dumps(r) + "\n")
    mb = os.path.getsize(src) / 1e6
    result = {"mb": mb, "docs": len(records)}
    variants = [("ours", "512", "1")] + ([("before", "0", "0")] if before else [])
    for name, max_shingles, confirm in variants:  # before: estimate only, components not confirmed
        ours_out = os.path.join(work, f"{label}-{name}")
        os.makedirs(ours_out, exist_ok=True)
        wall, rss = measured([sys.executable, os.path.abspath(__file__), "--run-ours", src, ours_out, str(ngram),
                              str(num_perm), str(threshold), max_shingles, confirm],
                             os.path.join(work, f"{label}-{name}.log"))
        with open(os.path.join(ours_out, "clusters.json")) as fh:
            result[name] = {"wall_s": wall, "peak_rss_mb": rss, "clusters": dict(json.load(fh))}
    if dt_python and os.path.exists(dt_python) and _has_datatrove(dt_python):
        dt_out = os.path.join(work, f"{label}-datatrove")
        script = os.path.join(work, "run_datatrove.py")
        with open(script, "w") as fh:
            fh.write(DATATROVE_SCRIPT)
        wall, rss = measured([dt_python, script, src, dt_out, str(ngram), str(bands), str(rows)],
                             os.path.join(work, f"{label}-datatrove.log"))
        with open(os.path.join(dt_out, "clusters.json")) as fh:
            result["datatrove"] = {"wall_s": wall, "peak_rss_mb": rss, "clusters": dict(json.load(fh))}
    return result


def _ds_version():
    import datasketch

    return getattr(datasketch, "__version__", "?")


def _has_datatrove(python):
    return subprocess.run([python, "-c", "import datatrove.pipeline.dedup.minhash"], capture_output=True).returncode == 0


# --------------------------------------------------------------------------- report

def _row(name, ours, theirs, fmt="{:.3f}", better="higher"):
    if theirs is None:
        return f"  {name:<34}{fmt.format(ours):>12}{'skipped: datatrove not installed':>36}"
    ratio = ours / theirs if theirs else float("inf")
    return f"  {name:<34}{fmt.format(ours):>12}{fmt.format(theirs):>14}{ratio:>10.2f}x  ({better} is better)"


def rep_precision(clusters, texts, args):
    """Share of dropped records whose exact Jaccard with the record they name is >= the threshold."""
    from telecom_etl.filters.dedup.minhash import exact_jaccard

    drops = [(i, rep) for i, rep in clusters.items() if rep != i and rep in texts]
    if not drops:
        return 1.0
    return sum(exact_jaccard(texts[i], texts[rep], args.ngram) >= args.threshold for i, rep in drops) / len(drops)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bases", type=int, default=1000, help="base documents of the planted corpus")
    ap.add_argument("--num-perm", type=int, default=128)
    ap.add_argument("--ngram", type=int, default=5)
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--datatrove-python", default=os.environ.get("DATATROVE_PYTHON", DEFAULT_DT_PYTHON))
    ap.add_argument("--work", default=None, help="scratch folder (default: a temporary one)")
    ap.add_argument("--run-ours", nargs=7, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.run_ours:
        src, out, ngram, num_perm, threshold, max_shingles, confirm = args.run_ours
        run_ours(src, out, int(ngram), int(num_perm), float(threshold), True, int(max_shingles), confirm == "1")
        return 0

    from telecom_etl.filters.dedup.lsh import lsh_params_for
    from telecom_etl.filters.dedup.synthetic import pair_scores

    work = args.work or tempfile.mkdtemp(prefix="bench-dedup-")
    bands, rows = lsh_params_for(args.threshold, args.num_perm, verify=True)
    print(f"near-dedup benchmark: {args.ngram}-word shingles, {args.num_perm} permutations, threshold "
          f"{args.threshold} -> {bands} bands x {rows} rows; 1 core; work folder {work}")
    records, truth, docs = planted_records(args.bases)
    spec_records = corpus_clauses()
    have_specs = bool(spec_records)

    # 1. signatures
    real = real_documents()
    texts = real or [r["text"] for r in records]
    sig = bench_signatures(texts, args.num_perm, args.ngram)
    est = bench_estimates(docs, args.num_perm, args.ngram)
    print(f"\n1. MinHash signatures, CPU time of one core ({sig['docs']} documents, {sig['mb']:.1f} MB: "
          f"{'the specs and papers of ../shared/corpus' if real else 'the planted corpus'})")
    print(f"  {'':<34}{'telecom-etl':>12}{'datasketch':>14}{'ratio':>10}")
    print(_row("MB/s, one-permutation (default)", sig["oph_mb_s"], sig["datasketch_mb_s"], "{:.2f}"))
    print(_row("MB/s, k-permutation", sig["kperm_mb_s"], sig["datasketch_mb_s"], "{:.2f}"))
    print(_row("MB/s vs datasketch incl. shingling", sig["oph_mb_s"], sig["datasketch_with_shingling_mb_s"],
               "{:.2f}"))
    print(_row("MB/s vs MinHash() per document", sig["oph_mb_s"], sig["datasketch_default_mb_s"], "{:.2f}"))
    print(f"  (datasketch {_ds_version()}: update_batch on pre-built 5-word shingles, permutations shared)")
    ds_mae, ds_sem = est["datasketch"]
    for scheme, label in (("oph", "one-permutation"), ("kperm", "k-permutation")):
        mae, sem = est[scheme]
        print(_row(f"Jaccard MAE, {label}", mae, ds_mae, "{:.4f}", "lower")
              + f"  +-{sem:.4f} vs +-{ds_sem:.4f}")
    print(f"  ({est['pairs']} planted pairs, Jaccard 0.2-1.0, each tool against the exact Jaccard of its own shingles)")

    # 2 + 3. quality and end to end
    dt = args.datatrove_python
    runs = [("planted", records, truth)]
    if have_specs:
        spec_truth, n_edges = exact_truth(spec_records, args.ngram, args.threshold)
        runs.append(("clauses", spec_records, spec_truth))
    results = {}
    for label, recs, labels in runs:
        results[label] = end_to_end(recs, work, args.ngram, args.num_perm, args.threshold, dt, label,
                                    before=label == "clauses")
    print("\n2. Near-duplicate quality (pairwise cluster membership)")
    for label, recs, labels in runs:
        what = ("planted corpus: %d docs, edit rates 0-1%% labelled duplicates; 40%% quotes and 15%% edits not"
                % len(recs)) if label == "planted" else \
            (f"clauses of the {len({r['spec'] for r in recs})} shared specs, {len(recs)} records "
             f"({sum(len(r['text']) for r in recs) / 1e6:.1f} MB); truth = components of exact Jaccard >= "
             f"{args.threshold} ({n_edges} pairs)")
        print(f"  {what}")
        r = results[label]
        ours = pair_scores(labels, r["ours"]["clusters"])
        if "before" in r:
            before = pair_scores(labels, r["before"]["clusters"])
            texts = {x["id"]: x["text"] for x in recs}
            print(f"  {'':<34}{'telecom-etl':>12}{'estimate only':>14}{'ratio':>10}   (previous behaviour)")
            for key in ("precision", "recall", "f1"):
                print(_row(key, ours[key], before[key]))
            print(_row("drops >= threshold to their rep.", rep_precision(r["ours"]["clusters"], texts, args),
                       rep_precision(r["before"]["clusters"], texts, args)))
            print(f"  true pairs {ours['true_pairs']}, predicted pairs: telecom-etl {ours['predicted_pairs']}, "
                  f"estimate only {before['predicted_pairs']}")
        print(f"  {'':<34}{'telecom-etl':>12}{'datatrove':>14}{'ratio':>10}")
        theirs = pair_scores(labels, r["datatrove"]["clusters"]) if "datatrove" in r else None
        for key in ("precision", "recall", "f1"):
            print(_row(key, ours[key], theirs[key] if theirs else None))
        print(f"  true pairs {ours['true_pairs']}, predicted pairs: telecom-etl {ours['predicted_pairs']}"
              + (f", datatrove {theirs['predicted_pairs']}" if theirs else ""))
    print("\n3. End to end (subprocess each: start-up, read JSONL, signatures, LSH, clusters, filter)")
    for label, _, _ in runs:
        r = results[label]
        print(f"  {label}: {r['docs']} docs, {r['mb']:.1f} MB")
        print(f"  {'':<34}{'telecom-etl':>12}{'datatrove':>14}{'ratio':>10}")
        d = r.get("datatrove")
        print(_row("wall time (s)", r["ours"]["wall_s"], d["wall_s"] if d else None, "{:.1f}", "lower"))
        print(_row("peak RSS (MB)", r["ours"]["peak_rss_mb"], d["peak_rss_mb"] if d else None, "{:.0f}", "lower"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
