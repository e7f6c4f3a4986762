"""Scanning a stranger's git checkout never runs a command its configuration names.

The repository of tests/faults/hostile_git.py names a marker-writing script for every
hook and every command-valued configuration key git has; after listing and extracting it
(top level, a subfolder, a glob, a bare copy cloned from file://, a whole build) no marker
may exist. A control run of plain ``git ls-files`` in the same repository shows that the
configuration is live (its fsmonitor fires), so the test would catch a regression.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from telecom_etl.extractors.coderepo import git as gitmod
from telecom_etl.manifest import load_manifest
from telecom_etl.pipelines.build_pretrain import run
from test_code_repo import git, run_all, source

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "faults"))
from hostile_git import make_hostile_repo, markers_left  # noqa: E402

pytestmark = pytest.mark.faults


@pytest.fixture
def hostile(tmp_path):
    markers = str(tmp_path / "markers")
    repo = make_hostile_repo(str(tmp_path / "checkout"), markers, bare_copy=str(tmp_path / "mirror.git"))
    return repo, markers


def _docs(outcome):
    return sorted(os.path.basename(k) for k, v in outcome.items() if v == "doc")


def test_listing_and_extracting_a_hostile_checkout_runs_nothing(hostile, tmp_path):
    repo, markers = hostile
    for paths in ([repo], [os.path.join(repo, "src")], [os.path.join(repo, "src", "*.c")],
                  ["file://" + str(tmp_path / "mirror.git")], [str(tmp_path / "mirror.git")]):
        outcome, docs = run_all(source(paths, clone_cache=str(tmp_path / "cache")))
        assert "rrc_timers.c" in _docs(outcome), (paths, outcome)
        assert markers_left(markers) == [], paths
    # the git metadata still comes through, read from the files
    outcome, docs = run_all(source([repo]))
    assert docs["src/rrc_timers.c"].commit == git(repo, "rev-parse", "HEAD")
    assert markers_left(markers) == []


def test_the_hostile_configuration_is_live_for_plain_git(hostile):
    """Control: the old way (git ls-files in the checkout) runs the checkout's fsmonitor."""
    repo, markers = hostile
    subprocess.run(["git", "-c", "safe.directory=*", "ls-files"], cwd=repo, capture_output=True,
                   env=dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null"))
    assert any(m.endswith("core.fsmonitor") for m in markers_left(markers)), markers_left(markers)


def test_a_whole_build_over_a_hostile_checkout_runs_nothing(hostile, tmp_path):
    repo, markers = hostile
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(f"version: 1\nname: hostile\nsources:\n  - name: ran\n    kind: code\n    paths: [{repo}]\n"
                        f"  - name: mirror\n    kind: code\n    paths: ['file://{tmp_path}/mirror.git']\n"
                        f"    options: {{clone_cache: {tmp_path}/cache}}\ndedup:\n  near: false\n")
    report = run(load_manifest(str(manifest)), str(tmp_path / "out"), [], progress=False)
    assert report["stages"]["extract"]["by_source"]["ran"]["kept"] >= 1
    assert markers_left(markers) == []


def test_index_head_date_and_origin_are_read_like_git_reads_them(tmp_path):
    repo = tmp_path / "repo"
    os.makedirs(repo / "src" / "sub dir")
    (repo / "src" / "a.c").write_text("int a;\n")
    (repo / "src" / "sub dir" / "b é.c").write_text("int b;\n")
    os.symlink("a.c", repo / "src" / "link.c")
    git(repo, "init", "-q")
    git(repo, "remote", "add", "origin", "https://user:token@example.org/o/stack.git")
    git(repo, "add", "-A")
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.org", GIT_COMMITTER_DATE="2024-03-01T23:30:00 -0500",
               GIT_AUTHOR_DATE="2024-03-01T23:30:00 -0500")
    subprocess.run(["git", "commit", "-q", "-m", "x"], cwd=repo, env=env, check=True)
    for version in ("2", "3", "4"):
        git(repo, "update-index", "--index-version", version)
        listed = {}
        for line in git(repo, "ls-files", "-z", "--stage").split("\0"):
            if line:
                meta, _, path = line.partition("\t")
                listed[path] = meta.split(" ", 1)[0]
        assert gitmod.tracked_files(str(repo)) == listed, version
    assert gitmod.tracked_files(str(repo))["src/link.c"] == gitmod.SYMLINK
    assert gitmod.head_commit(str(repo)) == git(repo, "rev-parse", "HEAD")
    assert gitmod.commit_date(str(repo)) == git(repo, "log", "-1", "--format=%cs") == "2024-03-01"
    assert gitmod.origin_url(str(repo)) == "https://example.org/o/stack.git"
    assert gitmod.toplevel(str(repo / "src" / "sub dir")) == os.path.realpath(repo)


def test_a_dot_git_file_naming_a_missing_gitdir_is_a_plain_tree(tmp_path):
    tree = tmp_path / "vendor-copy"
    os.makedirs(tree / "src")
    (tree / "src" / "x.c").write_text("/* PDCP COUNT wrap-around handling */\nint pdcp_count;\n")
    (tree / ".git").write_text("gitdir: ../../somewhere/else/.git/worktrees/x\n")
    assert gitmod.toplevel(str(tree)) is None
    outcome, _ = run_all(source([str(tree)]))
    assert _docs(outcome) == ["x.c"]


def test_a_linked_worktree_is_read_through_its_gitdir_file(tmp_path):
    main = tmp_path / "main"
    os.makedirs(main)
    (main / "f.c").write_text("int f;\n")
    git(main, "init", "-q")
    git(main, "add", "-A")
    git(main, "commit", "-q", "-m", "x")
    git(main, "worktree", "add", "-q", str(tmp_path / "wt"), "-b", "wt")
    assert gitmod.tracked_files(str(tmp_path / "wt")) == {"f.c": "100644"}
    assert gitmod.head_commit(str(tmp_path / "wt")) == git(main, "rev-parse", "HEAD")


def test_clones_ignore_the_users_global_git_config(tmp_path, monkeypatch):
    """Issue 19 item 1: no global config either (GIT_CONFIG_GLOBAL=/dev/null, as GIT_CONFIG_NOSYSTEM
    for the system one). A global ``url.insteadOf`` here redirects the clone to another repository
    (a ~/.gitconfig could as well name an fsmonitor, a credential helper or a pager)."""
    repos = {}
    for name in ("wanted", "decoy"):
        repo = tmp_path / name
        repo.mkdir()
        (repo / f"{name}.py").write_text(f"NAME = {name!r}\n")
        git(repo, "init", "-q")
        git(repo, "add", f"{name}.py")
        git(repo, "commit", "-qm", name)
        repos[name] = repo
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(f'[url "file://{repos["decoy"]}"]\n\tinsteadOf = file://{repos["wanted"]}\n')
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    # control: plain git reads that global config
    assert git(tmp_path, "config", "--global", "--get-regexp", "insteadof").endswith(f"file://{repos['wanted']}")
    with pytest.raises(gitmod.GitError):  # and the toolkit's git does not
        gitmod.run_git(["config", "--global", "--get-regexp", "insteadof"])
    outcome, _ = run_all(source([f"file://{repos['wanted']}"], clone_cache=str(tmp_path / "cache")))
    assert _docs(outcome) == ["wanted.py"], outcome
