"""LSH banding for MinHash signatures: bands x rows from the Jaccard threshold, and band keys.

The split of ``num_perm`` into ``bands`` x ``rows`` is datasketch's (``MinHashLSH``
minimises the weighted false-positive and false-negative areas under the S-curve
``1 - (1 - s**rows) ** bands``), so a given threshold means the same thing here as in
datasketch. Two documents become a candidate pair when any one band of their signatures
is equal; the pipeline groups by band key (one shuffle) to find them.
"""
from __future__ import annotations

from functools import lru_cache
from typing import List, Tuple

import numpy as np
import xxhash


#: datasketch's answer for the usual settings, (threshold, num_perm, fp weight, fn weight) ->
#: (bands, rows): importing datasketch (scipy.integrate) and integrating ~700 S-curves costs
#: about 0.5 CPU-second of every build's start-up. tests/test_dedup_core.py checks each entry
#: against datasketch; any other setting asks datasketch.
KNOWN_PARAMS = {
    (0.5, 64, 0.2, 0.8): (15, 3), (0.5, 64, 0.5, 0.5): (14, 4), (0.5, 128, 0.2, 0.8): (30, 4),
    (0.5, 128, 0.5, 0.5): (25, 5), (0.5, 256, 0.2, 0.8): (51, 5), (0.5, 256, 0.5, 0.5): (42, 6),
    (0.6, 64, 0.2, 0.8): (14, 4), (0.6, 64, 0.5, 0.5): (10, 6), (0.6, 128, 0.2, 0.8): (23, 5),
    (0.6, 128, 0.5, 0.5): (18, 7), (0.6, 256, 0.2, 0.8): (38, 6), (0.6, 256, 0.5, 0.5): (32, 8),
    (0.7, 64, 0.2, 0.8): (10, 6), (0.7, 64, 0.5, 0.5): (8, 8), (0.7, 128, 0.2, 0.8): (18, 7),
    (0.7, 128, 0.5, 0.5): (14, 9), (0.7, 256, 0.2, 0.8): (28, 9), (0.7, 256, 0.5, 0.5): (25, 10),
    (0.75, 64, 0.2, 0.8): (9, 7), (0.75, 64, 0.5, 0.5): (7, 9), (0.75, 128, 0.2, 0.8): (16, 8),
    (0.75, 128, 0.5, 0.5): (11, 11), (0.75, 256, 0.2, 0.8): (25, 10), (0.75, 256, 0.5, 0.5): (21, 12),
    (0.8, 64, 0.2, 0.8): (8, 8), (0.8, 64, 0.5, 0.5): (5, 11), (0.8, 128, 0.2, 0.8): (12, 10),
    (0.8, 128, 0.5, 0.5): (9, 13), (0.8, 256, 0.2, 0.8): (21, 12), (0.8, 256, 0.5, 0.5): (17, 15),
    (0.85, 64, 0.2, 0.8): (6, 10), (0.85, 64, 0.5, 0.5): (4, 15), (0.85, 128, 0.2, 0.8): (9, 13),
    (0.85, 128, 0.5, 0.5): (8, 16), (0.85, 256, 0.2, 0.8): (16, 16), (0.85, 256, 0.5, 0.5): (13, 19),
    (0.9, 64, 0.2, 0.8): (4, 14), (0.9, 64, 0.5, 0.5): (3, 21), (0.9, 128, 0.2, 0.8): (7, 18),
    (0.9, 128, 0.5, 0.5): (5, 25), (0.9, 256, 0.2, 0.8): (12, 21), (0.9, 256, 0.5, 0.5): (9, 28),
    (0.95, 64, 0.2, 0.8): (3, 21), (0.95, 64, 0.5, 0.5): (2, 32), (0.95, 128, 0.2, 0.8): (4, 30),
    (0.95, 128, 0.5, 0.5): (3, 42), (0.95, 256, 0.2, 0.8): (7, 36), (0.95, 256, 0.5, 0.5): (5, 51),
}


@lru_cache(maxsize=None)
def lsh_params(threshold: float, num_perm: int, false_positive_weight: float = 0.5,
               false_negative_weight: float = 0.5) -> Tuple[int, int]:
    """(bands, rows) for a Jaccard ``threshold``, as datasketch's MinHashLSH chooses them."""
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    known = KNOWN_PARAMS.get((threshold, num_perm, false_positive_weight, false_negative_weight))
    if known is not None:
        return known
    from datasketch.lsh import _optimal_param

    bands, rows = _optimal_param(threshold, num_perm, false_positive_weight, false_negative_weight)
    return int(bands), int(rows)


#: (false-positive, false-negative) weights for bands x rows. Verified candidates cost one
#: signature comparison each, so with verification the split favours recall: at threshold 0.8
#: and 128 permutations datasketch's even weights give 9 x 13, which misses 31% of pairs at
#: Jaccard 0.85; (0.2, 0.8) gives 12 x 10, which misses 7% (and 0.6% at 0.9).
VERIFIED_WEIGHTS = (0.2, 0.8)
UNVERIFIED_WEIGHTS = (0.5, 0.5)


def lsh_params_for(threshold: float, num_perm: int, verify: bool) -> Tuple[int, int]:
    """(bands, rows) for the near-dedup stage: recall-leaning when candidates are verified."""
    return lsh_params(threshold, num_perm, *(VERIFIED_WEIGHTS if verify else UNVERIFIED_WEIGHTS))


def candidate_probability(similarity: float, bands: int, rows: int) -> float:
    """Probability that two documents of Jaccard ``similarity`` share at least one band."""
    return 1.0 - (1.0 - similarity ** rows) ** bands


def band_keys(sig: np.ndarray, bands: int, rows: int) -> List[bytes]:
    """One key per band: the band number and a 64-bit hash of that band's rows."""
    if bands * rows > sig.size:
        raise ValueError(f"{bands} bands x {rows} rows need {bands * rows} values, signature has {sig.size}")
    data = np.ascontiguousarray(sig, dtype="<u4").tobytes()
    width = rows * 4
    return [band.to_bytes(2, "big") + xxhash.xxh64_digest(data[band * width:(band + 1) * width])
            for band in range(bands)]
