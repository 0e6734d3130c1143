"""Boilerplate, detected by repetition rather than listed.

A ministry ends every statement with the same sign-off ("MINISTRY OF FOREIGN AFFAIRS ...
21 MARCH 2025"), heads it with the same office line ("Office of the Spokesperson"), and
closes it with the same contact line. Such a line or sentence recurs across many releases
of one source, which is how it is found here, whatever the language or wording:

- a unit (a line, or a sentence) is normalised (case, digits, month names, punctuation) and
  counted once per document of its source;
- it is boilerplate when it recurs in at least `COMMON_SHARE` of the source's documents (and
  in `MIN_DOCS` at least), or in `MIN_DOCS` documents while not being about the document's own
  subject (it shares few words with the title): a stock readout opening such as "The Secretary
  spoke today with Foreign Minister X" recurs too, but is what its release is about.

Boilerplate stays in the text (offsets do not move) but is never quoted as an answer and
weighs less in retrieval (rag.store, rag.lexical).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from rag.sentences import split_sentences

MIN_DOCS = 3
COMMON_SHARE = 0.05
# A unit sharing at least this share of its words with the title is about its release.
ABOUT_TITLE_SHARE = 0.5

_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_MONTH_RE = re.compile(rf"\b(?:{_MONTHS})\b")
_DIGITS_RE = re.compile(r"\d+")
_NOT_WORD_RE = re.compile(r"[^\w#@]+")
_WORD_RE = re.compile(r"[^\W\d_]{3,}")


def normalise(unit: str) -> str:
    text = unit.casefold()
    text = _DIGITS_RE.sub("#", text)
    text = _MONTH_RE.sub("@", text)
    return " ".join(_NOT_WORD_RE.sub(" ", text).split())


@lru_cache(maxsize=100_000)  # boilerplate recurs by definition: its units are keyed again and again
def unit_key(unit: str) -> str:
    return hashlib.sha1(normalise(unit).encode()).hexdigest()[:12]


def units(text: str) -> list[tuple[int, int]]:
    """The spans counted: every non-empty line and every sentence (a sign-off is often a line
    without a full stop; a contact sentence often ends a paragraph)."""
    spans = set()
    for line in re.finditer(r"[^\n]+", text):
        if line.group().strip():
            start = line.start() + len(line.group()) - len(line.group().lstrip())
            spans.add((start, line.start() + len(line.group().rstrip())))
    spans.update(split_sentences(text))
    return sorted(s for s in spans if normalise(text[s[0] : s[1]]))


def _about(unit: str, title: str) -> bool:
    words = {w.casefold() for w in _WORD_RE.findall(unit)}
    if not words or not title:
        return False
    title_words = {w.casefold() for w in _WORD_RE.findall(title)}
    return len(words & title_words) / len(words) >= ABOUT_TITLE_SHARE


@dataclass
class Boilerplate:
    """Per source: how many documents it has, and the keys of units found in MIN_DOCS or more."""

    documents: dict[str, int] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def learn(cls, texts: Iterable[tuple[str, str, str]]) -> "Boilerplate":
        """From (source, doc_id, text) triples; a document may come in several pieces (chunks)."""
        seen: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        for source, doc_id, text in texts:
            keys = seen[source][doc_id]
            keys.update(unit_key(text[s:e]) for s, e in units(text))
        model = cls()
        for source, docs in seen.items():
            counts = Counter(key for keys in docs.values() for key in keys)
            model.documents[source] = len(docs)
            model.counts[source] = {key: n for key, n in counts.items() if n >= MIN_DOCS}
        return model

    def spans(self, source: str, text: str, title: str = "") -> tuple[tuple[int, int], ...]:
        """The boilerplate spans of `text`, a document (or a chunk of one) of `source`."""
        counts = self.counts.get(source)
        if not counts:
            return ()
        common = max(MIN_DOCS, COMMON_SHARE * self.documents.get(source, 0))
        found = []
        for start, end in units(text):
            n = counts.get(unit_key(text[start:end]), 0)
            if n >= common or (n >= MIN_DOCS and not _about(text[start:end], title)):
                found.append((start, end))
        return tuple(_merge(found))

    def to_json(self) -> dict:
        return {"documents": self.documents, "counts": self.counts}

    @classmethod
    def from_json(cls, data: dict) -> "Boilerplate":
        return cls(dict(data.get("documents", {})), {s: dict(c) for s, c in data.get("counts", {}).items()})


def share(spans: tuple[tuple[int, int], ...], length: int) -> float:
    """How much of a text of `length` characters its boilerplate spans cover."""
    return min(1.0, sum(e - s for s, e in spans) / length) if length else 0.0


def without(text: str, spans: tuple[tuple[int, int], ...]) -> str:
    """`text` with its boilerplate spans blanked out (for the lexical index)."""
    if not spans:
        return text
    pieces, last = [], 0
    for start, end in spans:
        pieces.append(text[last:start])
        last = end
    pieces.append(text[last:])
    return " ".join(pieces)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
