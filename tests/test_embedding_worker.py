"""The embedder in a second process (rag.embedding_worker), which a cold `rag ask` uses to load
torch on one core while it loads the store and spaCy on the other: the same vectors as the
embedder in this process, nothing left behind when it stops, and a fall-back when it fails."""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rag.embedding_worker import WorkerEmbedder
from rag.embeddings import get_embedder
from rag.settings import EmbeddingSettings

REPO = Path(__file__).resolve().parent.parent
TEXTS = [
    "Minister Lund of Norland proposed a joint commission on river shipping.",
    "The Ostravian delegation was led by Deputy Minister Halvard Brenn. " * 30,  # past the window
    "Sanctions",
]


def _gone(pid: int, within: float = 20.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        state = Path(f"/proc/{pid}/stat")
        if state.exists() and state.read_text().split(") ")[-1].startswith("Z"):
            return True  # exited, waiting for its parent to collect it
        time.sleep(0.1)
    return False


def test_the_worker_gives_the_vectors_and_counts_of_the_embedder_in_this_process():
    settings = EmbeddingSettings()
    here = get_embedder(settings)
    worker = WorkerEmbedder(settings)
    try:
        assert worker._process is not None and worker._process.poll() is None  # really a second process
        assert np.array_equal(worker.encode(TEXTS), here.encode(TEXTS))
        assert np.array_equal(worker.encode_queries(TEXTS[:1]), here.encode_queries(TEXTS[:1]))
        assert worker.count_tokens_batch(TEXTS) == here.count_tokens_batch(TEXTS)
        assert (worker.name, worker.dimension, worker.similarity_map) == (here.name, here.dimension, here.similarity_map)
        assert worker.encode([]).shape == (0, here.dimension)
    finally:
        worker.close()


def test_the_worker_stops_with_its_parent_even_when_the_parent_is_killed():
    code = (
        "import os, sys; from rag.embedding_worker import WorkerEmbedder; from rag.settings import EmbeddingSettings; "
        "w = WorkerEmbedder(EmbeddingSettings()); w.encode(['x']); print(w._process.pid, flush=True); "
        "os.kill(os.getpid(), 9)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == -9, result.stderr[-2000:]
    assert _gone(int(result.stdout.split()[0]))


def test_a_worker_that_dies_is_replaced_by_the_embedder_in_this_process():
    settings = EmbeddingSettings()
    worker = WorkerEmbedder(settings)
    first = worker.encode(TEXTS[:1])
    pid = worker._process.pid
    worker._process.kill()
    assert _gone(pid)
    again = worker.encode(TEXTS[:1])  # answered here instead
    assert worker._conn is None and np.array_equal(again, first)


def test_a_model_that_cannot_load_fails_as_it_would_in_this_process(tmp_path):
    settings = EmbeddingSettings(model=str(tmp_path / "no-such-model"))
    worker = WorkerEmbedder(settings)
    with pytest.raises(FileNotFoundError, match="no-such-model"):
        worker.encode(["x"])


def test_spacy_loads_without_torch_when_the_encoder_runs_elsewhere():
    """thinc imports torch when it can (1.1 s of a cold ask) though the small English model has
    no torch layer: with the encoder in a worker the pipeline loads without it and tags as well."""
    code = (
        "import sys; from rag import nlp; nlp.load_without_torch = True; "
        "a = nlp.get_annotator().annotate(['Minister Lund visited Ostravia on 3 May 2024.'])[0]; "
        "print('torch' in sys.modules, sorted({e.label for e in a.entities})); "
        "import torch; print(torch.ones(1).item())"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    first, second = result.stdout.splitlines()
    assert first.startswith("False") and "DATE" in first and ("PERSON" in first or "GPE" in first)
    assert second == "1.0"  # torch still imports afterwards
