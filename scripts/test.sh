#!/usr/bin/env bash
# Installs what the tests need, then runs all of them: unit, end-to-end, server and browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False ANONYMIZED_TELEMETRY=False
export OPENBLAS_NUM_THREADS=1
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" = "5" ]; then
  echo "no tests were collected" >&2
  exit 1
fi
exit "$rc"
