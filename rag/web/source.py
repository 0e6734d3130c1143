"""A URL -> the release pages behind it, fetched politely and only when they changed.

The URL may be an RSS/Atom feed, a sitemap or sitemap index, or a single page. A page whose
document the store already holds is asked for conditionally (its ETag / Last-Modified): an
unchanged page costs one 304 and is not read again. The ingest pipeline turns what comes back
into chunks like any file, and calls ``commit`` once the store holds it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rag.ingest.readers import ReadError, ReadResult
from rag.ingest.text import short_hash
from rag.settings import Settings
from rag.web.fetch import Fetcher, FetchError, FetchLog, Response, Validators
from rag.web.listing import Entry, ListingError, listing_kind, newest_first, parse_listing, unpacked
from rag.web.page import page_result, web_doc_id
from rag.web.state import WebState

MAX_SITEMAP_DEPTH = 3  # an index of indexes of sitemaps; deeper nesting is refused (a loop, or a trap)

ProgressFn = Callable[[int, int, str], None]


@dataclass
class PageRead:
    url: str
    result: ReadResult = field(default_factory=ReadResult)
    validators: Validators = field(default_factory=Validators)
    unchanged: bool = False  # a 304: the stored version is current

    @property
    def doc_id(self) -> str:
        return web_doc_id(self.url)


@dataclass
class WebRead:
    url: str
    pages: list[PageRead] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the feed or sitemap itself could not be read
    listed: set[str] | None = None  # every page the feed or sitemap lists now (None: the URL is a page)
    skipped: int = 0  # listed pages beyond settings.web.max_pages
    log: FetchLog = field(default_factory=FetchLog)  # the requests this read made


class WebReader:
    def __init__(self, settings: Settings, state: WebState | None = None, recipe: str = ""):
        """recipe: what shapes stored chunks (the pipeline's); a page stored under another recipe
        is fetched whole again (a 304 would leave its chunks as the old chunker cut them)."""
        self.settings = settings
        self.state = state or WebState(settings.data_dir)
        self.recipe = short_hash(recipe)

    def read(self, url: str, stored_doc_ids: set[str], progress: ProgressFn | None = None) -> WebRead:
        """Fetch ``url`` and every page it lists (newest first, at most settings.web.max_pages)."""
        read = WebRead(url)
        with Fetcher(self.settings.web, robots_cache=self.state.robots) as fetcher:
            read.log = fetcher.log
            self._read(fetcher, url, stored_doc_ids, read, progress)
        return read

    def _read(self, fetcher: Fetcher, url: str, stored: set[str], read: WebRead, progress: ProgressFn | None) -> None:
        if progress:
            progress(0, 1, f"reading {url}")
        listed_before = self.state.listing(url)
        if listed_before:
            validators = _validators(listed_before)
        elif web_doc_id(url) in stored:
            validators = self.state.page_validators(url, self.recipe)
        else:
            validators = Validators()
        try:
            response = fetcher.get(url, validators)
        except FetchError as error:
            read.errors.append(str(error))
            return
        if response.not_modified and not listed_before:
            read.pages.append(PageRead(url, validators=validators, unchanged=True))
            return
        try:
            entries = self._entries(fetcher, url, response, listed_before, 0, read.errors)
        except (FetchError, ListingError) as error:
            read.errors.append(str(error) if isinstance(error, FetchError) else f"{url}: {error}")
            return
        if entries is None:  # not a listing: the URL is a release page itself
            read.pages.append(PageRead(url, page_result(url, response), response.validators))
            return
        read.listed = {e.url for e in entries}
        if not entries:
            read.errors.append(f"{url}: the feed or sitemap lists no pages")
            return
        ordered = newest_first(entries)
        todo = ordered[: self.settings.web.max_pages]
        read.skipped = len(ordered) - len(todo)
        for i, entry in enumerate(todo):
            if progress:
                progress(i, len(todo), f"reading {entry.url}")
            read.pages.append(self._page(fetcher, entry, stored))

    def _entries(
        self, fetcher: Fetcher, url: str, response: Response, before: dict, depth: int, errors: list[str]
    ) -> list[Entry] | None:
        """The pages a feed or sitemap lists, those of a sitemap index's sitemaps included (each
        asked for conditionally: an index often stays the same while its sitemaps grow); None
        when the response is a page, not a listing."""
        if response.not_modified:
            own = [Entry.from_json(e) for e in before.get("entries", [])]
            children = list(before.get("children", []))
        else:
            body = unpacked(response.body, int(self.settings.web.max_page_mb * 1024 * 1024))
            kind = listing_kind(body)
            if kind is None:
                return None
            listing = parse_listing(body, response.url, kind)
            own, children = listing.entries, listing.children
            self.state.remember_listing(url, response.validators, [e.to_json() for e in own], kind, children)
        entries = list(own)
        if children and depth >= MAX_SITEMAP_DEPTH:
            raise ListingError(f"sitemap indexes nested more than {MAX_SITEMAP_DEPTH} deep")
        for child in children:
            child_before = self.state.listing(child)
            try:
                child_response = fetcher.get(child, _validators(child_before))
                entries.extend(self._entries(fetcher, child, child_response, child_before, depth + 1, errors) or [])
            except (FetchError, ListingError) as error:
                # One sitemap failing leaves the others: its pages count as still listed (for --sync)
                errors.append(str(error) if isinstance(error, FetchError) else f"{child}: {error}")
                entries.extend(Entry(u) for u in sorted(self._listed_urls(child, depth + 1)))
        return entries

    def _listed_urls(self, url: str, depth: int = 0) -> set[str]:
        """The page URLs the last run found behind ``url`` (a sitemap index's sitemaps included)."""
        listing = self.state.listing(url)
        urls = {e["url"] for e in listing.get("entries", [])}
        if depth < MAX_SITEMAP_DEPTH:
            for child in listing.get("children", []):
                urls |= self._listed_urls(child, depth + 1)
        return urls

    def _page(self, fetcher: Fetcher, entry: Entry, stored: set[str]) -> PageRead:
        doc_id = web_doc_id(entry.url)
        # Conditional only when the store holds the version those validators name: after a crash
        # or a wiped store, the page is fetched whole again.
        validators = self.state.page_validators(entry.url, self.recipe) if doc_id in stored else Validators()
        try:
            response = fetcher.get(entry.url, validators)
        except FetchError as error:
            return PageRead(entry.url, ReadResult([], [ReadError(error.url, error.problem)]))
        if response.not_modified:
            return PageRead(entry.url, validators=validators, unchanged=True)
        if listing_kind(response.body[:4096]) is not None:
            return PageRead(entry.url, ReadResult([], [ReadError(entry.url, "a feed or sitemap, not a release page")]))
        return PageRead(entry.url, page_result(entry.url, response, entry), response.validators)

    def commit(self, read: WebRead, stored_doc_ids: set[str]) -> None:
        """Remember the validators of the pages the store now holds, and which feed listed them."""
        feed = read.url if read.listed is not None else ""
        for page in read.pages:
            if page.doc_id in stored_doc_ids and (page.unchanged or page.result.documents):
                self.state.remember_page(page.url, page.doc_id, page.validators, self.recipe, feed)
        self.state.save()

    def unlisted(self, read: WebRead) -> list[str]:
        """Pages the feed listed before and no longer does, and no other feed lists (for --sync)."""
        if read.listed is None or (read.errors and not read.pages):
            return []  # a page, or a listing that failed to load: nothing can be concluded
        return self.state.unlisted(read.url, read.listed)

    def forget(self, urls: list[str]) -> None:
        for url in urls:
            self.state.forget_page(url)
        self.state.save()


def _validators(entry: dict) -> Validators:
    return Validators(entry.get("etag", ""), entry.get("last_modified", "")) if entry else Validators()


__all__ = ["PageRead", "WebRead", "WebReader"]
