"""Code trees through the real build-pretrain Beam pipeline: counts by rule add up."""
from __future__ import annotations

import glob
import os

import pyarrow.parquet as pq

from telecom_etl.manifest import load_manifest
from telecom_etl.pipelines.build_pretrain import run
from telecom_etl.record import as_dict
from test_code_repo import GOOD_C, git, make_tree

MANIFEST = """\
version: 1
name: code-test
sources:
  - name: ran
    kind: code
    paths: [{tree}]
    options: {{clone_cache: {cache}}}
  - name: ran-mirror
    kind: code
    paths: ["file://{tmp}/nowhere/ran.git"]
    options: {{clone_cache: {cache}, git_timeout_s: 30}}
  - name: click
    kind: code
    paths: [{click}]
filters:
  profiles:
    code:
      - {{name: code_generated}}
      - {{name: code_vendored}}
      - {{name: code_size, max_kb: 1000}}
      - {{name: code_data_file}}
      - {{name: code_line_length}}
      - {{name: code_alpha_share}}
      - {{name: license_policy, allow: [MIT, Apache-2.0, GPL-2.0-only]}}
      - {{name: length, min_chars: 20}}
dedup:
  near: false
"""


def test_code_tree_through_the_pipeline(tmp_path):
    import click

    tree = make_tree(tmp_path / "sample-ran", outside_dir=str(tmp_path / "elsewhere"))
    git(tree, "init", "-q")
    git(tree, "add", "-A")
    git(tree, "commit", "-q", "-m", "sample")
    head = git(tree, "rev-parse", "HEAD")
    path = tmp_path / "manifest.yaml"
    path.write_text(MANIFEST.format(tree=tree, tmp=tmp_path, cache=tmp_path / "cache",
                                    click=os.path.dirname(click.__file__)))
    report = run(load_manifest(str(path)), str(tmp_path / "out"), [], progress=False)
    stages = report["stages"]

    # listing: the unreachable mirror fails as one source, with a clear reason
    assert stages["list"]["by_source"]["ran-mirror"]["failed"] == 1
    assert list(stages["list"]["by_source"]["ran-mirror"]["failed_by_error"]) == ["git clone failed"]
    assert stages["list"]["by_source"]["ran"]["kept"] == 1

    ran = stages["extract"]["by_source"]["ran"]
    assert ran["dropped_by_rule"] == {
        "binary_file": 2, "not_utf8": 1, "vendored": 1, "license_file": 1, "unknown_language": 1,
        "empty_file": 1, "symlink_loop": 2, "symlink_outside_root": 1, "symlink_broken": 1,
        "symlink_duplicate": 1, "build_artifact": 2,
    }
    assert ran["failed_by_error"] == {"notebook is not valid JSON": 1}
    assert ran["kept"] == 15 and ran["in"] == ran["kept"] + ran["dropped"] + ran["failed"]

    filt = stages["filter"]["by_source"]["ran"]
    assert filt["in"] == 15 and filt["dropped_by_rule"] == {
        "code_generated": 3,  # s1ap.pb.go (name), asn1c's RRCSetup.c (header), app.min.js (name)
        "code_data_file": 1,  # config/tiny.json
        "code_line_length": 1,  # bundle.js: one 1,800-character line
        "code_alpha_share": 1,  # the IQ test vectors
        "license_policy": 2,  # crc_bsd.c (SPDX header: BSD-3-Clause), t310.py (notice: LGPL-2.1-or-later)
    }
    # click is BSD-3-Clause (from its dist-info): every record meets the license policy
    click_filter = stages["filter"]["by_source"]["click"]
    assert click_filter["in"] > 10 and click_filter["dropped_by_rule"] == {"license_policy": click_filter["in"]}
    assert report["balanced"] and all(c["ok"] for c in report["checks"])

    # the kept records carry repo, commit, path, language and license
    rows = [r for p in glob.glob(str(tmp_path / "out" / "pretrain" / "*.parquet")) for r in pq.read_table(p).to_pylist()]
    by_path = {r["path"]: r for r in rows if r["source"] == "ran"}
    timers = by_path["src/rrc/timers.c"]
    assert (timers["repo"], timers["commit"], timers["code_language"], timers["license"]) == (
        "sample-ran", head, "C", "GPL-2.0-or-later")
    assert as_dict(timers["extra"])["size_bytes"] == str(len(GOOD_C))
    assert by_path["nb/ofdm.ipynb"]["code_language"] == "Python"
    assert sorted(by_path) == ["README", "asn/NR-RRC.asn", "hdl/fir.v", "nb/ofdm.ipynb", "src/phy/ofdm.m",
                               "src/rrc/timers.c", "tools/run-sim"]
    assert not [r for r in rows if r["source"] == "click"]
