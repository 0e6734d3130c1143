"""Read one file with the product's reader in a fresh process; print what came of it as JSON.

Run by test_reader_fuzz.py, one process per hostile input, so each input's peak memory
(VmHWM: unlike ru_maxrss it is not inherited from the forking test process) and time are its own."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from rag.ingest.readers import read_file



def peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    baseline = peak_mb()
    started = time.perf_counter()
    result = read_file(sys.argv[1])
    print(json.dumps({
        "documents": len(result.documents),
        "chars": sum(len(d.text) for d in result.documents),
        "errors": [str(e) for e in result.errors],
        "seconds": time.perf_counter() - started,
        "peak_mb": peak_mb(),
        "baseline_mb": baseline,
    }))
