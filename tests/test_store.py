"""The store on a real embedded Chroma with the real embedding model."""

from datetime import date

import pytest

from rag.catalogue import Catalogue
from rag.retrieval import Retriever
from rag.store import ChunkStore
from rag.types import Chunk, Filters

TEXTS = [
    ("k", "Kazakh MFA", date(2025, 3, 21), "The Kazakh side proposed an Intergovernmental Commission and a Business Council."),
    ("u1", "U.S. Department of State", date(2021, 6, 1), "The Secretary discussed climate finance with Pacific island leaders."),
    ("u2", "U.S. Department of State", date(2022, 3, 2), "Sanctions were announced on entities supporting the invasion of Ukraine."),
    ("u3", "U.S. Department of State", date(2022, 7, 9), "The United States welcomed the grain export agreement for Ukraine."),
]


def make_chunks():
    return [
        Chunk(chunk_id=f"{d}:h:0", doc_id=d, index=0, text=t, start=0, end=len(t), title=f"Release {d}",
              published=p, source=s)
        for d, s, p, t in TEXTS
    ]


@pytest.fixture
def store(settings, embedder):
    store = ChunkStore(settings)
    chunks = make_chunks()
    store.upsert(chunks, embedder.encode([c.embed_text for c in chunks]), ["h"] * 4, [1] * 4)
    return store


def test_dense_and_lexical_find_the_right_chunk(store, embedder):
    dense = store.dense_search(embedder.encode(["Who proposed a business council?"])[0], 2)
    assert dense[0][0].doc_id == "k"
    assert dense[0][0].published == date(2025, 3, 21)
    assert dense[0][1] > dense[1][1]
    lexical = store.lexical_search("business council", 3)
    assert [chunk_id for chunk_id, _ in lexical] == ["k:h:0"]


def test_filters_apply_to_both_retrievers(store, embedder, settings):
    only_2022 = Filters(date_from=date(2022, 1, 1), date_to=date(2022, 12, 31))
    dense = store.dense_search(embedder.encode(["Ukraine"])[0], 10, only_2022)
    assert {c.doc_id for c, _ in dense} == {"u2", "u3"}
    assert {i for i, _ in store.lexical_search("Ukraine", 10, only_2022)} == {"u2:h:0", "u3:h:0"}
    kazakh = Filters(sources=("Kazakh MFA",))
    assert [c.doc_id for c, _ in store.dense_search(embedder.encode(["Ukraine"])[0], 10, kazakh)] == ["k"]
    assert store.lexical_search("Ukraine", 10, kazakh) == []
    retriever = Retriever(store, embedder, settings.retrieval)
    assert {p.chunk.doc_id for p in retriever.retrieve("Ukraine grain", only_2022, k=5)} == {"u2", "u3"}


def test_lexical_index_follows_writes_from_another_store_object(store, embedder, settings):
    assert store.lexical_search("hydrogen", 5) == []
    other = ChunkStore(settings)  # as another process would
    chunk = Chunk("new:h:0", "new", 0, "Green hydrogen cooperation", 0, 26, title="Hydrogen", source="X")
    other.upsert([chunk], embedder.encode([chunk.embed_text]), ["h"], [1])
    assert [i for i, _ in store.lexical_search("hydrogen", 5)] == ["new:h:0"]
    other.delete(["new:h:0"])
    assert store.lexical_search("hydrogen", 5) == []


def test_doc_states_and_stats(store):
    states = store.doc_states()
    assert set(states) == {"k", "u1", "u2", "u3"}
    assert states["k"].is_complete("h") and not states["k"].is_complete("other")
    stats = Catalogue(store).stats()
    assert stats["documents"] == 4 and stats["chunks"] == 4
    assert stats["by_source"] == {"U.S. Department of State": 3, "Kazakh MFA": 1}
    assert stats["by_month"]["2025-03"] == 1


def test_catalogue_searches_titles_and_sees_another_process_s_writes(store, embedder, settings):
    catalogue = Catalogue(store)
    assert [d.doc_id for d in catalogue.search_titles("").documents] == ["k", "u3", "u2", "u1"]  # newest first
    assert [d.doc_id for d in catalogue.search_titles("RELEASE u").documents] == ["u3", "u2", "u1"]
    assert catalogue.search_titles("kazakh").total == 1  # the source counts, part words too
    page = catalogue.search_titles("release", limit=2)
    assert page.total == 4 and len(page.documents) == 2
    assert catalogue.sources() == ["Kazakh MFA", "U.S. Department of State"]
    assert catalogue.newest_date() == date(2025, 3, 21)
    other = ChunkStore(settings)  # as another process would write
    chunk = Chunk("new:h:0", "new", 0, "Green hydrogen cooperation", 0, 26, title="Hydrogen talks",
                  published=date(2026, 1, 5), source="Norland MFA")
    other.upsert([chunk], embedder.encode([chunk.embed_text]), ["h"], [1])
    assert catalogue.search_titles("hydrogen").total == 1
    assert catalogue.stats()["documents"] == 5 and catalogue.newest_date() == date(2026, 1, 5)
    other.delete(["new:h:0"])
    assert catalogue.search_titles("hydrogen").total == 0 and catalogue.stats()["chunks"] == 4
    assert catalogue.newest_date() == date(2025, 3, 21)  # the deleted release's date no longer counts


@pytest.mark.parametrize("mode, fusion", [("dense", "minmax"), ("lexical", "minmax"), ("hybrid", "minmax"),
                                          ("hybrid", "zscore"), ("hybrid", "rrf")])
def test_retriever_modes_rank_the_proposal_first(store, embedder, settings, mode, fusion):
    retrieval = settings.retrieval.model_copy(update={"fusion": fusion})
    passages = Retriever(store, embedder, retrieval).retrieve(
        "What did the Kazakh side propose? a business council", k=2, mode=mode
    )
    assert passages[0].chunk.doc_id == "k"
    assert passages[0].rank == 1
    assert passages[0].chunk.text.startswith("The Kazakh side proposed")


def test_retriever_takes_deep_lexical_and_shallow_dense_candidates(store, embedder, settings, monkeypatch):
    """1000 HNSW neighbours cost ~10 ms a question at 100k chunks; 1000 BM25 hits almost nothing."""
    depths = {}
    for name in ("dense_scores", "lexical_search"):
        original = getattr(store, name)
        monkeypatch.setattr(store, name, lambda *a, _o=original, _n=name: depths.setdefault(_n, a[1]) and _o(*a))
    retrieval = settings.retrieval.model_copy(update={"candidates": 1000, "dense_candidates": 100})
    passages = Retriever(store, embedder, retrieval).retrieve("business council", k=2)
    assert depths == {"dense_scores": 100, "lexical_search": 1000}
    assert passages[0].chunk.doc_id == "k"
    depths.clear()
    same = settings.retrieval.model_copy(update={"candidates": 50, "dense_candidates": 0})  # 0 = candidates
    Retriever(store, embedder, same).retrieve("business council", k=2)
    assert depths == {"dense_scores": 50, "lexical_search": 50}
