"""``telecom-etl inspect``: counts, filters and sampled records of an output folder."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import polars as pl
import pytest
from click.testing import CliRunner

import memfs
from card_fixtures import make_output
from telecom_etl.cli import main


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    root = tmp_path_factory.mktemp("inspect")
    make_output(str(root))
    return root


def inspect(*args):
    result = CliRunner().invoke(main, ["inspect", *map(str, args)])
    return result.exit_code, result.output


def block(text: str, dataset: str) -> str:
    """The lines printed for one dataset."""
    part = text.split(f"\n{dataset}  ", 1)[1]
    return re.split(r"\n\n(?=\w)", part, 1)[0]


def test_summary_lists_every_dataset_with_counts(out):
    code, text = inspect(out, "-n", "0")
    assert code == 0, text
    assert "telecom-etl 0.1.0" in text.splitlines()[0]
    kept = pl.read_parquet(str(out / "pretrain" / "*.parquet"))
    pretrain = block(text, "pretrain")
    assert f"{kept.height:,} rows in 2 shard(s)" in pretrain
    top = kept.group_by("source").len().sort(["len", "source"], descending=[True, False])
    assert "by source: " + ", ".join(f"{s}={n}" for s, n in top.iter_rows()) in pretrain
    assert f"tokens (estimated): {kept['n_tokens'].sum():,}" in pretrain
    assert "45 rows in 2 shard(s)" in block(text, "sft") and "[train: 40, test: 5]" in block(text, "sft")
    assert "by drop_rule: length=12, near_duplicate=11, telecom_keywords.low_density=8" in block(text, "dropped")


def test_source_filter_narrows_counts_and_samples(out):
    code, text = inspect(out, "-d", "pretrain", "--source", "oai-ran-code", "-n", "3")
    assert code == 0, text
    assert "matching: 40 of 250 rows" in text
    printed = re.findall(r"^\s+source: (\S+)$", text, re.M)
    assert printed == ["oai-ran-code"] * 3


def test_task_filter_and_chat_messages(out):
    code, text = inspect(out, "-d", "sft", "--task", "abbreviation", "-n", "2")
    assert code == 0, text
    assert "matching: 20 of 45 rows" in text
    assert text.count("[user]") == 2 and text.count("[assistant]") == 2
    assert "What does abbreviation" in text


def test_where_shortcut_and_sql(out):
    code, text = inspect(out, "-d", "dropped", "--where", "drop_rule=length", "-n", "0")
    assert code == 0 and "matching: 12 of 31 rows" in text
    kept = pl.read_parquet(str(out / "pretrain" / "*.parquet"))
    want = kept.filter((pl.col("n_chars") < 1500) & (pl.col("kind") == "code")).height
    code, text = inspect(out, "-d", "pretrain", "--where", "n_chars < 1500 AND kind = 'code'", "-n", "0")
    assert code == 0 and f"matching: {want} of 250 rows" in text
    # two --where options must both hold; spec_release is an int column
    code, text = inspect(out, "-d", "pretrain", "-w", "spec_release=18", "-w", "n_chars >= 1500", "-n", "0")
    want = kept.filter((pl.col("spec_release") == 18) & (pl.col("n_chars") >= 1500)).height
    assert code == 0 and f"matching: {want} of 250 rows" in text


def test_where_on_a_score(out):
    code, text = inspect(out, "-d", "dropped", "--where", "scores.telecom_keywords < 0.02", "-n", "0")
    assert code == 0, text
    assert "matching: 8 of 31 rows" in text and "by drop_rule: telecom_keywords.low_density=8" in text


def test_jsonl_is_deterministic_and_parseable(out):
    code, a = inspect(out, "-d", "sft", "--jsonl", "-n", "5", "--seed", "3")
    _, b = inspect(out, "-d", "sft", "--jsonl", "-n", "5", "--seed", "3")
    assert code == 0 and a == b
    rows = [json.loads(line) for line in a.splitlines()]
    assert len(rows) == 5 and all(r["dataset"] == "sft" for r in rows)
    assert rows[0]["messages"][0]["role"] == "user"
    _, c = inspect(out, "-d", "sft", "--jsonl", "-n", "5", "--seed", "4")
    assert c != a  # another seed, another sample


def test_schema_and_clipping(out):
    code, text = inspect(out, "-d", "pretrain", "--schema", "-n", "1", "--width", "40")
    assert code == 0
    assert re.search(r"^\s+scores\s+list<element: struct<key: string, value: double>>", text, re.M)
    assert re.search(r"… \(\+[\d,]+ chars\)", text)


def test_user_mistakes_are_one_line(out, tmp_path):
    for args, msg in [((out, "--where", "n_chars >>> 3"), "not a valid expression"),
                      ((out, "-d", "nope"), "--dataset 'nope': not in"),
                      ((out, "--where", "no_such_col=1"), "no column 'no_such_col'"),
                      ((tmp_path / "missing",), "no such file or folder"),
                      ((tmp_path,), "no Parquet datasets found")]:
        code, text = inspect(*args)
        assert code == 2, text
        assert msg in text and "Traceback" not in text


def test_reads_through_beam_filesystems(out):
    """An object-store folder (mem://, standing in for gs://) reads like a local one."""
    memfs.STORE.clear()
    memfs.upload(str(out), "mem://bucket/out")
    try:
        code, remote = inspect("mem://bucket/out", "-n", "2", "--seed", "1")
        _, local = inspect(out, "-n", "2", "--seed", "1")
    finally:
        memfs.STORE.clear()
    assert code == 0, remote
    assert remote.split("\n", 1)[1] == local.split("\n", 1)[1]  # same counts and records; only the header differs
    assert "250 rows in 2 shard(s)" in remote


def test_single_parquet_file_and_subprocess(out):
    shard = out / "preference" / "part-00000-of-00001.parquet"
    proc = subprocess.run([sys.executable, "-c", "from telecom_etl.cli import main; main()", "inspect", str(shard),
                           "-n", "1"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "14 rows in 1 shard(s)" in proc.stdout and "by task: clause_qa=14" in proc.stdout
    assert "prompt:" in proc.stdout and "chosen:" in proc.stdout


def test_write_card_for_a_folder_without_one(tmp_path):
    make_output(str(tmp_path))
    assert not (tmp_path / "README.md").exists()
    code, text = inspect(tmp_path, "-n", "0", "--write-card")
    assert code == 0, text
    assert (tmp_path / "README.md").read_text().startswith("---\n")
    assert (tmp_path / "report.html").exists() and (tmp_path / "plots" / "sources.png").exists()
