"""Hybrid retrieval: dense (Chroma) and lexical (bm25s) candidates, fused into one ranking.

Retrieval owns what a question says about time: date filters arrive as `Filters`, and a
question that wants the latest news (`recent=True`) gets the newest of its relevant passages
first. A passage made mostly of boilerplate (sign-offs, contact lines: rag.boilerplate)
ranks lower than its raw scores say.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

from rag.languages import question_language
from rag.settings import RetrievalSettings
from rag.types import Filters, Passage


def minmax(scores: dict[str, float]) -> dict[str, float]:
    """Scale scores to [0, 1] within one list; a list of equal scores maps to 1."""
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    if hi - lo < 1e-12:
        return {key: 1.0 for key in scores}
    return {key: (value - lo) / (hi - lo) for key, value in scores.items()}


def fuse_minmax(dense: dict[str, float], lexical: dict[str, float], dense_weight: float) -> dict[str, float]:
    """Convex combination of min-max-normalised scores; a missing score counts as 0."""
    d, l = minmax(dense), minmax(lexical)
    return {
        key: dense_weight * d.get(key, 0.0) + (1.0 - dense_weight) * l.get(key, 0.0)
        for key in dense.keys() | lexical.keys()
    }


def zscore(scores: dict[str, float]) -> tuple[dict[str, float], float]:
    """Standardise one list (mean 0, sd 1); also returns its minimum, the score of a missing key."""
    if not scores:
        return {}, 0.0
    values = list(scores.values())
    mean = sum(values) / len(values)
    sd = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5 or 1.0
    normed = {key: (value - mean) / sd for key, value in scores.items()}
    return normed, min(normed.values())


def fuse_zscore(dense: dict[str, float], lexical: dict[str, float], dense_weight: float) -> dict[str, float]:
    """Convex combination of z-scored lists; a key missing from one list gets that list's minimum.

    BM25 scores have a long right tail and cosines a narrow band: min-max lets one outlier squash
    the rest of a list, z-scores keep the spread of both (better on SciFact and the demo suite).
    """
    d, d_floor = zscore(dense)
    l, l_floor = zscore(lexical)
    return {
        key: dense_weight * d.get(key, d_floor) + (1.0 - dense_weight) * l.get(key, l_floor)
        for key in dense.keys() | lexical.keys()
    }


def fuse_rrf(dense: dict[str, float], lexical: dict[str, float], k: int) -> dict[str, float]:
    """Reciprocal-rank fusion (Cormack et al. 2009)."""
    fused: dict[str, float] = {}
    for scores in (dense, lexical):
        ranked = sorted(scores, key=scores.__getitem__, reverse=True)
        for rank, key in enumerate(ranked, start=1):
            fused[key] = fused.get(key, 0.0) + 1.0 / (k + rank)
    return fused


# With `recent`, fetch this many times k and keep the newest of the passages that score at
# least RECENT_MIN_SCORE_SHARE of the best one.
RECENT_CANDIDATE_FACTOR = 3
RECENT_MIN_SCORE_SHARE = 0.5


def penalise_boilerplate(fused: dict[str, float], shares: list[float], penalty: float) -> dict[str, float]:
    """A chunk loses `penalty` x its boilerplate share of the fused scores' range."""
    if not fused or not any(shares) or penalty <= 0:
        return fused
    scale = max(fused.values()) - min(fused.values()) or 1.0
    return {key: score - penalty * scale * share for (key, score), share in zip(fused.items(), shares)}


_LEXICAL_SIDE = ThreadPoolExecutor(max_workers=2, thread_name_prefix="bm25")


@dataclass
class Retriever:
    store: "rag.store.ChunkStore"  # noqa: F821 - only duck-typed here
    embedder: "rag.embeddings.Embedder"  # noqa: F821
    settings: RetrievalSettings
    # () -> (rag.bridge.CrossLingualIndex, its e5 embedder) or None: where a question that is not
    # in English is searched when the store's own model reads only English (see rag.bridge)
    cross_lingual: Callable[[], tuple] | None = None

    def retrieve(
        self, query: str, filters: Filters = Filters(), k: int | None = None, mode: str | None = None,
        recent: bool = False,
    ) -> list[Passage]:
        k = k or self.settings.top_k
        if recent:
            return self._recent(query, filters, k, mode)
        return self._ranked(query, filters, k, mode)

    def _recent(self, query: str, filters: Filters, k: int, mode: str | None) -> list[Passage]:
        """"The latest on X": the newest of the relevant passages first."""
        candidates = self._ranked(query, filters, k * RECENT_CANDIDATE_FACTOR, mode)
        if not candidates:
            return []
        best = max(p.score for p in candidates)
        relevant = [p for p in candidates if p.score >= RECENT_MIN_SCORE_SHARE * best]
        relevant.sort(key=lambda p: (p.chunk.published or date.min, p.score), reverse=True)
        return relevant[:k]

    def _ranked(self, query: str, filters: Filters, k: int, mode: str | None) -> list[Passage]:
        mode = mode or self.settings.mode
        depth = max(self.settings.candidates, k)
        dense_depth = max(self.settings.dense_candidates or self.settings.candidates, k)
        dense: dict[str, float] = {}
        lexical: dict[str, float] = {}
        # BM25 runs on the second core while the question is encoded (one thread, ~13 ms here):
        # the lexical side then costs nothing on top of the dense one.
        pending = _LEXICAL_SIDE.submit(self.store.lexical_search, query, depth, filters) if mode == "hybrid" else None
        if mode in ("dense", "hybrid"):
            bridge = self.cross_lingual() if self.cross_lingual is not None and question_language(query) != "en" else None
            if bridge is not None:
                index, embedder = bridge
                dense = dict(index.search(embedder.encode_queries([query])[0], dense_depth, filters))
            else:
                vector = self.embedder.encode_queries([query])[0]
                dense = dict(self.store.dense_scores(vector, dense_depth, filters))
        if pending is not None:
            lexical = dict(pending.result())
        elif mode == "lexical":
            lexical = dict(self.store.lexical_search(query, depth, filters))
        if mode == "dense":
            fused = dense
        elif mode == "lexical":
            fused = lexical
        elif self.settings.fusion == "rrf":
            fused = fuse_rrf(dense, lexical, self.settings.rrf_k)
        elif self.settings.fusion == "zscore":
            fused = fuse_zscore(dense, lexical, self.settings.dense_weight)
        else:
            fused = fuse_minmax(dense, lexical, self.settings.dense_weight)
        if hasattr(self.store, "boilerplate_shares") and self.settings.boilerplate_penalty > 0:
            fused = penalise_boilerplate(fused, self.store.boilerplate_shares(list(fused)),
                                         self.settings.boilerplate_penalty)
        top = sorted(fused, key=lambda key: (-fused[key], key))[:k]
        chunks = {c.chunk_id: c for c in self.store.get_chunks(top)}  # only the winners' texts
        return [
            Passage(
                chunk=chunks[key],
                score=fused[key],
                dense_score=dense.get(key),
                lexical_score=lexical.get(key),
                rank=rank,
            )
            for rank, key in enumerate((key for key in top if key in chunks), start=1)
        ]
