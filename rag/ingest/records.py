"""Archive records (JSON objects) to Documents: field aliases, ids, sources, duplicates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rag.ingest.text import (
    BadInput,
    detect_language,
    inline,
    normalise_text,
    parse_date,
    publisher_for_url,
    short_hash,
    title_from_text,
)
from rag.types import Document

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
# The source when neither a source field nor a known publisher's URL names one.
_SOURCE_FALLBACK_FIELDS = ("author", "site")
# Keys of a JSON object that hold its list of records.
_RECORD_LIST_KEYS = ("releases", "items", "records", "documents", "data", "articles", "entries", "results", "posts")

FieldMap = Mapping[str, str | Sequence[str]]


class RecordProblem(ValueError):
    """One record can't become a Document; the other records of the archive still can."""


class RecordBuilder:
    """Turns the records of one archive into Documents, refusing duplicates within it."""

    def __init__(self, path: Path, field_map: FieldMap | None = None) -> None:
        self.path = path
        self.resolved = str(path.resolve())
        self.aliases = dict(DEFAULT_FIELD_ALIASES)
        for name, keys in (field_map or {}).items():
            if name not in self.aliases:
                raise BadInput(f"field_map names unknown field {name!r}; known: {', '.join(self.aliases)}")
            self.aliases[name] = (keys,) if isinstance(keys, str) else tuple(keys)
        self.seen: dict[str, str] = {}  # doc_id -> where it was first seen

    def build(self, record: Any, where: str, fallback_key: str) -> Document:
        """The Document of ``record`` (found at ``where``, e.g. "line 7"); RecordProblem if none.

        doc_id: "rec:" + short sha1 of the record's id, else its url, else file path + ``fallback_key``."""
        if not isinstance(record, dict):
            raise RecordProblem(f"expected a JSON object, got {type(record).__name__}")
        used: set[str] = set()
        fields = {name: self._field(record, name, used) for name in self.aliases}
        text = normalise_text(_as_text(fields["text"]))
        if not text:
            raise RecordProblem(f"record has no text (looked for {', '.join(self.aliases['text'])})")
        record_id = inline(_as_text(fields["id"]))
        url = inline(_as_text(fields["url"]))
        key = record_id or url or self.resolved + fallback_key
        doc_id = "rec:" + short_hash(key)
        if doc_id in self.seen:
            raise RecordProblem(f"duplicate record {key!r} (first seen at {self.seen[doc_id]}); skipped")
        self.seen[doc_id] = where
        metadata = {k: v for k, v in record.items() if k not in used}  # author, categories, ...
        if record.get("author"):
            metadata["author"] = record["author"]
        if record_id:
            metadata["id"] = record_id
        source = inline(_as_text(fields["source"])) or publisher_for_url(url)
        if not source:
            source = next((inline(_as_text(record[k])) for k in _SOURCE_FALLBACK_FIELDS if record.get(k)), "")
        return Document(
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

    def _field(self, record: dict[str, Any], name: str, used: set[str]) -> Any:
        for key in self.aliases[name]:
            value = record.get(key)
            if value not in (None, "", [], {}):
                used.add(key)
                return value
        # Archives written by hand or exported from spreadsheets say "Title", "Body", "PubDate"
        by_lower = {str(k).lower(): k for k in record}
        for key in self.aliases[name]:
            original = by_lower.get(key.lower())
            if original is not None and record[original] not in (None, "", [], {}):
                used.add(original)
                return record[original]
        return None


def record_list(value: Any, text_keys: Sequence[str] = DEFAULT_FIELD_ALIASES["text"]) -> list[Any]:
    """The records of a parsed JSON file: a list, a list under a known key, or one record."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        for key in _RECORD_LIST_KEYS:
            if isinstance(value.get(key), list):
                return value[key]
        lists = [v for v in value.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
        if len(lists) == 1:
            return lists[0]
        if any(key in value for key in text_keys):
            return [value]  # a single record
    raise BadInput('no records found (expected a list of objects or an object like {"releases": [...]})')


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):  # a body given as a list of paragraphs
        return "\n\n".join(_as_text(v) for v in value)
    return str(value)
