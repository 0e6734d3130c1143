"""Which model embeds a store: "auto" decides from the documents' languages, a store keeps its
model, another model's vectors are refused, and `reembed` changes models without the sources."""

import pytest

from rag.embeddings import E5_SMALL, MINILM
from rag.services import Services
from rag.store import EmbeddingModelMismatch

ENGLISH = ("The Kazakh delegation was headed by Deputy Minister of Foreign Affairs Roman Vassilenko. "
           "The sides discussed trade, investment and a Business Council.")
OTHER = "Secretary Blinken discussed vaccine deliveries with the Foreign Minister of India."
RUSSIAN = ("Казахстанскую делегацию возглавил заместитель министра иностранных дел Роман Василенко. "
           "Стороны обсудили торговлю и инвестиции.")
QUESTION_RU = "Кто возглавлял казахстанскую делегацию?"


def write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text + "\n", encoding="utf-8")
    return folder


def services(settings, **embedding):
    return Services(settings.model_copy(update={"embedding": settings.embedding.model_copy(update=embedding)}))


def test_auto_gives_an_english_store_minilm_and_the_store_keeps_it(settings, tmp_path):
    folder = write(tmp_path / "en", "a.txt", ENGLISH)
    write(folder, "b.txt", OTHER)
    first = services(settings)
    first.ingest.ingest([folder])
    assert first.store.embedding_model() == MINILM
    # a Russian release later: the store keeps its model (mixing would rank nonsense)
    later = services(settings)
    later.ingest.ingest([write(tmp_path / "ru", "c.txt", RUSSIAN)])
    assert later.store.embedding_model() == MINILM and later.embedder.name == MINILM


def test_auto_gives_a_store_with_non_english_releases_the_multilingual_model(settings, tmp_path):
    folder = write(tmp_path / "mixed", "ru.txt", RUSSIAN)
    write(folder, "en.txt", OTHER)
    write(folder, "kz.txt", ENGLISH)
    s = services(settings)
    s.ingest.ingest([folder])
    assert s.store.embedding_model() == E5_SMALL
    hits = s.retriever.retrieve("Who headed the Kazakh delegation?", k=3)
    assert hits[0].chunk.doc_id != "en"  # the Russian or the English release about the delegation


def test_another_models_vectors_are_refused_until_reembedded(settings, tmp_path):
    folder = write(tmp_path / "en", "a.txt", ENGLISH)
    write(folder, "b.txt", OTHER)
    services(settings).ingest.ingest([folder])
    count = services(settings).store.count()

    explicit = services(settings, model=E5_SMALL)
    with pytest.raises(EmbeddingModelMismatch, match="rag reembed"):
        explicit.ingest.ingest([write(tmp_path / "ru", "c.txt", RUSSIAN)])
    assert explicit.store.count() == count  # nothing written

    # re-embed from the stored texts alone: the source folder may be gone
    for path in folder.iterdir():
        path.unlink()
    assert services(settings).reembed(E5_SMALL) == count
    after = services(settings, model=E5_SMALL)
    assert after.store.embedding_model() == E5_SMALL and after.store.count() == count
    top = after.retriever.retrieve(QUESTION_RU, k=2)[0]
    assert "Vassilenko" in top.chunk.text  # a Russian question finds the English release
