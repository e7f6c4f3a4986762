"""An output folder you can trust after any mistake or interruption.

Every command that writes an output folder (``build-pretrain``, ``synth-instructions``,
``synth-preferences``) goes through :class:`RunFolder`:

1. **Preflight** (:func:`preflight`, also run by ``--check``): the location is proven
   usable before any work, by writing and removing a probe file through the same layer
   the pipeline writes with (:mod:`telecom_etl.io`: the OS for local paths, Beam's
   FileSystems for ``gs://``). A location that is a file, under a file, or not writable
   is one :class:`OutputError` line.
2. **Lock** (:class:`RunLock`): ``OUT/.telecom-etl.lock`` names the host, pid and start
   time of the run holding the folder. A second run into the folder is one line; the lock
   of a process that no longer runs (same host) is taken over, with a note saying so.
3. **Staging and commit**: the run writes everything into ``OUT/.run-TOKEN/``; only when it
   has finished does :meth:`RunFolder.commit` put its entries in place of the previous
   run's (each entry is one rename on a local disk), after writing a journal
   (``OUT/.commit.json``) so that a commit cut short by a kill is completed by the next run.
   Until then the visible entries are the previous run's, whole; a failed or interrupted
   run removes its staging folder and leaves them as they were.
4. **Interrupts**: SIGINT/SIGTERM end the run with one line saying what the folder holds,
   exit status 130/143, no traceback; a signal that comes during the commit waits for it.

The run id (:func:`run_id`) is derived from what the run reads and how it is configured,
not from the clock, so the same inputs and settings still give the same bytes; the report,
the card and every shard's Parquet metadata carry it, and ``telecom-etl inspect`` checks
that they agree.
"""
from __future__ import annotations

import contextlib
import datetime
import errno
import hashlib
import json
import os
import re
import signal
import socket
import sys
import uuid
from typing import Iterable, List, Optional

from telecom_etl import io

LOCK_NAME = ".telecom-etl.lock"
JOURNAL_NAME = ".commit.json"
STAGING_PREFIX = ".run-"
OLD_PREFIX = ".old-"
RUN_ID_KEY = "telecom_etl.run_id"  # key of the run id in the shards' Parquet metadata


class OutputError(Exception):
    """The output location cannot be used, or a run into it failed: one line."""


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    inner = getattr(exc, "exception_details", None)  # Beam's BeamIOError: {path: exception}
    if isinstance(inner, dict) and inner:
        return _reason(next(iter(inner.values())))
    text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    m = re.search(r"\[Errno \d+\] ([^\]\['\"]+?)(?::\s*'|\s*\[|$)", text)
    return m.group(1).strip() if m else text


# ---------------------------------------------------------------------------
# preflight
# ---------------------------------------------------------------------------

def preflight(output: str, keep_created: bool = True) -> None:
    """Prove ``output`` can be written: create it if needed, write and remove a probe.

    With ``keep_created=False`` (``--check``) folders made for the probe are removed again.
    """
    created: List[str] = []
    if not io.has_scheme(output):
        path = os.path.abspath(output[len("file://"):] if output.startswith("file://") else output)
        if os.path.exists(path) and not os.path.isdir(path):
            raise OutputError(f"output {output} is a file, not a folder")
        ancestor = os.path.dirname(path)
        while not os.path.exists(ancestor):
            ancestor = os.path.dirname(ancestor)
        if not os.path.isdir(ancestor):
            raise OutputError(f"output {output} cannot be created: {ancestor} is a file")
        missing, p = [], path
        while not os.path.exists(p):
            missing.append(p)
            p = os.path.dirname(p)
        for folder in reversed(missing):
            try:
                os.mkdir(folder)
            except FileExistsError:
                continue
            except OSError as exc:
                for made in reversed(created):
                    with contextlib.suppress(OSError):
                        os.rmdir(made)
                raise OutputError(f"output folder {output} cannot be created: {os.path.dirname(folder)} is not "
                                  f"writable ({_reason(exc)})") from None
            created.append(folder)
    probe = io.join(output, f".telecom-etl-probe-{uuid.uuid4().hex}")
    try:
        try:
            io.write_bytes_atomic(probe, b"telecom-etl write probe\n")
            io.remove(probe)
        except Exception as exc:  # OSError locally, BeamIOError (or the store's own) remotely
            raise OutputError(f"output folder {output} is not writable: {_reason(exc)}") from None
    finally:
        if not keep_created:
            for made in reversed(created):
                with contextlib.suppress(OSError):
                    os.rmdir(made)


# ---------------------------------------------------------------------------
# the lock
# ---------------------------------------------------------------------------

def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunLock:
    """``OUT/.telecom-etl.lock``: one run at a time in an output folder."""

    def __init__(self, output: str, command: str):
        self.output, self.command = output, command
        self.path = io.join(output, LOCK_NAME)
        self.held = False
        self.note: Optional[str] = None  # set when a stale lock was taken over

    def _content(self) -> bytes:
        return json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "started": _now(),
                           "command": self.command}, sort_keys=True).encode() + b"\n"

    def _read(self) -> Optional[dict]:
        try:
            data = json.loads(io.read_bytes(self.path, 1 << 16))
            return data if isinstance(data, dict) else {}
        except Exception:  # vanished meanwhile, or damaged
            return None if not io.exists(self.path) else {}

    def _create(self) -> bool:
        """Create the lock file if there is none; False when one exists."""
        if io.has_scheme(self.path):  # object stores have no exclusive create: check, then write
            if io.exists(self.path):
                return False
            io.write_bytes_atomic(self.path, self._content())
            return True
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, io.file_mode())
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as fh:
            fh.write(self._content())
        return True

    def acquire(self) -> None:
        for _ in range(3):
            if self._create():
                self.held = True
                return
            held = self._read()
            if held is None:  # released between our two looks
                continue
            host, pid = held.get("host"), held.get("pid")
            who = f"pid {pid} on {host}, started {held.get('started', '?')}"
            if host == socket.gethostname() and isinstance(pid, int) and not _alive(pid):
                with contextlib.suppress(Exception):
                    io.remove(self.path)
                self.note = (f"took over the lock of {self.output} left by a run that is no longer running "
                             f"({who})")
                continue
            raise OutputError(f"{self.output} is in use by another run ({who}); wait for it to finish, or remove "
                              f"{self.path} if that run is gone")
        raise OutputError(f"{self.output}: could not take the lock {self.path}")

    def release(self) -> None:
        if self.held:
            self.held = False
            with contextlib.suppress(Exception):
                io.remove(self.path)


# ---------------------------------------------------------------------------
# run ids
# ---------------------------------------------------------------------------

def run_id(*parts) -> str:
    """A run id from what the run reads and how it is configured (JSON-able parts), not the time."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha1(blob).hexdigest()[:16]


# ---------------------------------------------------------------------------
# staging, commit, interrupts
# ---------------------------------------------------------------------------

class Interrupted(BaseException):
    """Raised in the main thread by SIGINT/SIGTERM (a BaseException: nothing swallows it)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class RunFolder:
    """One run into ``output``: preflight, lock, a staging folder, then a commit of ``entries``.

    ``entries`` are the top-level names a run of the command owns (``pretrain``,
    ``report.json``, ``README.md``...): the commit replaces all of them, and removes those
    of the previous run that this run did not write. Anything else in the folder (a teacher
    cache, the user's own files) is left alone.
    """

    def __init__(self, output: str, entries: Iterable[str], command: str):
        self.output = output.rstrip("/") if len(output) > 1 else output
        self.entries = list(entries)
        self.command = command
        self.lock = RunLock(self.output, command)
        self.token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.staging = io.join(self.output, STAGING_PREFIX + self.token)
        self.committed = False
        self._committing = False
        self._pending_signal: Optional[int] = None
        self._old_handlers: dict = {}
        self.notes: List[str] = []
        self._pid = os.getpid()

    # -- lifecycle ---------------------------------------------------------
    def __enter__(self) -> "RunFolder":
        preflight(self.output)
        self.lock.acquire()
        if self.lock.note:
            self.notes.append(self.lock.note)
        try:
            self._recover()
            io.makedirs(self.staging)
        except BaseException:
            self.lock.release()
            raise
        self._install_handlers()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        self._restore_handlers()
        try:
            if not self.committed:
                self._discard()
        finally:
            self.lock.release()
        if exc is None or self.committed:
            return False
        if isinstance(exc, Interrupted):
            return False
        reason = failure_reason(exc)
        if reason is not None:
            raise OutputError(f"cannot write {self.output}: {reason}; {self.state_line()}") from None
        return False

    def state_line(self) -> str:
        return f"{self.output} left as it was before this run"

    def interrupted_line(self) -> str:
        if self.committed:
            return f"interrupted: {self.output} holds this run's complete output (the signal came as it was committed)"
        return f"interrupted: {self.state_line()}"

    # -- signals -------------------------------------------------------------
    def _install_handlers(self) -> None:
        import threading

        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._old_handlers[signum] = signal.signal(signum, self._on_signal)

    def _restore_handlers(self) -> None:
        for signum, handler in self._old_handlers.items():
            signal.signal(signum, handler)
        self._old_handlers = {}

    def _on_signal(self, signum, frame) -> None:
        if os.getpid() != self._pid:  # a forked child (isolated extraction) inherited this handler: just end
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        if self._committing:
            self._pending_signal = signum
            return
        # End now: Beam's threads and worker processes would turn an exception raised here
        # into pages of tracebacks, or swallow it. Nothing visible has been touched.
        self._restore_handlers()
        with contextlib.suppress(BaseException):
            self._discard()
        self.lock.release()
        print(f"telecom-etl: {self.interrupted_line()}", file=sys.stderr, flush=True)
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        os._exit(128 + signum)

    # -- staging -----------------------------------------------------------
    def _discard(self) -> None:
        io.remove_tree(self.staging)

    def _recover(self) -> None:
        """Finish a commit cut short (journal present), then clear what killed runs left."""
        journal = io.join(self.output, JOURNAL_NAME)
        if io.exists(journal):
            try:
                plan = json.loads(io.read_bytes(journal, 1 << 20))
            except Exception:
                plan = None
            if isinstance(plan, dict) and plan.get("staging"):
                self._apply(plan)
                self.notes.append(f"completed the commit of an interrupted run into {self.output} "
                                  f"(run {plan.get('run_id', '?')})")
            io.remove(journal)
        for path in io.listdir(self.output):
            name = path.rstrip("/").rsplit("/", 1)[-1]
            if name.startswith((STAGING_PREFIX, OLD_PREFIX, ".telecom-etl-probe-")):
                io.remove_tree(path)
        if io.has_scheme(self.output):  # object stores list keys, not folders
            from apache_beam.io.filesystems import FileSystems

            found = FileSystems.match([io.join(self.output, "**")])[0].metadata_list
            stale = [m.path for m in found
                     if m.path[len(self.output) + 1:].startswith((STAGING_PREFIX, OLD_PREFIX))]
            if stale:
                FileSystems.delete(stale)

    def commit(self, run: Optional[str] = None) -> None:
        """Put the staged entries in place of the previous run's; remove the rest of the previous run's."""
        written = [e for e in self.entries if io.tree_exists(io.join(self.staging, e))]
        plan = {"run_id": run, "staging": STAGING_PREFIX + self.token, "old": OLD_PREFIX + self.token,
                "written": written, "entries": self.entries}
        self._committing = True
        try:
            io.write_bytes_atomic(io.join(self.output, JOURNAL_NAME), json.dumps(plan, sort_keys=True).encode())
            self._apply(plan)
            io.remove(io.join(self.output, JOURNAL_NAME))
            self.committed = True
        finally:
            self._committing = False
        if self._pending_signal is not None:
            signum = self._pending_signal
            self.lock.release()
            print(f"telecom-etl: {self.interrupted_line()}", file=sys.stderr, flush=True)
            raise Interrupted(signum)

    def _apply(self, plan: dict) -> None:
        """Idempotent: running it again after a kill at any point ends in the same folder."""
        staging = io.join(self.output, plan["staging"])
        old = io.join(self.output, plan["old"])
        for entry in plan["written"]:
            new = io.join(staging, entry)
            if not io.tree_exists(new):
                continue  # already moved in
            current = io.join(self.output, entry)
            if io.tree_exists(current):
                io.move_tree(current, io.join(old, entry))
            io.move_tree(new, current)
        for entry in plan["entries"]:
            if entry not in plan["written"]:
                current = io.join(self.output, entry)
                if io.tree_exists(current):
                    io.move_tree(current, io.join(old, entry))
        io.remove_tree(old)
        io.remove_tree(staging)


def failure_reason(exc: BaseException) -> Optional[str]:
    """Why a run failed writing (full disk, read-only, permission), else None (a bug: keep its traceback)."""
    seen = set()
    todo = [exc]
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in WRITE_ERRNOS:
            return e.strerror or os.strerror(e.errno)
        details = getattr(e, "exception_details", None)  # BeamIOError
        if isinstance(details, dict):
            todo += list(details.values())
        todo += [e.__cause__, e.__context__]
    m = re.search(r"\[Errno (\d+)\] ([^\]\['\"\n:]+)", str(exc))
    if m and int(m.group(1)) in WRITE_ERRNOS:
        return m.group(2).strip()
    return None


WRITE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.EFBIG, errno.EIO}


# ---------------------------------------------------------------------------
# checking a folder (telecom-etl inspect)
# ---------------------------------------------------------------------------

def _card_run_id(output: str) -> Optional[str]:
    path = io.join(output, "README.md")
    if not io.exists(path):
        return None
    m = re.search(r", run `([0-9a-f]+)`", io.read_bytes(path, 16 << 20).decode("utf-8", "replace"))
    return m.group(1) if m else ""


def shard_run_id(path: str) -> Optional[str]:
    import pyarrow.parquet as pq

    if io.has_scheme(path):
        from apache_beam.io.filesystems import FileSystems

        with FileSystems.open(path) as fh:
            meta = pq.read_schema(fh).metadata or {}
    else:
        meta = pq.read_schema(path).metadata or {}
    value = meta.get(RUN_ID_KEY.encode())
    return value.decode() if value is not None else None


def folder_problems(output: str, report: dict, shards: Iterable[str]) -> List[str]:
    """What says the files of ``output`` are not one run's: [] when report, card and shards agree.

    ``shards`` are the Parquet files found in the folder's datasets."""
    problems = []
    if io.exists(io.join(output, JOURNAL_NAME)):
        problems.append(f"a run's commit was cut short ({JOURNAL_NAME} is there): the next run into {output} "
                        "completes it")
    rid = report.get("run_id")
    if not rid:  # a folder of an older telecom-etl, or of a command that stamps no run id: nothing to compare
        return problems
    card = _card_run_id(output)
    if card is not None and card != rid:
        problems.append(f"README.md is of run {card or '(none)'}, report.json of run {rid}")
    others: dict = {}
    for path in shards:
        got = shard_run_id(path)
        if got != rid:
            others.setdefault(got or "(none)", []).append(path[len(output):].lstrip("/"))
    for other, paths in sorted(others.items()):
        problems.append(f"{len(paths)} shard(s) of run {other}, not the report's run {rid}: {', '.join(paths[:3])}"
                        + (" ..." if len(paths) > 3 else ""))
    listed = set(report.get("shards") or {})
    present = {p.rsplit("/", 1)[-1] for p in shards if "/pretrain/" in p or p.startswith("pretrain/")}
    if listed and present and present != listed:
        problems.append(f"pretrain/ holds {len(present)} shard(s), the report lists {len(listed)}")
    return problems
