"""An output folder you can trust: preflight, file modes, the lock, staged commits, interrupts.

Every case asserts the exact line a user sees and that the folder afterwards holds either
the previous run or the new one, whole (:func:`folder_state`).
"""
from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from telecom_etl.cli import main

WORDS = ("the gNB schedules uplink grants for each UE on the PUSCH while the AMF handles registration and "
         "mobility the SMF selects a UPF for every PDU session and the PCF supplies policy rules over N7 "
         "timers T3510 and T3511 guard the attach procedure beam management uses SSB and CSI-RS reports "
         "HARQ feedback arrives on PUCCH the RRC layer configures measurement gaps and handover events").split()


def make_corpus(root, files: int = 6, words: int = 400, seed: int = 0) -> str:
    """Text files of telecom-ish prose, each different (so dedup keeps them all)."""
    rng = random.Random(seed)
    os.makedirs(root, exist_ok=True)
    for i in range(files):
        text = " ".join(rng.choice(WORDS) for _ in range(words))
        with open(os.path.join(root, f"doc-{i:03d}.txt"), "w") as fh:
            fh.write(f"Document {i}.\n\n{text}.\n")
    return str(root)


def write_manifest(path, corpus, shard_mb: float = 64, name: str = "notes") -> str:
    with open(path, "w") as fh:
        fh.write(f"version: 1\nname: t\nsources:\n  - name: {name}\n    kind: text\n    paths: [{corpus}]\n"
                 f"output:\n  shard_max_mb: {shard_mb}\n")
    return str(path)


def cli(*args):
    res = CliRunner().invoke(main, list(args))
    return res.exit_code, [ln for ln in res.output.splitlines() if ln.strip()]


def folder_state(out) -> dict:
    """Run id and shards of the committed run in ``out``; asserts they are one run's, whole."""
    report = json.loads((out / "report.json").read_text())
    shards = sorted(p.name for p in (out / "pretrain").glob("*.parquet"))
    assert shards == sorted(report["shards"]), "shards are not those of the report"
    for p in (out / "pretrain").glob("*.parquet"):
        meta = pq.ParquetFile(str(p)).schema_arrow.metadata
        assert meta[b"telecom_etl.run_id"].decode() == report["run_id"], p
    assert f"`{report['run_id']}`" in (out / "README.md").read_text()
    assert report["run_id"] in (out / "report.html").read_text()
    rows = pq.read_table(str(out / "pretrain")).num_rows
    assert rows == report["totals"]["docs_out"]
    hidden = sorted(p.name for p in out.iterdir() if p.name.startswith("."))
    assert hidden == [], f"left behind: {hidden}"
    return {"run_id": report["run_id"], "shards": shards, "rows": rows,
            "sources": sorted(report["sources"])}


@contextlib.contextmanager
def mounted_tmpfs(path, size: str = "1m", readonly: bool = False):
    os.makedirs(path, exist_ok=True)
    opts = f"size={size}" + (",ro" if readonly else "")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip() or 'mount failed'}): needs root and "
                    "mount permission")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


# ---------------------------------------------------------------------------
# 1. preflight: an unusable output is one line, before any work, and in --check
# ---------------------------------------------------------------------------

def test_an_output_that_is_a_file_or_under_a_file_is_one_line(tmp_path):
    manifest = write_manifest(tmp_path / "m.yaml", make_corpus(tmp_path / "in", files=2))
    (tmp_path / "file").write_text("x")
    for out, line in [(tmp_path / "file", f"telecom-etl: error: output {tmp_path}/file is a file, not a folder"),
                      (tmp_path / "file" / "out",
                       f"telecom-etl: error: output {tmp_path}/file/out cannot be created: {tmp_path}/file is a file")]:
        for check in (["--check"], []):
            code, lines = cli("build-pretrain", *check, "-m", manifest, "-o", str(out))
            assert (code, lines) == (2, [line])
    assert (tmp_path / "file").read_text() == "x"


def test_a_read_only_output_or_parent_is_one_line_before_any_work(tmp_path):
    manifest = write_manifest(tmp_path / "m.yaml", make_corpus(tmp_path / "in", files=2))
    ro = tmp_path / "ro"
    with mounted_tmpfs(ro, readonly=True):
        for check in (["--check"], []):
            code, lines = cli("build-pretrain", *check, "-m", manifest, "-o", str(ro))
            assert (code, lines) == (2, [f"telecom-etl: error: output folder {ro} is not writable: "
                                         "Read-only file system"])
            code, lines = cli("build-pretrain", *check, "-m", manifest, "-o", str(ro / "new"))
            assert (code, lines) == (2, [f"telecom-etl: error: output folder {ro}/new cannot be created: {ro} "
                                         "is not writable (Read-only file system)"])
        assert os.listdir(ro) == []


def test_check_leaves_no_folder_behind_and_says_the_output_is_writable(tmp_path):
    manifest = write_manifest(tmp_path / "m.yaml", make_corpus(tmp_path / "in", files=2))
    code, lines = cli("build-pretrain", "--check", "-m", manifest, "-o", str(tmp_path / "a" / "b"))
    assert (code, lines) == (0, [f"{manifest}: OK (1 sources); output {tmp_path}/a/b is writable"])
    assert not (tmp_path / "a").exists()


def test_a_store_that_refuses_writes_is_one_line_through_beam_filesystems(tmp_path):
    import memfs  # noqa: F401  (registers mem:// and refuse://)

    manifest = write_manifest(tmp_path / "m.yaml", make_corpus(tmp_path / "in", files=2))
    for check in (["--check"], []):
        code, lines = cli("build-pretrain", *check, "-m", manifest, "-o", "refuse://bucket/out")
        assert (code, lines) == (2, ["telecom-etl: error: output folder refuse://bucket/out is not writable: "
                                     "Permission denied"])


# ---------------------------------------------------------------------------
# 5. file modes follow the umask
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("umask, file_mode, dir_mode", [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)])
def test_every_output_file_follows_the_umask(tmp_path, umask, file_mode, dir_mode):
    manifest = write_manifest(tmp_path / "m.yaml", make_corpus(tmp_path / "in", files=3))
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "telecom_etl.cli", "build-pretrain", "--no-progress", "-m", manifest,
                           "-o", str(out)], capture_output=True, text=True, preexec_fn=lambda: os.umask(umask))
    assert proc.returncode == 0, proc.stderr[-2000:]
    modes = {}
    for dirpath, dirnames, filenames in os.walk(out):
        for name in dirnames:
            modes[os.path.join(dirpath, name)] = (os.stat(os.path.join(dirpath, name)).st_mode & 0o777, dir_mode)
        for name in filenames:
            modes[os.path.join(dirpath, name)] = (os.stat(os.path.join(dirpath, name)).st_mode & 0o777, file_mode)
    assert len(modes) > 8 and any(p.endswith(".parquet") for p in modes)
    wrong = {p: oct(m) for p, (m, want) in modes.items() if m != want}
    assert wrong == {}
    assert os.stat(out).st_mode & 0o777 == dir_mode


# ---------------------------------------------------------------------------
# 7. errors: every manifest problem, "did you mean", no Python words, stray arguments
# ---------------------------------------------------------------------------

BAD_MANIFEST = """\
version: 1
sources:
  - name: specs
    kind: 3gppp
    paths: manifests
    colour: red
  - name: papers
    kind: paper
    paths: []
    filter_profile: strct
filters:
  profiles:
    strict:
      - {name: length, min_char: 10}
      - {name: lenght}
dedup:
  threshold: 2
  ngramm: 3
  spec_policy: newst
"""


def test_a_manifest_with_several_mistakes_names_every_one_in_file_order(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_MANIFEST)
    code, lines = cli("build-pretrain", "--check", "-m", str(path))
    p = f"telecom-etl: error: {path}"
    assert code == 2
    assert lines == [
        f"{p}:4: sources[0].kind: unknown source kind '3gppp' (did you mean '3gpp'? known: 3gpp, code, paper, text)",
        f"{p}:5: sources[0].paths: must be a list (write [value] for a single one) (got 'manifests')",
        f"{p}:6: sources[0].colour: unknown key (known: filter_profile, kind, license, max_file_mb, metadata, name, "
        "options, paths)",
        f"{p}:9: sources[1].paths: must list at least 1 item",
        f"{p}:10: sources[1].filter_profile: unknown profile 'strct' (did you mean 'strict'? known: strict)",
        f"{p}:14: filters.profiles.strict[0].min_char: filter 'length' has no parameter 'min_char' (did you mean "
        "'min_chars'? parameters: min_chars, max_chars, min_words)",
        lines[6],  # the filter list is long; checked below
        f"{p}:17: dedup.threshold: must be less than 1.0 (got 2)",
        f"{p}:18: dedup.ngramm: unknown key (did you mean 'ngram'? known: cc_rounds, exact, near, ngram, num_perm, "
        "previous_index, scheme, seed, spec_policy, threshold, verify, write_index)",
        f"{p}:19: dedup.spec_policy: must be one of newest, newest_per_release, none (got 'newst'; did you mean "
        "'newest'?)",
    ]
    assert lines[6].startswith(f"{p}:15: filters.profiles.strict[1]: unknown filter 'lenght' (did you mean 'length'? "
                               "known: c4_lines, ")
    for word in ("Input should", "pydantic", "__init__", "keyword argument", "validation", "Traceback"):
        assert not any(word in ln for ln in lines), word


@pytest.mark.parametrize("args, line", [
    (["--outptu", "x"], "unknown option --outptu (did you mean --output?)"),
    (["--manfest=m.yaml"], "unknown option --manfest (did you mean --manifest?)"),
    (["--runnr", "DirectRunner"], "unknown option --runnr (did you mean --runner?)"),
    (["--direct_num_worker", "2"], "unknown option --direct_num_worker (did you mean --direct_num_workers?)"),
    (["--zzzz"], "unknown option --zzzz (neither an option of this command nor a Beam pipeline option; see --help)"),
    (["stray"], "unexpected argument 'stray' (options start with --; see --help)"),
    (["--runner", "DirectRunner", "out2"], "unexpected argument 'out2' (options start with --; see --help)"),
])
def test_misspelt_options_and_stray_arguments_are_one_line(tmp_path, args, line):
    manifest = write_manifest(tmp_path / "m.yaml", make_corpus(tmp_path / "in", files=1))
    code, lines = cli("build-pretrain", "--check", "-m", manifest, "-o", str(tmp_path / "out"), *args)
    assert (code, lines) == (2, [f"telecom-etl: error: {line}"])


# ---------------------------------------------------------------------------
# 2/3. one run, one folder state
# ---------------------------------------------------------------------------

def build(manifest, out, *extra):
    return subprocess.run([sys.executable, "-m", "telecom_etl.cli", "build-pretrain", "--no-progress", "-m",
                           str(manifest), "-o", str(out), *extra], capture_output=True, text=True, timeout=600)


def test_a_rerun_with_another_shard_count_replaces_the_whole_run(tmp_path):
    corpus = make_corpus(tmp_path / "in", files=8, words=600)
    out = tmp_path / "out"
    proc = build(write_manifest(tmp_path / "m1.yaml", corpus, shard_mb=0.004), out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    first = folder_state(out)
    assert len(first["shards"]) > 2
    proc = build(write_manifest(tmp_path / "m2.yaml", corpus, shard_mb=64), out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    second = folder_state(out)
    assert second["shards"] == ["part-00000-of-00001.parquet"] and second["rows"] == first["rows"] == 8
    assert second["run_id"] != first["run_id"]
