"""The lexical index on disk: immutable segments, one small manifest per store version.

    lexical_dir/
      .lock                      writers (and full rebuilds) take it: one at a time per data_dir
      segments/<name>/           one segment's arrays and ids; written once, renamed into place
      vocab-<generation>.txt     the terms, one per line, append-only (a manifest says how many)
      versions/<version>.json    the manifest, written last: its presence means the version is complete
      versions/<version>.*.npy   document frequencies, live rows, boilerplate model of that version

A write adds a segment and a manifest (and appends the new terms), so it costs what it adds;
readers load only the segments they do not hold yet. A crash leaves at worst an unreferenced
segment or a partial vocabulary tail past the recorded length, both ignored and cleaned up.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from rag.boilerplate import Boilerplate
from rag.lexical import LexicalIndex, Segment, Vocabulary

KEEP_VERSIONS = 4  # manifests kept: a reader that just read an older one can still load its files
_ARRAYS = ("n_chunks", "published", "sources", "languages", "share", "doc_len", "terms", "indptr", "rows", "tf")
_MMAPPED = ("rows", "tf", "vectors")  # the big ones: read on demand, shared between processes
_segment_cache: OrderedDict[str, Segment] = OrderedDict()
_CACHE_SEGMENTS = 64
_locks: dict[str, list] = {}
_locks_guard = threading.Lock()


@contextmanager
def write_lock(folder: Path):
    """Exclusive across processes (flock) and threads; re-entrant within a thread."""
    folder.mkdir(parents=True, exist_ok=True)
    key = str(folder.resolve())
    with _locks_guard:
        entry = _locks.setdefault(key, [threading.RLock(), 0, None])
    lock = entry[0]
    with lock:
        if entry[1] == 0:
            entry[2] = open(folder / ".lock", "a+")
            fcntl.flock(entry[2], fcntl.LOCK_EX)
        entry[1] += 1
        try:
            yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                fcntl.flock(entry[2], fcntl.LOCK_UN)
                entry[2].close()
                entry[2] = None


def safe_name(version: str) -> str:
    """A version token as a file name (tokens are hex, but never trust a name read from a server)."""
    cleaned = "".join(ch for ch in version if ch.isalnum() or ch in "-_")
    return cleaned or "empty"


def _replace_atomically(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save(index: LexicalIndex, folder: Path) -> None:
    """Write what `folder` lacks of `index` and its manifest. The caller holds write_lock(folder)."""
    segments_dir, versions_dir = folder / "segments", folder / "versions"
    segments_dir.mkdir(parents=True, exist_ok=True)
    versions_dir.mkdir(parents=True, exist_ok=True)
    for segment in index.segments:
        _save_segment(segment, segments_dir)
    vocab_count, vocab_bytes = _save_vocabulary(index, folder)
    name = safe_name(index.version)
    _replace_atomically(versions_dir / f"{name}.df.npy", lambda p: _save_array(p, index.df))
    _replace_atomically(versions_dir / f"{name}.alive.npy", lambda p: _save_array(p, np.packbits(index.alive)))
    _replace_atomically(
        versions_dir / f"{name}.boilerplate.json",
        lambda p: Path(p).write_text(json.dumps(index.boilerplate.to_json())),
    )
    manifest = {
        "version": index.version,
        "generation": index.vocab.generation,
        "vocab_count": vocab_count,
        "vocab_bytes": vocab_bytes,
        "segments": [s.name for s in index.segments],
        "rows": len(index.alive),
        "source_names": index.source_names,
        "language_names": index.language_names,
    }
    _replace_atomically(versions_dir / f"{name}.json", lambda p: Path(p).write_text(json.dumps(manifest)))
    index.saved_as = {"generation": index.vocab.generation, "vocab_count": vocab_count, "vocab_bytes": vocab_bytes}
    _collect_garbage(folder)


def _save_array(path, array) -> None:
    with open(path, "wb") as out:  # a file object: np.save would add ".npy" to a bare temp name
        np.save(out, array)


def _save_segment(segment: Segment, segments_dir: Path) -> None:
    final = segments_dir / segment.name
    if final.exists():
        return
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=segments_dir))
    try:
        for name in _ARRAYS:
            np.save(tmp / f"{name}.npy", getattr(segment, name))
        if segment.vectors is not None:
            np.save(tmp / "vectors.npy", segment.vectors)
        (tmp / "rows.json").write_text(json.dumps(
            {"ids": segment.ids, "doc_ids": segment.doc_ids, "hashes": segment.hashes, "paths": segment.paths}
        ))
        tmp.rename(final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _save_vocabulary(index: LexicalIndex, folder: Path) -> tuple[int, int]:
    path = folder / f"vocab-{safe_name(index.vocab.generation)}.txt"
    saved = index.saved_as if index.saved_as.get("generation") == index.vocab.generation else {}
    count, size = int(saved.get("vocab_count", 0)), int(saved.get("vocab_bytes", 0))
    terms = index.vocab.terms[count : len(index.df)]
    with open(path, "ab") as out:
        out.truncate(size)  # drop a tail a crashed writer left past the recorded length
        out.seek(size)
        data = "".join(t + "\n" for t in terms).encode()
        out.write(data)
    return count + len(terms), size + len(data)


def load(folder: Path, version: str, vocab: Vocabulary | None = None) -> LexicalIndex | None:
    """The index of `version` under folder; None when it is absent or unreadable (the caller
    rebuilds it). `vocab`: one this process already holds, reused when it is the same generation."""
    try:
        name = safe_name(version)
        versions_dir = folder / "versions"
        manifest = json.loads((versions_dir / f"{name}.json").read_text())
        if manifest["version"] != version:
            return None
        count, size = int(manifest["vocab_count"]), int(manifest["vocab_bytes"])
        if vocab is None or vocab.generation != manifest["generation"] or len(vocab.terms) < count:
            with open(folder / f"vocab-{safe_name(manifest['generation'])}.txt", "rb") as f:
                terms = f.read(size).decode().split("\n")[:count]
            if len(terms) != count:
                return None
            vocab = Vocabulary(manifest["generation"], terms)
        segments = [_load_segment(folder / "segments" / s) for s in manifest["segments"]]
        df = np.load(versions_dir / f"{name}.df.npy")
        alive = np.unpackbits(np.load(versions_dir / f"{name}.alive.npy"))[: int(manifest["rows"])].astype(bool)
        boilerplate = Boilerplate.from_json(json.loads((versions_dir / f"{name}.boilerplate.json").read_text()))
        index = LexicalIndex(version, vocab, df, segments, alive, manifest["source_names"], manifest["language_names"],
                             boilerplate)
        index.saved_as = {"generation": manifest["generation"], "vocab_count": count, "vocab_bytes": size}
        return index
    except (OSError, ValueError, KeyError):
        return None  # missing, unreadable or removed under us


def _load_segment(where: Path) -> Segment:
    key = str(where)
    if key in _segment_cache:
        _segment_cache.move_to_end(key)
        return _segment_cache[key]
    arrays = {name: np.load(where / f"{name}.npy", mmap_mode="r" if name in _MMAPPED else None) for name in _ARRAYS}
    vectors = np.load(where / "vectors.npy", mmap_mode="r") if (where / "vectors.npy").exists() else None
    rows = json.loads((where / "rows.json").read_text())
    segment = Segment(where.name, rows["ids"], rows["doc_ids"], rows["hashes"], rows["paths"], vectors=vectors, **arrays)
    _segment_cache[key] = segment
    while len(_segment_cache) > _CACHE_SEGMENTS:
        _segment_cache.popitem(last=False)
    return segment


def _collect_garbage(folder: Path) -> None:
    """Keep the newest manifests and what they use; remove the rest, and the old one-folder-per-
    version layout. Best effort: a reader that loses a file rebuilds."""
    try:
        versions_dir = folder / "versions"
        manifests = sorted(versions_dir.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        manifests = [m for m in manifests if not m.name.endswith(".boilerplate.json")]
        kept, used_segments, used_vocab = set(), set(), set()
        for number, path in enumerate(manifests):
            stem = path.name[: -len(".json")]
            if number >= KEEP_VERSIONS:
                for extra in (f"{stem}.json", f"{stem}.df.npy", f"{stem}.alive.npy", f"{stem}.boilerplate.json"):
                    (versions_dir / extra).unlink(missing_ok=True)
                continue
            kept.add(stem)
            manifest = json.loads(path.read_text())
            used_segments.update(manifest["segments"])
            used_vocab.add(f"vocab-{safe_name(manifest['generation'])}.txt")
        for segment in (folder / "segments").iterdir():
            stale_build = segment.name.startswith(".building-") and time.time() - segment.stat().st_mtime > 3600
            if (not segment.name.startswith(".") and segment.name not in used_segments) or stale_build:
                shutil.rmtree(segment, ignore_errors=True)
        for other in folder.iterdir():
            if other.name.startswith("vocab-") and other.name not in used_vocab:
                other.unlink(missing_ok=True)
            elif other.is_dir() and other.name not in ("segments", "versions"):
                shutil.rmtree(other, ignore_errors=True)  # an index in the old layout
    except (OSError, ValueError, KeyError):
        pass
