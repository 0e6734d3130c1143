"""The background ingest of `rag up`: the progress object (unit), then real ingests in a thread
(the real embedding model and an embedded Chroma): order, stopping, resuming."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import torch
import pytest

from rag.bridge import MESSAGE as CROSS_LINGUAL_MESSAGE
from rag.ingest.background import BackgroundIngest, IngestProgress, first_pass, merge_reports
from rag.ingest.pipeline import FileResult, IngestReport, IngestService
from rag.store import ChunkStore

from demo_subset import KAZAKH, kazakh_and_archive



class Clock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- IngestProgress ---------------------------------------------------------------------------
def test_progress_follows_the_phases_and_estimates_the_time_left():
    clock = Clock()
    progress = IngestProgress(clock)
    status = progress.snapshot()
    assert status.phase == "starting" and status.running and status.percent is None

    progress.update(0, 2, "reading a.txt")
    clock.now += 3
    progress.update(1, 2, "reading b.jsonl")
    status = progress.snapshot()
    assert (status.phase, status.done, status.total, status.eta_seconds) == ("reading", 1, 2, None)

    progress.update(0, 1000, "embedding")
    assert progress.snapshot().eta_seconds is None  # no batch stored yet: no rate
    clock.now += 10
    progress.update(100, 1000, "embedding")  # 10 passages a second
    status = progress.snapshot()
    assert (status.phase, status.done, status.percent) == ("embedding", 100, 10)
    assert status.eta_seconds == pytest.approx(90.0)
    progress.update(100, 1000, "embedding")  # the same count again changes nothing
    clock.now += 4  # the estimate counts down between updates
    assert progress.snapshot().eta_seconds == pytest.approx(86.0)
    clock.now += 1000
    assert progress.snapshot().eta_seconds == 0.0  # late, never negative

    # A second pass (the first pass ingests single releases) starts a fresh rate.
    progress.update(0, 1, "reading c.jsonl")
    progress.update(0, 50, "embedding")
    assert progress.snapshot().eta_seconds is None
    assert progress.snapshot().elapsed_seconds == pytest.approx(clock.now - 1000.0)

    # The e5 vectors for questions in other languages (rag.bridge) come after: a phase of their own.
    progress.update(50, 50, "embedding")
    clock.now += 5
    progress.update(0, 64, CROSS_LINGUAL_MESSAGE)
    assert progress.snapshot().cross_lingual and progress.snapshot().eta_seconds is None
    clock.now += 8
    progress.update(32, 64, CROSS_LINGUAL_MESSAGE)  # 4 a second since its own start
    assert progress.snapshot().eta_seconds == pytest.approx(8.0)


def test_progress_ends_once_and_ignores_late_updates():
    clock = Clock()
    progress = IngestProgress(clock)
    progress.update(10, 20, "embedding")
    clock.now += 5
    report = IngestReport(files=[FileResult("a.txt", "ingested"), FileResult("b.pdf", "failed", errors=["b.pdf: bad"])],
                          chunks_written=20, seconds=5.0)
    progress.finish(report)
    progress.update(15, 20, "embedding")
    status = progress.snapshot()
    assert not status.running and status.phase == "done"
    assert (status.chunks_written, status.failed_files, status.finished) == (20, 1, 1005.0)
    assert status.summary == report.summary() and status.eta_seconds is None
    assert status.to_dict()["running"] is False and status.to_dict()["summary"] == report.summary()

    failing = IngestProgress(clock)
    failing.fail("OSError: disk full")
    assert (failing.snapshot().phase, failing.snapshot().error) == ("failed", "OSError: disk full")
    stopped = IngestProgress(clock)
    stopped.interrupt()
    assert stopped.snapshot().phase == "interrupted" and not stopped.snapshot().running


def test_progress_snapshots_are_consistent_while_another_thread_updates():
    progress = IngestProgress()
    stop = threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            i += 1
            progress.update(i, i + 10, "embedding")

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(2000):
            status = progress.snapshot()
            assert status.done <= status.total
            assert status.eta_seconds is None or status.eta_seconds >= 0
    finally:
        stop.set()
        thread.join()


def test_single_releases_go_first_only_beside_an_archive(tmp_path):
    (tmp_path / "a.txt").write_text("A release.\n")
    (tmp_path / "b.md").write_text("# B\n\nAnother release.\n")
    assert first_pass([tmp_path]) == []  # nothing to jump ahead of
    (tmp_path / "archive.jsonl").write_text("")
    assert [p.name for p in first_pass([tmp_path])] == ["a.txt", "b.md"]
    assert first_pass([tmp_path / "archive.jsonl"]) == []


def test_merged_report_keeps_what_the_first_pass_did():
    first = IngestReport(files=[FileResult("k.txt", "ingested", 1, 4)], chunks_written=4, seconds=1.0)
    main = IngestReport(files=[FileResult("k.txt", "unchanged", 1), FileResult("s.jsonl", "ingested", 5, 30)],
                        chunks_written=30, seconds=9.0)
    merged = merge_reports(first, main)
    assert [(f.path, f.status, f.chunks) for f in merged.files] == [("k.txt", "ingested", 4), ("s.jsonl", "ingested", 30)]
    assert (merged.chunks_written, merged.seconds) == (34, 10.0)


# -- real ingests in a thread -----------------------------------------------------------------
@pytest.fixture
def corpus(tmp_path):
    """The Kazakh release beside an archive of 8 State Department releases of 3-6 passages."""
    folder = tmp_path / "corpus"
    kazakh_and_archive(folder, 8, 2000, 5000, "state.jsonl")
    return folder


def test_encode_steps_give_the_same_vectors_and_report_progress_between_them(settings, embedder):
    small = settings.model_copy(update={"embedding": settings.embedding.model_copy(update={"batch_size": 4})})
    service = IngestService(small, None, embedder)
    texts = [f"Release {i}: the ministers met " + "and talked " * i for i in range(10)]
    calls = []
    stepped = service._encode(texts, lambda *args: calls.append(args), 7, 99)
    # Batching changes the padding, and bf16 rounds differently with it: ~1.5e-3 there, exact in fp32.
    tolerance = 5e-3 if embedder.dtype == torch.bfloat16 else 1e-5
    assert np.abs(stepped - embedder.encode(texts)).max() < tolerance
    assert calls == [(11, 99, "embedding"), (15, 99, "embedding")]  # between the steps of 4, 4 and 2 texts


def test_background_ingest_stores_the_single_release_first_and_reports(settings, embedder, corpus, monkeypatch):
    store = ChunkStore(settings)
    written: list[set[str]] = []
    upsert = store.upsert
    monkeypatch.setattr(store, "upsert", lambda chunks, *rest: (written.append({c.doc_id for c in chunks}),
                                                                upsert(chunks, *rest)))
    seen, ended = [], threading.Event()
    background = BackgroundIngest(
        IngestService(settings, store, embedder), [corpus],
        listener=lambda *args: seen.append(args), on_finish=lambda _: ended.set(),
    ).start()
    assert background.join(timeout=300) and ended.is_set()
    status = background.status()
    assert status.phase == "done", status
    assert status.chunks_written == store.count() > 0
    report = {Path(f.path).name: f for f in background.report.files}
    assert report[KAZAKH.name].status == "ingested" and report[KAZAKH.name].chunks > 0  # from the first pass
    assert report["state.jsonl"].status == "ingested" and status.summary == background.report.summary()
    kazakh = next(d.doc_id for d in store.documents() if d.source == "Kazakh MFA")
    assert written[0] == {kazakh}  # its own write, before any other release
    assert all(kazakh not in ids for ids in written[1:])
    assert seen[0] == (0, 2, f"reading {KAZAKH.name}")  # the listener hears the main pass only
    assert store.lexical_search("Intergovernmental Commission", 1)


def stored_when_complete(settings, embedder, corpus) -> int:
    reference = settings.model_copy(update={"data_dir": settings.data_dir.parent / "reference"})
    return IngestService(reference, ChunkStore(reference), embedder).ingest([corpus]).chunks_written


def test_a_stopped_background_ingest_leaves_a_store_the_next_one_completes(settings, embedder, corpus, monkeypatch):
    settings = settings.model_copy(update={"ingest": settings.ingest.model_copy(update={"write_batch": 8})})
    store = ChunkStore(settings)
    service = IngestService(settings, store, embedder)
    holder: dict = {}

    def stop_after_first_write(done: int, total: int, message: str) -> None:
        if message == "embedding" and done >= 8:
            holder["background"].cancel()  # as Ctrl-C / SIGTERM in `rag up` does

    holder["background"] = BackgroundIngest(service, [corpus], listener=stop_after_first_write).start()
    background = holder["background"]
    assert background.join(timeout=300)
    assert background.status().phase == "interrupted" and background.report is None
    stored = store.count()
    assert stored >= 8 + 1  # the Kazakh release (first pass) and a write batch of the main pass
    assert stored < stored_when_complete(settings, embedder, corpus)  # it really stopped mid-way
    assert store.lexical_search("Secretary", 3)  # what was stored answers queries

    resumed = BackgroundIngest(IngestService(settings, store, embedder), [corpus]).start()
    assert resumed.join(timeout=300) and resumed.status().phase == "done"
    states = store.doc_states()
    assert len(states) == 9
    assert all(s.is_complete(next(iter(s.n_chunks_by_hash))) and len(s.n_chunks_by_hash) == 1 for s in states.values())
    assert store.count() == stored + resumed.report.chunks_written  # nothing written twice
    assert resumed.report.chunks_written > 0


def test_questions_asked_while_the_same_process_ingests_see_each_write(settings, corpus, monkeypatch):
    """The UI's situation: retrieval in one thread, the ingest writing through the same store in another."""
    from rag.services import Services

    settings = settings.model_copy(update={"ingest": settings.ingest.model_copy(update={"write_batch": 8})})  # many writes, each a new version token
    services = Services(settings)
    background = services.start_background_ingest([corpus])
    with pytest.raises(RuntimeError, match="already running"):
        services.start_background_ingest([corpus])
    sizes = []
    while background.running:
        passages = services.retriever.retrieve("What did the Kazakh side propose?", k=3)
        sizes.append((len(services.store.lexical_index().ids), len(passages)))
    assert background.join(timeout=60) and services.ingest_status().phase == "done", services.ingest_status()
    final = services.store.count()
    assert len(services.store.lexical_index().ids) == final
    assert any(0 < size < final for size, _ in sizes), sizes  # the index followed the writes mid-ingest
    passages = services.retriever.retrieve("What did the Kazakh side propose?", k=3)
    assert any(p.chunk.source == "Kazakh MFA" for p in passages)


def test_questions_hold_the_ingest_back_but_not_for_ever():
    from rag.services import _Questions

    questions = _Questions()
    assert questions.wait_until_none(timeout=0.01)
    with questions.asking():
        assert not questions.wait_until_none(timeout=0.05)
        assert questions.wait_until_none(timeout=5, max_age=0.1)  # a question that old no longer counts
        done = threading.Event()
        waiter = threading.Thread(target=lambda: (questions.wait_until_none(timeout=30), done.set()))
        waiter.start()
        assert not done.wait(0.2)
    assert done.wait(5)  # the end of the question wakes the ingest at once
    waiter.join()


def test_a_background_ingest_waits_while_a_question_is_answered(settings, corpus):
    import time

    from rag.services import Services

    services = Services(settings)
    with services.answering():
        background = services.start_background_ingest([corpus])
        time.sleep(1.5)
        assert services.ingest_status().phase == "starting" and services.store.count() == 0
    assert background.join(timeout=300) and services.ingest_status().phase == "done"
    assert services.store.count() > 0

    # A cancel is noticed while paused.
    with services.answering():
        second = services.start_background_ingest([corpus])
        time.sleep(0.5)
        second.cancel()
        assert second.join(timeout=5) and services.ingest_status().phase == "interrupted"
