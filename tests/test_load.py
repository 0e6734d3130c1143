"""20 chat sessions at once through the real `rag serve` process (gradio_client, 127.0.0.1), with an
upload running at the same time: every request is answered or cleanly refused, no session sees
another's history, the server's memory stays bounded. p50/p95 go to tests/artifacts/load.json.

Run: pytest -m server tests/test_load.py -s
"""

from __future__ import annotations

import html
import json
import re
import statistics
import threading
import time
from pathlib import Path

import pytest

from conftest_ui import ui_server

pytestmark = [pytest.mark.server, pytest.mark.slow]

SESSIONS = 20
DURATION_S = 30.0  # each session keeps chatting (question, follow-up, ...) this long
MAX_GROWTH_MB = 600  # server RSS growth over the run (the models are loaded before it starts)
REPORT = Path(__file__).resolve().parent / "artifacts" / "load.json"
UPLOAD = (
    "2022-07-14-osterlich-river-commission.txt",
    "Osterlich and Tomainia create a river commission\n\n"
    "The foreign ministers of Osterlich and Tomainia met on 14 July 2022.\n\n"
    "Osterlich proposed a Joint River Commission to manage the shared waterway.\n",
)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def text_of(message: dict) -> str:
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


def test_twenty_sessions_and_an_upload_at_once(tmp_path):
    from gradio_client import Client, handle_file

    server = ui_server()
    titles = [json.loads(line)["title"] for line in (server.corpus_dir / "state-dept-sample.jsonl").open()]
    topics = [" ".join(t.split()[:8]) for t in titles][:SESSIONS]
    while len(topics) < SESSIONS:
        topics.append(topics[len(topics) % len(titles)])
    questions = [(f"What did the State Department say about {topic}?", "When was that?") for topic in topics]
    clients = [Client(server.url, verbose=False) for _ in range(SESSIONS)]  # one session each
    before = rss_mb(server.process.pid)
    peak = [before]
    latencies: list[float] = []
    failures: list[str] = []
    chats: dict[int, list] = {}
    lock = threading.Lock()
    upload_result: dict = {}

    asked_by: dict[int, list[str]] = {i: [] for i in range(SESSIONS)}
    deadline = time.monotonic() + DURATION_S

    def session(i: int) -> None:
        turn = 0
        while not asked_by[i] or time.monotonic() < deadline:
            question = questions[i][turn % 2]
            turn += 1
            asked_by[i].append(question)
            started = time.perf_counter()
            try:
                job = clients[i].submit(question, None, None, [], 8, "extractive", [], api_name="/ask")
                chat, _panel, _box = job.result(timeout=600)
            except Exception as error:  # a refusal must be clean: said, not a hang or a crash
                with lock:
                    failures.append(f"session {i}: {type(error).__name__}: {error}")
                return
            with lock:
                latencies.append(time.perf_counter() - started)
                chats[i] = chat

    def upload() -> None:
        path = tmp_path / UPLOAD[0]
        path.write_text(UPLOAD[1])
        started = time.perf_counter()
        table, summary, *_ = Client(server.url, verbose=False).predict([handle_file(str(path))], api_name="/ingest")
        upload_result.update(summary=summary, table=table, seconds=time.perf_counter() - started)

    def watch_memory(stop: threading.Event) -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rss_mb(server.process.pid))
            stop.wait(0.2)

    stop = threading.Event()
    watcher = threading.Thread(target=watch_memory, args=(stop,), daemon=True)
    watcher.start()
    threads = [threading.Thread(target=session, args=(i,)) for i in range(SESSIONS)]
    threads.append(threading.Thread(target=upload))
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=900)
    wall = time.perf_counter() - started
    stop.set()

    assert not failures, failures
    assert all(not t.is_alive() for t in threads), "a request hung"
    assert len(latencies) == sum(len(a) for a in asked_by.values()) >= SESSIONS
    for i, chat in chats.items():
        asked = [html.unescape(re.sub(r"<[^>]+>", "", text_of(m))) for m in chat if m["role"] == "user"]
        assert asked == asked_by[i], f"session {i} sees another history: {asked}"
        assert [m["role"] for m in chat] == ["user", "assistant"] * len(asked_by[i]), i
    assert "1 ingested" in upload_result["summary"], upload_result
    answer = json.loads(clients[0].predict("What did Osterlich propose?", api_name="/answer"))
    assert "Joint River Commission" in answer["text"], answer["text"]
    growth = peak[0] - before
    assert growth < MAX_GROWTH_MB, f"server RSS grew {growth:.0f} MB ({before:.0f} -> {peak[0]:.0f})"

    ordered = sorted(latencies)
    figures = {
        "sessions": SESSIONS, "duration_s": DURATION_S, "requests": len(latencies), "failed": len(failures),
        "p50_s": round(statistics.median(ordered), 2),
        "p95_s": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
        "max_s": round(ordered[-1], 2), "wall_s": round(wall, 1),
        "upload_s": round(upload_result["seconds"], 1),
        "rss_before_mb": round(before), "rss_peak_mb": round(peak[0]),
    }
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(figures, indent=2))
    print("\nload:", figures)
