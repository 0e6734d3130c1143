#!/usr/bin/env bash
# From a fresh clone to a served UI: install, then serve on 127.0.0.1:7860 while the demo corpus is
# ingested in the background (a banner in the UI shows how far it is).
set -euo pipefail
cd "$(dirname "$0")/.."
RAG_SKIP_BROWSER=1 bash scripts/install.sh
export HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False ANONYMIZED_TELEMETRY=False
exec .venv/bin/rag up "$@"
