"""Git, safely: local checkouts are read, never run; URLs are cloned with git hardened.

A checkout the user points at is untrusted: its ``.git/config`` can name commands
(``core.fsmonitor``, hooks, filters, ``gpg.program`` with ``log.showSignature``, a pager,
``diff.external``...) that git's own commands run. So nothing here runs git inside a
local checkout: the index, HEAD, the commit date and the origin URL are read from the
repository's files with dulwich (a pure-Python git implementation, which executes
nothing when it reads), and the work tree is found by walking up to ``.git`` ourselves.

The git command line only clones URLs, into a fresh folder of our own cache, with every
configuration-driven command switched off (no system config, no fsmonitor, hooks to
``/dev/null``, no ``ext::`` transport).

A git URL (``https://``, ``ssh://``, ``git://``, ``file://``, ``git@host:owner/repo``) is
cloned shallowly (``--depth 1``, one branch, no tags, no submodules) into a temporary
folder of the clone cache and renamed into place when complete, so a killed or failed
clone never leaves a half-made checkout behind and two workers cloning the same URL
do not collide. Every failure is a :class:`GitError` with one line saying what failed;
credentials in URLs never appear in messages or records.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from typing import Dict, List, Optional, Tuple

DEFAULT_TIMEOUT_S = 120.0
_URL = re.compile(r"^(https?|ssh|git|file)://", re.I)
_SCP = re.compile(r"^[\w.-]+@[\w.-]+:(?!//)")  # git@github.com:owner/repo.git


class GitError(Exception):
    """A git command failed; ``str()`` is one line without credentials."""


def is_git_url(path: str) -> bool:
    return bool(_URL.match(path) or _SCP.match(path))


def redact(url: str) -> str:
    """The URL without user:password@ (tokens in https URLs must not reach logs or records)."""
    return re.sub(r"^([a-z][a-z0-9+.-]*://)[^/@]*@", r"\1", url, flags=re.I)


def repo_name(url_or_path: str) -> str:
    """``owner/name`` of a git URL or remote (``name`` when there is no owner)."""
    text = redact(url_or_path.strip()).rstrip("/")
    text = re.sub(r"\.git$", "", text)
    if _SCP.match(text):
        text = text.split(":", 1)[1]
    else:
        text = re.sub(r"^[a-z][a-z0-9+.-]*://[^/]*", "", text, flags=re.I)
    parts = [p for p in text.split("/") if p]
    return "/".join(parts[-2:]) if len(parts) >= 2 else (parts[0] if parts else "repo")


# variables that would point git at another repository or inject configuration (set, for
# instance, when the pipeline runs from a git hook); proxy and certificate settings stay
_REPO_VARS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_NAMESPACE",
              "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_CEILING_DIRECTORIES", "GIT_CONFIG",
              "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT", "GIT_EXEC_PATH", "GIT_TEMPLATE_DIR")


def _env() -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in _REPO_VARS and not k.startswith(("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_"))}
    # never wait for a password: no prompt, no askpass, ssh in batch mode (unless the user set ssh up);
    # no system or global configuration (~/.gitconfig, $XDG_CONFIG_HOME/git/config): a clone or a
    # listing reads only what the command line says (url.insteadOf, fsmonitor, helpers of the user's
    # setup would change what is read or run a command)
    env.update(GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="/bin/false", SSH_ASKPASS="/bin/false",
               GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, LC_ALL="C")
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes -o ConnectTimeout=30")
    return env


# never let a URL or a repository's config run a command: no ext:: transport, no hooks,
# no fsmonitor, no pager, no editor or askpass, filters that do nothing
_SAFE_CONFIG = ["-c", "protocol.ext.allow=never", "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false",
                "-c", "core.pager=cat", "-c", "core.editor=false", "-c", "core.askPass=", "-c", "diff.external=",
                "-c", "log.showSignature=false", "-c", "gpg.program=false", "-c", "core.alternateRefsCommand=",
                "-c", "uploadpack.packObjectsHook="]


def run_git(args: List[str], cwd: Optional[str] = None, timeout: float = DEFAULT_TIMEOUT_S) -> str:
    """stdout of ``git <args>``; raises GitError (non-zero exit, timeout, git missing)."""
    git = shutil.which("git")
    if git is None:
        raise GitError("git is not installed")
    cmd = [git, *_SAFE_CONFIG, *args]
    try:
        # own process group: on timeout the helpers (git-remote-https, index-pack) die too
        proc = subprocess.Popen(cmd, cwd=cwd, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
    except OSError as exc:
        raise GitError(f"cannot run git: {exc.strerror or exc}") from None
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.communicate()
        raise GitError(f"timed out after {timeout:g} s") from None
    if proc.returncode != 0:
        lines = [ln.strip() for ln in err.decode("utf-8", "replace").splitlines() if ln.strip()]
        fatal = [ln for ln in lines if ln.lower().startswith(("fatal:", "error:"))]
        msg = (fatal or lines or [f"exit status {proc.returncode}"])[-1]
        raise GitError(redact_text(msg))
    return out.decode("utf-8", "replace")


def redact_text(text: str) -> str:
    return re.sub(r"([a-z][a-z0-9+.-]*://)[^/@\s]*@", r"\1", text, flags=re.I)


def cache_dir(option: Optional[str] = None) -> str:
    if option:
        return os.path.abspath(os.path.expanduser(option))
    base = os.environ.get("TELECOM_ETL_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "telecom-etl")
    return os.path.join(base, "git")


def clone(url: str, cache: str, ref: Optional[str] = None, timeout: float = DEFAULT_TIMEOUT_S) -> str:
    """Local checkout of ``url`` (at ``ref``, else the default branch) in ``cache``; cloned once.

    A checkout already in the cache is reused as it is (delete it to refresh), so a
    rebuild reads the same commit.
    """
    if url.startswith("-") or (ref or "").startswith("-"):
        raise GitError(f"refusing a URL or ref that starts with '-': {redact(url)}")
    key = hashlib.sha1(f"{redact(url)}\x00{ref or ''}".encode()).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", repo_name(url))[:60]
    dest = os.path.join(cache, f"{name}-{key}")
    if os.path.isdir(os.path.join(dest, ".git")):
        return dest
    os.makedirs(cache, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".clone-{name}-", dir=cache)
    try:
        args = ["clone", "--quiet", "--depth", "1", "--single-branch", "--no-tags", "--no-recurse-submodules"]
        if ref:
            args += ["--branch", ref]
        run_git([*args, "--", url, os.path.join(tmp, "repo")], cwd=tmp, timeout=timeout)
        try:
            os.rename(os.path.join(tmp, "repo"), dest)
        except OSError:
            if not os.path.isdir(os.path.join(dest, ".git")):  # not a concurrent clone that won
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _gitdir_of(folder: str) -> Optional[str]:
    """The control folder of the work tree ``folder``: ``.git/`` or what a ``.git`` file names."""
    dot = os.path.join(folder, ".git")
    if os.path.isdir(dot) and not os.path.islink(dot):
        return dot
    if os.path.isfile(dot) and not os.path.islink(dot):
        try:
            with open(dot, "rb") as f:
                line = f.read(4096).split(b"\n", 1)[0].strip()
        except OSError:
            return None
        if line.startswith(b"gitdir:"):
            target = os.fsdecode(line[len(b"gitdir:"):].strip())
            target = os.path.normpath(os.path.join(folder, target))
            return target if os.path.isdir(target) else None
    return None


def toplevel(path: str, timeout: float = 30) -> Optional[str]:
    """The work tree top level containing ``path``, or None when it is not in a readable git checkout.

    Found like git does (the nearest folder upward holding ``.git``, not crossing into
    another file system), without running git. A ``.git`` file naming a control folder
    that does not exist makes the folder a plain tree.
    """
    if not os.path.isdir(path):
        return None
    here = os.path.realpath(path)
    try:
        device = os.stat(here).st_dev
    except OSError:
        return None
    while True:
        if os.path.lexists(os.path.join(here, ".git")):
            return here if _gitdir_of(here) is not None else None
        parent = os.path.dirname(here)
        if parent == here:
            return None
        try:
            if os.stat(parent).st_dev != device:
                return None
        except OSError:
            return None
        here = parent


def _open(top: str):
    """A dulwich Repo for the work tree ``top`` (reads files only; runs nothing)."""
    from dulwich.repo import Repo  # imported here: only code sources in git checkouts need it

    gitdir = _gitdir_of(top)
    if gitdir is None:
        raise GitError(f"no git repository at {top}")
    try:
        return Repo(top)
    except Exception as exc:  # dulwich raises many kinds for damaged repositories
        raise GitError(f"cannot read the git repository: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return redact_text(text) or type(exc).__name__.replace("Error", " error").strip().lower()


def head_commit(path: str, timeout: float = 30) -> Optional[str]:
    """The commit HEAD names, or None (no commits yet, or HEAD unreadable)."""
    try:
        repo = _open(path)
        sha = repo.head().decode("ascii")
    except Exception:
        return None  # a fresh repository without commits, or a damaged HEAD
    return sha if re.fullmatch(r"[0-9a-f]{40,64}", sha) else None


def commit_date(path: str, timeout: float = 30) -> Optional[str]:
    """ISO date (YYYY-MM-DD) of the HEAD commit in its committer's time zone (git's ``%cs``), or None."""
    import datetime

    try:
        repo = _open(path)
        commit = repo[repo.head()]
        zone = datetime.timezone(datetime.timedelta(seconds=commit.commit_timezone))
        return datetime.datetime.fromtimestamp(commit.commit_time, zone).date().isoformat()
    except Exception:
        return None


def origin_url(path: str, timeout: float = 30) -> Optional[str]:
    try:
        url = _open(path).get_config().get((b"remote", b"origin"), b"url")
    except Exception:
        return None
    url = url.decode("utf-8", "replace").strip() if url else ""
    return redact(url) if url else None


GITLINK, SYMLINK = "160000", "120000"


def tracked_files(top: str, timeout: float = 120) -> Dict[str, str]:
    """{path relative to ``top``: git mode} of the files in the index, read from ``.git/index``."""
    from dulwich.index import ConflictedIndexEntry

    repo = _open(top)
    try:
        index = repo.open_index()
        files = {}
        for name, entry in index.items():
            if isinstance(entry, ConflictedIndexEntry):  # a merge in progress: any stage's mode
                entry = entry.this or entry.other or entry.ancestor
            files[os.fsdecode(name)] = format(entry.mode, "o")
    except GitError:
        raise
    except Exception as exc:
        raise GitError(f"cannot read the git index: {_reason(exc)}") from None
    return files


def is_bare_repository(path: str) -> bool:
    """A bare repository folder (``repo.git`` with HEAD, objects/ and refs/, no work tree)."""
    return (os.path.isfile(os.path.join(path, "HEAD")) and os.path.isdir(os.path.join(path, "objects"))
            and os.path.isdir(os.path.join(path, "refs")) and not os.path.exists(os.path.join(path, ".git")))


def split_ref(path: str) -> Tuple[str, Optional[str]]:
    """``url#ref`` -> (url, ref); a URL without ``#`` has no ref."""
    if "#" in path and is_git_url(path):
        url, _, ref = path.rpartition("#")
        return url, ref or None
    return path, None
