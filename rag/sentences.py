"""Sentence and clause spans, by regex: fast enough for a 2,000-release archive.

Spans are ``(start, end)`` offsets into the text, trimmed of surrounding whitespace, so
``text[start:end]`` is the sentence. A sentence never crosses a paragraph break (a blank
line); a single line break inside a paragraph is ordinary whitespace, because PDF and
hard-wrapped text break lines mid-sentence.

A full stop ends a sentence unless what precedes it is an abbreviation. Diplomatic text is
full of them: titles (Mr., Amb.), dotted acronyms (U.S., U.N.), initials (Antony J. Blinken),
dates (Jan. 6), numbers (No. 5), times (10 a.m.). Acronyms and times can also end a
sentence ("... sanctions on the U.S. The minister ..."), so those count as an end only
when a common sentence-opening word follows.
"""

from __future__ import annotations

import re

# Never end a sentence: they introduce a name or continue the sentence.
_TITLES = frozenset(
    "mr mrs ms messrs dr prof st mt ft gen sen rep gov amb lt col capt cmdr adm maj sgt rev hon pres "
    "e.g i.e cf viz approx".split()
)
# End a sentence only when a sentence-opening word follows ("... Smith Jr. The ...").
_TRAILING = frozenset("jr sr inc ltd co corp bros etc dept govt assn intl vs".split())
# Abbreviations that precede a number: "No. 5", "Jan. 6", "Art. 51", "p. 12".
_BEFORE_NUMBER = frozenset(
    "no nos art arts para paras vol vols fig p pp sec ch op ref "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split()
)
# Common words that open a sentence; after "U.S." or "p.m." they signal a new sentence.
_OPENERS = frozenset(
    "the this that these those it its he she we they i you our his her their there here "
    "in on at as by for from with after before during since while when if but and however "
    "a an both today yesterday tomorrow also meanwhile moreover".split()
)

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
_LIST_ITEM_LINE = re.compile(r"(?<=\n)[ \t]*(?:[-*•▪◦–]|\d{1,3}[.)])[ \t]+(?=\S)")
# A sentence-final mark, with any closing quotes or brackets that belong to the sentence.
_END_MARK = re.compile(r"(?:[.!?]+|…)[\"'”’»)\]]*(?=\s|$)")
_NON_SPACE = re.compile(r"\S")
_NEXT_WORD = re.compile(r"[\"'“‘«(\[]*([A-Za-z]+)")
_DOTTED = re.compile(r"^(?:[A-Za-z]\.)+[A-Za-z]$")  # U.S, e.g, p.m, C.S (the last dot is the mark)
_CLAUSE_END = re.compile(r"[;:,](?=\s)|\s[—–-](?=\s)|—|–|\n")
_WORD = re.compile(r"\S+")


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Spans of the paragraphs (blocks between blank lines), trimmed."""
    spans: list[tuple[int, int]] = []
    start = 0
    for brk in _PARAGRAPH_BREAK.finditer(text):
        spans.extend(_trimmed(text, start, brk.start()))
        start = brk.end()
    spans.extend(_trimmed(text, start, len(text)))
    return spans


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of ``text``, in order, never crossing a paragraph break or a list item."""
    spans: list[tuple[int, int]] = []
    for p_start, p_end in _blocks(text):
        start = p_start
        for mark in _END_MARK.finditer(text, p_start, p_end):
            if mark.end() <= start:
                continue
            if _ends_sentence(text, start, mark.start(), mark.end(), p_end):
                spans.extend(_trimmed(text, start, mark.end()))
                start = mark.end()
        spans.extend(_trimmed(text, start, p_end))
    return spans


def _blocks(text: str) -> list[tuple[int, int]]:
    """Paragraphs, with list items ("- ...", "• ...", "2. ...") on their own lines split apart."""
    blocks: list[tuple[int, int]] = []
    for p_start, p_end in paragraph_spans(text):
        start = p_start
        for item in _LIST_ITEM_LINE.finditer(text, p_start, p_end):
            blocks.extend(_trimmed(text, start, item.start()))
            start = item.start()
        blocks.extend(_trimmed(text, start, p_end))
    return blocks


def split_clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split an overlong sentence after ; : , and dashes and at line breaks; trimmed spans."""
    spans: list[tuple[int, int]] = []
    piece_start = start
    for brk in _CLAUSE_END.finditer(text, start, end):
        spans.extend(_trimmed(text, piece_start, brk.end()))
        piece_start = brk.end()
    spans.extend(_trimmed(text, piece_start, end))
    return spans


def split_words(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Whitespace-separated word spans: the last resort for a clause that is still too long."""
    return [m.span() for m in _WORD.finditer(text, start, end)]


def _ends_sentence(text: str, start: int, mark_start: int, mark_end: int, limit: int) -> bool:
    """Whether the end mark at ``mark_start`` closes the sentence that began at ``start``."""
    following = _NON_SPACE.search(text, mark_end, limit)
    if following is None:
        return True
    next_char = following.group()
    if next_char.islower():  # "U.S. officials", "approx. five", "... and so on"
        return False
    mark = text[mark_start:mark_end]
    if not mark.startswith(".") or mark.startswith(".."):
        return True  # "?" and "!" and ellipses before a capital
    token_start = mark_start
    while token_start > start and not text[token_start - 1].isspace():
        token_start -= 1
    token = text[token_start:mark_start].lstrip("\"'“‘«([")
    if not token:
        return True
    word = token.lower()
    next_word = _NEXT_WORD.match(text, following.start(), limit)
    opener_follows = next_word is not None and next_word.group(1).lower() in _OPENERS
    if word in _TITLES:
        return False
    if len(token) == 1 and token.isupper():
        return False  # an initial: "Antony J. Blinken"
    if _DOTTED.match(token) or word in _TRAILING or word in ("a.m", "p.m"):
        return opener_follows
    if word in _BEFORE_NUMBER:
        return not next_char.isdigit()
    if token.isdigit() and len(token) <= 2 and token_start == _line_start(text, start, token_start):
        return False  # a numbered list item: "1. The parties agreed ..."
    return True


def _line_start(text: str, floor: int, pos: int) -> int:
    newline = text.rfind("\n", floor, pos)
    line_start = floor if newline < 0 else newline + 1
    while line_start < pos and text[line_start].isspace():
        line_start += 1
    return line_start


def _trimmed(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """``[(start, end)]`` shrunk to exclude surrounding whitespace, or ``[]`` if only whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return [(start, end)] if start < end else []
