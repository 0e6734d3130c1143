"""HTML for the chat answer, the sources panel and the corpus tables.

Every string that comes from the corpus or the user (titles, quotes, passages, sources, paths, URLs,
questions) goes through ``html.escape`` here, and nowhere else builds HTML: a release that contains
``<script>`` shows as text. Links are emitted only for http(s) URLs.
"""

from __future__ import annotations

import re
from html import escape
from urllib.parse import urlparse

from rag.types import Answer, Citation

_MARKER = re.compile(r"\[(\d+)\]")
# The checker passes a claim from 0.6 (rag.answer.citations.SUPPORT_THRESHOLD); a verbatim quote
# scores 1.0 and a faithful paraphrase 0.65-0.9. Below this, a supported sentence is flagged for checking.
UNCERTAIN_BELOW = 0.75


def esc(value: object) -> str:
    return escape(str(value if value is not None else ""), quote=True)


def safe_url(url: str) -> str:
    """The URL if it is http(s) with a host, else "" (no javascript:, data:, or relative links)."""
    url = (url or "").strip()
    try:
        parsed = urlparse(url)
    except ValueError:
        return ""
    return url if parsed.scheme in ("http", "https") and parsed.netloc else ""


def source_anchor(turn: int, key: str) -> str:
    """The id of a cited passage in the sources panel; markers in turn `turn` link to it."""
    safe_key = re.sub(r"[^A-Za-z0-9_-]", "_", str(key))
    return f"src-{turn}-{safe_key}"


# -- the chat message -----------------------------------------------------------------------
def user_message_html(question: str) -> str:
    return f'<div class="user-question">{esc(question)}</div>'


def status_html(status: str, draft: str = "") -> str:
    """What the assistant bubble shows while the answer streams: status line, then the draft so far."""
    parts = []
    if draft:
        parts.append(f'<div class="answer-draft">{esc(draft)}</div>')
    if status:
        parts.append(f'<div class="answer-status">{esc(status)}</div>')
    return '<div class="rag-answer streaming">' + "".join(parts) + "</div>"


def error_html(message: str) -> str:
    return f'<div class="rag-answer"><div class="answer-flag error">Could not answer: {esc(message)}</div></div>'


def _with_markers(text: str, turn: int, keys: set[str]) -> str:
    """Escape `text`, then turn each [n] whose n is a real citation into a clickable marker."""

    def link(match: re.Match) -> str:
        key = match.group(1)
        if key not in keys:
            return match.group(0)
        anchor = source_anchor(turn, key)
        return (
            f'<a class="cite-marker" href="#{anchor}" data-target="{anchor}" '
            f'title="Show source {key}">[{key}]</a>'
        )

    return _MARKER.sub(link, esc(text))


def _sentence_with_keys(text: str, citation_keys: tuple[str, ...]) -> str:
    """The sentence with a [key] marker for each of its citations (added where the text lacks one)."""
    present = set(_MARKER.findall(text))
    missing = [k for k in citation_keys if k not in present]
    if not missing:
        return text
    stripped = text.rstrip()
    end = len(stripped) - 1 if stripped.endswith((".", "!", "?")) else len(stripped)
    markers = " " + "".join(f"[{k}]" for k in missing)
    return stripped[:end] + markers + stripped[end:]


def answer_html(answer: Answer, turn: int) -> str:
    """The checked answer: flags for refusal / false premise, unsupported sentences marked, markers linked."""
    keys = {c.key for c in answer.citations}
    parts: list[str] = []
    if answer.standalone_question and " ".join(answer.standalone_question.split()) != " ".join(answer.question.split()):
        # a follow-up, rewritten to stand alone: say what was searched for
        parts.append(f'<div class="answer-rewrite">Searching for: {esc(answer.standalone_question)}</div>')
    if answer.false_premise:
        parts.append(
            '<div class="answer-flag false-premise" role="alert"><strong>False premise.</strong> '
            "The releases contradict an assumption in the question.</div>"
        )
    if answer.refused:
        parts.append(
            '<div class="answer-flag refused" role="status"><strong>The releases don\'t say.</strong> '
            "No passage found supports an answer to this question.</div>"
        )
    if answer.sentences:
        sentences = []
        for sentence in answer.sentences:
            body = _with_markers(_sentence_with_keys(sentence.text, sentence.citation_keys), turn, keys)
            if sentence.own:  # the app's own statement (a part unanswered, a premise corrected): no source
                sentences.append(f'<span class="answer-sentence own">{body}</span>')
            elif sentence.supported and sentence.citation_keys and sentence.support < UNCERTAIN_BELOW:
                sentences.append(
                    f'<span class="answer-sentence uncertain" title="Weakly supported ({sentence.support:.2f}): '
                    f'check the source">{body}<span class="uncertain-badge">check</span></span>'
                )
            elif sentence.supported:
                sentences.append(
                    f'<span class="answer-sentence supported" title="support {sentence.support:.2f}">{body}</span>'
                )
            else:
                sentences.append(
                    '<span class="answer-sentence unsupported" title="Not supported by the cited passages">'
                    f'{body}<span class="unsupported-badge">unsupported</span></span>'
                )
        parts.append('<p class="answer-text">' + " ".join(sentences) + "</p>")
    elif answer.text.strip():
        parts.append(f'<p class="answer-text">{_with_markers(answer.text.strip(), turn, keys)}</p>')
    n_unsupported = sum(1 for s in answer.sentences if not s.supported)
    n_uncertain = sum(
        1 for s in answer.sentences if s.supported and s.citation_keys and s.support < UNCERTAIN_BELOW
    )
    meta = [f'answered by <span class="generator-name">{esc(answer.generator or "?")}</span>']
    meta.append(f"{len(answer.citations)} source{'s' if len(answer.citations) != 1 else ''} cited")
    if n_unsupported:
        meta.append(f'<span class="unsupported-count">{n_unsupported} sentence(s) not supported</span>')
    if n_uncertain:
        meta.append(f'<span class="uncertain-count">{n_uncertain} weakly supported</span>')
    parts.append('<div class="answer-meta">' + " · ".join(meta) + "</div>")
    classes = ["rag-answer"]
    if answer.refused:
        classes.append("is-refused")
    if answer.false_premise:
        classes.append("is-false-premise")
    return f'<div class="{" ".join(classes)}" data-turn="{turn}">' + "".join(parts) + "</div>"


# -- the sources panel ----------------------------------------------------------------------
def _file_name(path: str) -> str:
    return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def _highlighted_passage(cite: Citation) -> str:
    """The passage with the supporting span in a <mark>; falls back to searching for the quote."""
    passage = cite.passage_text or ""
    start, end = cite.start - cite.passage_start, cite.end - cite.passage_start
    if not (0 <= start < end <= len(passage)) or (cite.quote and passage[start:end] != cite.quote):
        found = passage.find(cite.quote) if cite.quote else -1
        start, end = (found, found + len(cite.quote)) if found >= 0 else (-1, -1)
    if start < 0:
        quote = f'<mark class="support-span">{esc(cite.quote)}</mark>' if cite.quote else ""
        context = f'<span class="passage-context">{esc(passage)}</span>' if passage else ""
        return f'<p class="passage">{quote}{" " if quote and context else ""}{context}</p>'
    return (
        '<p class="passage">'
        f"{esc(passage[:start])}"
        f'<mark class="support-span">{esc(passage[start:end])}</mark>'
        f"{esc(passage[end:])}</p>"
    )


def citation_card(cite: Citation, turn: int) -> str:
    url = safe_url(cite.url)
    title = esc(cite.title or cite.path or cite.doc_id)
    heading = (
        f'<a class="source-title" href="{esc(url)}" target="_blank" rel="noopener noreferrer">{title}</a>'
        if url
        else f'<span class="source-title">{title}</span>'
    )
    meta = [
        f'<span class="source-date">{esc(cite.published.isoformat()) if cite.published else "undated"}</span>',
        f'<span class="source-org">{esc(cite.source or "unknown source")}</span>',
    ]
    if not url and cite.path:
        meta.append(f'<span class="source-path" title="{esc(cite.path)}">{esc(_file_name(cite.path))}</span>')
    return (
        f'<article class="source-card" id="{source_anchor(turn, cite.key)}" data-key="{esc(cite.key)}">'
        f'<header><span class="source-key">[{esc(cite.key)}]</span> {heading}</header>'
        f'<div class="source-meta">{" · ".join(meta)}</div>'
        f"{_highlighted_passage(cite)}"
        "</article>"
    )


def sources_group_html(answer: Answer, turn: int) -> str:
    """One answer's sources: a card per citation, then the passages retrieved but not cited."""
    cards = "".join(citation_card(c, turn) for c in answer.citations)
    if not cards:
        cards = '<p class="no-sources">No passage is cited for this answer.</p>'
    cited = {c.chunk_id for c in answer.citations}
    others = [p for p in answer.passages if p.chunk.chunk_id not in cited]
    extra = ""
    if others:
        items = "".join(
            f'<li><span class="source-title">{esc(p.chunk.title)}</span> '
            f'<span class="source-meta">{esc(p.chunk.published.isoformat()) if p.chunk.published else "undated"}'
            f' · {esc(p.chunk.source or "unknown source")}</span>'
            f'<p class="passage">{esc(p.chunk.text)}</p></li>'
            for p in others
        )
        extra = (
            f'<details class="uncited"><summary>{len(others)} more passage(s) retrieved, not cited</summary>'
            f"<ol>{items}</ol></details>"
        )
    return (
        f'<section class="source-group" id="turn-{turn}" data-turn="{turn}">'
        f'<h4 class="source-question">{esc(answer.question)}</h4>{cards}{extra}</section>'
    )


def sources_panel_html(groups: list[str]) -> str:
    """The whole panel, newest answer first (groups are kept oldest first)."""
    if not groups:
        return (
            '<div id="sources-panel-body" class="sources-empty">'
            "Ask a question: the passages that support each answer appear here, "
            "with the supporting words highlighted.</div>"
        )
    return '<div id="sources-panel-body">' + "".join(reversed(groups)) + "</div>"


# -- the corpus tab -------------------------------------------------------------------------
def corpus_summary_html(stats: dict) -> str:
    sources = "".join(
        f"<li>{esc(name)}: <strong>{n}</strong></li>" for name, n in stats.get("by_source", {}).items()
    )
    return (
        '<div class="corpus-summary">'
        f'<span class="corpus-count"><strong id="n-documents">{stats.get("documents", 0)}</strong> releases</span> · '
        f'<span class="corpus-count"><strong id="n-chunks">{stats.get("chunks", 0)}</strong> passages</span>'
        f'<ul class="corpus-sources">{sources}</ul></div>'
    )


def documents_table_html(docs: list, total: int | None = None) -> str:
    """The title search result: one row per release (DocInfo), newest first; `total` matched
    (when more than the rows given) is said under the table."""
    if not docs:
        return '<p class="no-documents">No release matches.</p>'
    rows = []
    for doc in docs:
        url = safe_url(doc.url)
        title = esc(doc.title or doc.path or doc.doc_id)
        cell = (
            f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">{title}</a>' if url else title
        )
        rows.append(
            f'<tr class="doc-row"><td class="doc-date">{esc(doc.published.isoformat()) if doc.published else ""}</td>'
            f'<td class="doc-title">{cell}</td><td>{esc(doc.source)}</td><td>{doc.n_chunks}</td></tr>'
        )
    hidden = (total or 0) - len(docs)
    more = f'<p class="doc-more">{hidden} more not shown: refine the search.</p>' if hidden > 0 else ""
    return (
        '<table class="documents"><thead><tr><th>Date</th><th>Title</th><th>Source</th><th>Passages</th></tr>'
        f'</thead><tbody>{"".join(rows)}</tbody></table>{more}'
    )


# -- the background-ingest banner -----------------------------------------------------------
def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def ingest_banner_text(status) -> str:
    """One line about a background ingest (rag.ingest.background.IngestStatus), as plain text."""
    caveat = "answers cover only what is indexed so far."
    if status.feed:
        return _feed_banner_text(status)
    if status.running and status.first_pass:
        return f"Indexing the corpus: the single releases first, then the archives — {caveat}"
    if status.phase == "embedding" and status.total:
        if status.eta_seconds is None:
            left = "estimating the time left"
        elif status.eta_seconds < 60:
            left = "less than a minute left"
        else:
            left = f"about {-(-status.eta_seconds // 60):.0f} min left"
        if getattr(status, "cross_lingual", False):
            return (f"Indexing for questions in other languages: {status.done:,} / {status.total:,} passages "
                    f"({status.percent}%), {left} — Russian and Kazakh questions find only what is indexed so far.")
        return (
            f"Indexing the corpus: {status.done:,} / {status.total:,} passages ({status.percent}%), {left} — {caveat}"
        )
    if status.running:
        files = f" (file {min(status.done + 1, status.total)} of {status.total})" if status.total else ""
        return f"Indexing the corpus: reading and splitting the releases{files} — {caveat}"
    if status.phase == "done":
        failed = f" {status.failed_files} file(s) could not be read (see the terminal)." if status.failed_files else ""
        return (
            f"Indexing finished: {status.chunks_written:,} passages written in {_minutes(status.elapsed_seconds)}; "
            f"answers cover the whole corpus.{failed}"
        )
    if status.phase == "failed":
        return f"Indexing stopped with an error: {status.error}. Answers cover what was indexed before it."
    return "Indexing was interrupted; answers cover what was indexed. Run `rag up` again to finish."


def _feed_banner_text(status) -> str:
    """A check of a followed feed: what it is doing, or what it found."""
    if status.phase == "embedding" and status.total:
        return f"Checking {status.feed}: indexing {status.done:,} / {status.total:,} new passages ({status.percent}%)."
    if status.running:
        pages = f" (page {min(status.done + 1, status.total)} of {status.total})" if status.total else ""
        return f"Checking {status.feed} for new or changed releases{pages}."
    if status.phase == "done":
        failed = f" {status.failed_files} page(s) could not be read (see the terminal)." if status.failed_files else ""
        found = f"{status.chunks_written:,} new passages indexed" if status.chunks_written else "nothing new"
        return f"Checked {status.feed}: {found}.{failed}"
    if status.phase == "failed":
        return f"Checking {status.feed} failed: {status.error}. Answers cover what was indexed before."
    return f"Checking {status.feed} was interrupted; answers cover what was indexed."


def ingest_banner_html(status) -> str:
    """The banner above the tabs; its class says the state (running, done, failed, interrupted)."""
    if status is None:
        return ""
    state = "running" if status.running else status.phase
    return f'<div class="ingest-banner {esc(state)}" role="status">{esc(ingest_banner_text(status))}</div>'
