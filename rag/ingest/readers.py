"""Read press releases from files into Documents: one function per format.

``read_file`` never raises for bad input. A file that can't be read gives no documents and
one ReadError naming the file and the problem; in an archive (.json, .jsonl, .jsonl.gz) a
bad record gives an error for that record and the other records are still read.

Every format ends in the same place: body text normalised by ``normalise_text`` (lines
stripped, runs of spaces collapsed, paragraphs separated by exactly one blank line), so
chunk and citation offsets mean the same thing whatever the source format was.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.ingest.markup import html_to_text, markdown_to_text, split_front_matter
from rag.ingest.text import (
    date_from_filename,
    detect_language,
    inline,
    normalise_text,
    parse_date,
    publisher_for_url,
    short_hash,
    split_txt_header,
    title_from_filename,
    title_from_text,
)
from rag.types import Document

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".json", ".jsonl", ".jsonl.gz"}
)

# Record field -> the keys tried for it, in order. ``read_file(field_map=...)`` replaces the
# list for any field it names. "author" is deliberately not a source alias: in the State
# Department archive it names the speakers of each release, not the issuing office.
DEFAULT_FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "guid", "uuid", "_id"),
    "title": ("title", "headline", "name", "subject"),
    "published": ("published", "date", "pubDate", "published_at", "publication_date", "datePublished", "pub_date"),
    "url": ("url", "link", "href", "permalink"),
    "text": ("text", "body", "content", "full_text", "article"),
    "source": ("source", "publisher", "agency", "issuer", "ministry"),
}
# Used for the source only when neither a source field nor a known publisher URL says more.
_SOURCE_FALLBACK_FIELDS = ("author", "site")
# Keys of a JSON object that hold its list of records.
_RECORD_LIST_KEYS = ("releases", "items", "records", "documents", "data", "articles", "entries", "results", "posts")

FieldMap = Mapping[str, str | Sequence[str]]


@dataclass(frozen=True)
class ReadError:
    path: str
    problem: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}, line {self.line}"
        return f"{where}: {self.problem}"


@dataclass
class ReadResult:
    documents: list[Document] = field(default_factory=list)
    errors: list[ReadError] = field(default_factory=list)


class BadInput(Exception):
    """A problem that spoils the whole file; ``read_file`` turns it into one ReadError."""


def file_suffix(path: Path) -> str:
    """The format-deciding suffix, lower case; two parts for compressed archives (".jsonl.gz")."""
    suffixes = [s.lower() for s in path.suffixes]
    if len(suffixes) >= 2 and suffixes[-1] == ".gz":
        return "".join(suffixes[-2:])
    return suffixes[-1] if suffixes else ""


def read_file(path: Path | str, field_map: FieldMap | None = None) -> ReadResult:
    """Read one file into Documents; problems come back as ReadErrors, never as exceptions."""
    path = Path(path)
    suffix = file_suffix(path)
    if suffix not in SUPPORTED_SUFFIXES:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        return _failed(path, f"unsupported file type {suffix or '(no suffix)'!r}; supported: {supported}")
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        return _failed(path, "is a directory, not a file")
    except OSError as exc:
        return _failed(path, f"cannot read file: {exc.strerror or exc}")
    if not data.strip():
        return _failed(path, "empty file")
    try:
        return _READERS[suffix](path, data, field_map)
    except BadInput as exc:
        return _failed(path, str(exc))
    except Exception as exc:  # a parser library choking on odd input must not stop an ingest run
        return _failed(path, f"could not be read ({type(exc).__name__}: {exc})")


# --- text formats -------------------------------------------------------------------------


def read_txt(path: Path, data: bytes, field_map: FieldMap | None = None) -> ReadResult:
    """Plain text, with an optional header: a scraped ``date YYYY-MM-DD ... | SOURCE`` line or
    ``Title:``/``Date:``/``Source:``/``URL:`` lines. A short first line is the title."""
    raw, encoding = decode_text(data)
    header, body = split_txt_header(normalise_text(raw))
    title = header.get("title", "")
    paragraphs = body.split("\n\n")
    if not title and len(paragraphs) > 1 and _looks_like_title(paragraphs[0]):
        title, body = paragraphs[0], "\n\n".join(paragraphs[1:])
    metadata = {"encoding": encoding} if encoding != "utf-8" else {}
    return _file_result(
        path,
        body,
        title=title,
        published=parse_date(header.get("date", "")),
        source=header.get("source", ""),
        url=header.get("url", ""),
        metadata=metadata,
    )


def read_markdown(path: Path, data: bytes, field_map: FieldMap | None = None) -> ReadResult:
    """Markdown stripped to text; YAML front matter gives metadata, the first ``# heading`` the title."""
    raw, _ = decode_text(data)
    front, markdown = split_front_matter(raw)
    heading, text = markdown_to_text(markdown, title_from_heading=not front.get("title"))
    published = parse_date(front.pop("date", None) or front.pop("published", None))
    return _file_result(
        path,
        text,
        title=str(front.pop("title", "") or heading),
        published=published,
        source=str(front.pop("source", "") or front.pop("publisher", "")),
        url=str(front.pop("url", "") or front.pop("link", "")),
        metadata={k: _jsonable(v) for k, v in front.items()},
    )


def read_html(path: Path, data: bytes, field_map: FieldMap | None = None) -> ReadResult:
    """The main text of a page (not navigation, header, footer, scripts), title and date from meta tags."""
    raw, _ = decode_text(data)
    page = html_to_text(raw)
    return _file_result(
        path,
        page.text,
        title=page.title,
        published=parse_date(page.date),
        source=page.site_name,
        url=page.url,
        language=page.language,
    )


# --- binary formats -----------------------------------------------------------------------


def read_pdf(path: Path, data: bytes, field_map: FieldMap | None = None) -> ReadResult:
    """The text layer of a PDF, pages separated as paragraphs."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise BadInput("encrypted PDF (needs a password)")
        pages = [page.extract_text() or "" for page in reader.pages]
        info_title = (reader.metadata.title if reader.metadata else None) or ""
    except PdfReadError as exc:
        raise BadInput(f"not a readable PDF ({exc})") from exc
    text = normalise_text("\n\n".join(pages))
    if not text:
        raise BadInput("no extractable text (scanned PDF?)")
    return _file_result(path, text, title=_useful_document_title(info_title))


def read_docx(path: Path, data: bytes, field_map: FieldMap | None = None) -> ReadResult:
    """Word paragraphs and tables in document order; title from the properties or first heading."""
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises zipfile/KeyError/ValueError for non-docx input
        raise BadInput(f"not a readable .docx file ({type(exc).__name__})") from exc
    title = _useful_document_title(document.core_properties.title or "")
    blocks: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            rows = (" | ".join(cell.text.strip() for cell in row.cells) for row in block.rows)
            blocks.append("\n".join(rows))
            continue
        style = (block.style.name if block.style is not None else "") or ""
        if not title and (style == "Title" or style.startswith("Heading")) and block.text.strip():
            title = block.text  # the first heading names the document; keep it out of the body
            continue
        blocks.append(block.text)
    return _file_result(path, "\n\n".join(blocks), title=title)


# --- archives of records ------------------------------------------------------------------


def read_json(path: Path, data: bytes, field_map: FieldMap | None = None) -> ReadResult:
    """A list of records, or an object holding one (``{"releases": [...]}``), or one record."""
    raw, _ = decode_text(data)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BadInput(f"malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from exc
    records = _record_list(value)
    result = ReadResult()
    builder = _RecordBuilder(path, field_map)
    for number, record in enumerate(records, start=1):
        builder.add(result, record, position=f"record {number}", line=None, fallback_key=f"#{number}")
    return result


def read_jsonl(path: Path, data: bytes, field_map: FieldMap | None = None) -> ReadResult:
    """One JSON object per line; a malformed line is an error for that line only."""
    if b"\x00" in data:
        raise BadInput("binary file (contains NUL bytes), not JSON lines")
    result = ReadResult()
    builder = _RecordBuilder(path, field_map)
    for number, line_bytes in enumerate(data.removeprefix(b"\xef\xbb\xbf").split(b"\n"), start=1):
        if not line_bytes.strip():
            continue
        try:
            record = json.loads(line_bytes.decode("utf-8"))
        except UnicodeDecodeError:
            result.errors.append(ReadError(str(path), "not valid UTF-8 text", number))
            continue
        except json.JSONDecodeError as exc:
            result.errors.append(ReadError(str(path), f"malformed JSON: {exc.msg} (column {exc.colno})", number))
            continue
        builder.add(result, record, position="", line=number, fallback_key=f":{number}")
    if not result.documents and not result.errors:
        raise BadInput("no records found")
    return result


def read_jsonl_gz(path: Path, data: bytes, field_map: FieldMap | None = None) -> ReadResult:
    try:
        unpacked = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise BadInput(f"not a valid gzip file ({exc})") from exc
    if not unpacked.strip():
        raise BadInput("empty archive")
    return read_jsonl(path, unpacked, field_map)


class _RecordBuilder:
    """Turns archive records into Documents: field mapping, ids, duplicate checks."""

    def __init__(self, path: Path, field_map: FieldMap | None) -> None:
        self.path = path
        self.resolved = str(path.resolve())
        self.aliases = dict(DEFAULT_FIELD_ALIASES)
        for name, keys in (field_map or {}).items():
            if name not in self.aliases:
                raise BadInput(f"field_map names unknown field {name!r}; known: {', '.join(self.aliases)}")
            self.aliases[name] = (keys,) if isinstance(keys, str) else tuple(keys)
        self.seen: dict[str, str] = {}  # doc_id -> where it was first seen

    def add(self, result: ReadResult, record: Any, *, position: str, line: int | None, fallback_key: str) -> None:
        where = f"{position}: " if position else ""

        def fail(problem: str) -> None:
            result.errors.append(ReadError(str(self.path), where + problem, line))

        if not isinstance(record, dict):
            return fail(f"expected a JSON object, got {type(record).__name__}")
        used: set[str] = set()
        fields = {name: self._field(record, name, used) for name in self.aliases}
        text = normalise_text(_as_text(fields["text"]))
        if not text:
            return fail(f"record has no text (looked for {', '.join(self.aliases['text'])})")
        record_id = inline(_as_text(fields["id"]))
        url = inline(_as_text(fields["url"]))
        key = record_id or url or self.resolved + fallback_key
        doc_id = "rec:" + short_hash(key)
        if doc_id in self.seen:
            return fail(f"duplicate record {key!r} (first seen at {self.seen[doc_id]}); skipped")
        self.seen[doc_id] = position or f"line {line}"
        author = record.get("author")
        metadata = {k: v for k, v in record.items() if k not in used}
        if record_id:
            metadata["id"] = record_id
        source = inline(_as_text(fields["source"])) or publisher_for_url(url)
        if not source:
            source = next((inline(_as_text(record[k])) for k in _SOURCE_FALLBACK_FIELDS if record.get(k)), "")
        if author and "author" not in metadata:
            metadata["author"] = author
        result.documents.append(
            Document(
                doc_id=doc_id,
                title=inline(_as_text(fields["title"])) or title_from_text(text),
                text=text,
                published=parse_date(fields["published"]),
                source=source,
                url=url,
                path=str(self.path),
                language=detect_language(text),
                metadata=metadata,
            )
        )

    def _field(self, record: dict[str, Any], name: str, used: set[str]) -> Any:
        for key in self.aliases[name]:
            value = record.get(key)
            if value not in (None, "", [], {}):
                used.add(key)
                return value
        return None


def _record_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        for key in _RECORD_LIST_KEYS:
            if isinstance(value.get(key), list):
                return value[key]
        lists = [v for v in value.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
        if len(lists) == 1:
            return lists[0]
        if any(key in value for key in DEFAULT_FIELD_ALIASES["text"]):
            return [value]  # a single record
    raise BadInput(f"no records found (expected a list of objects or an object like {{\"releases\": [...]}})")


# --- shared helpers -----------------------------------------------------------------------


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode bytes as UTF-8 (BOM allowed); accept cp1252 only when the result reads as text."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise BadInput("not valid UTF-16 text") from exc
    if b"\x00" in data:
        raise BadInput("binary file (contains NUL bytes), not text")
    try:
        text, encoding = data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        try:
            text, encoding = data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError as exc:
            raise BadInput("not valid UTF-8 text") from exc
        if not _mostly_ascii(text):
            raise BadInput("not valid UTF-8 text")
    if _control_share(text) > 0.01:
        raise BadInput("binary file (control characters), not text")
    return text, encoding


def _mostly_ascii(text: str) -> bool:
    """Western text in cp1252 is mostly ASCII; bytes of another encoding decoded as cp1252 are not."""
    return sum(1 for ch in text if ch < "\x80") >= 0.85 * len(text)


def _control_share(text: str) -> float:
    controls = sum(1 for ch in text if ch < " " and ch not in "\t\n\r\f")
    return controls / max(len(text), 1)


def _file_result(
    path: Path,
    text: str,
    *,
    title: str = "",
    published: Any = None,
    source: str = "",
    url: str = "",
    language: str = "",
    metadata: dict[str, Any] | None = None,
) -> ReadResult:
    text = normalise_text(text)
    if not text:
        raise BadInput("no text found")
    return ReadResult(
        [
            Document(
                doc_id="file:" + short_hash(str(path.resolve())),
                title=inline(title) or title_from_filename(path, text) or title_from_text(text),
                text=text,
                published=parse_date(published) or date_from_filename(path),
                source=inline(source),
                url=inline(url),
                path=str(path),
                language=language or detect_language(text),
                metadata=metadata or {},
            )
        ],
        [],
    )


def _looks_like_title(paragraph: str) -> bool:
    """A single short line without a sentence-final mark: a heading, not body text."""
    return "\n" not in paragraph and len(paragraph) <= 150 and not paragraph.endswith((".", ",", ";", ":"))


def _useful_document_title(title: str) -> str:
    """Drop titles that office software fills in by itself ("Microsoft Word - draft3.docx")."""
    title = inline(title)
    lowered = title.lower()
    if lowered.startswith("microsoft word -") or lowered in ("untitled", "title") or lowered.endswith((".doc", ".docx", ".pdf")):
        return ""
    return title


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):  # body given as a list of paragraphs
        return "\n\n".join(_as_text(v) for v in value)
    return str(value)


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, type(None), list, dict)) else str(value)


def _failed(path: Path, problem: str) -> ReadResult:
    return ReadResult([], [ReadError(str(path), problem)])


_READERS: dict[str, Callable[[Path, bytes, FieldMap | None], ReadResult]] = {
    ".txt": read_txt,
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".html": read_html,
    ".htm": read_html,
    ".pdf": read_pdf,
    ".docx": read_docx,
    ".json": read_json,
    ".jsonl": read_jsonl,
    ".jsonl.gz": read_jsonl_gz,
}
