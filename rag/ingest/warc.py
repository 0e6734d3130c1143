"""Web archives (WARC, ISO 28500): the pages a crawler kept of a site, Heritrix's, ``wget
--warc-file``'s or browsertrix's, plain or gzipped.

warcio parses the records; what it is handed is bounded here, because its own unpacking is not:
- the archive's gzip is unpacked by ``_Inflating``, a stream that counts what it gives out and
  stops at the limit (warcio inflates without a bound, and a whole archive gzipped as one member,
  what ``gzip x.warc`` makes, stops its reader after the first record);
- header lines are read by ``_LineReader`` in linear time and no longer than ``_MAX_LINE``
  (warcio's readline grows a line by concatenation: a 50 MB line took minutes);
- a response's body is de-chunked by warcio and its Content-Encoding (gzip, deflate) inflated
  here under the page's limit (warcio inflates a whole transfer chunk at once, whatever it holds).

Each ``response`` record with status 200 and an HTML (or PDF) body is one page; requests,
metadata, revisits, other statuses and other types (images, CSS, scripts) are skipped. A URL
captured twice keeps its last capture. WARC-Date is when the page was crawled, not published:
it is kept as ``crawled`` and nothing else.
"""

from __future__ import annotations

import io
import re
import zlib
from dataclasses import dataclass, field

from warcio.archiveiterator import WARCIterator
from warcio.bufferedreaders import BufferedReader, ChunkedDataReader

from rag.ingest.sniff import GZIP_MAGIC, container_suffix, starts_like_html_page
from rag.ingest.text import BadInput, declared_charset

# Content types of the pages read, and the reader each goes to.
PAGE_TYPES = {"text/html": ".html", "application/xhtml+xml": ".html", "application/pdf": ".pdf"}
_MAX_LINE = 1 << 20  # a header line; real ones are a few hundred bytes (a long cookie: tens of KB)
# Records in one archive: a crawl's 1 GB file holds some 100,000; a bomb of empty records would
# otherwise take a minute per 256 MB unpacked (~10 µs a record).
MAX_RECORDS = 500_000
_STEP = 1 << 16  # compressed bytes inflated at a time
_NOT_NUL = re.compile(rb"[^\x00]")


class Damaged(BadInput):
    """The archive itself is past reading on from here: over its limit, cut short, corrupt."""


@dataclass(frozen=True)
class Capture:
    uri: str  # WARC-Target-URI
    suffix: str  # the reader's: ".html" or ".pdf"
    body: bytes  # the HTTP payload, de-chunked and decoded
    charset: str = ""  # as the response's Content-Type declared it
    crawled: str = ""  # WARC-Date


@dataclass
class Captures:
    pages: list[Capture] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # each names the record or the URL
    records: int = 0


def read_captures(data: bytes, max_unpacked: int, max_body: dict[str, int]) -> Captures:
    """The pages of a WARC archive (plain or gzipped), the last capture of each URL, in archive
    order. ``max_unpacked`` bounds what a gzipped archive unpacks to in all; ``max_body`` a page's
    body by reader suffix. A page over its limit or cut short is a problem naming its URL and the
    rest is read; a damaged archive keeps what came before the damage. BadInput when nothing of
    it reads as WARC."""
    stream = _Inflating(data, max_unpacked) if data.startswith(GZIP_MAGIC) else io.BytesIO(data)
    records = WARCIterator(stream, verify_http=False, arc2warc=False)  # WARC only: ARC parsing takes any line
    records.reader = _LineReader(records.fh)  # never inflating; lines in linear time
    records.INC_RECORD = ""  # warcio's warning on stderr about a record's length: what follows is reported here
    found = Captures()
    latest: dict[str, Capture] = {}
    try:
        for record in records:
            found.records += 1
            if found.records > MAX_RECORDS:
                found.records = MAX_RECORDS
                raise Damaged(f"more than {MAX_RECORDS:,} records (split the archive)")
            capture = _capture(record, max_body, found.problems)
            if capture is not None:
                latest.pop(capture.uri, None)  # a later capture of the same URL replaces it
                latest[capture.uri] = capture
    except Damaged as exc:
        if not found.records:
            raise
        found.problems.append(f"after record {found.records:,}: {exc}; the rest of the archive was not read")
    except Exception as exc:  # warcio's ArchiveLoadFailed, and what a record it cannot parse raises
        parsed = f"{type(exc).__name__}: {_short(str(exc))}"
        if not found.records:
            raise BadInput(f"not a readable WARC archive ({parsed})") from exc
        found.problems.append(f"after record {found.records:,}: a record that does not parse ({parsed}); the rest "
                              f"of the archive was not read")
    found.pages = list(latest.values())
    if not found.pages and not found.problems:
        raise BadInput(f"no web pages in the archive ({found.records} records, none a 200 response "
                       f"holding HTML or PDF)")
    return found


def _capture(record, max_body: dict[str, int], problems: list[str]) -> Capture | None:
    if record.rec_type != "response" or record.http_headers is None:
        return None  # requests, metadata, warcinfo, revisits; dns: and other non-HTTP captures
    uri = (record.rec_headers.get_header("WARC-Target-URI") or "").strip().strip("<>")
    http = record.http_headers
    if not uri or (http.get_statuscode() or "").strip() != "200":
        return None  # redirects, errors, not-modified: no page of their own
    content_type = http.get_header("Content-Type") or ""
    media_type = content_type.partition(";")[0].strip().lower()
    suffix = PAGE_TYPES.get(media_type)
    if suffix is None and media_type not in ("", "application/octet-stream"):
        return None  # images, CSS, scripts, feeds, fonts
    limit = min(max_body.values()) if suffix is None else max_body[suffix]
    try:
        body = _body(record, http, limit)
    except Damaged:
        raise
    except BadInput as exc:
        problems.append(f"{uri}: {exc}; skipped")
        return None
    if suffix is None:  # no type declared: what the body is
        suffix = ".html" if starts_like_html_page(body) else container_suffix(body)
        if suffix not in max_body or len(body) > max_body[suffix]:
            return None
    return Capture(uri, suffix, body, declared_charset(content_type), record.rec_headers.get_header("WARC-Date") or "")


def _body(record, http, limit: int) -> bytes:
    """The payload as the server meant it: de-chunked, then inflated, never more than ``limit``."""
    stream = record.raw_stream
    if (http.get_header("Transfer-Encoding") or "").strip().lower() == "chunked":
        stream = ChunkedDataReader(stream)  # no decompression: what it gives is what it reads, less framing
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise BadInput(f"its body is over the {_mb(limit)} a page may have")
    if record.raw_stream.limit > 0 and not record.raw_stream.read(1):
        raise BadInput("the archive ends inside this capture (truncated)")
    encoding = (http.get_header("Content-Encoding") or "").strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding in ("gzip", "x-gzip"):
        return _inflated(raw, 31, limit)
    if encoding == "deflate":  # zlib-wrapped as the standard says, or raw as some servers send it
        try:
            return _inflated(raw, 15, limit)
        except BadInput:
            return _inflated(raw, -15, limit)
    raise BadInput(f"its body is encoded as {encoding!r}, which is not read")


def _inflated(data: bytes, wbits: int, limit: int) -> bytes:
    unpacker = zlib.decompressobj(wbits=wbits)
    try:
        out = unpacker.decompress(data, limit + 1)
    except zlib.error as exc:
        raise BadInput(f"its body is not valid compressed data ({exc})") from exc
    if len(out) > limit:
        raise BadInput(f"its body unpacks to more than the {_mb(limit)} a page may have")
    return out


class _Inflating:
    """A gzip (all its members, NUL padding between them skipped) unpacked as it is read; Damaged
    once more than ``max_bytes`` has come out, or when the data ends inside a member."""

    def __init__(self, data: bytes, max_bytes: int) -> None:
        self._data, self._pos, self._max, self._out = data, 0, max_bytes, 0
        self._unpacker = None
        self._tail = b""

    def read(self, size: int = -1) -> bytes:
        want = size if size and size > 0 else _STEP
        while True:
            if self._unpacker is None:
                found = _NOT_NUL.search(self._data, self._pos)
                if found is None:
                    return b""
                self._pos, self._unpacker, self._tail = found.start(), zlib.decompressobj(wbits=31), b""
            chunk = self._tail or self._data[self._pos : self._pos + _STEP]
            if not self._tail:
                self._pos += len(chunk)
            if not chunk:
                raise Damaged("the gzipped archive is cut short (truncated)")
            try:
                out = self._unpacker.decompress(chunk, want)
            except zlib.error as exc:
                raise Damaged(f"not valid gzip data at byte {self._pos:,} ({exc})") from exc
            self._tail = self._unpacker.unconsumed_tail
            if self._unpacker.eof:
                self._pos -= len(self._unpacker.unused_data)  # the next member starts there
                self._unpacker, self._tail = None, b""
            self._out += len(out)
            if self._out > self._max:
                raise Damaged(f"the archive unpacks to more than {_mb(self._max)}; refused (a gzip bomb, "
                               f"or split it)")
            if out:
                return out

    def tell(self) -> int:
        return self._out

    def close(self) -> None:
        pass


class _LineReader(BufferedReader):
    """warcio's buffered reader without inflating, reading a line in linear time, at most _MAX_LINE."""

    def __init__(self, stream) -> None:
        super().__init__(stream, decomp_type=None)

    def readline(self, length=None):
        if length == 0:
            return b""
        parts: list[bytes] = []
        size = 0
        while True:
            self._fillbuff()
            if self.empty():
                break
            part = self.buff.readline(length - size if length else -1)
            parts.append(part)
            size += len(part)
            if part.endswith(b"\n") or (length and size >= length):
                break
            if size > _MAX_LINE:
                raise Damaged(f"a line longer than {_mb(_MAX_LINE)} where a record's headers should be")
        return b"".join(parts)


def _short(text: str, n: int = 120) -> str:
    """A parser's message as one printable line (it may quote the bytes it choked on)."""
    text = "".join(c if c.isprintable() else "?" for c in " ".join(text.split()))
    return text if len(text) <= n else text[:n] + "…"


def _mb(n_bytes: int) -> str:
    return f"{n_bytes / (1 << 20):,.1f} MB"
