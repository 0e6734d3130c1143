"""End-to-end answer latency per generator, question string to checked Answer, on an ingested store.

    python -m bench.answer --data-dir /tmp/rag-bench-ingest/ours    # the demo corpus, ingested by bench.ingest

Generators: extractive (no model), local (the bundled SmolLM2 in-process) and openai (the same
model behind rag.llm_server, started here on a free local port, reached over HTTP through
LangChain). The Answer's own stage timings are averaged alongside the total.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.common import Timer, latency_summary, machine, table, write_result

QUESTIONS = [
    "What did Albania propose?",
    "What did Kazakhstan and Albania agree to do?",
    "What did the Secretary say about Ukraine in March 2022?",
    "How much humanitarian assistance was announced for Afghanistan?",
    "What sanctions were imposed on Russia?",
    "Who met with the Foreign Minister of Greenland?",
    "What did the United States say about the coup in Burma?",
    "What was announced about COVID-19 vaccine donations?",
]


def start_llm_server() -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "rag.llm_server", "--port", str(port)], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return proc, f"http://127.0.0.1:{port}/v1"
        except OSError:
            time.sleep(1)
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit("rag.llm_server did not come up within 300 s")


def run(data_dir: Path, generators: list[str], n_model: int) -> dict:
    from rag.services import get_services
    from rag.settings import Settings

    out: dict = {"machine": machine(), "data_dir": str(data_dir), "generators": {}}
    server = None
    try:
        for name in generators:
            overrides: dict = {}
            if name == "openai":
                server, base_url = start_llm_server()
                overrides = {"generator": {"openai_base_url": base_url, "openai_model": "SmolLM2-135M-Instruct"}}
            services = get_services(Settings(data_dir=data_dir, **overrides))
            questions = QUESTIONS if name == "extractive" else QUESTIONS[:n_model]
            services.answers.ask(questions[0], generator=name)  # warm: model loads are not per question
            totals, stages = [], {}
            for q in questions:
                with Timer() as t:
                    answer = services.answers.ask(q, generator=name)
                totals.append(t.seconds)
                for stage, seconds in answer.timings.items():
                    stages.setdefault(stage, []).append(seconds)
            out["generators"][name] = {
                **latency_summary(totals),
                "stages_mean_ms": {s: round(1000 * sum(v) / len(v), 1) for s, v in stages.items()},
            }
            print(f"{name}: {out['generators'][name]}", file=sys.stderr, flush=True)
            if server is not None:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)
                server = None
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGKILL)
    out["machine_after"] = machine()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True, help="a store holding the ingested demo corpus")
    parser.add_argument("--generators", nargs="*", default=["extractive", "local", "openai"])
    parser.add_argument("--model-questions", type=int, default=3, help="questions for the model-backed generators")
    args = parser.parse_args()
    result = run(args.data_dir, args.generators, args.model_questions)
    path = write_result("answer", result)
    rows = [[name, g["n"], g["p50_ms"], g["p95_ms"],
             ", ".join(f"{s} {ms:.0f}" for s, ms in g["stages_mean_ms"].items())]
            for name, g in result["generators"].items()]
    print(f"machine: {result['machine']}\n")
    print(table(["generator", "questions", "p50 ms", "p95 ms", "mean ms per stage"], rows))
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
