"""Builds the services once per process; the CLI, the UI and the eval harness all go through here."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

from rag.settings import Settings, load_settings

QUESTION_PRIORITY_MAX_S = 60.0  # a background ingest pauses for one question at most this long


class _Questions:
    """Questions being answered in this process. A background ingest pauses between its encode
    steps while there are any: on 2 cores a question otherwise waits for an ingest step at each of
    its several encoder calls (measured: 12-35 s for one answer instead of a few seconds). A question
    older than QUESTION_PRIORITY_MAX_S no longer holds the ingest back (a slow local LLM, or a
    stream nobody closed), so the ingest always finishes."""

    def __init__(self):
        self._changed = threading.Condition()
        self._started: dict[object, float] = {}

    @contextmanager
    def asking(self) -> Iterator[None]:
        token = object()
        with self._changed:
            self._started[token] = time.monotonic()
        try:
            yield
        finally:
            with self._changed:
                del self._started[token]
                self._changed.notify_all()

    def wait_until_none(self, timeout: float | None = None, max_age: float = QUESTION_PRIORITY_MAX_S) -> bool:
        """Block until no question (younger than max_age) is being answered; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while True:
                now = time.monotonic()
                live = [t for t in self._started.values() if now - t < max_age]
                if not live:
                    return True
                wait = max_age - (now - max(live))
                if deadline is not None:
                    if now >= deadline:
                        return False
                    wait = min(wait, deadline - now)
                self._changed.wait(timeout=wait)


class Services:
    """Lazily built: `rag config` must not load a model, and a question must not wait for ingestion code."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or load_settings()
        self._lock = threading.RLock()
        self.background_ingest = None  # a rag.ingest.background.BackgroundIngest once started
        self.feed_follower = None  # a rag.web.follow.FeedFollower once `rag up` follows feeds
        self.follows_feeds = False  # set by `rag up` when it will: the UI keeps polling for checks
        self._questions = _Questions()
        self._stored_model = ""
        self._workers: dict[str, object] | None = None  # settings JSON -> WorkerEmbedder, once enabled
        self._spare_workers: list = []  # started, not yet told which model to load

    def encode_in_worker(self, questions=()) -> None:
        """Run the embedders in child processes (rag.embedding_worker), started now: a cold
        `rag ask` then imports torch and loads the encoders on one core while this process opens
        the store and loads spaCy on the other. One worker, and a second when a question is not
        in English (it may need the cross-lingual model too); prepare_for tells them what to load."""
        from rag import nlp
        from rag.embedding_worker import WorkerEmbedder
        from rag.languages import question_language

        with self._lock:
            if self._workers is None:
                nlp.load_without_torch = True  # nothing in this process needs it now
                self._workers = {}
                other_languages = any(question_language(q) != "en" for q in questions)
                self._spare_workers = [WorkerEmbedder() for _ in range(1 + other_languages)]

    def prepare_for(self, questions) -> None:
        """Start loading what answering `questions` will encode with: the store's model and, for
        questions in other languages, the cross-lingual one (in workers, see encode_in_worker,
        they load while this process goes on)."""
        from rag.languages import question_language

        self.embedder  # noqa: B018  (opens the store and picks its model)
        for language in {question_language(q) for q in questions} - {"en"}:
            self._encoder_for(language)

    def _embedder_of(self, section):
        from rag.embeddings import get_embedder

        if self._workers is None:
            return get_embedder(section)
        key = section.model_dump_json()
        worker = self._workers.get(key)
        if worker is None:
            from rag.embedding_worker import WorkerEmbedder

            worker = self._spare_workers.pop() if self._spare_workers else WorkerEmbedder()
            worker.load(section)
            self._workers[key] = worker
        return worker

    def embedding_model(self, languages=()) -> str:
        """The model in force: the store's once it holds vectors (another one configured is an
        error, see ChunkStore.check_model); else the configured one; else, for "auto", the
        multilingual e5 if any document to ingest is not in English, MiniLM otherwise."""
        from rag.embeddings import AUTO, MINILM, choose_model

        wanted = self.settings.embedding.model
        if self._stored_model:  # a store keeps its model (`rag reembed` is a separate run)
            return self._stored_model
        stored = ""
        if self.store.count():
            # a store written before models were recorded holds the then default's vectors
            stored = self.store.embedding_model() or (MINILM if wanted == AUTO else wanted)
        if stored:
            if wanted != AUTO:
                self.store.check_model(wanted)
            self._stored_model = stored
            return stored
        return choose_model(languages) if wanted == AUTO else wanted

    def embedder_for(self, languages=()):
        model = self.embedding_model(languages)
        with self._lock:
            return self._embedder_of(self.settings.embedding.model_copy(update={"model": model}))

    def reembed(self, model: str, progress=None) -> int:
        """Re-embed every stored chunk with ``model`` (texts come from the store: no source file
        needed); the store then belongs to that model. Returns the chunks re-embedded."""
        from rag.embeddings import get_embedder

        embedder = get_embedder(self.settings.embedding.model_copy(update={"model": model}))
        with self._lock:
            n = self.store.reembed(embedder.encode, embedder.name, progress)
            self._stored_model = embedder.name
        return n

    def cross_lingual(self, paths=None):
        """The e5 side collection (rag.bridge) when the store's model reads only English and
        embedding.cross_lingual keeps one; else None. `paths`: what is being ingested ("auto"
        starts one when a folder there carries e5 vectors)."""
        from rag.embeddings import E5_SMALL, is_e5
        from rag.ingest.vector_cache import cache_path

        mode = self.settings.embedding.cross_lingual
        if mode == "off" or not self.store.count() or is_e5(self.embedding_model()):
            return None
        index = self.store.cross_lingual
        if mode == "on" or index.exists():
            return index
        folders = {Path(p) if Path(p).is_dir() else Path(p).parent for p in paths or () if "://" not in str(p)}
        return index if any(cache_path(f, E5_SMALL).is_file() for f in folders) else None

    def cross_lingual_embedder(self):
        from rag.embeddings import E5_SMALL

        with self._lock:
            return self._embedder_of(self.settings.embedding.model_copy(update={"model": E5_SMALL}))

    def _cross_lingual_for_ingest(self, paths):
        index = self.cross_lingual(paths)
        return (index, self.cross_lingual_embedder) if index is not None else None

    @property
    def embedder(self):
        """The embedder of the store's model (it can change: "auto" decides at the first ingest)."""
        return self.embedder_for()

    @cached_property
    def current_embedder(self):
        return _CurrentEmbedder(self)

    @cached_property
    def store(self):
        from rag.store import ChunkStore

        with self._lock:
            return ChunkStore(self.settings)

    @cached_property
    def catalogue(self):
        """The releases stored: counts, sources, languages, title search (cached per store version)."""
        from rag.catalogue import Catalogue

        return Catalogue(self.store)

    @cached_property
    def retriever(self):
        from rag.retrieval import Retriever

        return Retriever(self.store, self.current_embedder, self.settings.retrieval, cross_lingual=self._bridge)

    @cached_property
    def ingest(self):
        from rag.ingest.pipeline import IngestService

        # The model loads on first use: re-ingesting unchanged files needs no encoder.
        return IngestService(self.settings, self.store, self.embedder_for, cross_lingual=self._cross_lingual_for_ingest)

    @cached_property
    def answers(self):
        from rag.answer.service import AnswerService

        return AnswerService(self.retriever, self.current_embedder, self.settings, catalogue=self.catalogue,
                             encoder_for=self._encoder_for)

    def _bridge(self):
        """For the retriever: (e5 side collection, e5 embedder) when questions in other
        languages are to be searched there (it holds vectors), else None."""
        index = self.cross_lingual()
        if index is None or not index.count():
            return None
        return index, self.cross_lingual_embedder()

    def _encoder_for(self, language: str):
        """For the answer layer: the model that compares a question in `language` with sentences;
        None when the store cannot relate such a question to its releases (an English-only model
        and no cross-lingual collection)."""
        from rag.embeddings import is_e5

        if language == "en" or not self.store.count() or is_e5(self.embedding_model()):
            return self.current_embedder
        return self.cross_lingual_embedder() if self._bridge() is not None else None

    def start_background_ingest(self, paths, listener=None, on_finish=None, sync=False):
        """Ingest ``paths`` in a thread of this process (what `rag up` does while the UI serves).

        listener: a ProgressFn also told of the main pass (the CLI's progress bars); on_finish is
        called with the BackgroundIngest when it ends. One at a time per Services.
        """
        from rag.ingest.background import BackgroundIngest

        with self._lock:
            if self.background_ingest is not None and self.background_ingest.running:
                raise RuntimeError("a background ingest is already running")
            # Built here, in the caller's thread: the store must be one object for the UI and the ingest.
            self.store.count()
            self.background_ingest = BackgroundIngest(
                self.ingest, paths, listener=listener, on_finish=on_finish, pause=self._questions.wait_until_none,
                sync=sync,
            )
            return self.background_ingest.start()

    def follow_feeds(self, feeds=None, on_check=None, max_checks=None):
        """Check the feeds (default: settings.feeds) each at its interval, in a thread, each check a
        background ingest (so the UI's banner shows it); waits for one already running first.
        Returns the started FeedFollower (stop() it)."""
        from rag.web.follow import FeedFollower

        def check(feed):
            while True:
                running = self.background_ingest
                if running is not None and running.running:
                    running.join(timeout=1.0)
                    if follower.stopped:
                        raise InterruptedError("stopped")
                    continue
                try:
                    background = self.start_background_ingest([feed.url], sync=feed.sync)
                except RuntimeError:  # another one started in between
                    continue
                while not background.join(timeout=1.0):
                    if follower.stopped:
                        background.cancel()
                if background.error is not None:
                    raise background.error
                return background.report

        follower = FeedFollower(list(feeds if feeds is not None else self.settings.feeds), check, on_check, max_checks)
        self.feed_follower = follower
        self.follows_feeds = True
        return follower.start()

    def answering(self):
        """Context for answering a question (the UI wraps each one): a background ingest in this
        process pauses between its steps until no question is being answered."""
        return self._questions.asking()

    def ingest_status(self):
        """The background ingest's IngestStatus, or None when this process started none."""
        background = self.background_ingest
        return background.status() if background is not None else None


class _CurrentEmbedder:
    """Stands for the embedder of the store's model at each use: a UI started on an empty store
    must encode questions with whatever model its first ingest chose."""

    def __init__(self, services: Services):
        self._services = services

    def __getattr__(self, name):
        return getattr(self._services.embedder, name)


_cache: dict[str, Services] = {}
_cache_lock = threading.Lock()


def get_services(settings: Settings | None = None) -> Services:
    settings = settings or load_settings()
    key = settings.model_dump_json()
    with _cache_lock:
        if key not in _cache:
            _cache[key] = Services(settings)
        return _cache[key]
