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
if [ "${TELECOM_ETL_SKIP_APT:-0}" != "1" ] && ! command -v soffice >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  echo "installing LibreOffice (legacy .doc conversion)..." >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libreoffice-writer-nogui >/dev/null) \
    || echo "warning: LibreOffice could not be installed; .doc inputs will fail with a clear reason" >&2
fi
