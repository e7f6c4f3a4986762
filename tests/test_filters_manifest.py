"""The example manifest manifests/telecom-corpus.yaml: it loads as shipped, and its
commented-out classifier and decontamination entries are valid once given files."""
from __future__ import annotations

import json
import os

from click.testing import CliRunner
from conftest import ROOT, corpus_file
from test_train_classifier import SMALL, synthetic_corpus

from telecom_etl.cli import main
from telecom_etl.filters import build_filter
from telecom_etl.manifest import load_manifest

EXAMPLE = os.path.join(ROOT, "manifests", "telecom-corpus.yaml")
MINE = {"language", "gopher_quality", "gopher_repetition", "fineweb_lines", "c4_lines", "telecom_keywords"}


def test_example_manifest_loads_as_shipped():
    manifest = load_manifest(EXAMPLE)
    for name in ("default", "paper"):
        names = {spec.name for spec in manifest.filters.profiles[name]}
        assert MINE <= names, (name, names)
    # 3GPP's own archive: extraction sanity rules only, no relevance or web-repetition rule
    names = {spec.name for spec in manifest.filters.profiles["3gpp"]}
    assert {"length", "language", "gopher_quality"} <= names and not names & {
        "telecom_keywords", "gopher_repetition", "fineweb_lines"}, names
    assert [manifest.profile_for(s)[1].name for s in manifest.sources] == ["language", "language"]


def test_example_manifest_with_classifier_and_decontamination(tmp_path):
    data = tmp_path / "labeled.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in synthetic_corpus()))
    model = tmp_path / "telecom.bin"
    assert CliRunner().invoke(main, ["train-classifier", "-o", str(model), "--data", str(data), *SMALL]).exit_code == 0
    text = open(EXAMPLE, encoding="utf-8").read()
    text = (text.replace("# - {name: fasttext_classifier", "- {name: fasttext_classifier")
                .replace("# - {name: decontaminate", "- {name: decontaminate")
                .replace("models/telecom.bin", str(model))
                .replace("eval/TeleQnA.json", corpus_file("qa", "TeleQnA_sample300.json"))
                .replace("[sample/", "[" + os.path.join(ROOT, "manifests", "sample") + "/"))
    path = tmp_path / "telecom-corpus.yaml"
    path.write_text(text)
    manifest = load_manifest(str(path))
    for name in ("default", "3gpp", "paper"):
        specs = manifest.filters.profiles[name]
        mine = MINE - {"telecom_keywords", "gopher_repetition", "fineweb_lines"} if name == "3gpp" else MINE
        assert mine | {"fasttext_classifier", "decontaminate"} <= {s.name for s in specs}
        for spec in specs:
            build_filter(spec).setup()
