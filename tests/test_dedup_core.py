"""Dedup core without Beam: MinHash accuracy, LSH parameters, connected components, the keep policy."""
from __future__ import annotations

import random

import numpy as np
import pytest
from datasketch import MinHash

from telecom_etl.filters.dedup.components import (BucketMember, components_by_stars, components_reference,
                                                  link_bucket)
from telecom_etl.filters.dedup.lsh import band_keys, candidate_probability, lsh_params, lsh_params_for
from telecom_etl.filters.dedup.minhash import (MinHasher, estimate_jaccard, exact_jaccard, is_empty,
                                               shingle_hashes, signature_bytes, word_hashes)
from telecom_etl.filters.dedup.policy import (choose, link_tag, may_link, rank_string, spec_from_filename,
                                              spec_identity, version_group)
from telecom_etl.record import Document


def _words(rng, n, vocab=4000):
    return [f"w{rng.randrange(vocab)}" for _ in range(n)]


def _mutate(rng, words, rate, vocab=4000):
    return [f"w{rng.randrange(vocab)}" if rng.random() < rate else w for w in words]


# ---------------------------------------------------------------- minhash

def test_words_ignore_case_punctuation_and_unicode_symbols():
    a = word_hashes("The UE shall start timer T300; “RRCSetup” — done.")
    b = word_hashes("the ue shall  start timer t300 \"rrcsetup\" - DONE")
    assert a.size == 8 and np.array_equal(a, b)
    assert not np.array_equal(word_hashes("ue shall"), word_hashes("shall ue"))
    assert word_hashes("").size == 0 and word_hashes(" ,;— ").size == 0
    # non-ASCII letters are word characters and fold case; NBSP, section sign, ± separate words
    assert np.array_equal(word_hashes("ÜBERTRAGUNG Ωmega"), word_hashes("übertragung ωmega"))
    assert word_hashes("a\u00a0b §5 ±3").size == 4  # a, b, 5, 3


def test_shingles_are_word_ngrams_and_short_texts_are_one_shingle():
    assert shingle_hashes("a b c d e f g", 5).size == 3
    assert shingle_hashes("a b", 5).size == 1
    assert shingle_hashes("a b", 5)[0] != shingle_hashes("a c", 5)[0]
    # no separator collisions: "ab c" and "a bc" are different word sequences
    assert shingle_hashes("ab c", 2)[0] != shingle_hashes("a bc", 2)[0]


@pytest.mark.parametrize("scheme", ["oph", "kperm"])
def test_signature_is_deterministic_and_seeded(scheme):
    text = " ".join(_words(random.Random(1), 300))
    sig = MinHasher(64, seed=3, scheme=scheme).signature(text)
    assert sig.dtype == np.uint32 and sig.size == 64
    assert np.array_equal(sig, MinHasher(64, seed=3, scheme=scheme).signature(text))
    assert not np.array_equal(sig, MinHasher(64, seed=4, scheme=scheme).signature(text))
    assert is_empty(MinHasher(64, scheme=scheme).signature("  ...  "))
    assert not is_empty(MinHasher(64, scheme=scheme).signature("one"))


@pytest.mark.parametrize("scheme", ["oph", "kperm"])
def test_batch_signatures_equal_one_by_one(scheme):
    rng = random.Random(9)
    texts = [" ".join(_words(rng, rng.choice([0, 1, 3, 4, 5, 6, 40, 900])) ) for _ in range(60)]
    texts += ["", "…", "x", "UE, gNB", "a b c d e"]
    hasher = MinHasher(128, scheme=scheme, block=64)  # small blocks: documents span several
    batch = hasher.signatures(texts)
    assert batch.shape == (len(texts), 128)
    assert np.array_equal(batch, np.stack([hasher.signature(t) for t in texts]))


def test_densified_short_texts_still_compare():
    hasher = MinHasher(128)  # one-permutation: a 3-word text fills few bins before densification
    sig = hasher.signature("timer t300 expires")
    assert not (sig == 0xFFFFFFFF).any()
    assert estimate_jaccard(sig, hasher.signature("Timer T300 expires.")) == 1.0
    assert estimate_jaccard(sig, hasher.signature("timer t301 expires")) < 0.2


@pytest.mark.parametrize("scheme", ["oph", "kperm"])
def test_jaccard_estimate_error_no_worse_than_datasketch(scheme):
    """Mean absolute error vs the exact shingle Jaccard, same pairs, same permutation count."""
    rng = random.Random(7)
    ours, theirs = [], []
    for trial in range(160):
        hasher = MinHasher(128, ngram=5, seed=trial, scheme=scheme)
        a = _words(rng, rng.randint(150, 1500))
        b = _mutate(rng, a, rng.choice([0.01, 0.03, 0.06, 0.12, 0.25]))
        text_a, text_b = " ".join(a), " ".join(b)
        truth = exact_jaccard(text_a, text_b, 5)
        ours.append(abs(estimate_jaccard(hasher.signature(text_a), hasher.signature(text_b)) - truth))
        sh_a = {" ".join(a[i:i + 5]).encode() for i in range(len(a) - 4)}
        sh_b = {" ".join(b[i:i + 5]).encode() for i in range(len(b) - 4)}
        ds_a, ds_b = MinHash(128, seed=trial), MinHash(128, seed=trial)
        ds_a.update_batch(list(sh_a))
        ds_b.update_batch(list(sh_b))
        theirs.append(abs(ds_a.jaccard(ds_b) - len(sh_a & sh_b) / len(sh_a | sh_b)))
    # both estimate the same quantity from 128 values: equal within sampling noise (or better)
    assert np.mean(ours) <= np.mean(theirs) * 1.15 + 0.002, (np.mean(ours), np.mean(theirs))
    assert np.mean(ours) < 0.05


def test_exact_jaccard_matches_python_sets():
    rng = random.Random(2)
    a = _words(rng, 200)
    b = _mutate(rng, a, 0.1)
    sa = {tuple(a[i:i + 3]) for i in range(len(a) - 2)}
    sb = {tuple(b[i:i + 3]) for i in range(len(b) - 2)}
    assert exact_jaccard(" ".join(a), " ".join(b), 3) == pytest.approx(len(sa & sb) / len(sa | sb))


# ---------------------------------------------------------------- LSH

def test_lsh_params_follow_datasketch_and_the_threshold():
    from datasketch import MinHashLSH

    for threshold, num_perm in ((0.8, 128), (0.7, 256), (0.5, 64)):
        bands, rows = lsh_params(threshold, num_perm)
        lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        assert (bands, rows) == (lsh.b, lsh.r)
        assert bands * rows <= num_perm
        assert candidate_probability(threshold + 0.15, bands, rows) > 0.9
        assert candidate_probability(threshold - 0.3, bands, rows) < 0.2
    with pytest.raises(ValueError):
        lsh_params(1.0, 128)


def test_known_lsh_params_are_datasketchs():
    """The table that spares a build importing datasketch gives datasketch's own answers."""
    from datasketch.lsh import _optimal_param

    from telecom_etl.filters.dedup.lsh import KNOWN_PARAMS

    for (threshold, num_perm, fp, fn), params in KNOWN_PARAMS.items():
        assert _optimal_param(threshold, num_perm, fp, fn) == params, (threshold, num_perm, fp, fn)
    lsh_params.cache_clear()
    assert lsh_params(0.65, 100) == _optimal_param(0.65, 100, 0.5, 0.5)  # not in the table: datasketch


def test_verified_lsh_leans_to_recall():
    even, verified = lsh_params(0.8, 128), lsh_params_for(0.8, 128, verify=True)
    assert lsh_params_for(0.8, 128, verify=False) == even
    miss = lambda params, s: 1 - candidate_probability(s, *params)
    assert miss(verified, 0.85) < 0.1 < miss(even, 0.85)
    assert miss(verified, 0.9) < 0.01


def test_band_keys_match_only_on_equal_bands():
    sig = np.arange(128, dtype=np.uint32)
    other = sig.copy()
    other[0] = 999  # only band 0 differs
    keys, keys_other = band_keys(sig, 9, 13), band_keys(other, 9, 13)
    assert len(keys) == 9 and len(set(keys)) == 9
    assert keys[0] != keys_other[0] and keys[1:] == keys_other[1:]


# ---------------------------------------------------------------- components

def test_star_components_equal_union_find_on_random_graphs():
    rng = random.Random(11)
    for _ in range(60):
        n = rng.randint(2, 200)
        names = [f"{i:04d}" for i in range(n)]
        edges = [(rng.choice(names), rng.choice(names)) for _ in range(rng.randint(1, 2 * n))]
        chain = rng.sample(names, min(n, 40))
        edges += list(zip(chain, chain[1:]))
        edges = [e for e in edges if e[0] != e[1]]
        labels, converged = components_by_stars(edges, rounds=12)
        assert converged
        assert labels == components_reference(edges)


def test_star_components_flag_a_long_chain_that_needs_more_rounds():
    names = [f"{i:05d}" for i in range(3000)]
    random.Random(5).shuffle(names)
    edges = list(zip(names, names[1:]))
    _, converged = components_by_stars(edges, rounds=1)
    assert not converged
    labels, converged = components_by_stars(edges, rounds=16)
    assert converged and set(labels.values()) == {"00000"}


def test_link_bucket_links_matches_to_the_best_leader_and_verifies():
    hasher = MinHasher(128)
    rng = random.Random(3)
    base = _words(rng, 400)
    near = _mutate(rng, base, 0.01)
    far = _words(rng, 400)
    member = lambda rank, words: BucketMember(rank, "", signature_bytes(hasher.signature(" ".join(words))))
    bucket = [member("2|near", near), member("1|base", base), member("3|far", far)]
    links = list(link_bucket(bucket, threshold=0.8, verify=True))
    assert [(l.child, l.parent) for l in links] == [("2|near", "1|base")]
    assert links[0].jaccard > 0.8
    unverified = list(link_bucket(bucket, threshold=0.8, verify=False))
    assert {(l.child, l.parent) for l in unverified} == {("2|near", "1|base"), ("3|far", "1|base")}


def test_small_records_are_linked_by_exact_jaccard_not_the_estimate():
    """Pairs near the threshold are where the estimate errs (about +-0.035 at 128 permutations):
    two clause-sized records carry their shingle sets and are decided exactly."""
    from telecom_etl.filters.dedup.components import confirm_representatives, similarity
    from telecom_etl.filters.dedup.minhash import shingle_hashes

    hasher = MinHasher(128)
    rng = random.Random(5)
    pairs = []
    for rate in np.linspace(0.02, 0.06, 40):  # 5-gram Jaccard around 0.8
        a = _words(rng, 300)
        pairs.append((" ".join(a), " ".join(_mutate(rng, a, rate))))
    sigs, sets = hasher.signatures_and_shingles([t for p in pairs for t in p], max_shingles=2048)
    wrong_estimates = 0
    for k, (a, b) in enumerate(pairs):
        ma = BucketMember("1|a", "", signature_bytes(sigs[2 * k]), sets[2 * k])
        mb = BucketMember("2|b", "", signature_bytes(sigs[2 * k + 1]), sets[2 * k + 1])
        truth = exact_jaccard(a, b, 5)
        jaccard, exact = similarity(ma, mb)
        assert exact and abs(jaccard - truth) < 1e-3
        linked = bool(list(link_bucket([ma, mb], threshold=0.8, verify=True)))
        assert linked == (truth >= 0.8)
        estimate, _ = similarity(ma._replace(shingles=b""), mb._replace(shingles=b""))
        wrong_estimates += (estimate >= 0.8) != (truth >= 0.8)
        assert [ok for *_, ok in confirm_representatives(ma, [mb], 0.8)] == [truth >= 0.8]
    assert wrong_estimates > 0  # the estimate alone gets some of these pairs wrong
    assert sets[0] and len(np.frombuffer(sets[0], dtype="<u4")) == len(set(shingle_hashes(pairs[0][0], 5).tolist()))
    # a record with more shingles than the limit carries none (its signature decides)
    _, big = hasher.signatures_and_shingles([" ".join(_words(rng, 5000))], max_shingles=2048)
    assert big == [b""]


# ---------------------------------------------------------------- policy

def _spec(version, text="x" * 100, id_="a", number="29.274", **kw):
    return Document(id=id_, text=text, source="s", kind="3gpp", uri=f"/specs/{id_}.docx",
                    spec_number=number, spec_version=version, **kw)


def test_spec_file_names_give_number_and_version():
    assert spec_from_filename("38211-i10.docx") == ("38.211", "18.1.0")
    assert spec_from_filename("29274-j60.zip") == ("29.274", "19.6.0")
    assert spec_from_filename("24229-083700.doc") == ("24.229", "8.37.0")
    assert spec_from_filename("paper.pdf") == (None, None)
    assert spec_from_filename("38101-1-i10.zip") == ("38.101-1", "18.1.0")
    doc = Document(id="x", text="t", source="s", kind="3gpp", uri="/a/38999-h00.docx")
    assert spec_identity(doc) == ("38.999", (17, 0, 0))
    # metadata first, in the forms extractors and third parties write it
    doc = doc.replace(spec_number="TS 38.999", spec_version="V17.2.0 (2023-06)")
    assert spec_identity(doc) == ("38.999", (17, 2, 0))
    assert spec_identity(doc.replace(spec_version=None)) == ("38.999", (17, 0, 0))  # name agrees: its version
    assert spec_identity(doc.replace(spec_number="38.331", spec_version=None)) == ("38.331", ())  # it does not


def test_newest_spec_version_wins_then_quality_length_id():
    old, new = _spec("17.7.0", id_="old", text="y" * 500), _spec("19.6.0", id_="new")
    keep, others = choose([old, new])
    assert keep.id == "new" and [o.id for o in others] == ["old"]
    plain = [Document(id=i, text=t, source="s", kind="text", uri=i, scores=s) for i, t, s in
             (("b", "x" * 10, {"quality": 0.9}), ("a", "x" * 50, {"quality": 0.5}), ("c", "x" * 50, {"quality": 0.9}))]
    assert [d.id for d in sorted(plain, key=rank_string)] == ["c", "b", "a"]
    ties = [Document(id=i, text="same", source="s", kind="text", uri=i) for i in ("z", "m", "q")]
    assert choose(ties)[0].id == "m"


def test_format_preference_source_over_pdf_word_over_etsi_pdf():
    def paper(id_, fmt, text, quality):
        return Document(id=id_, text=text, source="s", kind="paper", uri=id_, extra={"source_format": fmt},
                        scores={"quality": quality})
    # the PDF is longer and scores higher, and still the LaTeX source is the representative
    pdf, tex = paper("a-pdf", "pdf", "x" * 900, 0.9), paper("z-tex", "latex", "x" * 500, 0.1)
    keep, others = choose([pdf, tex])
    assert keep.id == "z-tex" and [o.id for o in others] == ["a-pdf"]
    assert sorted([pdf, tex], key=rank_string)[0].id == "z-tex"
    word = _spec("18.1.0", id_="word", text="y" * 10).replace(extra={"source_format": "docx"})
    etsi = _spec("18.1.0", id_="etsi", text="y" * 99).replace(extra={"source_format": "pdf"})
    assert choose([etsi, word])[0].id == "word"
    # a newer version still wins over a better rendering of an older one
    newer_pdf = _spec("18.2.0", id_="newer", text="y").replace(extra={"source_format": "pdf"})
    assert choose([word, newer_pdf])[0].id == "newer"
    # records without a format rank between the known renderings and PDF
    plain = Document(id="plain", text="x", source="s", kind="text", uri="plain")
    assert [d.id for d in sorted([pdf, plain, tex], key=rank_string)] == ["z-tex", "plain", "a-pdf"]


def test_a_garbled_rendering_never_supersedes_a_clean_one_whatever_the_version():
    from telecom_etl.filters.dedup.policy import best_rendering, is_garbled, lost_glyphs, rendering_key

    word = _spec("18.0.0", id_="word", text="y" * 1000).replace(extra={"source_format": "docx"})
    garbled = _spec("18.1.0", id_="garbled", text="y" * 990 + "\ufffd" * 10).replace(
        extra={"source_format": "pdf"}, scores={"unmapped_char_share": 0.01}, flags=["unmapped_glyphs"])
    clean_pdf = _spec("17.9.0", id_="clean-pdf", text="y" * 1000).replace(
        extra={"source_format": "pdf"}, scores={"unmapped_char_share": 0.001})
    assert lost_glyphs(word) == (0, 1000) and lost_glyphs(garbled) == (10, 1000)
    assert lost_glyphs(clean_pdf) == (1, 1000) and not is_garbled(1, 1000) and is_garbled(10, 1000)
    # flagged without a score (a hand-made record): wholly lost
    assert lost_glyphs(garbled.replace(scores={})) == (1000, 1000)

    def pick(*docs):
        sums = {}
        for doc in docs:
            lost, visible = sums.get(rendering_key(doc), (0, 0))
            more = lost_glyphs(doc)
            sums[rendering_key(doc)] = (lost + more[0], visible + more[1])
        return best_rendering(sums)

    # the garbled newer PDF does not supersede the clean older Word file, nor a clean older PDF
    assert pick(word, garbled) == rendering_key(word) == ((18, 0, 0), 1)
    assert pick(garbled, clean_pdf) == rendering_key(clean_pdf)
    # among clean renderings the newest version wins, then the format (as before)
    assert pick(word, garbled, clean_pdf) == rendering_key(word)
    assert pick(clean_pdf, word.replace(spec_version="17.9.0")) == ((17, 9, 0), 1)
    # all garbled: the newest still wins
    assert pick(garbled, clean_pdf.replace(text="y" * 900 + "\ufffd" * 100, scores={"unmapped_char_share": 0.1})) \
        == rendering_key(garbled)
    # a rendering is judged on all its records: one garbled clause among clean ones of the same
    # version and format is under the threshold for the rendering, many are over it
    clause = garbled.replace(id="c1", text="y" * 95 + "\ufffd" * 5, scores={"unmapped_char_share": 0.05})
    clean_clauses = [garbled.replace(id=f"c{i}", text="y" * 1000, scores={"unmapped_char_share": 0.0},
                                     flags=[]) for i in range(2, 6)]
    assert pick(word, clause, *clean_clauses) == rendering_key(garbled)
    assert pick(word, clause, clause.replace(id="c2"), clean_clauses[0]) == rendering_key(word)


def test_renderings_of_one_paper_share_a_group_by_title():
    from telecom_etl.filters.dedup.policy import paper_key, version_group

    tex = Document(id="t", text="x", source="s", kind="paper", uri="t", title="Cell-Free Massive MIMO: Pilots")
    pdf = tex.replace(id="p", title="CELL-FREE MASSIVE MIMO \u2013 pilots")
    assert version_group(tex, "newest") == version_group(pdf, "newest") == "paper:cell free massive mimo pilots"
    assert version_group(tex, "none") is None
    assert paper_key(tex.replace(title="Introduction")) is None  # too short to name one paper
    # the footnote mark a PDF's title line carries (AIP style "a)", or a star)
    assert paper_key(tex.replace(title="Sample Title: with Forced Linebreaka)")) == \
        paper_key(tex.replace(title="Sample Title: with Forced Linebreak*")) == "sample title with forced linebreak"
    assert paper_key(tex.replace(title="Beamforming for Cell-Free Networks (Part A)")).endswith("part a")
    assert paper_key(tex.replace(kind="text")) is None


def test_rank_string_sorts_like_rank_key():
    from telecom_etl.filters.dedup.policy import rank_key

    rng = random.Random(4)
    docs = []
    for i in range(200):
        version = rng.choice([None, "17.0.0", "17.10.2", "18.1.0", "9.3.0"])
        kind = "3gpp" if version and rng.random() < 0.8 else "paper"
        fmt = rng.choice([None, "pdf", "docx", "latex", "html"])
        docs.append(Document(id=f"d{i:03d}", text="x" * rng.randint(1, 50), source="s", kind=kind, uri=f"u{i}",
                             spec_number="38.331" if kind == "3gpp" else None, spec_version=version,
                             scores={"quality": rng.choice([0.0, 0.5, -1.5, 2.0])},
                             extra={"source_format": fmt} if fmt else {}))
    assert sorted(docs, key=rank_string) == sorted(docs, key=rank_key)


def test_version_groups_and_per_release_links():
    a, b = _spec("17.7.0", id_="a"), _spec("19.6.0", id_="b")
    assert version_group(a, "newest") == version_group(b, "newest") == "29.274"
    assert version_group(a, "newest_per_release") != version_group(b, "newest_per_release")
    assert version_group(a, "none") is None
    assert version_group(_spec("17.7.0", clause_path="7.2.1"), "newest") == "29.274"
    assert version_group(Document(id="p", text="t", source="s", kind="paper", uri="/p/29274-h70.pdf"),
                         "newest") is None
    assert may_link(link_tag(a, "newest"), link_tag(b, "newest"))
    assert not may_link(link_tag(a, "newest_per_release"), link_tag(b, "newest_per_release"))
    assert may_link(link_tag(a, "newest_per_release"), link_tag(_spec("17.0.0", number="23.501"),
                                                                 "newest_per_release"))
