"""A cold `rag ask`: whole processes, no server, on a store that already holds the releases.

    python -m bench.cli_ask --data-dir /tmp/demo [--runs 5]

Each run starts `rag ask QUESTION --local` as a new process (nothing warm but the OS file cache)
and times it to exit; `rag ask` encodes in a second process that loads torch while the first
loads the store and spaCy (rag.embedding_worker). Measured in the same run, as the baseline: the
same question answered by one process that loads everything itself, as `rag ask` did before;
for scale: the interpreter and CLI alone (`rag --help`), and a process that only imports
sentence-transformers, which `rag ask` loaded until the bundled models moved to rag.bert.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import machine, write_result

QUESTION = "Who led the Kazakh delegation in the political consultations with Albania?"


def timed(command: list[str], runs: int, env: dict) -> list[float]:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
           "GRADIO_ANALYTICS_ENABLED": "False"}
    rag = [sys.executable, "-m", "rag.cli"]
    one_process = (
        "import sys; from rag.settings import Settings; from rag.services import Services; "
        "print(Services(Settings(data_dir=sys.argv[1])).answers.ask(sys.argv[2]).text)"
    )
    cases = {
        "rag ask --local (cold)": rag + ["ask", QUESTION, "--local", "--data-dir", str(args.data_dir)],
        "the same ask in one process (baseline)": [sys.executable, "-c", one_process, str(args.data_dir), QUESTION],
        "rag --help (interpreter + CLI)": rag + ["--help"],
        "import sentence_transformers only": [sys.executable, "-c", "import sentence_transformers"],
    }
    results = {name: timed(command, args.runs, env) for name, command in cases.items()}
    print(f"{machine()}\n")
    print("| process | runs | p50 s | min s | max s |\n|---|---|---|---|---|")
    for name, seconds in results.items():
        print(f"| {name} | {len(seconds)} | {statistics.median(seconds):.2f} | {min(seconds):.2f} | {max(seconds):.2f} |")
    ask = statistics.median(results["rag ask --local (cold)"])
    baseline = statistics.median(results["the same ask in one process (baseline)"])
    print(f"\ncold ask / 3 s target: {ask / 3:.2f}x; one process / rag ask: {baseline / ask:.2f}x; "
          f"the sentence-transformers import alone is "
          f"{statistics.median(results['import sentence_transformers only']) / ask:.2f}x a whole cold ask now")
    write_result("cli_ask", {"machine": machine(), "seconds": results})


if __name__ == "__main__":
    main()
