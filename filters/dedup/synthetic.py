"""A reproducible labelled corpus with planted near-duplicates (for tests and benchmarks/bench_dedup.py).

Base documents are telecom-flavoured word sequences drawn from a Zipf-like vocabulary
(real text repeats its common words, which matters for shingle statistics). For each
base, variants are planted with a known per-word edit rate (substitute, insert or delete
a word, one third each). Variants with an edit rate up to ``duplicate_max_rate`` are
labelled as the base's cluster; documents that quote only part of a base, or are edited
more heavily, get clusters of their own (hard negatives). Everything follows from the seed.
"""
from __future__ import annotations

import random
from typing import Dict, List, NamedTuple, Sequence

_TELECOM = ("ue gnb amf smf upf rrc pdcp rlc mac phy harq pdu session bearer qos flow slice tac cell beam "
            "ssb csi rs pucch pusch pdcch pdsch srs prach timer t300 t310 procedure message ie shall should "
            "may network core access radio resource control configuration measurement report handover "
            "paging registration authentication security context tunnel gtp endpoint identifier teid "
            "interface n1 n2 n3 n4 n11 ngap xnap f1ap e1ap nas downlink uplink carrier bandwidth numerology "
            "subcarrier spacing symbol slot frame release version clause annex table figure").split()


class LabelledDoc(NamedTuple):
    id: str
    text: str
    cluster: str  # ground-truth cluster (the base id for planted duplicates)
    edit_rate: float
    kind: str  # base | duplicate | partial | heavy_edit | unrelated


def _vocabulary(rng: random.Random, size: int) -> List[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = list(_TELECOM)
    while len(words) < size:
        words.append("".join(rng.choice(letters) for _ in range(rng.randint(3, 10))))
    return words


def _draw(rng: random.Random, vocab: Sequence[str], weights: Sequence[float], n: int) -> List[str]:
    return rng.choices(vocab, weights=weights, k=n)


def edit_words(rng: random.Random, words: List[str], rate: float, vocab, weights) -> List[str]:
    """Per word, with probability ``rate``: substitute, insert after, or delete (one third each)."""
    out: List[str] = []
    for word in words:
        if rng.random() >= rate:
            out.append(word)
            continue
        op = rng.randrange(3)
        if op == 0:
            out.append(_draw(rng, vocab, weights, 1)[0])
        elif op == 1:
            out.extend([word, _draw(rng, vocab, weights, 1)[0]])
    return out


def _paragraphs(rng: random.Random, words: List[str]) -> str:
    lines, i = [], 0
    while i < len(words):
        n = rng.randint(12, 40)
        sentence = " ".join(words[i:i + n])
        lines.append(sentence[:1].upper() + sentence[1:] + ".")
        i += n
    return "\n\n".join(" ".join(lines[j:j + 4]) for j in range(0, len(lines), 4)) + "\n"


def planted_corpus(n_bases: int = 200, seed: int = 0, min_words: int = 150, max_words: int = 1500,
                   duplicate_rates: Sequence[float] = (0.0, 0.002, 0.005, 0.01),
                   max_duplicates: int = 3, negatives_per_base: float = 0.5,
                   vocab_size: int = 20000) -> List[LabelledDoc]:
    """Bases, planted near-duplicates (labelled with their base) and hard negatives."""
    rng = random.Random(seed)
    vocab = _vocabulary(rng, vocab_size)
    weights = [1.0 / (rank + 10) for rank in range(len(vocab))]
    docs: List[LabelledDoc] = []
    for b in range(n_bases):
        base_id = f"base{b:05d}"
        words = _draw(rng, vocab, weights, rng.randint(min_words, max_words))
        docs.append(LabelledDoc(base_id, _paragraphs(rng, words), base_id, 0.0, "base"))
        for d in range(rng.randint(0, max_duplicates)):
            rate = rng.choice(list(duplicate_rates))
            variant = edit_words(rng, words, rate, vocab, weights)
            if rate == 0.0:  # same words, different layout and case: exact after normalisation
                text = _paragraphs(random.Random(rng.random()), variant).upper()
            else:
                text = _paragraphs(rng, variant)
            docs.append(LabelledDoc(f"{base_id}-dup{d}", text, base_id, rate, "duplicate"))
        if rng.random() < negatives_per_base:
            if rng.random() < 0.5:  # quotes 40% of the base, the rest is new
                cut = int(len(words) * 0.4)
                start = rng.randrange(0, len(words) - cut + 1)
                new = words[start:start + cut] + _draw(rng, vocab, weights, len(words) - cut)
                docs.append(LabelledDoc(f"{base_id}-partial", _paragraphs(rng, new), f"{base_id}-partial", 0.6,
                                        "partial"))
            else:
                heavy = edit_words(rng, words, 0.15, vocab, weights)
                docs.append(LabelledDoc(f"{base_id}-heavy", _paragraphs(rng, heavy), f"{base_id}-heavy", 0.15,
                                        "heavy_edit"))
    for u in range(n_bases // 4):
        uid = f"other{u:05d}"
        docs.append(LabelledDoc(uid, _paragraphs(rng, _draw(rng, vocab, weights, rng.randint(min_words, max_words))),
                                uid, 1.0, "unrelated"))
    return docs


def pair_scores(truth: Dict[str, str], predicted: Dict[str, str]) -> Dict[str, float]:
    """Pairwise precision / recall / F1 of cluster membership (doc -> cluster label maps)."""
    from collections import Counter

    def same_pairs(counter):
        return sum(n * (n - 1) // 2 for n in counter.values())

    ids = sorted(truth)
    both = Counter((truth[i], predicted.get(i, i)) for i in ids)
    tp = same_pairs(both)
    pred_pairs = same_pairs(Counter(predicted.get(i, i) for i in ids))
    true_pairs = same_pairs(Counter(truth[i] for i in ids))
    precision = tp / pred_pairs if pred_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "true_pairs": true_pairs,
            "predicted_pairs": pred_pairs}
