"""Ingestion: files -> documents -> chunks -> vectors -> store, idempotent and crash-safe.

Every chunk records its document's content hash and chunk count. A document is current when
the store holds all chunks of its present hash; then older versions' chunks are deleted.
So re-ingesting unchanged files writes nothing, a changed file replaces its chunks only
once the new ones are all stored, and a run killed half-way leaves a store that answers
queries (old versions stay until replaced) and that the next run completes.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.ingest.chunking import chunk_document
from rag.ingest.readers import SUPPORTED_SUFFIXES, file_suffix, read_file
from rag.settings import Settings
from rag.types import Chunk, Document

WRITE_BATCH = 512  # chunks encoded and stored per step: the unit of progress and of loss on a crash

ProgressFn = Callable[[int, int, str], None]  # (done, total, message)


@dataclass
class FileResult:
    path: str
    status: str  # "ingested" | "unchanged" | "failed" | "partial" (some records failed)
    documents: int = 0
    chunks: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class IngestReport:
    files: list[FileResult] = field(default_factory=list)
    removed_documents: int = 0
    chunks_written: int = 0
    seconds: float = 0.0

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.status in ("failed", "partial")]

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for f in self.files:
            counts[f.status] = counts.get(f.status, 0) + 1
        parts = [f"{n} {status}" for status, n in sorted(counts.items())]
        return (
            f"{len(self.files)} files ({', '.join(parts) or 'none'}); {self.chunks_written} chunks written; "
            f"{self.removed_documents} documents removed; {self.seconds:.1f} s"
        )


# A folder's README or LICENSE describes the folder; it is not a release. Named explicitly, it is read.
NOT_RELEASES = frozenset({"readme", "license", "licence", "changelog", "contributing"})


def _is_release_file(path: Path) -> bool:
    stem = path.name.split(".")[0].lower()
    return (
        path.is_file() and file_suffix(path) in SUPPORTED_SUFFIXES
        and not path.name.startswith(".") and stem not in NOT_RELEASES
    )


def expand_paths(paths: Iterable[Path]) -> tuple[list[Path], list[FileResult]]:
    """Files to read, in a stable order; a named path that doesn't exist is a failure, not a crash."""
    files: list[Path] = []
    problems: list[FileResult] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(p for p in sorted(path.rglob("*")) if _is_release_file(p))
        elif path.is_file():
            files.append(path)  # named explicitly: an unsupported type is reported by the reader
        else:
            problems.append(FileResult(str(path), "failed", errors=[f"{path}: no such file or directory"]))
    return list(dict.fromkeys(files)), problems


class IngestService:
    def __init__(self, settings: Settings, store, embedder):
        """embedder: an Embedder, or a function returning one, called only once something needs
        chunking or encoding; a re-ingest of unchanged files then never loads the model."""
        self.settings = settings
        self.store = store
        self._embedder = embedder
        # The hash covers what shapes the stored chunks, so changing the chunker re-ingests. The
        # embedding model is not in it: the store records its model and refuses another's vectors
        # (`rag reembed` changes models), and "auto" picks the model only once documents are read.
        self._recipe = json.dumps([settings.chunking.model_dump(), settings.embedding.max_tokens], sort_keys=True)
        self._languages: set[str] = set()

    @property
    def embedder(self):
        if not hasattr(self._embedder, "encode"):
            self._embedder = self._embedder(self._languages)  # a factory: told the documents' languages
        return self._embedder

    def content_hash(self, doc: Document) -> str:
        fields = [doc.title, doc.text, str(doc.published), doc.source, doc.url, doc.path, doc.language, self._recipe]
        return hashlib.sha1("\x1f".join(fields).encode()).hexdigest()[:16]

    def ingest(self, paths: Iterable[Path], sync: bool = False, progress: ProgressFn | None = None) -> IngestReport:
        started = time.perf_counter()
        files, report_files = expand_paths(paths)
        report = IngestReport(files=report_files)
        states = self.store.doc_states()
        pending: list[tuple[Document, str]] = []
        seen_docs: dict[str, str] = {}  # doc_id -> path that produced it in this run
        read_ok_paths: set[str] = set()

        for i, path in enumerate(files):
            if progress:
                progress(i, len(files), f"reading {path.name}")
            result = read_file(path)
            errors = [str(e) for e in result.errors]
            if not result.documents:
                report.files.append(FileResult(str(path), "failed", errors=errors or [f"{path}: no documents"]))
                continue
            read_ok_paths.add(str(path))
            changed = 0
            for doc in result.documents:
                if doc.doc_id in seen_docs:
                    errors.append(f"{path}: duplicate document id {doc.doc_id} (also in {seen_docs[doc.doc_id]}); kept the last")
                    pending = [(d, h) for d, h in pending if d.doc_id != doc.doc_id]
                seen_docs[doc.doc_id] = str(path)
                digest = self.content_hash(doc)
                state = states.get(doc.doc_id)
                if state is None or not state.is_complete(digest) or state.stale_ids(digest):
                    pending.append((doc, digest))
                    changed += 1
            status = "partial" if errors else ("ingested" if changed else "unchanged")
            report.files.append(FileResult(str(path), status, documents=len(result.documents), errors=errors))

        written = self._write(pending, states, progress)
        report.chunks_written = sum(written.values())
        by_path = {f.path: f for f in report.files}
        for doc_id, n in written.items():
            by_path[seen_docs[doc_id]].chunks += n
        if sync:
            report.removed_documents = self._sync(states, seen_docs, read_ok_paths)
        if pending or report.removed_documents:
            self.store.lexical_index()  # rebuild now, so the first question after ingest is fast
        report.seconds = time.perf_counter() - started
        return report

    def _write(self, pending: list[tuple[Document, str]], states, progress: ProgressFn | None) -> dict[str, int]:
        """Chunk, embed and store the pending documents; returns chunks written per document."""
        self._languages.update(doc.language for doc, _ in pending)
        todo: list[tuple[Chunk, str, int]] = []
        for doc, digest in pending:
            chunks = self._chunk(doc, digest)
            state = states.get(doc.doc_id)
            have = set(state.chunk_ids_by_hash.get(digest, [])) if state else set()
            todo.extend((c, digest, len(chunks)) for c in chunks if c.chunk_id not in have)
        # Encoding sorted by length wastes no time on padding; documents complete out of order,
        # which the hash/count bookkeeping tolerates.
        todo.sort(key=lambda item: len(item[0].text))
        written: dict[str, int] = {}
        for lo in range(0, len(todo), WRITE_BATCH):
            batch = todo[lo : lo + WRITE_BATCH]
            if progress:
                progress(lo, len(todo), "embedding")
            vectors = self._encode([c.embed_text for c, _, _ in batch], progress, lo, len(todo))
            self.store.upsert(
                [c for c, _, _ in batch], vectors, [h for _, h, _ in batch], [n for _, _, n in batch], self.embedder.name
            )
            for chunk, _, _ in batch:
                written[chunk.doc_id] = written.get(chunk.doc_id, 0) + 1
        if progress:
            progress(len(todo), len(todo), "embedding")
        # All new versions are complete now: drop the chunks of older versions.
        stale = [i for doc, digest in pending if (s := states.get(doc.doc_id)) for i in s.stale_ids(digest)]
        self.store.delete(stale)
        return written

    def _encode(self, texts: list[str], progress: ProgressFn | None, done: int, total: int) -> np.ndarray:
        """One model batch per encode call: the embedder's lock is free between calls, so a
        question asked while an ingest runs in the same process (the UI) waits for one batch,
        not a whole write batch. Progress (passages encoded; they are stored once per write
        batch) is reported between steps too: a smoother bar, and where a background ingest stops."""
        step = self.settings.embedding.batch_size
        if len(texts) <= step:
            return self.embedder.encode(texts)
        # The batches sentence-transformers would form inside one call: longest texts first.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        vectors = None
        for lo in range(0, len(order), step):
            if lo and progress:
                progress(done + lo, total, "embedding")
            rows = order[lo : lo + step]
            part = self.embedder.encode([texts[i] for i in rows])
            if vectors is None:
                vectors = np.empty((len(texts), part.shape[1]), dtype=part.dtype)
            vectors[rows] = part
        return vectors

    def _chunk(self, doc: Document, digest: str) -> list[Chunk]:
        # Title and date travel with each chunk's embedded text: leave room for them in the window.
        prefix = Chunk("", doc.doc_id, 0, "", 0, 0, title=doc.title, published=doc.published).embed_text
        budget = self.settings.embedding.max_tokens - 2 - self.embedder.count_tokens(prefix)
        max_tokens = max(32, min(self.settings.chunking.max_tokens, budget))
        chunks = chunk_document(doc, self.embedder.count_tokens, max_tokens, self.settings.chunking.min_tokens)
        return [
            Chunk(**{**c.__dict__, "chunk_id": f"{doc.doc_id}:{digest}:{c.index}"}) for c in chunks
        ]

    def _sync(self, states, seen_docs: dict[str, str], read_ok_paths: set[str]) -> int:
        """Remove documents whose file is gone, or whose archive no longer holds them.

        Documents of files that failed to read this run are kept: bad input never loses stored data.
        """
        doomed = [
            state for doc_id, state in states.items()
            if doc_id not in seen_docs and (not Path(state.path).exists() or state.path in read_ok_paths)
        ]
        self.store.delete([i for state in doomed for i in state.all_ids()])
        return len(doomed)
