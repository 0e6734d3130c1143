"""Chroma (embedded or server) plus the lexical index, behind one interface.

Chroma holds every chunk: its vector, its text and its metadata (document fields, offsets,
the document's content hash and chunk count). Everything else, the lexical index and the
per-document manifest, is derived from it, so one Chroma server can back many processes.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from functools import cached_property
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from rag import lexical_files
from rag.lexical import LexicalIndex, Rows, date_key, relearnt
from rag.settings import Settings
from rag.types import Chunk, Filters

class EmbeddingModelMismatch(RuntimeError):
    """The store's vectors were made by another model: mixing them would rank nonsense (both
    bundled models give 384-dimensional vectors, so Chroma would not notice)."""


log = logging.getLogger(__name__)

_PAGE = 5000  # rows per Chroma get(): keeps memory flat on large collections
# A source's boilerplate is learnt again when its live documents have drifted this far (as a
# share) from those it was learnt on: while writing, at 4x (a new source gets a model early in
# a long ingest that the UI answers during; the extra work is ~1/3 of the source's: at 2x it was
# as much again, +11 % on the demo corpus's ingest); after an ingest run, at 10 % (a finished
# ingest reads as a full rebuild would, and a feed adding a few releases relearns nothing).
RELEARN_WHILE_WRITING = 3.0
RELEARN_AFTER_RUN = 0.1


@dataclass
class DocState:
    """What the store holds of one document, grouped by content hash."""

    doc_id: str
    path: str = ""
    chunk_ids_by_hash: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    n_chunks_by_hash: dict[str, int] = field(default_factory=dict)

    def is_complete(self, content_hash: str) -> bool:
        ids = self.chunk_ids_by_hash.get(content_hash, [])
        return bool(ids) and len(ids) >= self.n_chunks_by_hash.get(content_hash, 1 << 30)

    def has_complete_version(self) -> bool:
        return any(self.is_complete(h) for h in self.chunk_ids_by_hash)

    def stale_ids(self, content_hash: str) -> list[str]:
        return [i for h, ids in self.chunk_ids_by_hash.items() if h != content_hash for i in ids]

    def all_ids(self) -> list[str]:
        return [i for ids in self.chunk_ids_by_hash.values() for i in ids]


@dataclass(frozen=True)
class DocInfo:
    doc_id: str
    title: str
    published: date | None
    source: str
    url: str
    path: str
    language: str
    n_chunks: int


def chunk_metadata(chunk: Chunk, content_hash: str, n_chunks: int) -> dict:
    meta = {
        "doc_id": chunk.doc_id,
        "index": chunk.index,
        "start": chunk.start,
        "end": chunk.end,
        "title": chunk.title,
        "published": date_key(chunk.published),
        "source": chunk.source,
        "url": chunk.url,
        "path": chunk.path,
        "language": chunk.language,
        "doc_hash": content_hash,
        "n_chunks": n_chunks,
    }
    return meta


def chunk_from_record(chunk_id: str, text: str, meta: dict) -> Chunk:
    key = int(meta.get("published") or 0)
    published = date(key // 10000, key // 100 % 100, key % 100) if key else None
    return Chunk(
        chunk_id=chunk_id,
        doc_id=meta["doc_id"],
        index=int(meta["index"]),
        text=text or "",
        start=int(meta["start"]),
        end=int(meta["end"]),
        title=meta.get("title", ""),
        published=published,
        source=meta.get("source", ""),
        url=meta.get("url", ""),
        path=meta.get("path", ""),
        language=meta.get("language", ""),
    )


def chroma_where(filters: Filters) -> dict | None:
    clauses: list[dict] = []
    dated: list[dict] = []
    if filters.date_from:
        dated.append({"published": {"$gte": date_key(filters.date_from)}})
    if filters.date_to:
        dated.append({"published": {"$lte": date_key(filters.date_to)}})
        dated.append({"published": {"$gt": 0}})
    if dated and filters.undated:
        clauses.append({"$or": [{"published": 0}, dated[0] if len(dated) == 1 else {"$and": dated}]})
    else:
        clauses += dated
    if filters.sources:
        clauses.append({"source": {"$in": list(filters.sources)}})
    if filters.languages:
        clauses.append({"language": {"$in": list(filters.languages)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class ChunkStore:
    def __init__(self, settings: Settings):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        self.settings = settings
        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        url = settings.store.url
        if url:
            parsed = urlparse(url)
            if not parsed.hostname:
                raise ValueError(f"store.url {url!r} is not a URL like http://127.0.0.1:8000")
            self.client = chromadb.HttpClient(
                host=parsed.hostname,
                port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                ssl=parsed.scheme == "https",
                settings=chroma_settings,
            )
            where = hashlib.sha1(f"{url}|{settings.store.collection}".encode()).hexdigest()[:12]
            self.lexical_dir = Path(settings.data_dir) / "lexical" / f"server-{where}"
        else:
            chroma_dir = Path(settings.data_dir) / "chroma"
            chroma_dir.mkdir(parents=True, exist_ok=True)
            self.client = chromadb.PersistentClient(path=str(chroma_dir), settings=chroma_settings)
            self.lexical_dir = Path(settings.data_dir) / "lexical" / settings.store.collection
        self._finish_reembed()
        self.collection = self._open(settings.store.collection)
        self.max_batch = self.client.get_max_batch_size()
        self._lexical: LexicalIndex | None = None
        self._lexical_lock = threading.Lock()

    def _open(self, name: str, metadata: dict | None = None):
        return self.client.get_or_create_collection(
            name, configuration={"hnsw": {"space": "cosine"}}, metadata=metadata or {"version": "empty"},
            embedding_function=None,
        )

    # -- changing models: every stored chunk re-embedded into a new collection, then swapped in
    def reembed(self, encode, model: str, progress=None, batch: int = 256) -> int:
        """Re-embed every stored chunk with ``encode`` (the new model's passage encoder) into a
        side collection; the old one answers queries until the swap, and a run killed before it
        leaves the store as it was (the side collection is rebuilt next time). Returns chunks."""
        side_name = self._side_name()
        if side_name in {c.name for c in self.client.list_collections()}:
            self.client.delete_collection(side_name)
        side = self._open(side_name, {"version": "reembed", "embedding_model": model})
        total, done = self.count(), 0
        for page in self._scan(["documents", "metadatas"]):
            for lo in range(0, len(page["ids"]), batch):
                ids, texts, metas = (page[key][lo : lo + batch] for key in ("ids", "documents", "metadatas"))
                chunks = [chunk_from_record(i, t, m) for i, t, m in zip(ids, texts, metas)]
                side.upsert(ids=ids, embeddings=encode([c.embed_text for c in chunks]), documents=texts, metadatas=metas)
                done += len(ids)
                if progress:
                    progress(done, total, "re-embedding")
        side.modify(metadata={"version": uuid.uuid4().hex, "embedding_model": model, "reembed": "complete"})
        self._finish_reembed()
        self.collection = self._open(self.settings.store.collection)
        self._lexical = None
        if model == self.cross_lingual.model:
            self.cross_lingual.drop()  # the store itself is multilingual now
        return done

    def _side_name(self) -> str:
        return f"{self.settings.store.collection}--reembed"

    def _finish_reembed(self) -> None:
        """Swap a completed side collection in (also after a crash between the two steps)."""
        name, side_name = self.settings.store.collection, self._side_name()
        names = {c.name for c in self.client.list_collections()}
        if side_name not in names:
            return
        side = self.client.get_collection(side_name, embedding_function=None)
        if (side.metadata or {}).get("reembed") != "complete":
            return  # an unfinished run: the old collection still stands; the next reembed redoes it
        if name in names:
            self.client.delete_collection(name)
        metadata = {k: v for k, v in (side.metadata or {}).items() if k != "reembed"}
        side.modify(name=name, metadata=metadata)

    # -- the model that made the vectors -------------------------------------------------
    def embedding_model(self) -> str:
        """The embedding model of the stored vectors; "" for an empty store, or for one written
        before the model was recorded."""
        return self._metadata().get("embedding_model", "")

    def check_model(self, model: str) -> None:
        stored = self.embedding_model()
        if stored and stored != model and self.count():
            raise EmbeddingModelMismatch(
                f"the store in {self.settings.data_dir} (collection {self.settings.store.collection!r}) holds "
                f"vectors made by {stored}, not {model}: run `rag reembed` to re-embed its chunks with {model}, "
                f"or set embedding.model = \"{stored}\" (or \"auto\")"
            )

    def _metadata(self) -> dict:
        fresh = self.client.get_collection(self.settings.store.collection, embedding_function=None)
        return dict(fresh.metadata or {})

    # -- writes ----------------------------------------------------------------------------
    # Every write takes the lexical folder's lock, writes Chroma, takes a fresh version token
    # and saves the lexical index of that version: the index of the version before plus what
    # this write changed. Processes sharing a data_dir thus never rebuild after each other's
    # writes; one that sees a version it has no manifest for (a writer on another machine,
    # sharing a Chroma server) rebuilds from Chroma as before.
    def upsert(
        self, chunks: list[Chunk], vectors: np.ndarray, hashes: list[str], counts: list[int], model: str = ""
    ) -> None:
        """model: the embedding model that made ``vectors``; a store takes one model's vectors only."""
        if model:
            self.check_model(model)
        with self._writing() as change:
            if model:
                if self.embedding_model() != model:
                    change.model = model
                    self._bump_version(model)  # recorded before the first vector lands
            for lo in range(0, len(chunks), self.max_batch):
                part = slice(lo, lo + self.max_batch)
                self.collection.upsert(
                    ids=[c.chunk_id for c in chunks[part]],
                    embeddings=vectors[part],
                    documents=[c.text for c in chunks[part]],
                    metadatas=[chunk_metadata(c, h, n) for c, h, n in zip(chunks[part], hashes[part], counts[part])],
                )
            change.added.append(Rows.from_chunks(chunks, vectors, hashes, counts))

    def delete(self, chunk_ids: list[str]) -> None:
        if not chunk_ids:
            return
        with self._writing() as change:
            for page in self.pages_of(chunk_ids):
                self.collection.delete(ids=page)
            change.deleted.extend(chunk_ids)
        self.cross_lingual.delete(chunk_ids)  # after the main write: a leftover is dropped by the next sync

    @cached_property
    def cross_lingual(self):
        """The e5 side collection for questions in other languages (rag.bridge); may not exist."""
        from rag.bridge import CrossLingualIndex
        from rag.embeddings import E5_SMALL

        return CrossLingualIndex(self, E5_SMALL)

    def refresh_lexical(self) -> None:
        """After an ingest run: relearn the boilerplate of sources that changed by 10% or more."""
        with self._writing(changes_chroma=False) as change:
            change.relearn = RELEARN_AFTER_RUN

    @contextmanager
    def _writing(self, changes_chroma: bool = True):
        with lexical_files.write_lock(self.lexical_dir):
            base = self._index_at(self.version())
            change = _Change()
            # Write-ahead: a new version before Chroma changes, so a process killed mid-write
            # (SIGKILL: no except clause runs) leaves a version no saved index claims, and the
            # next search rebuilds from Chroma instead of trusting an index that lacks the write.
            if changes_chroma:
                self._bump_version()
            try:
                yield change
            except BaseException:
                self._bump_version()  # Chroma may hold part of the write: no index claims this version
                with self._lexical_lock:
                    self._lexical = None
                raise
            if change.relearn and (base is None or not base.sources_to_relearn(change.relearn)):
                return  # nothing to relearn: no new version
            version = self._bump_version(change.model)
            index = None
            if base is not None:
                index = base.without_ids(change.deleted, version)  # a new object at `version`, also when nothing goes
                for rows in change.added:
                    index = index.with_rows(rows, version)
                index = self._relearn(index, version, change.relearn or RELEARN_WHILE_WRITING)
                stored = self.count()
                if index.n_live != stored:
                    # Someone wrote between our reads (another host on a shared Chroma server):
                    # this index would miss it. The next search rebuilds from Chroma instead.
                    log.warning("lexical index out of step with the store (%d vs %d chunks): rebuilding",
                                index.n_live, stored)
                    index = None
                else:
                    lexical_files.save(index, self.lexical_dir)
            with self._lexical_lock:
                self._lexical = index

    def _index_at(self, version: str) -> LexicalIndex | None:
        with self._lexical_lock:
            if self._lexical is not None and self._lexical.version == version:
                return self._lexical
        vocab = self._lexical.vocab if self._lexical is not None else None
        index = lexical_files.load(self.lexical_dir, version, vocab)
        if index is None and self.count() == 0:
            index = LexicalIndex.empty(version)
        return index

    def _relearn(self, index: LexicalIndex, version: str, drift: float) -> LexicalIndex:
        """Learn the boilerplate of drifted sources again from their chunks' texts and re-index
        those chunks (vectors kept): work in proportion to the source, not the store."""
        for source in index.sources_to_relearn(drift):
            ids = index.source_ids(source)
            chunks: list[Chunk] = []
            hashes, counts = [], []
            for lo in range(0, len(ids), _PAGE):
                _add_records(self.collection.get(ids=ids[lo : lo + _PAGE], include=["documents", "metadatas"]),
                             chunks, hashes, counts)
            vectors = index.vectors_of([c.chunk_id for c in chunks])
            boilerplate = relearnt(index.boilerplate, source, ((c.doc_id, c.text) for c in chunks))
            index = index.without_ids(ids, version).with_boilerplate(boilerplate, version)
            index = index.with_rows(Rows.from_chunks(chunks, vectors, hashes, counts), version)
        return index

    def _bump_version(self, model: str | None = None) -> str:
        # A fresh token on every write: any process holding a lexical index built from an older
        # token loads (or rebuilds) the new one before its next search. Chroma replaces the
        # metadata whole, so the model recorded is written again each time.
        version = uuid.uuid4().hex
        metadata = {"version": version}
        model = model if model is not None else self.embedding_model()
        if model:
            metadata["embedding_model"] = model
        self.collection.modify(metadata=metadata)
        return version

    # -- reads ----------------------------------------------------------------------------
    def version(self) -> str:
        return self._metadata().get("version", "")

    def count(self) -> int:
        return self.collection.count()

    def _scan(self, include: list[str], where: dict | None = None, collection=None):
        collection = collection if collection is not None else self.collection
        offset = 0
        while True:
            page = collection.get(include=include, where=where, limit=_PAGE, offset=offset)
            if not page["ids"]:
                return
            yield page
            offset += len(page["ids"])

    def doc_states(self) -> dict[str, DocState]:
        """Per document, its stored chunks by content hash: read from the lexical index's rows
        (Chroma's metadata scan took seconds at 100k chunks, on every ingest)."""
        states: dict[str, DocState] = {}
        for chunk_id, doc_id, content_hash, path, n_chunks in self.lexical_index().live_rows():
            state = states.get(doc_id)
            if state is None:
                state = states[doc_id] = DocState(doc_id, path)
            state.chunk_ids_by_hash[content_hash].append(chunk_id)
            state.n_chunks_by_hash[content_hash] = n_chunks
        return states

    def embedded(self, under: Path | None = None, collection=None) -> tuple[list[str], np.ndarray]:
        """(embedded text, vector) of every stored chunk, or of those whose file lies under
        `under`: what `rag export-vectors` writes beside a corpus. `collection`: where the
        vectors come from (the cross-lingual one holds no texts: they come from the main one)."""
        root = Path(under).resolve() if under is not None else None
        texts, blocks = [], []
        for page in self._scan(["metadatas", "embeddings"], collection=collection):
            keep = [
                i for i, meta in enumerate(page["metadatas"])
                if root is None or Path(meta.get("path") or "").resolve().is_relative_to(root)
            ]
            if not keep:
                continue
            ids = [page["ids"][i] for i in keep]
            got = self.collection.get(ids=ids, include=["documents", "metadatas"])
            by_id = {i: chunk_from_record(i, t, m).embed_text for i, t, m in zip(got["ids"], got["documents"], got["metadatas"])}
            rows = [i for i, chunk_id in zip(keep, ids) if chunk_id in by_id]
            texts.extend(by_id[page["ids"][i]] for i in rows)
            blocks.append(np.asarray(page["embeddings"], dtype=np.float32)[rows])
        return texts, (np.concatenate(blocks) if blocks else np.zeros((0, 0), dtype=np.float32))

    def documents(self) -> list[DocInfo]:
        per_doc: dict[str, DocInfo] = {}
        for page in self._scan(["metadatas"], where={"index": 0}):
            for chunk_id, meta in zip(page["ids"], page["metadatas"]):
                chunk = chunk_from_record(chunk_id, "", meta)
                per_doc[chunk.doc_id] = DocInfo(
                    chunk.doc_id, chunk.title, chunk.published, chunk.source, chunk.url, chunk.path,
                    chunk.language, int(meta["n_chunks"]),
                )
        return sorted(per_doc.values(), key=lambda d: (d.published or date.min, d.title), reverse=True)

    def newest_date(self) -> date | None:
        """Publication date of the newest stored release, from the lexical index's date column
        (listing the documents scans Chroma's metadata: 0.34 s of a cold `rag ask` at 12k chunks)."""
        key = self.lexical_index().newest_published()
        return date(key // 10000, key // 100 % 100, key % 100) if key else None

    def get_chunks(self, chunk_ids: list[str]) -> list[Chunk]:
        """The chunks, in the order asked, each with its boilerplate spans marked."""
        if not chunk_ids:
            return []
        got = self.collection.get(ids=list(chunk_ids), include=["documents", "metadatas"])
        by_id = {i: chunk_from_record(i, t, m) for i, t, m in zip(got["ids"], got["documents"], got["metadatas"])}
        return self._with_boilerplate([by_id[i] for i in chunk_ids if i in by_id])

    def _with_boilerplate(self, chunks: list[Chunk]) -> list[Chunk]:
        boilerplate = self.lexical_index().boilerplate
        return [replace(c, boilerplate=boilerplate.spans(c.source, c.text, c.title)) for c in chunks]

    def boilerplate_shares(self, chunk_ids: list[str]) -> list[float]:
        return self.lexical_index().boilerplate_shares(chunk_ids)

    def document_chunks(self, doc_id: str) -> list[Chunk]:
        got = self.collection.get(where={"doc_id": doc_id}, include=["documents", "metadatas"])
        chunks = [chunk_from_record(i, t, m) for i, t, m in zip(got["ids"], got["documents"], got["metadatas"])]
        return self._with_boilerplate(sorted(chunks, key=lambda c: c.index))

    # -- search ---------------------------------------------------------------------------
    def pages_of(self, ids: list[str]):
        """`ids` in runs of at most the largest batch the Chroma client takes in one call."""
        for lo in range(0, len(ids), self.max_batch):
            yield ids[lo : lo + self.max_batch]

    def dense_search(self, vector: np.ndarray, k: int, filters: Filters = Filters()) -> list[tuple[Chunk, float]]:
        hits = self.dense_scores(vector, k, filters)
        by_id = {c.chunk_id: c for c in self.get_chunks([i for i, _ in hits])}
        return [(by_id[i], score) for i, score in hits if i in by_id]

    def dense_scores(self, vector: np.ndarray, k: int, filters: Filters = Filters()) -> list[tuple[str, float]]:
        """(chunk_id, cosine similarity) pairs, best first; fetch the chunks you keep with get_chunks.

        Fetching texts and metadata for every candidate cost more than the search itself (10 ms of
        12 at 10k chunks), so only ids come back. A filtered search is exact, over the lexical
        index's copy of the vectors (its date/source/language columns pick the rows): Chroma's
        metadata pre-filter scans SQLite (75 ms at 10k chunks, 2 s at 100k), and restricting
        HNSW to named ids cost 52-57 ms at 100k. An unfiltered search is exact in the same way up
        to retrieval.exact_up_to chunks, and Chroma's HNSW index above.
        """
        if k <= 0:
            return []
        query = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        index = self.lexical_index()
        # HNSW is approximate and built differently each time: unfiltered, exact while a scan is cheap
        if filters.empty and index.n_live > self.settings.retrieval.exact_up_to:
            return self._nearest(query, k)
        hits = index.dense_search(query, k, filters)
        if hits is None:  # an index without vectors: Chroma's own search and filter
            return self._nearest(query, k, where=chroma_where(filters))
        return hits

    def _nearest(self, query: np.ndarray, k: int, where: dict | None = None):
        result = self.collection.query(query_embeddings=query, n_results=k, where=where, include=["distances"])
        return [(i, 1.0 - float(d)) for i, d in zip(result["ids"][0], result["distances"][0])]  # cosine distance

    def lexical_search(self, query: str, k: int, filters: Filters = Filters()) -> list[tuple[str, float]]:
        """(chunk_id, bm25 score) pairs; fetch the chunks with get_chunks for the ones you keep."""
        return self.lexical_index().search(query, k, filters)

    def lexical_index(self) -> LexicalIndex:
        version = self.version()
        index = self._index_at(version)
        if index is None:
            # Wait for a writer that has bumped the version but not saved its index yet, then
            # rebuild only if nobody has (one rebuild per data_dir, not one per process).
            with lexical_files.write_lock(self.lexical_dir):
                version = self.version()
                index = self._index_at(version)
                if index is None:
                    index = self._build_lexical(version)
                    lexical_files.save(index, self.lexical_dir)
        with self._lexical_lock:
            self._lexical = index
        return index

    def _build_lexical(self, version: str) -> LexicalIndex:
        chunks: list[Chunk] = []
        hashes, counts, vectors = [], [], []
        for page in self._scan(["documents", "metadatas", "embeddings"]):
            _add_records(page, chunks, hashes, counts)
            vectors.extend(page["embeddings"])
        rows = Rows.from_chunks(chunks, np.asarray(vectors, dtype=np.float32) if vectors else None, hashes, counts)
        return LexicalIndex.build(version, **vars(rows))


def _add_records(got: dict, chunks: list[Chunk], hashes: list[str], counts: list[int]) -> None:
    """A Chroma get()'s records as chunks, with their document hash and chunk count."""
    for chunk_id, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
        chunks.append(chunk_from_record(chunk_id, text, meta))
        hashes.append(meta.get("doc_hash", ""))
        counts.append(int(meta.get("n_chunks") or 0))


@dataclass
class _Change:
    """What one write did, for the lexical index to follow."""

    added: list[Rows] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    model: str | None = None
    relearn: float = 0.0  # a refresh: relearn boilerplate at this drift
