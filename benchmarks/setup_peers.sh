#!/usr/bin/env bash
# The peer tools the benchmarks compare against, in their own virtualenv inside the checkout
# (.peer-venv/, git-ignored): datatrove pins other versions of libraries the toolkit shares,
# so it never goes into .venv. benchmarks/bench_dedup.py finds it there by default.
#
#   bash benchmarks/setup_peers.sh            # then: .venv/bin/python benchmarks/bench_dedup.py
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .peer-venv/bin/python ]; then
    "$PYTHON" -m venv .peer-venv
fi
.peer-venv/bin/python -m pip install --quiet --upgrade pip
.peer-venv/bin/python -m pip install --quiet 'datatrove[processing]' spacy orjson
.peer-venv/bin/python -c "import datatrove.pipeline.dedup.minhash; print('peer tools ready: .peer-venv (datatrove)')"
