"""The same flows as the browser tests, through gradio_client (the app's named API endpoints).

Endpoints: /answer (Answer as a JSON string), /ask (the chat turn, streamed), /ingest, /search_titles,
/corpus_stats. Run: pytest -m server tests/test_ui_client.py
"""

from __future__ import annotations

import json
import re

import pytest

from conftest_ui import SCRIPT_TITLE, UPLOAD_CLIENT, ui_server, write_upload

pytestmark = [pytest.mark.server, pytest.mark.slow]


@pytest.fixture(scope="module")
def server():
    return ui_server()


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server.url, verbose=False)


def text_of(message: dict) -> str:
    """A chat message's content as the client returns it: a string or a list of typed parts."""
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


def ask_chat(client, question: str, **filters):
    """Submit a chat turn; returns every streamed output (chat, sources panel, cleared textbox)."""
    args = {"date_from": None, "date_to": None, "sources": [], "top_k": 8, "generator": "extractive", **filters}
    job = client.submit(question, api_name="/ask", **args)
    job.result(timeout=300)
    return job.outputs()


def test_answer_endpoint_cites_the_kazakh_proposal(client):
    answer = json.loads(client.predict("What did Albania propose?", api_name="/answer"))
    assert not answer["refused"]
    assert not re.search(r"\bAlbania(n side)? proposed\b", answer["text"])
    proposal = [c for c in answer["citations"] if "Kazakh side proposed" in c["quote"]]
    assert proposal, [c["quote"] for c in answer["citations"]]
    cite = proposal[0]
    span = cite["passage_text"][cite["start"] - cite["passage_start"] : cite["end"] - cite["passage_start"]]
    assert span == cite["quote"] and "Intergovernmental Commission" in span
    assert cite["source"] == "Kazakh MFA" and cite["published"] == "2025-03-21"


def test_chat_endpoint_streams_and_links_markers_to_highlighted_spans(client):
    outputs = ask_chat(client, "What did Albania propose?")
    assert len(outputs) >= 2  # the status bubble first, the checked answer last
    first_chat = outputs[0][0]
    assert "answer-status" in text_of(first_chat[-1])
    chat, panel, textbox = outputs[-1]
    assert textbox == ""
    bubble = text_of(chat[-1])
    assert chat[-1]["role"] == "assistant" and "Kazakh side proposed" in bubble
    targets = re.findall(r'class="cite-marker" href="#([^"]+)"', bubble)
    assert targets
    spans = {
        t: m.group(1)
        for t in targets
        if (m := re.search(rf'id="{t}".*?<mark class="support-span">(.*?)</mark>', panel, re.S))
    }
    assert any("Kazakh side proposed" in s for s in spans.values()), spans


def test_follow_up_question_keeps_the_chat_history(client):
    from gradio_client import Client

    fresh = Client(client.src, verbose=False)  # its own session, so its own history
    ask_chat(fresh, "What did Albania propose?")
    chat, panel, _ = ask_chat(fresh, "Who headed the Kazakh delegation?")[-1]
    assert [m["role"] for m in chat] == ["user", "assistant"] * 2
    assert "Vassilenko" in text_of(chat[-1])
    assert panel.count('class="source-group"') == 2  # both answers' sources, newest first
    assert panel.index("Who headed the Kazakh delegation?") < panel.index("What did Albania propose?")


def newest_sources(panel: str) -> str:
    """The sources of the latest answer (the panel lists every answer's sources, newest first)."""
    groups = panel.split('<section class="source-group"')
    assert len(groups) >= 2, panel
    return groups[1]


def test_filters_restrict_the_sources(client):
    _, panel, _ = ask_chat(client, "What did Albania propose?", sources=["U.S. Department of State"])[-1]
    newest = newest_sources(panel)
    assert "Kazakh" not in newest and "U.S. Department of State" in newest
    _, panel, _ = ask_chat(client, "What did Albania propose?", date_from="2025-01-01")[-1]
    newest = newest_sources(panel)
    assert "U.S. Department of State" not in newest and "Kazakh MFA" in newest


def test_upload_then_ask_about_it(client, tmp_path):
    from gradio_client import handle_file

    path = write_upload(tmp_path, UPLOAD_CLIENT)
    table, summary, *_ = client.predict([handle_file(str(path))], api_name="/ingest")
    rows = {row[0]: row for row in table["data"]}
    assert rows[path.name][1] == "ingested" and rows[path.name][3] >= 1, rows
    assert "1 ingested" in summary
    again, _, *_ = client.predict([handle_file(str(path))], api_name="/ingest")
    assert again["data"][0][1] == "unchanged"

    answer = json.loads(client.predict("What did Ruritania propose?", api_name="/answer"))
    assert "Pear Exchange Programme" in answer["text"]
    assert any("orchard accord" in c["title"] for c in answer["citations"])


def test_albania_answer_does_not_cite_another_country_s_proposal(client):
    """Runs after the Ruritania upload above: its proposal is not an answer about Albania."""
    albania = json.loads(client.predict("What did Albania propose?", api_name="/answer"))
    assert any("Kazakh side proposed" in c["quote"] for c in albania["citations"])
    cited = [c["title"] for c in albania["citations"]]
    assert all("Albania" in title for title in cited), albania["text"]


def test_zip_upload_reports_each_member(client, tmp_path):
    import zipfile

    from gradio_client import handle_file

    archive = tmp_path / "batch.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("releases/2022-06-01-osterlich-canal.txt",
                    "Osterlich opens canal talks\n\nOsterlich proposed a Canal Toll Commission.\n")
        zf.writestr("releases/bad.jsonl", "{not json\n")
        zf.writestr("../escape.txt", "outside")
        zf.writestr("setup.exe", "MZ")
    table, summary, *_ = client.predict([handle_file(str(archive))], api_name="/ingest")
    rows = {row[0]: row for row in table["data"]}
    assert rows["batch.zip/releases/2022-06-01-osterlich-canal.txt"][1] == "ingested", rows
    assert rows["batch.zip/releases/bad.jsonl"][1] == "failed"
    assert "batch.zip/releases/bad.jsonl" in rows["batch.zip/releases/bad.jsonl"][4]  # the user's name, not a temp path
    assert "unsafe" in rows["batch.zip/../escape.txt"][4]
    assert "not accepted" in rows["batch.zip/setup.exe"][4]
    assert "/uploads/" not in json.dumps(table)


def test_upload_of_a_refused_type_says_why(client, tmp_path):
    from gradio_client import handle_file

    bad = tmp_path / "notes.exe"
    bad.write_bytes(b"MZ")
    try:
        table, *_ = client.predict([handle_file(str(bad))], api_name="/ingest")
    except Exception as error:  # Gradio itself may refuse the type before the handler runs
        assert "notes.exe" in str(error) or "type" in str(error).lower()
        return
    row = table["data"][0]
    assert row[0] == "notes.exe" and row[1] == "failed" and "not accepted" in row[4]


def test_script_release_comes_back_escaped(client):
    html = client.predict("Embassy note", api_name="/search_titles")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script" not in html and "<b>" not in html
    chat, panel, _ = ask_chat(client, "What is the Zanzibar Cheese Accord?")[-1]
    assert "Zanzibar Cheese Accord" in text_of(chat[-1])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in panel
    assert "<script" not in panel and "<b>" not in panel and "<script" not in text_of(chat[-1])
    answer = json.loads(client.predict("What is the Zanzibar Cheese Accord?", api_name="/answer"))
    assert any(c["title"] == SCRIPT_TITLE for c in answer["citations"])  # the data itself is untouched


def test_corpus_stats(client):
    stats = client.predict(api_name="/corpus_stats")
    assert stats["documents"] >= 22 and stats["chunks"] >= stats["documents"]
    assert stats["by_source"]["Kazakh MFA"] == 1 and stats["by_source"]["Ministry of Testing"] == 1
    assert stats["by_month"]["2025-03"] == 1
