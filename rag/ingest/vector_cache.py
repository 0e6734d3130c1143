"""Vectors a corpus carries with it, so ingesting it again elsewhere skips the encoder.

A folder may hold `.vectors/<model>.npz`: for each passage text exactly as it is embedded (title
and date prefix included), the vector one model made of it. Ingest looks a chunk's text up there
first and encodes only what is missing, so a changed release or a changed chunker simply misses
and is encoded as usual; nothing is trusted that does not match byte for byte. The demo corpus
ships one for the bundled MiniLM: encoding its 12,465 passages is ~90% of a first `rag up` on 2
cores. `rag export-vectors FOLDER` writes one from a store that has ingested FOLDER.

Vectors are kept as float16 (half the size; cosine to the float32 originals > 0.9999) and
renormalised when read. A file records the model and its token window; another model's or
window's file is ignored.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FOLDER = ".vectors"
_KEY_BYTES = 16


def model_slug(model: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", model.split(":")[-1]).strip("-") or "model"


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()[:_KEY_BYTES]


def cache_path(folder: Path, model: str) -> Path:
    return Path(folder) / FOLDER / f"{model_slug(model)}.npz"


@dataclass
class VectorCache:
    model: str
    max_tokens: int
    rows: dict[bytes, int]
    vectors: np.ndarray  # float16, one row per key

    @classmethod
    def load(cls, path: Path, model: str, max_tokens: int) -> "VectorCache | None":
        """The cache at `path` if it is there and was made by `model` with this token window."""
        try:
            with np.load(path, allow_pickle=False) as data:
                if str(data["model"]) != model or int(data["max_tokens"]) != max_tokens:
                    return None
                keys, vectors = data["keys"], data["vectors"]
        except (OSError, KeyError, ValueError):  # absent, or not a cache this version can read
            return None
        return cls(model, max_tokens, {bytes(k): i for i, k in enumerate(keys)}, vectors)

    @classmethod
    def for_paths(cls, paths, model: str, max_tokens: int) -> "VectorCache | None":
        """The caches of the folders named and of the named files' folders, merged; None when
        there is none."""
        found: dict[Path, VectorCache] = {}
        for raw in paths:
            path = Path(raw)
            folder = path if path.is_dir() else path.parent
            where = cache_path(folder, model)
            if where not in found and (cache := cls.load(where, model, max_tokens)) is not None:
                found[where] = cache
        if not found:
            return None
        caches = list(found.values())
        if len(caches) == 1:
            return caches[0]
        rows, blocks, offset = {}, [], 0
        for cache in caches:
            rows.update({k: i + offset for k, i in cache.rows.items()})
            blocks.append(cache.vectors)
            offset += len(cache.vectors)
        return cls(model, max_tokens, rows, np.concatenate(blocks))

    def __len__(self) -> int:
        return len(self.rows)

    def lookup(self, texts: list[str]) -> tuple[np.ndarray, list[int]]:
        """(float32 unit vectors for the texts it holds, zeros elsewhere; indices of the missing)."""
        out = np.zeros((len(texts), self.vectors.shape[1]), dtype=np.float32)
        missing = []
        for i, text in enumerate(texts):
            row = self.rows.get(text_key(text))
            if row is None:
                missing.append(i)
            else:
                out[i] = self.vectors[row]
        hit = np.setdiff1d(np.arange(len(texts)), missing)
        if len(hit):
            out[hit] /= np.linalg.norm(out[hit], axis=1, keepdims=True)
        return out, missing


def write_cache(path: Path, model: str, max_tokens: int, texts: list[str], vectors: np.ndarray) -> int:
    """Write texts' vectors (deduplicated by text) as a cache file; returns the entries written."""
    keys: dict[bytes, int] = {}
    for i, text in enumerate(texts):
        keys.setdefault(text_key(text), i)
    order = list(keys.values())
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part.npz")
    np.savez(partial, model=np.array(model), max_tokens=np.array(max_tokens),
             keys=np.array(list(keys), dtype=f"S{_KEY_BYTES}"), vectors=vectors[order].astype(np.float16))
    partial.replace(path)
    return len(order)
