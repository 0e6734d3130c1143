"""Server mode end to end: `rag ingest` and `rag ask` against a real `chroma run` process.

Nothing local is shared between the processes but the Chroma server: the ask runs with a
different data_dir than the ingest, so its lexical index can only come from the server's
chunks. Two ingests running at once (sharing one data_dir, as several CLI runs or UI workers
on one machine do) must both land complete, and a process holding an older lexical index must
see the new chunks (the store's version token changes on every write).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from servers import free_port, running_server

REPO = Path(__file__).resolve().parent.parent
KAZAKH = REPO / "corpus" / "2025-03-21-kazakhstan-albania-political-consultations.txt"
ARCHIVE = REPO / "corpus" / "state_dept_press_releases_2021-2022.jsonl"

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    """A real `chroma run` on a free local port, killed at the end even when a test fails."""
    chroma = Path(sys.executable).parent / "chroma"
    if not chroma.exists():
        pytest.fail(f"the chroma CLI is not installed next to {sys.executable}")
    port = free_port()
    folder = tmp_path_factory.mktemp("chroma-server")
    log = (folder / "server.log").open("w")
    url = f"http://127.0.0.1:{port}"
    try:
        with running_server(
            [str(chroma), "run", "--path", str(folder / "db"), "--host", "127.0.0.1", "--port", str(port)],
            f"{url}/api/v2/heartbeat",
            timeout_s=60,
            output=lambda: (folder / "server.log").read_text(),
            stdout=log, stderr=subprocess.STDOUT,
        ):
            yield url
    finally:
        log.close()


def cli_env(url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_STORE__URL=url, RAG_DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1")
    return env


def rag_cli(*args: str, url: str, data_dir: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "rag.cli", *args], capture_output=True, text=True,
        env=cli_env(url, data_dir), cwd=data_dir.parent, timeout=900,
    )
    if result.returncode != 0:
        raise AssertionError(f"rag {' '.join(args)} exited {result.returncode}:\n{result.stderr[-3000:]}")
    return result


def archive_slice(path: Path, start: int, stop: int) -> list[dict]:
    """Writes records [start, stop) of the demo archive to path; returns them."""
    with ARCHIVE.open(encoding="utf-8") as lines:
        records = [json.loads(line) for i, line in enumerate(lines) if start <= i < stop]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return records


def server_settings(url: str, data_dir: Path):
    from rag.settings import Settings

    return Settings(data_dir=data_dir, store={"url": url})


@pytest.fixture(scope="module")
def ingested(chroma_url, tmp_path_factory):
    """The Kazakh release and 20 State Department records, ingested by one `rag ingest` process."""
    root = tmp_path_factory.mktemp("first")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / KAZAKH.name).write_bytes(KAZAKH.read_bytes())
    records = archive_slice(corpus / "state-a.jsonl", 0, 20)
    out = rag_cli("ingest", str(corpus), "--quiet", url=chroma_url, data_dir=root / "data")
    assert "2 files" in out.stdout and "2 ingested" in out.stdout, out.stdout
    return root, records


def test_ask_from_another_process_sees_only_the_server(chroma_url, ingested, tmp_path):
    root, _ = ingested
    assert not (root / "data" / "chroma").exists(), "server mode must not create an embedded store"
    asker = tmp_path / "asker"
    out = rag_cli("ask", "What did Albania propose?", "--json", url=chroma_url, data_dir=asker)
    answer = json.loads(out.stdout)
    proposal = [c for c in answer["citations"] if "Kazakh side proposed" in c["quote"]]
    assert proposal, [c["quote"] for c in answer["citations"]]
    assert proposal[0]["source"] == "Kazakh MFA" and proposal[0]["published"] == "2025-03-21"
    assert proposal[0]["quote"] in proposal[0]["passage_text"]
    # Both retrievers answered: the asker's lexical index was derived from the server's chunks.
    assert any(p["lexical_score"] for p in answer["passages"]) and any(p["dense_score"] for p in answer["passages"])
    assert (asker / "lexical").is_dir() and not (asker / "chroma").exists()


def test_the_archive_records_are_queryable_through_the_server(chroma_url, ingested, tmp_path, embedder):
    from rag.retrieval import Retriever
    from rag.store import ChunkStore

    _, records = ingested
    settings = server_settings(chroma_url, tmp_path / "reader")
    retriever = Retriever(ChunkStore(settings), embedder, settings.retrieval)
    record = records[3]
    for mode in ("dense", "lexical", "hybrid"):
        passages = retriever.retrieve(record["title"], k=5, mode=mode)
        assert record["url"] in {p.chunk.url for p in passages}, (mode, [p.chunk.title for p in passages])


def test_concurrent_ingests_share_one_server(chroma_url, ingested, tmp_path, embedder):
    from rag.ingest.readers import read_file
    from rag.store import ChunkStore

    _, first = ingested
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    batches = {name: archive_slice(corpus / f"{name}.jsonl", lo, lo + 8) for name, lo in (("b", 100), ("c", 200))}

    # A process that built its lexical index before the ingests (a UI worker, say).
    watcher = ChunkStore(server_settings(chroma_url, tmp_path / "watcher"))
    old = watcher.lexical_index()
    before = watcher.count()

    shared = tmp_path / "shared-data"  # the two ingests share a data_dir, as workers on one host do
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "rag.cli", "ingest", str(corpus / f"{name}.jsonl"), "--quiet"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(chroma_url, shared), cwd=tmp_path,
        )
        for name in batches
    ]
    outputs = [p.communicate(timeout=900) for p in procs]
    for proc, (stdout, stderr) in zip(procs, outputs):
        assert proc.returncode == 0, stderr[-3000:]
        assert "1 ingested" in stdout, stdout

    # Every document of both archives is stored complete: all chunks of its one version.
    states = watcher.doc_states()
    for name, records in batches.items():
        docs = read_file(corpus / f"{name}.jsonl").documents
        assert len(docs) == len(records)
        for doc in docs:
            state = states.get(doc.doc_id)
            assert state is not None, f"{name}: {doc.doc_id} missing"
            assert len(state.chunk_ids_by_hash) == 1
            (digest, ids), = state.chunk_ids_by_hash.items()
            assert len(ids) == state.n_chunks_by_hash[digest] > 0
    assert watcher.count() > before
    # The earlier ingest is untouched.
    assert sum(s.path.endswith("state-a.jsonl") for s in states.values()) == len(first)

    # The watcher still holds the old index object, yet its next search sees the new chunks.
    assert watcher.version() != old.version
    for name, records in batches.items():
        record = records[2]
        hits = watcher.get_chunks([i for i, _ in watcher.lexical_search(record["title"], 5)])
        assert record["url"] in {c.url for c in hits}, (name, [c.title for c in hits])
    assert watcher.lexical_index() is not old

    # And a question through the CLI from yet another data_dir finds them.
    out = rag_cli("ask", batches["c"][5]["title"], "--json", url=chroma_url, data_dir=tmp_path / "asker")
    urls = {p["chunk"]["url"] for p in json.loads(out.stdout)["passages"]}
    assert batches["c"][5]["url"] in urls
