"""A git repository whose configuration names a command at every point git can run one.

Each command is a small script that, if anything ever runs it, leaves a marker file named
after the configuration key in ``markers/``. Tests scan such a repository and then check
that ``markers/`` is still empty.
"""
from __future__ import annotations

import os
import stat
import subprocess
from typing import List

# every git hook name (githooks(5), git 2.39-2.47)
HOOKS = ["applypatch-msg", "pre-applypatch", "post-applypatch", "pre-commit", "pre-merge-commit",
         "prepare-commit-msg", "commit-msg", "post-commit", "pre-rebase", "post-checkout", "post-merge",
         "pre-push", "pre-receive", "update", "proc-receive", "post-receive", "post-update",
         "reference-transaction", "push-to-checkout", "pre-auto-gc", "post-rewrite", "sendemail-validate",
         "fsmonitor-watchman", "p4-changelist", "p4-prepare-changelist", "p4-post-changelist", "p4-pre-submit",
         "post-index-change"]

# configuration keys whose value git runs as a command (git-config(1)); (section, key)
COMMAND_KEYS = [
    ("core", "fsmonitor"), ("core", "pager"), ("core", "editor"), ("core", "askPass"), ("core", "sshCommand"),
    ("core", "gitProxy"), ("core", "alternateRefsCommand"), ("sequence", "editor"), ("diff", "external"),
    ('diff "evil"', "textconv"), ('diff "evil"', "command"), ('filter "evil"', "clean"),
    ('filter "evil"', "smudge"), ('filter "evil"', "process"), ('merge "evil"', "driver"),
    ("credential", "helper"), ("gpg", "program"), ('gpg "ssh"', "program"), ('gpg "x509"', "program"),
    ("uploadpack", "packObjectsHook"), ('pager', "ls-files"), ('pager', "log"), ('pager', "config"),
    ('pager', "rev-parse"), ("alias", "lsf"), ('remote "origin"', "uploadpack"), ('remote "origin"', "receivepack"),
    ('remote "origin"', "proxy"), ("http", "proxy"), ("instaweb", "httpd"), ("web", "browser"),
    ("sendemail", "smtpServer"), ('mergetool "evil"', "cmd"), ('difftool "evil"', "cmd"), ("merge", "tool"),
    ("core", "hookspath"),
]


def _git(cwd: str, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.org", GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null")
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def _script(folder: str, name: str, markers: str) -> str:
    path = os.path.join(folder, name)
    with open(path, "w") as fh:
        fh.write(f"#!/bin/sh\ntouch '{markers}/{name}'\ncat >/dev/null 2>&1 </dev/null\nexit 0\n")
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def markers_left(markers: str) -> List[str]:
    return sorted(os.listdir(markers)) if os.path.isdir(markers) else []


def make_hostile_repo(root: str, markers: str, bare_copy: str = "") -> str:
    """A committed checkout at ``root`` (files under ``src/``) whose config runs scripts everywhere.

    With ``bare_copy``, also a bare clone there carrying the same hostile configuration.
    """
    os.makedirs(markers, exist_ok=True)
    tools = os.path.join(os.path.dirname(markers.rstrip("/")), "evil-tools")
    hooks = os.path.join(tools, "hooks")
    os.makedirs(hooks, exist_ok=True)
    os.makedirs(os.path.join(root, "src"), exist_ok=True)
    with open(os.path.join(root, "src", "rrc_timers.c"), "w") as fh:
        fh.write("/* T300 handling, TS 38.331 clause 7.1 */\nint t300_ms = 1000;\n"
                 "int rrc_start_t300(int now) { return now + t300_ms; }\n")
    with open(os.path.join(root, "README.md"), "w") as fh:
        fh.write("RRC timer helpers used by the link simulator.\n")
    with open(os.path.join(root, ".gitattributes"), "w") as fh:
        fh.write("* filter=evil diff=evil merge=evil\n")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "sample")

    def poison(gitdir: str) -> None:
        for hook in HOOKS:
            _script(hooks, hook, markers)
            os.makedirs(os.path.join(gitdir, "hooks"), exist_ok=True)
            _script(os.path.join(gitdir, "hooks"), hook, markers)
        lines = []
        for section, key in COMMAND_KEYS:
            name = f"{section.replace(' ', '.').replace(chr(34), '')}.{key}"
            value = hooks if key == "hookspath" else _script(tools, name, markers)
            if section == "alias":  # an alias runs a shell command when it starts with '!'
                value = "!" + value
            lines.append(f"[{section}]\n\t{key} = {value}\n")
        lines.append("[log]\n\tshowSignature = true\n[commit]\n\tgpgSign = true\n[core]\n\tuntrackedCache = true\n")
        lines.append(f"[include]\n\tpath = {os.path.join(tools, 'included.config')}\n")
        with open(os.path.join(tools, "included.config"), "w") as fh:
            fh.write(f"[core]\n\tfsmonitor = {_script(tools, 'included.core.fsmonitor', markers)}\n")
        with open(os.path.join(gitdir, "config"), "a") as fh:
            fh.write("".join(lines))

    if bare_copy:
        _git(os.path.dirname(bare_copy), "clone", "-q", "--bare", root, bare_copy)
        poison(bare_copy)
    poison(os.path.join(root, ".git"))
    return root
