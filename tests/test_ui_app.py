"""ui.app.launch in-process with stand-in services (no model): binding, auth, streaming, errors.

A fake answer service is used here only to control timing (tokens arrive one by one) and failures;
the real answer service is exercised by test_ui_client.py and test_ui_browser.py.
"""

from __future__ import annotations

import threading
import time
from datetime import date
from types import SimpleNamespace

import pytest

from conftest_ui import free_port
from rag.settings import Settings
from rag.types import Answer, AnswerSentence, Citation
from ui.app import launch

pytestmark = pytest.mark.server

TOKENS = ["The Kazakh side ", "proposed ", "a Business Council."]


class SlowAnswers:
    """Streams a draft token by token, waiting for the test to see each one (a fake LLM)."""

    def __init__(self):
        self.release = threading.Event()

    def stream(self, question, history=(), filters=None, top_k=None, generator=None):
        yield SimpleNamespace(kind="status", text="Searching the releases…", answer=None)
        for i, token in enumerate(TOKENS):
            if i == 1:
                self.release.wait(timeout=30)  # hold the stream open until the client saw a partial draft
            yield SimpleNamespace(kind="token", text=token, answer=None)
        passage = "Indeed, the Kazakh side proposed a Business Council."
        quote = "the Kazakh side proposed a Business Council"
        cite = Citation("1", "kz:0", "kz", "Kazakhstan and Albania", date(2025, 3, 21), "Kazakh MFA", "", "kz.txt",
                        quote, 8, 8 + len(quote), passage, 0, 0.9)
        sentence = AnswerSentence("The Kazakh side proposed a Business Council.", ("1",), True)
        answer = Answer(question, sentence.text + " [1]", (sentence,), (cite,), generator="fake-llm")
        yield SimpleNamespace(kind="answer", text="", answer=answer)


class BrokenAnswers:
    def stream(self, *args, **kwargs):
        yield SimpleNamespace(kind="status", text="Searching the releases…", answer=None)
        raise ConnectionError("the OpenAI-compatible server at http://127.0.0.1:11434/v1 is not answering")


def stand_in_services(tmp_path, answers, **ui) -> SimpleNamespace:
    store = SimpleNamespace(
        count=lambda: 0, sources=lambda: ["Kazakh MFA"], languages=lambda: ["en"], documents=lambda: [],
        stats=lambda: {"documents": 0, "chunks": 0, "by_source": {}, "by_month": {}},
    )
    return SimpleNamespace(
        settings=Settings(data_dir=tmp_path / "data", ui=ui), store=store, answers=answers,
        embedder=SimpleNamespace(embed_query=lambda text: [0.0]),
    )


@pytest.fixture
def served(tmp_path):
    demos = []

    def start(answers=None, auth=None, **ui):
        port = free_port()
        demo = launch(stand_in_services(tmp_path, answers or SlowAnswers(), **ui), port=port, auth=auth, block=False)
        demos.append(demo)
        return demo, f"http://127.0.0.1:{port}/"

    yield start
    for demo in demos:
        demo.close()


def test_binds_to_localhost_by_default(served):
    demo, _ = served()
    assert demo.server_name == "127.0.0.1"


def test_auth_from_settings_is_required(served):
    from gradio_client import Client

    _, url = served(auth_user="ana", auth_password="s3cret")
    with pytest.raises(Exception):
        Client(url, verbose=False)
    with pytest.raises(Exception):
        Client(url, auth=("ana", "wrong"), verbose=False)
    client = Client(url, auth=("ana", "s3cret"), verbose=False)
    assert client.predict(api_name="/corpus_stats")["documents"] == 0


def test_explicit_auth_overrides_settings(served):
    from gradio_client import Client

    _, url = served(auth=("cli", "pw"), auth_user="ana", auth_password="s3cret")
    assert Client(url, auth=("cli", "pw"), verbose=False).predict(api_name="/corpus_stats")["chunks"] == 0
    with pytest.raises(Exception):
        Client(url, auth=("ana", "s3cret"), verbose=False)


def test_half_configured_auth_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="auth_password"):
        launch(stand_in_services(tmp_path, SlowAnswers(), auth_user="ana"), port=free_port(), block=False)


def test_answer_streams_token_by_token(served):
    from gradio_client import Client

    answers = SlowAnswers()
    _, url = served(answers)
    job = Client(url, verbose=False).submit(
        "What did Albania propose?", None, None, [], 8, "extractive", api_name="/ask"
    )
    deadline = time.monotonic() + 30
    partial = None
    while time.monotonic() < deadline and partial is None:
        for chat, _panel, _box in job.outputs():
            content = str(chat[-1]["content"])
            if "answer-draft" in content and "The Kazakh side" in content:
                partial = content
        time.sleep(0.1)
    answers.release.set()
    chat, panel, _ = job.result(timeout=30)
    assert partial is not None, "no partial draft was streamed before the answer"
    assert "Business Council" not in partial  # seen before the rest of the draft existed
    final = str(chat[-1]["content"])
    assert 'class="cite-marker"' in final and "fake-llm" in final
    assert '<mark class="support-span">the Kazakh side proposed a Business Council</mark>' in panel


def test_a_failing_generator_is_reported_in_the_chat(served):
    from gradio_client import Client

    _, url = served(BrokenAnswers())
    chat, panel, _ = Client(url, verbose=False).predict(
        "What did Albania propose?", None, None, [], 8, "openai", api_name="/ask"
    )
    content = str(chat[-1]["content"])
    assert "Could not answer" in content and "is not answering" in content


def banner_of(demo) -> dict:
    return next(c for c in demo.config["components"] if c.get("props", {}).get("elem_id") == "ingest-banner")["props"]


def test_plain_serve_has_no_ingest_banner(served):
    from gradio_client import Client

    demo, url = served()
    assert banner_of(demo)["visible"] is False
    assert not any(c["type"] == "timer" and c["props"].get("active") for c in demo.config["components"])
    assert Client(url, verbose=False).predict(api_name="/ingest_status") == {"phase": "none", "running": False, "text": ""}


def test_a_background_ingest_shows_a_banner_and_its_status(tmp_path):
    from gradio_client import Client

    from rag.ingest.background import IngestStatus

    services = stand_in_services(tmp_path, SlowAnswers())
    services.ingest_status = lambda: IngestStatus("embedding", done=64, total=256, started=1.0, as_of=9.0)
    port = free_port()
    demo = launch(services, port=port, block=False)
    try:
        banner = banner_of(demo)
        assert banner["visible"] is not False and "Indexing the corpus: 64 / 256 passages (25%)" in banner["value"]
        assert any(c["type"] == "timer" and c["props"].get("active") for c in demo.config["components"])
        status = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(api_name="/ingest_status")
        assert (status["phase"], status["done"], status["total"], status["running"]) == ("embedding", 64, 256, True)
        assert status["text"].startswith("Indexing the corpus: 64 / 256")
    finally:
        demo.close()


def test_a_question_over_the_length_limit_is_refused_without_being_echoed(served):
    from gradio_client import Client

    demo, url = served()
    box = next(c for c in demo.config["components"] if c.get("props", {}).get("elem_id") == "question")["props"]
    assert box["max_length"] == 1000  # the browser's box stops there
    with pytest.raises(Exception) as refused:  # and a client that sends more gets a clear error
        Client(url, verbose=False).predict("Albania? " * 2500, None, None, [], 8, "extractive", api_name="/ask")
    assert "limited to 1,000" in str(refused.value) and "Albania? Albania?" not in str(refused.value)


def test_the_generator_choice_says_what_each_backend_does_and_whether_the_server_answers(settings):
    from types import SimpleNamespace

    from web_site import FixtureSite

    from ui.app import generator_choices

    site = FixtureSite()
    site.add("/v1/models", '{"object": "list", "data": [{"id": "llama3.1"}]}', content_type="application/json")
    try:
        up = settings.model_copy(update={"generator": settings.generator.model_copy(
            update={"openai_base_url": f"{site.base}/v1"})})
        labels = dict((value, label) for label, value in generator_choices(SimpleNamespace(settings=up)))
        assert set(labels) == {"extractive", "local", "openai"}
        assert "about a second" in labels["extractive"] and "35-60 s" in labels["local"]
        assert labels["openai"].startswith(f"openai: llama3.1 at {site.base}/v1")
        down = settings.model_copy(update={"generator": settings.generator.model_copy(
            update={"openai_base_url": "http://127.0.0.1:9/v1"})})
        labels = dict((value, label) for label, value in generator_choices(SimpleNamespace(settings=down)))
        assert "NOT AVAILABLE" in labels["openai"] and "127.0.0.1:9" in labels["openai"]
    finally:
        site.close()
