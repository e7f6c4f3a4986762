"""Extraction of untrusted inputs where it can be stopped: a child process with a memory limit and a deadline.

A parser fed a hostile file can run for hours or take all memory (a docx with 200 MB of
XML took 5.4 GB, one 150 MB text node 9.9 GB), and a thread cannot be stopped: the old
``extract_timeout_s`` abandoned the thread but its work went on. Here each input is
extracted in a child process:

* the child is forked once, on first use, and then serves input after input (one per
  owner: a Beam DoFn instance, so one per Beam worker thread), so a run pays one fork
  (milliseconds, pages shared copy-on-write), not a process per file;
* its address space may grow :attr:`Limits.memory_mb` past what it had when forked
  (``RLIMIT_AS``): an input over it fails with ``MemoryError`` inside the child, or the
  child dies; either way that input fails with one line and a fresh child takes the next;
* an input still running after :attr:`Limits.timeout_s` gets the child killed (SIGKILL)
  and fails with one line; the next input gets a fresh child;
* a :class:`Pool` keeps up to ``extract_workers`` such children busy at once, one input
  each, so one process uses several cores for extraction (most of a build's CPU);
* records and characters per input are capped (:func:`extract_capped`), in the child or
  in process alike, and a refusal names the cap.

Where ``fork`` does not exist (Windows) or ``extract_isolation: false``, extraction runs
in process with the caps (and Beam's thread timeout as before).
"""
from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from typing import Dict, List, Optional

from telecom_etl.outcome import StageFailure, readable_reason
from telecom_etl.record import Document

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one input may cost. ``None`` switches a limit off."""

    timeout_s: Optional[float] = 600.0
    memory_mb: Optional[float] = 4096.0
    max_records: int = 20_000
    max_chars: int = 100_000_000


def extract_capped(kind, item, limits: Limits) -> list:
    """Every output of ``kind.extract(item)``; refuses the input once it passes a cap
    (a 760 KB zip made 90,001 records; a 31 MB docx one record of 186 million characters)."""
    out, records, chars = [], 0, 0
    for piece in kind.extract(item):
        if isinstance(piece, Document):
            records += 1
            chars += len(piece.text)
            if records > limits.max_records:
                raise StageFailure(f"input makes more than {limits.max_records:,} records "
                                   "(the source's max_records_per_file)")
            if chars > limits.max_chars:
                raise StageFailure(f"input makes more than {limits.max_chars:,} characters of text "
                                   "(the source's max_chars_per_file)")
        out.append(piece)
    return out


def available() -> bool:
    return hasattr(os, "fork")


def _vm_size() -> Optional[int]:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _leave_the_parents_runtime() -> None:
    """In a freshly forked child: only the forking thread survived, so nothing may touch
    what the parent's other threads were using. In a Beam SDK worker (multi-process or
    portable runner) that is gRPC: the root logger's handler ships records over its channel,
    and collecting inherited gRPC objects runs their finalisers; either can abort the child
    on a lock a vanished thread held (seen: SIGABRT, "Mutex::Fer with pending CondVar")."""
    import gc
    import logging
    import sys

    gc.freeze()  # objects inherited from the parent are never collected (or finalised) here
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(logging.StreamHandler(sys.stderr))


def _serve(conn, kinds: Dict[str, object], memory_mb: Optional[float]) -> None:
    """The child's loop: (item, limits) in, ("ok", outputs) or ("fail", reason) out."""
    import resource

    _leave_the_parents_runtime()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    base = _vm_size()
    if memory_mb and base is not None:
        soft = base + int(memory_mb * MiB)
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard == resource.RLIM_INFINITY or soft < hard:
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        item, limits = msg
        out = None
        try:
            out = extract_capped(kinds[item.source], item, limits)
            reply = ("ok", out)
        except MemoryError:
            out = None
            reply = ("oom", f"extraction ran out of its memory limit ({memory_mb:,.0f} MiB, extract_memory_mb)")
        except BaseException as exc:  # noqa: BLE001 - every failure becomes the input's reason
            reply = ("fail", readable_reason(exc))
        try:
            conn.send(reply)
        except MemoryError:
            out = reply = None
            conn.send(("oom", f"extraction ran out of its memory limit ({memory_mb:,.0f} MiB, extract_memory_mb) "
                              "while handing over its records"))
            return
        except Exception as exc:  # noqa: BLE001 - e.g. a record that cannot be pickled
            conn.send(("fail", f"cannot hand over the extracted records: {readable_reason(exc)}"))
        if reply[0] == "oom":
            return  # a fresh child for the next input: this heap may be fragmented


class Isolated:
    """A long-lived child process that extracts inputs of the given source kinds."""

    def __init__(self, kinds: Dict[str, object], memory_mb: Optional[float]):
        self.kinds, self.memory_mb = kinds, memory_mb
        self.pid: Optional[int] = None
        self.conn = None

    # -- the child ------------------------------------------------------------------
    def _start(self) -> None:
        from multiprocessing import Pipe

        parent, child = Pipe()
        pid = os.fork()
        if pid == 0:  # the child: serve, then leave without running the parent's exit handlers
            code = 0
            try:
                parent.close()
                _serve(child, self.kinds, self.memory_mb)
            except BaseException:  # noqa: BLE001
                code = 1
            finally:
                os._exit(code)
        child.close()
        self.pid, self.conn = pid, parent

    def _alive(self) -> bool:
        if self.pid is None:
            return False
        try:
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            pid = self.pid
        if pid == 0:
            return True
        self._forget()
        return False

    def _forget(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.pid = self.conn = None

    def _kill(self) -> Optional[int]:
        """Stop the child now; its wait status (None when already reaped)."""
        status = None
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                _, status = os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
        self._forget()
        return status

    def _death(self) -> str:
        status = self._kill()
        if status is not None and os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            name = signal.Signals(sig).name if sig in signal.valid_signals() else str(sig)
            if sig == signal.SIGKILL:
                return "extraction was killed (SIGKILL: out of memory?)"
            return (f"extraction crashed ({name}); a parser over its memory limit "
                    f"({self.memory_mb or 0:,.0f} MiB, extract_memory_mb) often ends so")
        code = os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else "?"
        return f"extraction process ended unexpectedly (exit status {code})"

    # -- the parent's side ------------------------------------------------------------
    def send(self, item, limits: Limits) -> None:
        """Hand ``item`` to the child (started or replaced as needed); raises StageFailure."""
        if not self._alive():
            self._start()
        try:
            self.conn.send((item, limits))
        except (BrokenPipeError, ConnectionResetError, EOFError):
            raise StageFailure(self._death()) from None

    def receive(self) -> list:
        """The outputs of the input handed over last (its reply is ready or coming)."""
        try:
            status, payload = self.conn.recv()
        except (EOFError, OSError):
            raise StageFailure(self._death()) from None
        if status == "ok":
            return payload
        if status == "oom":
            self._kill()
        raise StageFailure(payload)

    def stop_late(self, limits: Limits) -> StageFailure:
        """Kill the child at the deadline; the failure of its input."""
        self._kill()
        return StageFailure(f"extraction still running after {limits.timeout_s:g} s (extract_timeout_s): stopped")

    def extract(self, item, limits: Limits) -> list:
        self.send(item, limits)
        if not self.conn.poll(limits.timeout_s):
            raise self.stop_late(limits)
        return self.receive()

    def close(self) -> None:
        if self.pid is None:
            return
        try:
            self.conn.send(None)
        except OSError:
            pass
        self._kill()


class Pool:
    """Up to ``size`` children, each with one input in flight (``extract_workers``).

    :meth:`submit` hands an input to an idle child; :meth:`completed` returns the inputs
    that have finished as ``(key, outputs)`` or ``(key, StageFailure)``, waiting for the
    first when asked to. Every child keeps its own memory limit, each input its own
    deadline (counted from its hand-over); a killed or dead child is replaced on its next input.
    """

    def __init__(self, kinds: Dict[str, object], memory_mb: Optional[float], size: int):
        self.children = [Isolated(kinds, memory_mb) for _ in range(max(1, size))]
        self.busy: Dict[int, tuple] = {}  # child index -> (key, limits, deadline)
        self.done: List[tuple] = []  # outcomes known at hand-over (the child could not take it)

    def full(self) -> bool:
        return len(self.busy) >= len(self.children)

    def __len__(self) -> int:
        return len(self.busy) + len(self.done)

    def submit(self, key, item, limits: Limits) -> None:
        idle = next(i for i in range(len(self.children)) if i not in self.busy)
        try:
            self.children[idle].send(item, limits)
        except StageFailure as exc:
            self.done.append((key, exc))
            return
        deadline = None if limits.timeout_s is None else time.monotonic() + limits.timeout_s
        self.busy[idle] = (key, limits, deadline)

    def completed(self, block: bool) -> List[tuple]:
        """The finished inputs; with ``block``, waits until at least one has finished (if any is in flight)."""
        from multiprocessing.connection import wait

        out, self.done = self.done, []
        while self.busy:
            now = time.monotonic()
            for i, (key, limits, deadline) in sorted(self.busy.items()):
                if deadline is not None and deadline <= now:
                    del self.busy[i]
                    out.append((key, self.children[i].stop_late(limits)))
            deadlines = [d for _, _, d in self.busy.values() if d is not None]
            timeout = 0 if out or not block else (max(0.0, min(deadlines) - now) if deadlines else None)
            ready = set(wait([self.children[i].conn for i in self.busy], timeout)) if self.busy else set()
            for i in sorted(self.busy):
                if self.children[i].conn in ready:
                    key = self.busy.pop(i)[0]
                    try:
                        out.append((key, self.children[i].receive()))
                    except StageFailure as exc:
                        out.append((key, exc))
            if out or not block:
                break
        return out

    def close(self) -> None:
        for child in self.children:
            child.close()
        self.busy.clear()


def extract_all(kinds: Dict[str, object], isolated: Optional[Isolated], item, limits: Limits) -> List:
    """One input's outputs, in the child when there is one, else in process with the caps."""
    if isolated is not None:
        return isolated.extract(item, limits)
    try:
        return extract_capped(kinds[item.source], item, limits)
    except StageFailure:
        raise
    except Exception as exc:  # noqa: BLE001 - one readable line, as in the child
        raise StageFailure(readable_reason(exc)) from None
