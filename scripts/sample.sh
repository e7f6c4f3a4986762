#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run build-pretrain on the bundled sample into ./out.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/telecom-etl build-pretrain --manifest manifests/sample.yaml --output out "$@"
