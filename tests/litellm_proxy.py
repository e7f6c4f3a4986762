"""LiteLLM's proxy (a real third-party OpenAI-compatible gateway) on loopback, for tests.

The proxy runs from its own virtual environment (``.venv-litellm`` in the checkout, made by
``scripts/setup.sh``: its pins are not apache-beam's), offline (``LITELLM_LOCAL_MODEL_COST_MAP``),
in front of the project's loopback :class:`~openai_server.OpenAIServer` as its upstream provider,
so the upstream's log counts every request the gateway forwarded. Its router
(``usage-based-routing-v2`` with per-model ``rpm``) answers real 429s with its own
``llm_provider-retry-after`` header; its own retries are off so they reach the client.

    with LiteLLMProxy({"gw-model": {"rpm": 1000}, "gw-slow": {"rpm": 2}}, upstream) as proxy:
        proxy.base_url, proxy.key_env      # http://127.0.0.1:PORT/v1, the env var holding its master key
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Dict, Optional

import yaml

ROOT = Path(__file__).resolve().parents[1]
KEY_ENV = "TELECOM_ETL_LITELLM_KEY"


def litellm_binary() -> Optional[str]:
    """The proxy's command: $TELECOM_ETL_LITELLM, the checkout's .venv-litellm, or one on PATH."""
    for candidate in (os.environ.get("TELECOM_ETL_LITELLM"), str(ROOT / ".venv-litellm" / "bin" / "litellm"),
                      shutil.which("litellm")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiteLLMProxy:
    def __init__(self, models: Dict[str, dict], upstream_base_url: str):
        """``models``: alias -> {rpm, tpm, upstream (the upstream's model name, default the alias)}."""
        self.models, self.upstream = models, upstream_base_url
        self.key = "sk-telecom-etl-" + secrets.token_hex(16)
        self.port = _free_port()
        self.proc: Optional[subprocess.Popen] = None
        self.folder = tempfile.mkdtemp(prefix="telecom-etl-litellm-")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def key_env(self) -> str:
        return KEY_ENV

    def start(self) -> "LiteLLMProxy":
        binary = litellm_binary()
        if binary is None:
            raise FileNotFoundError("litellm is not installed (bash scripts/setup.sh installs it in .venv-litellm)")
        config = {
            "model_list": [{"model_name": name, "litellm_params": {
                "model": f"openai/{spec.get('upstream', name)}", "api_base": self.upstream, "api_key": "sk-upstream",
                "rpm": spec.get("rpm", 100_000), "tpm": spec.get("tpm", 10_000_000)}}
                for name, spec in self.models.items()],
            "router_settings": {"routing_strategy": "usage-based-routing-v2", "num_retries": 0},
            "litellm_settings": {"num_retries": 0, "request_timeout": 60, "telemetry": False},
        }
        path = os.path.join(self.folder, "config.yaml")
        with open(path, "w") as fh:
            yaml.safe_dump(config, fh)
        env = {**os.environ, "LITELLM_MASTER_KEY": self.key, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
               "LITELLM_TELEMETRY": "False", "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
        self.log = open(os.path.join(self.folder, "proxy.log"), "wb")
        self.proc = subprocess.Popen([binary, "--config", path, "--host", "127.0.0.1", "--port", str(self.port)],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=self.folder,
                                     start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"litellm exited ({self.proc.returncode}): {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health/liveliness", timeout=2):
                    return self
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"litellm did not start within 120 s: {self.log_tail()}")

    def log_tail(self) -> str:
        self.log.flush()
        with open(self.log.name, "rb") as fh:
            return fh.read()[-2000:].decode("utf-8", "replace")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "LiteLLMProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
