"""Split a suite into a dev part (tune on it) and a test part (report only), reproducibly.

Within each question type, questions are ordered by sha256("split:" + id) and dealt out
alternately, dev first, so both parts have the same mix of types and nobody chose which
question went where. Lines keep their original text.

    python eval/tools/split_suite.py eval/suites/demo.jsonl   # -> demo-dev.jsonl, demo-test.jsonl
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path


def split_lines(lines: list[str]) -> tuple[list[str], list[str]]:
    by_type: dict[str, list[tuple[str, str]]] = {}
    for line in lines:
        if line.strip() and not line.lstrip().startswith("#"):
            record = json.loads(line)
            by_type.setdefault(record["type"], []).append((record["id"], line))
    dev_ids, test_ids = set(), set()
    for items in by_type.values():
        items.sort(key=lambda item: hashlib.sha256(f"split:{item[0]}".encode()).hexdigest())
        for i, (qid, _) in enumerate(items):
            (dev_ids if i % 2 == 0 else test_ids).add(qid)
    keep = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    dev = [line for line in keep if json.loads(line)["id"] in dev_ids]
    test = [line for line in keep if json.loads(line)["id"] in test_ids]
    return dev, test


def main(path: str) -> None:
    source = Path(path)
    dev, test = split_lines(source.read_text(encoding="utf-8").splitlines())
    for part, lines in (("dev", dev), ("test", test)):
        target = source.with_name(f"{source.stem}-{part}{source.suffix}")
        target.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        print(f"{target}: {len(lines)} questions")


if __name__ == "__main__":
    main(sys.argv[1])
