"""Format-independent text helpers for the readers: whitespace, dates, titles, ids, language."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from datetime import date, datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from rag.sentences import split_sentences

# Spaces other than " ", replaced one by one with str.replace: a regex over every space of a
# 10 MB archive cost 1.4 s, the replace loop and a "  +" regex cost a tenth of that.
_ODD_SPACES = "\t\v\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
_SPACE_RUN = re.compile(r"  +")
_INVISIBLE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]")  # zero-width and soft hyphens
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")  # not \t \n \v \f \r


def normalise_text(text: str) -> str:
    """Body text in one shape for every format: NFC, lines stripped, runs of spaces collapsed,
    paragraphs separated by exactly one blank line, single line breaks inside a paragraph kept."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = _CONTROL.sub(" ", _INVISIBLE.sub("", text.replace("\f", "\n\n")))
    for odd_space in _ODD_SPACES:
        if odd_space in text:
            text = text.replace(odd_space, " ")
    text = _SPACE_RUN.sub(" ", text)
    paragraphs: list[str] = []
    current: list[str] = []
    for line in text.split("\n"):
        line = line.strip(" ")
        if line:
            current.append(line)
        elif current:
            paragraphs.append("\n".join(current))
            current = []
    if current:
        paragraphs.append("\n".join(current))
    return "\n\n".join(paragraphs)


class BadInput(Exception):
    """A problem that spoils a whole file; ``read_file`` turns it into one ReadError."""


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode bytes as UTF-8 (BOM allowed), else in the encoding charset_normalizer finds
    (Windows-1251 Russian, cp1252 Western, KOI8-R, ...) when the result reads as text."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise BadInput("not valid UTF-16 text") from exc
    if b"\x00" in data:
        raise BadInput("binary file (contains NUL bytes), not text")
    try:
        text, encoding = data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = _detected(data)
    if _control_share(text) > 0.01:
        raise BadInput("binary file (control characters), not text")
    return text, encoding


_PREFERRED = ("cp1252", "cp1251", "utf_16")
_MAX_CHAOS = 0.2  # charset_normalizer's "mess" of the best decoding; random bytes score higher


def _detected(data: bytes) -> tuple[str, str]:
    from charset_normalizer import from_bytes

    matches = list(from_bytes(data[:1 << 20]))  # the first MiB tells the encoding; long files stay cheap
    best = matches[0] if matches else None
    if best is None or best.chaos > _MAX_CHAOS:
        raise BadInput("not valid UTF-8 text, and no other text encoding fits")
    # Short Western text reads equally well in several Latin code pages; the most common one wins ties.
    tied = [m for m in matches if m.chaos <= best.chaos and m.coherence >= best.coherence]
    best = next((m for m in tied if m.encoding in _PREFERRED), best)
    encoding = {"windows-1251": "cp1251", "windows-1252": "cp1252"}.get(best.encoding, best.encoding)
    try:
        return data.decode(encoding), encoding
    except (UnicodeDecodeError, LookupError) as exc:
        raise BadInput(f"not valid UTF-8 text, nor {encoding}") from exc


def _control_share(text: str) -> float:
    return len(_CONTROL.findall(text)) / max(len(text), 1)


def declared_charset(content_type: str) -> str:
    """The charset a Content-Type names ("text/html; charset=Windows-1251" -> "windows-1251"), or ""."""
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'").lower()
    return ""


def inline(value: str) -> str:
    """A one-line field (title, source, url): all whitespace collapsed to single spaces."""
    return " ".join(_INVISIBLE.sub("", unicodedata.normalize("NFC", value)).split())


def short_hash(value: str) -> str:
    return hashlib.sha1(value.encode("utf-8")).hexdigest()[:16]


# --- dates --------------------------------------------------------------------------------

_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
_DATE_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%b. %d, %Y", "%d %B %Y", "%d %b %Y", "%d.%m.%Y", "%Y/%m/%d", "%m/%d/%Y")


# 07/03/2025: the 7th of March or July the 3rd, as the archive's other dates tell (RecordBuilder.settled)
SLASH_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\b")


def slash_order(values) -> str | None:
    """"dmy" when some nn/nn/yyyy value can only be day first (25/03/2025), "mdy" when some can only
    be month first (03/25/2025), None when they all could be either (or the archive mixes both)."""
    day_first = month_first = False
    for value in values:
        match = SLASH_DATE.match(value)
        if match:
            day_first |= int(match[1]) > 12
            month_first |= int(match[2]) > 12
    if day_first != month_first:
        return "dmy" if day_first else "mdy"
    return None


def parse_day_first(value: str) -> date | None:
    match = SLASH_DATE.match(value)
    try:
        return date(int(match[3]), int(match[2]), int(match[1])) if match else None
    except ValueError:
        return None


def parse_date(value: Any) -> date | None:
    """A date from ISO 8601 (date or datetime, any offset: the date as written), RFC 2822
    (RSS pubDate), or a few spelled-out forms ("March 21, 2025"); None if it isn't one."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(int(value))
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return _numeric_date(value)
    iso = _ISO_DATE.match(value)
    if iso:
        try:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        except ValueError:
            return None
    try:
        return parsedate_to_datetime(value).date()
    except (TypeError, ValueError, IndexError):
        pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return _spelled_date(value)


# A date a release opens with, for releases whose metadata gives none: a line of its own
# ("21.03.2025", "Published: March 21, 2025", "Velden, 21 March 2025 | 14:30") or a dateline
# ("VELDEN, 21 March 2025 – Minister ..."). Anywhere else in the text a date is what the release
# talks about, not when it was published.
_DATE_SPAN = re.compile(
    r"\d{4}-\d{2}-\d{2}"                                      # 2025-03-21
    r"|\d{1,2}[./]\d{1,2}[./]\d{4}"                           # 21.03.2025, 21/03/2025
    r"|\d{1,2}\s+[^\W\d_]{3,}\.?,?\s+\d{4}(?:\s*(?:года|г\.))?"  # 21 March 2025, 21 марта 2025 года
    r"|[^\W\d_]{3,}\.?\s+\d{1,2},?\s+\d{4}"                  # March 21, 2025
    r"|\d{4}\s*жылғы\s+\d{1,2}\s*[^\W\d_]+"                  # 2025 жылғы 21 наурыз
)
_LEAD_LINES = 3  # non-empty lines looked at
_BEFORE_DATE = 40  # characters a label or a place may take before the date
_TIME_OR_PUNCT = re.compile(r"^[\s.,:;|()\u2013\u2014-]*(?:\d{1,2}:\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?)?[\s.,:;|()]*$",
                            re.IGNORECASE)
_DASH_AFTER = re.compile(r"^\s*[\u2013\u2014-]+\s+\S")


def leading_date(text: str, today: date | None = None) -> date | None:
    """The publication date a release's first lines state (see _DATE_SPAN's comment), or None."""
    today = today or date.today()
    lines = [line.strip() for line in text[:600].split("\n") if line.strip()][:_LEAD_LINES]
    for line in lines:
        found = _line_date(line, today)
        if found:
            return found
    return None


def title_date(title: str, today: date | None = None) -> date | None:
    """A full date a title states anywhere ("21.03.2025 | Minister Lund meets ...", "Press release
    of 4 May 2024: ..."): for a release that has no other date, the best there is."""
    today = today or date.today()
    for match in _DATE_SPAN.finditer(title):
        found = _plausible_date(match.group(0), today)
        if found:
            return found
    return None


_EARLIEST_RELEASE = date(1945, 1, 1)


def _plausible_date(span: str, today: date) -> date | None:
    """The date a matched span states, if a release could bear it (not before 1945, not after today)."""
    found = parse_date(span)
    return found if found and _EARLIEST_RELEASE <= found <= today else None


def _line_date(line: str, today: date) -> date | None:
    """The date a stripped line states as a release's date line or dateline, or None."""
    # Only a line's opening can hold one (a label or place, then the date): a long paragraph's
    # rest is never scanned (every line of every release is asked, at each ingest).
    head = line[:_DATE_LINE_HEAD]
    if not any(ch.isdigit() for ch in head):
        return None
    for match in _DATE_SPAN.finditer(head):
        before, after = line[: match.start()], line[match.end() :]
        if len(before) > _BEFORE_DATE:
            break
        if not (_TIME_OR_PUNCT.match(after) or _DASH_AFTER.match(after)):
            continue
        found = _plausible_date(match.group(0), today)
        if found:
            return found
    return None


_DATE_LINE_HEAD = 120  # characters: _BEFORE_DATE, the longest date span, and room to spare
_HEADING_WORDS = 20  # a line this short without a full stop, just above a date line, is its release's heading
_MIN_RELEASE_WORDS = 12  # a release's heading, date line and body together


def dated_sections(text: str, today: date | None = None) -> list[tuple[int, date]]:
    """(offset, date) where each release of a file that holds several begins: a compilation, a
    digest, an export of a whole archive into one .md, .txt, .docx or PDF. A release begins at a
    date line (as `leading_date` reads one), or at the heading just above it. Fewer than two
    distinct dates: one release, no sections (a date line in a release's body, such as a
    signature's, does not re-date its text)."""
    today = today or date.today()
    sections: list[tuple[int, date]] = []
    previous: tuple[int, str, bool] | None = None  # the last non-empty line: offset, text, after a blank line
    offset, blank_before = 0, True  # the text's start counts as a paragraph break
    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped:
            blank_before = True
        else:
            start = offset + len(line) - len(line.lstrip())
            when = _line_date(stripped, today)
            if when and (not sections or when != sections[-1][1]):  # the same date again: a signature
                # A release opens a paragraph: its heading, or the date line itself. A date alone on
                # a line inside a paragraph is a wrapped line (PDF text), not a new release.
                if (previous is not None and not blank_before and previous[2]
                        and (not sections or sections[-1][0] < previous[0]) and _is_heading(previous[1], today)):
                    sections.append((previous[0], when))
                elif blank_before:
                    sections.append((start, when))
            previous = (start, stripped, blank_before)
            blank_before = False
        offset += len(line) + 1
    # A release has a body: a date line with little text after it ("Published 21 March 2025",
    # then "Last updated 22 March 2025" above one body) joins the next one
    ends = [start for start, _ in sections[1:]] + [len(text)]
    sections = [(start, when) for (start, when), end in zip(sections, ends)
                if len(text[start:end].split()) >= _MIN_RELEASE_WORDS or end == len(text)]
    return sections if len({when for _, when in sections}) >= 2 else []


def _is_heading(line: str, today: date) -> bool:
    return (len(line.split()) <= _HEADING_WORDS and line[-1] not in ".!?;:,"
            and _line_date(line, today) is None)


def _numeric_date(digits: str) -> date | None:
    """20250321 (a compact date), or Unix time in seconds (10 digits) or milliseconds (13), as
    databases export them; None for other numbers (a count is not a date)."""
    try:
        if len(digits) == 8:
            return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
        if len(digits) in (10, 13):
            seconds = int(digits) / (1000 if len(digits) == 13 else 1)
            return datetime.fromtimestamp(seconds, tz=timezone.utc).date()
    except (ValueError, OverflowError, OSError):
        return None
    return None


# Languages whose spelled-out dates the ministries here write ("21 марта 2025 года",
# "2025 жылғы 21 наурыз"); dateparser knows their month names and grammar.
DATE_LANGUAGES = ("en", "ru", "kk")
# Kazakh writes the year first as a genitive ("2025 жылғы" = "of the year 2025"), which dateparser
# does not read; the year moved to the end reads as the usual day-month-year.
_KAZAKH_YEAR_FIRST = re.compile(r"^(\d{4})\s*жылғы\s+(.+?)(?:да|де|та|те)?$", re.IGNORECASE)


def _spelled_date(value: str) -> date | None:
    if len(value) > 60 or not any(ch.isdigit() for ch in value):
        return None
    kazakh = _KAZAKH_YEAR_FIRST.match(value)
    if kazakh:
        value = f"{kazakh[2]} {kazakh[1]}"
    import dateparser

    parsed = dateparser.parse(value, languages=list(DATE_LANGUAGES), settings={"STRICT_PARSING": True})
    return parsed.date() if parsed else None


# A date in a link's path, as news sites and CMSs write it: /2025/03/21/, /2025-03-21-, /20250321/
_URL_DATE = re.compile(r"(?<![\d])((?:19|20)\d{2})([/-])(0[1-9]|1[0-2])\2(0[1-9]|[12]\d|3[01])(?![\d])"
                       r"|/((?:19|20)\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?=[/_.-])")


def url_date(url: str, today: date | None = None) -> date | None:
    """The date a release's link states in its path, or None (the host and query are not read)."""
    if not url:
        return None
    path = urlparse(url).path
    match = _URL_DATE.search(path)
    if not match:
        return None
    year, month, day = (match[1], match[3], match[4]) if match[1] else (match[5], match[6], match[7])
    try:
        found = date(int(year), int(month), int(day))
    except ValueError:
        return None
    return found if found <= (today or date.today()) else None


def date_from_filename(path: Path) -> date | None:
    """The fallback publication date: a YYYY-MM-DD prefix of the file name."""
    return parse_date(path.name[:10]) if _ISO_DATE.match(path.name) else None


# --- txt headers --------------------------------------------------------------------------

# Scraped page-header residue, e.g. " date 2025-03-21 Images | Kazakh MFA": the date, then
# words left over from the page (here an "Images" tab), then "| SOURCE".
_SCRAPED_HEADER = re.compile(r"^date\s+(\d{4}-\d{2}-\d{2})\b[^|\n]*(?:\|\s*(.*?))?$", re.IGNORECASE)
_FIELD_LINE = re.compile(
    r"^(title|date|published|source|publisher|url|link|заголовок|дата|источник|тақырып|күні|дереккөз)\s*:\s*(\S.*)$",
    re.IGNORECASE,
)
# English, Russian and Kazakh header names, as the three-language ministries write them
_FIELD_NAMES = {"published": "date", "publisher": "source", "link": "url", "заголовок": "title", "дата": "date",
                "источник": "source", "тақырып": "title", "күні": "date", "дереккөз": "source"}


def split_txt_header(text: str) -> tuple[dict[str, str], str]:
    """Header fields of a normalised txt body and the body without them.

    Understands the scraped ``date YYYY-MM-DD ... | SOURCE`` line and leading
    ``Title: ...`` / ``Date: ...`` / ``Source: ...`` / ``URL: ...`` lines."""
    lines = text.split("\n")
    header: dict[str, str] = {}
    scraped = _SCRAPED_HEADER.match(lines[0]) if lines else None
    if scraped:
        header["date"] = scraped[1]
        if scraped[2]:
            header["source"] = scraped[2].strip()
        lines = lines[1:]
    else:
        while lines and (field := _FIELD_LINE.match(lines[0])):
            name = field[1].lower()
            header[_FIELD_NAMES.get(name, name)] = field[2].strip()
            lines = lines[1:]
    if not header:
        return header, text
    return header, normalise_text("\n".join(lines))


# --- titles -------------------------------------------------------------------------------

_SLUG_SEPARATORS = re.compile(r"[-_\s]+")
_WORD = re.compile(r"[^\W_]+")


def title_from_filename(path: Path, text: str) -> str:
    """A title from a descriptive file name: "2025-03-21-kazakhstan-albania-political-consultations.txt"
    gives "Kazakhstan Albania political consultations". Each word takes the casing it most often
    has in the body (so names keep their capitals); "" when the name isn't descriptive."""
    stem = re.sub(r"^\d{4}-\d{2}-\d{2}", "", path.stem)
    words = [w for w in _SLUG_SEPARATORS.split(stem) if w]
    if sum(1 for w in words if w.isalpha()) < 2:
        return ""  # "scan0001", "release", "2025-03-21": better to use the text
    casings: dict[str, Counter[str]] = {}
    for found in _WORD.finditer(text):
        token = found.group()
        casings.setdefault(token.lower(), Counter())[token] += 1
    recased = []
    for word in words:
        seen = casings.get(word.lower())
        # A word seen only capitalised (a name) keeps its capital; "The" at a sentence start
        # alongside "the" elsewhere stays lower case.
        recased.append(seen.most_common(1)[0][0] if seen and word.lower() not in seen else word.lower())
    title = " ".join(recased)
    return title[:1].upper() + title[1:]


def title_from_text(text: str, max_chars: int = 90) -> str:
    """The first sentence (or line), cut at a word boundary to fit a citation list. The project's
    sentence splitter knows "Dr." and "U.S." do not end one."""
    line = text.strip().split("\n", 1)[0]
    spans = split_sentences(line)
    first = line[spans[0][0] : spans[0][1]].strip() if spans else line
    if len(first) <= max_chars:
        return first
    return first[:max_chars].rsplit(" ", 1)[0].rstrip(",;:") + "…"


# --- sources ------------------------------------------------------------------------------

# Publishers recognised from a release's URL, for archives whose records don't say who issued them.
KNOWN_PUBLISHERS: dict[str, str] = {
    "state.gov": "U.S. Department of State",
    "whitehouse.gov": "The White House",
    "mfa.gov.kz": "Kazakh MFA",
    "un.org": "United Nations",
    "eeas.europa.eu": "European External Action Service",
}


def publisher_for_url(url: str) -> str:
    host = (urlparse(url).hostname or "").lower() if url else ""
    for domain, publisher in KNOWN_PUBLISHERS.items():
        if host == domain or host.endswith("." + domain):
            return publisher
    return ""


# --- language -----------------------------------------------------------------------------

# English function words that other languages hardly use. langdetect costs ~3 ms a text even
# on 300 characters (6-8 s for the 2,031-release archive, plus ~1 s to load its profiles); a
# text where these make up 7% of the words is English beyond doubt (running English prose:
# ~18%, the archive's terse schedules: >= 8%), so it skips langdetect.
_ENGLISH_MARKERS = frozenset("the of and to that for with was were by this from have has been which their would".split())
_LANGDETECT_CHARS = 1000


def detect_language(text: str) -> str:
    """ISO 639-1 code of the text's language, "" if it can't be told."""
    sample = text[:_LANGDETECT_CHARS]
    words = _WORD.findall(sample.lower())
    if len(words) >= 20 and sum(1 for w in words if w in _ENGLISH_MARKERS) >= 0.07 * len(words):
        return "en"
    try:
        from langdetect import DetectorFactory, detect
        from langdetect.lang_detect_exception import LangDetectException
    except ImportError:
        return ""
    DetectorFactory.seed = 0  # langdetect is random; a fixed seed makes re-ingest give the same answer
    try:
        language = detect(sample).split("-")[0]
    except LangDetectException:
        return ""
    if language in _CYRILLIC and _kazakh_share(sample) >= 0.01:
        return "kk"
    return language


# langdetect has no Kazakh profile: it calls Kazakh Russian, Ukrainian, Bulgarian or Mongolian.
# Of Kazakh's own letters, ә ғ қ ң ұ are in neither Russian, Ukrainian (which has і) nor
# Mongolian (ө, ү); in Kazakh prose they are ~4% of the letters, so even 1% marks a Kazakh text.
_CYRILLIC = frozenset({"ru", "uk", "bg", "mk", "mn", "sr", "be"})
_KAZAKH_LETTERS = frozenset("әғқңұӘҒҚҢҰ")


def _kazakh_share(text: str) -> float:
    letters = [ch for ch in text if ch.isalpha()]
    return sum(ch in _KAZAKH_LETTERS for ch in letters) / max(len(letters), 1)
