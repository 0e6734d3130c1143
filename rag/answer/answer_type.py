"""Expected answer type: a question that asks for a quantity is answered only by a sentence that gives one.

"What was the value of trade between Kazakhstan and Albania in 2024?" retrieves sentences about
their trade that score well on relevance, yet none says how much; quoting them is no answer.
Classic QA checks the expected answer type, and so does this module, for quantities only:

- `quantity`: "how much", "what is the value/amount/cost/share/rate/population... of", "GDP" ...
  A sentence qualifies when it holds a number the question does not: digits ("2,000", "5.7"),
  money ("$266 million"), percentages, number words ("three", "twice", "thousands").
- `count`: "how many", "what is the number of" — the same, and ordinals count too
  ("the 30th anniversary" answers "how many years", "the third visit" "how many times").

- `holder`: "Who is/was [the] [X's] <office> [of/to ...]?" ("Who is Albania's ambassador to Kazakhstan?"):
  a sentence qualifies when it names the office and someone who is not in the question
  ("Ambassador Zalmay Khalilzad"); a sentence on the two countries' relations does not.

Never a quantity: years (2024, the 1990s), dates (June 12, 12/06/2021), times of day, numbers
inside names and identifiers (COVID-19, 5G, C5+1, Executive Order 14033, Section 7031(c)),
referring numerals ("the two countries"), and numbers the question already contains.

Any other question has no expected type and is handled exactly as before. Deterministic
string work, like rag.answer.lexical.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from rag.answer import lexical

AnswerKind = Literal["quantity", "count", "holder"]

# ---- what the question asks for ----

# Head nouns of "what is/was the ___ (of ...)" that ask for a number.
QUANTITY_NOUNS = frozenset(
    """value values amount amounts cost costs price prices budget budgets total totals sum sums size share shares
    percentage percentages percent proportion proportions rate rates gdp worth volume volumes turnover population
    populations toll revenue revenues debt deficit surplus spending expenditure expenditures inflation unemployment
    growth figure figures""".split()
)
COUNT_NOUNS = frozenset("number numbers count tally".split())
# "What percentage of ...", "what share of ...": the noun right after "what/which".
_WHAT_NOUN_RE = re.compile(
    r"\b(?:what|which)\s+(?P<noun>percentage|percent|share|proportion|fraction|portion|amount|sum|number)\b",
    re.IGNORECASE,
)
_BE = r"(?:is|was|are|were|will\s+be|would\s+be|has\s+been|have\s+been|had\s+been)"
# "what is/was <noun phrase>": the noun phrase runs to the first word that cannot be in it.
_WHAT_IS_RE = re.compile(rf"\b(?:what|which)\s+{_BE}\s+(?P<np>[^?.,;:]*)", re.IGNORECASE)
_NP_END = frozenset(
    """of for in on at between to from with by about among during that which who whom whose did does do has have had
    is was are were will would could can should and or than as after before since under over per according""".split()
)
_HOW_MUCH_RE = re.compile(r"\bhow\s+much\b(?:\s+(?P<next>[a-z]+))?", re.IGNORECASE)
_HOW_MANY_RE = re.compile(r"\bhow\s+many\b", re.IGNORECASE)
# "How much progress/influence ...": a degree, not a figure.
_DEGREE_NOUNS = frozenset(
    "progress influence attention importance emphasis confidence trust pressure effort efforts say".split()
)
# Date questions ask for a date, whatever else they contain.
_DATE_QUESTION_RE = re.compile(
    r"^\s*(?:when|(?:on\s+|in\s+)?(?:what|which)\s+(?:date|day|year))\b", re.IGNORECASE
)


# Offices a "who is the ...?" question asks the holder of.
OFFICE_NOUNS = frozenset(
    """ambassador ambassadors minister ministers president presidents premier secretary secretaries spokesperson
    spokesman spokeswoman envoy envoys representative representatives head heads chair chairman chairwoman
    chairperson director governor mayor leader leaders commander coordinator chief consul chargé deputy
    undersecretary counterpart counterparts""".split()
)
# A word of a question's noun phrase ("U.S.", "Uzbekistan's"), and a word as a holder's name is matched.
_NP_WORD_RE = re.compile(r"[A-Za-z][\w.’'\-]*")
_NAME_WORD_RE = re.compile(r"[A-Za-z][\w’'\-]*")
_WHO_IS_RE = re.compile(r"^\s*who\s+(?:is|was|are|were|has\s+been|had\s+been)\s+(?P<np>[^?,;:]*)", re.IGNORECASE)


def expected_kind(question: str) -> AnswerKind | None:
    """"count", "quantity", "holder", or None for a question that expects no particular kind."""
    if _DATE_QUESTION_RE.match(question):
        return None
    if _office(question):
        return "holder"
    if _HOW_MANY_RE.search(question):
        return "count"
    much = _HOW_MUCH_RE.search(question)
    if much and (much.group("next") or "").lower() not in _DEGREE_NOUNS:
        return "quantity"
    noun = _WHAT_NOUN_RE.search(question)
    if noun:
        return "count" if noun.group("noun").lower() == "number" else "quantity"
    for match in _WHAT_IS_RE.finditer(question):
        head = _head_noun(match.group("np"))
        if head in COUNT_NOUNS:
            return "count"
        if head in QUANTITY_NOUNS:
            return "quantity"
    return None


def _office(question: str) -> str:
    """The office a "who is the ...?" question asks about, lower-case, or "" ("Who is X's ambassador" -> "ambassador")."""
    match = _WHO_IS_RE.match(question)
    if not match:
        return ""
    for word in _NP_WORD_RE.findall(match.group("np")):
        low = _bare(word)
        if low in OFFICE_NOUNS:
            return low.rstrip("s") if low.endswith("s") and low[:-1] in OFFICE_NOUNS else low
        if low in _NP_END:
            return ""
    return ""


def _head_noun(phrase: str) -> str:
    """The last word of the noun phrase at the start of `phrase`: "Uzbekistan's GDP growth rate" -> "rate"."""
    head = ""
    for word in _NP_WORD_RE.findall(phrase):
        low = word.lower()
        if low in _NP_END:
            break
        head = _bare(low)
    return head


def _bare(word: str) -> str:
    """Lower-case, without a possessive 's: "Albania's" -> "albania"."""
    return re.sub(r"['’]s$", "", word.lower())


# ---- what a sentence offers ----

_UNITS = {
    "zero": 0, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000, "million": 10**6,
    "billion": 10**9, "trillion": 10**12, "dozen": 12, "twice": 2, "thrice": 3, "half": 0.5,
}
# Plural scales are quantities on their own: "thousands of Afghans", "millions of dollars".
_VAGUE = frozenset("dozens hundreds thousands millions billions trillions".split())
_SCALES = frozenset("hundred thousand million billion trillion mn bn m k".split()) | _VAGUE
_ORDINAL_WORDS = frozenset(
    """third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth fifteenth sixteenth
    seventeenth eighteenth nineteenth twentieth thirtieth fortieth fiftieth sixtieth seventieth eightieth ninetieth
    hundredth thousandth""".split()
)
# A number word after one of these refers to things already known: "the two countries", "our two nations".
_REFERRING = frozenset("the these those our their its his her your my both all each".split())
# Words after which a number is an identifier: "Executive Order 14033", "Resolution 2231", "Section 7031(c)".
_IDENTIFIER_WORDS = frozenset(
    """order orders resolution resolutions section sections article articles no no. number chapter title law act
    decree phase flight rule paragraph annex protocol amendment regulation directive e.o. eo h.r. s.""".split()
)
_MONTH_WORDS = frozenset(lexical.MONTH_NUMBER) | {"sept."} | {m[:3] + "." for m in lexical.MONTHS}
_CURRENCY_BEFORE = re.compile(r"(?:[$€£¥₸]|\b(?:US\$|USD|EUR|GBP|KZT|UZS|Rs\.?))\s?$", re.IGNORECASE)
_PERCENT_AFTER = re.compile(r"^\s?(?:%|percent\b|per\s+cent\b|percentage\s+points?\b)", re.IGNORECASE)

TIME_UNITS = frozenset(
    "year years month months week weeks day days decade decades hour hours minute minutes century centuries".split()
)
_CURRENCY_WORDS = frozenset(
    "dollars dollar euros euro pounds tenge som soum sum lek leks dinars dinar rubles usd eur".split()
)
# A question with one of these asks about a span of time, which "30 years" or "a two-day visit" answers.
_TIME_QUESTION_WORDS = TIME_UNITS | {"time", "duration", "period"}
_HOW_LONG_RE = re.compile(r"\bhow\s+(?:long|old)\b", re.IGNORECASE)
_MONTH_AFTER_RE = re.compile(r"^(?:\s+of)?\s+(?:" + "|".join(lexical.MONTHS) + r")\b", re.IGNORECASE)
_CLOCK_AFTER_RE = re.compile(r"^\s?[ap]\.?m\b", re.IGNORECASE)
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z.’']*(?:-[A-Za-z]+)*")


@dataclass(frozen=True)
class Quantity:
    text: str  # as written: "2,000", "three", "30th"
    value: str  # normalised for comparison with the question's numbers: "2000", "3", "30"
    ordinal: bool = False
    unit: str = ""  # the word after it, lower-case: "years", "percent", "afghans"

    @property
    def duration(self) -> bool:
        """A span of time ("30 years ago", "a two-day visit"): it answers how long, not how much."""
        return self.unit in TIME_UNITS


def quantities(text: str) -> list[Quantity]:
    """Every quantity in `text`, in order (ordinals marked); years, dates, identifiers left out."""
    found = [q for q in (_digit_quantity(text, m) for m in _NUMBER_RE.finditer(text)) if q]
    found += [q for q in (_word_quantity(text, m) for m in _WORD_RE.finditer(text)) if q]
    return found


def _digit_quantity(text: str, match: re.Match) -> Quantity | None:
    token = match.group().rstrip(".,")
    start, end = match.start(), match.start() + len(token)
    before, after = text[:start], text[end:]
    prev_char = before[-1:] if before else ""
    # Part of a name or code: COVID-19, G7, F-16, C5+1, 7031(c), 1.2.3
    if prev_char.isalpha() or re.search(r"(?:[A-Za-z][\-/]|\d\+)$", before) or re.match(r"^\+\d", after):
        return None
    if re.match(r"^[.,]\d", after) or re.match(r"^\([a-z]\)", after):
        return None
    ordinal = bool(re.match(r"^(?:st|nd|rd|th)\b", after, re.IGNORECASE))
    tail = after[2:] if ordinal else after
    if not ordinal and re.match(r"^[A-Za-z]", tail) and not re.match(r"^(?:%|mn\b|bn\b|m\b|k\b|s\b)", tail):
        return None  # 5G, 3D
    if re.match(r"^s\b", tail):  # the 1990s
        return None
    previous = _previous_word(before)
    if previous in _IDENTIFIER_WORDS and not _CURRENCY_BEFORE.search(before):
        return None
    # Dates and times: "June 12", "12 June", "12/06/2021", "2021-06-12", "10:30", "10 a.m.", "the 28th of June"
    if previous in _MONTH_WORDS or _MONTH_AFTER_RE.match(tail):
        return None
    if re.match(r"^[/:]\d", after) or re.search(r"\d[/:]$", before) or _CLOCK_AFTER_RE.match(tail):
        return None
    if re.match(r"^-\d{2}-\d{2}", after) or re.search(r"\d{4}-(?:\d{2}-)?$", before):
        return None
    value = token.replace(",", "")
    money = bool(_CURRENCY_BEFORE.search(before))
    scaled = _next_word(tail) in _SCALES | _CURRENCY_WORDS or bool(_PERCENT_AFTER.match(tail))
    if not money and not scaled and not ordinal and "," not in token and "." not in token:
        if len(value) == 4 and 1000 <= int(value) <= 2199:
            return None  # a year
        if re.search(r"\d{4}\s?[–—-]\s?$", before):
            return None  # 2021-22
        if len(value) >= 5:
            return None  # prose writes 14,033; a bare 14033 is an identifier
    return Quantity(token, _normalise(value), ordinal, _next_word(tail))


def _word_quantity(text: str, match: re.Match) -> Quantity | None:
    word = match.group().lower().rstrip(".")
    parts = word.split("-")
    head = parts[0]
    after = text[match.end():]
    unit = parts[-1] if len(parts) > 1 else _next_word(after)
    if head in _ORDINAL_WORDS or (len(parts) > 1 and parts[-1] in _ORDINAL_WORDS):
        return Quantity(match.group(), word, ordinal=True, unit=unit)
    if head in _VAGUE:
        return Quantity(match.group(), head, unit=unit)
    if head not in _UNITS:
        return None
    if len(parts) > 1 and parts[-1] in {"way", "sided", "party", "tier"}:
        return None  # two-way trade, a two-sided deal
    previous = _previous_word(text[: match.start()])
    if previous in _REFERRING and _next_word(after) not in _SCALES:
        return None  # the two countries
    if head == "half" and previous in {"first", "second", "latter", "other"}:
        return None  # the second half of 2021
    if head in _SCALES and re.search(r"\d\s*$", text[: match.start()]):
        return None  # "266 million": the digits already count
    if head in _SCALES and _previous_word(text[: match.start()]) in _UNITS:
        return None  # "three hundred": counted at "three"
    return Quantity(match.group(), str(_UNITS[head]), unit=unit)


def _previous_word(before: str) -> str:
    words = re.findall(r"[A-Za-z][A-Za-z.’']*", before[-40:])
    return words[-1].lower() if words else ""


def _next_word(after: str) -> str:
    match = re.match(r"^[\s\-]*([A-Za-z]+)", after)
    return match.group(1).lower() if match else ""


def _normalise(value: str) -> str:
    if "." in value:
        value = value.rstrip("0").rstrip(".")
    return value.lstrip("0") or "0"


# ---- the check ----


@dataclass(frozen=True)
class ExpectedAnswer:
    kind: AnswerKind
    given: frozenset[str]  # normalised values of the question's own numbers: they answer nothing
    durations: bool = False  # the question is about a span of time ("how many years"): "30 years" answers it
    names: frozenset[str] = frozenset()  # the question's names (lexical.critical_tokens), lower-case
    office: str = ""  # for "holder": the office asked about, lower-case singular ("ambassador")
    question_words: frozenset[str] = frozenset()  # for "holder": the question's words, lower-case

    def accepts(self, sentence: str) -> bool:
        """Whether the sentence gives an answer of the expected kind that the question does not."""
        if self.kind == "holder":
            return self._names_a_holder(sentence)
        return any(
            q.value not in self.given
            and (self.kind == "count" or not q.ordinal)
            and (self.durations or not q.duration)
            for q in quantities(sentence)
        )

    def _names_a_holder(self, sentence: str) -> bool:
        """The office is named, and so is a person or body the question does not name."""
        words = _NAME_WORD_RE.findall(sentence)
        lows = [_bare(w) for w in words]
        if not any(low == self.office or low == self.office + "s" for low in lows):
            return False
        return any(
            word[0].isupper() and low not in self.question_words and low not in OFFICE_NOUNS
            and low not in lexical.STOPWORDS and low not in _MONTH_WORDS
            for word, low in zip(words[1:], lows[1:])  # a sentence's first word is capitalised anyway
        )

    def names_missing(self, text: str) -> frozenset[str]:
        """The question's names that `text` (a passage with its title) does not mention."""
        return frozenset(n for n in self.names if not mentions(n, text))


def expected_answer(question: str) -> ExpectedAnswer | None:
    """The answer type the question expects, or None when any relevant sentence may answer it."""
    kind = expected_kind(question)
    if kind is None:
        return None
    given = {q.value for q in quantities(question)}
    given |= {_normalise(m.group().replace(",", "")) for m in _NUMBER_RE.finditer(question)}
    given |= {str(_UNITS[w.lower()]) for w in _WORD_RE.findall(question) if w.lower() in _UNITS}
    words = {w.lower() for w in re.findall(r"[A-Za-z]+", question)}
    durations = bool(words & _TIME_QUESTION_WORDS) or bool(_HOW_LONG_RE.search(question))
    names = frozenset(lexical.critical_names(question))
    if kind == "holder":
        return ExpectedAnswer(kind, frozenset(), False, names, _office(question),
                              frozenset(_bare(w) for w in _NAME_WORD_RE.findall(question)))
    return ExpectedAnswer(kind, frozenset(given), durations, names)


_ABBREVIATION_RE = re.compile(r"\b(?:[A-Z]\.){2,}|\b[A-Z]{2,4}\b")


def mentions(name: str, text: str) -> bool:
    """lexical.mentions, plus abbreviations of the name's country: "U.S." and "US" mention "united" and "states"."""
    if lexical.mentions(name, text):
        return True
    return any(
        name in lexical.canonical_agent(abbr.replace(".", "")).split()
        for abbr in set(_ABBREVIATION_RE.findall(text))
    )
