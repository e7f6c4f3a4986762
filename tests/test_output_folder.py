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
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from telecom_etl.cli import main
from telecom_etl.manifest import DedupConfig, SourceConfig

WORDS = ("the gNB schedules uplink grants for each UE on the PUSCH while the AMF handles registration and "
         "mobility the SMF selects a UPF for every PDU session and the PCF supplies policy rules over N7 "
         "timers T3510 and T3511 guard the attach procedure beam management uses SSB and CSI-RS reports "
         "HARQ feedback arrives on PUCCH the RRC layer configures measurement gaps and handover events").split()


def make_corpus(root, files: int = 6, words: int = 400, seed: int = 0, vocabulary=WORDS) -> str:
    """Text files of telecom-ish prose, each different (so dedup keeps them all)."""
    rng = random.Random(seed)
    os.makedirs(root, exist_ok=True)
    for i in range(files):
        text = " ".join(rng.choice(vocabulary) for _ in range(words))
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


def folder_state(out, running: bool = False) -> dict:
    """Run id and shards of the committed run in ``out``; asserts they are one run's, whole
    (and, unless a run is ``running`` into it, that nothing of a run is left behind)."""
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
    assert running or hidden == [], f"left behind: {hidden}"
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
        f"{p}:6: sources[0].colour: unknown key (known: {', '.join(sorted(SourceConfig.model_fields))})",
        f"{p}:9: sources[1].paths: must list at least 1 item",
        f"{p}:10: sources[1].filter_profile: unknown profile 'strct' (did you mean 'strict'? known: strict)",
        f"{p}:14: filters.profiles.strict[0].min_char: filter 'length' has no parameter 'min_char' (did you mean "
        "'min_chars'? parameters: min_chars, max_chars, min_words)",
        lines[6],  # the filter list is long; checked below
        f"{p}:17: dedup.threshold: must be less than 1.0 (got 2)",
        f"{p}:18: dedup.ngramm: unknown key (did you mean 'ngram'? known: {', '.join(sorted(DedupConfig.model_fields))})",
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


# ---------------------------------------------------------------------------
# a real build that waits at a chosen point, so a test can signal or race it there
# ---------------------------------------------------------------------------

GATED = """
import os, sys, time
from telecom_etl.extractors.text import TextSource
from telecom_etl.registry import SOURCES
from telecom_etl.cli import main
import telecom_etl.card, telecom_etl.io

gate, point = sys.argv[1], sys.argv[2]

def wait_here(name):
    open(os.path.join(gate, name), "w").close()          # tell the test where we are
    parent = os.getppid()
    while not os.path.exists(os.path.join(gate, "go")):  # and wait until it says go
        if os.getppid() != parent:  # an isolated extraction child whose build has ended
            os._exit(0)
        time.sleep(0.05)

@SOURCES.register("gated")
class Gated(TextSource):
    def extract(self, item):
        if point == "extract" and item.name == "doc-000.txt":
            wait_here("extract")
        yield from super().extract(item)

if point == "card":
    real_card = telecom_etl.card.write_card
    def write_card(*a, **k):
        wait_here("card")
        return real_card(*a, **k)
    telecom_etl.card.write_card = write_card

if point in ("commit", "kill-in-commit"):
    real_move, moved = telecom_etl.io.move_tree, []
    def move_tree(src, dst):
        real_move(src, dst)
        moved.append(src)
        if len(moved) == 2:  # the previous pretrain/ is out, the new one in: half-way through the commit
            if point == "kill-in-commit":
                os._exit(137)
            open(os.path.join(gate, "commit"), "w").close()
            time.sleep(3)  # a signal now must wait for the commit
    telecom_etl.io.move_tree = move_tree

main(["build-pretrain", "--no-progress", *sys.argv[3:]])
"""


def gated_manifest(path, corpus, shard_mb: float = 64) -> str:
    with open(path, "w") as fh:
        fh.write(f"version: 1\nname: t\nsources:\n  - name: notes\n    kind: gated\n    paths: [{corpus}]\n"
                 f"output:\n  shard_max_mb: {shard_mb}\n")
    return str(path)


def start_gated(tmp_path, point, manifest, out, tag="a"):
    gate = tmp_path / f"gate-{tag}"
    gate.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", GATED, str(gate), point, "-m", str(manifest), "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, gate


def wait_for(gate, name, proc, timeout=300):
    import time

    deadline = time.monotonic() + timeout  # a guard against a hung test, not a timed assertion
    while not (gate / name).exists():
        if proc.poll() is not None:
            raise AssertionError(f"build ended before reaching {name}: {proc.stderr.read()[-3000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"build never reached {name}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def previous_run(tmp_path_factory):
    """A folder holding a finished run (8 shards), and the corpus it was built from."""
    root = tmp_path_factory.mktemp("previous")
    corpus = make_corpus(root / "in", files=8, words=600)
    out = root / "out"
    proc, _ = start_gated(root, "none", gated_manifest(root / "m.yaml", corpus, shard_mb=0.004), out)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-2000:]
    return corpus, out, folder_state(out)


def copy_of(previous_run, tmp_path):
    import shutil

    corpus, out, state = previous_run
    shutil.copytree(out, tmp_path / "out")
    return corpus, tmp_path / "out", state


@pytest.mark.parametrize("signame, point", [("SIGINT", "extract"), ("SIGTERM", "extract"), ("SIGINT", "card"),
                                             ("SIGTERM", "card")])
def test_an_interrupted_rerun_leaves_the_previous_run_whole(tmp_path, previous_run, signame, point):
    import signal

    corpus, out, before = copy_of(previous_run, tmp_path)
    manifest = gated_manifest(tmp_path / "m2.yaml", corpus, shard_mb=64)  # another shard count
    proc, gate = start_gated(tmp_path, point, manifest, out)
    wait_for(gate, point, proc)
    proc.send_signal(getattr(signal, signame))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + getattr(signal, signame)
    assert err.strip().splitlines()[-1] == f"telecom-etl: interrupted: {out} left as it was before this run"
    assert "Traceback" not in err and "Exception ignored" not in err
    assert folder_state(out) == before


def test_a_signal_during_the_commit_waits_for_it(tmp_path, previous_run):
    import signal

    corpus, out, before = copy_of(previous_run, tmp_path)
    proc, gate = start_gated(tmp_path, "commit", gated_manifest(tmp_path / "m2.yaml", corpus, shard_mb=64), out)
    wait_for(gate, "commit", proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == (f"telecom-etl: interrupted: {out} holds this run's complete output "
                                            "(the signal came as it was committed)")
    after = folder_state(out)
    assert after["shards"] == ["part-00000-of-00001.parquet"] and after["run_id"] != before["run_id"]


def test_a_kill_during_the_commit_is_seen_by_inspect_and_completed_by_the_next_run(tmp_path, previous_run):
    corpus, out, before = copy_of(previous_run, tmp_path)
    manifest = gated_manifest(tmp_path / "m2.yaml", corpus, shard_mb=64)
    proc, gate = start_gated(tmp_path, "kill-in-commit", manifest, out)
    proc.communicate(timeout=300)
    assert proc.returncode == 137
    code, lines = cli("inspect", str(out), "-n", "0")
    assert code == 0
    assert f"NOT ONE RUN: {out} mixes files of different runs" in lines
    assert f"  a run's commit was cut short (.commit.json is there): the next run into {out} completes it" in lines
    proc, gate = start_gated(tmp_path, "none", manifest, out, tag="b")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    assert f"telecom-etl: note: took over the lock of {out} left by a run that is no longer running (pid " in err
    assert "telecom-etl: note: completed the commit of an interrupted run into" in err
    after = folder_state(out)
    assert after["shards"] == ["part-00000-of-00001.parquet"] and after["rows"] == before["rows"]
    code, lines = cli("inspect", str(out), "-n", "0")
    assert f"run {after['run_id']}: report, card and all " in "\n".join(lines)


def test_a_killed_rerun_with_another_shard_count_leaves_the_previous_run_and_the_next_run_cleans_up(
        tmp_path, previous_run):
    import signal

    corpus, out, before = copy_of(previous_run, tmp_path)
    manifest = gated_manifest(tmp_path / "m2.yaml", corpus, shard_mb=64)
    proc, gate = start_gated(tmp_path, "card", manifest, out)  # every shard of the new run written by then
    wait_for(gate, "card", proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    staged = [p.name for p in out.iterdir() if p.name.startswith(".run-")]
    assert len(staged) == 1 and (out / ".telecom-etl.lock").exists()
    shutil_state = sorted(p.name for p in (out / "pretrain").iterdir())
    assert shutil_state == before["shards"]  # what readers see: the previous run, all 8 shards, nothing else
    code, lines = cli("inspect", str(out), "-n", "0")
    assert f"run {before['run_id']}: report, card and all " in "\n".join(lines)
    proc, _ = start_gated(tmp_path, "none", manifest, out, tag="b")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    after = folder_state(out)  # no staging folder or lock left either
    assert after["shards"] == ["part-00000-of-00001.parquet"]


def test_a_second_build_into_a_folder_in_use_is_one_line(tmp_path, previous_run):
    import socket

    corpus, out, before = copy_of(previous_run, tmp_path)
    manifest = gated_manifest(tmp_path / "m2.yaml", corpus, shard_mb=64)
    first, gate = start_gated(tmp_path, "extract", manifest, out)
    wait_for(gate, "extract", first)
    lock = json.loads((out / ".telecom-etl.lock").read_text())
    assert lock["pid"] == first.pid and lock["host"] == socket.gethostname() and lock["started"].endswith("Z")
    second, _ = start_gated(tmp_path, "none", manifest, out, tag="b")
    _, second_err = second.communicate(timeout=300)
    assert second.returncode == 2
    assert second_err.strip().splitlines() == [
        f"telecom-etl: error: {out} is in use by another run (pid {first.pid} on {lock['host']}, started "
        f"{lock['started']}); wait for it to finish, or remove {out}/.telecom-etl.lock if that run is gone"]
    assert folder_state(out, running=True) == before
    (gate / "go").write_text("")
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err[-2000:]
    assert folder_state(out)["shards"] == ["part-00000-of-00001.parquet"]


def test_a_full_disk_is_one_line_and_leaves_the_previous_run(tmp_path):
    small = make_corpus(tmp_path / "small", files=3, words=200)
    rng = random.Random(7)  # a vocabulary that compresses about as badly as real text, so the shards fill the disk
    vocabulary = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 10)))
                  for _ in range(20000)]
    big = make_corpus(tmp_path / "big", files=40, words=8000, seed=1, vocabulary=vocabulary)
    with mounted_tmpfs(tmp_path / "disk", size="1200k") as disk:
        out = disk / "out"
        proc = build(write_manifest(tmp_path / "m1.yaml", small), out)
        assert proc.returncode == 0, proc.stderr[-2000:]
        before = folder_state(out)
        proc = build(write_manifest(tmp_path / "m2.yaml", big), out)
        assert proc.returncode == 2
        assert proc.stderr.strip().splitlines()[-1] == (
            f"telecom-etl: error: cannot write {out}: No space left on device; {out} left as it was before this run")
        assert "Traceback" not in proc.stderr
        assert folder_state(out) == before


# ---------------------------------------------------------------------------
# 6. paths and ids: relative to the source, the same wherever the corpus sits
# ---------------------------------------------------------------------------

def _build_in_process(manifest, out):
    from telecom_etl.manifest import load_manifest
    from telecom_etl.pipelines.build_pretrain import run

    return run(load_manifest(str(manifest)), str(out), [], progress=False)


def _digests(out) -> dict:
    import hashlib

    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.glob("*/*.parquet")) if p.parent.name != "dedup_index"}


def test_the_same_files_under_another_folder_give_the_same_ids_uris_and_bytes(tmp_path, monkeypatch):
    import shutil

    first = tmp_path / "machine-a" / "corpus"
    make_corpus(first, files=4)
    (first / "empty.txt").write_text("")  # a dropped input: its uri is written too
    (first / "sub").mkdir()
    (first / "sub" / "deeper.txt").write_text("The UPF anchors the PDU session. " * 20)
    second = tmp_path / "elsewhere" / "on" / "machine-b" / "corpus"
    shutil.copytree(first, second)
    outs = []
    for corpus in (first, second):
        monkeypatch.chdir(corpus.parent)  # as a user runs it: relative manifest paths, -o out
        write_manifest(corpus.parent / "m.yaml", "corpus")
        _build_in_process("m.yaml", "out")
        outs.append(corpus.parent / "out")
    rows = [pq.read_table(str(o / "pretrain")).to_pylist() for o in outs]
    assert [(r["id"], r["uri"]) for r in rows[0]] == [(r["id"], r["uri"]) for r in rows[1]]
    assert sorted(r["uri"] for r in rows[0]) == ["notes/doc-000.txt", "notes/doc-001.txt", "notes/doc-002.txt",
                                                 "notes/doc-003.txt", "notes/sub/deeper.txt"]
    skipped = pq.read_table(str(outs[0] / "dropped_inputs")).to_pylist()
    assert [(r["uri"], r["rule"]) for r in skipped] == [("notes/empty.txt", "empty_file")]
    assert _digests(outs[0]) == _digests(outs[1]) and len(_digests(outs[0])) >= 3
    for o in outs:  # nothing names the folder the corpus sat in
        for name in ("README.md", "report.html", "report.json"):
            assert "machine-" not in (o / name).read_text(), name


def test_absolute_uris_only_when_the_manifest_asks_and_ids_stay_the_same(tmp_path):
    corpus = make_corpus(tmp_path / "in", files=2)
    plain = write_manifest(tmp_path / "m1.yaml", corpus)
    absolute = tmp_path / "m2.yaml"
    absolute.write_text(open(plain).read().replace("    kind: text\n", "    kind: text\n    absolute_uris: true\n"))
    _build_in_process(plain, tmp_path / "out1")
    _build_in_process(absolute, tmp_path / "out2")
    one, two = (pq.read_table(str(tmp_path / o / "pretrain")).to_pylist() for o in ("out1", "out2"))
    assert [r["uri"] for r in two] == [os.path.join(corpus, "doc-000.txt"), os.path.join(corpus, "doc-001.txt")]
    assert [r["id"] for r in one] == [r["id"] for r in two]


def test_several_roots_of_one_source_keep_uris_unique():
    from telecom_etl.uris import relative_uri

    roots = ["/data/a/specs", "/data/b/specs", "/data/papers/*.pdf", "gs://bucket/x"]
    assert relative_uri("s", roots, "/data/a/specs/x.docx#clause:4") == "s/specs-0/x.docx#clause:4"
    assert relative_uri("s", roots, "/data/b/specs/x.docx") == "s/specs-1/x.docx"
    assert relative_uri("s", roots, "/data/papers/p.pdf") == "s/papers/p.pdf"
    assert relative_uri("s", roots, "gs://bucket/x/y.pdf") == "gs://bucket/x/y.pdf"
    assert relative_uri("s", ["/data/a/specs"], "/data/a/specs/38_series/x.zip") == "s/38_series/x.zip"


def test_inspect_prints_the_schema_and_never_raw_bytes(tmp_path):
    out = tmp_path / "out"
    proc = build(write_manifest(tmp_path / "m.yaml", make_corpus(tmp_path / "in", files=3)), out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    code, lines = cli("inspect", str(out), "-d", "dedup_index", "-n", "1")
    text = "\n".join(lines)
    assert code == 0 and "  schema (4 columns):" in lines and "signature: binary" in text
    assert "signature: <" in text and " bytes of binary data>" in text
    assert "\\x" not in text and "b'" not in text
    code, lines = cli("inspect", str(out), "-n", "0")
    assert any(ln.startswith("  schema (") for ln in lines)
    run_line = next(ln for ln in lines if ln.startswith("run "))
    assert run_line.endswith("report, card and all 5 shards belong to it")


def _texts_and_strings(out):
    """(file, text) of every file under ``out`` that is not Parquet, and (file, value) of every
    string cell (lists and maps included) of every Parquet file, its schema metadata too."""
    for p in sorted(Path(out).rglob("*")):
        if not p.is_file():
            continue
        name = str(p.relative_to(out))
        if p.suffix != ".parquet":
            yield name, p.read_bytes().decode("utf-8", "replace")
            continue
        pf = pq.ParquetFile(str(p))
        yield name, str(pf.schema_arrow.metadata)
        for row in pf.read().to_pylist():
            yield name, json.dumps(row, default=str)


def test_absolute_paths_given_from_two_folders_reach_no_output_file(tmp_path):
    """Issue 18 item 6: the manifest, -o and the source paths given as absolute paths (and an
    absolute filter path, links with absolute targets): no path of the machine in README.md,
    report.json, report.html, _stats/ or any Parquet string; the same shards, byte for byte,
    from two folders of different depths."""
    import shutil

    outside = tmp_path / "secret-place"
    outside.mkdir()
    (outside / "passwd.txt").write_text("not to be read")
    first = tmp_path / "machine-a" / "work"
    make_corpus(first / "corpus", files=3)
    (first / "corpus" / "empty.txt").write_text("")
    os.symlink(str(outside / "passwd.txt"), first / "corpus" / "leak.txt")  # absolute target, outside
    os.symlink(str(outside / "gone.txt"), first / "corpus" / "broken.txt")  # absolute target, missing
    (first / "terms.txt").write_text("gNB\nUE\nAMF\nSMF\nPUSCH\n")
    second = tmp_path / "elsewhere" / "much" / "deeper" / "machine-b" / "work"
    shutil.copytree(first, second, symlinks=True)
    outs = []
    for base in (first, second):
        manifest = base / "m.yaml"
        manifest.write_text(
            f"version: 1\nname: t\nsources:\n  - name: notes\n    kind: text\n    paths: [{base / 'corpus'}]\n"
            f"filters:\n  profiles:\n    default:\n      - {{name: length, min_chars: 10}}\n"
            f"      - {{name: telecom_keywords, min_density: 0, min_distinct: 0, terms_path: '{base / 'terms.txt'}'}}\n")
        out = base / "published"
        proc = subprocess.run([sys.executable, "-m", "telecom_etl.cli", "build-pretrain", "--no-progress", "-m",
                               str(manifest), "-o", str(out)], capture_output=True, text=True, timeout=600,
                              cwd=str(tmp_path))
        assert proc.returncode == 0, proc.stderr[-2000:]
        outs.append(out)
    for out in outs:
        leaks = [(name, text[max(0, text.find(str(tmp_path)) - 80):text.find(str(tmp_path)) + 120])
                 for name, text in _texts_and_strings(out) if str(tmp_path) in text]
        assert not leaks, leaks[:3]
    readme = (outs[0] / "README.md").read_text()
    assert "from manifest `m.yaml`" in readme and 'load_dataset("published", "pretrain")' in readme
    assert "| notes | text | corpus |" in readme  # run facts: the source path relative to the manifest
    assert "    paths: [corpus]\n" in readme and "terms_path: terms.txt}" in readme  # the manifest as written
    report = json.loads((outs[0] / "report.json").read_text())
    assert (report["manifest"], report["output"], report["sources"]["notes"]["paths"]) == (
        "m.yaml", "published", ["corpus"])
    skipped = {r["uri"]: r["detail"] for r in pq.read_table(str(outs[0] / "dropped_inputs")).to_pylist()}
    assert skipped == {"notes/broken.txt": "link target missing: absolute path .../gone.txt",
                       "notes/empty.txt": "no content",
                       "notes/leak.txt": "link leaves the source root (-> absolute path .../passwd.txt)"}
    assert _digests(outs[0]) == _digests(outs[1]) and len(_digests(outs[0])) >= 3
