"""The small data classes that flow through the pipeline.

files ──readers──▶ Document ──chunker──▶ Chunk ──store──▶ Passage ──answer──▶ Answer

All are frozen: a value handed to another layer can't be changed behind its back.
Character offsets always refer to ``Document.text`` (the body text after reading,
header lines and markup removed), so a citation can point at an exact span.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Document:
    """One release, as read from a file or one line of an archive."""

    doc_id: str  # stable: the same file/record gives the same id on every run
    title: str
    text: str  # body text; offsets of chunks and citations index into this
    published: date | None = None
    source: str = ""  # issuing ministry / office, e.g. "Kazakh MFA", "U.S. Department of State"
    url: str = ""
    path: str = ""  # the file it came from (archive path for json/jsonl records)
    language: str = ""  # ISO 639-1 code, "" when unknown
    metadata: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Chunk:
    """A span of a Document's text, small enough for the embedding model's window."""

    chunk_id: str
    doc_id: str
    index: int  # position of the chunk within its document
    text: str  # == document.text[start:end]
    start: int
    end: int
    title: str = ""
    published: date | None = None
    source: str = ""
    url: str = ""
    path: str = ""
    language: str = ""
    # Spans of `text` (offsets into it) that recur across the source's releases: sign-offs,
    # contact lines (rag.boilerplate). Set by the store when it returns the chunk.
    boilerplate: tuple[tuple[int, int], ...] = field(default=(), compare=False)

    @property
    def embed_text(self) -> str:
        """What the embedder and the lexical index see: title and date travel with the text."""
        head = self.title
        if self.published:
            head = f"{head} ({self.published.isoformat()})" if head else self.published.isoformat()
        return f"{head}\n{self.text}" if head else self.text


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk, with the scores that ranked it."""

    chunk: Chunk
    score: float  # fused score, higher is better
    dense_score: float | None = None
    lexical_score: float | None = None
    rank: int = 0  # 1-based rank in the fused list


@dataclass(frozen=True)
class Citation:
    """One numbered source of an answer, with the span that supports the claim."""

    key: str  # the marker shown in the answer text, e.g. "1" for "[1]"
    chunk_id: str
    doc_id: str
    title: str
    published: date | None
    source: str
    url: str
    path: str
    quote: str  # the supporting span, verbatim from the document
    start: int  # offsets of ``quote`` in Document.text
    end: int
    passage_text: str = ""  # the whole chunk, so a UI can show the span in context
    passage_start: int = 0  # offset of passage_text in Document.text
    support: float = 0.0  # how strongly the checker found the claim supported (0..1)


@dataclass(frozen=True)
class AnswerSentence:
    text: str
    citation_keys: tuple[str, ...] = ()
    supported: bool = True  # False: shown, but visibly marked as not supported by its sources
    support: float = 0.0
    own: bool = False  # the app's own statement (a refusal, a false premise, a part left unanswered), uncited


@dataclass(frozen=True)
class Answer:
    question: str
    text: str  # the answer with [n] markers
    sentences: tuple[AnswerSentence, ...] = ()
    citations: tuple[Citation, ...] = ()
    passages: tuple[Passage, ...] = ()  # everything retrieved and shown to the generator
    refused: bool = False  # the sources do not answer the question
    false_premise: bool = False  # the question assumes something the sources contradict
    standalone_question: str = ""  # the question after follow-up rewriting
    generator: str = ""
    timings: dict[str, float] = field(default_factory=dict, hash=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


@dataclass(frozen=True)
class Filters:
    """Restrictions on what retrieval may return."""

    date_from: date | None = None
    date_to: date | None = None
    sources: tuple[str, ...] = ()  # exact source names; empty = all
    languages: tuple[str, ...] = ()  # ISO 639-1 codes of the documents ("en", "ru", "kk"); empty = all
    # Also keep documents without a publication date when dates are filtered. A question's own
    # period ("who won the 2022 race?") sets it: an undated news snippet may well be about 2022, and
    # an archive without dates would otherwise answer no question that names a year. A user's
    # explicit date filter leaves it off: they asked for dated releases.
    undated: bool = False

    @property
    def empty(self) -> bool:
        return self.date_from is None and self.date_to is None and not self.sources and not self.languages


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value
