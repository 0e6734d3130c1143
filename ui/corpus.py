"""The corpus tab's data: counts, the per-month and per-source tables for the charts, title search.

Everything comes from the catalogue service (rag.catalogue), as for `rag docs`; this module only
shapes it for the charts and the table."""

from __future__ import annotations

import pandas as pd

from ui import render

SHOWN_TITLES = 200  # rows of the title table; more is a hint to refine the search


def month_frame(stats: dict) -> pd.DataFrame:
    rows = sorted(stats.get("by_month", {}).items())
    return pd.DataFrame({"month": [m for m, _ in rows], "releases": [n for _, n in rows]})


def source_frame(stats: dict) -> pd.DataFrame:
    rows = list(stats.get("by_source", {}).items())
    return pd.DataFrame({"source": [s for s, _ in rows], "releases": [n for _, n in rows]})


def titles_html(catalogue, query: str) -> str:
    found = catalogue.search_titles(query, limit=SHOWN_TITLES)
    return render.documents_table_html(found.documents, total=found.total)


def corpus_view(catalogue, query: str = "") -> tuple[str, pd.DataFrame, pd.DataFrame, str]:
    """(summary HTML, by-month frame, by-source frame, documents table HTML)."""
    stats = catalogue.stats()
    return (
        render.corpus_summary_html(stats),
        month_frame(stats),
        source_frame(stats),
        titles_html(catalogue, query),
    )
