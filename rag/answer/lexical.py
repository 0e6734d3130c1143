"""Word-level evidence: content words, the names/numbers/dates a claim must not invent, agents.

Everything here is deterministic string work, shared by the extractive generator (which
sentence answers the question?), the citation checker (does this passage really say it?)
and the false-premise check (who does the passage say did it?).
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

_STEMMER = Stemmer.Stemmer("english")

WORD_RE = re.compile(r"[A-Za-z\u00C0-\u024F][A-Za-z\u00C0-\u024F'’]*|\d+(?:[.,]\d+)*(?:st|nd|rd|th)?")
CITATION_MARK_RE = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are aren as at be because been before being below
    between both but by can could did didn do does doesn doing don down during each either else even ever every few
    for from further had has hasn have haven having he her here hers herself him himself his how however i if in into
    is isn it its itself just let like may me might more most much must my myself neither no nor not now of off on
    once only or other ought our ours ourselves out over own per rather same shall she should so some such than that
    the their theirs them themselves then there these they this those through thus to too under until up upon us very
    was wasn we were weren what whatever when whenever where whether which while who whom whose why will with within
    without would yet you your yours yourself yourselves
    tell say said says saying told know please give list describe explain summarize summarise according""".split()
)

# Question words that carry no topic of their own ("what did X say" is about X, not about saying).
QUESTION_FILLER = frozenset("release releases press statement document documents source sources".split())

MONTHS = (
    "january february march april may june july august september october november december".split()
)
MONTH_NUMBER = {name: i + 1 for i, name in enumerate(MONTHS)} | {
    name[:3]: i + 1 for i, name in enumerate(MONTHS)
} | {"sept": 9}

# Demonyms that share no prefix with their country; the prefix rule in `same_agent` covers the rest
# (Albania/Albanian, Kazakhstan/Kazakh, China/Chinese, Russia/Russian ...).
IRREGULAR_DEMONYMS: dict[str, str] = {
    "french": "france", "dutch": "netherlands", "british": "britain", "uk": "britain", "english": "britain",
    "american": "united states", "us": "united states", "u.s.": "united states", "swiss": "switzerland",
    "greek": "greece", "spanish": "spain", "swedish": "sweden", "danish": "denmark", "finnish": "finland",
    "polish": "poland", "turkish": "turkey", "türkiye": "turkey", "filipino": "philippines", "irish": "ireland",
    "welsh": "wales", "scottish": "scotland", "norwegian": "norway", "belgian": "belgium", "thai": "thailand",
    "emirati": "united arab emirates", "uae": "united arab emirates", "prc": "china", "dprk": "north korea",
    "rok": "south korea", "saudi": "saudi arabia", "israeli": "israel", "pakistani": "pakistan",
}

# Words that precede a person's name without being part of it ("Deputy Minister of Foreign Affairs Endrit Yzeiraj").
TITLE_WORDS = frozenset(
    """mr mrs ms dr h.e. his her excellency minister deputy vice prime president secretary ambassador foreign affairs
    state senator general chairman chair chief head director spokesperson spokesman envoy special representative
    undersecretary under assistant counselor consul king queen prince crown sheikh emir premier chancellor first
    of and the for europe european international economic cooperation ministry ministries department office
    national security adviser advisor governor mayor commissioner high""".split()
)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    low = word.lower().replace("’", "'")
    if low.endswith("'s"):
        low = low[:-2]
    return _STEMMER.stemWord(low.strip("'"))


def words(text: str) -> list[str]:
    return WORD_RE.findall(text)


def strip_citation_marks(text: str) -> str:
    return CITATION_MARK_RE.sub("", text).strip()


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
