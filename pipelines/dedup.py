"""Deduplication stages as Beam transforms (ranking, hashing and graph steps live in filters/dedup).

Three stages, in this order in ``build-pretrain``:

* ``dedup_exact`` (:class:`ExactDedup`): same normalised-content hash -> one record.
* ``dedup_version`` (:class:`SpecVersionDedup`): of the versions of one 3GPP spec
  (optionally per release) only the newest version's records stay, and of that version only
  the best rendering's (Word over the ETSI PDF: ``preferred_format``), a garbled rendering
  (many unmapped glyphs) never superseding a clean one (``garbled_rendering``); of the
  renderings of one paper (same title) the LaTeX source.
* ``dedup_near`` (:class:`NearDedup`): MinHash + LSH near-duplicate clusters, connected
  components by large-star/small-star rounds, one representative per cluster.

Every dropped record carries ``Dropped(rule, detail, duplicate_of=<kept id>)``.
"""
from __future__ import annotations

from typing import Optional

import apache_beam as beam
import xxhash
from apache_beam.metrics import Metrics

from telecom_etl.filters.dedup.components import (BucketMember, confirm_representatives, large_star, link_bucket,
                                                  small_star, star_check)
from telecom_etl.filters.dedup.index import index_row
from telecom_etl.filters.dedup.lsh import band_keys, lsh_params_for
from telecom_etl.filters.dedup.policy import (FORMAT_PREFERENCE, best_rendering, choose, id_of_rank,
                                              link_tag, lost_glyphs, rank_string, rendering_key, source_format,
                                              spec_identity, version_group)
from telecom_etl.outcome import Dropped
from telecom_etl.pipelines.stage import NAMESPACE, DroppedRecord, StageResult, doc_event
from telecom_etl.record import content_hash


def _events(stage: str, kept, dropped):
    return ((kept | "KeptEvents" >> beam.Map(lambda d: doc_event(stage, d, "kept")),
             dropped | "DropEvents" >> beam.Map(lambda r: doc_event(stage, r.doc, "dropped", r.why.rule)))
            | "Events" >> beam.Flatten())


class ExactDedup(beam.PTransform):
    """Stage ``dedup_exact``: records with the same normalised-content hash keep one representative."""

    stage = "dedup_exact"

    def expand(self, docs):
        stage = self.stage

        def pick(group):
            _, members = group
            keep, others = choose(members)
            yield keep
            for other in others:
                yield beam.pvalue.TaggedOutput("dropped", DroppedRecord(
                    stage, other, Dropped("exact_duplicate", f"same content as {keep.id}", duplicate_of=keep.id)))

        out = (docs
               | "ByHash" >> beam.Map(lambda d: (d.content_hash or content_hash(d.text), d))
               | "Group" >> beam.GroupByKey()
               | "Pick" >> beam.FlatMap(pick).with_outputs("dropped", main="kept"))
        failed = docs.pipeline | "NoFailures" >> beam.Create([])
        return StageResult(out.kept, out.dropped, failed, _events(stage, out.kept, out.dropped))


def _version_text(version) -> str:
    return ".".join(str(v) for v in version)


def _sum_rendering(values):
    """(lost, visible, best rank) of one rendering from its records' (an associative combiner)."""
    lost = visible = 0
    rank = None
    for value_lost, value_visible, value_rank in values:
        lost, visible = lost + value_lost, visible + value_visible
        rank = value_rank if rank is None or value_rank < rank else rank
    return lost, visible, rank


def _format_of_rank(rank: int) -> str:
    return FORMAT_PREFERENCE[rank] if rank < len(FORMAT_PREFERENCE) else ("pdf" if rank > len(FORMAT_PREFERENCE)
                                                                          else "other")


class SpecVersionDedup(beam.PTransform):
    """Stage ``dedup_version``: only the newest clean version of each 3GPP spec stays.

    Records are grouped by :func:`policy.version_group` (spec number, plus the release under
    ``newest_per_release``); every record of the newest version in its group stays (all
    clauses of a clause-level build, all Word files of a version published as several),
    older ones are dropped as ``superseded_spec_version`` naming the best record of the
    newest version. Where the newest version is there in several renderings, only the best
    one's records stay (:func:`policy.format_rank`: a Word file over the ETSI PDF of the same
    version); the others are dropped as ``preferred_format``, naming the kept record. The
    renderings of one paper (:func:`policy.paper_key`: the same title) compete the same way:
    the LaTeX source stays, the PDF goes. A garbled rendering (:func:`policy.is_garbled`: too
    many unmapped glyphs) never supersedes a clean one (:func:`policy.best_rendering`): a
    newer version's garbled ETSI PDF is dropped as ``garbled_rendering`` when a clean rendering
    of an older version is there, and that older rendering stays. Records in no group pass untouched.
    The per-rendering sums (lost and visible characters, best rank) are a combiner (no record
    moves for them); the records then meet them in one CoGroupByKey, iterated once (runners
    stream large groups).
    """

    stage = "dedup_version"

    def __init__(self, spec_policy: str = "newest"):
        super().__init__()
        self.spec_policy = spec_policy

    def expand(self, docs):
        stage, policy = self.stage, self.spec_policy

        def route(doc):
            group = version_group(doc, policy)
            if group is None:
                yield beam.pvalue.TaggedOutput("unversioned", doc)
            else:
                yield group, doc

        routed = docs | "Route" >> beam.FlatMap(route).with_outputs("unversioned", main="versioned")
        # per rendering (version and format) of a group: its lost and visible characters and its
        # best record's rank, summed by a combiner (no record moves for it)
        renderings = (routed.versioned
                      | "PerRendering" >> beam.Map(lambda kd: ((kd[0], rendering_key(kd[1])),
                                                               lost_glyphs(kd[1]) + (rank_string(kd[1]),)))
                      | "SumRendering" >> beam.CombinePerKey(_sum_rendering)
                      | "ByGroup" >> beam.Map(lambda kv: (kv[0][0], (kv[0][1], kv[1]))))

        def decide(group):
            _, joined = group
            summary = {key: value for key, value in joined["renderings"]}
            best = best_rendering({key: value[:2] for key, value in summary.items()})
            (newest, best_format), best_rank = best, summary[best][2]
            for doc in joined["docs"]:
                key = rendering_key(doc)
                if key == best:
                    yield doc
                    continue
                number, version = spec_identity(doc)
                what = f"{number} V{_version_text(version)}" if number else (doc.title or doc.id)
                if version > newest:  # a newer version loses only as a garbled rendering to a clean one
                    lost, visible = summary[key][:2]
                    yield beam.pvalue.TaggedOutput("dropped", DroppedRecord(stage, doc, Dropped(
                        "garbled_rendering",
                        f"{what}: the {source_format(doc) or 'unknown'} rendering lost {lost / max(visible, 1):.1%} "
                        f"of its characters as unmapped glyphs; the clean {_format_of_rank(best_format)} rendering "
                        f"of V{_version_text(newest)} is kept", duplicate_of=id_of_rank(best_rank))))
                elif version != newest:
                    yield beam.pvalue.TaggedOutput("dropped", DroppedRecord(stage, doc, Dropped(
                        "superseded_spec_version",
                        f"{number} V{_version_text(version)} superseded by V{_version_text(newest)}",
                        duplicate_of=id_of_rank(best_rank))))
                else:
                    same = "version" if number else "paper"
                    yield beam.pvalue.TaggedOutput("dropped", DroppedRecord(stage, doc, Dropped(
                        "preferred_format",
                        f"{what}: the {source_format(doc) or 'unknown'} rendering; "
                        f"the {_format_of_rank(best_format)} rendering of the same {same} is kept",
                        duplicate_of=id_of_rank(best_rank))))

        out = ({"docs": routed.versioned, "renderings": renderings}
               | "Join" >> beam.CoGroupByKey()
               | "Decide" >> beam.FlatMap(decide).with_outputs("dropped", main="kept"))
        kept = (out.kept, routed.unversioned) | "Kept" >> beam.Flatten()
        failed = docs.pipeline | "NoFailures" >> beam.Create([])
        return StageResult(kept, out.dropped, failed, _events(stage, kept, out.dropped))


class _SignFn(beam.DoFn):
    """A batch of Documents -> BucketMember (rank, link tag, MinHash signature) each.

    Records are signed in batches (:class:`minhash.Sketcher`): small records would otherwise
    pay NumPy's per-call overhead once each. A record whose text was spilled
    (:mod:`telecom_etl.spill`) carries its sketch, made from its text by the same Sketcher
    (:meth:`NearDedup.sketcher`) before the text left memory.
    """

    def __init__(self, num_perm: int, ngram: int, seed: int, scheme: str, spec_policy: str, max_shingles: int = 0):
        self.num_perm, self.ngram, self.seed, self.scheme = num_perm, ngram, seed, scheme
        self.spec_policy, self.max_shingles = spec_policy, max_shingles

    def setup(self):
        from telecom_etl.filters.dedup.minhash import Sketcher

        self.sketcher = Sketcher(self.num_perm, self.ngram, self.seed, self.scheme, self.max_shingles)
        self.signed = Metrics.counter(NAMESPACE, "dedup_near.signed")
        self.wordless = Metrics.counter(NAMESPACE, "dedup_near.no_words")
        self.chars = Metrics.counter(NAMESPACE, "dedup_near.signed_chars")

    def process(self, batch):
        import numpy as np

        from telecom_etl.filters.dedup.minhash import is_empty
        from telecom_etl.spill import SpilledText

        here = [d.text for d in batch if not isinstance(d.text, SpilledText)]
        fresh = iter(self.sketcher(here) if here else ())
        for doc in batch:
            if isinstance(doc.text, SpilledText):
                if doc.text.sketch is None:
                    raise ValueError(f"record {doc.id}: its text was spilled without near-dedup's sketch")
                sig, shingles = doc.text.sketch
            else:
                sig, shingles = next(fresh)
            if is_empty(np.frombuffer(sig, dtype="<u4")):  # no word at all: nothing to compare, the record passes
                self.wordless.inc()
                yield beam.pvalue.TaggedOutput("wordless", doc.id)
                continue
            self.signed.inc()
            self.chars.inc(len(doc.text))
            yield BucketMember(rank_string(doc), link_tag(doc, self.spec_policy), sig, shingles)


def keyed_by(tag: str):
    """A CoGroupByKey result -> (each value of ``tag``, each "member"): a member sent on to every key it joined."""

    def fan_out(kv):
        _, joined = kv
        keys = list(joined[tag])
        for member in joined["member"]:
            for key in keys:
                yield key, member

    return fan_out


class ConfirmRepresentatives(beam.PTransform):
    """(child, root) component pairs -> the pairs whose child is itself a near-duplicate of its root.

    One join by rank brings every record of a component its member (signature, small shingle
    set) and its role; one GroupByKey by root then holds one component's members at a time, and
    :func:`components.confirm_representatives` decides. Output: ``confirmed`` (child, root) pairs,
    and ``unconfirmed`` ones (the child stays). Only ranks, tags, signatures and shingle hashes move.
    """

    def __init__(self, members_by_rank, threshold: float):
        super().__init__()
        self.members_by_rank, self.threshold = members_by_rank, threshold

    def expand(self, stars):
        threshold = self.threshold

        def route(kv):
            rank, joined = kv
            member = next(iter(joined["member"]), None)
            if member is None:
                return
            is_root = False
            for root in joined["root_of"]:
                yield root, ("child", member)
            for _ in joined["is_root"]:
                is_root = True
                break
            if is_root:
                yield rank, ("root", member)

        def confirm(kv):
            _, tagged = kv
            roots = [m for role, m in tagged if role == "root"]
            if not roots:
                return
            children = (m for role, m in tagged if role == "child")
            for child_rank, root_rank, ok in confirm_representatives(roots[0], children, threshold):
                if ok:
                    yield child_rank, root_rank
                else:
                    yield beam.pvalue.TaggedOutput("unconfirmed", (child_rank, root_rank))

        roots = stars | "Roots" >> beam.Map(lambda e: (e[1], None))
        return ({"root_of": stars, "is_root": roots, "member": self.members_by_rank}
                | "WithMembers" >> beam.CoGroupByKey()
                | "Route" >> beam.FlatMap(route)
                | "ByRoot" >> beam.GroupByKey()
                | "Confirm" >> beam.FlatMap(confirm).with_outputs("unconfirmed", main="confirmed"))


class StarComponents(beam.PTransform):
    """Connected components of (child, parent) edges by ``rounds`` of large-star + small-star.

    Input and output: PCollections of ``(larger, smaller)`` node pairs; the output pairs
    each node with its component minimum once converged (see filters/dedup/components.py
    for the algorithm and the convergence argument). Each step is one GroupByKey on a node,
    so no worker ever needs all edges.
    """

    def __init__(self, rounds: int):
        super().__init__()
        self.rounds = rounds

    def expand(self, edges):
        for i in range(self.rounds):
            edges = (edges
                     | f"BothWays{i}" >> beam.FlatMap(lambda e: ((e[0], e[1]), (e[1], e[0])))
                     | f"ByNode{i}" >> beam.GroupByKey()
                     | f"LargeStar{i}" >> beam.FlatMap(lambda kv: large_star(kv[0], kv[1]))
                     | f"ByLarger{i}" >> beam.GroupByKey()
                     | f"SmallStar{i}" >> beam.FlatMap(lambda kv: small_star(kv[0], kv[1]))
                     | f"Distinct{i}" >> beam.Distinct())
        return edges


def _pair_order(pair) -> int:
    """A fixed pseudo-random order of pairs, for a deterministic sample."""
    return xxhash.xxh64_intdigest(f"{pair[0]}\x00{pair[1]}".encode("utf-8"))


class NearDedup(beam.PTransform):
    """Stage ``dedup_near``: MinHash/LSH near-duplicate clusters keep their best record.

    1. Sign every record (vectorised MinHash over word n-grams, in batches) and emit one
       (band key, rank) per band.
    2. GroupByKey on the band key finds buckets shared by two or more records; only those
       members fetch their signatures (CoGroupByKey by rank) and meet again per bucket, where
       each links to the first better *leader* it matches (estimated Jaccard >= threshold
       when ``verify``).
    3. Connected components of those links (:class:`StarComponents`), nodes named by rank
       so every component's minimum is its representative.
    4. CoGroupByKey the records with "duplicate of" decisions by id: kept or dropped.

    Cluster statistics (sizes, removed per source, sample pairs with estimated Jaccard,
    convergence) go to ``stats_path`` as JSON when given.
    """

    stage = "dedup_near"

    def __init__(self, num_perm: int = 128, ngram: int = 5, threshold: float = 0.8, verify: bool = True,
                 spec_policy: str = "newest", rounds: int = 8, seed: int = 1, max_leaders: int = 64,
                 stats_path: Optional[str] = None, sample_pairs: int = 10, scheme: str = "oph",
                 batch_chars: int = 4_000_000, previous_index: Optional[str] = None,
                 index_path: Optional[str] = None, exact_max_shingles: int = 512, confirm: bool = True):
        super().__init__()
        self.exact_max_shingles, self.confirm = exact_max_shingles, confirm
        self.scheme, self.batch_chars = scheme, batch_chars
        self.previous_index, self.index_path = previous_index, index_path
        self.index_written = None  # (path, rows) of the index shards written, once expanded
        self.num_perm, self.ngram, self.threshold, self.verify = num_perm, ngram, threshold, verify
        self.spec_policy, self.rounds, self.seed, self.max_leaders = spec_policy, rounds, seed, max_leaders
        self.stats_path, self.sample_pairs = stats_path, sample_pairs
        self.bands, self.rows = lsh_params_for(threshold, num_perm, verify)

    @property
    def signature_params(self) -> dict:
        return {"num_perm": self.num_perm, "ngram": self.ngram, "seed": self.seed, "scheme": self.scheme}

    def sketcher(self):
        """What :class:`_SignFn` computes from a text, for the step that spills texts before this stage."""
        from telecom_etl.filters.dedup.minhash import Sketcher

        return Sketcher(self.num_perm, self.ngram, self.seed, self.scheme, self.exact_max_shingles)

    @classmethod
    def from_config(cls, config, stats_path: Optional[str] = None, index_path: Optional[str] = None) -> "NearDedup":
        return cls(num_perm=config.num_perm, ngram=config.ngram, threshold=config.threshold, verify=config.verify,
                   spec_policy=config.spec_policy, rounds=getattr(config, "cc_rounds", 8),
                   seed=getattr(config, "seed", 1), scheme=getattr(config, "scheme", "oph"),
                   stats_path=stats_path, previous_index=getattr(config, "previous_index", None),
                   index_path=index_path if getattr(config, "write_index", True) else None,
                   exact_max_shingles=getattr(config, "exact_max_shingles", 512),
                   confirm=getattr(config, "confirm_representative", True))

    def expand(self, docs):
        stage = self.stage
        bands, rows, threshold, verify, max_leaders = (self.bands, self.rows, self.threshold, self.verify,
                                                       self.max_leaders)
        import numpy as np

        signed = (docs
                  | "Batch" >> beam.BatchElements(min_batch_size=1, max_batch_size=self.batch_chars,
                                                  element_size_fn=lambda d: max(1, len(d.text)))
                  | "Sign" >> beam.ParDo(_SignFn(self.num_perm, self.ngram, self.seed, self.scheme, self.spec_policy,
                                                 self.exact_max_shingles)).with_outputs("wordless", main="members"))
        members = signed.members
        banded = members
        previous_rows = None
        if self.previous_index:
            from telecom_etl.filters.dedup.index import (check_index, index_files, index_folder, previous_member,
                                                         same_folder)

            from telecom_etl.manifest import ManifestError

            if self.index_path and same_folder(index_folder(self.previous_index), self.index_path):
                raise ManifestError(f"dedup.previous_index {self.previous_index} is this build's own index folder: "
                                    "write the new build to another output folder")
            try:  # at graph construction, before any work: one clear line for the user
                check_index(self.previous_index, self.signature_params)
                previous_files = index_files(self.previous_index)
            except ValueError as exc:
                raise ManifestError(f"dedup.previous_index: {exc}") from None
            previous_rows = (docs.pipeline
                             | "PreviousIndexFiles" >> beam.Create(previous_files)
                             | "ReadPreviousIndex" >> beam.io.ReadAllFromParquet())
            banded = (members, previous_rows | "PreviousMembers" >> beam.Map(previous_member)) | "AllMembers" >> \
                beam.Flatten()

        # Buckets are found on (band key, rank) alone, so the shuffle that sees every record in
        # every band carries ~80 bytes instead of the whole signature; only members of buckets
        # with two or more records fetch their signature (one join) for verification.
        def to_bands(member):
            sig = np.frombuffer(member.sig, dtype="<u4")
            for key in band_keys(sig, bands, rows):
                yield key, member.rank

        def shared_buckets(kv):
            key, ranks = kv
            it = iter(ranks)
            next(it, None)
            if next(it, None) is None:  # a record alone in its bucket: no candidate
                return
            for rank in ranks:
                yield rank, key

        candidates = (banded
                      | "BandKeys" >> beam.FlatMap(to_bands)
                      | "Buckets" >> beam.GroupByKey()
                      | "SharedBuckets" >> beam.FlatMap(shared_buckets))
        by_rank = banded | "MemberByRank" >> beam.Map(lambda m: (m.rank, m))
        links = ({"member": by_rank, "bucket": candidates}
                 | "FetchSignatures" >> beam.CoGroupByKey()
                 | "WithSignature" >> beam.FlatMap(keyed_by("bucket"))
                 | "CandidateBuckets" >> beam.GroupByKey()
                 | "LinkBuckets" >> beam.FlatMap(lambda kv: link_bucket(kv[1], threshold, verify, max_leaders)))
        pairs = (links
                 | "PairKey" >> beam.Map(lambda link: ((link.child, link.parent), link.jaccard))
                 | "UniquePairs" >> beam.CombinePerKey(max))
        edges = pairs | "Edges" >> beam.Map(lambda kv: kv[0])
        stars = edges | "Components" >> StarComponents(self.rounds)

        # only nodes of this build decide (an earlier build's record may share an id with a changed file)
        this_build = stars | "ThisBuild" >> beam.Filter(lambda e: not e[0].startswith("0"))
        unconfirmed = None
        if self.confirm and verify:
            confirmed = this_build | "ConfirmRepresentatives" >> ConfirmRepresentatives(by_rank, threshold)
            this_build, unconfirmed = confirmed.confirmed, confirmed.unconfirmed
        decisions = this_build | "ByChildId" >> beam.Map(lambda e: (id_of_rank(e[0]), e[1]))
        write_index = self.index_path is not None

        def split(group):
            _, joined = group
            roots = sorted(joined["dup"])
            for doc in joined["doc"]:
                if not roots:
                    yield doc
                    if write_index:
                        for member in joined["member"]:
                            yield beam.pvalue.TaggedOutput("index", index_row(member))
                    continue
                root_id = id_of_rank(roots[0])
                if roots[0].startswith("0"):
                    why = Dropped("previous_build_duplicate", f"near duplicate of {root_id} in the previous build",
                                  duplicate_of=root_id)
                else:
                    why = Dropped("near_duplicate", f"near duplicate of {root_id}", duplicate_of=root_id)
                yield beam.pvalue.TaggedOutput("dropped", DroppedRecord(stage, doc, why))

        joined = {"doc": docs | "ById" >> beam.Map(lambda d: (d.id, d)), "dup": decisions}
        if write_index:
            joined["member"] = members | "MemberById" >> beam.Map(lambda m: (id_of_rank(m.rank), m))
        out = (joined
               | "Join" >> beam.CoGroupByKey()
               | "Split" >> beam.FlatMap(split).with_outputs("dropped", "index", main="kept"))
        failed = docs.pipeline | "NoFailures" >> beam.Create([])
        if write_index:
            self._write_index(out.index, previous_rows)
        if self.stats_path:
            self._write_stats(signed, links, pairs, this_build, out.dropped, unconfirmed)
        return StageResult(out.kept, out.dropped, failed, _events(stage, out.kept, out.dropped))

    def _write_index(self, rows, previous_rows) -> None:
        """Kept records' signatures (plus the previous index, carried forward) -> index_path."""
        from telecom_etl.filters.dedup.index import INDEX_PREFIX, index_schema
        from telecom_etl.pipelines.write import WriteShards

        if previous_rows is not None:
            carried = previous_rows | "CarryForward" >> beam.Map(lambda r: {
                "id": r["id"], "rank": r["rank"], "tag": r.get("tag") or "", "signature": bytes(r["signature"])})
            rows = (rows, carried) | "IndexRows" >> beam.Flatten()
        self.index_written = rows | "WriteIndex" >> WriteShards(
            self.index_path, INDEX_PREFIX, index_schema(self.signature_params), lambda r: r,
            key=lambda r: f"{r['id']}\x00{r['rank']}\x00{r['signature'].hex()}",
            size=lambda r: len(r["signature"]) + len(r["rank"]) + 16, shard_max_bytes=256 << 20,
            run_id=getattr(self, "run_id", None))

    def _write_stats(self, signed, links, pairs, stars, dropped, unconfirmed=None) -> None:
        """One summary of the stage: every fact flows into a single bounded combiner."""
        from telecom_etl.pipelines.write import WriteJson

        sizes = (stars
                 | "PerRoot" >> beam.Map(lambda e: (id_of_rank(e[1]), 1))
                 | "ClusterSize" >> beam.CombinePerKey(sum))
        unconverged = (stars
                       | "Roles" >> beam.FlatMap(lambda e: ((e[0], "c"), (e[1], "p")))
                       | "RolesByNode" >> beam.GroupByKey()
                       | "Check" >> beam.FlatMap(lambda kv: [("bad",)] if star_check(kv[0], kv[1]) else []))
        facts = (
            signed.members | "FactSigned" >> beam.Map(lambda _: ("count", "docs_signed")),
            signed.wordless | "FactWordless" >> beam.Map(lambda _: ("count", "docs_without_words")),
            links | "FactLink" >> beam.Map(lambda _: ("count", "candidate_links")),
            pairs | "FactPair" >> beam.Map(lambda kv: ("pair", kv[0][1], kv[0][0], kv[1])),
            sizes | "FactSize" >> beam.Map(lambda kv: ("size", kv[0], kv[1] + 1)),
            dropped | "FactSource" >> beam.Map(lambda r: ("source", r.doc.source)),
            unconverged,
        ) + ((unconfirmed | "FactUnconfirmed" >> beam.Map(lambda _: ("count", "kept_unlike_representative")),)
             if unconfirmed is not None else ()) | "Facts" >> beam.Flatten()
        params = {"num_perm": self.num_perm, "ngram": self.ngram, "threshold": self.threshold,
                  "bands": self.bands, "rows": self.rows, "verify": self.verify, "seed": self.seed,
                  "spec_policy": self.spec_policy, "cc_rounds": self.rounds, "max_leaders": self.max_leaders,
                  "scheme": self.scheme, "exact_max_shingles": self.exact_max_shingles,
                  "confirm_representative": self.confirm}
        (facts
         | "Summarise" >> beam.CombineGlobally(_StatsFn(self.stage, params, self.sample_pairs))
         | "WriteStats" >> WriteJson(self.stats_path, sort_key=lambda s: s["stage"]))


class _StatsFn(beam.CombineFn):
    """Adds up the near-dedup facts; every part of the accumulator is bounded in size."""

    LARGEST, LOWEST = 5, 3

    def __init__(self, stage: str, params: dict, sample_pairs: int):
        self.stage, self.params, self.sample_pairs = stage, params, sample_pairs

    def create_accumulator(self):
        return {"count": {}, "sizes": {}, "largest": [], "source": {}, "sample": [], "lowest": [], "bad": 0}

    def add_input(self, acc, fact):
        kind = fact[0]
        if kind == "count":
            acc["count"][fact[1]] = acc["count"].get(fact[1], 0) + 1
        elif kind == "size":
            _, root, size = fact
            acc["sizes"][size] = acc["sizes"].get(size, 0) + 1
            acc["largest"] = sorted(acc["largest"] + [(-size, root)])[:self.LARGEST]
        elif kind == "source":
            acc["source"][fact[1]] = acc["source"].get(fact[1], 0) + 1
        elif kind == "pair":
            _, parent, child, jaccard = fact
            acc["count"]["unique_edges"] = acc["count"].get("unique_edges", 0) + 1
            row = (id_of_rank(parent), id_of_rank(child), round(jaccard, 4))
            acc["sample"] = sorted(acc["sample"] + [(_pair_order((child, parent)), row)])[:self.sample_pairs]
            acc["lowest"] = sorted(acc["lowest"] + [(row[2], _pair_order((child, parent)), row)])[:self.LOWEST]
        elif kind == "bad":
            acc["bad"] += 1
        return acc

    def merge_accumulators(self, accs):
        out = self.create_accumulator()
        for acc in accs:
            for key in ("count", "sizes", "source"):
                for k, v in acc[key].items():
                    out[key][k] = out[key].get(k, 0) + v
            out["largest"] = sorted(out["largest"] + acc["largest"])[:self.LARGEST]
            out["sample"] = sorted(out["sample"] + acc["sample"])[:self.sample_pairs]
            out["lowest"] = sorted(out["lowest"] + acc["lowest"])[:self.LOWEST]
            out["bad"] += acc["bad"]
        return out

    def extract_output(self, acc):
        counts, sizes = acc["count"], acc["sizes"]
        clusters = sum(sizes.values())
        in_clusters = sum(size * n for size, n in sizes.items())
        pair = lambda row: {"a": row[0], "b": row[1], "estimated_jaccard": row[2]}
        return {
            "stage": self.stage, "params": self.params,
            **{k: counts.get(k, 0) for k in ("docs_signed", "docs_without_words", "candidate_links", "unique_edges",
                                             "kept_unlike_representative")},
            "clusters": clusters, "docs_in_clusters": in_clusters, "removed": in_clusters - clusters,
            "cluster_sizes": {str(size): n for size, n in sorted(sizes.items())},
            "largest_clusters": [{"representative": root, "size": -neg} for neg, root in acc["largest"]],
            "removed_per_source": dict(sorted(acc["source"].items())),
            "sample_pairs": sorted((pair(row) for _, row in acc["sample"]), key=lambda r: (r["a"], r["b"])),
            "lowest_jaccard_pairs": [pair(row) for _, _, row in acc["lowest"]],
            "cc_converged": acc["bad"] == 0, "cc_unconverged_nodes": acc["bad"],
        }
