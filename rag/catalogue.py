"""What the store holds, release by release: counts, sources, languages, title search.

The UI's corpus tab and filters and `rag docs` ask this service instead of the store: listing the
releases scans Chroma's metadata (seconds at 100k passages), so the list is kept per store
version and rebuilt only after a write, by whichever process wrote (the version lives in Chroma).
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from datetime import date

from rag.store import DocInfo


@dataclass(frozen=True)
class TitleMatches:
    """A page of title-search results: `documents` newest first, `total` before the limit."""

    documents: list[DocInfo]
    total: int


class Catalogue:
    def __init__(self, store):
        self.store = store
        self._lock = threading.Lock()
        self._version: str | None = None
        self._documents: list[DocInfo] = []
        self._haystacks: tuple[list[DocInfo], list[str]] = ([], [])  # (for which list, lower-cased titles)

    def documents(self) -> list[DocInfo]:
        """Every stored release, newest first."""
        return self._current()

    def _current(self) -> list[DocInfo]:
        version = str(self.store.version()) if hasattr(self.store, "version") else ""
        with self._lock:
            if version != self._version:
                self._version, self._documents = version, self.store.documents()
            return self._documents

    def search_titles(self, query: str, limit: int | None = None) -> TitleMatches:
        """Releases whose title or source holds every word of the query, newest first; all of them
        for an empty query. Words match inside words ("kazakh" finds "Kazakhstan"): the box
        searches as the user types, so a half-typed word must already match."""
        documents = self._current()
        with self._lock:  # built on the first search of each version: stats alone need no titles
            if self._haystacks[0] is not documents:
                self._haystacks = (documents, [f"{d.title} {d.source}".casefold() for d in documents])
            haystacks = self._haystacks[1]
        words = (query or "").casefold().split()
        matches = [d for d, hay in zip(documents, haystacks) if all(w in hay for w in words)]
        return TitleMatches(matches[:limit] if limit is not None else matches, len(matches))

    def stats(self) -> dict:
        """Counts of releases and passages, by source, by language and by month."""
        documents = self.documents()
        by_month = Counter(d.published.strftime("%Y-%m") for d in documents if d.published)
        return {
            "documents": len(documents),
            "chunks": self.store.count(),
            "by_source": dict(Counter(d.source or "(unknown)" for d in documents).most_common()),
            "by_language": dict(Counter(d.language or "(unknown)" for d in documents).most_common()),
            "by_month": dict(sorted(by_month.items())),
        }

    def sources(self) -> list[str]:
        return sorted({d.source for d in self.documents() if d.source})

    def languages(self) -> list[str]:
        return sorted({d.language for d in self.documents() if d.language})

    def newest_date(self) -> date | None:
        if hasattr(self.store, "newest_date"):  # without listing every release (see ChunkStore.newest_date)
            return self.store.newest_date()
        return max((d.published for d in self.documents() if d.published), default=None)
