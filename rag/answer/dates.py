"""Dates in questions ("in March 2025", "latest", "last year") and in answers ("last September").

`parse_date_intent` turns the time words of a question into Filters(date_from, date_to) or a
request to prefer recent releases; relative expressions are read against `today`, which the
service sets to the newest release in the store when it can (a corpus of 2021-22 releases
asked about "last year" means 2021, not the calendar year of the machine).

`annotate_relative_dates` resolves relative dates inside a quoted release sentence against
that release's publication date: "last September" in a release of 2025-03-21 becomes
"last September [September 2024]".
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, replace
from datetime import date, timedelta

from rag.answer.lexical import MONTH_NUMBER, MONTHS, STOPWORDS
from rag.types import Filters

_MONTH = r"(?P<{name}>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_YEAR = r"(?P<{name}>(?:19|20)\d\d)"
# One point in time: "21 March 2025", "March 21, 2025", "March 2025", "2025-03-21", "2025".
_POINT = (
    r"(?:(?P<{p}d1>\d{{1,2}})(?:st|nd|rd|th)?\s+" + _MONTH.format(name="{p}m1") + r",?\s+" + _YEAR.format(name="{p}y1")
    + r"|" + _MONTH.format(name="{p}m2") + r"\s+(?P<{p}d2>\d{{1,2}})(?:st|nd|rd|th)?,?\s+" + _YEAR.format(name="{p}y2")
    + r"|" + _MONTH.format(name="{p}m3") + r",?\s+" + _YEAR.format(name="{p}y3")
    + r"|(?P<{p}iso>(?:19|20)\d\d-\d\d(?:-\d\d)?)"
    + r"|" + _YEAR.format(name="{p}y4") + r")"
)
_A, _B = _POINT.format(p="a"), _POINT.format(p="b")
_RANGE_RE = re.compile(rf"\b(?:between|from)\s+{_A}\s+(?:and|to|until|till|-)\s+{_B}\b", re.IGNORECASE)
_SINCE_RE = re.compile(rf"\b(?P<op>since|after|from|before|until|till|by|prior to)\s+{_A}\b", re.IGNORECASE)
_IN_RE = re.compile(rf"\b(?:in|on|during|of|for)?\s*{_A}\b", re.IGNORECASE)
_CONNECTOR_RE = re.compile(r"\s*(?:,\s*)?(?:and|or|&)?\s*", re.IGNORECASE)
_RECENT_RE = re.compile(r"\b(?:latest|most recent(?:ly)?|newest|recent(?:ly)?|last time|current(?:ly)?)\b", re.I)
_RELATIVE_RE = re.compile(
    r"\b(?P<which>last|this|past|previous|current)\s+(?:(?P<n>\d+|two|three|four|six|twelve)\s+)?"
    r"(?P<unit>years?|months?|weeks?|days?)\b",
    re.IGNORECASE,
)
_NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "six": 6, "twelve": 12}


@dataclass(frozen=True)
class DateIntent:
    date_from: date | None = None
    date_to: date | None = None
    prefer_recent: bool = False  # "latest", "most recent": rank by publication date
    phrase: str = ""  # the words that expressed it, e.g. "in March 2025"

    @property
    def empty(self) -> bool:
        return self.date_from is None and self.date_to is None and not self.prefer_recent

    def covers(self, day: date | None) -> bool:
        """Whether a release published on `day` falls in the period (an undated one never does)."""
        return day is not None and (self.date_from is None or day >= self.date_from) and (
            self.date_to is None or day <= self.date_to)

    def merge_into(self, filters: Filters) -> Filters:
        """The user's explicit filters win, field by field. Where the question's own period is
        the filter, undated documents stay in (Filters.undated)."""
        explicit = filters.date_from is not None or filters.date_to is not None
        return replace(
            filters,
            date_from=filters.date_from if filters.date_from is not None else self.date_from,
            date_to=filters.date_to if filters.date_to is not None else self.date_to,
            undated=filters.undated or (not explicit and (self.date_from is not None or self.date_to is not None)),
        )

    def strip_from(self, question: str) -> str:
        """The question without the date phrase, for retrieval ("What did Blinken say in May 2021?")."""
        if not self.phrase or self.phrase not in question:
            return question
        stripped = " ".join(question.replace(self.phrase, " ").split())
        return re.sub(r"\s+([?.!,])", r"\1", stripped) or question


# A year naming an edition rather than a time: "the 2022 Lund Cup", "its 2021 report", "2022 Cup winner".
EDITION = re.compile(r"(?<![\d,.])((?:19|20)\d\d)\s+([A-Za-z][\w-]+)")


def edition_words(text: str) -> set[str]:
    """The words a year names an edition of in `text` ("the 2022 Lund Cup" -> {"lund"}); a year
    followed by a function word ("in 2022 the ...") names a time, not an edition."""
    return {w.lower() for _, w in EDITION.findall(text) if w.lower() not in STOPWORDS}


def edition_years(text: str, words: set[str]) -> set[int]:
    """The years of the editions of `words` that `text` names ("the 2021 Lund Cup" -> {2021})."""
    return {int(year) for year, word in EDITION.findall(text) if word.lower() in words}


_LIST_SPLIT = re.compile(r"\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or|&)\s+", re.IGNORECASE)


def listed_periods(intent: DateIntent, today: date | None = None) -> list[tuple[str, DateIntent]]:
    """The periods a question lists ("in 2021 and in 2022", "the 2020 and 2022 Cups"), each with its
    own phrase; [] for one period, a span ("between 2020 and 2022") or a list whose items do not
    stand alone ("in March or April 2022": "in March" names no year)."""
    if not intent.phrase or intent.prefer_recent or re.search(r"\b(?:between|from)\b", intent.phrase, re.I):
        return []
    pieces = [p for p in _LIST_SPLIT.split(intent.phrase) if p.strip()]
    if len(pieces) < 2:
        return []
    found = [(piece, parse_date_intent(piece, today)) for piece in pieces]
    if any(own.date_from is None or own.phrase.strip() != piece.strip() for piece, own in found):
        return []
    return found


def _point(match: re.Match, p: str) -> tuple[date, date]:
    """The first and last day of the period a matched point names."""
    g = match.groupdict()
    if g.get(f"{p}iso"):
        parts = [int(x) for x in g[f"{p}iso"].split("-")]
        if len(parts) == 3:
            day = date(*parts)
            return day, day
        return _month_span(parts[0], parts[1])
    for i in (1, 2):
        if g.get(f"{p}d{i}"):
            day = date(int(g[f"{p}y{i}"]), _month(g[f"{p}m{i}"]), int(g[f"{p}d{i}"]))
            return day, day
    if g.get(f"{p}m3"):
        return _month_span(int(g[f"{p}y3"]), _month(g[f"{p}m3"]))
    year = int(g[f"{p}y4"])
    return date(year, 1, 1), date(year, 12, 31)


def _month(name: str) -> int:
    low = name.lower()
    return MONTH_NUMBER.get(low) or MONTH_NUMBER[low[:3]]


def _month_span(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def parse_date_intent(question: str, today: date | None = None) -> DateIntent:
    """Date restrictions and recency wishes expressed in a question; empty when there are none."""
    today = today or date.today()
    try:
        return _parse(question, today)
    except ValueError:  # "February 30, 2022": no filter rather than a crash
        return DateIntent()


# Seasons ("in spring 2022", "осенью 2021 года", "2021 жылдың күзінде"), and months and years
# as Russian and Kazakh write them ("в марте 2023 года", "14 июня 2024 г.", "2023 жылғы наурызда",
# "2020 жылы"): the phrase takes the case endings and year words along, so the query loses them.
_YEAR_NUMBER = r"(?P<year>(?:19|20)\d\d)"
_RU_YEAR_WORD = r"(?:\s*(?:года|году|год|г\.|г\b))?"
_RU_MONTHS = {"январ": 1, "феврал": 2, "март": 3, "апрел": 4, "ма": 5, "июн": 6, "июл": 7, "август": 8,
              "сентябр": 9, "октябр": 10, "ноябр": 11, "декабр": 12}
_KK_MONTHS = {"қаңтар": 1, "ақпан": 2, "наурыз": 3, "сәуір": 4, "мамыр": 5, "маусым": 6, "шілде": 7, "тамыз": 8,
              "қыркүйек": 9, "қазан": 10, "қараша": 11, "желтоқсан": 12}
_SEASONS = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12, "весн": 3, "лет": 6, "осен": 9,
            "зим": 12, "көктем": 3, "жаз": 6, "күз": 9, "қыс": 12}  # the season's first month
_WORLD_DATE_RES = (
    re.compile(rf"\b(?:in\s+)?(?:the\s+)?(?P<season>spring|summer|autumn|fall|winter)\s+(?:of\s+)?{_YEAR_NUMBER}\b",
               re.IGNORECASE),
    re.compile(rf"(?<!\w)(?P<season>весн|лет|осен|зим)(?:ой|ом|ью|а|о|ь)\s+{_YEAR_NUMBER}{_RU_YEAR_WORD}", re.IGNORECASE),
    re.compile(rf"(?<!\w)(?:в\s+)?(?:(?P<day>\d{{1,2}})\s+)?(?P<month>{'|'.join(_RU_MONTHS)})(?:[ьяейу]|а|е)?\s+"
               rf"{_YEAR_NUMBER}{_RU_YEAR_WORD}", re.IGNORECASE),
    re.compile(rf"{_YEAR_NUMBER}\s*(?:жыл\w*|ж\.)\s+(?P<season>көктем|жаз|күз|қыс)\w*", re.IGNORECASE),
    re.compile(rf"{_YEAR_NUMBER}\s*(?:жыл\w*|ж\.)\s+(?:(?P<day>\d{{1,2}})\s+)?(?P<month>{'|'.join(_KK_MONTHS)})\w*"
               r"(?:\s+айында)?", re.IGNORECASE),
    re.compile(rf"(?<!\w)(?:в\s+)?{_YEAR_NUMBER}\s*(?:году|года|г\.)", re.IGNORECASE),
    re.compile(rf"{_YEAR_NUMBER}\s*(?:жыл\w*|ж\.)", re.IGNORECASE),
)


def _world_date(question: str) -> DateIntent | None:
    """A season, or a Russian or Kazakh month or year (see _WORLD_DATE_RES); None when there is none."""
    for pattern in _WORLD_DATE_RES:
        m = pattern.search(question)
        if not m:
            continue
        year, g = int(m.group("year")), m.groupdict()
        phrase = m.group().strip()
        if g.get("season"):
            first = _SEASONS[g["season"].lower()]
            start = date(year - 1, 12, 1) if first == 12 else date(year, first, 1)
            end_month = 2 if first == 12 else first + 2
            return DateIntent(start, _month_span(year, end_month)[1], phrase=phrase)
        if g.get("month"):
            name = g["month"].lower()
            month = _RU_MONTHS.get(name) or _KK_MONTHS[name]
            if g.get("day"):
                day = date(year, month, int(g["day"]))
                return DateIntent(day, day, phrase=phrase)
            return DateIntent(*_month_span(year, month), phrase=phrase)
        return DateIntent(date(year, 1, 1), date(year, 12, 31), phrase=phrase)
    return None


def _parse(question: str, today: date) -> DateIntent:
    if found := _world_date(question):
        return found
    if m := _RANGE_RE.search(question):
        return DateIntent(_point(m, "a")[0], _point(m, "b")[1], phrase=m.group())
    if m := _SINCE_RE.search(question):
        first, last = _point(m, "a")
        op = m.group("op").lower()
        if op in ("since", "from"):
            return DateIntent(date_from=first, phrase=m.group())
        if op == "after":
            return DateIntent(date_from=last + timedelta(days=1), phrase=m.group())
        if op in ("before", "prior to"):
            return DateIntent(date_to=first - timedelta(days=1), phrase=m.group())
        return DateIntent(date_to=last, phrase=m.group())  # until / by
    if m := _RELATIVE_RE.search(question):
        return _relative(m, today)
    if m := _IN_RE.search(question):
        first, last = _point(m, "a")
        end = m.end()
        # "in 2021 and in 2022", "in March or April 2022": one filter spanning the periods listed
        while (more := _IN_RE.search(question, end)) and _CONNECTOR_RE.fullmatch(question[end : more.start()]):
            first, last = min(first, _point(more, "a")[0]), max(last, _point(more, "a")[1])
            end = more.end()
        return DateIntent(first, last, phrase=question[m.start() : end].strip())
    if m := _RECENT_RE.search(question):
        return DateIntent(prefer_recent=True, phrase=m.group())
    return DateIntent()


def _relative(m: re.Match, today: date) -> DateIntent:
    which, unit = m.group("which").lower(), m.group("unit").lower().rstrip("s")
    n_text = (m.group("n") or "").lower()
    n = int(n_text) if n_text.isdigit() else _NUMBER_WORDS.get(n_text, 0)
    phrase = m.group()
    if n:  # "last 3 months", "past two weeks": a window ending today
        days = {"year": 365, "month": 30, "week": 7, "day": 1}[unit] * n
        return DateIntent(today - timedelta(days=days), today, phrase=phrase)
    previous = which in ("last", "previous")
    if unit == "year":
        year = today.year - 1 if previous else today.year
        if which == "past":  # "the past year": a rolling window
            return DateIntent(today - timedelta(days=365), today, phrase=phrase)
        return DateIntent(date(year, 1, 1), date(year, 12, 31), phrase=phrase)
    if unit == "month":
        if which == "past":
            return DateIntent(today - timedelta(days=30), today, phrase=phrase)
        year, month = (today.year, today.month)
        if previous:
            year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        return DateIntent(*_month_span(year, month), phrase=phrase)
    if unit == "week":
        if which == "past":
            return DateIntent(today - timedelta(days=7), today, phrase=phrase)
        monday = today - timedelta(days=today.weekday())
        if previous:
            monday -= timedelta(days=7)
        return DateIntent(monday, monday + timedelta(days=6), phrase=phrase)
    return DateIntent(today - timedelta(days=1), today, phrase=phrase)


# ---- relative dates inside a release, resolved against its publication date ----

_MONTH_NAMES = "|".join(m.capitalize() for m in MONTHS)
_IN_RELEASE_RE = re.compile(
    rf"\b(?P<whole>(?:(?P<which>last|next|this|past)\s+(?P<month>{_MONTH_NAMES}))"
    rf"|(?:(?P<month2>{_MONTH_NAMES})\s+(?P<which2>this|last|next)\s+year)"
    # "the last year", "over the next month": a rolling twelve months or thirty days, no calendar one
    rf"|(?:(?<![Tt]he )(?P<which3>[Ll]ast|[Nn]ext|[Tt]his)\s+year)"
    rf"|(?:(?<![Tt]he )(?P<which4>[Ll]ast|[Nn]ext|[Tt]his)\s+month)"
    rf"|yesterday|today|tomorrow)\b(?!\s*\[)",
)


def annotate_relative_dates(text: str, published: date) -> str:
    """Add the absolute date after each relative one: "last September [September 2024]"."""

    def resolve(m: re.Match) -> str:
        whole = m.group("whole")
        label = _resolve(m, published)
        return f"{whole} [{label}]" if label else whole

    return _IN_RELEASE_RE.sub(resolve, text)


def _resolve(m: re.Match, published: date) -> str | None:
    if m.group("month"):
        which, month = m.group("which"), MONTH_NUMBER[m.group("month").lower()]
        if which in ("last", "past"):  # the most recent such month before the release's month
            year = published.year if month < published.month else published.year - 1
        elif which == "next":
            year = published.year if month > published.month else published.year + 1
        else:
            year = published.year
        return f"{MONTHS[month - 1].capitalize()} {year}"
    if m.group("month2"):
        offset = {"this": 0, "last": -1, "next": 1}[m.group("which2")]
        return f"{m.group('month2')} {published.year + offset}"
    if m.group("which3"):
        return str(published.year + {"this": 0, "last": -1, "next": 1}[m.group("which3").lower()])
    if m.group("which4"):
        offset = {"this": 0, "last": -1, "next": 1}[m.group("which4").lower()]
        index = published.year * 12 + published.month - 1 + offset
        return f"{MONTHS[index % 12].capitalize()} {index // 12}"
    word = m.group("whole")
    day = published + timedelta(days={"yesterday": -1, "today": 0, "tomorrow": 1}[word])
    return day.isoformat()
