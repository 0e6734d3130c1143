"""Filtered dense search takes one of three paths (named ids, over-fetch, Chroma's where):
each must return the best passing chunks, as an exact search over the passing chunks would."""

from datetime import date, timedelta

import numpy as np
import pytest

import rag.store as store_module
from rag.store import ChunkStore
from rag.types import Chunk, Filters

N = 600
SOURCES = ("Kazakh MFA", "U.S. Department of State", "UK Foreign Office")


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    from rag.settings import Settings

    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((N, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    chunks = [
        Chunk(f"d{i}:h:0", f"d{i}", 0, f"text {i}", 0, 6, title=f"t{i}",
              published=date(2021, 1, 1) + timedelta(days=int(i * 730 / N)), source=SOURCES[i % 3])
        for i in range(N)
    ]
    store = ChunkStore(Settings(data_dir=tmp_path_factory.mktemp("dense")))
    store.upsert(chunks, vectors, ["h"] * N, [1] * N)
    return store, chunks, vectors


def exact(chunks, vectors, query, k, keep) -> list[str]:
    scores = vectors @ query
    order = [i for i in np.argsort(-scores) if keep(chunks[i])]
    return [chunks[i].chunk_id for i in order[:k]]


@pytest.mark.parametrize("path", ["named ids", "over-fetch", "chroma where"])
@pytest.mark.parametrize(
    "filters",
    [
        Filters(date_from=date(2021, 4, 1), date_to=date(2022, 6, 30)),  # broad: ~3/4 pass
        Filters(sources=("Kazakh MFA",), date_to=date(2021, 6, 30)),  # selective: ~8% pass
    ],
)
def test_every_path_returns_the_best_passing_chunks(filled, monkeypatch, path, filters):
    store, chunks, vectors = filled
    monkeypatch.setattr(store_module, "_NAMED_IDS_MAX", N if path == "named ids" else 0)
    monkeypatch.setattr(store_module, "_OVERFETCH_MAX", N if path == "over-fetch" else 0)
    calls = []
    original = store._nearest
    monkeypatch.setattr(store, "_nearest", lambda *a, **kw: calls.append(kw) or original(*a, **kw))

    def keep(c: Chunk) -> bool:
        return (
            (filters.date_from is None or c.published >= filters.date_from)
            and (filters.date_to is None or c.published <= filters.date_to)
            and (not filters.sources or c.source in filters.sources)
        )

    query = vectors[7] * 0.6 + vectors[100] * 0.4
    query /= np.linalg.norm(query)
    got = store.dense_scores(query, 10, filters)
    assert all(keep(chunks[int(i.split(":")[0][1:])]) for i, _ in got)
    want = exact(chunks, vectors, query, 10, keep)
    assert len(set(i for i, _ in got) & set(want)) >= 9, (got, want)
    scores = [s for _, s in got]
    assert scores == sorted(scores, reverse=True)
    # The path asked for is the one taken.
    last = calls[-1]
    if path == "named ids":
        assert last.get("ids") and not last.get("where")
    elif path == "chroma where":
        assert last.get("where") and not last.get("ids")
    else:
        assert not last.get("where") and not last.get("ids")


def test_deep_filtered_search_returns_an_exact_head_instead_of_the_slow_path(filled, monkeypatch):
    """Fusion asks for 1000 candidates: past the over-fetch cap, the passing neighbours found are
    returned (the head of the filtered ranking) rather than falling back to Chroma's where."""
    store, chunks, vectors = filled
    monkeypatch.setattr(store_module, "_NAMED_IDS_MAX", 0)
    monkeypatch.setattr(store_module, "_OVERFETCH_MAX", 200)
    monkeypatch.setattr(store_module, "_ENOUGH_FILTERED", 20)
    calls = []
    original = store._nearest
    monkeypatch.setattr(store, "_nearest", lambda *a, **kw: calls.append(kw) or original(*a, **kw))
    filters = Filters(date_from=date(2021, 4, 1), date_to=date(2022, 6, 30))  # ~3/4 pass
    query = vectors[300]  # published 2022-01-01: passes
    got = [i for i, _ in store.dense_scores(query, 300, filters)]
    assert 20 <= len(got) < 300 and not any(kw.get("where") for kw in calls)
    want = exact(chunks, vectors, query, len(got), lambda c: filters.date_from <= c.published <= filters.date_to)
    assert len(set(got) & set(want)) >= 0.95 * len(got)
    assert got[0] == want[0] == chunks[300].chunk_id


def test_filtered_lexical_search_ranks_like_filtering_the_full_ranking():
    from rag.lexical import LexicalIndex, date_key

    rng = np.random.default_rng(5)
    words = "sanctions ukraine albania council trade climate vaccine border talks minister".split()
    texts = [" ".join(rng.choice(words, size=12)) for _ in range(300)]
    published = [date_key(date(2021, 1, 1) + timedelta(days=i)) for i in range(300)]
    sources = [SOURCES[i % 3] for i in range(300)]
    index = LexicalIndex.build("v", [f"c{i}" for i in range(300)], texts, published, sources)
    filters = Filters(date_from=date(2021, 3, 1), sources=("Kazakh MFA",))
    passing = {f"c{i}" for i in range(300) if published[i] >= 20210301 and sources[i] == "Kazakh MFA"}
    for query in ("albania council", "sanctions on ukraine", "vaccine"):
        everything = index.search(query, 300)
        want = [(i, s) for i, s in everything if i in passing][:20]
        got = index.search(query, 20, filters)
        assert {i for i, _ in got} <= passing
        assert [round(s, 5) for _, s in got] == [round(s, 5) for _, s in want]
    assert index.search("hydrogen", 5, filters) == []
