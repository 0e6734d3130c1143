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
from functools import cached_property
from pathlib import Path

import numpy as np

from rag.ingest.chunking import chunk_document
from rag.ingest.text import dated_sections
from rag.ingest.vector_cache import VectorCache
from rag.ingest.readers import file_suffix, read_by_content, read_file
from rag.ingest.staging import is_release_name
from rag.settings import Settings
from rag.types import Chunk, Document
from rag.web.fetch import is_url


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
    vectors_reused: int = 0  # of those, vectors taken from the corpus's .vectors file, not encoded
    cross_lingual: int = 0  # chunks also given e5 vectors for questions in other languages (rag.bridge)
    seconds: float = 0.0
    web: dict[str, int] = field(default_factory=dict)  # requests made (rag.web.fetch.FetchLog), when URLs were given

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
        web = ""
        if self.web:
            w = self.web
            web = (
                f"; web: {w.get('requests', 0)} requests ({w.get('conditional', 0)} conditional, "
                f"{w.get('not_modified', 0)} not modified, {w.get('retries', 0)} retries, "
                f"{w.get('robots_refusals', 0)} refused by robots.txt)"
            )
        return (
            f"{len(self.files)} {'files and pages' if self.web else 'files'} ({', '.join(parts) or 'none'}); "
            f"{self.chunks_written} chunks written"
            f"{f' ({self.vectors_reused} with vectors the corpus carries)' if self.vectors_reused else ''}; "
            f"{self.removed_documents} documents removed"
            f"{f'; {self.cross_lingual} also embedded for questions in other languages' if self.cross_lingual else ''}"
            f"; {self.seconds:.1f} s{web}"
        )


# A folder's README or LICENSE describes the folder; it is not a release. Named explicitly, it is read.
NOT_RELEASES = frozenset({"readme", "license", "licence", "changelog", "contributing"})


def _is_release_file(path: Path, folder: Path) -> bool:
    """What a reader reads (a wget mirror's news.php?id=7 and names without a suffix included), and
    zips of it; not a hidden file, nor a name-by-content file under a hidden folder (.git's objects)."""
    stem = path.name.split(".")[0].lower()
    return (
        path.is_file() and (is_release_name(path) or file_suffix(path) == ".zip")
        and not path.name.startswith(".") and stem not in NOT_RELEASES
        and not (read_by_content(path) and any(p.startswith(".") for p in path.relative_to(folder).parts))
    )


def expand_paths(paths: Iterable[Path]) -> tuple[list[Path], list[FileResult]]:
    """Files to read, in a stable order; a named path that doesn't exist is a failure, not a crash."""
    files: list[Path] = []
    problems: list[FileResult] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(p for p in sorted(path.rglob("*")) if _is_release_file(p, path))
        elif path.is_file():
            files.append(path)  # named explicitly: an unsupported type is reported by the reader
        else:
            problems.append(FileResult(str(path), "failed", errors=[f"{path}: no such file or directory"]))
    return list(dict.fromkeys(files)), problems


def encode_longest_first(encode, texts: list[str], step: int, progress: ProgressFn | None = None,
                         done: int = 0, total: int = 0, message: str = "embedding") -> np.ndarray:
    """`encode` over `texts` in calls of `step`, longest texts first (like lengths share a batch:
    the batches sentence-transformers would form inside one call), reporting progress between
    calls; rows come back in the texts' order."""
    if len(texts) <= step:
        return encode(texts)
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    vectors = None
    for lo in range(0, len(order), step):
        if lo and progress:
            progress(done + lo, total, message)
        rows = order[lo : lo + step]
        part = encode([texts[i] for i in rows])
        if vectors is None:
            vectors = np.empty((len(texts), part.shape[1]), dtype=part.dtype)
        vectors[rows] = part
    return vectors


class IngestService:
    def __init__(self, settings: Settings, store, embedder, cross_lingual=None):
        """embedder: an Embedder, or a function returning one, called only once something needs
        chunking or encoding; a re-ingest of unchanged files then never loads the model.
        cross_lingual: a function of the paths ingested returning (rag.bridge.CrossLingualIndex,
        a function returning its encoder) or None: the e5 side collection kept level after each ingest."""
        self.settings = settings
        self._read_limits = settings.ingest.read_limits()
        self.store = store
        self._embedder = embedder
        # The hash covers what shapes the stored chunks, so changing the chunker re-ingests. The
        # embedding model is not in it: the store records its model and refuses another's vectors
        # (`rag reembed` changes models), and "auto" picks the model only once documents are read.
        self._recipe = json.dumps([settings.chunking.model_dump(), settings.embedding.max_tokens], sort_keys=True)
        self._languages: set[str] = set()
        self._cache_paths: list[Path] = []  # the folders being ingested: vectors they carry are reused
        self.cache_hits = 0  # passages whose vectors came from a corpus's .vectors file (all runs)
        self._cross_lingual = cross_lingual
        self._written_ids: list[str] = []

    @property
    def embedder(self):
        if not hasattr(self._embedder, "encode"):
            self._embedder = self._embedder(self._languages)  # a factory: told the documents' languages
        return self._embedder

    def content_hash(self, doc: Document) -> str:
        fields = [doc.title, doc.text, str(doc.published), doc.source, doc.url, doc.path, doc.language, self._recipe]
        if dated_sections(doc.text):
            fields.append("releases dated one by one")  # chunked apart since 2026-12-07: stored ones re-chunk
        return hashlib.sha1("\x1f".join(fields).encode()).hexdigest()[:16]

    @cached_property
    def web(self):
        from rag.web.source import WebReader

        return WebReader(self.settings, recipe=self._recipe)

    def _unzipped(self, files: list[Path]) -> tuple[list[Path], list[FileResult]]:
        """Zips replaced by the releases they hold, unpacked (safely, as the UI's uploads are) under
        data_dir/unpacked/<hash of the zip>/: the same zip ingested again is the same files, unchanged."""
        if not any(file_suffix(f) == ".zip" for f in files):
            return files, []
        from rag.ingest.staging import stage_uploads

        out: list[Path] = []
        refused: list[FileResult] = []
        root = Path(self.settings.data_dir) / "unpacked"
        for path in files:
            if file_suffix(path) != ".zip":
                out.append(path)
                continue
            staged = stage_uploads([path], root, self.settings.ingest.max_file_mb << 20)
            out.extend(staged.files)
            # a problem names the zip ("releases.zip") or a member in it ("releases.zip/a/b.exe")
            refused += [FileResult(str(path.parent / r.path), "failed", errors=[f"{path.parent / r.path}: {r.problem}"])
                        for r in staged.rejected]
        return list(dict.fromkeys(out)), refused

    def ingest(self, paths: Iterable[Path | str], sync: bool = False, progress: ProgressFn | None = None) -> IngestReport:
        """Ingest files, folders and URLs (feeds, sitemaps, pages: see rag.web)."""
        started = time.perf_counter()
        sources = list(paths)
        urls = [str(s).strip() for s in sources if is_url(s)]
        local = [Path(s) for s in sources if not is_url(s)]
        files, report_files = expand_paths(local)
        files, refused = self._unzipped(files)
        self._cache_paths = local
        report = IngestReport(files=report_files + refused)
        states = self.store.doc_states()
        batch = _Batch(report, states, self.content_hash)

        for i, path in enumerate(files):
            if progress:
                progress(i, len(files), f"reading {path.name}")
            batch.admit(str(path), read_file(path, field_map=self.settings.ingest.field_map or None,
                                             limits=self._read_limits))

        web_reads = []
        if urls:
            stored = {doc_id for doc_id, state in states.items() if state.has_complete_version()}
            for url in urls:
                read = self.web.read(url, stored, progress)
                web_reads.append(read)
                if read.errors:
                    status = "partial" if read.pages else "failed"
                    report.files.append(FileResult(url, status, errors=list(read.errors)))
                for page in read.pages:
                    if page.unchanged:  # a 304: the stored version is current, nothing to read
                        batch.keep(page.url, page.doc_id)
                    else:
                        batch.admit(page.url, page.result)
            report.web = {name: sum(getattr(r.log, name) for r in web_reads) for name in vars(web_reads[0].log)}

        hits_before = self.cache_hits
        self._written_ids = []
        written = self._write(batch.pending, states, progress)
        report.chunks_written = sum(written.values())
        report.vectors_reused = self.cache_hits - hits_before
        by_path = {f.path: f for f in report.files}
        for doc_id, n in written.items():
            by_path[batch.seen_docs[doc_id]].chunks += n
        if web_reads:
            # Validators are remembered only now that the store holds what they stand for.
            stored |= {d.doc_id for d, _ in batch.pending}
            for read in web_reads:
                self.web.commit(read, stored)
        if sync:
            report.removed_documents = self._sync(states, batch.seen_docs, batch.read_ok_paths)
            report.removed_documents += self._sync_web(states, web_reads)
        if batch.pending or report.removed_documents:
            self.store.refresh_lexical()  # boilerplate relearnt where the run changed a source by 10%
            self.store.lexical_index()  # loaded (or rebuilt) now, so the first question after ingest is fast
        report.cross_lingual = self._sync_cross_lingual(progress)
        report.seconds = time.perf_counter() - started
        return report

    def _write(self, pending: list[tuple[Document, str]], states, progress: ProgressFn | None) -> dict[str, int]:
        """Chunk, embed and store the pending documents; returns chunks written per document."""
        self._languages.update(doc.language for doc, _ in pending)
        windows: list[list[tuple[Chunk, str, int]]] = [[]]
        for doc, digest in pending:
            chunks = self._chunk(doc, digest)
            state = states.get(doc.doc_id)
            have = set(state.chunk_ids_by_hash.get(digest, [])) if state else set()
            missing = [(c, digest, len(chunks)) for c in chunks if c.chunk_id not in have]
            if missing and len(windows[-1]) + len(missing) > self.settings.ingest.write_batch and windows[-1]:
                windows.append([])
            windows[-1].extend(missing)
        # Whole documents per write: a store killed mid-run (SIGKILL, power) holds each release
        # complete or not at all, and an older version goes right after its replacement lands.
        # _encode sorts each window by length, so padding costs little more than a global sort.
        total = sum(len(w) for w in windows)
        written: dict[str, int] = {}
        done = 0
        for window in windows:
            if not window:
                continue
            if progress:
                progress(done, total, "embedding")
            vectors = self._vectors([c.embed_text for c, _, _ in window], progress, done, total)
            self.store.upsert(
                [c for c, _, _ in window], vectors, [h for _, h, _ in window], [n for _, _, n in window], self.embedder.name
            )
            done += len(window)
            for chunk, _, _ in window:
                written[chunk.doc_id] = written.get(chunk.doc_id, 0) + 1
                self._written_ids.append(chunk.chunk_id)
            landed = {(chunk.doc_id, digest) for chunk, digest, _ in window}
            self.store.delete([i for doc_id, digest in landed if (s := states.get(doc_id)) for i in s.stale_ids(digest)])
        if progress:
            progress(total, total, "embedding")
        # Documents whose new version was stored whole before (a resumed run): their older versions go too.
        stale = [i for doc, digest in pending if doc.doc_id not in written and (s := states.get(doc.doc_id))
                 for i in s.stale_ids(digest)]
        self.store.delete(stale)
        return written

    def _sync_cross_lingual(self, progress: ProgressFn | None) -> int:
        """Give what this run stored (and anything an earlier run left without) its e5 vector."""
        side = self._cross_lingual(self._cache_paths) if self._cross_lingual is not None else None
        if side is None:
            return 0
        index, encoder = side
        holder: list = []

        def encode(texts):  # e5 loads only when a chunk is in no .vectors file
            if not holder:
                holder.append(encoder())
            return holder[0].encode(texts)

        added, _ = index.sync(encode, progress, self.settings.embedding.max_tokens, written=self._written_ids)
        return added

    def _vector_cache(self) -> VectorCache | None:
        key = (tuple(self._cache_paths), self.embedder.name)
        if getattr(self, "_cache_key", None) != key:  # loaded once per ingest of the same folders
            self._cache_key = key
            self._cache = VectorCache.for_paths(self._cache_paths, self.embedder.name,
                                                self.settings.embedding.max_tokens)
        return self._cache

    def _vectors(self, texts: list[str], progress: ProgressFn | None, done: int, total: int) -> np.ndarray:
        """The texts' vectors: from the corpus's own .vectors file where it holds them, else encoded."""
        cache = self._vector_cache() if self._cache_paths else None
        if cache is None:
            return self._encode(texts, progress, done, total)
        vectors, missing = cache.lookup(texts)
        self.cache_hits += len(texts) - len(missing)
        if missing:
            vectors[missing] = self._encode([texts[i] for i in missing], progress, done, total)
        return vectors

    def _encode(self, texts: list[str], progress: ProgressFn | None, done: int, total: int) -> np.ndarray:
        """One model batch per encode call: the embedder's lock is free between calls, so a
        question asked while an ingest runs in the same process (the UI) waits for one batch,
        not a whole write batch. Progress (passages encoded; they are stored once per write
        batch) is reported between steps too: a smoother bar, and where a background ingest stops."""
        return encode_longest_first(self.embedder.encode, texts, self.settings.embedding.batch_size, progress, done, total)

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
        Web documents are another source's business (``_sync_web``).
        """
        doomed = [
            state for doc_id, state in states.items()
            if doc_id not in seen_docs and not is_url(state.path)
            and (not Path(state.path).exists() or state.path in read_ok_paths)
        ]
        self.store.delete([i for state in doomed for i in state.all_ids()])
        return len(doomed)

    def _sync_web(self, states, web_reads) -> int:
        """Remove the releases a feed or sitemap listed before and no longer does (only with --sync:
        a press archive keeps what a feed rotates out). A listing that failed to load removes nothing."""
        from rag.web.page import web_doc_id

        removed = 0
        for read in web_reads:
            gone = self.web.unlisted(read)
            doomed = [states[web_doc_id(url)] for url in gone if web_doc_id(url) in states]
            self.store.delete([i for state in doomed for i in state.all_ids()])
            self.web.forget(gone)
            removed += len(doomed)
        return removed


class _Batch:
    """The documents one ingest run read, and which of them need writing."""

    def __init__(self, report: IngestReport, states, content_hash):
        self.report = report
        self.states = states
        self.content_hash = content_hash
        self.pending: list[tuple[Document, str]] = []
        self.seen_docs: dict[str, str] = {}  # doc_id -> the file or URL that produced it in this run
        self.read_ok_paths: set[str] = set()

    def admit(self, name: str, result) -> None:
        errors = [str(e) for e in result.errors]
        if not result.documents:
            self.report.files.append(FileResult(name, "failed", errors=errors or [f"{name}: no documents"]))
            return
        self.read_ok_paths.add(name)
        changed = 0
        for doc in result.documents:
            if doc.doc_id in self.seen_docs:
                errors.append(f"{name}: duplicate document id {doc.doc_id} (also in {self.seen_docs[doc.doc_id]}); kept the last")
                self.pending = [(d, h) for d, h in self.pending if d.doc_id != doc.doc_id]
            self.seen_docs[doc.doc_id] = name
            digest = self.content_hash(doc)
            state = self.states.get(doc.doc_id)
            if state is None or not state.is_complete(digest) or state.stale_ids(digest):
                self.pending.append((doc, digest))
                changed += 1
        status = "partial" if errors else ("ingested" if changed else "unchanged")
        self.report.files.append(FileResult(name, status, documents=len(result.documents), errors=errors))

    def keep(self, name: str, doc_id: str) -> None:
        """A source known unchanged without reading it (a web page's 304)."""
        self.seen_docs[doc_id] = name
        self.read_ok_paths.add(name)
        self.report.files.append(FileResult(name, "unchanged", documents=1))
