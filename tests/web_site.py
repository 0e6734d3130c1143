"""A ministry's website on 127.0.0.1 for the web-ingest tests: real HTTP (a ThreadingHTTPServer),
ETag and Last-Modified with 304s, slow and failing routes, and a log of every request."""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "web"


@dataclass
class Route:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    etag: bool = True  # send an ETag (else only Last-Modified)
    last_modified: str = ""
    delay_s: float = 0.0  # before the response starts: a slow server
    failures: int = 0  # answer 503 this many times first
    status: int = 200
    chunked: bool = False  # no Content-Length: the size is known only by reading
    version: int = 0

    @property
    def tag(self) -> str:
        return '"' + hashlib.sha1(self.body).hexdigest()[:12] + '"'


@dataclass(frozen=True)
class Request:
    path: str
    at: float
    status: int
    if_none_match: str = ""
    if_modified_since: str = ""
    user_agent: str = ""

    @property
    def conditional(self) -> bool:
        return bool(self.if_none_match or self.if_modified_since)


@dataclass
class FixtureSite:
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self):
        site = self
        self._lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                site._serve(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self._clock = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add(self, path: str, body: bytes | str, **options) -> Route:
        if isinstance(body, str):
            body = body.replace("{base}", self.base).encode("utf-8")
        route = Route(body, **options)
        route.last_modified = route.last_modified or self._next_date()
        self.routes[path] = route
        return route

    def change(self, path: str, body: bytes | str) -> None:
        """The page is edited on the site: a new body, ETag and Last-Modified."""
        route = self.routes[path]
        route.body = body.replace("{base}", self.base).encode("utf-8") if isinstance(body, str) else body
        route.last_modified = self._next_date()
        route.version += 1

    def _next_date(self) -> str:
        self._clock += 1
        return formatdate(1_700_000_000 + 3600 * self._clock, usegmt=True)

    def since(self, mark: int) -> list[Request]:
        with self._lock:
            return self.requests[mark:]

    def mark(self) -> int:
        with self._lock:
            return len(self.requests)

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?")[0]
        route = self.routes.get(path)
        inm = handler.headers.get("If-None-Match", "")
        ims = handler.headers.get("If-Modified-Since", "")
        if route is None:
            status, body, headers = 404, b"<html><body><h1>Not found</h1></body></html>", {"Content-Type": "text/html"}
        else:
            if route.delay_s:
                time.sleep(route.delay_s)
            if route.failures > 0:
                route.failures -= 1
                status, body, headers = 503, b"busy", {"Content-Type": "text/plain", "Retry-After": "0"}
            elif route.etag and inm and inm == route.tag or (not route.etag and ims and ims == route.last_modified):
                status, body, headers = 304, b"", {}
            else:
                status, body = route.status, route.body
                headers = {"Content-Type": route.content_type, "Last-Modified": route.last_modified}
                if route.etag:
                    headers["ETag"] = route.tag
            if route.etag and status == 304:
                headers["ETag"] = route.tag
        with self._lock:
            self.requests.append(Request(path, time.monotonic(), status, inm, ims, handler.headers.get("User-Agent", "")))
        try:
            handler.send_response(status)
            for name, value in headers.items():
                handler.send_header(name, value)
            if route is not None and route.chunked and status == 200:
                handler.send_header("Transfer-Encoding", "chunked")
                handler.end_headers()
                for i in range(0, len(body), 16384):
                    piece = body[i : i + 16384]
                    handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                handler.wfile.write(b"0\r\n\r\n")
            else:
                handler.send_header("Content-Length", str(len(body)))
                handler.end_headers()
                handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)


RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
  <channel>
    <title>Ministry of Foreign Affairs of the Republic of Kazakhstan: News</title>
    <link>{base}/en</link>
    <description>Press releases</description>
    <item>
      <title>Kazakhstan and Albania held the first round of political consultations</title>
      <link>{base}/en/press/albania</link>
      <guid>{base}/en/press/albania</guid>
      <pubDate>Fri, 21 Mar 2025 10:25:00 +0500</pubDate>
      <description>The first round of political consultations between Kazakhstan and Albania took place in Tirana.</description>
    </item>
    <item>
      <title>Kazakhstan and Mongolia held consultations in Astana</title>
      <link>{base}/en/press/mongolia</link>
      <pubDate>Thu, 02 May 2024 16:40:00 +0500</pubDate>
    </item>
    <item>
      <title>Deputy Minister received the Ambassador of Norland</title>
      <link>{base}/en/press/norland</link>
      <pubDate>Mon, 10 Mar 2025 09:00:00 +0500</pubDate>
    </item>
    <item>
      <title>A release the site has taken down</title>
      <link>{base}/en/press/withdrawn</link>
      <pubDate>Sun, 09 Mar 2025 09:00:00 +0500</pubDate>
    </item>
    <item>
      <title>Internal note</title>
      <link>{base}/private/internal-note</link>
      <pubDate>Sat, 08 Mar 2025 09:00:00 +0500</pubDate>
    </item>
  </channel>
</rss>
"""

ATOM_RU = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>МИД Республики Казахстан: новости</title>
  <id>{base}/ru/atom.xml</id>
  <updated>2025-03-21T10:25:00+05:00</updated>
  <entry>
    <title>Казахстан и Албания провели первый раунд политических консультаций</title>
    <link rel="alternate" href="{base}/ru/press/albania"/>
    <id>{base}/ru/press/albania</id>
    <published>2025-03-21T10:25:00+05:00</published>
    <updated>2025-03-21T10:25:00+05:00</updated>
  </entry>
</feed>
"""

SITEMAP_INDEX = """<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>{base}/sitemap-en.xml</loc><lastmod>2025-03-21</lastmod></sitemap>
  <sitemap><loc>{base}/sitemap-kk.xml.gz</loc><lastmod>2025-03-21</lastmod></sitemap>
</sitemapindex>
"""

SITEMAP_EN = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>{base}/en/press/albania</loc><lastmod>2025-03-21</lastmod></url>
  <url><loc>{base}/en/press/mongolia</loc><lastmod>2024-05-02</lastmod></url>
</urlset>
"""

SITEMAP_KK = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>{base}/kk/press/albania</loc><lastmod>2025-03-21</lastmod></url>
</urlset>
"""

ROBOTS = """User-agent: *
Disallow: /private/
"""

NORLAND_V1 = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Deputy Minister received the Ambassador of Norland | Ministry of Foreign Affairs</title></head>
<body><nav><a href="/">Home</a> <a href="/en/press">Press</a></nav>
<main><article><h1>Deputy Minister received the Ambassador of Norland</h1>
<p class="date">10 March 2025</p>
<p>Deputy Minister of Foreign Affairs received the Ambassador of Norland to discuss fisheries cooperation
and a direct flight between the two capitals, which the sides agreed to study further.</p>
<p>The Ambassador conveyed an invitation to the Norland Maritime Forum to be held in the autumn.</p>
</article></main><footer>Ministry of Foreign Affairs</footer></body></html>
"""

NORLAND_V2 = NORLAND_V1.replace(
    "which the sides agreed to study further.",
    "which the sides agreed to launch in June with two weekly flights.",
)


def without_items(feed: str, *paths: str) -> str:
    """The RSS feed without the items whose link ends with one of ``paths``."""
    out, rest = [], feed
    while "<item>" in rest:
        head, _, tail = rest.partition("<item>")
        item, _, rest = tail.partition("</item>")
        out.append(head)
        link = item.split("<link>")[1].split("</link>")[0]
        if not link.endswith(paths):
            out.append("<item>" + item + "</item>")
        else:
            out[-1] = out[-1].rstrip(" ")
    out.append(rest)
    return "".join(out)


def ministry_site() -> FixtureSite:
    """The Kazakh MFA's site as the tests know it: feeds, sitemaps, pages in three languages, robots.txt."""
    site = FixtureSite()
    site.add("/robots.txt", ROBOTS, content_type="text/plain")
    site.add("/en/rss.xml", RSS, content_type="application/rss+xml; charset=utf-8")
    # the same feed without the withdrawn and the private page: a feed that ingests cleanly
    site.add("/en/news.xml", without_items(RSS, "/withdrawn", "/internal-note"), content_type="application/rss+xml")
    site.add("/ru/atom.xml", ATOM_RU, content_type="application/atom+xml")
    site.add("/sitemap.xml", SITEMAP_INDEX, content_type="application/xml")
    site.add("/sitemap-en.xml", SITEMAP_EN, content_type="application/xml", etag=False)
    site.add("/sitemap-kk.xml.gz", gzip.compress(SITEMAP_KK.replace("{base}", site.base).encode()), content_type="application/gzip")
    site.add("/en/press/albania", (FIXTURES / "albania-en.html").read_bytes())
    site.add("/en/press/mongolia", (FIXTURES / "mongolia-en.html").read_bytes(), etag=False)
    site.add("/en/press/norland", NORLAND_V1)
    site.add("/ru/press/albania", (FIXTURES / "albania-ru.html").read_bytes(), content_type="text/html; charset=windows-1251")
    site.add("/kk/press/albania", (FIXTURES / "albania-kk.html").read_bytes())
    site.add("/private/internal-note", "<html><body><p>Not for crawlers: this note must never be fetched.</p></body></html>")
    return site
