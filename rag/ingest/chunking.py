"""Split a Document into Chunks that fit the embedding model's window.

Chunks follow the text's own structure: whole sentences are packed up to ``max_tokens``
word pieces, a chunk prefers to end where a paragraph ends, and a sentence is cut only when
it alone is longer than ``max_tokens`` (then at clause, then at word boundaries). Every
chunk is a plain slice of the document: ``chunk.text == doc.text[chunk.start:chunk.end]``.

Token counts are taken per sentence and summed. For a BERT-style tokenizer that is exact:
it splits words at whitespace before cutting them into word pieces, so the pieces of
"A B" are the pieces of "A" followed by those of "B".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rag.ingest.text import dated_sections
from rag.sentences import split_clauses, split_sentences, split_words
from rag.types import Chunk, Document

CountTokens = Callable[[str], int]

# A chunk ends early at a paragraph end only if it is at least this full; otherwise the
# paragraph preference would leave many half-empty chunks.
_PARAGRAPH_CUT_MIN_FILL = 0.5
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
# Titles longer than this many word pieces are cut by the model, rather than squeezing the body.
_MIN_BODY_TOKENS = 32


@dataclass(frozen=True)
class _Unit:
    """A piece that is never split further: a sentence, or part of an overlong one."""

    start: int
    end: int
    tokens: int
    paragraph_end: bool


def chunk_document(doc: Document, count_tokens: CountTokens, max_tokens: int, min_tokens: int) -> list[Chunk]:
    """The chunks of ``doc``, each at most ``max_tokens`` word pieces of body text (as summed
    over its sentences), in document order, ids ``f"{doc.doc_id}#{index}"``."""
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be positive, got {max_tokens}")
    dated: list[tuple[list[_Unit], object]] = []  # (a chunk's units, its publication date)
    for start, end, published in release_spans(doc):
        units = [_Unit(u.start + start, u.end + start, u.tokens, u.paragraph_end)
                 for u in _units(doc.text[start:end], count_tokens, max_tokens)]
        groups = _rebalance_small(_pack(units, max_tokens), min_tokens, max_tokens)
        dated += [(group, published) for group in groups]
    return [
        Chunk(
            chunk_id=f"{doc.doc_id}#{index}",
            doc_id=doc.doc_id,
            index=index,
            text=doc.text[group[0].start : group[-1].end],
            start=group[0].start,
            end=group[-1].end,
            title=doc.title,
            published=published,
            source=doc.source,
            url=doc.url,
            path=doc.path,
            language=doc.language,
        )
        for index, (group, published) in enumerate(dated)
    ]


def release_spans(doc: Document) -> list[tuple[int, int, object]]:
    """(start, end, date) of each release a document holds: one span dated like the document,
    or, for a file of several dated releases (rag.ingest.text.dated_sections), one per release,
    so that no chunk mixes two releases and each carries its own release's date (a question
    about 2023 must find the 2023 release of a file that opens with one of 2021)."""
    sections = dated_sections(doc.text)
    if not sections:
        return [(0, len(doc.text), doc.published)] if doc.text.strip() else []
    spans = []
    if doc.text[: sections[0][0]].strip():  # a preamble before the first release
        spans.append((0, sections[0][0], doc.published))
    ends = [start for start, _ in sections[1:]] + [len(doc.text)]
    spans += [(start, end, when) for (start, when), end in zip(sections, ends) if doc.text[start:end].strip()]
    return spans


def body_token_budget(
    doc: Document, count_tokens: CountTokens, window: int, max_tokens: int, special_tokens: int = 2
) -> int:
    """How many body word pieces a chunk of ``doc`` may hold so that its ``embed_text``
    (title and date, then the body) still fits ``window`` with the model's special tokens."""
    probe = Chunk(chunk_id="", doc_id="", index=0, text="", start=0, end=0, title=doc.title, published=doc.published)
    head_tokens = count_tokens(probe.embed_text) if probe.embed_text else 0
    return max(min(max_tokens, window - special_tokens - head_tokens), min(max_tokens, _MIN_BODY_TOKENS))


def _units(text: str, count_tokens: CountTokens, max_tokens: int) -> list[_Unit]:
    sentences = split_sentences(text)
    units: list[_Unit] = []
    for number, (start, end) in enumerate(sentences):
        next_start = sentences[number + 1][0] if number + 1 < len(sentences) else len(text)
        paragraph_end = next_start == len(text) or _BLANK_LINE.search(text, end, next_start) is not None
        tokens = count_tokens(text[start:end])
        if tokens <= max_tokens:
            units.append(_Unit(start, end, tokens, paragraph_end))
            continue
        pieces = _split_overlong(text, start, end, count_tokens, max_tokens)
        units.extend(_Unit(s, e, n, False) for s, e, n in pieces[:-1])
        last_start, last_end, last_tokens = pieces[-1]
        units.append(_Unit(last_start, last_end, last_tokens, paragraph_end))
    return units


def _split_overlong(
    text: str, start: int, end: int, count_tokens: CountTokens, max_tokens: int
) -> list[tuple[int, int, int]]:
    """Pieces of a sentence longer than ``max_tokens``: clauses, words for a clause still too
    long, fixed-width slices for a single word still too long (a pasted hash or URL)."""
    pieces: list[tuple[int, int, int]] = []
    for c_start, c_end in split_clauses(text, start, end):
        tokens = count_tokens(text[c_start:c_end])
        if tokens <= max_tokens:
            pieces.append((c_start, c_end, tokens))
            continue
        for w_start, w_end in split_words(text, c_start, c_end):
            tokens = count_tokens(text[w_start:w_end])
            if tokens <= max_tokens:
                pieces.append((w_start, w_end, tokens))
            else:
                pieces.extend(_slices(text, w_start, w_end, count_tokens, max_tokens))
    return pieces


def _slices(text: str, start: int, end: int, count_tokens: CountTokens, max_tokens: int) -> list[tuple[int, int, int]]:
    width = end - start
    while width > 1:
        width = (width + 1) // 2
        counts = [count_tokens(text[s : min(s + width, end)]) for s in range(start, end, width)]
        if max(counts) <= max_tokens // 2:  # halve the budget: slices re-joined may tokenize differently
            return [(s, min(s + width, end), n) for s, n in zip(range(start, end, width), counts)]
    return [(s, s + 1, count_tokens(text[s])) for s in range(start, end)]


def _pack(units: list[_Unit], max_tokens: int) -> list[list[_Unit]]:
    """Greedy packing of whole units; when the next unit doesn't fit, end the chunk at its last
    paragraph end instead, if that leaves it reasonably full and the rest still fits."""
    groups: list[list[_Unit]] = []
    current: list[_Unit] = []
    total = 0
    for unit in units:
        if current and total + unit.tokens > max_tokens:
            cut = _paragraph_cut(current, unit.tokens, max_tokens)
            groups.append(current[:cut])
            current = current[cut:]
            total = sum(u.tokens for u in current)
        current.append(unit)
        total += unit.tokens
    if current:
        groups.append(current)
    return groups


def _paragraph_cut(current: list[_Unit], incoming: int, max_tokens: int) -> int:
    """Where to end the chunk ``current`` now that a unit of ``incoming`` tokens doesn't fit."""
    if current[-1].paragraph_end:
        return len(current)
    prefix = 0
    total = sum(u.tokens for u in current)
    best = len(current)
    for index, unit in enumerate(current[:-1], start=1):
        prefix += unit.tokens
        if (
            unit.paragraph_end
            and prefix >= _PARAGRAPH_CUT_MIN_FILL * max_tokens
            and total - prefix + incoming <= max_tokens
        ):
            best = index
    return best


def _rebalance_small(groups: list[list[_Unit]], min_tokens: int, max_tokens: int) -> list[list[_Unit]]:
    """Fill a chunk under ``min_tokens`` with whole sentences from the end of the chunk before it,
    as long as both stay at least ``min_tokens`` and within ``max_tokens``.

    Merging the small chunk into a neighbour instead is never possible after greedy packing:
    each chunk was closed because the next unit did not fit, so any two neighbours together
    exceed ``max_tokens``."""
    for previous, current in zip(groups, groups[1:]):
        if _size(current) < min_tokens:
            _borrow_from_previous(previous, current, min_tokens, max_tokens)
    return groups


def _borrow_from_previous(previous: list[_Unit], small: list[_Unit], min_tokens: int, max_tokens: int) -> None:
    while len(previous) > 1 and _size(small) < min_tokens:
        moving = previous[-1]
        if _size(previous) - moving.tokens < min_tokens or _size(small) + moving.tokens > max_tokens:
            return
        small.insert(0, previous.pop())


def _size(group: list[_Unit]) -> int:
    return sum(u.tokens for u in group)

