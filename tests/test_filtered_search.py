"""Filtered search (dense and lexical) must return the best passing chunks, exactly as
filtering an exact search over all chunks would."""

from datetime import date, timedelta

import numpy as np
import pytest

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
              published=None if i % 10 == 5 else date(2021, 1, 1) + timedelta(days=int(i * 730 / N)),
              source=SOURCES[i % 3])
        for i in range(N)  # every tenth undated
    ]
    store = ChunkStore(Settings(data_dir=tmp_path_factory.mktemp("dense")))
    store.upsert(chunks, vectors, ["h"] * N, [1] * N)
    return store, chunks, vectors


def exact(chunks, vectors, query, k, keep) -> list[str]:
    scores = vectors @ query
    order = [i for i in np.argsort(-scores) if keep(chunks[i])]
    return [chunks[i].chunk_id for i in order[:k]]


FILTERS = [
    Filters(date_from=date(2021, 4, 1), date_to=date(2022, 6, 30)),  # broad: ~3/4 pass
    Filters(sources=("Kazakh MFA",), date_to=date(2021, 6, 30)),  # selective: ~8% pass
    Filters(languages=("xx",)),  # nothing passes
    # a question's own period: the undated chunks pass too
    Filters(date_from=date(2021, 4, 1), date_to=date(2022, 6, 30), undated=True),
    Filters(sources=("Kazakh MFA",), date_to=date(2021, 6, 30), undated=True),
]


def keeper(filters: Filters):
    def keep(c: Chunk) -> bool:
        if c.published is None:
            in_period = filters.undated or (filters.date_from is None and filters.date_to is None)
        else:
            in_period = ((filters.date_from is None or c.published >= filters.date_from)
                         and (filters.date_to is None or c.published <= filters.date_to))
        return (
            in_period
            and (not filters.sources or c.source in filters.sources)
            and (not filters.languages or c.language in filters.languages)
        )
    return keep


@pytest.mark.parametrize("filters", FILTERS)
@pytest.mark.parametrize("k", [10, 300])
def test_a_filtered_search_is_exact_over_the_passing_chunks(filled, monkeypatch, filters, k):
    """Filtered dense search scores the passing rows with the index's copy of the vectors: the
    same top k as an exact search, in the same order, and Chroma is not asked at all."""
    store, chunks, vectors = filled
    monkeypatch.setattr(store, "_nearest", lambda *a, **kw: pytest.fail("Chroma asked for a filtered search"))
    query = vectors[7] * 0.6 + vectors[100] * 0.4
    query /= np.linalg.norm(query)
    got = store.dense_scores(query, k, filters)
    want = exact(chunks, vectors, query, k, keeper(filters))
    assert [i for i, _ in got] == want
    want_scores = {c.chunk_id: float(v @ query) for c, v in zip(chunks, vectors)}
    assert all(abs(s - want_scores[i]) < 1e-5 for i, s in got)


def test_an_unfiltered_search_is_exact_on_a_store_of_this_size_and_hnsw_above_the_setting(filled, monkeypatch):
    """Chroma's HNSW is approximate and differs between builds of the same store; up to
    retrieval.exact_up_to chunks every vector is scored instead."""
    store, chunks, vectors = filled
    query = vectors[11] * 0.5 + vectors[400] * 0.5
    query /= np.linalg.norm(query)
    with monkeypatch.context() as patched:
        patched.setattr(store, "_nearest", lambda *a, **kw: pytest.fail("Chroma asked for a small store"))
        got = store.dense_scores(query, 50)
    assert [i for i, _ in got] == exact(chunks, vectors, query, 50, lambda c: True)
    asked = []
    monkeypatch.setattr(store.settings.retrieval, "exact_up_to", N - 1)
    monkeypatch.setattr(store, "_nearest", lambda q, k, where=None: asked.append((k, where)) or [])
    store.dense_scores(query, 50)
    assert asked == [(50, None)]


def test_filtered_search_follows_writes_and_deletes(filled):
    store, chunks, vectors = filled
    filters = Filters(sources=("Kazakh MFA",), date_to=date(2021, 6, 30))
    query = vectors[3]  # a Kazakh MFA chunk of 2021-01-03
    assert store.dense_scores(query, 1, filters)[0][0] == chunks[3].chunk_id
    store.delete([chunks[3].chunk_id])
    try:
        assert chunks[3].chunk_id not in {i for i, _ in store.dense_scores(query, 50, filters)}
    finally:
        store.upsert([chunks[3]], vectors[3:4], ["h"], [1])
    assert store.dense_scores(query, 1, filters)[0][0] == chunks[3].chunk_id


@pytest.mark.parametrize("filters", [FILTERS[1], FILTERS[4]])
def test_an_index_without_vectors_falls_back_to_chromas_filter(filled, monkeypatch, filters):
    store, chunks, vectors = filled
    index = store.lexical_index()
    monkeypatch.setattr(index, "dense_search", lambda *a, **kw: None)
    monkeypatch.setattr(store, "lexical_index", lambda: index)
    got = [i for i, _ in store.dense_scores(vectors[3], 10, filters)]
    assert got == exact(chunks, vectors, vectors[3], 10, keeper(filters))


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
