"""The output-folder contract of a synth command (RunFolder, shared with build-pretrain), checked
against a real run of the command on the loopback teacher (tests/openai_server.py).

:func:`check_run_folder` runs the command three times into one folder:

1. under umask 027: it succeeds and every file it wrote is 0640, every folder 0750;
2. again, with the teacher hanging: while it waits, the folder shows the first run only (the new
   run is staged), the lock names it, and a third run into the folder is refused in one line;
   then SIGINT: exit status 130, one line, the folder exactly as after run 1;
3. the same with SIGTERM: exit status 143.

The tests/test_output_folder.py versions of these checks are for build-pretrain.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from openai_server import OpenAIServer, hang

CLI = [sys.executable, "-m", "telecom_etl.cli"]


def snapshot(out) -> dict:
    """Relative path -> bytes of every file under ``out`` (hidden ones too), and every folder."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(out):
        for name in dirnames:
            found[os.path.relpath(os.path.join(dirpath, name), out) + "/"] = None
        for name in filenames:
            with open(os.path.join(dirpath, name), "rb") as fh:
                found[os.path.relpath(os.path.join(dirpath, name), out)] = fh.read()
    return found


def modes(out) -> dict:
    """Relative path -> permission bits of every file and folder under ``out`` (``out`` itself as '.')."""
    found = {".": os.stat(out).st_mode & 0o777}
    for dirpath, dirnames, filenames in os.walk(out):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            found[os.path.relpath(path, out)] = os.stat(path).st_mode & 0o777
    return found


def check_run_folder(tmp_path, argv, responder, shards_folder: str) -> None:
    """``argv(out, base_url, cache)``: the command line after ``telecom-etl``; ``responder``: the
    teacher's answers for the first run; ``shards_folder``: where the command writes its rows."""
    out = tmp_path / "out"
    state = {"hang": False}

    def reply(body):
        return hang() if state["hang"] else responder(body)

    with OpenAIServer(responder=reply) as server:
        first = subprocess.run(CLI + argv(out, server.base_url, tmp_path / "cache-0"), capture_output=True,
                               text=True, timeout=600, preexec_fn=lambda: os.umask(0o027))
        assert first.returncode == 0, first.stderr[-3000:]
        got = modes(out)
        wrong = {p: oct(m) for p, m in got.items() if m != (0o750 if os.path.isdir(out / p) else 0o640)}
        assert wrong == {} and any(p.startswith(shards_folder + "/") and p.endswith(".parquet") for p in got), wrong
        before = snapshot(out)
        assert not any(p.startswith((".run-", ".telecom-etl.lock")) for p in before), sorted(before)

        state["hang"] = True
        for k, sig in enumerate((signal.SIGINT, signal.SIGTERM), 1):
            asked = len(server.chat_requests())
            child = subprocess.Popen(CLI + argv(out, server.base_url, tmp_path / f"cache-{k}"),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            deadline = time.monotonic() + 300  # a guard against a hung test, not a timed assertion
            while len(server.chat_requests()) == asked:  # until the run waits on its teacher
                assert child.poll() is None, child.communicate()[1][-3000:]
                assert time.monotonic() < deadline, "the run never asked its teacher"
                time.sleep(0.05)
            # staged: nothing of this run is visible; the lock names it
            running = snapshot(out)
            lock = json.loads(running.pop(".telecom-etl.lock"))
            assert lock["pid"] == child.pid, lock
            staged = [p for p in running if p.startswith(".run-")]
            assert staged, sorted(running)
            assert {p: v for p, v in running.items() if p not in staged} == before
            if sig == signal.SIGINT:  # a second run into the folder in use: one line, nothing touched
                other = subprocess.run(CLI + argv(out, server.base_url, tmp_path / "cache-x"), capture_output=True,
                                       text=True, timeout=300)
                assert other.returncode == 2, other.stderr[-3000:]
                lines = other.stderr.strip().splitlines()
                assert len(lines) == 1 and lines[0].startswith(
                    f"telecom-etl: error: {out} is in use by another run (pid {child.pid} on "), lines
            child.send_signal(sig)
            _, err = child.communicate(timeout=120)
            assert child.returncode == 128 + sig, (child.returncode, err[-3000:])
            assert err.strip().splitlines() == [f"telecom-etl: interrupted: {out} left as it was before this run"], \
                err[-3000:]
            assert snapshot(out) == before  # no staging folder, no lock, the first run's bytes
