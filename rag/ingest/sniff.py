"""What a file holds, told by its bytes: for names that do not say (a wget mirror's
``news.php?id=7``, ``view.aspx``, a page saved without a suffix) and for names that say wrong
(a PDF saved as ``.html``, a whole web page saved as ``.txt``).

``sniff_suffix(data)`` returns the suffix of the reader that fits (".html", ".pdf", ".jsonl.gz", ...)
or None for bytes no reader takes (images, fonts, executables, zips of other things).
Only a bounded head of the bytes is looked at, except that a JSON document is parsed whole when
it is small enough to be sure of it; a gzip is unpacked no further than its first 64 KB.
"""

from __future__ import annotations

import io
import json
import re
import zlib

from rag.ingest.text import BadInput, decode_text

GZIP_MAGIC = b"\x1f\x8b"
WARC_MAGIC = (b"WARC/1.", b"WARC/0.1")

_HEAD = 8192  # bytes of text looked at for markup, mail headers and the like
_TEXT_SAMPLE = 1 << 20  # bytes decoded to tell text from binary
_JSON_WHOLE = 16 << 20  # a JSON document up to this size is parsed whole; a bigger one by its first lines
_JSON_LINES = 50  # lines of a JSON-lines file looked at
_GZIP_PEEK = 1 << 16  # unpacked bytes of a gzip looked at

# Before the first tag: a BOM, white space, comments (and an XML declaration, for XHTML).
_PREAMBLE = re.compile(r"\A\ufeff?(?:\s|<!--.*?-->)*", re.DOTALL)
_XML_DECLARATION = re.compile(r"\A<\?xml[^>]*\?>", re.IGNORECASE)
_HTML_START = re.compile(r"<!doctype\s+html|<html[\s>]", re.IGNORECASE)
_HTML_TAG = re.compile(r"<(?:head|body)[\s>]", re.IGNORECASE)
_FEED_START = re.compile(r"<(?:rss|feed|rdf:rdf)[\s>]", re.IGNORECASE)

_HEADER_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9-]{0,40}):")
_MAIL_HEADERS = frozenset({
    "from", "to", "cc", "subject", "date", "message-id", "mime-version", "received", "return-path", "reply-to",
    "delivered-to", "sender", "content-type", "content-transfer-encoding", "x-mailer", "in-reply-to",
})
# Headers only mail has (a text release's own header lines are Title/Date/Source/URL).
_MAIL_ONLY = frozenset({"from", "to", "message-id", "mime-version", "received", "return-path", "delivered-to",
                        "sender"})
_ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"


def sniff_suffix(data: bytes) -> str | None:
    """The reader's suffix for what ``data`` holds, or None when no reader takes it."""
    return container_suffix(data) or _text_suffix(data, complete=True)


def container_suffix(data: bytes) -> str | None:
    """The format a magic number names (a PDF, an Office or OpenDocument zip, a gzip of a format the
    readers take, a WARC), or None: text, or binary that is none of these."""
    if data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n\x00").startswith(b"%PDF-"):
        return ".pdf"
    if data.startswith(b"PK\x03\x04"):
        return _zip_suffix(data)
    if data.startswith(GZIP_MAGIC):
        return _gzip_suffix(data)
    if data.startswith(WARC_MAGIC):
        return ".warc"
    return None


def starts_like_html_page(data: bytes) -> bool:
    """A whole web page: it opens (after a BOM, white space, comments, an XML declaration) with
    ``<!doctype html`` or ``<html``. A text that only holds a "<" somewhere is not one."""
    return bool(_HTML_START.match(_lead(_head_text(data) or "")))


def _zip_suffix(data: bytes) -> str | None:
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "word/document.xml" in names:
                return ".docx"
            if "xl/workbook.xml" in names:
                return ".xlsx"
            if "mimetype" in names and archive.getinfo("mimetype").file_size <= 100:
                if archive.read("mimetype").strip() == _ODT_MIMETYPE:
                    return ".odt"
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, EOFError, NotImplementedError, zlib.error):
        return None
    return None  # a zip of something else (a slide deck, a numpy array): no reader takes it


def _gzip_suffix(data: bytes) -> str | None:
    """A gzip: what its first unpacked bytes are, with ".gz" (gzip inside gzip is not read)."""
    try:
        inner = zlib.decompressobj(wbits=31).decompress(data[: 1 << 20], _GZIP_PEEK)
    except zlib.error:
        return None
    if not inner.strip() or inner.startswith(GZIP_MAGIC):
        return None
    if inner.startswith(WARC_MAGIC):
        return ".warc.gz"
    found = container_suffix(inner) or _text_suffix(inner, complete=False)
    return found + ".gz" if found and found != ".warc" else None


def _head_text(data: bytes) -> str | None:
    head = data[:_HEAD]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", "ignore")
    if b"\x00" in head:
        return None
    return head.decode("utf-8", "replace")


def _lead(text: str) -> str:
    """The text from its first tag or word on: BOM, white space and comments skipped."""
    text = text[_PREAMBLE.match(text).end():]
    declaration = _XML_DECLARATION.match(text)
    if declaration:
        rest = text[declaration.end():]
        rest = rest[_PREAMBLE.match(rest).end():]
        if _HTML_START.match(rest):
            return rest  # XHTML: a web page, not an XML export
    return text


def _text_suffix(data: bytes, complete: bool) -> str | None:
    """Markup, JSON, mail or plain text; ``complete`` is False for the head of something longer."""
    text = _head_text(data)
    if text is None:
        return None
    if text.startswith("From ") and _looks_like_mail(text.partition("\n")[2]):
        return ".mbox"
    lead = _lead(text)
    if _HTML_START.match(lead):
        return ".html"
    if _XML_DECLARATION.match(lead) or _FEED_START.match(lead):
        return ".xml"
    if lead[:1] in ("{", "["):
        found = _json_suffix(data, complete)
        if found:
            return found
    if _looks_like_mail(lead):
        return ".eml"
    if _HTML_TAG.search(text):
        return ".html"  # a page with something before its markup (a server's warning, a stray line)
    return ".txt" if _reads_as_text(data, complete) else None


def _json_suffix(data: bytes, complete: bool) -> str | None:
    """".json" for a JSON document, ".jsonl" for one JSON object per line, None for neither."""
    if complete and len(data) <= _JSON_WHOLE:
        try:
            json.loads(data.decode("utf-8-sig"))
            return ".json"
        except (ValueError, UnicodeDecodeError, RecursionError):
            pass
    sample = data[:_TEXT_SAMPLE]
    lines = [line for line in sample.split(b"\n") if line.strip()]
    if not complete or len(data) > len(sample):
        lines = lines[:-1]  # the last line may be cut short
    lines = lines[:_JSON_LINES]
    if lines and all(_is_json_object(line) for line in lines):
        return ".jsonl"
    if not complete or len(data) > _JSON_WHOLE:
        return ".json"  # too long to parse here: a JSON document, as it starts (its reader will tell)
    return None


def _is_json_object(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line.decode("utf-8-sig")), dict)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False


def _looks_like_mail(text: str) -> bool:
    """Header lines first (two or more of a mail's, one of them only a mail's), up to a blank line."""
    names = set()
    for line in text.splitlines()[:60]:
        if not line.strip():
            break
        if line[:1] in (" ", "\t"):
            continue  # a folded header's continuation
        found = _HEADER_LINE.match(line)
        if not found:
            return False
        names.add(found[1].lower())
    return len(names & _MAIL_HEADERS) >= 2 and bool(names & _MAIL_ONLY)


def _reads_as_text(data: bytes, complete: bool) -> bool:
    """What the text reader would decode: UTF-8 or another text encoding, few control characters."""
    sample = data[:_TEXT_SAMPLE]
    if len(data) > len(sample) or not complete:
        sample = sample[: sample.rfind(b"\n") + 1] or sample  # not a character cut in half
    try:
        decode_text(sample)
    except BadInput:
        return False
    return True
