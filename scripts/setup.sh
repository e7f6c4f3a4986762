#!/usr/bin/env bash
# Create .venv and install telecom-etl with its test dependencies (idempotent).
# System packages: LibreOffice (legacy Word .doc conversion) when apt-get is available.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"
# LiteLLM's proxy: a real third-party OpenAI-compatible gateway (real 429s and rate-limit headers)
# that part of the teacher tests run against, on loopback. Its own venv: its pins (openai, pydantic,
# httpx, fastapi) are not apache-beam's, and nothing of the toolkit imports it.
if [ "${TELECOM_ETL_SKIP_LITELLM:-0}" != "1" ] && [ ! -x .venv-litellm/bin/litellm ]; then
  ("$PY" -m venv .venv-litellm && .venv-litellm/bin/python -m pip install --quiet 'litellm[proxy]') \
    || echo "warning: could not install litellm[proxy]; the LiteLLM teacher tests will skip" >&2
fi
# System packages (Debian/Ubuntu, as root): LibreOffice converts legacy Word .doc specs;
# pandoc reads LaTeX paper sources; Chromium renders OUT/report.html in a test. Without them
# those inputs fail with a clear reason and those tests skip.
missing=""
command -v soffice >/dev/null 2>&1 || missing="$missing libreoffice-writer-nogui"
command -v pandoc >/dev/null 2>&1 || missing="$missing pandoc"
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
if [ "${TELECOM_ETL_SKIP_APT:-0}" != "1" ] && [ -n "$missing" ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  echo "installing:$missing ..." >&2
  # one package at a time: a package missing from the mirror does not keep the others out
  apt-get -o DPkg::Lock::Timeout=600 update -qq || true
  for pkg in $missing; do
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$pkg" >/dev/null \
      || echo "warning: could not install $pkg; the inputs and tests that need it fail with a reason or skip" >&2
  done
fi
