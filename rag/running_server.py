"""Finding and asking a `rag up` / `rag serve` that already serves this data_dir.

A cold `rag ask` spends 8-10 s importing torch, sentence-transformers and spaCy and loading
the models; the answer itself takes ~0.5 s. A server started on the same data_dir leaves a
small file there (its URL and process id); `rag ask` then sends the question to its `answer`
API over 127.0.0.1 and only imports the standard library. Nothing here imports numpy.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

SERVER_FILE = "server.json"
TIMEOUT_S = 600  # an answer by the local model can take a minute; the connection itself fails fast


def server_file(data_dir: Path) -> Path:
    return Path(data_dir) / SERVER_FILE


def announce(data_dir: Path, url: str, auth: bool) -> Path:
    """Written by the server once it listens; removed when it stops."""
    path = server_file(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"url": url, "pid": os.getpid(), "auth": auth}))
    tmp.replace(path)
    return path


def withdraw(data_dir: Path) -> None:
    path = server_file(data_dir)
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def running_server(data_dir: Path) -> str | None:
    """The URL of a live server of this data_dir that takes questions without a login, or None."""
    try:
        info = json.loads(server_file(data_dir).read_text())
        os.kill(int(info["pid"]), 0)  # is it alive? (signal 0 only checks)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if info.get("auth"):
        return None  # behind a login: answered in process instead
    return str(info["url"])


class ServerUnavailable(RuntimeError):
    pass


def ask_server(url: str, question: str, filters, top_k: int = 0, generator: str = "") -> dict:
    """The server's checked Answer (rag.types.Filters applied), as the dict Answer.to_dict gives.
    Raises ServerUnavailable when nothing answers (a stale file: the caller answers in process)."""
    base = url.rstrip("/") + "/gradio_api/call/answer"
    when = [d.isoformat() if d else "" for d in (filters.date_from, filters.date_to)]
    payload = {"data": [question, *when, list(filters.sources), top_k, generator, list(filters.languages)]}
    request = urllib.request.Request(base, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            event = json.loads(response.read())["event_id"]
        with urllib.request.urlopen(f"{base}/{event}", timeout=TIMEOUT_S) as stream:
            kind = ""
            for raw in stream:
                line = raw.decode().rstrip("\n")
                if line.startswith("event:"):
                    kind = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and kind in ("complete", "error"):
                    data = line.split(":", 1)[1].strip()
                    if kind == "error":
                        raise RuntimeError(f"the server at {url} could not answer: {data}")
                    return json.loads(json.loads(data)[0])
    except (urllib.error.URLError, ConnectionError, TimeoutError, KeyError, ValueError) as error:
        raise ServerUnavailable(f"{url}: {error}") from error
    raise ServerUnavailable(f"{url}: the answer stream ended without an answer")
