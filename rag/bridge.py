"""Cross-lingual search for a store whose model reads only English.

The bundled MiniLM answers English questions best (eval/README.md) but relates no Russian or
Kazakh question to an English release (0 of 32 on multilingual-dev). So a MiniLM store also keeps
multilingual-e5 vectors of the same chunks in a second Chroma collection, ``<collection>--e5``:
a question in another language is searched there (and its answer sentences compared with e5),
an English one exactly as before. The collection is derived from the main one, keyed by the same
chunk ids with the same metadata (so filters work alike); it is filled after each ingest
(`sync`: what the main collection has and it lacks, vectors from a corpus's `.vectors` file where
it carries them), and a chunk deleted from the store goes from both. A run killed mid-sync leaves
some chunks without an e5 vector: the next sync adds them, and until then those chunks are only
found by English questions.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from pathlib import Path

import numpy as np

from rag.ingest.vector_cache import VectorCache
from rag.lexical import cosines_of, unit_query
from rag.types import Filters

log = logging.getLogger(__name__)

SUFFIX = "--e5"
SYNC_WINDOW = 512  # chunks read and stored per write; encoded longest first (23 vs 17 chunks/s in 64s unsorted)
ENCODE_STEP = 64  # chunks per encoder call: progress (and a waiting question) gets a turn between calls
MESSAGE = "cross-lingual embedding"  # the progress message of a sync (CLI bar, UI banner)


class CrossLingualIndex:
    """The e5 side collection of a ChunkStore (see the module doc)."""

    def __init__(self, store, model: str):
        self.store = store
        self.model = model
        self.name = f"{store.settings.store.collection}{SUFFIX}"
        self._lock = threading.Lock()
        self._vectors: dict[str, np.ndarray] = {}  # chunk id -> e5 vector, read from the collection
        self._rows_for = None  # (lexical index, count) the matrix below is laid out for
        self._matrix = self._have = None

    @property
    def collection(self):
        return self.store._open(self.name, {"embedding_model": self.model})

    def exists(self) -> bool:
        return self.name in {c.name for c in self.store.client.list_collections()}

    def count(self) -> int:
        return self.collection.count() if self.exists() else 0

    def _ids(self, collection) -> set[str]:
        return {i for page in self.store._scan([], collection=collection) for i in page["ids"]}

    def pending(self, written: list[str] | None = None) -> tuple[list[str], list[str]]:
        """(chunk ids the main collection has and this lacks, ids this has and the main one lost).

        `written`: the ids an ingest just stored. When those make up the whole difference in
        counts (deletes reach both collections, so that is the usual case) only they are looked
        at: scanning every id of both collections would cost seconds per write at 100k chunks."""
        if written is not None and self.exists():
            have = set()
            for page in self.store.pages_of(written):
                have.update(self.collection.get(ids=page, include=[])["ids"])
            missing = [i for i in dict.fromkeys(written) if i not in have]
            if self.count() + len(missing) == self.store.count():
                return missing, []
        main = self._ids(self.store.collection)
        side = self._ids(self.collection) if self.exists() else set()
        return sorted(main - side), sorted(side - main)

    def sync(self, encode, progress=None, max_tokens: int = 256, written: list[str] | None = None) -> tuple[int, int]:
        """Bring the collection level with the main one. `encode` is e5's passage encoder (called
        only for what no `.vectors` file holds); `written` see `pending`. Returns (chunks added,
        of which with vectors from a cache)."""
        missing, gone = self.pending(written)
        collection = self.collection
        for page in self.store.pages_of(gone):
            collection.delete(ids=page)
        if not missing:
            return 0, 0
        from rag.ingest.pipeline import encode_longest_first
        from rag.store import chunk_from_record

        reused = 0
        caches: dict[Path, VectorCache | None] = {}
        for lo in range(0, len(missing), SYNC_WINDOW):
            if progress:
                progress(lo, len(missing), MESSAGE)
            got = self.store.collection.get(ids=missing[lo : lo + SYNC_WINDOW], include=["documents", "metadatas"])
            if not got["ids"]:
                continue  # deleted since the scan
            chunks = [chunk_from_record(i, t, m) for i, t, m in zip(got["ids"], got["documents"], got["metadatas"])]
            texts = [c.embed_text for c in chunks]
            known = self._from_caches(chunks, texts, caches, max_tokens)
            reused += len(known)
            todo = [i for i in range(len(texts)) if i not in known]
            encoded = (encode_longest_first(encode, [texts[i] for i in todo], ENCODE_STEP, progress, lo, len(missing), MESSAGE)
                       if todo else None)
            dim = encoded.shape[1] if encoded is not None else len(next(iter(known.values())))
            vectors = np.empty((len(texts), dim), dtype=np.float32)
            for i, vector in known.items():
                vectors[i] = vector
            if encoded is not None:
                vectors[todo] = encoded
            collection.upsert(ids=got["ids"], embeddings=vectors, metadatas=got["metadatas"])
        if progress:
            progress(len(missing), len(missing), MESSAGE)
        return len(missing), reused

    def _from_caches(self, chunks, texts, caches, max_tokens) -> dict[int, np.ndarray]:
        """Row -> e5 vector, for the chunks whose folder carries one for their exact text."""
        by_folder: dict[Path, list[int]] = defaultdict(list)
        for i, chunk in enumerate(chunks):
            if chunk.path and "://" not in chunk.path:
                by_folder[Path(chunk.path).parent].append(i)
        known: dict[int, np.ndarray] = {}
        for folder, rows in by_folder.items():
            if folder not in caches:
                caches[folder] = VectorCache.for_paths([folder], self.model, max_tokens)
            if caches[folder] is None:
                continue
            found, missing = caches[folder].lookup([texts[i] for i in rows])
            skip = set(missing)
            known.update((i, found[j]) for j, i in enumerate(rows) if j not in skip)
        return known

    def delete(self, chunk_ids: list[str]) -> None:
        if chunk_ids and self.exists():
            collection = self.collection
            for page in self.store.pages_of(chunk_ids):
                collection.delete(ids=page)

    def drop(self) -> None:
        with self._lock:
            self._vectors, self._rows_for = {}, None
        if self.exists():
            self.store.client.delete_collection(self.name)

    def search(self, vector: np.ndarray, k: int, filters: Filters = Filters()) -> list[tuple[str, float]]:
        """(chunk_id, cosine) of the nearest chunks by e5, best first: exact, over the side's
        vectors laid out in the lexical index's rows, so filters pass the same rows as on the
        main path. (Chroma's approximate HNSW search missed the best three passages of a Kazakh
        question in one of two builds of the same demo store: its recall varies with insert order.)"""
        if k <= 0 or not self.exists():
            return []
        index = self.store.lexical_index()
        matrix, have = self._aligned(index)
        mask = index.mask(filters)
        rows = np.flatnonzero((index.alive if mask is None else mask) & have)
        if not len(rows):
            return []
        return index.top(rows, cosines_of(matrix, rows, unit_query(vector)), k)

    def _aligned(self, index) -> tuple[np.ndarray, np.ndarray]:
        """(row -> e5 vector, row -> has one) for this lexical index. Vectors are read from Chroma
        once per process and then only for ids new since the last index (a write of a few
        releases reads just theirs); laid out again when the index object or the collection's
        count changes (a sync, here or in another process, lands after the main write)."""
        key = (index, self.count())
        with self._lock:
            if self._rows_for is not None and self._rows_for[0] is key[0] and self._rows_for[1] == key[1]:
                return self._matrix, self._have
            live = index.rows_of()
            new = [i for i in live if i not in self._vectors]
            if len(new) > len(live) // 2:
                self._vectors = {}
                for page in self.store._scan(["embeddings"], collection=self.collection):
                    self._vectors.update(zip(page["ids"], np.asarray(page["embeddings"], dtype=np.float32)))
            else:
                collection = self.collection
                for page in self.store.pages_of(new):
                    got = collection.get(ids=page, include=["embeddings"])
                    self._vectors.update(zip(got["ids"], np.asarray(got["embeddings"], dtype=np.float32)))
            if len(self._vectors) > 1.25 * len(live) + 1000:  # deleted chunks pile up: keep only live ones
                self._vectors = {i: v for i, v in self._vectors.items() if i in live}
            dim = len(next(iter(self._vectors.values()))) if self._vectors else 1
            self._matrix = np.zeros((len(index.alive), dim), dtype=np.float32)
            self._have = np.zeros(len(index.alive), dtype=bool)
            for chunk_id, row in live.items():
                vector = self._vectors.get(chunk_id)
                if vector is not None:
                    self._matrix[row] = vector
                    self._have[row] = True
            self._rows_for = key
            return self._matrix, self._have
