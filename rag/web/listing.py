"""Feeds (RSS, Atom) and sitemaps (and sitemap indexes) -> the release pages they list."""

from __future__ import annotations

import re
import zlib
from dataclasses import asdict, dataclass
from datetime import date
from urllib.parse import urljoin, urlsplit

from rag.ingest.text import inline, parse_date

FEED, SITEMAP, SITEMAP_INDEX = "feed", "sitemap", "sitemapindex"
_ROOT_KINDS = {"rss": FEED, "rdf:rdf": FEED, "rdf": FEED, "feed": FEED, "urlset": SITEMAP, "sitemapindex": SITEMAP_INDEX}
_FIRST_TAG = re.compile(rb"<(?![?!])([A-Za-z_][\w:.-]*)")
_GZIP_MAGIC = b"\x1f\x8b"


class ListingError(ValueError):
    pass


@dataclass(frozen=True)
class Entry:
    """A page a feed or sitemap lists, with what the listing says about it."""

    url: str
    title: str = ""
    published: date | None = None
    source: str = ""  # the feed's own title

    def to_json(self) -> dict:
        data = asdict(self)
        data["published"] = self.published.isoformat() if self.published else ""
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Entry":
        return cls(
            url=data.get("url", ""), title=data.get("title", ""),
            published=parse_date(data.get("published", "")), source=data.get("source", ""),
        )


@dataclass
class Listing:
    kind: str
    entries: list[Entry]
    children: list[str]  # a sitemap index's sitemaps


def unpacked(body: bytes, max_bytes: int) -> bytes:
    """A gzipped sitemap (sitemap.xml.gz) decompressed, refusing one that expands beyond max_bytes."""
    if not body.startswith(_GZIP_MAGIC):
        return body
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, max_bytes + 1)
    except zlib.error as error:
        raise ListingError(f"a gzip file that does not decompress ({error})")
    if len(out) > max_bytes:
        raise ListingError(f"expands to more than {max_bytes // (1024 * 1024)} MB")
    return out


def listing_kind(body: bytes) -> str | None:
    """feed, sitemap or sitemapindex by the document's root element; None for anything else (a page)."""
    head = body[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    # skip comments, which may hold anything (including "<rss")
    head = re.sub(rb"<!--.*?-->", b"", head, flags=re.DOTALL)
    match = _FIRST_TAG.search(head)
    if not match:
        return None
    return _ROOT_KINDS.get(match[1].decode("ascii", "replace").lower())


def parse_listing(body: bytes, url: str, kind: str) -> Listing:
    if kind == FEED:
        return Listing(FEED, _feed_entries(body, url), [])
    return _sitemap(body, url, kind)


def _feed_entries(body: bytes, url: str) -> list[Entry]:
    import feedparser

    parsed = feedparser.parse(body)
    if parsed.bozo and not parsed.entries:
        raise ListingError(f"not a readable feed ({parsed.get('bozo_exception', 'malformed')})")
    source = inline(parsed.feed.get("title", ""))
    entries = []
    for item in parsed.entries:
        link = _page_url(item.get("link", "") or _alternate(item), url)
        if not link:
            continue
        entries.append(Entry(
            url=link,
            title=inline(item.get("title", "")),
            published=_entry_date(item),
            source=source,
        ))
    if not entries and parsed.bozo:
        raise ListingError(f"not a readable feed ({parsed.get('bozo_exception', 'malformed')}); no page links found")
    return entries


def _alternate(item) -> str:
    for link in item.get("links", []) or []:
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return link["href"]
    return ""


def _entry_date(item) -> date | None:
    for key in ("published_parsed", "updated_parsed"):
        parsed = item.get(key)
        if parsed:
            try:
                return date(parsed.tm_year, parsed.tm_mon, parsed.tm_mday)
            except ValueError:
                pass
    # a date feedparser can't read (written in the site's language): ours reads ru/kk too
    return parse_date(item.get("published", "") or item.get("updated", ""))


def _sitemap(body: bytes, url: str, kind: str) -> Listing:
    from lxml import etree

    # No entities, no network: a sitemap is data, never instructions to fetch or expand anything.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=True)
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError as error:
        raise ListingError(f"not a readable sitemap ({error})")
    if root is None:
        raise ListingError("not a readable sitemap (empty)")
    entries, children = [], []
    for node in root:
        if not isinstance(node.tag, str):
            continue
        fields = {etree.QName(child).localname.lower(): (child.text or "").strip() for child in node if isinstance(child.tag, str)}
        loc = _page_url(fields.get("loc", ""), url)
        if not loc:
            continue
        if kind == SITEMAP_INDEX:
            children.append(loc)
        else:
            entries.append(Entry(url=loc, published=parse_date(fields.get("lastmod", ""))))
    return Listing(kind, entries, children)


def _page_url(link: str, base: str) -> str:
    link = inline(link)
    if not link:
        return ""
    absolute = urljoin(base, link)
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return parts._replace(fragment="").geturl()


def newest_first(entries: list[Entry]) -> list[Entry]:
    """Listed order when no dates are given; else by date, newest first (stable for equal dates)."""
    unique = list({e.url: e for e in reversed(entries)}.values())[::-1]  # the first listing of each URL
    if not any(e.published for e in unique):
        return unique
    return sorted(unique, key=lambda e: e.published or date.min, reverse=True)
