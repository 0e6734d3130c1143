#!/usr/bin/env bash
# Installs what the tests need, then runs all of them: unit, end-to-end, server and browser tests.
# The answer tests run a second time with the other embedding dtype (bf16 where the CPU lacks it
# natively, fp32 where auto picks bf16): answers must hold on every CPU.
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
if [ "$rc" = "0" ] && [ "${RAG_SKIP_OTHER_DTYPE:-0}" != "1" ]; then
  other=$(.venv/bin/python -c "from rag.embeddings import cpu_has_native_bf16; print('float32' if cpu_has_native_bf16() else 'bfloat16')")
  echo "answer tests again with embedding dtype $other" >&2
  RAG_EMBEDDING__DTYPE=$other .venv/bin/python -m pytest -q -p no:cacheprovider \
    tests/test_answer_service.py tests/test_answer_checker.py tests/test_answer_question.py || rc=$?
fi
exit "$rc"
