"""The corpus tab's data: counts, the per-month and per-source tables for the charts, title search."""

from __future__ import annotations

import pandas as pd

from ui import render


def month_frame(stats: dict) -> pd.DataFrame:
    rows = sorted(stats.get("by_month", {}).items())
    return pd.DataFrame({"month": [m for m, _ in rows], "releases": [n for _, n in rows]})


def source_frame(stats: dict) -> pd.DataFrame:
    rows = list(stats.get("by_source", {}).items())
    return pd.DataFrame({"source": [s for s, _ in rows], "releases": [n for _, n in rows]})


def search_titles(store, query: str) -> list:
    """Releases whose title (or source) holds every word of the query, newest first."""
    words = [w for w in (query or "").lower().split() if w]
    docs = store.documents()
    if not words:
        return docs
    return [d for d in docs if all(w in f"{d.title} {d.source}".lower() for w in words)]


def corpus_view(store, query: str = "") -> tuple[str, pd.DataFrame, pd.DataFrame, str]:
    """(summary HTML, by-month frame, by-source frame, documents table HTML)."""
    stats = store.stats()
    return (
        render.corpus_summary_html(stats),
        month_frame(stats),
        source_frame(stats),
        render.documents_table_html(search_titles(store, query)),
    )
