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
from rag.catalogue import Catalogue
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
    store = SimpleNamespace(count=lambda: 0, documents=lambda: [])  # an empty store, as the catalogue sees it
    return SimpleNamespace(
        settings=Settings(data_dir=tmp_path / "data", ui=ui), store=store, catalogue=Catalogue(store),
        answers=answers, embedder=SimpleNamespace(embed_query=lambda text: [0.0]),
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


# Every route that reads or changes data, as a client would call it without gradio_client.
DATA_ROUTES = [
    ("GET", "/config"), ("GET", "/gradio_api/info"), ("GET", "/gradio_api/openapi.json"),
    ("POST", "/gradio_api/call/answer"), ("POST", "/gradio_api/call/ask"), ("POST", "/gradio_api/call/ingest"),
    ("POST", "/gradio_api/call/corpus_stats"), ("POST", "/gradio_api/api/corpus_stats"),
    ("POST", "/gradio_api/run/predict"), ("POST", "/gradio_api/queue/join"), ("POST", "/gradio_api/upload"),
    ("GET", "/gradio_api/queue/data?session_hash=probe"), ("GET", "/gradio_api/file=/etc/passwd"),
    ("GET", "/monitoring"),
]


def test_auth_guards_every_api_route_over_raw_http(served):
    import httpx

    _, url = served(auth_user="ana", auth_password="s3cret")
    anonymous = httpx.Client(base_url=url, trust_env=False, timeout=10)
    for method, route in DATA_ROUTES:
        response = anonymous.request(method, route, json={"data": []} if method == "POST" else None)
        assert response.status_code == 401, (method, route, response.status_code, response.text[:200])
    page = anonymous.get("/").text  # the login form, without the app's layout or choices
    assert "auth_required" in page and "Ask a question" not in page
    wrong = httpx.Client(base_url=url, trust_env=False, timeout=10)
    assert wrong.post("/login", data={"username": "ana", "password": "nope"}).status_code >= 400
    assert wrong.get("/gradio_api/info").status_code == 401
    signed_in = httpx.Client(base_url=url, trust_env=False, timeout=10)
    assert signed_in.post("/login", data={"username": "ana", "password": "s3cret"}).status_code == 200
    assert signed_in.get("/gradio_api/info").json()["named_endpoints"]["/answer"]
    stats = signed_in.post("/gradio_api/api/corpus_stats", json={"data": []}).json()["data"][0]
    assert stats["documents"] == 0
    assert signed_in.get("/gradio_api/file=/etc/passwd").status_code == 403  # signed in is not everything


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


def test_a_bad_date_filter_is_refused_with_what_is_wrong_before_answering(served):
    from gradio_client import Client

    class Recording(SlowAnswers):
        def stream(self, question, history=(), filters=None, top_k=None, generator=None):
            asked.append(filters)
            return super().stream(question, history, filters, top_k, generator)

    asked = []
    answers = Recording()
    answers.release.set()
    _, url = served(answers)
    client = Client(url, verbose=False)
    with pytest.raises(Exception) as refused:
        client.predict("Who led the delegation?", "2025-02-30", "", [], 8, "extractive", api_name="/ask")
    assert "From '2025-02-30' is not a real date" in str(refused.value)
    with pytest.raises(Exception) as refused:
        client.predict("Who led the delegation?", "2025-04", "2025-03", [], 8, "extractive", api_name="/ask")
    assert "To 2025-03-31 is before From 2025-04-01" in str(refused.value)
    messages, *_ = client.predict("Who led the delegation?", "2025-03", "2025", [], 8, "extractive", api_name="/ask")
    assert "Business Council" in str(messages[-1]["content"])
    assert len(asked) == 1  # the refused ones never reached the answer service
    assert (asked[0].date_from, asked[0].date_to) == (date(2025, 3, 1), date(2025, 12, 31))  # a month, a year


def test_an_upload_of_too_many_files_says_the_limit_and_ingests_nothing(served, tmp_path):
    from gradio_client import Client, handle_file

    _, url = served(max_upload_files=2)
    files = []
    for i in range(3):
        path = tmp_path / f"release-{i}.txt"
        path.write_text(f"Release {i}\n\nThe ministry said {i}.", encoding="utf-8")
        files.append(handle_file(str(path)))
    table, summary, *_ = Client(url, verbose=False).predict(files, api_name="/ingest")
    assert "Nothing ingested: 3 files chosen, at most 2 per upload" in summary
    assert not (tmp_path / "data" / "uploads").exists()


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
