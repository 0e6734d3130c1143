"""Answer scope: does the question want what several releases say, or one fact?

"Which Western Balkan countries hosted Afghan evacuees?" is answered by one release per country;
"What did Blinken discuss with Tileuberdi in 2021 and in 2022?" by a release of each year;
"What did the State Department say about Turkmenistan in March 2022?" by each release of that
month. Quoting the three best sentences, which often come from one release, answers a third of
such a question. For these the extractive generator quotes the best sentence of each release
first (rag.answer.relevance.pick_answer_sentences, ``spread=True``).

A question asks for several when it
- compares or follows change: "change", "compare", "differ", "each", "both", "over time";
- names two or more periods: "in 2021 and in 2022", "between July 2021 and March 2022";
- asks for a plural: "which <...> countries/officials/partners", "what NATO milestones";
- asks what someone said, announced or discussed over a period: "... about Uzbekistan in July 2022",
  or so far: "What has the United States said about ...?".

Deterministic string work, like rag.answer.lexical; a factoid question ("Who headed the Kazakh
delegation?") is left as it was.
"""

from __future__ import annotations

import re

from rag.answer.lexical import MONTH_NUMBER

_COMPARE_RE = re.compile(
    r"\b(?:chang(?:e|ed|es|ing)|compar(?:e|ed|es|ing)|differ(?:ed|s|ence|ences)?|evolv(?:e|ed)|each|both|over\s+time)\b",
    re.IGNORECASE,
)
_YEAR_RE = re.compile(r"\b(?:19|20)\d\d\b")
# A wh-word, up to four modifiers, then the head noun: "which senior U.S. officials".
_WH_PHRASE_RE = re.compile(r"\b(?:which|what)\s+((?:[\w.'’-]+\s+){0,4}[\w.'’-]+)\b", re.IGNORECASE)
# Words after which the noun phrase has ended (a verb or preposition, not a head noun).
_PHRASE_END = frozenset(
    """is was are were has have had did does do will would could can should may might been be being
    of for in on at to from with by about as that who whom whose""".split()
)
# Plural-looking words that are not plural nouns.
_NOT_PLURAL = frozenset("is was has does its this his us always perhaps news series status process".split())
_SAID_RE = re.compile(
    r"^\s*what\s+(?:did|has|have|had)\b.*\b(?:say|said|announce|announced|discuss|discussed|state|stated|"
    r"report|reported)\b",
    re.IGNORECASE,
)
# "What has the United States said about ...": the record so far, across releases.
_HAS_SAID_RE = re.compile(r"^\s*what\s+(?:has|have)\b.*\b(?:said|announced|stated)\b", re.IGNORECASE)
_SEASON_RE = re.compile(r"\b(?:spring|summer|autumn|fall|winter)\b", re.IGNORECASE)


def asks_for_several(question: str) -> bool:
    """True when a full answer draws on several releases (see the module docstring)."""
    if _COMPARE_RE.search(question):
        return True
    if len(set(_YEAR_RE.findall(question))) >= 2 or _months_named(question) >= 2:
        return True
    if _asks_for_plural(question):
        return True
    if _HAS_SAID_RE.search(question):
        return True
    return bool(_SAID_RE.search(question)) and _names_period(question)


def _asks_for_plural(question: str) -> bool:
    for match in _WH_PHRASE_RE.finditer(question):
        for word in match.group(1).split():
            low = word.lower().strip(".'’")
            if low in _PHRASE_END:
                break
            # "United States", "U.S." are names, not plurals asked for: only lower-case nouns count.
            if word[0].islower() and _plural(low):
                return True
    return False


def _plural(word: str) -> bool:
    return (len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is"))
            and word not in _NOT_PLURAL)


def _months_named(question: str) -> int:
    words = {w.lower() for w in re.findall(r"[A-Za-z]+", question)}
    return len({MONTH_NUMBER[w] for w in words if w in MONTH_NUMBER and w != "may"})


def _names_period(question: str) -> bool:
    return bool(_YEAR_RE.search(question) or _months_named(question) or _SEASON_RE.search(question))
