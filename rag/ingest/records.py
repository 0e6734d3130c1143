"""Archive records (JSON objects) to Documents: field aliases, ids, sources, duplicates.

Archives from systems nobody here has seen name and nest their fields their own way: a CMS
export says `{"title": {"rendered": ...}, "content": {"rendered": "<p>..."}}`, a JSON:API one
puts everything under `"attributes"`, another calls the body `content_html` or `fullText`. So a
record is read in three steps, each general: values wrapped in a one-field object are unwrapped
and nested objects' fields are lifted beside the record's own; a field is found by its known
names, then by a name that contains one ("publishDate", "body_html"), and the text, failing
that, is the record's longest string field if it reads like prose; HTML in it becomes text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from rag.ingest.text import (
    SLASH_DATE,
    BadInput,
    detect_language,
    inline,
    normalise_text,
    parse_date,
    parse_day_first,
    publisher_for_url,
    short_hash,
    slash_order,
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
        self.custom = frozenset(field_map or ())
        for name, keys in (field_map or {}).items():
            if name not in self.aliases:
                raise BadInput(f"field_map names unknown field {name!r}; known: {', '.join(self.aliases)}")
            self.aliases[name] = (keys,) if isinstance(keys, str) else tuple(keys)
        self.seen: dict[str, str] = {}  # doc_id -> where it was first seen
        self.slash_dates: dict[str, str] = {}  # doc_id -> its date as written, when it is nn/nn/yyyy

    def build(self, record: Any, where: str, fallback_key: str) -> Document:
        """The Document of ``record`` (found at ``where``, e.g. "line 7"); RecordProblem if none.

        doc_id: "rec:" + short sha1 of the record's id, else its url, else file path + ``fallback_key``."""
        if not isinstance(record, dict):
            raise RecordProblem(f"expected a JSON object, got {type(record).__name__}")
        record = _lifted(record)
        used: set[str] = set()
        fields = {name: self._field(record, name, used) for name in self.aliases}
        text = normalise_text(_plain(_as_text(fields["text"])))
        if text:
            text = _with_lead(record, used, text)
        if not text:
            raise RecordProblem(f"record has no text (looked for {', '.join(self.aliases['text'])})")
        record_id = inline(_as_text(fields["id"]))
        url = inline(_as_text(fields["url"]))
        key = record_id or url or self.resolved + fallback_key
        doc_id = "rec:" + short_hash(key)
        if doc_id in self.seen:
            raise RecordProblem(f"duplicate record {key!r} (first seen at {self.seen[doc_id]}); skipped")
        self.seen[doc_id] = where
        if isinstance(fields["published"], str) and SLASH_DATE.match(fields["published"]):
            self.slash_dates[doc_id] = fields["published"]
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
            title=inline(_plain(_as_text(fields["title"]))) or title_from_text(text),
            text=text,
            published=parse_date(fields["published"]),
            source=source,
            url=url,
            path=str(self.path),
            language=detect_language(text),
            metadata=metadata,
        )

    def settled(self, documents: list[Document]) -> list[Document]:
        """The documents with their nn/nn/yyyy dates read in the one order the archive shows: a
        date like 25/03/2025 makes 07/03/2025 the 7th of March too (read alone, month first: July)."""
        if slash_order(self.slash_dates.values()) != "dmy":
            return documents
        return [replace(d, published=parse_day_first(self.slash_dates[d.doc_id])) if d.doc_id in self.slash_dates
                else d for d in documents]

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
        if name in self.custom:
            return None  # the user named this field's keys: no guessing
        # A name that contains a known one: "publishDate", "body_html", "fullText", "seo_title"
        # (the longest value when several do: "summary_text" and "full_text" -> the body)
        candidates = [k for k in record if k not in used and _contains_alias(str(k), _FUZZY.get(name, ()))
                      and not _contains_alias(str(k), _NOT.get(name, ())) and _fits(name, record[k])]
        if not candidates and name == "text":  # the longest string field, if it reads like prose (a body under any name)
            candidates = [k for k in record if k not in used and isinstance(record[k], str)
                          and len(_plain(record[k]).split()) >= _MIN_PROSE_WORDS]
        if not candidates:
            return None
        key = max(candidates, key=lambda k: len(_as_text(record[k])))
        used.add(key)
        return record[key]


def record_list(value: Any, text_keys: Sequence[str] = DEFAULT_FIELD_ALIASES["text"]) -> list[Any]:
    """The records of a parsed JSON file: a list, a list under a known key, or one record. A list
    of nothing but strings is a list of texts (snippets, paragraphs exported one per item)."""
    if isinstance(value, list):
        return _texts_as_records(value)
    if isinstance(value, dict):
        for key in _RECORD_LIST_KEYS:
            if isinstance(value.get(key), list):
                return _texts_as_records(value[key])
        lists = [v for v in value.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
        if len(lists) == 1:
            return lists[0]
        if any(key in value for key in text_keys):
            return [value]  # a single record
        nested = _longest_record_list(value, depth=3)  # a search engine's {"hits": {"hits": [...]}}
        if nested:
            return nested
    raise BadInput('no records found (expected a list of objects or an object like {"releases": [...]})')


def _texts_as_records(items: list) -> list:
    if items and all(isinstance(item, str) for item in items):
        return [{"text": item} for item in items]
    return items  # objects; a stray non-object among them is that record's error


def _longest_record_list(value: Any, depth: int) -> list | None:
    """The longest list of objects nested in `value` (at most `depth` objects down)."""
    if isinstance(value, list):
        return value if value and all(isinstance(v, dict) for v in value[:10]) else None
    if not isinstance(value, dict) or depth == 0:
        return None
    found = [f for f in (_longest_record_list(v, depth - 1) for v in value.values()) if f]
    return max(found, key=len) if found else None


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):  # a body given as a list of paragraphs
        return "\n\n".join(_as_text(v) for v in value)
    if isinstance(value, dict):  # a value wrapped in an object that _lifted could not unwrap
        return "\n\n".join(_as_text(v) for v in value.values() if isinstance(v, (str, list)))
    return str(value)


# Names a field is found by when its known names are not there (compared without case, "_" or "-").
_FUZZY: dict[str, tuple[str, ...]] = {
    "title": ("title", "headline", "heading", "subject"),
    "published": ("publish", "pubdate", "issued", "releasedate", "date", "created", "timestamp"),
    "url": ("url", "link", "permalink"),
    "text": ("text", "body", "content", "article", "html", "description", "story"),
    "source": ("source", "publisher", "agency", "ministry"),
}
# ... unless the name also says it is something else
_NOT: dict[str, tuple[str, ...]] = {
    "title": ("subtitle", "meta", "seo"),
    # when a copy was made is not when the release was published
    "published": ("update", "modif", "edit", "expir", "crawl", "scrap", "fetch", "retriev", "access", "download",
                  "harvest", "index", "ingest", "import", "export", "seen"),
    "url": ("image", "img", "photo", "thumb", "icon", "logo", "video", "media"),
    "text": ("title", "url", "link", "image", "img", "photo", "caption", "author", "tag", "categor", "lang"),
}
_MIN_PROSE_WORDS = 30  # a body found by no name at all
_MIN_GUESSED_TEXT_WORDS = 5  # a body found by a name like "bodyText"
# The inner key that holds the value of an object wrapping one (WordPress "rendered", Drupal
# "value", XML-to-JSON "#text")
_WRAPPED = ("rendered", "value", "#text", "text", "html", "raw", "content")
# Keys whose object holds the record's own fields (JSON:API "attributes", Elasticsearch "_source",
# GraphQL "node", ...); other nested objects (a category, an author) keep their fields to themselves
_CONTAINERS = frozenset({"attributes", "fields", "_source", "node", "data", "properties", "document", "record",
                         "item", "entry", "post", "release"})


# A standfirst a CMS keeps apart from the body ("lead", "summary", "teaser"): often the release's
# key sentence, which the body does not repeat.
_LEAD_NAMES = ("lead", "summary", "excerpt", "teaser", "standfirst", "intro", "abstract", "subtitle", "subhead", "deck")
_MIN_LEAD_WORDS = 4


def _with_lead(record: dict, used: set[str], text: str) -> str:
    """The body with the record's lead paragraph before it, unless the body already holds it
    (an excerpt cut from the body's start) or the lead is not prose."""
    flat = None  # the body with its spacing squashed, made only when a record has a lead (bodies can be huge)
    for key in record:
        if key in used or not _contains_alias(str(key), _LEAD_NAMES) or not isinstance(record[key], (str, dict, list)):
            continue
        lead = normalise_text(_plain(_as_text(record[key])))
        if len(lead.split()) < _MIN_LEAD_WORDS:
            continue
        flat = flat if flat is not None else _SPACES.sub(" ", text).lower()
        if _SPACES.sub(" ", lead).lower().strip().rstrip(".… ") not in flat:
            used.add(key)
            return f"{lead}\n\n{text}"
    return text


_SPACES = re.compile(r"\s+")


def _compact(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "").replace(" ", "")


def _contains_alias(name: str, aliases: Sequence[str]) -> bool:
    compact = _compact(name)
    return any(alias in compact for alias in aliases)


def _fits(name: str, value: Any) -> bool:
    """Whether a value found by a guessed name can be that field ("content_type": "news" is no body)."""
    if isinstance(value, bool) or value in (None, "", [], {}):
        return False
    if name == "published":
        return parse_date(value) is not None
    if name == "text":
        return isinstance(value, (str, list)) and len(_plain(_as_text(value)).split()) >= _MIN_GUESSED_TEXT_WORDS
    if name == "url":
        return isinstance(value, str) and value.strip().startswith(("http://", "https://", "/"))
    return isinstance(value, str)


def _unwrapped(value: Any) -> Any:
    """{"rendered": "x"} -> "x"; {"value": "<p>..", "format": "full_html"} -> "<p>..": an object
    that wraps one string."""
    while isinstance(value, dict):
        strings = {k: v for k, v in value.items() if isinstance(v, str) and v.strip()}
        inner = next((k for k in _WRAPPED if k in strings), None)
        if inner is None and len(strings) == 1 and len(value) == 1:
            inner = next(iter(strings))
        if inner is None:
            return value
        value = value[inner]
    return value


def _lifted(record: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """The record's fields with wrapped values unwrapped, and the fields of the objects that hold
    them beside its own (its own win): {"id": 1, "attributes": {"title": ..}} -> {"id": 1, "title": ..}."""
    own = {k: _unwrapped(v) for k, v in record.items()}
    lifted = dict(own)
    if depth < 2:
        for key, value in own.items():
            if isinstance(value, dict) and str(key).lower() in _CONTAINERS:
                for inner_key, inner in _lifted(value, depth + 1).items():
                    lifted.setdefault(inner_key, inner)
    return lifted


_MARKUP = re.compile(r"</?(?:p|br|div|span|a|b|i|em|strong|ul|ol|li|h[1-6]|table|tr|td|blockquote|figure|img)\b[^>]*>",
                     re.IGNORECASE)


def _plain(text: str) -> str:
    """HTML (a CMS stores bodies as markup) as its visible text; other text as it is."""
    if not _MARKUP.search(text):
        return text
    from rag.ingest.markup import fragment_to_text

    return fragment_to_text(text)
