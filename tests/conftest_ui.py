"""Shared pieces of the UI end-to-end tests: a small corpus, a real `rag serve` process, screenshots.

Imported by tests/test_ui_browser.py and tests/test_ui_client.py (`from conftest_ui import ...`).
The server is started once per test process (whichever module asks first) and stopped at exit:
ingesting the small corpus loads the embedding model, which is the slow part.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
ARTIFACTS = REPO / "tests" / "artifacts" / "ui"
N_STATE_RELEASES = 20
MAX_RELEASE_CHARS = 4000  # short releases only: the corpus is embedded on 2 shared cores

SCRIPT_TITLE = "Embassy note <script>alert(1)</script> on <b>bold</b> cheese claims"
SCRIPT_RELEASE = {
    "id": "test-script-release",
    "title": SCRIPT_TITLE,
    "published": "2022-03-01",
    "source": "Ministry of Testing",
    "url": "https://example.org/script-release",
    "text": (
        "The Ministry of Testing announced the Zanzibar Cheese Accord. <script>alert(1)</script> "
        "The accord was signed in <b>bold</b> letters by Minister Quill.\n\n"
        "Minister Quill said the Zanzibar Cheese Accord covers pastry exports."
    ),
}

# Uploaded during the tests (not part of the pre-ingested corpus): one per test module, so each
# upload is new to the store whatever order the modules run in.
UPLOAD_BROWSER = (
    "2022-04-02-freedonia-sylvania-lighthouse.txt",
    "Freedonia and Sylvania hold maritime talks\n\n"
    "The foreign ministries of Freedonia and Sylvania met in Fredonia City on 2 April 2022.\n\n"
    "The Freedonian side proposed the creation of a Joint Lighthouse Authority to manage the coastal beacons "
    "of both countries.\n\n"
    "The Sylvanian delegation welcomed the idea and agreed to study it.\n",
)
UPLOAD_CLIENT = (
    "2022-05-09-ruritania-orchard-accord.md",
    "# Ruritania and Grand Fenwick sign an orchard accord\n\n"
    "On 9 May 2022 the foreign ministers of Ruritania and Grand Fenwick signed an accord on orchards.\n\n"
    "Ruritania proposed a Pear Exchange Programme for agricultural students from both countries.\n",
)


def build_test_corpus(folder: Path) -> Path:
    """The Kazakh MFA release, ~20 short State Department releases, and a release full of tags."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(CORPUS / "2025-03-21-kazakhstan-albania-political-consultations.txt", folder)
    picked = []
    with open(CORPUS / "state_dept_press_releases_2021-2022.jsonl", encoding="utf-8") as archive:
        for line in archive:
            if len(json.loads(line)["text"]) <= MAX_RELEASE_CHARS:
                picked.append(line)
            if len(picked) == N_STATE_RELEASES:
                break
    (folder / "state-dept-sample.jsonl").write_text("".join(picked), encoding="utf-8")
    # Plain text, where markup is literal characters (an archive's HTML bodies become text at
    # ingest): what reaches the UI still holds the tags, and must be shown as text
    release = SCRIPT_RELEASE
    (folder / "script-release.txt").write_text(
        f"Title: {release['title']}\nDate: {release['published']}\nSource: {release['source']}\n"
        f"URL: {release['url']}\n\n{release['text']}\n", encoding="utf-8")
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(
        RAG_DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
        PYTHONUNBUFFERED="1",
    )
    return env


def rag_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "rag.cli", *args]


@dataclass
class UIServer:
    url: str
    port: int
    workdir: Path
    data_dir: Path
    corpus_dir: Path
    process: subprocess.Popen
    log_path: Path
    ingest_seconds: float
    start_seconds: float

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


_server: UIServer | None = None


def ui_server() -> UIServer:
    """The shared `rag serve` process over the small corpus (started on first use)."""
    global _server
    if _server is not None:
        if _server.process.poll() is not None:
            raise RuntimeError(f"the UI server died earlier; its log:\n{_server.log()}")
        return _server
    workdir = Path(tempfile.mkdtemp(prefix="rag-ui-test-"))
    data_dir, corpus_dir = workdir / "data", build_test_corpus(workdir / "corpus")
    env = clean_env(data_dir)
    started = time.perf_counter()
    ingest = subprocess.run(
        rag_command("ingest", str(corpus_dir), "--quiet"), cwd=workdir, env=env, capture_output=True, text=True,
        timeout=600,
    )
    if ingest.returncode != 0:
        raise RuntimeError(f"rag ingest failed ({ingest.returncode}):\n{ingest.stdout}\n{ingest.stderr}")
    ingest_seconds = time.perf_counter() - started
    port = free_port()
    log_path = workdir / "serve.log"
    started = time.perf_counter()
    process = subprocess.Popen(
        rag_command("serve", "--port", str(port)), cwd=workdir, env=env,
        stdout=open(log_path, "w"), stderr=subprocess.STDOUT,
    )
    server = UIServer(
        f"http://127.0.0.1:{port}/", port, workdir, data_dir, corpus_dir, process, log_path, ingest_seconds, 0.0
    )
    atexit.register(_shutdown, server)
    _wait_until_serving(server, timeout=300)
    server.start_seconds = time.perf_counter() - started
    print(f"\n[ui tests] corpus ingested in {ingest_seconds:.1f} s; server up in {server.start_seconds:.1f} s "
          f"at {server.url} (data {data_dir})")
    _server = server
    return server


def _wait_until_serving(server: UIServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"rag serve exited with {server.process.returncode}:\n{server.log()}")
        try:
            with urllib.request.urlopen(server.url + "config", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    server.stop()
    raise RuntimeError(f"rag serve did not answer within {timeout} s:\n{server.log()}")


def _shutdown(server: UIServer) -> None:
    server.stop()
    shutil.rmtree(server.workdir, ignore_errors=True)


def write_upload(folder: Path, spec: tuple[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / spec[0]
    path.write_text(spec[1], encoding="utf-8")
    return path


def artifact_path(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name
