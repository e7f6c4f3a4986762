"""arXiv metadata snapshot: ids, licence mapping, selection by category and licence policy,
metadata attached to PDFs, and the counts of a real build-pretrain run."""
from __future__ import annotations

import gzip
import json
import os

import pytest

from telecom_etl.extractors import SOURCES, arxiv
from telecom_etl.manifest import SourceConfig
from telecom_etl.outcome import Dropped
from telecom_etl.record import Document
from test_paper_pdfs import make_ieee_paper_pdf

CC_BY = "http://creativecommons.org/licenses/by/4.0/"
CC_BY_SA = "http://creativecommons.org/licenses/by-sa/4.0/"
CC0 = "http://creativecommons.org/publicdomain/zero/1.0/"
ARXIV = "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"


def record(arxiv_id, title, categories, license, authors=(("Marconi", "Alice"), ("Shannon", "Bob")), doi=None):
    return {"id": arxiv_id, "submitter": "Alice Marconi", "authors": ", ".join(f"{f} {l}" for l, f in authors),
            "title": title + "\n  (extended version)", "comments": "6 pages, 3 figures", "journal-ref": None,
            "doi": doi, "report-no": None, "categories": categories, "license": license,
            "abstract": "  We study " + title.lower() + ".\n", "versions": [
                {"version": "v1", "created": "Mon, 4 Jan 2021 18:59:59 GMT"},
                {"version": "v2", "created": "Tue, 2 Feb 2021 10:00:00 GMT"}],
            "update_date": "2021-02-02", "authors_parsed": [[l, f, ""] for l, f in authors]}


SNAPSHOT = [
    record("2101.00001", "Pilot Design for Cell-Free Massive MIMO", "eess.SP cs.IT math.IT", CC_BY,
           doi="10.1109/LWC.2021.0001"),
    record("2101.00002", "Coded Caching with Nonuniform Demands", "cs.IT math.IT", ARXIV),
    record("2101.00003", "Vision Transformers for Image Denoising", "cs.CV", CC0),
    record("2101.00004", "Network Slicing for Industrial 5G", "cs.NI", CC_BY_SA),
    record("hep-th/9901001", "Old Style Identifier Paper on Strings", "hep-th cs.NI", None),
    record("2102.99999", "A Paper Whose PDF Is Not Here", "eess.SP", CC_BY),
]


@pytest.fixture
def arxiv_folder(tmp_path):
    papers = tmp_path / "pdf"
    for name, title in (("2101.00001v2.pdf", "Pilot Design for Cell-Free Massive MIMO"),
                        ("2101.00002.pdf", "Coded Caching with Nonuniform Demands"),
                        ("2101.00003v1.pdf", "Vision Transformers for Image Denoising"),
                        ("hep-th9901001v1.pdf", "Old Style Identifier Paper on Strings"),
                        ("2101.07777.pdf", "A Paper Missing From the Snapshot")):
        make_ieee_paper_pdf(str(papers / name), title=title, min_pages=2)
    # no id in the name: the arXiv margin stamp on page 1 names it
    make_ieee_paper_pdf(str(papers / "slicing-paper.pdf"), title="Network Slicing for Industrial 5G",
                        arxiv_stamp="arXiv:2101.00004v1 [cs.NI] 4 Jan 2021", min_pages=2)
    snapshot = tmp_path / "arxiv-metadata-oai-snapshot.json"
    lines = [json.dumps(r) for r in SNAPSHOT]
    # the snapshot's key order is not guaranteed: a line not starting with "id" is read too
    moved = dict(SNAPSHOT[1])
    lines[1] = json.dumps({"title": moved.pop("title"), **moved})
    snapshot.write_text("\n".join(lines) + "\n")
    return papers, snapshot


def paper_source(paths, options, license=None):
    config = SourceConfig(name="arxiv", kind="paper", paths=[str(p) for p in paths], license=license,
                          options=options)
    SOURCES["paper"].validate_options(config)
    return SOURCES["paper"](config)


@pytest.mark.parametrize("url, spdx", [
    (CC_BY, "CC-BY-4.0"), (CC_BY_SA, "CC-BY-SA-4.0"), (CC0, "CC0-1.0"),
    ("http://creativecommons.org/licenses/by-nc-sa/4.0/", "CC-BY-NC-SA-4.0"),
    ("http://creativecommons.org/licenses/by-nc-nd/4.0/", "CC-BY-NC-ND-4.0"),
    ("http://creativecommons.org/licenses/by-nc-sa/3.0/", "CC-BY-NC-SA-3.0"),
    ("http://creativecommons.org/licenses/publicdomain/", "LicenseRef-public-domain"),
    (ARXIV, "LicenseRef-arXiv-nonexclusive-distrib-1.0"), (None, "LicenseRef-arXiv-unspecified"),
])
def test_license_urls_map_to_spdx(url, spdx):
    assert arxiv.license_spdx(url) == spdx


@pytest.mark.parametrize("path, arxiv_id", [
    ("2101.00001v2.pdf", "2101.00001"), ("/data/arxiv/pdf/2312/2312.12345v1.pdf", "2312.12345"),
    ("hep-th9901001v1.pdf", "hep-th/9901001"), ("/arxiv/hep-th/9901001v2.pdf", "hep-th/9901001"),
    ("math_0501001.pdf", "math/0501001"), ("paper-2021.pdf", None), ("ieee-8412345.pdf", None),
])
def test_ids_from_file_names(path, arxiv_id):
    assert arxiv.arxiv_id_from_path(path) == arxiv_id


def test_ids_from_text_and_normalisation():
    assert arxiv.arxiv_id_from_text("arXiv:2101.00004v1 [cs.NI] 4 Jan 2021") == "2101.00004"
    assert arxiv.arxiv_id_from_text("preprint arXiv:hep-th/9901001v3") == "hep-th/9901001"
    assert arxiv.arxiv_id_from_text("no identifier here, 2101.00004") is None
    assert arxiv.normalize_arxiv_id("https://arxiv.org/abs/2101.00001v2") == "2101.00001"


def test_snapshot_reader_plain_and_gzip(arxiv_folder, tmp_path):
    _, snapshot = arxiv_folder
    records = arxiv.load_records(str(snapshot), ["2101.00001", "2101.00002", "hep-th/9901001"])
    assert sorted(records) == ["2101.00001", "2101.00002", "hep-th/9901001"]
    first = records["2101.00001"]
    assert first.title == "Pilot Design for Cell-Free Massive MIMO (extended version)"
    assert first.authors == ["Alice Marconi", "Bob Shannon"]
    assert first.categories == ["eess.SP", "cs.IT", "math.IT"]
    assert first.license == "CC-BY-4.0" and first.date == "2021-01-04" and first.doi == "10.1109/LWC.2021.0001"
    gz = tmp_path / "snapshot.json.gz"
    gz.write_bytes(gzip.compress(snapshot.read_bytes()))
    assert len(list(arxiv.iter_snapshot(str(gz)))) == len(SNAPSHOT)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(SNAPSHOT[0]) + "\nthis is not json\n")
    with pytest.raises(ValueError, match="bad.json:2: not a JSON line"):
        list(arxiv.iter_snapshot(str(bad)))


def test_selection_by_category_and_license_policy_with_metadata_attached(arxiv_folder):
    papers, snapshot = arxiv_folder
    src = paper_source([papers], {"arxiv_metadata": str(snapshot), "categories": ["eess.SP", "cs.IT", "cs.NI"],
                                  "licenses": ["CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0"]})
    listed = list(src.list_items())
    drops = {os.path.basename(d.uri): (d.rule, d.detail) for d in listed if isinstance(d, Dropped)}
    assert drops == {
        "2101.00002.pdf": ("license_policy",
                           "license LicenseRef-arXiv-nonexclusive-distrib-1.0 not in CC-BY-4.0, CC-BY-SA-4.0, CC0-1.0"),
        "2101.00003v1.pdf": ("category", "categories cs.CV not in eess.SP, cs.IT, cs.NI"),
        "2101.07777.pdf": ("category", "not in the arXiv snapshot: categories unknown"),
        "hep-th9901001v1.pdf": ("license_policy",
                                "license LicenseRef-arXiv-unspecified not in CC-BY-4.0, CC-BY-SA-4.0, CC0-1.0"),
    }
    kept = [i for i in listed if not isinstance(i, Dropped)]
    docs = {d.arxiv_id: d for item in kept for d in src.extract(item)}
    assert sorted(docs) == ["2101.00001", "2101.00004"]
    pilot = docs["2101.00001"]
    assert isinstance(pilot, Document)
    assert pilot.title == "Pilot Design for Cell-Free Massive MIMO (extended version)"
    assert pilot.authors == ["Alice Marconi", "Bob Shannon"]
    assert pilot.categories == ["eess.SP", "cs.IT", "math.IT"]
    assert pilot.license == "CC-BY-4.0" and pilot.doi == "10.1109/LWC.2021.0001" and pilot.date == "2021-01-04"
    assert pilot.extra["arxiv_comments"] == "6 pages, 3 figures" and pilot.extra["date_source"] == "arxiv_v1"
    slicing = docs["2101.00004"]  # found through the margin stamp of its first page
    assert slicing.license == "CC-BY-SA-4.0" and slicing.categories == ["cs.NI"]
    assert "arXiv:2101.00004" not in slicing.text  # the stamp is not body text


def test_archive_wide_category_and_no_license_policy(arxiv_folder):
    papers, snapshot = arxiv_folder
    src = paper_source([papers], {"arxiv_metadata": str(snapshot), "categories": ["cs"]})
    listed = list(src.list_items())
    kept = sorted(os.path.basename(i.uri) for i in listed if not isinstance(i, Dropped))
    assert kept == ["2101.00001v2.pdf", "2101.00002.pdf", "2101.00003v1.pdf", "hep-th9901001v1.pdf",
                    "slicing-paper.pdf"]  # every paper with a cs.* category


def test_license_policy_without_snapshot_uses_the_source_license(arxiv_folder):
    papers, _ = arxiv_folder
    closed = paper_source([papers], {"licenses": ["CC-BY-4.0"]}, license="IEEE copyright")
    listed = list(closed.list_items())
    assert listed and all(isinstance(d, Dropped) and d.rule == "license_policy" for d in listed)
    open_ = paper_source([papers], {"licenses": ["CC-BY-4.0"]}, license="CC-BY-4.0")
    assert not any(isinstance(d, Dropped) for d in open_.list_items())


def test_build_pretrain_counts_policy_drops(arxiv_folder, tmp_path):
    """Through a real Beam pipeline: the selection's drops are counted per rule in the report."""
    from telecom_etl.manifest import load_manifest
    from telecom_etl.pipelines.build_pretrain import run

    papers, snapshot = arxiv_folder
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(f"""\
version: 1
sources:
  - name: arxiv-papers
    kind: paper
    paths: ["{papers}/*.pdf"]
    options:
      arxiv_metadata: {snapshot}
      categories: [eess.SP, cs.IT, cs.NI]
      licenses: [CC-BY-4.0, CC-BY-SA-4.0, CC0-1.0]
filters:
  profiles:
    default: [{{name: length, min_chars: 100}}]
dedup: {{exact: false, near: false}}  # the generated papers share their body text
""")
    report = run(load_manifest(str(manifest)), str(tmp_path / "out"), [], progress=False)
    extract = report["stages"]["extract"]["by_source"]["arxiv-papers"]
    assert extract["in"] == 6
    assert extract["dropped_by_rule"] == {"category": 2, "license_policy": 2}
    import pyarrow.parquet as pq
    import glob

    rows = [r for f in sorted(glob.glob(str(tmp_path / "out" / "pretrain" / "*.parquet")))
            for r in pq.read_table(f).to_pylist()]
    assert sorted(r["arxiv_id"] for r in rows) == ["2101.00001", "2101.00004"]
    assert {r["license"] for r in rows} == {"CC-BY-4.0", "CC-BY-SA-4.0"}
