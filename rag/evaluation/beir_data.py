"""Reading a BEIR-format dataset and encoding it once, with the vectors cached outside the repo.

The dataset is read in place (SciFact is CC BY-NC: never copy it into the project).
Corpus vectors take ~1 minute on 2 cores, so they are cached under
``~/.cache/rag-press/beir/<fingerprint>-<model>-<dtype>.npy`` keyed by the corpus content.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np


@dataclass
class BeirDataset:
    path: Path
    doc_ids: list[str]
    titles: list[str]
    texts: list[str]
    queries: dict[str, str]
    qrels: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # split -> qid -> docid -> rel
    fingerprint: str = ""

    def split_queries(self, split: str) -> dict[str, str]:
        """The queries judged in ``split`` (in qrels order), the only ones a split evaluates."""
        judged = self.qrels[split]
        return {qid: self.queries[qid] for qid in judged if qid in self.queries}


def load_beir(path: Path | str) -> BeirDataset:
    """Read corpus.jsonl, queries.jsonl and every qrels/*.tsv; errors name the file and line."""
    root = Path(path)
    for needed in ("corpus.jsonl", "queries.jsonl", "qrels"):
        if not (root / needed).exists():
            raise FileNotFoundError(f"{root}: not a BEIR dataset, {needed} is missing")
    digest = hashlib.sha256()
    doc_ids: list[str] = []
    titles: list[str] = []
    texts: list[str] = []
    for line_no, record in _read_jsonl(root / "corpus.jsonl", digest):
        try:
            doc_ids.append(str(record["_id"]))
            titles.append(str(record.get("title") or ""))
            texts.append(str(record.get("text") or ""))
        except KeyError as exc:
            raise ValueError(f"{root / 'corpus.jsonl'}:{line_no}: missing field {exc}") from None
    queries: dict[str, str] = {}
    for line_no, record in _read_jsonl(root / "queries.jsonl", None):
        try:
            queries[str(record["_id"])] = str(record["text"])
        except KeyError as exc:
            raise ValueError(f"{root / 'queries.jsonl'}:{line_no}: missing field {exc}") from None
    qrels = {tsv.stem: _read_qrels(tsv) for tsv in sorted((root / "qrels").glob("*.tsv"))}
    if "test" not in qrels:
        raise FileNotFoundError(f"{root / 'qrels'}: test.tsv is missing")
    return BeirDataset(root, doc_ids, titles, texts, queries, qrels, digest.hexdigest()[:16])


def _read_jsonl(path: Path, digest) -> list[tuple[int, dict]]:
    rows = []
    with open(path, "rb") as handle:
        for line_no, raw in enumerate(handle, 1):
            if digest is not None:
                digest.update(raw)
            if not raw.strip():
                continue
            try:
                rows.append((line_no, json.loads(raw)))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{line_no}: not valid JSON ({exc.msg})") from None
    return rows


def _read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with open(path, newline="") as handle:
        for line_no, row in enumerate(csv.reader(handle, delimiter="\t"), 1):
            if not row or (line_no == 1 and row[0] == "query-id"):
                continue
            if len(row) < 3:
                raise ValueError(f"{path}:{line_no}: expected query-id, corpus-id, score")
            try:
                score = int(row[2])
            except ValueError:
                raise ValueError(f"{path}:{line_no}: score {row[2]!r} is not an integer") from None
            qrels.setdefault(row[0], {})[row[1]] = score
    return qrels


def cache_dir() -> Path:
    base = os.environ.get("RAG_CACHE_DIR") or Path.home() / ".cache" / "rag-press"
    return Path(base) / "beir"


def cached_vectors(key: str, texts: list[str], encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    """Encode ``texts`` once per key; later runs load the .npy (float32, L2-normalised rows)."""
    target = cache_dir() / f"{key}.npy"
    if target.is_file():
        vectors = np.load(target)
        if vectors.shape[0] == len(texts):
            return vectors
    vectors = np.asarray(encode(texts), dtype=np.float32)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp.npy")
    np.save(tmp, vectors)
    tmp.replace(target)
    return vectors


def doc_text(title: str, text: str) -> str:
    """What both retrievers see for one abstract: title, then body (as Chunk.embed_text does)."""
    return f"{title}\n{text}" if title else text
