"""Pure pieces of near-dedup: linking a band bucket, and the star steps of connected components.

Connected components at scale (the Beam side is ``pipelines/dedup.py``):

The graph's nodes are rank strings (:func:`policy.rank_string`), so "smallest node" means
"best representative". The algorithm is the alternating **large-star / small-star** of
Kiveris et al., "Connected Components in MapReduce and Beyond" (SoCC 2014). Each step
groups edges by one endpoint (one shuffle) and only looks at one node's neighbourhood:

* large-star(u): ``m = min(u, N(u))``; for every neighbour ``v > u`` emit ``(v, m)``;
* small-star(u): over ``S = {v in N(u): v < u}``: ``m = min(u, S)``; emit ``(v, m)`` for
  every ``v in S + {u}`` other than ``m``.

Both keep the components unchanged and the pair converges to a forest of stars whose
centres are the component minima, in O(log n) rounds for typical graphs (the paper
proves O(log^2 n) and measures about log n). A Beam graph is static, so the pipeline
unrolls a fixed number of rounds and then checks the result (:func:`star_check`): when a
node is still both a child and a parent, or has two parents, the components are
flagged as not converged. Even then every dropped record is a verified near-duplicate of
the record it names (edges only ever connect records of one component) and every
component keeps at least its minimum; the cost of not converging is keeping a few extra
records, never losing a unique one.

No worker holds more than one bucket, or one node's neighbourhood (iterated twice, not
copied), at a time.
"""
from __future__ import annotations

from typing import Iterable, Iterator, List, NamedTuple, Optional, Tuple

import numpy as np

from telecom_etl.filters.dedup.policy import may_link

Edge = Tuple[str, str]


class BucketMember(NamedTuple):
    rank: str  # policy.rank_string: orders members, names the node
    tag: str  # policy.link_tag
    sig: bytes  # little-endian uint32 signature
    # sorted distinct 32-bit shingle hashes (little-endian uint32) of a small record, b"" for a large
    # one (minhash.shingle_set_bytes): two small records are compared exactly, not by estimate
    shingles: bytes = b""


class Link(NamedTuple):
    child: str  # the larger rank
    parent: str  # the smaller rank (a leader of the bucket)
    jaccard: float  # exact when both records carry their shingles, else the MinHash estimate


def similarity(a: BucketMember, b: BucketMember) -> Tuple[float, bool]:
    """(Jaccard, exact?) of two members: exact over their shingle sets when both carry them,
    else the MinHash estimate (fraction of equal signature positions).

    A clause's shingle set is a few hundred hashes, so the exact check costs less than the
    estimate's error: at 128 permutations the estimate's standard error near a threshold of 0.8
    is about 0.035, so pairs of true Jaccard 0.72-0.79 are linked often enough to chain clusters.
    """
    if a.shingles and b.shingles:
        x, y = np.frombuffer(a.shingles, dtype="<u4"), np.frombuffer(b.shingles, dtype="<u4")
        common = np.intersect1d(x, y, assume_unique=True).size
        return common / (x.size + y.size - common), True
    sa, sb = np.frombuffer(a.sig, dtype="<u4"), np.frombuffer(b.sig, dtype="<u4")
    if sa.size != sb.size:
        return 0.0, False
    return float(np.count_nonzero(sa == sb)) / sa.size, False


def link_bucket(members: Iterable[BucketMember], threshold: float, verify: bool,
                max_leaders: int = 64) -> Iterator[Link]:
    """Edges that connect the members of one LSH bucket, without comparing every pair.

    Members are taken best first; each links to the first earlier *leader* it matches
    (Jaccard >= threshold when ``verify``: exact for two small records, see :func:`similarity`)
    and otherwise becomes a leader itself. A bucket of near-duplicates therefore costs one
    comparison per member; a bucket of unrelated band collisions stops growing leaders at
    ``max_leaders`` (later unmatched members simply get no edge from this bucket: at worst a
    missed pair, never a wrong one).
    """
    ordered = sorted(members, key=lambda m: m.rank)
    leaders: List[BucketMember] = []
    previous_rank = None
    for member in ordered:
        if member.rank == previous_rank:
            continue
        previous_rank = member.rank
        linked = False
        for leader in leaders:
            if not may_link(leader.tag, member.tag) or len(leader.sig) != len(member.sig):
                continue
            jaccard, _ = similarity(leader, member)
            if not verify or jaccard >= threshold:
                yield Link(member.rank, leader.rank, jaccard)
                linked = True
                break
        if not linked and len(leaders) < max_leaders:
            leaders.append(member)


def confirm_representatives(root: BucketMember, children: Iterable[BucketMember],
                            threshold: float) -> Iterator[Tuple[str, str, bool]]:
    """(child rank, root rank, confirmed) for each record a component would drop in favour of ``root``.

    Links chain: A ~ B and B ~ C put C in A's component although C may share little with A.
    A record is dropped only when it is itself a near-duplicate of the representative it
    names (Jaccard >= ``threshold``, exact for small records); otherwise it stays (its text is
    not in the corpus through the representative).
    """
    for child in children:
        jaccard, _ = similarity(root, child)
        yield child.rank, root.rank, jaccard >= threshold


def large_star(node: str, neighbours: Iterable[str]) -> Iterator[Edge]:
    """Large-star step at ``node``: its larger neighbours hang off the neighbourhood minimum.

    ``neighbours`` is iterated twice (a Beam grouped iterable can be), never copied.
    """
    smallest = min(neighbours, default=node)
    smallest = min(smallest, node)
    for v in neighbours:
        if v > node and v != smallest:
            yield v, smallest


def small_star(node: str, smaller: Iterable[str]) -> Iterator[Edge]:
    """Small-star step at ``node`` over its smaller neighbours: all of them and ``node`` hang off their minimum."""
    smallest = min(min(smaller, default=node), node)
    if node != smallest:
        yield node, smallest
    for v in smaller:
        if v != smallest:
            yield v, smallest


def star_check(node: str, roles: Iterable[str]) -> Optional[str]:
    """After the last round each node must be a root ("p" only) or a leaf with one parent ("c" once).

    ``roles`` holds one "c" per edge where ``node`` is the larger end and one "p" per edge
    where it is the smaller end. Returns None when fine, else why not.
    """
    children = parents = 0
    for role in roles:
        if role == "c":
            parents += 1
        else:
            children += 1
    if parents > 1:
        return "several parents"
    if parents and children:
        return "parent and child"
    return None


def components_reference(edges: Iterable[Edge]) -> dict:
    """node -> component minimum, by union-find in memory (for tests and the benchmark only)."""
    parent: dict = {}

    def find(x):
        root = x
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {node: find(node) for node in list(parent)}


def components_by_stars(edges: Iterable[Edge], rounds: int) -> Tuple[dict, bool]:
    """The star algorithm run in memory (same steps as the Beam graph): (node -> root, converged)."""
    current = {tuple(sorted(e, reverse=True)) for e in edges if e[0] != e[1]}
    for _ in range(rounds):
        adjacency: dict = {}
        for a, b in current:
            adjacency.setdefault(a, []).append(b)
            adjacency.setdefault(b, []).append(a)
        current = {e for u, ns in adjacency.items() for e in large_star(u, ns)}
        smaller: dict = {}
        for a, b in current:
            smaller.setdefault(a, []).append(b)
        current = {e for u, ns in smaller.items() for e in small_star(u, ns)}
    roles: dict = {}
    for child, parent in current:
        roles.setdefault(child, []).append("c")
        roles.setdefault(parent, []).append("p")
    converged = all(star_check(n, r) is None for n, r in roles.items())
    labels = {}
    for child, parent in sorted(current):
        labels[child] = min(labels.get(child, parent), parent)
    for parent in {p for _, p in current}:
        labels.setdefault(parent, parent)
    return labels, converged
