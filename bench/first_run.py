"""First run: the README's first command on a fresh clone, from nothing to a served UI.

    python -m bench.first_run                 # clones this repository to a temp folder, runs `rag up`
    python -m bench.first_run --data-dir D    # a store already holding the whole demo corpus: a second start
    python -m bench.first_run --until-indexed # also wait for the background ingest to finish

The package installs are not timed (they come from scripts/install.sh, once per machine): the
clone uses this interpreter, whose environment already holds the dependencies. Timed: from
starting `rag up` (what scripts/start.sh execs after installing) to the first HTTP 200 from
the UI (`rag up` serves at once and ingests behind it), and with --until-indexed to the ingest
summary line it prints when the whole corpus is stored.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench.common import REPO, machine, write_result

LIMIT_S = 3600


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _summary(lines: list[tuple[float, str]]) -> list[tuple[float, str]]:
    return [(t, l) for t, l in list(lines) if " files (" in l and "chunks written" in l]


def first_run(data_dir: Path | None, until_indexed: bool = False) -> dict:
    # A SIGTERM (e.g. from `timeout`) must still run the finally below, which stops `rag up`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="rag-first-run-"))
    clone = work / "clone"
    started = time.perf_counter()
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    clone_s = time.perf_counter() - started
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False", ANONYMIZED_TELEMETRY="False",
               RAG_DATA_DIR=str(data_dir or clone / ".rag"))
    lines: list[tuple[float, str]] = []
    t0 = time.perf_counter()
    # `python -m rag.cli` from the clone imports the clone's code, not this checkout's.
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "up", "--port", str(port)], cwd=clone, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    reader = threading.Thread(target=lambda: [lines.append((time.perf_counter() - t0, l.rstrip())) for l in proc.stdout])
    reader.start()
    served_s = None
    try:
        while time.perf_counter() - t0 < LIMIT_S and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    if response.status == 200:
                        served_s = time.perf_counter() - t0
                        break
            except OSError:
                pass
            time.sleep(1)
        while until_indexed and served_s is not None and not _summary(lines) and proc.poll() is None \
                and time.perf_counter() - t0 < LIMIT_S:
            time.sleep(1)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        reader.join(timeout=10)
    summary = _summary(lines)
    if served_s is None:
        tail = "\n".join(l for _, l in lines[-20:])
        raise SystemExit(f"the UI never answered (exit code {proc.returncode}):\n{tail}")
    return {
        "clone_s": round(clone_s, 1),
        "up_to_served_s": round(served_s, 1),
        "ingest_done_at_s": round(summary[0][0], 1) if summary else None,
        "ingest_summary": summary[0][1] if summary else None,
        "reused_data_dir": bool(data_dir),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help="an already ingested store (times a second start)")
    parser.add_argument("--until-indexed", action="store_true", help="also time the background ingest to its end")
    args = parser.parse_args()
    result = {"machine": machine(), **first_run(args.data_dir, args.until_indexed), "machine_after": machine()}
    path = write_result("first_run" + ("-reuse" if args.data_dir else ""), result)
    for key, value in result.items():
        print(f"{key}: {value}")
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
