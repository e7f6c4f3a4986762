"""The same graph on a runner whose workers are other processes (as on Dataflow).

Beam's local job service plus an external worker pool (each SDK worker a separate
Python process started by the pool) runs build-pretrain: closures, pickling, driver-side
state and per-process caches that only work inside one process fail here, and the output
must be byte-identical to the DirectRunner's.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from test_pretrain_pipeline import run_build, shard_digest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(port: int, proc: subprocess.Popen, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout:g} s")


@pytest.fixture(scope="module")
def portable_runner(tmp_path_factory):
    """Beam's job service and an external worker pool on loopback; stopped afterwards."""
    logs = tmp_path_factory.mktemp("portable")
    env = dict(os.environ)
    # the pool starts each worker as `python -c ...`: this interpreter, with the toolkit installed
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    job_port, pool_port = _free_port(), _free_port()
    procs = []
    try:
        for what, args, port in (
                ("job service", ["apache_beam.runners.portability.local_job_service_main", "--port", str(job_port)],
                 job_port),
                ("worker pool", ["apache_beam.runners.worker.worker_pool_main", "--service_port", str(pool_port)],
                 pool_port)):
            log = open(logs / (what.replace(" ", "_") + ".log"), "wb")
            proc = subprocess.Popen([sys.executable, "-m", *args], env=env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
            procs.append(proc)
            _wait_for(port, proc, what)
        yield ["--runner", "PortableRunner", "--job_endpoint", f"localhost:{job_port}",
               "--environment_type", "EXTERNAL", "--environment_config", f"localhost:{pool_port}"]
    finally:
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except OSError:
                pass
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def test_build_pretrain_on_workers_in_other_processes_gives_the_same_bytes(tmp_path, portable_runner):
    direct, direct_report = run_build(tmp_path, "direct")
    portable, report = run_build(tmp_path, "portable", beam_args=portable_runner)
    assert report["balanced"] is True
    assert report["stages"] == direct_report["stages"]
    for folder in ("pretrain", "rejects", "dropped", "dropped_inputs"):
        digest = shard_digest(portable / folder)
        assert digest and digest == shard_digest(direct / folder), folder
