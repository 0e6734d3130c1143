"""Test doubles for code above retrieval: passages built from plain text, retrievers without a store.

Used by the answer tests, and handy for UI or eval tests that need an AnswerService without
ingesting anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from rag.types import Chunk, Filters, Passage

KAZAKH_RELEASE = Path(__file__).resolve().parents[1] / "corpus" / "2025-03-21-kazakhstan-albania-political-consultations.txt"


def paragraph_chunks(
    doc_id: str, text: str, per_chunk: int = 4, title: str = "", published: date | None = None, source: str = ""
) -> list[Chunk]:
    """Chunks of `per_chunk` paragraphs each, with offsets into `text` (so chunk.text == text[start:end])."""
    paragraphs = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text) if m.group().strip()]
    chunks = []
    for index, first in enumerate(range(0, len(paragraphs), per_chunk)):
        group = paragraphs[first : first + per_chunk]
        start, end = group[0][0], group[-1][1]
        chunks.append(Chunk(f"{doc_id}#{index}", doc_id, index, text[start:end], start, end,
                            title=title, published=published, source=source))
    return chunks


def kazakh_release() -> tuple[str, list[Chunk]]:
    """The demo corpus's Kazakhstan-Albania release: body text (header line dropped) and its chunks."""
    raw = KAZAKH_RELEASE.read_text(encoding="utf-8")
    body = raw.split("\n", 1)[1].strip()
    return body, paragraph_chunks(
        "kazakh-albania", body, title="Kazakhstan and Albania hold political consultations",
        published=date(2025, 3, 21), source="Kazakh MFA",
    )


@dataclass
class StaticRetriever:
    """Returns its chunks in order (honouring date and source filters) and records every call."""

    chunks: list[Chunk]
    calls: list[tuple[str, Filters, int | None]] = field(default_factory=list)

    def retrieve(self, query: str, filters: Filters = Filters(), k: int | None = None, mode: str | None = None,
                 recent: bool = False):
        self.calls.append((query, filters, k))
        kept = [c for c in self.chunks if _passes(c, filters)]
        if recent:  # newest first, as the real retriever orders "the latest" passages
            kept.sort(key=lambda c: c.published or date.min, reverse=True)
        return [Passage(c, score=1.0 - 0.01 * i, rank=i + 1) for i, c in enumerate(kept[: k or len(kept)])]


def _passes(chunk: Chunk, filters: Filters) -> bool:
    if chunk.published is None and filters.undated:  # the question's own period keeps undated ones in
        return not filters.sources or chunk.source in filters.sources
    if filters.date_from and (chunk.published is None or chunk.published < filters.date_from):
        return False
    if filters.date_to and (chunk.published is None or chunk.published > filters.date_to):
        return False
    return not filters.sources or chunk.source in filters.sources


@dataclass
class EmbeddingRetriever:
    """Ranks its chunks by cosine similarity to the query with a real embedder (dense retrieval
    without a store), honouring date/source filters and `recent`; records every call."""

    chunks: list[Chunk]
    embedder: object
    calls: list[tuple[str, Filters, int | None]] = field(default_factory=list)
    vectors: object = None  # the chunks' vectors, when already encoded

    def __post_init__(self) -> None:
        self._vectors = self.vectors if self.vectors is not None else self.embedder.encode(
            [c.embed_text for c in self.chunks])

    def retrieve(self, query: str, filters: Filters = Filters(), k: int | None = None, mode: str | None = None,
                 recent: bool = False):
        self.calls.append((query, filters, k))
        scores = self._vectors @ self.embedder.encode([query])[0]
        ranked = sorted((i for i, c in enumerate(self.chunks) if _passes(c, filters)), key=lambda i: -scores[i])
        ranked = ranked[: k or len(ranked)]
        if recent:
            ranked.sort(key=lambda i: self.chunks[i].published or date.min, reverse=True)
        return [Passage(self.chunks[i], score=float(scores[i]), rank=r + 1) for r, i in enumerate(ranked)]
