"""Crash safety, proven with SIGKILL: `rag ingest` (and `rag up` ingesting in the background) is
killed at random points several times; after each kill the store answers queries, holds no
half-written release and its lexical index holds exactly Chroma's ids; the next run completes the
ingest with the same passages as a clean run.

Kill points: after the k-th write lands (a new lexical manifest appears), plus a random delay, so
kills fall mid-encode, mid-Chroma-write and between the two. RAG_KILL_SEED picks other points.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest_ui import clean_env, rag_command
from demo_subset import kazakh_and_archive
from servers import free_port

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
N_RELEASES = 80
WRITE_BATCH = 24  # passages per write: many writes, so many places to die
KILLS = 3
QUESTION = "What did Albania propose?"
SEED = int(os.environ.get("RAG_KILL_SEED", "2026"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("crash-corpus")
    kazakh_and_archive(folder, N_RELEASES, 2000, 6000, "state-dept.jsonl")
    return folder


def env_for(data_dir: Path) -> dict[str, str]:
    return {**clean_env(data_dir), "RAG_INGEST__WRITE_BATCH": str(WRITE_BATCH)}


def probe(data_dir: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "tests.store_probe", str(data_dir), QUESTION], cwd=REPO, env=env_for(data_dir),
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def clean_run(corpus, tmp_path_factory) -> dict:
    data_dir = tmp_path_factory.mktemp("clean") / "data"
    done = subprocess.run(rag_command("ingest", "-q", str(corpus)), env=env_for(data_dir), capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    state = probe(data_dir)
    assert state["chunks"] > 10 * WRITE_BATCH and not state["half_written"] and state["lexical_matches_chroma"]
    return state


def manifests(data_dir: Path) -> set[str]:
    return {p.name for p in (data_dir / "lexical").glob("*/versions/*.json")}


def kill_mid_ingest(args: list[str], data_dir: Path, rng: random.Random, log: Path) -> bool:
    """Start args; SIGKILL after its k-th new write (k random) plus a random delay. True if killed,
    False if it finished first."""
    seen = manifests(data_dir)
    writes_before_kill = rng.randint(1, 4)
    with log.open("w") as out:
        process = subprocess.Popen(args, env=env_for(data_dir), stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)
        try:
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline and process.poll() is None:
                new = manifests(data_dir) - seen
                if len(new) >= writes_before_kill:
                    time.sleep(rng.uniform(0.0, 1.5))
                    if process.poll() is not None:
                        return False
                    process.send_signal(signal.SIGKILL)
                    process.wait(timeout=30)
                    return True
                time.sleep(0.02)
            if process.poll() is None:
                pytest.fail(f"{args[3]} neither wrote nor ended: {log.read_text()[-2000:]}")
            return False
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def assert_sound(state: dict, clean: dict, when: str) -> None:
    assert not state["half_written"], f"{when}: releases stored in part: {state['half_written'][:5]}"
    assert state["lexical_matches_chroma"], f"{when}: lexical index {state['lexical_chunks']} vs Chroma {state['chunks']}"
    assert state["chunks"] <= clean["chunks"], when
    if state["chunks"]:
        assert state["hits"] > 0, f"{when}: the store holds {state['chunks']} passages but a query found none"


def test_rag_ingest_killed_again_and_again_then_completed_equals_a_clean_run(corpus, clean_run, tmp_path):
    rng = random.Random(SEED)
    data_dir = tmp_path / "data"
    kills, states = 0, []
    for attempt in range(KILLS + 3):
        if kills == KILLS:
            break
        if kill_mid_ingest(rag_command("ingest", "-q", str(corpus)), data_dir, rng, tmp_path / f"ingest-{attempt}.log"):
            kills += 1
            state = probe(data_dir)
            assert_sound(state, clean_run, f"after kill {kills}")
            states.append(state["chunks"])
    assert kills == KILLS, f"only {kills} kills landed before the ingest finished; stored after each: {states}"
    assert states[-1] < clean_run["chunks"], "the kills all came after the work was done"

    done = subprocess.run(rag_command("ingest", "-q", str(corpus)), env=env_for(data_dir), capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    final = probe(data_dir)
    assert_sound(final, clean_run, "after the completing run")
    assert (final["chunks"], final["documents"], final["ids_digest"]) == (
        clean_run["chunks"], clean_run["documents"], clean_run["ids_digest"]
    )
    print(f"\nrag ingest: {kills} SIGKILLs survived; passages stored after each: {states}; final {final['chunks']}")


def test_rag_up_killed_mid_background_ingest_then_completed_equals_a_clean_run(corpus, clean_run, tmp_path):
    rng = random.Random(SEED + 1)
    data_dir = tmp_path / "data"
    kills, states = 0, []
    for attempt in range(4):
        if kills == 2:
            break
        args = rag_command("up", "--corpus", str(corpus), "--data-dir", str(data_dir), "--port", str(free_port()))
        if kill_mid_ingest(args, data_dir, rng, tmp_path / f"up-{attempt}.log"):
            kills += 1
            state = probe(data_dir)
            assert_sound(state, clean_run, f"after killing rag up ({kills})")
            states.append(state["chunks"])
    assert kills == 2, f"rag up finished its ingest before two kills landed: {states}"
    # The killed server left its server.json behind: `rag ask` sees the dead pid and answers itself.
    asked = subprocess.run(rag_command("ask", QUESTION), env=env_for(data_dir), capture_output=True, text=True,
                           timeout=300, cwd=tmp_path)
    assert asked.returncode == 0, asked.stderr[-2000:]
    assert "Sources" in asked.stdout or "[1]" in asked.stdout, asked.stdout
    done = subprocess.run(rag_command("ingest", "-q", str(corpus)), env=env_for(data_dir), capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    final = probe(data_dir)
    assert_sound(final, clean_run, "after the completing run")
    assert (final["chunks"], final["ids_digest"]) == (clean_run["chunks"], clean_run["ids_digest"])
    print(f"\nrag up: {kills} SIGKILLs survived; passages stored after each: {states}; final {final['chunks']}")
