"""The web ingest from the command line, as whole processes against a fixture site on 127.0.0.1:
`rag ingest URL` then `rag ask` cites the page's URL; a re-run makes only conditional requests;
`rag follow` picks up an edited page; `rag up` follows the config's [[feeds]] beside the UI."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from conftest_ui import clean_env, rag_command
from servers import free_port, running_server
from web_site import NORLAND_V2, ministry_site

pytestmark = [pytest.mark.server, pytest.mark.slow]

QUICK_ENV = {"RAG_WEB__MIN_INTERVAL_S": "0", "RAG_WEB__TIMEOUT_S": "5", "RAG_WEB__BACKOFF_S": "0.05"}


@pytest.fixture
def site():
    site = ministry_site()
    yield site
    site.close()


def rag(*args: str, data_dir, cwd, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**clean_env(data_dir), **QUICK_ENV}
    return subprocess.run(rag_command(*args), capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)


def test_rag_ingest_a_feed_then_ask_cites_the_page_url(site, tmp_path):
    data_dir = tmp_path / "data"
    feed = f"{site.base}/en/news.xml"
    first = rag("ingest", feed, "--quiet", data_dir=data_dir, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "3 files and pages (3 ingested)" in first.stdout, first.stdout

    answer = json.loads(rag("ask", "What did Albania propose?", "--json", data_dir=data_dir, cwd=tmp_path).stdout)
    proposal = [c for c in answer["citations"] if "Kazakh side proposed" in c["quote"]]
    assert proposal, answer
    assert proposal[0]["url"] == f"{site.base}/en/press/albania"
    assert proposal[0]["published"] == "2025-03-21"

    mark = site.mark()
    again = rag("ingest", feed, "--quiet", data_dir=data_dir, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "3 unchanged" in again.stdout and "0 chunks written" in again.stdout, again.stdout
    requests = site.since(mark)
    assert requests and all(r.conditional and r.status == 304 for r in requests), requests
    print(f"\n[rag ingest URL] second run: {again.stdout.strip()}")


def test_rag_follow_re_ingests_a_page_edited_between_two_checks(site, tmp_path):
    data_dir = tmp_path / "data"
    env = {**clean_env(data_dir), **QUICK_ENV}
    args = rag_command("follow", f"{site.base}/en/news.xml", "--every", "10s", "--times", "2")
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path)
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "chunks written" in line:
                site.change("/en/press/norland", NORLAND_V2)  # edited on the site before the next check
                break
        rest = process.communicate(timeout=300)[0]
    finally:
        process.kill()
    checks = [line for line in lines + rest.splitlines() if "chunks written" in line]
    assert len(checks) == 2 and process.returncode == 0, "".join(lines) + rest
    assert "(3 ingested)" in checks[0]
    assert "(1 ingested, 2 unchanged)" in checks[1], checks[1]


def test_rag_up_follows_the_configured_feeds(site, tmp_path):
    from gradio_client import Client

    from rag.settings import Settings
    from rag.store import ChunkStore
    from rag.web.page import web_doc_id

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "note.txt").write_text("Title: Consular hours\n\nThe consular section is open on weekdays from 9 to 13.")
    (tmp_path / "rag.toml").write_text(f'[[feeds]]\nurl = "{site.base}/en/news.xml"\nevery = "10s"\n')
    data_dir = tmp_path / "data"
    port = free_port()
    log = tmp_path / "up.log"
    args = rag_command("up", "--corpus", str(corpus), "--port", str(port))
    with log.open("w") as out, running_server(
        args, f"http://127.0.0.1:{port}/", 120, output=log.read_text, cwd=tmp_path,
        env={**clean_env(data_dir), **QUICK_ENV}, stdout=out, stderr=subprocess.STDOUT,
    ):
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        deadline = time.monotonic() + 180
        while client.predict(api_name="/corpus_stats")["documents"] < 4:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(1)
        status = client.predict(api_name="/ingest_status")
        assert status["feed"] == f"{site.base}/en/news.xml", status
        mark = site.mark()
        site.change("/en/press/norland", NORLAND_V2)
        norland = web_doc_id(f"{site.base}/en/press/norland")
        # the next check (within 10 s) fetches the edited page whole, and its banner says what it found
        while not any(r.path == "/en/press/norland" and r.status == 200 for r in site.since(mark)):
            assert time.monotonic() < deadline + 60, log.read_text()[-3000:]
            time.sleep(1)
        while (status := client.predict(api_name="/ingest_status"))["running"]:
            time.sleep(0.5)
        assert status["text"].startswith(f"Checked {site.base}/en/news.xml:") and status["chunks_written"] > 0, status
    text = " ".join(c.text for c in ChunkStore(Settings(data_dir=data_dir)).document_chunks(norland))
    assert "launch in June" in text and "study further" not in text
    assert "following " in log.read_text()
