"""`rag up` as a real process: the UI answers at once while the corpus is ingested in the background,
a question mid-ingest is answered from what is stored, SIGTERM mid-ingest stops cleanly, and the
next `rag up` finishes the job. Talks to the app through gradio_client (/ingest_status, /answer).

Run: pytest -m server tests/test_up_background.py -s (the banner test also needs -m browser's Chromium)
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest_ui import artifact_path, clean_env, rag_command
from demo_subset import kazakh_and_archive
from servers import free_port, running_server

pytestmark = [pytest.mark.server, pytest.mark.slow]

N_RELEASES = 60  # ~450 passages: long enough to outlast the UI's start on 2 cores, short enough for CI
TARGET_TITLE = "Finalists Announced for 2021 P3 Impact Award"
START_TIMEOUT_S = 120
INGEST_TIMEOUT_S = 300


def build_corpus(folder: Path) -> dict[str, str]:
    """The Kazakh release and N mid-length State Department releases; returns their url -> title."""
    records = kazakh_and_archive(folder, N_RELEASES, 3000, 8000, "state-dept.jsonl")
    copied = {r["url"]: " ".join(r["title"].split()) for r in records}  # titles hold no-break spaces
    assert TARGET_TITLE in copied.values()
    return copied


def wait_for(condition, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"{what} not within {timeout:.0f} s; server log:\n{log.read_text()[-3000:]}")


def ingest_status(client) -> dict:
    return client.predict(api_name="/ingest_status")


def up(corpus: Path, data_dir: Path, log: Path, workdir: Path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    args = rag_command("up", "--corpus", str(corpus), "--data-dir", str(data_dir), "--port", str(port))
    out = log.open("w")
    server = running_server(
        args, url, START_TIMEOUT_S, output=log.read_text, cwd=workdir, env=clean_env(data_dir),
        stdout=out, stderr=subprocess.STDOUT,
    )
    return url, server, out


def test_rag_up_serves_at_once_and_indexes_in_the_background(tmp_path, settings):
    from gradio_client import Client

    copied = build_corpus(tmp_path / "corpus")
    data_dir = settings.data_dir  # under tmp_path; the fixture also keeps RAG_* and rag.toml out

    # -- first start: served before the ingest ends; a question mid-ingest; SIGTERM mid-ingest ------
    log = tmp_path / "up-1.log"
    started = time.time()
    url, server, out = up(tmp_path / "corpus", data_dir, log, tmp_path)
    with out, server as process:
        first_200 = time.time()
        client = Client(url, verbose=False)
        first = ingest_status(client)
        assert first["phase"] != "none", first
        # The UI answered while the ingest was still running.
        assert first["running"] or first_200 < first["finished"], first
        if first["running"]:
            assert first["text"].startswith("Indexing the corpus"), first
        # The single release beside the archive is ingested first: the example question works early.
        wait_for(lambda: "Kazakh MFA" in client.predict(api_name="/corpus_stats")["by_source"], 60,
                 "the Kazakh release stored", log)
        kazakh_at = time.time() - started
        asked = time.time()
        answer = json.loads(client.predict("What did Albania propose?", api_name="/answer"))
        answer_s = time.time() - asked
        assert any(c["source"] == "Kazakh MFA" and "Kazakh side proposed" in c["quote"] for c in answer["citations"]), answer
        # Two processes, one store: `rag ask` in a terminal while `rag up` writes. Through the
        # running server (its server.json), and in its own process (--local: its own Chroma
        # client and lexical index on the same data_dir). Both answer; neither hangs.
        for extra in ([], ["--local"]):
            asked_at = time.time()
            terminal = subprocess.run(
                rag_command("ask", "What did Albania propose?", "--json", *extra), capture_output=True, text=True,
                cwd=tmp_path, env=clean_env(data_dir), timeout=300,
            )
            assert terminal.returncode == 0, (extra, terminal.stderr[-3000:])
            cited = json.loads(terminal.stdout)["citations"]
            assert any("Kazakh side proposed" in c["quote"] for c in cited), (extra, cited)
            print(f"[rag up] `rag ask {' '.join(extra)}` from another process mid-ingest: {time.time() - asked_at:.1f} s")
        mid = ingest_status(client)
        print(f"\n[rag up] first HTTP 200 after {first_200 - started:.1f} s (ingest {first['phase']} "
              f"{first.get('done')}/{first.get('total')}); Kazakh release stored after {kazakh_at:.1f} s; "
              f"'What did Albania propose?' answered in {answer_s:.1f} s while the ingest was "
              f"{mid['phase']} {mid['done']}/{mid['total']}")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=90) == 0, log.read_text()[-3000:]
    first_log = log.read_text()
    assert "interrupted: what was stored so far is kept" in first_log or "background ingest finished" in first_log, (
        first_log[-3000:]
    )
    stored_by_first = stored_chunks(data_dir)

    # -- second start: finishes what is missing, then a question cites a copied release ---------------
    log = tmp_path / "up-2.log"
    url, server, out = up(tmp_path / "corpus", data_dir, log, tmp_path)
    with out, server:
        client = Client(url, verbose=False)
        done = wait_for(lambda: (s := ingest_status(client))["phase"] in ("done", "failed") and s,
                        INGEST_TIMEOUT_S, "the background ingest's end", log)
        assert done["phase"] == "done" and done["failed_files"] == 0, done
        assert done["text"].startswith("Indexing finished"), done
        stats = client.predict(api_name="/corpus_stats")
        assert stats["documents"] == N_RELEASES + 1, stats
        # Resumed: the second start wrote only what the first had not stored.
        assert stored_by_first + done["chunks_written"] == stats["chunks"], (stored_by_first, done, stats)
        answer = json.loads(client.predict("Who were the finalists for the 2021 P3 Impact Award?",
                                           api_name="/answer"))
        cited = {c["url"] for c in answer["citations"]}
        assert cited and cited <= set(copied), answer
        assert copied_url(copied, TARGET_TITLE) in cited, answer
        print(f"[rag up] restart finished the ingest: {done['summary']}")

    # Nothing half-written or doubled: every document complete, one version each.
    from rag.store import ChunkStore

    store = ChunkStore(settings)
    states = store.doc_states()
    assert len(states) == N_RELEASES + 1
    # The lexical index the writers kept is the store's, chunk for chunk.
    assert sorted(store.lexical_index().ids) == sorted(store.collection.get(include=[])["ids"])
    for state in states.values():
        (digest,) = state.n_chunks_by_hash
        assert len(state.chunk_ids_by_hash[digest]) == state.n_chunks_by_hash[digest]


@pytest.mark.browser
def test_the_banner_follows_the_ingest_in_a_browser(tmp_path, settings):
    """The gr.Timer polls the progress into the banner; at the end the corpus tab is refreshed."""
    chromium = "/usr/bin/chromium"
    if shutil.which(chromium) is None:
        pytest.skip(f"{chromium} is not installed")
    from playwright.sync_api import expect, sync_playwright

    build_corpus(tmp_path / "corpus")
    log = tmp_path / "up.log"
    url, server, out = up(tmp_path / "corpus", settings.data_dir, log, tmp_path)
    with out, server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            banner = page.locator("#ingest-banner")
            expect(banner).to_contain_text("Indexing the corpus", timeout=30_000)
            page.screenshot(path=str(artifact_path("up-01-indexing-banner.png")))
            expect(banner).to_contain_text("passages (", timeout=60_000)  # counts arrive with the timer's ticks
            expect(banner).to_contain_text("Indexing finished", timeout=INGEST_TIMEOUT_S * 1000)
            page.screenshot(path=str(artifact_path("up-02-indexing-finished.png")))
            page.get_by_role("tab", name="Corpus").click()
            expect(page.locator("#corpus-summary")).to_contain_text(f"{N_RELEASES + 1} releases", timeout=30_000)
        finally:
            browser.close()


def stored_chunks(data_dir: Path) -> int:
    """Chunks in the store, counted by another process (the test process keeps no Chroma client open)."""
    script = (
        "import sys; from rag.settings import Settings; from rag.store import ChunkStore; "
        "print(ChunkStore(Settings(data_dir=sys.argv[1])).count())"
    )
    result = subprocess.run([sys.executable, "-c", script, str(data_dir)], capture_output=True, text=True,
                            env=clean_env(data_dir), timeout=120, check=True)
    return int(result.stdout.strip().splitlines()[-1])


def copied_url(copied: dict[str, str], title: str) -> str:
    return next(url for url, t in copied.items() if t == title)
