"""The `local` generator with the real bundled SmolLM2-135M-Instruct (slow: ~40 s to load on 2 cores)."""

from datetime import date

import pytest

from rag.local_llm import GGUF_FILE, get_local_model, gguf_path
from rag.answer.service import AnswerService
from rag.settings import GeneratorSettings, RetrievalSettings, Settings


def test_the_bundled_model_is_found_without_importing_its_package():
    path = gguf_path()
    assert path.name == GGUF_FILE and path.stat().st_size > 50_000_000


@pytest.mark.slow
def test_the_local_model_streams_a_reply():
    model = get_local_model()
    pieces = list(model.stream([{"role": "user", "content": "What is the capital of France?"}], max_new_tokens=8))
    assert len(pieces) >= 2
    assert "Paris" in "".join(pieces)
    assert get_local_model() is model  # loaded once per process


@pytest.mark.slow
def test_local_generator_answers_are_streamed_and_checked(embedder):
    import norland

    archive = {d.doc_id: d for d in norland.documents()}
    settings = Settings(
        generator=GeneratorSettings(backend="local", max_new_tokens=40), retrieval=RetrievalSettings(top_k=2)
    )
    service = AnswerService(norland.retriever(embedder), embedder, settings, today=date(2024, 12, 31))
    events = list(service.stream("What did the Norland side propose to expand economic ties?"))
    tokens = [e.text for e in events if e.kind == "token"]
    answer = events[-1].answer
    assert len(tokens) >= 5  # streamed piece by piece
    assert answer.generator in ("local", "local+extractive")
    assert len(answer.passages) >= 2
    # whatever the small model wrote, nothing unsupported is shown as supported
    for sentence in answer.sentences:
        if sentence.supported and sentence.citation_keys:
            (citation,) = [c for c in answer.citations if c.key == sentence.citation_keys[0]]
            assert archive[citation.doc_id].text[citation.start : citation.end] == citation.quote
    assert answer.citations, answer
    assert answer.timings["generate"] > 0
