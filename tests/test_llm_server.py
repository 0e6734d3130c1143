"""rag.llm_server: the OpenAI wire format (in-process, with a stub model), then the real server
process with the bundled model, driven through LangChain and the `openai` generator."""

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from servers import free_port, running_server
from fastapi.testclient import TestClient

from rag.llm_server import create_app

ROOT = Path(__file__).resolve().parents[1]


class StubModel:
    name = "stub-model"

    def stream(self, messages, max_new_tokens=256, temperature=0.0):
        self.last = (messages, max_new_tokens, temperature)
        yield from ["Hello", ", ", "world", "."][:max_new_tokens]


def test_chat_completion_without_streaming():
    stub = StubModel()
    with TestClient(create_app(stub)) as client:
        reply = client.post("/v1/chat/completions", json={
            "model": "anything", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3, "top_p": 1})
        assert reply.status_code == 200
        body = reply.json()
        assert body["object"] == "chat.completion" and body["model"] == "stub-model"
        assert body["choices"][0]["message"] == {"role": "assistant", "content": "Hello, world"}
        assert stub.last == ([{"role": "user", "content": "hi"}], 3, 0.0)
        assert client.get("/v1/models").json()["data"][0]["id"] == "stub-model"


def test_chat_completion_streams_server_sent_events_ending_with_done():
    with TestClient(create_app(StubModel())) as client:
        reply = client.post("/v1/chat/completions", json={
            "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}], "stream": True})
        assert reply.headers["content-type"].startswith("text/event-stream")
        events = [line[len("data: "):] for line in reply.text.split("\n\n") if line.startswith("data: ")]
        assert events[-1] == "[DONE]"
        chunks = [json.loads(e) for e in events[:-1]]
        assert all(c["object"] == "chat.completion.chunk" for c in chunks)
        assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
        assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "Hello, world."
        assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_a_request_without_messages_is_rejected():
    with TestClient(create_app(StubModel())) as client:
        assert client.post("/v1/chat/completions", json={"messages": []}).status_code == 422


@pytest.fixture(scope="module")
def server():
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    base = f"http://127.0.0.1:{port}"
    with running_server(
        [sys.executable, "-m", "rag.llm_server", "--port", str(port)],
        f"{base}/health",
        timeout_s=300,  # the model loads in ~40 s on 2 idle cores
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    ):
        yield base


@pytest.mark.server
@pytest.mark.slow
def test_langchain_streams_from_the_real_server(server):
    from langchain_openai import ChatOpenAI

    chat = ChatOpenAI(base_url=f"{server}/v1", model="SmolLM2-135M-Instruct", api_key="not-needed",
                      max_tokens=8, temperature=0, streaming=True)
    pieces = [chunk.content for chunk in chat.stream("What is the capital of France?") if chunk.content]
    assert len(pieces) >= 2 and "Paris" in "".join(pieces)
    assert "Paris" in chat.invoke("What is the capital of France?").content


@pytest.mark.server
@pytest.mark.slow
def test_the_openai_generator_answers_through_the_real_server(server, embedder):
    import norland
    from rag.answer.service import AnswerService
    from rag.settings import GeneratorSettings, RetrievalSettings, Settings

    archive = {d.doc_id: d for d in norland.documents()}
    settings = Settings(
        generator=GeneratorSettings(backend="openai", openai_base_url=f"{server}/v1",
                                    openai_model="SmolLM2-135M-Instruct", max_new_tokens=40),
        retrieval=RetrievalSettings(top_k=2),
    )
    service = AnswerService(norland.retriever(embedder), embedder, settings, today=date(2024, 12, 31))
    events = list(service.stream("What did the Norland side propose to expand economic ties?"))
    assert len([e for e in events if e.kind == "token"]) >= 5
    answer = events[-1].answer
    assert answer.generator in ("openai", "openai+extractive")
    assert answer.citations
    for citation in answer.citations:
        assert archive[citation.doc_id].text[citation.start : citation.end] == citation.quote


def test_an_unreachable_server_is_a_clear_error(embedder):
    import norland
    from rag.answer.generators import GeneratorError
    from rag.answer.service import AnswerService
    from rag.settings import GeneratorSettings, Settings

    port = free_port()
    settings = Settings(generator=GeneratorSettings(openai_base_url=f"http://127.0.0.1:{port}/v1", timeout_s=5))
    service = AnswerService(norland.retriever(embedder), embedder, settings, today=date(2024, 12, 31))
    with pytest.raises(GeneratorError, match=f"127.0.0.1:{port}"):
        service.ask("What did the Norland side propose to expand economic ties?", generator="openai")
