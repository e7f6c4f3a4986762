"""Benchmark decontamination: catch rate, false matches on real specs, filter throughput. One command:

    .venv/bin/python benchmarks/bench_decontam.py [--questions 10000] [--seed 0]

1. A TeleQnA-format benchmark of ``--questions`` items: the 300 real questions of
   ``../shared/corpus/qa/TeleQnA_sample300.json`` plus generated ones of their shape (word
   count drawn from the real distribution, openers and vocabulary of the real questions,
   release tags as often, five options and an answer), short ones included. The shape of
   the two is printed side by side before any figure.
2. Catch rate: every question planted into generated telecom prose (as a sentence inside a
   paragraph, as a line of its own, in a markdown table row, lower-cased), documents of about
   8 KB; caught = the item is found, and its text is gone after redaction. Side by side: the
   previous rule (13-word runs, items under 8 words not indexed).
3. False matches: the same index over every real document of ``../shared/corpus`` (specs,
   ETSI PDFs, papers, extracted as build-pretrain extracts them); every match is listed with
   its sentence, to be judged genuine overlap or false.
4. Speed, CPU time of one core: index build (read + index), and the filter (redact) over the
   real documents in MB/s, against a plain Python n-gram set matcher (the usual
   decontamination loop) on the same text and index, side by side.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.environ.get("TELECOM_ETL_CORPUS", os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "corpus"))
SAMPLE = os.path.join(CORPUS, "qa", "TeleQnA_sample300.json")
_TAG = re.compile(r"\s*\[3GPP Release (\d+)\]\s*$")
FILLER = ("the of to in and for a is by on with that as from at which when an be are or this its "
          "between after before each per during".split())


# --------------------------------------------------------------------------- inputs

def _words(question: str):
    return _TAG.sub("", question).rstrip("?").split()


_WORDLIKE = re.compile(r"^\w[\w\-/.]*$")


def _vocabulary(items):
    return sorted({w.strip(",.;:()\"'?") for it in items for k, v in it.items()
                   if k.startswith(("question", "option")) for w in str(v).split()
                   if _WORDLIKE.match(w.strip(",.;:()\"'?"))})


def heaps_vocabulary(real: list, total: int) -> int:
    """Vocabulary size of ``total`` questions by Heaps' law fitted on halves of the real ones."""
    import math

    half, full = len(_vocabulary(real[: len(real) // 2])), len(_vocabulary(real))
    beta = math.log(full / half) / math.log(2)
    return int(full * (total / len(real)) ** beta)


def generate_benchmark(sample: dict, total: int, seed: int, extra_words=()) -> dict:
    """``sample`` plus generated items of its shape, as one TeleQnA-format dict.

    Words come from the real questions and options, topped up from ``extra_words`` (the most
    frequent words of real telecom text, the source TeleQnA was written from) to the vocabulary
    size Heaps' law predicts for ``total`` questions: a small vocabulary would make the index
    unrealistically cheap to search (most text words unknown to it).
    """
    rng = random.Random(seed)
    real = list(sample.values())
    lengths = [len(_words(it["question"])) for it in real]
    openers = [" ".join(_words(it["question"])[:rng.choice((2, 3))]) for it in real]
    vocab = _vocabulary(real)
    known = set(vocab)
    target = heaps_vocabulary(real, total)
    vocab += [w for w in extra_words if w not in known][:max(0, target - len(vocab))]
    tagged = sum(bool(_TAG.search(it["question"])) for it in real) / len(real)
    categories = [it.get("category", "") for it in real]
    out = dict(sample)
    seen = {_TAG.sub("", it["question"]).lower() for it in real}
    i = 0
    while len(out) < total:
        n = rng.choice(lengths)
        words = openers[rng.randrange(len(openers))].split()
        while len(words) < n:
            words.append(rng.choice(vocab) if rng.random() < 0.7 else rng.choice(FILLER))
        question = " ".join(words[:max(n, 3)]) + "?"
        if question.lower() in seen:
            continue
        seen.add(question.lower())
        if rng.random() < tagged:
            question += f" [3GPP Release {rng.choice((15, 16, 17, 18))}]"
        options = {f"option {k}": " ".join(rng.choice(vocab) for _ in range(rng.randint(1, 8))) for k in range(1, 6)}
        answer = rng.randint(1, 5)
        out[f"gen {i}"] = {"question": question, **options, "answer": f"option {answer}: {options[f'option {answer}']}",
                           "explanation": " ".join(rng.choice(vocab) for _ in range(20)),
                           "category": rng.choice(categories)}
        i += 1
    return out


def shape(items) -> dict:
    lengths = sorted(len(_words(it["question"])) for it in items)
    n = len(lengths)
    return {"items": n, "median_words": lengths[n // 2], "p10": lengths[n // 10], "p90": lengths[9 * n // 10],
            "under_8_words": sum(x < 8 for x in lengths) / n, "under_13_words": sum(x < 13 for x in lengths) / n,
            "release_tag": sum(bool(_TAG.search(it["question"])) for it in items) / n}


PROSE_TERMS = ("UE gNB AMF SMF UPF PDU session QoS flow DRB RRC connection handover measurement report "
               "bandwidth part PDCCH PDSCH HARQ process MAC entity RLC PDCP SDAP NAS registration "
               "paging occasion DRX cycle timer beam failure recovery CSI-RS SSB TDD pattern slot symbol "
               "resource block carrier aggregation uplink downlink subscriber policy charging rule").split()


def prose_sentence(rng: random.Random) -> str:
    words = [rng.choice(PROSE_TERMS) if rng.random() < 0.55 else rng.choice(FILLER + ["shall", "may", "uses",
                                                                                       "configures", "sends"])
             for _ in range(rng.randint(10, 28))]
    return words[0][:1].upper() + " ".join(words)[1:] + "."


def planted_documents(questions, seed: int, per_doc: int = 12):
    """[(text, [(item id, planted text)])]: questions planted in generated prose, four ways."""
    rng = random.Random(seed)
    docs = []
    for start in range(0, len(questions), per_doc):
        lines, planted = [], []
        for k, (item_id, q) in enumerate(questions[start:start + per_doc]):
            way = (start // per_doc + k) % 4
            para = [prose_sentence(rng) for _ in range(rng.randint(3, 6))]
            if way == 0:  # a sentence inside a paragraph
                para.insert(rng.randint(1, len(para) - 1), q)
                lines.append(" ".join(para))
            elif way == 1:  # a line of its own
                lines += [" ".join(para), q]
            elif way == 2:  # a table row
                lines += [" ".join(para), "| Question | Answer |", "|---|---|", f"| {q} | see clause 5 |"]
            else:  # lower-cased, after a label
                lines += [" ".join(para), "Q: " + q.lower()]
            planted.append((item_id, q.lower() if way == 3 else q))
            lines.append(" ".join(prose_sentence(rng) for _ in range(rng.randint(3, 6))))
        docs.append(("\n\n".join(lines) + "\n", planted))
    return docs


def real_documents():
    """(name, text) of every document of ../shared/corpus, extracted and normalised as build-pretrain does."""
    from telecom_etl.extractors import SOURCES
    from telecom_etl.extractors.base import SourceItem
    from telecom_etl.manifest import SourceConfig
    from telecom_etl.normalize import normalize
    from telecom_etl.record import Document

    out = []
    for kind, pattern in (("3gpp", "specs/*"), ("paper", "papers/*.pdf")):
        for path in sorted(glob.glob(os.path.join(CORPUS, pattern))):
            options = {"max_members": 20000} if kind == "3gpp" else {}  # Rel-18 RAN1 specs have 2,000-3,000
            src = SOURCES[kind](SourceConfig(name=kind, kind=kind, paths=[path], options=options))
            try:
                for d in src.extract(SourceItem(kind, kind, path)):
                    d = normalize(d) if isinstance(d, Document) else d
                    if isinstance(d, Document):
                        out.append((os.path.basename(path), d.text))
            except Exception as exc:  # a file the extractor refuses is reported, not fatal here
                print(f"  (skipped {os.path.basename(path)}: {str(exc).splitlines()[0][:100]})")
    return out


# --------------------------------------------------------------------------- baseline

class PythonNgramMatcher:
    """The usual decontamination loop: a set of question n-grams, every text n-gram looked up in Python."""

    def __init__(self, items, n=13, min_words=8):
        from telecom_etl.filters.decontaminate import tokens

        self.n, self.grams = n, {}
        for item in items:
            toks = tokens(item.texts[0])
            if len(toks) < min_words:
                continue
            size = min(n, len(toks))
            for i in range(len(toks) - size + 1):
                self.grams.setdefault(size, {}).setdefault(tuple(toks[i:i + size]), set()).add(item.id)

    def matches(self, text):
        from telecom_etl.filters.decontaminate import tokens

        toks, found = tokens(text), set()
        for size, table in self.grams.items():
            for i in range(len(toks) - size + 1):
                got = table.get(tuple(toks[i:i + size]))
                if got:
                    found |= got
        return sorted(found)


# --------------------------------------------------------------------------- main

def _cpu(fn):
    t0 = time.process_time()
    value = fn()
    return value, time.process_time() - t0


def _sentence(text, start, end):
    a = max(text.rfind("\n", 0, start) + 1, start - 160)
    b = text.find("\n", end)
    b = len(text) if b < 0 else min(b, end + 160)
    return text[a:b].strip()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--questions", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", default=None, help="scratch folder (default: a temporary one)")
    args = ap.parse_args(argv)
    if not os.path.exists(SAMPLE):
        print(f"needs {SAMPLE} (../shared/corpus, or set TELECOM_ETL_CORPUS)")
        return 2
    from telecom_etl.filters.decontaminate import (BenchmarkIndex, Decontaminate, load_benchmark, redaction_spans,
                                                   remove_spans)
    from telecom_etl.record import Document

    work = args.work or tempfile.mkdtemp(prefix="bench-decontam-")
    with open(SAMPLE, encoding="utf-8") as fh:
        sample = json.load(fh)
    real = real_documents()
    frequent = Counter(w for _, t in real for w in re.findall(r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*", t))
    bench = generate_benchmark(sample, args.questions, args.seed, [w for w, _ in frequent.most_common()])
    path = os.path.join(work, "TeleQnA_large.json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(bench, fh)
    real_shape, gen_shape = shape(sample.values()), shape([v for k, v in bench.items() if k.startswith("gen ")])
    real_shape["vocabulary"] = f"{len(_vocabulary(sample.values())):,}"
    gen_shape["vocabulary"] = f"{len(_vocabulary(bench.values())):,}"
    real_shape["vocabulary_predicted"], gen_shape["vocabulary_predicted"] = "-", \
        f"{heaps_vocabulary(list(sample.values()), len(bench)):,}"
    print(f"decontamination benchmark: {len(bench):,} TeleQnA-format questions ({os.path.getsize(path) / 1e6:.1f} MB, "
          f"{len(sample)} real + {len(bench) - len(sample):,} generated); 1 core, CPU time; work folder {work}")
    print("\n1. Shape of the questions: real sample vs generated")
    print(f"  {'':<22}{'real':>10}{'generated':>12}")
    for key in ("median_words", "p10", "p90", "under_8_words", "under_13_words", "release_tag", "vocabulary",
                "vocabulary_predicted"):
        fmt = "{:>10.1%}{:>12.1%}" if isinstance(real_shape[key], float) else "{:>10}{:>12}"
        print(f"  {key:<22}" + fmt.format(real_shape[key], gen_shape[key]))

    # 4 (first half). index build
    items, read_s = _cpu(lambda: load_benchmark(path))
    index, build_s = _cpu(lambda: BenchmarkIndex.build(items))
    old_index = BenchmarkIndex.build(items, short_min_words=8)  # the previous rule: nothing under 8 words

    # 2. catch rate
    questions = [(i.id, bench[i.id.split(":", 1)[1]]["question"]) for i in items]
    docs = planted_documents(questions, args.seed)
    caught = old_caught = gone = 0
    missed = []
    for text, planted in docs:
        found = set(index.matches(text))
        old_found = set(old_index.matches(text))
        hits = index.find(text)
        redacted = remove_spans(text, redaction_spans(text, hits))
        for item_id, q in planted:
            caught += item_id in found
            old_caught += item_id in old_found
            gone += q.split(" [3GPP")[0] not in redacted
            if item_id not in found:
                missed.append(q)
    total = len(questions)
    short = sum(len(_words(q)) < 8 for _, q in questions)
    print(f"\n2. Catch rate: {total:,} questions planted in {len(docs):,} generated prose documents "
          f"({sum(len(t) for t, _ in docs) / 1e6:.1f} MB; in a paragraph, on a line, in a table row, lower-cased)")
    print(f"  {'':<34}{'telecom-etl':>12}{'previous rule':>15}")
    print(f"  {'caught':<34}{caught / total:>12.2%}{old_caught / total:>15.2%}")
    short_missed = sum(len(_words(q)) < 8 for q in missed)
    print(f"  {'questions under 8 words caught':<34}{1 - short_missed / max(short, 1):>12.2%}{'0.00%':>15}"
          f"  ({short:,} such questions)")
    print(f"  {'planted text gone after redaction':<34}{gone / total:>12.2%}")
    for q in missed[:5]:
        print(f"  missed: {q[:100]}")

    # 3. false matches on real documents
    print("\n3. Matches on the real documents of ../shared/corpus (each to be judged: genuine overlap or false)")
    n_hits = 0
    for name, text in real:
        for h in index.find(text):
            n_hits += 1
            print(f"  {name}: {h.item}: \"{_sentence(text, h.start, h.end)[:200]}\"")
    print(f"  {n_hits} matches in {len(real)} documents ({sum(len(t) for _, t in real) / 1e6:.1f} MB)")

    # 4. speed
    mb = sum(len(t.encode("utf-8")) for _, t in real) / 1e6
    f = Decontaminate([path])
    f.index = index
    docs_real = [Document(id=n, text=t, source="s", kind="3gpp", uri=n) for n, t in real]
    _, filter_s = _cpu(lambda: [f.filter(d.replace(extra={}, flags=[])) for d in docs_real])
    baseline = PythonNgramMatcher(items)
    _, base_s = _cpu(lambda: [baseline.matches(t) for _, t in real])
    print(f"\n4. Speed, CPU time of one core ({len(bench):,}-question index; {mb:.1f} MB of real documents)")
    print(f"  index build: read {read_s:.2f} s + index {build_s:.2f} s = {read_s + build_s:.2f} s "
          f"({len(index.vocab):,} words, {sum(len(t) for t in index.grams.values()):,} runs of "
          f"{len(index.grams)} lengths)")
    from telecom_etl.filters.decontaminate import tokens

    words = [w for _, t in real for w in tokens(t)]
    small = BenchmarkIndex.build(load_benchmark(SAMPLE))
    print(f"  share of the real documents' words known to the index: {sum(w in index.vocab for w in words) / len(words):.1%}"
          f" (the 300 real questions alone: {sum(w in small.vocab for w in words) / len(words):.1%})")
    print(f"  {'':<34}{'telecom-etl':>12}{'Python n-gram loop':>20}{'ratio':>8}")
    print(f"  {'filter MB/s':<34}{mb / filter_s:>12.2f}{mb / base_s:>20.2f}{base_s / filter_s:>7.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
