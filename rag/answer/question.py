"""Question analysis: a question is parsed once into a `Question`, read by everything after.

The answer service, the retriever (dates, recency) and the eval runner all read the same
object, so the eval measures exactly what users get.

- `standalone`: the question after follow-up rewriting (rag.answer.conversation);
- `dates`: the date intent ("in March 2022", "latest"), which retrieval turns into filters;
- `parts`: a multi-part question's parts ("Who signed it and what does it fund?"), each with
  its expected answer type: person ("which officials"), agent ("who": a person, a side, a body
  or a country), organisation, place, date, number, name (a named item: an agreement, a
  programme), reason, or statement (anything else); an elliptical part ("and how many in
  2022?") searches with the first part's words too;
- `names`: the names the question mentions (lower case), and `focus`: its other content words;
- `claim`: what the question presumes (its subject did its verb), for the premise check.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from typing import Literal

from rag.answer import lexical
from rag.answer.conversation import rewrite_followup
from rag.answer.dates import DateIntent, listed_periods, parse_date_intent
from rag.nlp import parse_question
from rag.answer.words import Words, words_for
from rag.languages import question_language
from rag.lexical import SEARCH_STOPWORDS
from rag.types import Filters

AnswerType = Literal["person", "agent", "organisation", "place", "date", "number", "amount", "name", "reason",
                     "statement"]
# Types whose answer is a thing a sentence names: a candidate sentence must carry one.
TYPED = frozenset({"person", "agent", "organisation", "place", "date", "number", "amount", "name"})

_WH_WORDS = "who|whom|whose|what|which|when|where|why|how"
# "..., and what does it fund?", "... and when did it start?": a second question begins.
_PART_SPLIT_RE = re.compile(rf"\s*(?:,\s*(?:and\s+)?|\s+and\s+|;\s*)(?=(?:{_WH_WORDS})\b)", re.IGNORECASE)
_WH_START_RE = re.compile(rf"\b(?:{_WH_WORDS})\b|^\s*(?:did|does|do|has|have|is|are|was|were|will|can)\b", re.IGNORECASE)
# "When and where did ...": two question words sharing one question.
_WH_PAIR_RE = re.compile(rf"^\s*(?P<a>{_WH_WORDS})\s+and\s+(?P<b>{_WH_WORDS})\b", re.IGNORECASE)


@dataclass(frozen=True)
class QuestionPart:
    text: str
    answer_type: AnswerType
    several: bool = False  # asks for a list ("which countries ...")
    focus: frozenset[str] = frozenset()  # content stems of this part that are not names
    query: str = ""  # what to search and compare with: the text, completed when elliptical
    # The part's own period when it names one other than the question's first ("How much in
    # June 2021, and how much after the June 2022 earthquake?"): its passages are searched there.
    dates: DateIntent | None = None

    @property
    def search_text(self) -> str:
        return self.query or self.text

    @property
    def typed(self) -> bool:
        return self.answer_type in TYPED


@dataclass(frozen=True)
class Claim:
    """What a question presumes: "Why did Kazakhstan close its embassy?" -> Kazakhstan closed it."""

    agent: str  # the subject, as written: "Kazakhstan", "Secretary Blinken"
    verb: str  # lemma: "close"
    rest: str = ""  # the object and what follows, as written: "its embassy in Tirana"
    wh: str = ""  # "why", "what", "how", ...
    event: tuple[str, str] | None = None  # a presupposed event of the agent's: ("visit", "Ashgabat")
    passive: bool = False  # "Why were X removed?": `agent` underwent the action, whoever did it
    tail: str = ""  # the question's words after the verb: "its embassy in the capital"


@dataclass(frozen=True)
class Question:
    text: str  # as asked
    standalone: str  # after follow-up rewriting
    query: str  # what retrieval searches for: the standalone question without its date phrase
    dates: DateIntent
    parts: tuple[QuestionPart, ...]
    names: frozenset[str]  # lower case, as lexical.critical_names gives them
    # The names grouped as written: ("ilse", "varga"), ("ostravia",): a person is often named by
    # surname alone, so a group counts as mentioned when any of its words is.
    name_groups: tuple[tuple[str, ...], ...] = ()
    claim: Claim | None = None
    several: bool = False  # a full answer draws on several releases
    asks_for_release: bool = False  # "What is the latest release about X?"
    numbers: frozenset[str] = frozenset()  # numbers the question itself states: they answer nothing
    language: str = "en"
    history: tuple[tuple[str, str], ...] = field(default=(), compare=False)

    @property
    def answer_type(self) -> AnswerType:
        return self.parts[0].answer_type

    @property
    def rewritten(self) -> bool:
        return self.standalone != self.text.strip()

    def filters(self, explicit: Filters = Filters()) -> Filters:
        """The user's filters, completed by the question's own dates (the user's win)."""
        return self.dates.merge_into(explicit)


def analyse(text: str, history: Sequence[tuple[str, str]] = (), today: date | None = None,
            standalone: str | None = None, language: str | None = None, disable: frozenset[str] = frozenset()) -> Question:
    """Parse a question once. `standalone` overrides the follow-up rewrite (a model's rewrite);
    `disable` switches off "conversation" (no rewriting) or "parts" (one part), for ablations."""
    if not text or not text.strip():
        raise ValueError("the question is empty")
    language = language or question_language(text)
    words = words_for(language)
    if "conversation" in disable:
        standalone = text
    standalone = (standalone or rewrite_followup(text, history)).strip()
    dates = parse_date_intent(standalone, today)
    query = dates.strip_from(standalone) if not dates.prefer_recent else standalone
    names = frozenset(lexical.critical_names(standalone))
    pieces = [standalone] if "parts" in disable else split_parts(standalone)
    periods = listed_periods(dates, today) if len(pieces) == 1 and "period-lists" not in disable else []
    if periods:  # "in 2021 and in 2022", "the 2020 and 2022 Cups": a part per period, in its period
        parts = tuple(_part(standalone.replace(dates.phrase, phrase, 1), names, words, dates, today=today,
                            language=language, period=own) for phrase, own in _with_preposition(periods))
    else:
        parts = tuple(_part(piece, names, words, dates, pieces[0] if i else "", today, language)
                      for i, piece in enumerate(pieces))
    parse = parse_question(standalone)
    return Question(
        text=text.strip(), standalone=standalone, query=query, dates=dates, parts=parts, names=names,
        name_groups=name_groups(standalone, names),
        claim=_claim(parse, words), several=_several(standalone, parts, words),
        asks_for_release=_asks_for_release(standalone, dates, words),
        numbers=frozenset(lexical.numbers(standalone)), language=language, history=tuple(history),
    )


def name_groups(question: str, names: frozenset[str]) -> tuple[tuple[str, ...], ...]:
    """The question's names in the runs they are written in: "Ilse Varga" is one name."""
    groups = []
    for run in re.finditer(r"[A-Z\u00C0-\u024F][\w’'.\-]*(?:\s+[A-Z\u00C0-\u024F][\w’'.\-]*)*", question):
        words = (re.sub(r"['’]s?$", "", w).lower() for w in lexical.words(run.group()))
        group = tuple(dict.fromkeys(w for w in words if w in names))
        if group and group not in groups:
            groups.append(group)
    seen = {n for g in groups for n in g}
    groups += [(n,) for n in sorted(names - seen)]
    return tuple(groups)


def split_parts(question: str) -> list[str]:
    """The questions a multi-part question holds, each as its own question."""
    pair = _WH_PAIR_RE.match(question)
    if pair:  # "When and where did it happen?" -> "When did it happen?", "Where did it happen?"
        rest = question[pair.end():]
        return [f"{pair.group('a')}{rest}", f"{pair.group('b').capitalize()}{rest}"]
    pieces = [p.strip(" ,;") for p in _PART_SPLIT_RE.split(question) if p and p.strip(" ,;?")]
    # "On his trip, which cities ...": a lead-in that asks nothing belongs to the question after it
    while len(pieces) > 1 and not _WH_START_RE.search(pieces[0]):
        pieces[:2] = [f"{pieces[0]}, {pieces[1]}"]
    if len(pieces) < 2 or len(lexical.words(pieces[0])) < 3:
        return [question]
    return [p if p.endswith("?") else p + "?" for p in pieces]


def answer_type_of(question: str, language: str = "en") -> tuple[AnswerType, bool]:
    """(expected answer type, asks for several) of a one-part question."""
    words = words_for(language)
    low = " ".join(lexical.words(question.lower()))
    for opening, kind in words.wh_types.items():
        if " " in opening and re.search(rf"\b{opening}\b", low):  # "how many", "how much", ...
            return kind, False
    if words.which_words:  # a language without a parser here: its question words and head nouns
        return _typed_by_words(re.findall(r"\w+(?:-\w+)*", question.lower()), words, language)
    parse = parse_question(question)
    if parse.wh_noun:
        for kind, nouns in words.head_nouns.items():
            if parse.wh_noun in nouns:
                return kind, parse.wh_plural
        return "statement", parse.wh_plural  # "which border clashes": no type to require
    for token in low.split():
        if token in words.wh_types:
            return words.wh_types[token], False
        if token in ("how", "what", "which"):
            break
    return "statement", False


def _typed_by_words(tokens: list[str], words: Words, language: str) -> tuple[AnswerType, bool]:
    """The type a question word fixes, or the head noun of a "which" word (up to two adjectives
    may stand between: "какие иностранные официальные лица")."""
    for i, token in enumerate(tokens):
        if token in words.which_words:
            # after it, or (a Kazakh predicate: "бюджеті қандай болды?") just before it
            for noun in tokens[i + 1 : i + 4] + tokens[max(i - 2, 0) : i][::-1]:
                kind = _head_kind(noun, words, language)
                if kind:
                    several = token in words.plural_which or any(e in noun[-6:] for e in words.plural_endings)
                    return kind, several
            return "statement", token in words.plural_which
        if token in words.wh_types:
            return words.wh_types[token], False
    return "statement", False


@lru_cache(maxsize=1024)  # asked once per candidate sentence of a typed part
def roles_named(question: str, language: str) -> frozenset[str]:
    """The roles a Russian or Kazakh question names, in English ("послом" -> ambassador)."""
    words = words_for(language)
    roles = set()
    for token in re.findall(r"\w+", question.lower()):
        if token in SEARCH_STOPWORDS:  # "после" (after) stems like "посла"
            continue
        for noun, role in words.role_translations.items():
            if _inflected(token, noun, language):
                roles.add(role)
    return frozenset(roles)


def _inflected(word: str, noun: str, language: str) -> bool:
    """Whether `word` is `noun` with an ending: Russian by Snowball stem, Kazakh as a prefix."""
    if language == "ru":
        return lexical.stem(word) == lexical.stem(noun)
    return word.startswith(noun) and len(word) - len(noun) <= 8


def _head_kind(word: str, words: Words, language: str) -> str | None:
    """The answer type whose head noun `word` is an inflected form of (the longest match wins)."""
    best, length = None, 0
    for kind, nouns in words.head_nouns.items():
        for noun in nouns:
            # Kazakh suffixes stack on an unchanging stem: "құрылымдар" is "құрылым" + plural
            if _inflected(word, noun, language) and len(noun) > length:
                best, length = kind, len(noun)
    return best


def _plural(noun: str, nouns: frozenset[str]) -> bool:
    """"countries", "officials": a plural of one of `nouns`, not a singular ending in s ("status")."""
    if not noun.endswith("s") or noun.endswith("ss"):
        return False
    return noun[:-1] in nouns or noun[:-2] in nouns or (noun.endswith("ies") and noun[:-3] + "y" in nouns)


# A later part with this few content words of its own ("and how many in 2022?") is elliptical.
ELLIPTICAL_WORDS = 2


def _with_preposition(periods: list[tuple[str, DateIntent]]) -> list[tuple[str, DateIntent]]:
    """"in 2021 and 2022": the second period written as "in 2022" too, so its part reads whole."""
    lead = periods[0][0].split()[0].lower()
    if lead not in ("in", "on", "during", "of", "for"):
        return periods
    written = [phrase if phrase.split()[0].lower() == lead else f"{lead} {phrase}" for phrase, _ in periods]
    return [(phrase, replace(own, phrase=phrase)) for phrase, (_, own) in zip(written, periods)]


def _part(text: str, names: frozenset[str], words: Words, dates: DateIntent, first: str = "",
          today: date | None = None, language: str = "en", period: DateIntent | None = None) -> QuestionPart:
    """One part; what it searches and is compared with leaves out its date phrase (retrieval
    filters by it: a sentence need not repeat it). `period`: the part's own, one of a list."""
    kind, several = answer_type_of(text, language)
    own = period if period is not None else parse_date_intent(text, today) if first else dates
    if own.empty or own == dates:
        own = dates
    name_stems = {lexical.stem(n) for name in names for n in name.split()}
    bare = own.strip_from(text) if not own.prefer_recent else text
    focus = frozenset(s for s in lexical.content_stems(bare) if s not in name_stems)
    query = bare if bare != text else ""
    if first and len(lexical.content_stems(bare)) <= ELLIPTICAL_WORDS:
        query = f"{bare} {parse_date_intent(first).strip_from(first)}"  # its own period, the first's topic
    return QuestionPart(text, kind, several, focus, query, own if own is not dates else None)


_PRONOUNS = frozenset("i you he she it we they this that these those someone anyone".split())


def _claim(parse, words: Words) -> Claim | None:
    """The subject-verb claim the question presumes, when it has a named subject."""
    if not parse.verb or not parse.subject or parse.negated or parse.verb in ("be", "do", "have"):
        return None
    if parse.subject.lower() in _PRONOUNS:
        return None  # "what did they ...": no one to check the claim against
    rest = parse.after_verb if parse.passive else parse.object
    return Claim(parse.subject, parse.verb, rest, parse.wh, parse.event, parse.passive, parse.after_verb)


def _several(question: str, parts: tuple[QuestionPart, ...], words: Words) -> bool:
    """A question that wants what several releases say: a list, a comparison, several periods."""
    if any(p.several for p in parts) or len(parts) > 1:
        return True
    low = {w.lower() for w in lexical.words(question)}
    if low & words.comparison_words:
        return True
    years = set(re.findall(r"\b(?:19|20)\d\d\b", question))
    months = {w for w in low if w in words.months and w != "may"}
    return len(years) >= 2 or len(months) >= 2


def _asks_for_release(question: str, dates: DateIntent, words: Words) -> bool:
    """"What is the latest release about X?": the answer is a release itself."""
    if not dates.prefer_recent:
        return False
    low = [w.lower() for w in lexical.words(question)]
    return any(w in words.release_nouns for w in low)
