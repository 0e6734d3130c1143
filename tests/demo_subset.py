"""Small real corpora for tests: the Kazakh release beside an archive of a few State Department releases."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KAZAKH = REPO / "corpus" / "2025-03-21-kazakhstan-albania-political-consultations.txt"
ARCHIVE = REPO / "corpus" / "state_dept_press_releases_2021-2022.jsonl"


def kazakh_and_archive(folder: Path, n: int, min_chars: int, max_chars: int, archive_name: str) -> list[dict]:
    """Fill `folder` with the Kazakh release and a .jsonl of the first `n` archive records whose
    text length lies strictly between min_chars and max_chars; returns those records."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(KAZAKH, folder)
    picked = []
    with ARCHIVE.open(encoding="utf-8") as lines:
        for line in lines:
            if min_chars < len(json.loads(line)["text"]) < max_chars:
                picked.append(line)
            if len(picked) == n:
                break
    (folder / archive_name).write_text("".join(picked), encoding="utf-8")
    return [json.loads(line) for line in picked]
