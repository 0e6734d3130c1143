"""Query latency and scale: question string -> ranked passages, at growing synthetic store sizes.

    python -m bench.query                      # 10k and 100k chunks in Chroma + bm25s, lexical side at 1M
    python -m bench.query --sizes 10000 --queries 50      # a quick run

Each size is built once (kept under --work, reused when its chunk count matches) by a child
process, then measured by a fresh child process, so build memory does not pollute query memory.
Figures: build time, disk size (Chroma, lexical, raw vectors), RSS, and p50/p95 per retrieval
mode with and without filters; the question encode is included and also reported on its own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from bench.common import (
    RESULTS, Timer, dir_size_mb, latency_summary, machine, peak_rss_mb, rss_mb, table, write_result,
)

FILTERS = {
    "none": {},
    "date": {"date_from": date(2021, 9, 1), "date_to": date(2022, 3, 31)},
    "date+source": {"date_from": date(2021, 9, 1), "date_to": date(2022, 3, 31), "sources": ("Kazakh MFA",)},
}
MODES = ("dense", "lexical", "hybrid")


def settings_for(data_dir: Path):
    from rag.settings import Settings

    return Settings(data_dir=data_dir)


def build(n: int, data_dir: Path) -> dict:
    """Fill a store with n synthetic chunks through ChunkStore.upsert, then build its lexical index."""
    from bench.synthetic import synthetic_batches
    from rag.store import ChunkStore

    store = ChunkStore(settings_for(data_dir))
    if store.count() == n:
        return json.loads((data_dir / "build.json").read_text())
    if store.count():
        raise SystemExit(f"{data_dir} holds {store.count()} chunks, not {n}: remove it first")
    generate = insert = 0.0
    started = time.perf_counter()
    batches = synthetic_batches(n)
    while True:
        with Timer() as t:
            item = next(batches, None)
        generate += t.seconds
        if item is None:
            break
        chunks, vectors = item
        with Timer() as t:
            store.upsert(chunks, vectors, ["0"] * len(chunks), [6] * len(chunks))
        insert += t.seconds
        done = store.count()
        if done % 50_000 < len(chunks):
            print(f"  {done:,} chunks, {insert:.0f} s inserting", file=sys.stderr, flush=True)
    with Timer() as lexical:
        store.lexical_index()
    result = {
        "chunks": n,
        "generate_s": round(generate, 1),
        "chroma_insert_s": round(insert, 1),
        "chroma_insert_chunks_per_s": round(n / insert, 1),
        "lexical_build_s": round(lexical.seconds, 1),
        "build_wall_s": round(time.perf_counter() - started, 1),
        "build_peak_rss_mb": round(peak_rss_mb()),
        "chroma_mb": round(dir_size_mb(data_dir / "chroma"), 1),
        "lexical_mb": round(dir_size_mb(data_dir / "lexical"), 1),
        "raw_vectors_mb": round(n * 384 * 4 / 2**20, 1),
    }
    (data_dir / "build.json").write_text(json.dumps(result))
    return result


def measure(data_dir: Path, n_queries: int) -> dict:
    """Latency per mode and filter, from a fresh process: opening the store is timed too."""
    from bench.synthetic import questions
    from rag.services import get_services
    from rag.types import Filters

    services = get_services(settings_for(data_dir))
    with Timer() as open_store:
        store = services.store
        store.lexical_index()  # loads the saved index (mmap)
    with Timer() as refresh:
        store.refresh_lexical()  # what the end of an ingest run does: boilerplate caught up (once)
    embedder, retriever = services.embedder, services.retriever
    asked = questions(n_queries)
    for q in asked[:10]:  # warm-up: first calls pay for lazy imports and page faults
        retriever.retrieve(q)
    out: dict = {"open_store_s": round(open_store.seconds, 2), "refresh_s": round(refresh.seconds, 1)}
    encode = []
    for q in asked:
        with Timer() as t:
            embedder.encode([q])
        encode.append(t.seconds)
    out["encode"] = latency_summary(encode)
    for mode in MODES:
        for name, spec in FILTERS.items():
            filters = Filters(**spec)
            times, got = [], 0
            for q in asked:
                with Timer() as t:
                    passages = retriever.retrieve(q, filters=filters, mode=mode)
                times.append(t.seconds)
                got += len(passages)
            out[f"{mode}/{name}"] = {**latency_summary(times), "mean_passages": round(got / len(asked), 1)}
    out["rss_mb"] = round(rss_mb())
    out["peak_rss_mb"] = round(peak_rss_mb())
    out.update(writes(services, data_dir))
    return out


def one_release(number: int) -> tuple[list, object]:
    """A six-chunk release that is not in the synthetic store, with random unit vectors."""
    import numpy as np

    from rag.types import Chunk

    chunks = [
        Chunk(f"bench-add-{number}:h:{i}", f"bench-add-{number}", i, f"Added release {number}, part {i}: the "
              "ministry announced new consultations on trade, energy and border security.", 0, 90,
              title=f"Added release {number}", published=date(2022, 1, 1), source="Kazakh MFA")
        for i in range(6)
    ]
    vectors = np.random.default_rng(number).standard_normal((6, 384)).astype(np.float32)
    return chunks, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def writes(services, data_dir: Path, repeats: int = 10) -> dict:
    """What adding one release costs: the store write (Chroma + the lexical index's new segment,
    manifest and merges), its removal, and a whole `rag ingest` of a one-release file (encode
    included); beside it, what every write used to cost: a full lexical rebuild from Chroma."""
    import tempfile

    store = services.store
    add, remove, ingest = [], [], []
    for number in range(repeats):
        chunks, vectors = one_release(number)
        with Timer() as t:
            store.upsert(chunks, vectors, ["h"] * 6, [6] * 6)
        add.append(t.seconds)
        with Timer() as t:
            store.delete([c.chunk_id for c in chunks])
        remove.append(t.seconds)
    folder = Path(tempfile.mkdtemp(prefix="bench-release-"))
    for number in range(min(repeats, 5)):
        path = folder / f"release-{number}.txt"
        path.write_text(f"Title: Bench release {number}\nDate: 2022-01-0{number + 1}\n\n" + " ".join(
            f"Sentence {i} of release {number} on consultations, trade and energy cooperation." for i in range(60)))
        with Timer() as t:
            services.ingest.ingest([path])
        ingest.append(t.seconds)
        store.delete([i for st in store.doc_states().values() if Path(st.path).name == path.name for i in st.all_ids()])
    with Timer() as rebuild:
        store._build_lexical(store.version())
    return {
        "write/add_one_release": latency_summary(add),
        "write/remove_one_release": latency_summary(remove),
        "write/ingest_one_release_file": latency_summary(ingest),
        "write/full_rebuild_s": round(rebuild.seconds, 2),
    }


def lexical_only(n: int, n_queries: int) -> dict:
    """The lexical side at a size too large to insert into embedded Chroma here."""
    from bench.synthetic import questions, synthetic_batches
    from rag.lexical import LexicalIndex, date_key
    from rag.types import Filters

    ids, texts, published, sources = [], [], [], []
    with Timer() as gen:
        for chunks, _ in synthetic_batches(n):
            for c in chunks:
                ids.append(c.chunk_id)
                texts.append(c.embed_text)
                published.append(date_key(c.published))
                sources.append(c.source)
    with Timer() as built:
        index = LexicalIndex.build("bench", ids, texts, published, sources)
    del texts
    asked = questions(n_queries)
    out = {"chunks": n, "generate_s": round(gen.seconds, 1), "lexical_build_s": round(built.seconds, 1)}
    for name, spec in FILTERS.items():
        filters = Filters(**spec)
        index.search(asked[0], 100, filters)
        times = []
        for q in asked:
            with Timer() as t:
                index.search(q, 100, filters)
            times.append(t.seconds)
        out[f"lexical/{name}"] = latency_summary(times)
    from rag.lexical import Rows

    add = []
    for number in range(10):
        chunks, _ = one_release(number)
        with Timer() as t:
            index = index.with_rows(Rows.from_chunks(chunks, None, ["h"] * 6, [6] * 6), f"add-{number}")
        add.append(t.seconds)
    out["write/add_one_release"] = latency_summary(add)
    out["peak_rss_mb"] = round(peak_rss_mb())
    return out


def child(*args: str) -> dict:
    """Runs one phase in a fresh interpreter and returns its JSON result."""
    done = subprocess.run([sys.executable, "-m", "bench.query", *args], stdout=subprocess.PIPE, text=True)
    if done.returncode:
        raise SystemExit(f"bench.query {' '.join(args)} failed with exit code {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000], help="full Chroma + bm25s stores")
    parser.add_argument("--lexical-sizes", type=int, nargs="*", default=[1_000_000], help="lexical index only")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--work", type=Path, default=Path("/tmp/rag-bench"), help="where the stores are kept")
    parser.add_argument("--phase", choices=["build", "measure", "lexical"], help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase == "build":
        print(json.dumps(build(args.n, args.work / f"syn-{args.n}")))
        return
    if args.phase == "measure":
        print(json.dumps(measure(args.work / f"syn-{args.n}", args.queries)))
        return
    if args.phase == "lexical":
        print(json.dumps(lexical_only(args.n, args.queries)))
        return

    result: dict = {"machine": machine(), "queries": args.queries, "sizes": {}}
    for n in args.sizes:
        print(f"building {n:,} chunks ...", file=sys.stderr, flush=True)
        built = child("--phase", "build", "--n", str(n), "--work", str(args.work))
        print(f"measuring {n:,} chunks ...", file=sys.stderr, flush=True)
        measured = child("--phase", "measure", "--n", str(n), "--work", str(args.work), "--queries", str(args.queries))
        result["sizes"][str(n)] = {"build": built, "query": measured}
    for n in args.lexical_sizes:
        print(f"lexical index alone at {n:,} chunks ...", file=sys.stderr, flush=True)
        result.setdefault("lexical_only", {})[str(n)] = child(
            "--phase", "lexical", "--n", str(n), "--queries", str(args.queries)
        )
    result["machine_after"] = machine()
    path = write_result("query", result)
    print(report(result))
    print(f"\nresults: {path}")


def report(result: dict) -> str:
    lines = [f"machine: {result['machine']}", ""]
    rows = []
    for n, r in result["sizes"].items():
        q = r["query"]
        for mode in MODES:
            rows.append([int(n), mode, *(q[f"{mode}/{f}"]["p50_ms"] for f in FILTERS),
                         *(q[f"{mode}/{f}"]["p95_ms"] for f in FILTERS)])
        rows.append([int(n), "encode only", q["encode"]["p50_ms"], "", "", q["encode"]["p95_ms"], "", ""])
    for n, r in result.get("lexical_only", {}).items():
        rows.append([int(n), "lexical (index alone)", *(r[f"lexical/{f}"]["p50_ms"] for f in FILTERS),
                     *(r[f"lexical/{f}"]["p95_ms"] for f in FILTERS)])
    heads = [f"p50 {f}" for f in FILTERS] + [f"p95 {f}" for f in FILTERS]
    lines.append(table(["chunks", "mode", *heads], rows))
    lines.append("")
    rows = []
    for n, r in result["sizes"].items():
        b, q = r["build"], r["query"]
        rows.append([int(n), b["chroma_insert_s"], b["lexical_build_s"], b["chroma_mb"], b["lexical_mb"],
                     b["raw_vectors_mb"], round(b["chroma_mb"] / b["raw_vectors_mb"], 1), q["rss_mb"],
                     b["build_peak_rss_mb"], q["open_store_s"]])
    for n, r in result.get("lexical_only", {}).items():
        rows.append([int(n), "-", r["lexical_build_s"], "-", "-", round(int(n) * 384 * 4 / 2**20, 1), "-", "-",
                     r["peak_rss_mb"], "-"])
    lines.append(table(["chunks", "chroma insert s", "lexical build s", "chroma MB", "lexical MB", "raw vectors MB",
                        "chroma/raw", "query RSS MB", "build peak RSS MB", "open s"], rows))
    lines.append("")
    rows = []
    every = [(n, r["query"]) for n, r in result["sizes"].items()] + list(result.get("lexical_only", {}).items())
    for n, q in every:
        if "write/add_one_release" not in q:
            continue
        ingest = q.get("write/ingest_one_release_file", {})
        rows.append([int(n), q["write/add_one_release"]["p50_ms"], q["write/add_one_release"]["p95_ms"],
                     q.get("write/remove_one_release", {}).get("p50_ms", "-"), ingest.get("p50_ms", "-"),
                     ingest.get("p95_ms", "-"), q.get("write/full_rebuild_s", "-")])
    lines.append(table(["chunks", "add one release p50 ms", "p95 ms", "remove p50 ms", "ingest one file p50 ms",
                        "p95 ms", "full rebuild s (every write, before)"], rows))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
