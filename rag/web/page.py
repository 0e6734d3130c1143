"""A fetched release page -> a Document: main text and metadata by the same readers files use,
with what the feed said filling the gaps, and the page's URL as its id and its citation link."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from urllib.parse import urlsplit

from rag.ingest.markup import html_to_text
from rag.ingest.readers import ARCHIVE_SUFFIXES, SUPPORTED_SUFFIXES, ReadError, ReadResult, file_suffix, read_data
from rag.ingest.text import declared_charset, decode_text, detect_language, inline, normalise_text, parse_date
from rag.ingest.text import publisher_for_url, short_hash
from rag.ingest.text import title_from_text, url_date
from rag.types import Document
from rag.web.fetch import Response
from rag.web.listing import Entry

# Content types a release page comes in, and the reader each goes to.
CONTENT_TYPE_SUFFIXES = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}


def web_doc_id(url: str) -> str:
    return "web:" + short_hash(url)


def page_result(url: str, response: Response, entry: Entry | None = None) -> ReadResult:
    """The Document of one page (or a ReadError naming its URL). ``url`` is the listed URL: the
    document's id and citation link, whatever redirects the fetch went through."""
    media_type = response.content_type.partition(";")[0].strip().lower()
    suffix = CONTENT_TYPE_SUFFIXES.get(media_type) or _suffix_from_url(url)
    if suffix is None:
        return ReadResult([], [ReadError(url, f"unsupported content type {media_type or '(none)'!r}")])
    if suffix == ".html":
        try:
            document = _html_document(url, response.body, declared_charset(response.content_type), entry)
        except ValueError as error:
            return ReadResult([], [ReadError(url, str(error))])
        return ReadResult([document], [])
    result = read_data(Path(urlsplit(url).path or "/page"), response.body, suffix)
    if result.errors:
        return ReadResult([], [ReadError(url, e.problem) for e in result.errors])
    return ReadResult([_as_web(doc, url, entry) for doc in result.documents], [])


def _html_document(url: str, body: bytes, charset: str, entry: Entry | None) -> Document:
    raw = None
    if charset:
        try:
            raw = body.decode(charset)
        except (LookupError, UnicodeDecodeError):
            raw = None  # a header that lies about the charset: detect it instead
    if raw is None:
        raw, _ = decode_text(body)
    page = html_to_text(raw)
    text = normalise_text(page.text)
    if not text:
        raise ValueError("no text found on the page")
    entry = entry or Entry(url)
    return Document(
        doc_id=web_doc_id(url),
        title=inline(page.title) or entry.title or title_from_text(text),
        text=text,
        published=parse_date(page.date) or entry.published or url_date(url),  # /2025/03/21/ in the link
        source=_source(url, page.site_name, entry),
        url=url,
        path=url,
        language=page.language or detect_language(text),
    )


def _as_web(doc: Document, url: str, entry: Entry | None) -> Document:
    entry = entry or Entry(url)
    return dataclasses.replace(
        doc,
        doc_id=web_doc_id(url),
        title=entry.title or doc.title,
        published=doc.published or entry.published,
        source=doc.source or _source(url, "", entry),
        url=url,
        path=url,
    )


def _source(url: str, site_name: str, entry: Entry) -> str:
    """A known ministry's usual name first (the same as its files get), then the site's own name,
    the feed's title, and at last the host name."""
    return publisher_for_url(url) or inline(site_name) or entry.source or (urlsplit(url).hostname or "")


def _suffix_from_url(url: str) -> str | None:
    """The format a URL's path names (".html", ".pdf", ...), by the readers' own suffix rules; one
    release per page, so not an archive's (its records would all get the page's one id)."""
    suffix = file_suffix(Path(urlsplit(url).path))
    if suffix == ".htm":
        return ".html"
    return suffix if suffix in SUPPORTED_SUFFIXES and suffix not in ARCHIVE_SUFFIXES else None
