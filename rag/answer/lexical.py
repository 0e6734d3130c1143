"""Word-level evidence: content words, the names/numbers/dates a claim must not invent, agents.

Everything here is deterministic string work, shared by the extractive generator (which
sentence answers the question?), the citation checker (does this passage really say it?)
and the false-premise check (who does the passage say did it?).
"""

from __future__ import annotations

import re
from functools import lru_cache

from rag.answer.words import words_for
from rag.lexical import stem as index_stem  # one stemmer for retrieval and answers, per script

# Latin words and numbers. Cyrillic words are left out on purpose: measured on the ru/kk dev
# suite (questions about English releases), counting them as question words that no English
# sentence shares cut fact recall from 0.71 to 0.50; the dense (multilingual) side relates them.
WORD_RE = re.compile(r"[A-Za-z\u00C0-\u024F][A-Za-z\u00C0-\u024F'’]*|\d+(?:[.,]\d+)*(?:st|nd|rd|th)?")

_EN = words_for("en")
STOPWORDS = _EN.stopwords
QUESTION_FILLER = _EN.question_filler
MONTHS = _EN.months
MONTH_NUMBER = {name: i + 1 for i, name in enumerate(MONTHS)} | {
    name[:3]: i + 1 for i, name in enumerate(MONTHS)
} | {"sept": 9}
IRREGULAR_DEMONYMS = _EN.irregular_demonyms
TITLE_WORDS = _EN.title_words
PRONOUNS = _EN.pronouns


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    low = word.lower().replace("’", "'")
    if low.endswith("'s"):
        low = low[:-2]
    return index_stem(low.strip("'"))


def words(text: str) -> list[str]:
    return WORD_RE.findall(text)



def content_stems(text: str) -> set[str]:
    """Stems of the words that carry meaning: no stopwords, no question filler, no 1-letter tokens."""
    result = set()
    for word in words(text):
        low = word.lower()
        if low in STOPWORDS or low in QUESTION_FILLER or len(low) < 2:
            continue
        result.add(stem(low))
    return result


def coverage(claim_stems: set[str], evidence_stems: set[str]) -> float:
    """Share of the claim's content words that the evidence also contains (1.0 for an empty claim)."""
    if not claim_stems:
        return 1.0
    return len(claim_stems & evidence_stems) / len(claim_stems)


def _normalise_number(token: str) -> str:
    return re.sub(r"(st|nd|rd|th)$", "", token.replace(",", ""))


def critical_tokens(text: str) -> set[str]:
    """Names, numbers, years and months: the facts a claim may not add beyond its evidence.

    Capitalised words at the very start of a sentence are skipped (they are capitalised by
    position, not because they are names), as are title words like "Minister".
    """
    result: set[str] = set()
    tokens = words(text)
    for i, token in enumerate(tokens):
        token = re.sub(r"['’]s?$", "", token)
        low = token.lower()
        if not token:
            continue
        if token[0].isdigit():
            result.add("#" + _normalise_number(token))
        elif low in MONTH_NUMBER and len(low) >= 3 and token[0].isupper():
            result.add("@" + MONTHS[MONTH_NUMBER[low] - 1])
        elif token[0].isupper() and i > 0 and low not in STOPWORDS and low not in TITLE_WORDS and len(low) > 1:
            result.add(low)
    return result


def critical_names(text: str) -> set[str]:
    """The critical tokens that are names (lower-case), without the numbers (#) and months (@)."""
    return {t for t in critical_tokens(text) if t[0] not in "#@"}


def period_tokens(text: str) -> set[str]:
    """The numbers (#) and months (@) among the critical tokens: "in September 2023" -> {"@september", "#2023"}.
    Read as a sentence's body, so a capitalised first word counts like any other."""
    return {t for t in critical_tokens(". " + text) if t[0] in "#@"}


def missing_critical(claim: str, evidence: str) -> set[str]:
    """Critical tokens of the claim that the evidence lacks (names matched by country/demonym too)."""
    evidence_tokens = critical_tokens(evidence) | {w.lower() for w in words(evidence)}
    evidence_names = [t for t in evidence_tokens if not t.startswith(("#", "@"))]
    missing = set()
    for token in critical_tokens(claim):
        if token in evidence_tokens:
            continue
        if not token.startswith(("#", "@")) and any(same_agent(token, other) for other in evidence_names):
            continue
        missing.add(token)
    return missing


def canonical_agent(name: str) -> str:
    low = name.lower().strip(" .,’'")
    if low.endswith("'s") or low.endswith("’s"):
        low = low[:-2]
    return IRREGULAR_DEMONYMS.get(low, low)


def same_agent(a: str, b: str) -> bool:
    """Whether two names plausibly denote the same country/actor: Albania~Albanian, Kazakhstan~Kazakh.

    One must be a prefix of the other, or (for names of 5+ letters) the shorter minus its
    last letter must be: China~Chinese, but not Iran~Iraq nor Austria~Australia.
    """
    a, b = canonical_agent(a), canonical_agent(b)
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    if len(short) < 4:
        return False
    if long_.startswith(short):
        return True
    return len(short) >= 5 and long_.startswith(short[:-1]) and len(long_) - len(short) <= 4


def mentions(name: str, text: str) -> bool:
    """Whether `text` names `name` (a lower-case critical token), allowing country/demonym variants."""
    return any(same_agent(name, word) for word in words(text) if word[0].isupper())


_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")


def numbers(text: str) -> set[str]:
    """The numbers a text states, normalised ("2,000" -> "2000"), and its number words ("three")."""
    found = {m.group().replace(",", "").rstrip(".") for m in _NUMBER_RE.finditer(text)}
    return found | {w.lower() for w in words(text) if w.lower() in _EN.number_words}


def refers_back(sentence: str) -> bool:
    """Whether a sentence opens by pointing at what the one before named: "He said ...", "The
    parties discussed ...", "Both sides agreed ..."."""
    opening = [w.lower() for w in words(sentence)[:2]]
    if not opening:
        return False
    return opening[0] in PRONOUNS or " ".join(opening) in _EN.anaphoric_openings
