"""`rag bench beir PATH`: the product's retrieval stack on a BEIR dataset, tuned on train only.

Same pieces as the product: the bundled MiniLM embedder (rag.embeddings, dtype auto), the bm25s
index with the product's tokenizer and parameters (rag.lexical), and the product's fusion
functions (rag.retrieval.fuse_minmax / fuse_zscore / fuse_rrf). Documents are indexed as "title\\ntext".

Tuning never sees the test split: every fusion choice, weight and depth is picked by
nDCG@10 on the queries of ``qrels/train.tsv``, then evaluated once on ``qrels/test.tsv``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import bm25s
import ir_measures
import numpy as np
from ir_measures import R, nDCG

from rag.evaluation.beir_data import BeirDataset, cached_vectors, doc_text, load_beir
from rag.lexical import tokenize
from rag.retrieval import fuse_minmax, fuse_rrf, fuse_zscore

PRODUCT_FUSIONS = ("minmax", "zscore", "rrf")  # what settings.retrieval.fusion accepts
DEPTH = 1000  # hits kept per retriever; deep lists let fusion recover what one side ranks low
MEASURES = {"nDCG@10": nDCG @ 10, "R@100": R @ 100}
PUBLISHED = [  # from the dataset's README
    ("BM25 (BEIR paper)", 0.665, None),
    ("BM25 flat (Anserini)", 0.6789, 0.9253),
    ("all-MiniLM-L6-v2 (MTEB)", "0.6451–0.674", None),
]
# Coarse grids, then a finer look around the best weight: a trial fuses ~800 queries in Python.
WEIGHT_GRID = [round(w, 2) for w in np.arange(0.0, 1.0001, 0.1)]
RRF_K_GRID = [10, 30, 60, 100]
CANDIDATE_GRID = [100, 1000]
BM25_GRID = [(0.9, 0.4), (1.2, 0.75), (1.5, 0.75)]  # each costs an index build


@dataclass(frozen=True)
class FusionParams:
    """Exactly the knobs of settings.retrieval, plus the BM25 parameters of the lexical index."""

    fusion: str = "minmax"  # "minmax" | "zscore" | "rrf", as settings.retrieval.fusion
    dense_weight: float = 0.5
    rrf_k: int = 60
    candidates: int = 100
    k1: float = 1.2
    b: float = 0.75


Ranked = dict[str, list[tuple[str, float]]]  # query id -> [(doc id, score)] best first


def run_beir(path: Path | str, settings=None, modes=("lexical", "dense", "hybrid"), tune_on_train: bool = True,
             out_dir: Path | str = Path("eval/reports"), units: Sequence[str] = ("doc",)) -> dict:
    """Evaluate lexical, dense and hybrid retrieval on the test queries; returns the results dict.

    Each unit is one way of indexing the corpus: "doc" = whole abstracts (as BEIR's published
    baselines do), "chunk" = the product's own chunks (as ingestion stores them), ranked by
    their best chunk; it encodes ~2.2x as many texts, so it is opt-in; "doc+chunk" = fusion at
    the document level of BM25 over whole abstracts and dense scores of each abstract's best chunk. Per unit: lexical, dense, hybrid with the product's current
    settings.retrieval, and hybrid tuned on the train split. ``result["best"]`` is the tuned
    configuration with the highest *train* nDCG@10 over all units. Writes report.md and
    results.json to ``out_dir/beir-<dataset>/``.
    """
    from rag.settings import load_settings

    settings = settings or load_settings()
    started = time.perf_counter()
    ds = load_beir(path)
    test_q = ds.split_queries("test")
    train_q = ds.split_queries("train") if tune_on_train and "train" in ds.qrels else {}
    query_ids = list(test_q) + [q for q in train_q if q not in test_q]
    texts = [ds.queries[q] for q in query_ids]
    base = FusionParams(settings.retrieval.fusion, settings.retrieval.dense_weight, settings.retrieval.rrf_k,
                        settings.retrieval.candidates)
    rows: list[dict] = []
    tuned: dict[str, dict] = {}
    for unit in units:
        # "doc+chunk": documents ranked by BM25 over the whole text and by their best chunk's cosine
        dense_unit, lexical_unit = ("chunk", "doc") if unit == "doc+chunk" else (unit, unit)
        dense = dense_rankings(ds, query_ids, texts, settings, dense_unit) if set(modes) & {"dense", "hybrid"} else {}
        if unit == "doc+chunk":
            dense = best_unit_per_document(dense)
        lexical_cache: dict[tuple[float, float], Ranked] = {}

        def lexical(k1: float, b: float, lexical_unit=lexical_unit) -> Ranked:
            if (k1, b) not in lexical_cache:
                lexical_cache[(k1, b)] = lexical_rankings(ds, query_ids, texts, k1, b, settings=settings,
                                                          unit=lexical_unit)
            return lexical_cache[(k1, b)]

        def test_row(system: str, ranked: Ranked) -> None:
            rows.append({"unit": unit, **_row(system, evaluate(ranked, ds.qrels["test"], test_q))})

        if "lexical" in modes:
            test_row("lexical (bm25s lucene k1=1.2 b=0.75)", lexical(1.2, 0.75))
        if "dense" in modes:
            test_row(f"dense (MiniLM-L6, {settings.embedding.dtype})", dense)
        if "hybrid" in modes:
            test_row(f"hybrid, product settings ({_describe(base)})", fuse_all(dense, lexical(base.k1, base.b), base, test_q))
            if train_q:
                best, search = tune(dense, lexical, ds.qrels["train"], train_q)
                test_row(f"hybrid, tuned on train ({_describe(best)})",
                         fuse_all(dense, lexical(best.k1, best.b), best, test_q))
                tuned[unit] = {"params": asdict(best), "train_nDCG@10": search[0]["train_nDCG@10"],
                               "test": {k: v for k, v in rows[-1].items() if k in MEASURES}, "top": search[:10]}
                # The best the product's retriever can run today (fusion it implements, default BM25).
                own = next(t for t in search if t["params"]["fusion"] in PRODUCT_FUSIONS
                           and (t["params"]["k1"], t["params"]["b"]) == (1.2, 0.75))
                own_params = FusionParams(**own["params"])
                if own_params != best:
                    test_row(f"hybrid, tuned on train, product-ready ({_describe(own_params)})",
                             fuse_all(dense, lexical(1.2, 0.75), own_params, test_q))
                tuned[unit]["product_ready"] = {"params": own["params"], "train_nDCG@10": own["train_nDCG@10"],
                                                "test": {k: v for k, v in rows[-1].items() if k in MEASURES}}
    best_unit = max(tuned, key=lambda u: tuned[u]["train_nDCG@10"]) if tuned else None
    result = {
        "dataset": str(Path(path)),
        "fingerprint": ds.fingerprint,
        "test_queries": len(test_q),
        "train_queries": len(train_q),
        "embedding": settings.embedding.model_dump(),
        "chunking": settings.chunking.model_dump(),
        "rows": rows,
        "tuned": tuned,
        "best": {"unit": best_unit, **tuned[best_unit]} if best_unit else None,
        "published": PUBLISHED,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 1),
    }
    write_beir_report(result, Path(out_dir) / f"beir-{Path(path).name}")
    return result


# ---------------------------------------------------------------------------------------------
# Rankings


_UNITS_CACHE: dict[tuple, tuple[list[str], list[str]]] = {}


def index_units(ds: BeirDataset, settings, unit: str = "doc") -> tuple[list[str], list[str]]:
    """(unit ids, unit texts): whole abstracts ("doc", id = doc id), or the product's chunks
    ("chunk", id = "docid#index", text = Chunk.embed_text, cut exactly as the ingest pipeline does)."""
    if unit == "doc":
        return list(ds.doc_ids), [doc_text(t, x) for t, x in zip(ds.titles, ds.texts)]
    from rag.embeddings import get_embedder
    from rag.ingest.chunking import chunk_document
    from rag.types import Chunk, Document

    key = (ds.fingerprint, settings.chunking.model_dump_json(), settings.embedding.max_tokens)
    if key in _UNITS_CACHE:  # chunking 5k abstracts takes minutes: dense and lexical share one pass
        return _UNITS_CACHE[key]
    embedder = get_embedder(settings)
    ids, texts = [], []
    for doc_id, title, text in zip(ds.doc_ids, ds.titles, ds.texts):
        doc = Document(doc_id=doc_id, title=title, text=text)
        prefix = Chunk("", doc_id, 0, "", 0, 0, title=title).embed_text
        budget = settings.embedding.max_tokens - 2 - embedder.count_tokens(prefix)
        max_tokens = max(32, min(settings.chunking.max_tokens, budget))
        for chunk in chunk_document(doc, embedder.count_tokens, max_tokens, settings.chunking.min_tokens):
            ids.append(f"{doc_id}#{chunk.index}")
            texts.append(chunk.embed_text)
    _UNITS_CACHE[key] = (ids, texts)
    return ids, texts


def dense_rankings(ds: BeirDataset, query_ids: list[str], texts: list[str], settings, unit: str = "doc",
                   depth: int = DEPTH) -> Ranked:
    from rag.embeddings import get_embedder, resolve_dtype

    embedder = get_embedder(settings)
    emb = settings.embedding
    # the dtype the encoder really runs ("auto" resolves per CPU), so equal vectors share a cache
    dtype = str(resolve_dtype(emb.dtype)).removeprefix("torch.")
    tag = f"{embedder.name.replace(':', '_').replace('/', '_')}-{dtype}-{emb.max_tokens}"
    unit_ids, unit_texts = index_units(ds, settings, unit)
    unit_tag = "corpus" if unit == "doc" else f"chunks{settings.chunking.max_tokens}-{settings.chunking.min_tokens}"
    corpus = cached_vectors(f"{ds.fingerprint}-{unit_tag}-{tag}", unit_texts, embedder.encode)
    query_key = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:12]
    queries = cached_vectors(f"{ds.fingerprint}-queries-{query_key}-{tag}", texts, embedder.encode_queries)
    scores = queries @ corpus.T
    depth = min(depth, scores.shape[1])
    top = np.argpartition(-scores, depth - 1, axis=1)[:, :depth]
    ranked: Ranked = {}
    for row, qid in enumerate(query_ids):
        order = top[row][np.argsort(-scores[row, top[row]], kind="stable")]
        ranked[qid] = [(unit_ids[i], float(scores[row, i])) for i in order]
    return ranked


def lexical_rankings(ds: BeirDataset, query_ids: list[str], texts: list[str], k1: float = 1.2, b: float = 0.75,
                     depth: int = DEPTH, settings=None, unit: str = "doc") -> Ranked:
    """bm25s 'lucene' with the product's tokenizer (English stop words + Snowball stemmer)."""
    unit_ids, unit_texts = index_units(ds, settings, unit)
    index = bm25s.BM25(k1=k1, b=b, method="lucene")
    index.index(tokenize(unit_texts), show_progress=False)
    ranked: Ranked = {}
    for qid, tokens in zip(query_ids, tokenize(texts)):
        tokens = [t for t in tokens if t in index.vocab_dict]
        if not tokens:
            ranked[qid] = []
            continue
        docs, scores = index.retrieve([tokens], k=min(depth, len(unit_ids)), show_progress=False, n_threads=0)
        ranked[qid] = [(unit_ids[int(i)], float(s)) for i, s in zip(docs[0], scores[0]) if s > 0]
    return ranked


def fuse_all(dense: Ranked, lexical: Ranked, params: FusionParams, query_ids) -> Ranked:
    """The product's fusion over the top ``candidates`` of each side, per query."""
    fused: Ranked = {}
    for qid in query_ids:
        d = dict(dense.get(qid, [])[: params.candidates])
        lx = dict(lexical.get(qid, [])[: params.candidates])
        if params.fusion == "rrf":
            scores = fuse_rrf(d, lx, params.rrf_k)
        elif params.fusion == "zscore":
            scores = fuse_zscore(d, lx, params.dense_weight)
        else:
            scores = fuse_minmax(d, lx, params.dense_weight)
        fused[qid] = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    return fused


def best_unit_per_document(ranked: Ranked) -> Ranked:
    """Chunk ranking -> document ranking scored by each document's best chunk (max pooling)."""
    return {qid: _best_per_document(hits) for qid, hits in ranked.items()}


def to_documents(hits: list[tuple[str, float]]) -> list[str]:
    """Unit ranking -> document ranking: a document ranks where its best unit ranks."""
    return [doc for doc, _ in _best_per_document(hits)]


def _best_per_document(hits: list[tuple[str, float]]) -> list[tuple[str, float]]:
    best: dict[str, float] = {}
    for uid, score in hits:  # best first, so the first unit of a document is its best
        best.setdefault(uid.split("#", 1)[0], score)
    return list(best.items())


def evaluate(ranked: Ranked, qrels: dict, query_ids) -> dict[str, float]:
    judged = {q: qrels[q] for q in query_ids if q in qrels}
    run = {}
    for q in judged:
        docs = to_documents(ranked.get(q, []))[:100]  # nDCG@10 and R@100 read no deeper
        run[q] = {doc: float(len(docs) - i) for i, doc in enumerate(docs)} or {"__none__": 0.0}
    values = ir_measures.calc_aggregate(list(MEASURES.values()), judged, run)
    return {name: float(values[m]) for name, m in MEASURES.items()}


# ---------------------------------------------------------------------------------------------
# Tuning (train split only)


def tune(dense: Ranked, lexical, train_qrels: dict, train_q: dict) -> tuple[FusionParams, list[dict]]:
    """Grid search on the train queries; returns the best params and the search sorted by train nDCG@10.

    ``lexical`` is a function (k1, b) -> Ranked so BM25 variants are built only when tried.
    """
    trials: list[dict] = []

    def trial(params: FusionParams) -> None:
        fused = fuse_all(dense, lexical(params.k1, params.b), params, train_q)
        score = evaluate(fused, train_qrels, train_q)["nDCG@10"]
        trials.append({"params": asdict(params), "train_nDCG@10": round(score, 4)})

    # stage 1: fusion method, depth and weight (or rrf_k) at the product's BM25 parameters
    for candidates, weight in itertools.product(CANDIDATE_GRID, WEIGHT_GRID):
        trial(FusionParams("minmax", weight, 60, candidates))
    for candidates, rrf_k in itertools.product(CANDIDATE_GRID, RRF_K_GRID):
        trial(FusionParams("rrf", 0.5, rrf_k, candidates))
    for candidates, weight in itertools.product(CANDIDATE_GRID, WEIGHT_GRID[1:-1]):
        trial(FusionParams("zscore", weight, 60, candidates))
    best = _best(trials)
    # stage 2: the weight on a finer grid around the best
    if best.fusion in ("minmax", "zscore"):
        for step in (-0.075, -0.05, -0.025, 0.025, 0.05, 0.075):
            weight = round(best.dense_weight + step, 3)
            if 0.0 <= weight <= 1.0:
                trial(FusionParams(best.fusion, weight, best.rrf_k, best.candidates))
    best = _best(trials)
    # stage 3: BM25 k1/b at the best fusion
    for k1, b in BM25_GRID:
        if (k1, b) != (best.k1, best.b):
            trial(FusionParams(best.fusion, best.dense_weight, best.rrf_k, best.candidates, k1, b))
    best = _best(trials)
    ranked = sorted(trials, key=lambda t: -t["train_nDCG@10"])  # stable: ties keep trial order
    return best, ranked


def _best(trials: list[dict]) -> FusionParams:
    # ties go to the earliest trial: the simpler, coarser-grid value
    top = max(enumerate(trials), key=lambda it: (it[1]["train_nDCG@10"], -it[0]))[1]
    return FusionParams(**top["params"])


# ---------------------------------------------------------------------------------------------
# Report


def _describe(p: FusionParams) -> str:
    method = f"RRF, rrf_k={p.rrf_k}" if p.fusion == "rrf" else f"{p.fusion}, dense_weight={p.dense_weight}"
    return f"{method}, candidates={p.candidates}, bm25 k1={p.k1} b={p.b}"


def _row(system: str, scores: dict[str, float]) -> dict:
    return {"system": system, **{k: round(v, 4) for k, v in scores.items()}}


def write_beir_report(result: dict, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(result, indent=2, default=str))
    lines = [
        f"# BEIR {Path(result['dataset']).name}: retrieval on {result['test_queries']} test queries",
        "",
        f"Date {result['date']}; corpus fingerprint `{result['fingerprint']}`; embedder "
        f"`{result['embedding']['model']}` ({result['embedding']['dtype']}); chunks of "
        f"{result['chunking']['max_tokens']} word pieces; every tuned value chosen on the "
        f"{result['train_queries']} train queries only; {result['seconds']} s.",
        "",
        "| index unit | system | nDCG@10 | R@100 |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r['unit']} | {r['system']} | {r['nDCG@10']:.4f} | {r['R@100']:.4f} |" for r in result["rows"]]
    lines += [f"| – | *published:* {name} | {n} | {r if r is not None else '–'} |" for name, n, r in result["published"]]
    if result.get("best"):
        best = result["best"]
        lines += ["", f"**Winner on train**: unit `{best['unit']}`, {_describe(FusionParams(**best['params']))} "
                  f"(train nDCG@10 {best['train_nDCG@10']:.4f}; test nDCG@10 {best['test']['nDCG@10']:.4f}, "
                  f"R@100 {best['test']['R@100']:.4f})."]
        own = best.get("product_ready")
        if own:
            lines += ["", f"**Best the product's retriever runs today** (min-max, z-score or RRF, BM25 k1=1.2 b=0.75): "
                      f"{_describe(FusionParams(**own['params']))} (train nDCG@10 {own['train_nDCG@10']:.4f}; "
                      f"test nDCG@10 {own['test']['nDCG@10']:.4f}, R@100 {own['test']['R@100']:.4f})."]
    for unit, tuned in (result.get("tuned") or {}).items():
        lines += ["", f"## Tuning on train, unit `{unit}` (best first)", "", "| params | train nDCG@10 |", "|---|---|"]
        lines += [f"| {_describe(FusionParams(**t['params']))} | {t['train_nDCG@10']:.4f} |" for t in tuned["top"]]
    report = folder / "report.md"
    report.write_text("\n".join(lines) + "\n")
    return report
