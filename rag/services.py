"""Builds the services once per process; the CLI, the UI and the eval harness all go through here."""

from __future__ import annotations

import threading
from functools import cached_property

from rag.settings import Settings, load_settings


class Services:
    """Lazily built: `rag config` must not load a model, and a question must not wait for ingestion code."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or load_settings()
        self._lock = threading.RLock()

    @cached_property
    def embedder(self):
        from rag.embeddings import get_embedder

        with self._lock:
            return get_embedder(self.settings)

    @cached_property
    def store(self):
        from rag.store import ChunkStore

        with self._lock:
            return ChunkStore(self.settings)

    @cached_property
    def retriever(self):
        from rag.retrieval import Retriever

        return Retriever(self.store, self.embedder, self.settings.retrieval)

    @cached_property
    def ingest(self):
        from rag.ingest.pipeline import IngestService

        # The model loads on first use: re-ingesting unchanged files needs no encoder.
        return IngestService(self.settings, self.store, lambda: self.embedder)

    @cached_property
    def answers(self):
        from rag.answer.service import AnswerService

        return AnswerService(self.retriever, self.embedder, self.settings)


_cache: dict[str, Services] = {}
_cache_lock = threading.Lock()


def get_services(settings: Settings | None = None) -> Services:
    settings = settings or load_settings()
    key = settings.model_dump_json()
    with _cache_lock:
        if key not in _cache:
            _cache[key] = Services(settings)
        return _cache[key]
