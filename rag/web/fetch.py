"""Polite HTTP: robots.txt, one request per host at a time with a minimum interval, conditional
requests, retries with backoff, timeouts and a size cap. Every problem is a FetchError naming the URL."""

from __future__ import annotations

import threading
import time
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit, urlunsplit

from rag.settings import WebSettings

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_AFTER_MAX_S = 60.0  # a Retry-After longer than this is not waited for: the page fails this run
MAX_REDIRECTS = 5


class FetchError(Exception):
    def __init__(self, url: str, problem: str, status: int | None = None):
        super().__init__(f"{url}: {problem}")
        self.url = url
        self.problem = problem
        self.status = status  # the HTTP status, when the server answered with an error


@dataclass(frozen=True)
class Validators:
    """What a server said identifies a version of a page: sent back, an unchanged page costs one 304."""

    etag: str = ""
    last_modified: str = ""

    def headers(self) -> dict[str, str]:
        out = {}
        if self.etag:
            out["If-None-Match"] = self.etag
        if self.last_modified:
            out["If-Modified-Since"] = self.last_modified
        return out

    def __bool__(self) -> bool:
        return bool(self.etag or self.last_modified)


@dataclass
class Response:
    url: str  # after redirects
    status: int
    body: bytes = b""
    content_type: str = ""
    validators: Validators = field(default_factory=Validators)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass
class FetchLog:
    """What a run asked of the web: the figures `rag ingest URL` prints."""

    requests: int = 0
    conditional: int = 0
    not_modified: int = 0
    retries: int = 0
    robots_refusals: int = 0


def is_url(value: object) -> bool:
    return isinstance(value, str) and value.strip().lower().startswith(("http://", "https://"))


def host_key(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class Fetcher:
    """One per ingest run (or per follower). Requests to one host are serialised and spaced by
    settings.min_interval_s, or by the robots.txt Crawl-delay when that asks for more."""

    def __init__(
        self,
        settings: WebSettings,
        robots_cache: dict[str, dict] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        import httpx

        self.settings = settings
        self.log = FetchLog()
        self._sleep = sleep
        self._client = httpx.Client(
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(settings.timeout_s),
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            trust_env=False,  # no proxy from the environment: fetches go where the URL says, nowhere else
        )
        self._max_bytes = int(settings.max_page_mb * 1024 * 1024)
        self._last_request: dict[str, float] = {}
        self._host_locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        # host -> {"body", "etag", "last_modified"}: robots.txt files kept between runs (WebState),
        # so that a run with nothing new makes conditional requests only.
        self.robots_cache = robots_cache if robots_cache is not None else {}
        self._robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}
        self._robots_problem: dict[str, str] = {}

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- robots.txt --------------------------------------------------------------------------

    def allowed(self, url: str) -> bool:
        if not self.settings.respect_robots:
            return True
        parser = self._robots_for(url)
        return True if parser is None else parser.can_fetch(self.settings.user_agent, url)

    def _robots_for(self, url: str) -> urllib.robotparser.RobotFileParser | None:
        host = host_key(url)
        if host in self._robots:
            return self._robots[host]
        robots_url = host + "/robots.txt"
        cached = self.robots_cache.get(host) or {}
        body = None
        try:
            response = self._request(robots_url, Validators(cached.get("etag", ""), cached.get("last_modified", "")))
            if response.not_modified:
                body = cached.get("body", "")
            else:
                body = response.body.decode("utf-8", errors="replace")
                self.robots_cache[host] = {
                    "body": body, "etag": response.validators.etag, "last_modified": response.validators.last_modified,
                }
        except FetchError as error:
            if error.status is not None and 400 <= error.status < 500:
                body = ""  # RFC 9309: no robots.txt (404, 403, ...) means no restrictions
                self.robots_cache.pop(host, None)
            else:
                # unreachable or a server error: RFC 9309 says assume everything is disallowed
                self._robots_problem[host] = f"robots.txt could not be read ({error.problem}), so nothing is fetched"
                parser = urllib.robotparser.RobotFileParser()
                parser.parse(["User-agent: *", "Disallow: /"])
                self._robots[host] = parser
                return parser
        parser = urllib.robotparser.RobotFileParser()
        parser.parse(body.splitlines())
        self._robots[host] = parser
        return parser

    def _min_interval(self, host: str) -> float:
        parser = self._robots.get(host)
        delay = None
        if parser is not None and self.settings.respect_robots:
            try:
                delay = parser.crawl_delay(self.settings.user_agent)
            except Exception:  # a malformed Crawl-delay line
                delay = None
        return max(self.settings.min_interval_s, float(delay or 0.0))

    # --- requests ----------------------------------------------------------------------------

    def get(self, url: str, validators: Validators | None = None) -> Response:
        """GET ``url`` (conditionally when validators are given); FetchError for anything but a
        2xx page within the size cap or a 304."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise FetchError(url, "not an http(s) URL")
        url = urlunsplit(parts._replace(fragment=""))
        if not self.allowed(url):
            self.log.robots_refusals += 1
            problem = self._robots_problem.get(host_key(url))
            raise FetchError(url, problem or f"robots.txt of {parts.netloc} disallows it for this user agent")
        return self._request(url, validators or Validators())

    def _request(self, url: str, validators: Validators) -> Response:
        import httpx

        host = host_key(url)
        with self._locks_lock:
            lock = self._host_locks.setdefault(host, threading.Lock())
        attempt = 0
        while True:
            with lock:
                self._wait_turn(host)
                try:
                    response, retry_after = self._once(url, validators)
                except httpx.TimeoutException:
                    problem, retry_after, response = f"timed out (no data for {self.settings.timeout_s:g} s)", None, None
                except httpx.TooManyRedirects:
                    raise FetchError(url, f"more than {MAX_REDIRECTS} redirects")
                except httpx.TransportError as error:
                    problem, retry_after, response = f"connection failed ({type(error).__name__}: {error})", None, None
                finally:
                    self._last_request[host] = time.monotonic()
            if response is not None:
                return response
            if retry_after is not None:
                problem = f"HTTP {retry_after[0]}"
            if attempt >= self.settings.retries:
                status = retry_after[0] if retry_after is not None else None
                raise FetchError(url, problem + (f" after {attempt + 1} tries" if attempt else ""), status)
            wait = self.settings.backoff_s * (2**attempt)
            if retry_after is not None and retry_after[1] is not None:
                if retry_after[1] > RETRY_AFTER_MAX_S:
                    raise FetchError(
                        url, f"{problem}; the server asks to retry after {retry_after[1]:.0f} s", retry_after[0]
                    )
                wait = max(wait, retry_after[1])
            attempt += 1
            self.log.retries += 1
            self._sleep(wait)

    def _wait_turn(self, host: str) -> None:
        last = self._last_request.get(host)
        if last is not None:
            wait = self._min_interval(host) - (time.monotonic() - last)
            if wait > 0:
                self._sleep(wait)

    def _once(self, url: str, validators: Validators):
        """(Response, None) when done; (None, (status, retry_after_s)) for a status worth retrying."""
        self.log.requests += 1
        if validators:
            self.log.conditional += 1
        with self._client.stream("GET", url, headers=validators.headers()) as response:
            status = response.status_code
            if status in RETRY_STATUSES:
                return None, (status, _retry_after(response.headers.get("retry-after", "")))
            if status == 304:
                self.log.not_modified += 1
                return Response(str(response.url), 304, validators=validators), None
            if status >= 400:
                raise FetchError(
                    url, f"HTTP {status}" + (f" {response.reason_phrase}" if response.reason_phrase else ""), status
                )
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self._max_bytes:
                raise FetchError(url, f"{_mb(int(declared))} is more than the {self.settings.max_page_mb:g} MB cap")
            body = bytearray()
            for piece in response.iter_bytes():
                body.extend(piece)
                if len(body) > self._max_bytes:
                    raise FetchError(url, f"more than the {self.settings.max_page_mb:g} MB cap")
            return Response(
                url=str(response.url),
                status=status,
                body=bytes(body),
                content_type=response.headers.get("content-type", ""),
                validators=Validators(response.headers.get("etag", ""), response.headers.get("last-modified", "")),
            ), None


def _retry_after(value: str) -> float | None:
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"
