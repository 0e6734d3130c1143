"""A MiniLM (English-only) store answering Russian and Kazakh questions through its e5 side
collection (rag.bridge): real MiniLM, real e5, real Chroma, the extractive answer."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag.answer import prompts
from rag.embeddings import E5_SMALL, MINILM, E5Embedder
from rag.ingest.vector_cache import cache_path, write_cache
from rag.services import Services
from rag.settings import Settings
from rag.types import Filters
from demo_subset import KAZAKH, kazakh_and_archive

QUESTION_RU = "Кто возглавлял казахстанскую делегацию на политических консультациях с Албанией?"
QUESTION_KK = "Албаниямен саяси консультацияларда қазақстандық делегацияны кім басқарды?"
QUESTION_EN = "Who led the Kazakh delegation at the political consultations with Albania?"


def _services(data_dir, mode: str) -> Services:
    return Services(Settings(data_dir=data_dir, embedding={"cross_lingual": mode}))


def _ids(collection) -> set[str]:
    return set(collection.get(include=[])["ids"])


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("xl") / "corpus"
    kazakh_and_archive(folder, 3, 1500, 6000, "few.jsonl")
    return folder


@pytest.fixture(scope="module")
def bridged(corpus, tmp_path_factory):
    services = _services(tmp_path_factory.mktemp("on") / "data", "on")
    report = services.ingest.ingest([corpus])
    assert report.ok
    return services, report


def test_on_keeps_e5_vectors_of_every_chunk_beside_the_minilm_ones(bridged):
    services, report = bridged
    store = services.store
    assert store.embedding_model() == MINILM
    assert report.cross_lingual == store.count() > 0
    assert _ids(store.cross_lingual.collection) == _ids(store.collection)
    assert "also embedded for questions in other languages" in report.summary()


@pytest.mark.parametrize("question", [QUESTION_RU, QUESTION_KK])
def test_russian_and_kazakh_questions_find_and_quote_the_english_release(bridged, question):
    services, _ = bridged
    top = services.retriever.retrieve(question, k=3)
    assert top[0].chunk.path.endswith(KAZAKH.name)
    answer = services.answers.ask(question)
    assert not answer.refused and "Vassilenko" in answer.text
    assert answer.citations and all(c.path.endswith(KAZAKH.name) for c in answer.citations)
    language = "kk" if question is QUESTION_KK else "ru"
    assert answer.text.startswith(prompts.own_text("quoting", language).split("(")[0])


def test_an_english_question_is_searched_exactly_as_without_the_side(bridged, monkeypatch):
    services, _ = bridged
    with_side = [(p.chunk.chunk_id, round(p.score, 6)) for p in services.retriever.retrieve(QUESTION_EN, k=8)]
    monkeypatch.setattr(services.retriever, "cross_lingual", None)
    without = [(p.chunk.chunk_id, round(p.score, 6)) for p in services.retriever.retrieve(QUESTION_EN, k=8)]
    assert with_side == without


def test_side_search_is_exact_and_sees_a_sync_made_by_another_process(bridged):
    """Chroma's approximate search missed a Kazakh question's best passages in one build of the
    demo store; the side searches exactly, and a sync landing after it laid its rows out is seen."""
    services, _ = bridged
    side = services.store.cross_lingual
    vector = services.cross_lingual_embedder().encode_queries([QUESTION_RU])[0]
    page = side.collection.get(include=["embeddings"])
    scores = np.asarray(page["embeddings"], dtype=np.float32) @ (vector / np.linalg.norm(vector))
    best = [page["ids"][i] for i in np.argsort(-scores)[:10]]
    hits = side.search(vector, 10)
    assert [i for i, _ in hits] == best
    assert [s for _, s in hits] == pytest.approx(sorted(scores, reverse=True)[:10], abs=1e-5)

    side.collection.delete(ids=best[:5])  # a sync killed before these landed
    reader = Services(services.settings).store.cross_lingual  # another process, laid out without them
    assert not {i for i, _ in reader.search(vector, 10)} & set(best[:5])
    added, _ = side.sync(services.cross_lingual_embedder().encode)  # the next ingest completes it
    assert added == 5
    assert [i for i, _ in reader.search(vector, 10)] == best


def test_filters_hold_on_the_side_too(bridged):
    services, _ = bridged
    passages = services.retriever.retrieve(QUESTION_RU, Filters(date_to=services.catalogue.documents()[-1].published), k=5)
    newest_allowed = services.catalogue.documents()[-1].published
    assert passages and all(p.chunk.published <= newest_allowed for p in passages)


def test_auto_without_e5_vectors_builds_no_side_and_says_so_in_the_question_language(corpus, tmp_path):
    services = _services(tmp_path / "data", "auto")
    report = services.ingest.ingest([corpus])
    assert report.ok and report.cross_lingual == 0 and not services.store.cross_lingual.exists()
    for question, language in ((QUESTION_RU, "ru"), (QUESTION_KK, "kk")):
        answer = services.answers.ask(question)
        assert answer.refused and answer.text == prompts.own_text("language_unsupported", language)
    assert "Vassilenko" in services.answers.ask(QUESTION_EN).text


def test_exported_e5_vectors_start_the_side_under_auto_and_it_follows_edits_and_losses(bridged, tmp_path, monkeypatch):
    source, _ = bridged
    folder = tmp_path / "corpus"
    kazakh_and_archive(folder, 3, 1500, 6000, "few.jsonl")
    # What `rag export-vectors` writes for the e5 side (the texts are those embedded: same chunker)
    texts, vectors = source.store.embedded(collection=source.store.cross_lingual.collection)
    write_cache(cache_path(folder, E5_SMALL), E5_SMALL, 256, texts, vectors)

    encoded: list[int] = []
    real = E5Embedder.encode
    monkeypatch.setattr(E5Embedder, "encode", lambda self, t, batch_size=None: encoded.append(len(t)) or real(self, t))
    services = _services(tmp_path / "data", "auto")
    report = services.ingest.ingest([folder])
    store, side = services.store, services.store.cross_lingual
    assert report.cross_lingual == store.count() and encoded == []  # all from the file
    assert "Vassilenko" in services.answers.ask(QUESTION_RU).text

    # An edited release: its new chunks are encoded by e5, its old ones leave both collections.
    archive = folder / "few.jsonl"
    records = [json.loads(line) for line in archive.read_text(encoding="utf-8").splitlines()]
    records[0]["text"] = "Ambassador Ilse Varga opened a new consulate in Rotterdam. " + records[0]["text"]
    archive.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    report = services.ingest.ingest([folder], sync=True)
    assert report.chunks_written > 0 and sum(encoded) >= 1
    assert _ids(side.collection) == _ids(store.collection)

    # A run killed mid-sync leaves chunks without e5 vectors: the next ingest, with nothing to write, adds them.
    lost = sorted(_ids(side.collection))[:5]
    side.collection.delete(ids=lost)
    report = services.ingest.ingest([folder])
    assert report.chunks_written == 0 and report.cross_lingual == 5
    assert _ids(side.collection) == _ids(store.collection)
    again = np.asarray(side.collection.get(ids=lost, include=["embeddings"])["embeddings"])
    assert again.shape == (5, 384) and np.allclose(np.linalg.norm(again, axis=1), 1, atol=1e-3)


def test_off_never_keeps_a_side(corpus, tmp_path):
    services = _services(tmp_path / "data", "off")
    services.ingest.ingest([corpus])
    assert not services.store.cross_lingual.exists()


def test_the_demo_corpus_carries_e5_vectors_for_the_same_passages(embedder):
    """corpus/.vectors/multilingual-e5-small.npz holds an e5 vector for every passage the MiniLM
    file does (what makes the default install answer Russian and Kazakh questions at once); if
    this fails, re-export both (`RAG_EMBEDDING__CROSS_LINGUAL=on rag ingest corpus/` into a fresh
    store, then `rag export-vectors corpus`)."""
    from rag.embeddings import get_embedder
    from rag.ingest.pipeline import IngestService
    from rag.ingest.readers import read_file
    from rag.ingest.vector_cache import VectorCache
    from demo_subset import ARCHIVE, REPO

    e5 = VectorCache.load(cache_path(REPO / "corpus", E5_SMALL), E5_SMALL, 256)
    minilm = VectorCache.load(cache_path(REPO / "corpus", MINILM), MINILM, 256)
    assert e5 is not None and minilm is not None and set(e5.rows) == set(minilm.rows)
    docs = read_file(KAZAKH).documents + read_file(ARCHIVE).documents[:10]
    texts = [c.embed_text for doc in docs for c in IngestService(Settings(), None, embedder)._chunk(doc, "x")]
    vectors, missing = e5.lookup(texts)
    assert missing == []
    fresh = get_embedder(Settings(embedding={"model": E5_SMALL})).encode(texts[:8])
    assert float(np.min(np.sum(vectors[:8] * fresh, axis=1))) > 0.99  # made in bf16; fp32 agrees to ~1e-3
