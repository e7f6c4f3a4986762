"""MinHash signatures over word n-gram shingles, vectorised with NumPy (no per-shingle Python loop).

How a signature is computed, and why each step is shaped this way:

1. **Normalise** (:func:`shingle_bytes`): NFKC (only when the text is not already NFKC),
   lower case, UTF-8. Words are runs of ASCII letters/digits/underscore and of non-ASCII
   letters; punctuation, whitespace and the common Unicode symbol blocks (Latin-1
   punctuation, U+2000-U+2FFF, CJK punctuation) separate words. So two copies that differ
   only in case, spacing, quotes or dashes shingle identically (the normalisation the
   peers apply: datatrove lower-cases and strips punctuation).
2. **Hash every word** with a polynomial hash over its bytes, for all words at once:
   prefix sums of ``byte * P**i`` (mod 2**32, NumPy's wrapping uint32 arithmetic) and one
   multiplication by ``P**-start`` (P is odd, so it has an inverse mod 2**32).
3. **Hash every shingle** (n consecutive words) as a position-weighted sum of its word
   hashes, finished with the splitmix64 mixer so every bit is well spread. A shingle is
   its words only, so "a b" and "a, b" are the same shingle.
4. **Sketch** (:class:`MinHasher`), by default with one-permutation MinHash and optimal
   densification: each shingle hash selects one of ``num_perm`` bins and competes for its
   minimum, O(shingles + num_perm) per document, instead of the O(shingles x num_perm) of
   classic MinHash (also available, ``scheme="kperm"``: multiply-add permutations mod 2**32
   in uint32 blocks). Both estimate Jaccard as accurately as datasketch at the same
   ``num_perm`` (tests and benchmarks/bench_dedup.py measure it).
5. **Batch**: :meth:`MinHasher.signatures` hashes many records as one buffer and reduces
   per record (``np.minimum.at`` / ``np.minimum.reduceat``), so short records do not pay
   NumPy's per-call overhead each.

A signature is ``num_perm`` uint32 values; the Jaccard estimate of two documents is the
fraction of equal positions. Signatures only compare when ``(ngram, num_perm, seed, scheme)``
are equal; :attr:`MinHasher.params` names them (the incremental index stores them).
"""
from __future__ import annotations

import unicodedata
from typing import List, Optional, Sequence

import numpy as np

MAX_HASH = np.uint32(0xFFFFFFFF)
_P = 0x01000193  # FNV-32 prime: odd, so invertible mod 2**32
_P_INV = pow(_P, -1, 1 << 32)
_SHINGLE_MULT = 0x9E3779B97F4A7C15  # golden-ratio constant weights word positions in a shingle

# bytes that belong to a word: ASCII letters, digits, underscore, and every non-ASCII byte
# (punctuation-like non-ASCII code points are cleared separately, see _clear_symbols)
_WORD_BYTE = np.zeros(256, dtype=bool)
for _c in b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_":
    _WORD_BYTE[_c] = True
_WORD_BYTE[0x80:] = True


def shingle_bytes(text: str) -> bytes:
    """The normalised UTF-8 bytes that words are read from (NFKC, lower case)."""
    if not text.isascii() and not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return text.lower().encode("utf-8", "replace")


def _clear_symbols(data: np.ndarray, word: np.ndarray) -> None:
    """Mark the UTF-8 bytes of non-letter symbols (quotes, dashes, NBSP, math signs) as separators."""
    lead = np.flatnonzero(data[:-1] == 0xC2)  # U+0080-U+00BF: NBSP, section sign, degree, plus-minus ...
    lead = lead[(data[lead + 1] >= 0x80) & (data[lead + 1] <= 0xBF) & (data[lead + 1] != 0xB5)]  # keep micro
    word[lead] = False
    word[lead + 1] = False
    lead = np.flatnonzero(data[:-1] == 0xC3)  # multiplication and division signs
    lead = lead[(data[lead + 1] == 0x97) | (data[lead + 1] == 0xB7)]
    word[lead] = False
    word[lead + 1] = False
    for first, second in ((0xE2, None), (0xE3, 0x80)):  # U+2000-U+2FFF symbols; U+3000-U+303F CJK punctuation
        lead = np.flatnonzero(data[:-2] == first)
        if second is not None:
            lead = lead[data[lead + 1] == second]
        word[lead] = False
        word[lead + 1] = False
        word[lead + 2] = False


_POWER_CACHE_MAX = 1 << 23  # bytes; longer inputs compute their powers on the fly
_powers_cache: List[np.ndarray] = []


def _power_tables(n: int):
    """(P**i, P**-i) for i < n, mod 2**32; cached up to _POWER_CACHE_MAX (they only depend on n)."""
    if _powers_cache and _powers_cache[0].size >= n:
        return _powers_cache[0], _powers_cache[1]
    size = n if n > _POWER_CACHE_MAX else max(1 << 16, 1 << (n - 1).bit_length())
    with np.errstate(over="ignore"):
        powers = np.full(size, _P, dtype=np.uint32)
        powers[0] = 1
        np.cumprod(powers, out=powers)
        inverse = np.full(size, _P_INV, dtype=np.uint32)
        inverse[0] = 1
        np.cumprod(inverse, out=inverse)
    if size <= _POWER_CACHE_MAX:
        _powers_cache[:] = [powers, inverse]
    return powers, inverse


def _word_hashes_of_bytes(data: np.ndarray):
    """(uint64 hash per word, byte offset where each word starts) of normalised UTF-8 bytes.

    A word's hash is the polynomial sum of its bytes mod 2**32: prefix sums of
    ``byte * P**i`` over the whole buffer, the difference over the word's span, times
    ``P**-start``. Separator bytes never fall inside a span, so they need not be removed
    first. 32 bits per word (half the memory traffic of 64) is plenty: two distinct words
    share a hash with probability 2**-32, and shingle hashes are 64-bit.
    """
    empty = np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    if data.size == 0:
        return empty
    word = np.take(_WORD_BYTE, data)
    if data[-1] >= 0x80 or (data >= 0xC2).any():
        _clear_symbols(data, word)
    edges = np.diff(word.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts = np.flatnonzero(edges == 1)
    if starts.size == 0:
        return empty
    ends = np.flatnonzero(edges == -1)
    powers, inverse = _power_tables(data.size)
    with np.errstate(over="ignore"):
        prefix = np.empty(data.size + 1, dtype=np.uint32)
        prefix[0] = 0
        np.multiply(data, powers[:data.size], out=prefix[1:])
        np.cumsum(prefix[1:], out=prefix[1:])
        hashes = (prefix[ends] - prefix[starts]) * inverse[starts]
    return hashes.astype(np.uint64), starts


def word_hashes(text: str) -> np.ndarray:
    """One uint64 hash per word of ``text``, in order."""
    return _word_hashes_of_bytes(np.frombuffer(shingle_bytes(text), dtype=np.uint8))[0]


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, in place: spreads every input bit over the whole word."""
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x


def _combine(words: np.ndarray, ngram: int, count: int) -> np.ndarray:
    """Hash of each run of ``ngram`` consecutive word hashes starting at 0 .. count-1."""
    out = np.zeros(count, dtype=np.uint64)
    weight = 1
    with np.errstate(over="ignore"):
        for k in range(ngram):
            out += words[k:k + count] * np.uint64(weight)
            weight = (weight * _SHINGLE_MULT) & 0xFFFFFFFFFFFFFFFF
    return _mix64(out)


def shingle_hashes(text: str, ngram: int) -> np.ndarray:
    """uint64 hash of every word n-gram of ``text`` (a text shorter than ``ngram`` words is one shingle)."""
    words = word_hashes(text)
    if words.size == 0:
        return words
    return _combine(words, min(ngram, words.size), max(1, words.size - ngram + 1))


def batch_shingle_hashes(texts: Sequence[str], ngram: int):
    """(shingle hashes, document index of each) for many texts at once, grouped by document in order.

    Small records (spec clauses, code files) make per-call overhead dominate, so the texts are
    hashed as one byte string and the shingles that would cross a document boundary are cut.
    """
    encoded = [shingle_bytes(t) for t in texts]
    sizes = np.fromiter((len(e) + 1 for e in encoded), dtype=np.int64, count=len(encoded))
    doc_starts = np.cumsum(sizes) - sizes
    data = np.frombuffer(b"\n".join(encoded), dtype=np.uint8)
    words, word_starts = _word_hashes_of_bytes(data)
    if words.size == 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    doc_of_word = np.searchsorted(doc_starts, word_starts, side="right") - 1
    per_doc = np.bincount(doc_of_word, minlength=len(texts))
    parts, owners = [], []
    if words.size >= ngram:
        full = _combine(words, ngram, words.size - ngram + 1)
        inside = doc_of_word[:full.size] == doc_of_word[ngram - 1:]
        parts.append(full[inside])
        owners.append(doc_of_word[:full.size][inside])
    short = np.flatnonzero((per_doc > 0) & (per_doc < ngram))
    if short.size:  # texts shorter than ngram words: one shingle of all their words (as _combine)
        first = (np.cumsum(per_doc) - per_doc)[short]
        counts = per_doc[short]
        acc = np.zeros(short.size, dtype=np.uint64)
        weight = 1
        with np.errstate(over="ignore"):
            for k in range(ngram - 1):
                has = counts > k
                acc[has] += words[first[has] + k] * np.uint64(weight)
                weight = (weight * _SHINGLE_MULT) & 0xFFFFFFFFFFFFFFFF
        parts.append(_mix64(acc))
        owners.append(short)
    hashes, docs = np.concatenate(parts), np.concatenate(owners)
    if short.size:
        order = np.argsort(docs, kind="stable")
        hashes, docs = hashes[order], docs[order]
    return hashes, docs


SCHEMES = ("oph", "kperm")


class MinHasher:
    """Computes MinHash signatures with fixed parameters (one instance per worker; cheap to copy).

    Two schemes, same estimator (fraction of equal positions) and same LSH banding:

    * ``"oph"`` (default): one-permutation MinHash (Li, Owen & Zhang, NIPS 2012) with optimal
      densification (Shrivastava, ICML 2017). Each shingle hash picks one of ``num_perm``
      bins with its top bits and competes for that bin's minimum with its low 32 bits, so
      the cost is O(shingles + num_perm) instead of O(shingles x num_perm). Empty bins
      (texts with few shingles) borrow the value of a bin chosen by a fixed seeded sequence,
      identically in every document, which keeps the estimate unbiased and LSH-able.
    * ``"kperm"``: classic MinHash with ``num_perm`` multiply-add permutations
      ``(a_i * x + b_i) mod 2**32`` of the top 32 bits, in uint32 blocks of shingles x
      permutations (what datasketch computes, about 4x cheaper per element).
    """

    DENSIFY_ROUNDS = 24

    def __init__(self, num_perm: int = 128, ngram: int = 5, seed: int = 1, scheme: str = "oph",
                 block: int = 1024):
        if num_perm < 1 or ngram < 1:
            raise ValueError("num_perm and ngram must be positive")
        if scheme not in SCHEMES:
            raise ValueError(f"unknown MinHash scheme {scheme!r} (known: {', '.join(SCHEMES)})")
        self.num_perm, self.ngram, self.seed, self.scheme, self.block = num_perm, ngram, seed, scheme, block
        rng = np.random.Generator(np.random.PCG64(seed))
        self.a = (rng.integers(0, 1 << 32, num_perm, dtype=np.uint64) | np.uint64(1)).astype(np.uint32)
        self.b = rng.integers(0, 1 << 32, num_perm, dtype=np.uint64).astype(np.uint32)
        # densification: round r sends empty bin j to bin borrow[r, j] (never to itself)
        offsets = rng.integers(1, max(num_perm, 2), size=(self.DENSIFY_ROUNDS, num_perm))
        self.borrow = (np.arange(num_perm)[None, :] + offsets) % num_perm
        self.salt = np.uint64(rng.integers(0, 1 << 63, dtype=np.uint64))

    @property
    def params(self) -> dict:
        return {"num_perm": self.num_perm, "ngram": self.ngram, "seed": self.seed, "scheme": self.scheme}

    def empty(self) -> np.ndarray:
        return np.full(self.num_perm, MAX_HASH, dtype=np.uint32)

    def signature(self, text: str) -> np.ndarray:
        """MinHash signature (``num_perm`` uint32) of the word n-gram shingles of ``text``."""
        return self.signatures([text])[0]

    def signature_of_hashes(self, hashes: np.ndarray) -> np.ndarray:
        """Signature of one set of uint64 shingle hashes."""
        return self._sign(hashes, np.zeros(hashes.size, dtype=np.int64), 1)[0]

    def signatures(self, texts: Sequence[str]) -> np.ndarray:
        """Signatures of many texts at once, shape (len(texts), num_perm).

        Small records (spec clauses, code files) would otherwise pay NumPy's per-call
        overhead many times; the values equal :meth:`signature` of each text.
        """
        hashes, docs = batch_shingle_hashes(texts, self.ngram)
        return self._sign(hashes, docs, len(texts))

    def signatures_and_shingles(self, texts: Sequence[str], max_shingles: int):
        """(signatures as :meth:`signatures`, per text :func:`shingle_set_bytes` of its shingles, or b""
        when it has more than ``max_shingles`` distinct ones)."""
        hashes, docs = batch_shingle_hashes(texts, self.ngram)
        sigs = self._sign(hashes, docs, len(texts))
        bounds = np.searchsorted(docs, np.arange(len(texts) + 1))
        sets = []
        for i in range(len(texts)):
            part = hashes[bounds[i]:bounds[i + 1]]
            sets.append(shingle_set_bytes(part) if part.size <= 2 * max_shingles else b"")
            if sets[-1] and len(sets[-1]) > 4 * max_shingles:
                sets[-1] = b""
        return sigs, sets

    def _sign(self, hashes: np.ndarray, docs: np.ndarray, n_docs: int) -> np.ndarray:
        out = np.full((n_docs, self.num_perm), MAX_HASH, dtype=np.uint32)
        if hashes.size == 0:
            return out
        if self.scheme == "oph":
            return self._sign_oph(hashes, docs, out)
        x = (hashes >> np.uint64(32)).astype(np.uint32)
        block = min(self.block, x.size)
        buf = np.empty((block, self.num_perm), dtype=np.uint32)
        a, b = self.a[None, :], self.b
        for i in range(0, x.size, block):
            part, owner = x[i:i + block], docs[i:i + block]
            work = buf[:part.size]
            np.multiply(part[:, None], a, out=work)
            np.add(work, b, out=work)
            # one block may hold several documents, and one document may span blocks
            starts = np.flatnonzero(np.concatenate(([True], owner[1:] != owner[:-1])))
            rows = owner[starts]
            out[rows] = np.minimum(out[rows], np.minimum.reduceat(work, starts, axis=0))
        return out

    def _sign_oph(self, hashes: np.ndarray, docs: np.ndarray, out: np.ndarray) -> np.ndarray:
        k = self.num_perm
        hashes = _mix64(hashes ^ self.salt)  # the seed picks the one permutation
        # bin from the top 32 bits (multiply-high: uniform over k bins), value from the low 32 bits
        bins = ((hashes >> np.uint64(32)) * np.uint64(k)) >> np.uint64(32)
        values = (hashes & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        np.minimum.at(out.reshape(-1), docs * k + bins.astype(np.int64), values)
        present = out != MAX_HASH
        sparse = np.flatnonzero(present.any(axis=1) & ~present.all(axis=1))
        for i in range(0, sparse.size, 2048):  # bounded temporaries: (rows, bins, rounds) booleans
            rows = sparse[i:i + 2048]
            out[rows] = self._densify(out[rows], present[rows])
        return out

    def _densify(self, sub: np.ndarray, sub_present: np.ndarray) -> np.ndarray:
        """Optimal densification: an empty bin j takes the value of bin borrow[r, j] for the first
        round r where that bin is non-empty (the same sequence in every document)."""
        k = self.num_perm
        found = sub_present[:, self.borrow.T]  # (rows, bins, rounds)
        first = found.argmax(axis=2)
        donor = self.borrow.T[np.arange(k)[None, :], first]
        value = np.take_along_axis(sub, donor, axis=1)
        ok = found.any(axis=2)
        if not ok.all():  # nearly empty rows: the next non-empty bin to the right (circular)
            index = np.where(np.concatenate([sub_present] * 2, axis=1), np.arange(2 * k), 2 * k)
            nearest = np.minimum.accumulate(index[:, ::-1], axis=1)[:, ::-1][:, :k] % k
            value = np.where(ok, value, np.take_along_axis(sub, nearest, axis=1))
        return np.where(sub_present, sub, value)


def is_empty(sig: np.ndarray) -> bool:
    """True for the signature of a text without any word (it must not match anything)."""
    return bool((sig == MAX_HASH).all())


def estimate_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """Fraction of equal positions: the MinHash estimate of the Jaccard similarity."""
    if sig_a.shape != sig_b.shape:
        raise ValueError("signatures of different lengths do not compare")
    return float(np.count_nonzero(sig_a == sig_b)) / sig_a.size


def exact_jaccard(text_a: str, text_b: str, ngram: int) -> float:
    """Jaccard similarity of the two texts' shingle sets (the quantity MinHash estimates)."""
    a = set(shingle_hashes(text_a, ngram).tolist())
    b = set(shingle_hashes(text_b, ngram).tolist())
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def shingle_set_bytes(hashes: np.ndarray) -> bytes:
    """Sorted distinct top 32 bits of uint64 shingle hashes, little-endian: a small record's exact shingle set
    (two distinct shingles of two records share their top 32 bits with probability 2**-32)."""
    return np.unique((hashes >> np.uint64(32)).astype("<u4")).tobytes()


def signature_bytes(sig: np.ndarray) -> bytes:
    return np.ascontiguousarray(sig, dtype="<u4").tobytes()


def signature_from_bytes(data: bytes, num_perm: Optional[int] = None) -> np.ndarray:
    sig = np.frombuffer(data, dtype="<u4").astype(np.uint32)
    if num_perm is not None and sig.size != num_perm:
        raise ValueError(f"signature has {sig.size} values, expected {num_perm}")
    return sig


class Sketcher:
    """Near-dedup's view of texts: per text (signature bytes, shingle-set bytes or b""), as the
    near-dedup stage signs them. Picklable (the MinHasher is built on first use), so the step that
    moves texts out of a build's memory (:mod:`telecom_etl.spill`) can sketch them while it has
    them, with the stage's own parameters."""

    def __init__(self, num_perm: int, ngram: int, seed: int, scheme: str, max_shingles: int = 0):
        self.num_perm, self.ngram, self.seed, self.scheme = num_perm, ngram, seed, scheme
        self.max_shingles = max_shingles
        self._hasher: Optional[MinHasher] = None

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "_hasher"}

    def __setstate__(self, state):
        self.__dict__.update(state, _hasher=None)

    @property
    def hasher(self) -> MinHasher:
        if self._hasher is None:
            self._hasher = MinHasher(self.num_perm, self.ngram, self.seed, self.scheme)
        return self._hasher

    #: characters hashed per NumPy pass: the pass's temporaries are ~20 bytes per character, so a
    #: pass stays under ~40 MB however large the batch it is given (values do not depend on batching)
    CHUNK_CHARS = 2_000_000

    def __call__(self, texts: Sequence[str]) -> List[tuple]:
        out: List[tuple] = []
        start = 0
        while start < len(texts):
            end, size = start + 1, len(texts[start])
            while end < len(texts) and size + len(texts[end]) <= self.CHUNK_CHARS:
                size += len(texts[end])
                end += 1
            part = texts[start:end]
            if self.max_shingles:
                sigs, sets = self.hasher.signatures_and_shingles(part, self.max_shingles)
            else:
                sigs, sets = self.hasher.signatures(part), [b""] * len(part)
            out.extend((signature_bytes(sig), shingles) for sig, shingles in zip(sigs, sets))
            start = end
        return out
