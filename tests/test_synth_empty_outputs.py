"""An empty run's outputs (issue 17 item 9): the card keeps the main config (0 rows, and why),
empty shards are files 🤗 datasets reads, dataset_info.splits is complete."""
from __future__ import annotations

import glob
import os
import sys

import pyarrow.parquet as pq
import pytest
import yaml

sys.path.insert(0, os.path.dirname(__file__))
from openai_server import OpenAIServer, status  # noqa: E402
from test_preferences_pipeline import ROWS, write_sft  # noqa: E402
from test_preferences_pipeline import run_cli as run_preferences  # noqa: E402
from test_synth_pipeline import run_cli, shards  # noqa: E402,F401

datasets = pytest.importorskip("datasets")


def card_meta(out) -> dict:
    text = (out / "README.md").read_text()
    return yaml.safe_load(text.split("---\n", 2)[1])


def check_empty_run(out, main: str, tmp_path):
    meta = card_meta(out)
    configs = {c["config_name"]: c for c in meta["configs"]}
    assert main in configs and configs[main].get("default")  # not the rejects in its place
    infos = {i["config_name"]: i for i in meta["dataset_info"]}
    assert infos[main]["splits"] == [{"name": "train", "num_bytes": 0, "num_examples": 0}]
    for info in infos.values():
        assert all({"name", "num_bytes", "num_examples"} <= set(s) for s in info["splits"])
    assert f"`{main}` has 0 rows: the `" in (out / "README.md").read_text()
    for path in glob.glob(str(out / "*" / "*.parquet")):
        meta_file = pq.ParquetFile(path).metadata
        assert meta_file.num_rows > 0 or meta_file.num_row_groups == 0, path  # never a row group of 0 rows
    for name, info in infos.items():
        if info["splits"][0]["num_examples"]:  # every non-empty config loads from the card, empty shards included
            ds = datasets.load_dataset(str(out), name, split="train", cache_dir=str(tmp_path / f"hf-{name}"))
            assert len(ds) == info["splits"][0]["num_examples"]
    with pytest.raises(ValueError, match="corresponds to no data"):  # the empty main config, not another one
        datasets.load_dataset(str(out), cache_dir=str(tmp_path / "hf-default"))


def test_an_empty_sft_run_keeps_its_config_and_loads(shards, tmp_path):
    out = tmp_path / "out"
    with OpenAIServer(responder=lambda body: status(500)) as server:
        result = run_cli("-i", shards, "-o", str(out), "--base-url", server.base_url, "--model", "gpt-4o-mini",
                         "--tasks", "open_qa", "--max-retries", "0")
        assert result.exit_code == 1 and "every teacher request failed" in result.output  # outputs written still
    check_empty_run(out, "sft", tmp_path)


def test_an_empty_preference_run_keeps_its_config_and_loads(tmp_path):
    sft = tmp_path / "sft_out"
    write_sft(str(sft / "sft"), ROWS)
    out = tmp_path / "out"
    with OpenAIServer(responder=lambda body: status(500)) as server:
        result = run_preferences(server, sft, out, "--max-retries", "0")
        assert result.exit_code == 1 and "every teacher request failed" in result.output
    check_empty_run(out, "preference", tmp_path)
