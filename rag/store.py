"""Chroma (embedded or server) plus the lexical index, behind one interface.

Chroma holds every chunk: its vector, its text and its metadata (document fields, offsets,
the document's content hash and chunk count). Everything else, the lexical index and the
per-document manifest, is derived from it, so one Chroma server can back many processes.
"""

from __future__ import annotations

import hashlib
import math
import threading
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from rag.lexical import LexicalIndex, date_key
from rag.settings import Settings
from rag.types import Chunk, Filters

class EmbeddingModelMismatch(RuntimeError):
    """The store's vectors were made by another model: mixing them would rank nonsense (both
    bundled models give 384-dimensional vectors, so Chroma would not notice)."""


_PAGE = 5000  # rows per Chroma get(): keeps memory flat on large collections
_NAMED_IDS_MAX = 5000  # a filter passing at most this many chunks names them to Chroma (~5 ms at 10k)
_OVERFETCH_MAX = 1000  # else: unfiltered neighbours fetched to filter ourselves (~11 ms for 1000 at 10k)
_ENOUGH_FILTERED = 100  # passing neighbours that make a good enough head for fusion


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
    if filters.date_from:
        clauses.append({"published": {"$gte": date_key(filters.date_from)}})
    if filters.date_to:
        clauses.append({"published": {"$lte": date_key(filters.date_to)}})
        clauses.append({"published": {"$gt": 0}})
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

    # -- writes ---------------------------------------------------------------------------
    def upsert(
        self, chunks: list[Chunk], vectors: np.ndarray, hashes: list[str], counts: list[int], model: str = ""
    ) -> None:
        """model: the embedding model that made ``vectors``; a store takes one model's vectors only."""
        if model:
            self.check_model(model)
            if self.embedding_model() != model:
                self._bump_version(model)  # recorded before the first vector lands
        for lo in range(0, len(chunks), self.max_batch):
            part = slice(lo, lo + self.max_batch)
            self.collection.upsert(
                ids=[c.chunk_id for c in chunks[part]],
                embeddings=vectors[part],
                documents=[c.text for c in chunks[part]],
                metadatas=[chunk_metadata(c, h, n) for c, h, n in zip(chunks[part], hashes[part], counts[part])],
            )
        self._bump_version()

    def delete(self, chunk_ids: list[str]) -> None:
        if not chunk_ids:
            return
        for lo in range(0, len(chunk_ids), self.max_batch):
            self.collection.delete(ids=chunk_ids[lo : lo + self.max_batch])
        self._bump_version()

    def _bump_version(self, model: str | None = None) -> None:
        # A fresh token on every write: any process holding a lexical index built from an older
        # token rebuilds it before its next search. Chroma replaces the metadata whole, so the
        # model recorded is written again each time.
        metadata = {"version": uuid.uuid4().hex}
        model = model if model is not None else self.embedding_model()
        if model:
            metadata["embedding_model"] = model
        self.collection.modify(metadata=metadata)

    # -- reads ----------------------------------------------------------------------------
    def version(self) -> str:
        return self._metadata().get("version", "")

    def count(self) -> int:
        return self.collection.count()

    def _scan(self, include: list[str], where: dict | None = None):
        offset = 0
        while True:
            page = self.collection.get(include=include, where=where, limit=_PAGE, offset=offset)
            if not page["ids"]:
                return
            yield page
            offset += len(page["ids"])

    def doc_states(self) -> dict[str, DocState]:
        states: dict[str, DocState] = {}
        for page in self._scan(["metadatas"]):
            for chunk_id, meta in zip(page["ids"], page["metadatas"]):
                state = states.setdefault(meta["doc_id"], DocState(meta["doc_id"], meta.get("path", "")))
                state.chunk_ids_by_hash[meta["doc_hash"]].append(chunk_id)
                state.n_chunks_by_hash[meta["doc_hash"]] = int(meta["n_chunks"])
        return states

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

    def stats(self) -> dict:
        docs = self.documents()
        by_month = Counter(d.published.strftime("%Y-%m") for d in docs if d.published)
        return {
            "documents": len(docs),
            "chunks": self.count(),
            "by_source": dict(Counter(d.source or "(unknown)" for d in docs).most_common()),
            "by_language": dict(Counter(d.language or "(unknown)" for d in docs).most_common()),
            "by_month": dict(sorted(by_month.items())),
        }

    def languages(self) -> list[str]:
        return sorted({d.language for d in self.documents() if d.language})

    def sources(self) -> list[str]:
        return sorted({d.source for d in self.documents() if d.source})

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
    def dense_search(self, vector: np.ndarray, k: int, filters: Filters = Filters()) -> list[tuple[Chunk, float]]:
        hits = self.dense_scores(vector, k, filters)
        by_id = {c.chunk_id: c for c in self.get_chunks([i for i, _ in hits])}
        return [(by_id[i], score) for i, score in hits if i in by_id]

    def dense_scores(self, vector: np.ndarray, k: int, filters: Filters = Filters()) -> list[tuple[str, float]]:
        """(chunk_id, cosine similarity) pairs, best first; fetch the chunks you keep with get_chunks.

        Fetching texts and metadata for every candidate cost more than the search itself (10 ms of
        12 at 10k chunks), so only ids come back. Chroma's metadata pre-filter scans SQLite (75 ms
        at 10k chunks, growing with the store); a filtered search instead uses the lexical index's
        in-memory date/source columns: a selective filter names the passing ids to Chroma, a broad
        one asks HNSW for more neighbours and drops those that fail.
        """
        if k <= 0:
            return []
        query = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        if filters.empty:
            return self._nearest(query, k)
        index = self.lexical_index()
        mask = index.mask(filters)
        passing = int(mask.sum())
        if passing == 0:
            return []
        if passing <= _NAMED_IDS_MAX:
            rows = np.flatnonzero(mask)
            return self._nearest(query, k, ids=[index.ids[r] for r in rows])
        # Expect about 1.5 k passing among the neighbours fetched; the passing ones, in order, are
        # exactly the head of the filtered ranking, so a deep k (fusion takes 1000) may come back
        # shorter rather than fall back to Chroma's SQLite filter (2 s at 100k chunks).
        fetch = min(math.ceil(1.5 * k * len(index.ids) / passing), _OVERFETCH_MAX)
        if fetch > 0:
            hits = self._nearest(query, fetch)
            kept = [hit for hit, ok in zip(hits, index.passing([i for i, _ in hits], filters)) if ok]
            if len(kept) >= min(k, _ENOUGH_FILTERED):
                return kept[:k]
        return self._nearest(query, k, where=chroma_where(filters))

    def _nearest(self, query: np.ndarray, k: int, where: dict | None = None, ids: list[str] | None = None):
        result = self.collection.query(
            query_embeddings=query, n_results=k, where=where, ids=ids, include=["distances"]
        )
        return [(i, 1.0 - float(d)) for i, d in zip(result["ids"][0], result["distances"][0])]  # cosine distance

    def lexical_search(self, query: str, k: int, filters: Filters = Filters()) -> list[tuple[str, float]]:
        """(chunk_id, bm25 score) pairs; fetch the chunks with get_chunks for the ones you keep."""
        return self.lexical_index().search(query, k, filters)

    def lexical_index(self) -> LexicalIndex:
        version = self.version()
        with self._lexical_lock:
            if self._lexical is not None and self._lexical.version == version:
                return self._lexical
            cached = LexicalIndex.load(self.lexical_dir, version)
            if cached is None or cached.version != version:
                cached = self._build_lexical(version)
                cached.save(self.lexical_dir)
            self._lexical = cached
            return cached

    def _build_lexical(self, version: str) -> LexicalIndex:
        ids: list[str] = []
        texts: list[str] = []
        published: list[int] = []
        sources: list[str] = []
        doc_ids: list[str] = []
        titles: list[str] = []
        bodies: list[str] = []
        languages: list[str] = []
        for page in self._scan(["documents", "metadatas"]):
            for chunk_id, text, meta in zip(page["ids"], page["documents"], page["metadatas"]):
                chunk = chunk_from_record(chunk_id, text, meta)
                ids.append(chunk_id)
                texts.append(chunk.embed_text)
                published.append(int(meta.get("published") or 0))
                sources.append(meta.get("source", ""))
                doc_ids.append(chunk.doc_id)
                titles.append(chunk.title)
                bodies.append(chunk.text)
                languages.append(chunk.language)
        return LexicalIndex.build(version, ids, texts, published, sources, doc_ids, titles, bodies, languages)
