"""build-pretrain end to end with planted duplicates: exact, near, and two versions of one spec."""
from __future__ import annotations

import json
import os

import pyarrow.parquet as pq
import pytest

from telecom_etl.filters.dedup.synthetic import pair_scores, planted_corpus
from telecom_etl.manifest import ManifestError, load_manifest
from telecom_etl.pipelines.build_pretrain import run
from telecom_etl.samples import DEFAULT_CLAUSES, make_spec_docx


def _table(folder):
    import pyarrow as pa

    tables = [pq.read_table(os.path.join(folder, f)) for f in sorted(os.listdir(folder)) if f.endswith(".parquet")]
    return pa.concat_tables(tables).to_pylist() if tables else []


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("dedup")
    texts = root / "texts"
    texts.mkdir()
    planted = planted_corpus(n_bases=12, seed=3, min_words=200, max_words=600)
    for doc in planted:
        (texts / f"{doc.id}.txt").write_text(doc.text)
    (texts / "copy-of-base00000.txt").write_text(planted[0].text)  # byte-identical copy
    specs = root / "specs"
    specs.mkdir()
    make_spec_docx(str(specs / "38999-h00.docx"), spec="38.999", version="17.0.0")
    newer = DEFAULT_CLAUSES + [("5.3", "RRC release", [
        "The purpose of this procedure is to release the RRC connection, including the release of the "
        "established radio bearers and all radio resources, added in the later release."])]
    make_spec_docx(str(specs / "38999-i10.docx"), spec="38.999", version="18.1.0", clauses=newer)
    manifest = root / "manifest.yaml"
    manifest.write_text(f"""
version: 1
name: dedup-test
sources:
  - name: planted
    kind: text
    paths: ["{texts}"]
  - name: specs
    kind: 3gpp
    paths: ["{specs}"]
dedup:
  exact: true
  near: true
  threshold: 0.8
  spec_policy: newest
""")
    out = root / "out"
    report = run(load_manifest(str(manifest)), str(out), [], progress=False)
    return planted, out, report


def test_counts_add_up_and_every_stage_reports(built):
    _, out, report = built
    assert report["balanced"], [c for c in report["checks"] if not c["ok"]]
    for stage in ("dedup_exact", "dedup_version", "dedup_near"):
        assert stage in report["doc_stages"]
    near = report["stages"]["dedup_near"]
    assert near["in"] == near["kept"] + near["dropped"] and near["dropped"] > 0
    assert near["dropped_by_rule"] == {"near_duplicate": near["dropped"]}
    assert report["stages"]["dedup_exact"]["dropped_by_rule"].get("exact_duplicate", 0) >= 1


def test_newest_spec_version_is_kept_and_the_old_one_names_it(built):
    _, out, _ = built
    kept = _table(out / "pretrain")
    dropped = _table(out / "dropped")
    spec_kept = [r for r in kept if r["source"] == "specs"]
    spec_dropped = [r for r in dropped if r["source"] == "specs"]
    assert len(spec_kept) == 1 and spec_kept[0]["uri"].endswith("38999-i10.docx")
    assert len(spec_dropped) == 1 and spec_dropped[0]["uri"].endswith("38999-h00.docx")
    assert spec_dropped[0]["drop_stage"] == "dedup_version"
    assert spec_dropped[0]["drop_rule"] == "superseded_spec_version"
    assert spec_dropped[0]["duplicate_of"] == spec_kept[0]["id"]


def test_near_duplicates_removed_with_the_kept_id_named(built):
    planted, out, _ = built
    kept = {r["id"]: r for r in _table(out / "pretrain")}
    dropped = [r for r in _table(out / "dropped") if r["source"] == "planted"]
    by_uri = {os.path.basename(r["uri"]).rsplit(".", 1)[0]: r for r in list(kept.values()) + dropped}
    by_id = {r["id"]: r for r in dropped}

    def representative(row):
        # duplicate_of names the record a stage matched; a later stage may drop that one in turn,
        # so the chain through dropped/ ends at a kept record
        for _ in range(4):
            if row["id"] in kept:
                return row["id"]
            row = kept.get(row["duplicate_of"]) or by_id[row["duplicate_of"]]
        raise AssertionError("duplicate_of chain does not end at a kept record")

    for row in dropped:
        assert row["duplicate_of"] and representative(row) in kept
    # cluster quality against the planted labels
    truth = {d.id: d.cluster for d in planted}
    predicted = {}
    for name, row in by_uri.items():
        if name in truth:
            predicted[name] = representative(row)
    scores = pair_scores(truth, predicted)
    assert scores["precision"] == 1.0 and scores["recall"] >= 0.9, scores
    # every planted negative (partial quote, heavy edit) and unrelated document survives
    for doc in planted:
        if doc.kind in ("partial", "heavy_edit", "unrelated", "base"):
            assert by_uri[doc.id]["id"] in kept or by_uri[doc.id].get("drop_stage") != "dedup_near" \
                or doc.kind == "base"


def test_dedup_stats_written_for_the_report(built):
    planted, out, report = built
    stats = json.loads((out / "_stats" / "dedup.json").read_text())
    near = [s for s in stats if s["stage"] == "dedup_near"][0]
    assert near["cc_converged"] is True
    assert near["removed"] == report["stages"]["dedup_near"]["dropped"]
    assert sum(int(k) * v for k, v in near["cluster_sizes"].items()) == near["docs_in_clusters"]
    assert near["removed_per_source"] == {"planted": near["removed"]}
    assert near["sample_pairs"] and all(p["estimated_jaccard"] >= 0.8 for p in near["sample_pairs"])
    assert near["params"]["bands"] * near["params"]["rows"] <= near["params"]["num_perm"]


def _text_manifest(root, name, texts_dir, extra=""):
    path = root / f"{name}.yaml"
    path.write_text(f"""
version: 1
name: {name}
sources:
  - name: planted
    kind: text
    paths: ["{texts_dir}"]
dedup:
  exact: true
{extra}""")
    return str(path)


@pytest.mark.slow
def test_incremental_build_drops_text_already_published(tmp_path):
    from telecom_etl.filters.dedup.index import index_files, index_params

    planted = [d for d in planted_corpus(n_bases=8, seed=5, min_words=200, max_words=400) if d.kind == "base"]
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    for doc in planted[:5]:
        (first / f"{doc.id}.txt").write_text(doc.text)
    for doc in planted[:3]:  # the same text again, lightly re-edited, under new names
        words = doc.text.split()
        words[10] = "changed"
        (second / f"{doc.id}-v2.txt").write_text(" ".join(words))
    for doc in planted[5:]:  # genuinely new text
        (second / f"{doc.id}.txt").write_text(doc.text)

    out1 = tmp_path / "out1"
    report1 = run(load_manifest(_text_manifest(tmp_path, "first", first)), str(out1), [], progress=False)
    assert report1["balanced"] and report1["stages"]["dedup_near"]["dropped"] == 0
    assert index_params(str(out1))["num_perm"] == 128
    rows1 = sum(pq.read_metadata(f).num_rows for f in index_files(str(out1)))
    assert rows1 == 5

    out2 = tmp_path / "out2"
    report2 = run(load_manifest(_text_manifest(tmp_path, "second", second, f"  previous_index: {out1}\n")),
                  str(out2), [], progress=False)
    assert report2["balanced"]
    near = report2["stages"]["dedup_near"]
    assert near["dropped_by_rule"] == {"previous_build_duplicate": 3} and near["kept"] == 3
    first_ids = {r["id"]: os.path.basename(r["uri"]) for r in _table(out1 / "pretrain")}
    for row in _table(out2 / "dropped"):
        assert first_ids[row["duplicate_of"]] == os.path.basename(row["uri"]).replace("-v2", "")
    # the new index covers both builds: 5 published before + 3 new
    assert sum(pq.read_metadata(f).num_rows for f in index_files(str(out2))) == 8


def test_previous_index_with_other_parameters_is_refused(tmp_path):
    texts = tmp_path / "texts"
    texts.mkdir()
    (texts / "a.txt").write_text(planted_corpus(n_bases=1, seed=1)[0].text)
    out1 = tmp_path / "out1"
    run(load_manifest(_text_manifest(tmp_path, "one", texts)), str(out1), [], progress=False)
    manifest = load_manifest(_text_manifest(tmp_path, "two", texts, f"  num_perm: 64\n  previous_index: {out1}\n"))
    with pytest.raises(ManifestError, match="dedup.previous_index: .*num_perm=128"):
        run(manifest, str(tmp_path / "out2"), [], progress=False)
    # through the command line: one line, no traceback
    from click.testing import CliRunner

    from telecom_etl.cli import main

    manifest_path = _text_manifest(tmp_path, "three", texts, f"  num_perm: 64\n  previous_index: {out1}\n")
    res = CliRunner().invoke(main, ["build-pretrain", "--no-progress", "-m", manifest_path, "-o", str(tmp_path / "o3")])
    assert res.exit_code == 2 and "dedup.previous_index" in res.output and "Traceback" not in res.output


def test_newest_per_release_keeps_one_version_per_release(tmp_path):
    specs = tmp_path / "specs"
    specs.mkdir()
    for name, version in (("38999-h00.docx", "17.0.0"), ("38999-h10.docx", "17.1.0"), ("38999-i10.docx", "18.1.0")):
        clauses = DEFAULT_CLAUSES + [("7", f"Changes in {version}", [f"Text first published in version {version} "
                                                                    "of the sample specification."])]
        make_spec_docx(str(specs / name), spec="38.999", version=version, clauses=clauses)
    manifest = tmp_path / "m.yaml"
    manifest.write_text(f"""
version: 1
sources:
  - name: specs
    kind: 3gpp
    paths: ["{specs}"]
dedup:
  spec_policy: newest_per_release
""")
    out = tmp_path / "out"
    report = run(load_manifest(str(manifest)), str(out), [], progress=False)
    assert report["balanced"]
    kept = sorted(os.path.basename(r["uri"]) for r in _table(out / "pretrain"))
    # Rel-17 keeps 17.1.0, Rel-18 keeps 18.1.0; near-dedup does not merge the two releases
    assert kept == ["38999-h10.docx", "38999-i10.docx"]
    (dropped,) = _table(out / "dropped")
    assert dropped["uri"].endswith("38999-h00.docx") and dropped["drop_rule"] == "superseded_spec_version"
    assert report["stages"]["dedup_near"]["dropped"] == 0


def test_unconverged_components_are_flagged_and_keep_extra_records_only(tmp_path):
    """A chain of near-duplicates (each a small edit of the previous) with one round of stars; with
    enough rounds the chain is one component, but only records that are themselves near-duplicates of
    its representative are dropped (the far end of the chain shares little with it and stays)."""
    import random

    from telecom_etl.filters.dedup.minhash import exact_jaccard
    from telecom_etl.filters.dedup.synthetic import edit_words

    rng = random.Random(2)
    vocab = [f"w{i}" for i in range(3000)]
    words = [rng.choice(vocab) for _ in range(400)]
    texts = tmp_path / "texts"
    texts.mkdir()
    for i in range(24):
        (texts / f"chain{i:02d}.txt").write_text(" ".join(words))
        words = edit_words(rng, words, 0.01, vocab, [1.0] * len(vocab))
    reports = {}
    for rounds in (1, 8):
        manifest = _text_manifest(tmp_path, f"r{rounds}", texts, f"  cc_rounds: {rounds}\n  threshold: 0.7\n")
        out = tmp_path / f"out{rounds}"
        reports[rounds] = run(load_manifest(manifest), str(out), [], progress=False)
        stats = json.loads((out / "_stats" / "dedup.json").read_text())[0]
        assert reports[rounds]["balanced"]
        kept = {r["id"]: r["text"] for r in _table(out / "pretrain")}
        dropped = _table(out / "dropped")
        text = {**kept, **{r["id"]: r["text"] for r in dropped}}
        for row in dropped:  # every drop names a record (kept once converged) it is itself a near-duplicate of
            assert row["duplicate_of"] in (kept if rounds == 8 else text) and row["drop_rule"] == "near_duplicate"
            assert exact_jaccard(row["text"], text[row["duplicate_of"]], 5) >= 0.7
        if rounds == 1:
            assert not stats["cc_converged"] and stats["cc_unconverged_nodes"] > 0
        else:
            assert stats["cc_converged"] and stats["clusters"] >= 1, stats
            assert stats["kept_unlike_representative"] > 0 and 1 < len(kept) < 24, stats
