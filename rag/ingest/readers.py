"""Read press releases from files into Documents: one function per format.

``read_file`` never raises for bad input. A file that can't be read gives no documents and
one ReadError naming the file and the problem; in an archive (.json, .jsonl, .jsonl.gz) a
bad record gives an error for that record and the other records are still read.

Every format ends in the same place: body text normalised by ``normalise_text`` (lines
stripped, runs of spaces collapsed, paragraphs separated by exactly one blank line), so
chunk and citation offsets mean the same thing whatever the source format was.
"""

from __future__ import annotations

import io
import json
import re
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rag.ingest.markup import html_to_text, markdown_to_text, split_front_matter
from rag.ingest.sniff import container_suffix, sniff_suffix, starts_like_html_page
from rag.ingest.records import DEFAULT_FIELD_ALIASES, FieldMap, RecordBuilder, RecordProblem, record_list
from rag.ingest.text import (
    BadInput,
    date_from_filename,
    decode_text,
    detect_language,
    inline,
    leading_date,
    title_date,
    url_date,
    normalise_text,
    parse_date,
    publisher_for_url,
    short_hash,
    split_txt_header,
    title_from_filename,
    title_from_text,
)
from rag.types import Document

# Many releases per file (the rest hold one release each); exports come gzipped as often as not.
# A press service's mailing list kept as a mailbox (.mbox) is one too; one mail saved is an .eml.
_ARCHIVES = frozenset({".json", ".jsonl", ".ndjson", ".csv", ".tsv", ".xml", ".rss", ".atom", ".mbox"})
# A spreadsheet workbook holds many releases too (one per row); it is a zip already. A web archive
# (WARC) holds a site's pages as a crawler kept them, plain or gzipped record by record.
WARC_SUFFIXES = frozenset({".warc", ".warc.gz"})
ARCHIVE_SUFFIXES: frozenset[str] = _ARCHIVES | {suffix + ".gz" for suffix in _ARCHIVES} | {".xlsx"} | WARC_SUFFIXES
SUPPORTED_SUFFIXES: frozenset[str] = (
    frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".odt", ".eml"}) | ARCHIVE_SUFFIXES
)

# One release per file, as text or markup: a file far bigger than any release is refused before
# it is decoded (a 500 MB log renamed .txt would take minutes and gigabytes to normalise).
TEXT_SUFFIXES: frozenset[str] = frozenset({".txt", ".md", ".markdown", ".html", ".htm"})

# A web server's names for its pages (what a wget mirror of a ministry's site holds): the name says
# how the page was made, not what it is, so the content tells (rag.ingest.sniff). Names without a
# suffix ("statement", "statement 21.03.2025") are read by content too.
WEB_PAGE_SUFFIXES: frozenset[str] = frozenset({".php", ".asp", ".aspx", ".jsp", ".shtml", ".xhtml", ".cfm",
                                               ".phtml", ".do"})

__all__ = [
    "ARCHIVE_SUFFIXES", "DEFAULT_FIELD_ALIASES", "SUPPORTED_SUFFIXES", "WEB_PAGE_SUFFIXES", "FieldMap", "ReadError",
    "ReadLimits", "ReadResult", "file_suffix", "read_by_content", "read_data", "read_file", "sniff_suffix",
]


@dataclass(frozen=True)
class ReadLimits:
    """What one file may cost to read. Hostile or broken input (a gzip bomb, a 50 MB single line)
    fails with a clear error instead of taking the machine's memory or an ingest's afternoon."""

    max_file_bytes: int = 512 << 20  # any file, as stored
    max_unpacked_bytes: int = 256 << 20  # what a gzipped archive or a .docx unpacks to
    max_release_chars: int = 1_000_000  # the text of one release (a long one is ~30,000)

    @property
    def max_text_file_bytes(self) -> int:
        return 8 * self.max_release_chars  # markup and encodings take room; text itself is capped after


DEFAULT_LIMITS = ReadLimits()


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

    def _capped(self, path: Path, limits: ReadLimits) -> ReadResult:
        """Releases longer than limits.max_release_chars become errors; the others are kept."""
        kept = [d for d in self.documents if len(d.text) <= limits.max_release_chars]
        if len(kept) == len(self.documents):
            return self
        errors = list(self.errors)
        for doc in self.documents:
            if len(doc.text) > limits.max_release_chars:
                what = f"release {doc.title[:60]!r}" if len(self.documents) > 1 else "the text"
                errors.append(ReadError(str(path), f"{what} has {len(doc.text):,} characters, over the "
                                        f"{limits.max_release_chars:,} one release may have; not stored"))
        return ReadResult(kept, errors)


def _dated(result: ReadResult) -> ReadResult:
    """Releases without a date from their metadata take the one their first lines state, else
    one their title states, else one their link's path states (/2025/03/21/)."""
    if all(d.published for d in result.documents):
        return result
    documents = [d if d.published else
                 replace(d, published=leading_date(d.text) or title_date(d.title) or url_date(d.url))
                 for d in result.documents]
    return ReadResult(documents, result.errors)


# A suffix names a format: a dot, then letters and digits, at least one a letter. "statement
# 21.03.2025" has none (a date), nor has "Press release no. 5".
_REAL_SUFFIX = re.compile(r"\.(?=[0-9]*[a-z])[a-z0-9]{1,10}")


def file_suffix(path: Path) -> str:
    """The format-deciding suffix, lower case; two parts for compressed archives (".csv.gz"); ""
    when the name has none. A wget mirror's query ("news.php?id=7") is not part of it."""
    name = Path(path).name.partition("?")[0]
    suffixes = [s.lower() for s in Path(name).suffixes] if name else []
    if not suffixes or not _REAL_SUFFIX.fullmatch(suffixes[-1]):
        return ""
    if len(suffixes) >= 2 and suffixes[-1] == ".gz" and _REAL_SUFFIX.fullmatch(suffixes[-2]):
        return "".join(suffixes[-2:])
    return suffixes[-1]


def read_by_content(path: Path) -> bool:
    """A name that does not say its format (a web server's page name, or no suffix): its content does."""
    suffix = file_suffix(path)
    return suffix in WEB_PAGE_SUFFIXES or not suffix


def read_file(path: Path | str, field_map: FieldMap | None = None, limits: ReadLimits = DEFAULT_LIMITS) -> ReadResult:
    """Read one file into Documents; problems come back as ReadErrors, never as exceptions."""
    path = Path(path)
    suffix = file_suffix(path)
    try:
        if path.is_dir():
            return _failed(path, "is a directory, not a file")
        size = path.stat().st_size
        cap = limits.max_text_file_bytes if suffix in TEXT_SUFFIXES else limits.max_file_bytes
        if size > cap:
            return _failed(path, f"{_mb(size)}, over the {_mb(cap)} a {suffix} file may have; split it")
        data = path.read_bytes()
    except OSError as exc:
        return _failed(path, f"cannot read file: {exc.strerror or exc}")
    named, (suffix, problem) = suffix, _format_of(path, suffix, data)
    if problem:
        return _failed(path, problem)
    if suffix in TEXT_SUFFIXES and named not in TEXT_SUFFIXES and size > limits.max_text_file_bytes:
        cap = limits.max_text_file_bytes
        return _failed(path, f"{_mb(size)}, over the {_mb(cap)} a {suffix} file may have; split it")
    return read_data(path, data, suffix, field_map, limits)


def _format_of(path: Path, suffix: str, data: bytes) -> tuple[str, str]:
    """(the suffix of the reader for ``data``, "") or ("", why none reads it). The name decides, except
    where the content plainly is something else: a PDF, an Office file, a gzip or a WARC under
    another format's name, a whole web page saved as .txt. A name that does not say (a web
    server's page name, no suffix) is read as what its content is; an unknown suffix too, unless
    its content is only text, or markup that does not open like a page (a stylesheet, a script:
    not releases; a .txt is read)."""
    if suffix in SUPPORTED_SUFFIXES:
        found = container_suffix(data)
        if found and _container(found) != _container(suffix):
            return found, ""
        if suffix == ".txt" and starts_like_html_page(data):
            return ".html", ""
        return suffix, ""
    found = sniff_suffix(data)
    if found and found not in SUPPORTED_SUFFIXES and not _gzipped_reader(found):
        found = None
    if read_by_content(path):
        if found is None:
            return "", "its content is not a format it reads (not text, markup, JSON, mail, PDF, Office or WARC)"
        return found, ""
    supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
    if found is None:
        return "", f"unsupported file type {suffix!r}, and its content is not a format it reads; supported: {supported}"
    if found == ".txt" or (found == ".html" and not starts_like_html_page(data)):  # a script that writes markup
        return "", (f"unsupported file type {suffix!r}: its content is plain text, but the name does not say it is "
                    f"a release (rename it .txt to read it); supported: {supported}")
    return found, ""


def _container(suffix: str) -> str:
    """What a format's bytes start with: a gzip for any gzipped one (the name then tells what is
    inside), the format itself for the rest."""
    return ".gz" if suffix.endswith(".gz") else suffix


def _gzipped_reader(suffix: str) -> bool:
    """A gzip of any format a reader takes (".html.gz", found by content): unpacked, then read."""
    return suffix.endswith(".gz") and suffix.removesuffix(".gz") in _READERS


def read_data(
    path: Path, data: bytes, suffix: str, field_map: FieldMap | None = None, limits: ReadLimits = DEFAULT_LIMITS
) -> ReadResult:
    """Read bytes in the format ``suffix`` names (one of SUPPORTED_SUFFIXES), as if from ``path``:
    what read_file does once it has the bytes (the web ingest has them from a response)."""
    if suffix not in SUPPORTED_SUFFIXES and not _gzipped_reader(suffix):
        return _failed(path, f"unsupported file type {suffix or '(no suffix)'!r}")
    if not data.strip():
        return _failed(path, "empty file")
    try:
        if suffix in WARC_SUFFIXES:  # plain or gzipped alike, record by record, under the limits
            return _dated(read_warc(path, data, field_map, limits))._capped(path, limits)
        if suffix.endswith(".gz"):  # unpacked here, under the limit, then read as what it holds
            data, suffix = _gunzip(data, limits.max_unpacked_bytes), suffix.removesuffix(".gz")
        elif suffix in (".docx", ".odt", ".xlsx"):
            _check_unpacked_zip(data, limits.max_unpacked_bytes, suffix)
        return _dated(_READERS[suffix](path, data, field_map))._capped(path, limits)
    except BadInput as exc:
        return _failed(path, str(exc))
    except RecursionError:  # markup nested deeper than the parser's stack
        return _failed(path, "nested too deeply to parse")
    except MemoryError:
        return _failed(path, "too big to read in the memory available")
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


def read_warc(path: Path, data: bytes, field_map: FieldMap | None = None,
              limits: ReadLimits = DEFAULT_LIMITS) -> ReadResult:
    """A web archive (WARC, plain or gzipped): each page a crawler kept (a 200 response holding
    HTML, or a PDF), read as the same page saved as a file would be, its link the captured URL; a
    URL captured twice gives its last capture. The crawl date is not a publication date: a page
    without one of its own takes the one its link's path states, else none."""
    from rag.ingest.warc import read_captures

    found = read_captures(data, limits.max_unpacked_bytes,
                          {".html": limits.max_text_file_bytes, ".pdf": limits.max_unpacked_bytes})
    result = ReadResult([], [ReadError(str(path), problem) for problem in found.problems])
    for capture in found.pages:
        try:
            result.documents.append(_captured(path, capture))
        except BadInput as exc:
            result.errors.append(ReadError(str(path), f"{capture.uri}: {exc}"))
        except RecursionError:
            result.errors.append(ReadError(str(path), f"{capture.uri}: nested too deeply to parse"))
        except Exception as exc:  # a parser choking on one page must not lose the others
            result.errors.append(ReadError(str(path), f"{capture.uri}: could not be read ({type(exc).__name__}: {exc})"))
    return result


def _captured(path: Path, capture) -> Document:
    """One captured page as a Document: read by the page's own reader as if saved under its link's
    path (so a date-named file in the link dates it, as a saved file's name does; the archive's
    name, often the crawl's date, does not), then given the link, the archive's path and an id."""
    body = capture.body
    if capture.suffix == ".html" and capture.charset:
        try:  # the charset the server declared; read_html detects one when none fits
            body = body.decode(capture.charset).encode("utf-8")
        except (LookupError, UnicodeDecodeError):
            pass
    link_path = Path(urlsplit(capture.uri).path or "/")
    [doc] = _READERS[capture.suffix](link_path, body, None).documents
    host = urlsplit(capture.uri).hostname or ""
    metadata = {**doc.metadata, **({"crawled": capture.crawled} if capture.crawled else {})}
    return replace(doc, doc_id="rec:" + short_hash(capture.uri), url=capture.uri, path=str(path),
                   source=publisher_for_url(capture.uri) or doc.source or host, metadata=metadata)


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
    text = normalise_text("\n\n".join(_without_page_furniture(pages)))
    if not text:
        raise BadInput("no extractable text (scanned PDF?)")
    return _file_result(path, text, title=_useful_document_title(info_title))


# A page's running header and footer: among its first and last few lines, those that recur (digits
# aside: "Page 2 of 3") on most pages; and lines that are only a page number ("3", "- 3 -", "3/12").
_FURNITURE_LINES = 3
_PAGE_NUMBER = re.compile(r"^\W*(?:page\s*)?\d{1,3}(?:\s*(?:/|of)\s*\d{1,3})?\W*$", re.IGNORECASE)


def _without_page_furniture(pages: list[str]) -> list[str]:
    """The pages' text without running headers, footers and page numbers (they would be quoted
    and embedded as if the release said them, once per page)."""
    def shape(line: str) -> str:
        return re.sub(r"\d+", "#", " ".join(line.split()).lower())

    split = [[line for line in page.splitlines() if line.strip()] for page in pages]
    edges = [set(shape(line) for line in lines[:_FURNITURE_LINES] + lines[-_FURNITURE_LINES:]) for lines in split]
    recurring = set()
    if len(pages) >= 3:
        counts = Counter(line_shape for shapes in edges for line_shape in shapes)
        recurring = {line_shape for line_shape, n in counts.items() if n >= max(3, 0.6 * len(pages))}
    cleaned = []
    for lines in split:
        keep = []
        for i, line in enumerate(lines):
            at_edge = i < _FURNITURE_LINES or i >= len(lines) - _FURNITURE_LINES
            if at_edge and (shape(line) in recurring or _PAGE_NUMBER.match(line.strip())):
                continue
            keep.append(line)
        cleaned.append("\n".join(keep))
    return cleaned


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


def _safe_xml_parser():
    """lxml as every reader here parses XML: entities never expanded, nothing fetched, no huge trees."""
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)


_ODF_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_ODF_BLOCKS = frozenset({"p", "h"})


def read_odt(path: Path, data: bytes, field_map: FieldMap | None = None) -> ReadResult:
    """An OpenDocument text (LibreOffice, many ministries' word processor): paragraphs and headings
    in order (tables' cells included); title from its properties, else its first heading."""
    import zipfile

    from lxml import etree

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            content = archive.read("content.xml")
            meta = archive.read("meta.xml") if "meta.xml" in archive.namelist() else b""
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, RuntimeError) as exc:
        raise BadInput(f"not a readable .odt file ({type(exc).__name__})") from exc
    parser = _safe_xml_parser()
    try:
        root = etree.fromstring(content, parser=parser)
        meta_root = etree.fromstring(meta, parser=parser) if meta.strip() else None
    except etree.XMLSyntaxError as exc:
        raise BadInput(f"malformed .odt content ({exc})") from exc
    title = ""
    if meta_root is not None:
        found = meta_root.find(".//{http://purl.org/dc/elements/1.1/}title")
        title = _useful_document_title(found.text or "") if found is not None else ""
    blocks = []
    for element in root.iter(f"{{{_ODF_TEXT}}}p", f"{{{_ODF_TEXT}}}h"):
        if any(etree.QName(a).localname in _ODF_BLOCKS for a in element.iterancestors() if isinstance(a.tag, str)):
            continue  # a paragraph inside another (a note's text) is read with it
        text = _odf_text(element)
        if not text.strip():
            continue
        if not title and etree.QName(element).localname == "h":
            title = text  # the first heading names the document; keep it out of the body
            continue
        blocks.append(text)
    return _file_result(path, "\n\n".join(blocks), title=title)


def _odf_text(element) -> str:
    """An ODF paragraph's text: <text:s text:c="3"/> is three spaces, <text:tab/> and
    <text:line-break/> break words apart."""
    from lxml import etree

    out = [element.text or ""]
    for child in element:
        if isinstance(child.tag, str):
            name = etree.QName(child).localname
            if name == "s":
                out.append(" " * int(child.get(f"{{{_ODF_TEXT}}}c", "1") or 1))
            elif name in ("tab", "line-break"):
                out.append(" ")
            else:
                out.append(_odf_text(child))
        out.append(child.tail or "")
    return "".join(out)


# --- archives of records ------------------------------------------------------------------


def read_json(path: Path, data: bytes, field_map: FieldMap | None = None) -> ReadResult:
    """A list of records, or an object holding one (``{"releases": [...]}``), or one record."""
    raw, _ = decode_text(data)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BadInput(f"malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from exc
    builder = RecordBuilder(path, field_map)
    records = record_list(value, builder.aliases["text"])
    return _built(path, builder, ((f"record {n}", f"#{n}", r) for n, r in enumerate(records, start=1)),
                  "no records found (an empty list)")


def read_jsonl(path: Path, data: bytes, field_map: FieldMap | None = None) -> ReadResult:
    """One JSON object per line; a malformed line is an error for that line only."""
    if b"\x00" in data:
        raise BadInput("binary file (contains NUL bytes), not JSON lines")
    builder = RecordBuilder(path, field_map)
    result = ReadResult()
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
        try:
            result.documents.append(builder.build(record, where=f"line {number}", fallback_key=f":{number}"))
        except RecordProblem as exc:
            result.errors.append(ReadError(str(path), str(exc), number))
    if not result.documents and not result.errors:
        raise BadInput("no records found")
    result.documents = builder.settled(result.documents)
    return result


def read_csv(path: Path, data: bytes, field_map: FieldMap | None = None) -> ReadResult:
    """A spreadsheet export: a header row naming the fields (any case: "Title", "Date", "Body"),
    one release per row; the delimiter is a tab for .tsv and sniffed otherwise (, ; | or tab)."""
    import csv

    raw, _ = decode_text(data)
    if "\x00" in raw:
        raise BadInput("binary file (contains NUL bytes), not CSV")
    if file_suffix(path).removesuffix(".gz") == ".tsv":
        delimiter = "\t"
    else:
        try:
            delimiter = csv.Sniffer().sniff(raw[:20_000], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    csv.field_size_limit(16 << 20)  # a release's text in one cell; the default 128 kB is too small
    rows = csv.DictReader(io.StringIO(raw, newline=""), delimiter=delimiter)
    if not rows.fieldnames:
        raise BadInput("no header row")
    builder = RecordBuilder(path, field_map)
    if not any(name in {k.lower() for k in rows.fieldnames if k} for name in (a.lower() for a in builder.aliases["text"])):
        raise BadInput(f"no text column (looked for {', '.join(builder.aliases['text'])}; found "
                       f"{', '.join(k for k in rows.fieldnames if k)[:200]})")
    # line 1 is the header; cells past the header's columns have no name
    records = ((f"row {n}", f"#row{n}", {k: v for k, v in row.items() if k}) for n, row in enumerate(rows, start=2))
    return _built(path, builder, records, "no rows under the header")


def read_xlsx(path: Path, data: bytes, field_map: FieldMap | None = None) -> ReadResult:
    """A spreadsheet workbook (.xlsx), read like a CSV export: the first sheet whose header row
    names a text column, one release per row below it; a date-formatted cell is a date."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # a broken zip or part: BadZipFile, KeyError, InvalidFileException, XML errors
        raise BadInput(f"not a readable .xlsx file ({type(exc).__name__})") from exc
    builder = RecordBuilder(path, field_map)
    text_names = {a.lower() for a in builder.aliases["text"]}
    try:
        for sheet in workbook.worksheets:
            rows = sheet.iter_rows(values_only=True)
            header = next(rows, None)
            names = [str(cell).strip() if cell is not None else "" for cell in header or ()]
            if not text_names & {name.lower() for name in names}:
                continue
            records = ((f"{sheet.title}, row {n}", f"#{sheet.title}:{n}",
                        {name: _cell_value(cell) for name, cell in zip(names, row) if name and cell is not None})
                       for n, row in enumerate(rows, start=2))
            return _built(path, builder, records, "no rows under the header")
    except BadInput:
        raise
    except Exception as exc:  # a malformed sheet found while reading its rows
        raise BadInput(f"not a readable .xlsx file ({type(exc).__name__})") from exc
    finally:
        workbook.close()
    raise BadInput(f"no sheet whose first row names a text column (looked for {', '.join(builder.aliases['text'])})")


def _cell_value(cell):
    """A cell as a record field: dates as ISO dates, the rest as the sheet holds it."""
    if isinstance(cell, datetime):
        return cell.date().isoformat()
    if isinstance(cell, date):
        return cell.isoformat()
    return cell


def read_xml(path: Path, data: bytes, field_map: FieldMap | None = None) -> ReadResult:
    """An RSS or Atom feed (each entry a release: title, link, date, content or summary), or an
    XML export whose root holds one element per release with child elements named like the
    JSON fields (<title>, <date>, <body> ...). Entities are never expanded, nothing is fetched."""
    from lxml import etree

    if b"<!ENTITY" in data[:65536]:
        raise BadInput("XML declares entities (refused: entity expansion is how XML bombs work)")
    try:
        root = etree.fromstring(data, parser=_safe_xml_parser())
    except etree.XMLSyntaxError as exc:
        raise BadInput(f"malformed XML: {exc}") from exc
    if root is None:
        raise BadInput("empty XML document")
    kind = etree.QName(root).localname.lower()
    records = _feed_records(data) if kind in ("rss", "feed", "rdf") else _element_records(root)
    return _built(path, RecordBuilder(path, field_map),
                  ((f"entry {n}", f"#{n}", r) for n, r in enumerate(records, start=1)),
                  "no entries found (expected a feed's items or one element per release under the root)")


def _built(path: Path, builder: RecordBuilder, records, nothing: str) -> ReadResult:
    """Each (label, fallback key, record) as a Document, or as an error naming the record (the
    others are still read); BadInput(`nothing`) when there was no record at all."""
    result = ReadResult()
    for label, key, record in records:
        try:
            result.documents.append(builder.build(record, where=label, fallback_key=key))
        except RecordProblem as exc:
            result.errors.append(ReadError(str(path), f"{label}: {exc}"))
    if not result.documents and not result.errors:
        raise BadInput(nothing)
    result.documents = builder.settled(result.documents)
    return result


def read_eml(path: Path, data: bytes, field_map: FieldMap | None = None) -> ReadResult:
    """One e-mail as a press service sends it: the subject is the title, the Date header the
    date, the sender's name the source, the plain-text body (else the HTML one, as text) the text."""
    record = _mail_record(data)
    if not record["text"].strip():
        raise BadInput("no text found (an e-mail without a text or HTML body)")
    return _file_result(path, record["text"], title=record["title"], published=record["date"],
                        source=record["source"])


def read_mbox(path: Path, data: bytes, field_map: FieldMap | None = None) -> ReadResult:
    """A mailbox (mbox): every message a release, read as read_eml reads one; a message without a
    body is an error naming it, the others are still read."""
    starts = [m.start() for m in re.finditer(rb"(?m)^From [^\r\n]*\r?\n", data)]
    if not starts:
        raise BadInput('not an mbox file (no "From " line starts a message)')
    messages = [data[a:b] for a, b in zip(starts, starts[1:] + [len(data)])]
    records = []
    for number, raw in enumerate(messages, start=1):
        body = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
        body = re.sub(rb"(?m)^>(>*From )", rb"\1", body)  # mboxrd quoting of body lines starting "From "
        records.append((f"message {number}", f"#{number}", _mail_record(body)))
    return _built(path, RecordBuilder(path, field_map), records, "no messages")


def _mail_record(data: bytes) -> dict[str, Any]:
    from email import policy
    from email.parser import BytesParser
    from email.utils import parseaddr

    from rag.ingest.markup import fragment_to_text

    message = BytesParser(policy=policy.default).parsebytes(data)
    part = message.get_body(preferencelist=("plain", "html"))
    text = ""
    if part is not None:
        try:
            text = part.get_content()
        except (LookupError, ValueError):  # an unknown charset or a broken transfer encoding
            text = (part.get_payload(decode=True) or b"").decode("utf-8", errors="replace")
        if part.get_content_subtype() == "html":
            text = fragment_to_text(text)
    name, address = parseaddr(str(message.get("from", "")))
    return {
        "id": str(message.get("message-id", "")).strip(" <>"),
        "title": str(message.get("subject", "")),
        "date": str(message.get("date", "")),
        "source": name or address.partition("@")[2],
        "text": text,
    }


def _feed_records(data: bytes) -> list[dict[str, Any]]:
    import feedparser

    from rag.ingest.markup import fragment_to_text

    parsed = feedparser.parse(data)
    source = parsed.feed.get("title", "")
    records = []
    for entry in parsed.entries:
        content = entry.get("content") or []
        body = max((c.get("value", "") for c in content), key=len, default="") or entry.get("summary", "")
        records.append({
            "id": entry.get("id", ""), "title": entry.get("title", ""), "link": entry.get("link", ""),
            "published": entry.get("published", "") or entry.get("updated", ""),
            "text": fragment_to_text(body), "source": source, "author": entry.get("author", ""),
        })
    return records


def _element_records(root) -> list[dict[str, Any]]:
    """The children of the element holding the most same-named children (the root, or a
    <releases> under it), each as {child tag: its text} plus its attributes."""
    from lxml import etree

    from rag.ingest.markup import fragment_to_text

    def repeated(node) -> tuple[int, str]:
        counts = Counter(etree.QName(child).localname for child in node if isinstance(child.tag, str))
        return max(((n, tag) for tag, n in counts.items()), default=(0, ""))

    holder = max([root] + [child for child in root if isinstance(child.tag, str)], key=lambda node: repeated(node)[0])
    _, tag = repeated(holder)
    records = []
    for node in holder:
        if not isinstance(node.tag, str) or etree.QName(node).localname != tag:
            continue
        record: dict[str, Any] = {str(k): v for k, v in node.attrib.items()}
        for child in node:
            if isinstance(child.tag, str):
                value = "".join(child.itertext()).strip()
                record.setdefault(etree.QName(child).localname, fragment_to_text(value) if "</" in value else value)
        records.append(record)
    return records


def _gunzip(data: bytes, max_bytes: int) -> bytes:
    """Unpack gzip (several members too) without ever holding more than max_bytes: a bomb's
    few kilobytes can claim gigabytes, so output is counted as it is produced."""
    out = io.BytesIO()
    rest = data
    try:
        while rest:
            unpacker = zlib.decompressobj(wbits=31)
            pending = rest
            while pending:
                chunk = unpacker.decompress(pending, max_bytes + 1 - out.tell())
                out.write(chunk)
                if out.tell() > max_bytes:
                    raise BadInput(f"unpacks to more than {_mb(max_bytes)}; refused (a gzip bomb, or split it)")
                pending = unpacker.unconsumed_tail
                if unpacker.eof:
                    break
                if not chunk and not pending:
                    raise BadInput("not a valid gzip file (truncated)")
            if not unpacker.eof:
                raise BadInput("not a valid gzip file (truncated)")
            rest = unpacker.unused_data.lstrip(b"\x00")
    except zlib.error as exc:
        raise BadInput(f"not a valid gzip file ({exc})") from exc
    unpacked = out.getvalue()
    if not unpacked.strip():
        raise BadInput("empty archive")
    return unpacked


def _check_unpacked_zip(data: bytes, max_bytes: int, suffix: str = ".docx") -> None:
    """A .docx or .odt is a zip: refuse one whose parts claim more than max_bytes (zipfile then
    holds each part to its declared size, so the claim is a bound)."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            declared = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BadInput(f"not a readable {suffix} file ({type(exc).__name__})") from exc
    if declared > max_bytes:
        raise BadInput(f"unpacks to {_mb(declared)}, over the {_mb(max_bytes)} allowed; refused")


# --- shared helpers -----------------------------------------------------------------------


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


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, type(None), list, dict)) else str(value)


def _mb(n_bytes: int) -> str:
    return f"{n_bytes / (1 << 20):,.1f} MB"


def _failed(path: Path, problem: str) -> ReadResult:
    return ReadResult([], [ReadError(str(path), problem)])


# The .gz archives have no entry: read_data unpacks them (under its limit) and reads what they hold.
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
    ".ndjson": read_jsonl,  # another name for JSON lines
    ".csv": read_csv,
    ".tsv": read_csv,
    ".xlsx": read_xlsx,
    ".xml": read_xml,
    ".rss": read_xml,
    ".atom": read_xml,
    ".odt": read_odt,
    ".eml": read_eml,
    ".mbox": read_mbox,
    ".warc": read_warc,  # read_data calls it with the limits (.warc.gz too: it unpacks record by record)
}
