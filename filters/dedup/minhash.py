"""MinHash signatures over word n-gram shingles, vectorised with NumPy (no per-shingle Python loop).

How a signature is computed, and why each step is shaped this way:

1. **Normalise** (:func:`shingle_bytes`): NFKC (only when the text is not already NFKC),
   lower case, UTF-8. Words are runs of ASCII letters/digits/underscore and of non-ASCII
   letters; punctuation, whitespace and the common Unicode symbol blocks (Latin-1
   punctuation, U+2000-U+2FFF, CJK punctuation) separate words. So two copies that differ
   only in case, spacing, quotes or dashes shingle identically (the normalisation the
   peers apply: datatrove lower-cases and strips punctuation).
2. **Hash every word** with a polynomial hash over its bytes, for all words at once:
   prefix sums of ``byte * P**i`` (mod 2**64, NumPy's wrapping uint64 arithmetic) and one
   multiplication by ``P**-start`` (P is odd, so it has an inverse mod 2**64).
3. **Hash every shingle** (n consecutive words) as a position-weighted sum of its word
   hashes, finished with the splitmix64 mixer so every bit is well spread. A shingle is
   its words only, so "a b" and "a, b" are the same shingle.
4. **Permute and take minima**: ``h_i(x) = (a_i * x + b_i) mod 2**32`` for
   ``num_perm`` seeded random (odd ``a_i``, any ``b_i``) over the top 32 bits of the
   shingle hash, in uint32 blocks of shingles x permutations, reduced with ``min``.
   32-bit lanes are twice as dense in SIMD as 64-bit ones and need no modulo by a prime;
   the shingle hashes are already uniformly mixed, so the multiply-add permutations give
   Jaccard estimates as accurate as datasketch's (tests and the benchmark check this).

A signature is ``num_perm`` uint32 values; the Jaccard estimate of two documents is the
fraction of equal positions. Signatures only compare when ``(ngram, num_perm, seed)`` are
equal; :attr:`MinHasher.params` names them (the incremental index stores them).
"""
from __future__ import annotations

import unicodedata
from typing import Optional

import numpy as np

MAX_HASH = np.uint32(0xFFFFFFFF)
_P = 0x100000001B3  # FNV-64 prime: odd, so invertible mod 2**64
_P_INV = pow(_P, -1, 1 << 64)
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


def word_hashes(text: str) -> np.ndarray:
    """One uint64 hash per word of ``text``, in order."""
    data = np.frombuffer(shingle_bytes(text), dtype=np.uint8)
    if data.size == 0:
        return np.zeros(0, dtype=np.uint64)
    word = _WORD_BYTE[data]
    if data[-1] >= 0x80 or (data >= 0xC2).any():
        _clear_symbols(data, word)
    chars = data[word].astype(np.uint64)  # word bytes only, words concatenated
    if chars.size == 0:
        return np.zeros(0, dtype=np.uint64)
    # word boundaries in the original bytes give word lengths; starts in the concatenation follow
    edges = np.diff(word.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    lengths = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    n = chars.size
    with np.errstate(over="ignore"):
        powers = np.full(n, _P, dtype=np.uint64)
        powers[0] = 1
        np.cumprod(powers, out=powers)
        prefix = np.zeros(n + 1, dtype=np.uint64)
        np.cumsum(chars * powers, out=prefix[1:])
        # P**-start for each word start normalises the prefix difference to the word's own hash
        inv_powers = np.full(n, _P_INV, dtype=np.uint64)
        inv_powers[0] = 1
        np.cumprod(inv_powers, out=inv_powers)
        return (prefix[ends] - prefix[starts]) * inv_powers[starts] + lengths.astype(np.uint64)


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, in place: spreads every input bit over the whole word."""
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x


def shingle_hashes(text: str, ngram: int) -> np.ndarray:
    """uint64 hash of every word n-gram of ``text`` (a text shorter than ``ngram`` words is one shingle)."""
    words = word_hashes(text)
    if words.size == 0:
        return words
    count = max(1, words.size - ngram + 1)
    width = min(ngram, words.size)
    out = np.zeros(count, dtype=np.uint64)
    weight = 1
    with np.errstate(over="ignore"):
        for k in range(width):
            out += words[k:k + count] * np.uint64(weight)
            weight = (weight * _SHINGLE_MULT) & 0xFFFFFFFFFFFFFFFF
    return _mix64(out)


class MinHasher:
    """Computes MinHash signatures with fixed parameters (one instance per worker; cheap to copy)."""

    def __init__(self, num_perm: int = 128, ngram: int = 5, seed: int = 1, block: int = 1024):
        if num_perm < 1 or ngram < 1:
            raise ValueError("num_perm and ngram must be positive")
        self.num_perm, self.ngram, self.seed, self.block = num_perm, ngram, seed, block
        rng = np.random.Generator(np.random.PCG64(seed))
        self.a = (rng.integers(0, 1 << 32, num_perm, dtype=np.uint64) | np.uint64(1)).astype(np.uint32)
        self.b = rng.integers(0, 1 << 32, num_perm, dtype=np.uint64).astype(np.uint32)

    @property
    def params(self) -> dict:
        return {"num_perm": self.num_perm, "ngram": self.ngram, "seed": self.seed, "scheme": "mh32-ms1"}

    def empty(self) -> np.ndarray:
        return np.full(self.num_perm, MAX_HASH, dtype=np.uint32)

    def signature_of_hashes(self, hashes: np.ndarray) -> np.ndarray:
        """Signature of a set of uint64 shingle hashes."""
        sig = self.empty()
        if hashes.size == 0:
            return sig
        x = (hashes >> np.uint64(32)).astype(np.uint32)
        block = min(self.block, x.size)
        buf = np.empty((block, self.num_perm), dtype=np.uint32)
        a, b = self.a[None, :], self.b
        for i in range(0, x.size, block):
            part = x[i:i + block]
            work = buf[:part.size]
            np.multiply(part[:, None], a, out=work)
            np.add(work, b, out=work)
            np.minimum(sig, work.min(axis=0), out=sig)
        return sig

    def signature(self, text: str) -> np.ndarray:
        """MinHash signature (``num_perm`` uint32) of the word n-gram shingles of ``text``."""
        return self.signature_of_hashes(shingle_hashes(text, self.ngram))


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


def signature_bytes(sig: np.ndarray) -> bytes:
    return np.ascontiguousarray(sig, dtype="<u4").tobytes()


def signature_from_bytes(data: bytes, num_perm: Optional[int] = None) -> np.ndarray:
    sig = np.frombuffer(data, dtype="<u4").astype(np.uint32)
    if num_perm is not None and sig.size != num_perm:
        raise ValueError(f"signature has {sig.size} values, expected {num_perm}")
    return sig
