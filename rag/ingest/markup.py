"""Markup to plain text for the readers: Markdown (with front matter) and HTML pages."""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

# --- Markdown -----------------------------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_FENCE = re.compile(r"^\s*(```|~~~)")
_ATX_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_SETEXT_UNDERLINE = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_RULE = re.compile(r"^\s{0,3}([-*_])(?:\s*\1){2,}\s*$")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
_QUOTE_MARKER = re.compile(r"^\s*(?:>\s?)+")
_REFERENCE_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s+\S+")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_INLINE_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # image -> alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # link -> link text
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # reference link -> link text
    (re.compile(r"<(https?://[^>\s]+)>"), r"\1"),  # autolink
    (re.compile(r"`([^`]+)`"), r"\1"),  # inline code
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),  # strong
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),  # *emphasis*
    (re.compile(r"(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)"), r"\1"),  # _emphasis_, not snake_case
    (re.compile(r"~~(.+?)~~"), r"\1"),  # strikethrough
    (re.compile(r"</?[A-Za-z][^>]*>"), ""),  # inline HTML tags
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>])"), r"\1"),  # backslash escapes
)


def split_front_matter(markdown: str) -> tuple[dict[str, Any], str]:
    """YAML front matter (``---`` ... ``---``) as a dict, and the Markdown after it."""
    found = _FRONT_MATTER.match(markdown)
    if not found:
        return {}, markdown
    fields: Any = None
    try:
        import yaml

        fields = yaml.safe_load(found.group(1))
    except Exception:  # malformed YAML or no PyYAML: fall back to plain "key: value" lines
        fields = None
    if not isinstance(fields, dict):
        pairs = (line.split(":", 1) for line in found.group(1).splitlines() if ":" in line)
        fields = {key.strip(): value.strip().strip("\"'") for key, value in pairs}
    return {str(k).lower(): v for k, v in fields.items()}, markdown[found.end() :]


def markdown_to_text(markdown: str, title_from_heading: bool = True) -> tuple[str, str]:
    """(title, text): the first level-1 heading, and the Markdown with its syntax removed.

    Headings become paragraphs of their own; list items stay one per line. With
    ``title_from_heading=False`` (the title is known already) every heading stays in the text."""
    title = ""
    out: list[str] = []
    lines = markdown.splitlines()
    in_fence = False
    for number, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
            out.append("")
            continue
        if in_fence:
            out.append(line)
            continue
        if _SETEXT_UNDERLINE.match(line) and out and out[-1].strip() and number > 0 and lines[number - 1].strip():
            # "Title\n=====": the previous line was a heading
            heading = out.pop()
            if line.strip().startswith("=") and title_from_heading and not title:
                title = heading
            else:
                out.extend(["", heading, ""])
            continue
        if "|" in line and _TABLE_SEPARATOR.match(line):
            continue  # the |---|---| row under a table header
        if _RULE.match(line) or _REFERENCE_DEFINITION.match(line):
            out.append("")
            continue
        heading = _ATX_HEADING.match(line)
        if heading:
            text = _strip_inline(heading.group(2))
            if len(heading.group(1)) == 1 and title_from_heading and not title:
                title = text  # the document's title: kept out of the body
            else:
                out.extend(["", text, ""])
            continue
        line = _LIST_MARKER.sub("", _QUOTE_MARKER.sub("", line))
        if line.strip().startswith("|") and line.strip().endswith("|"):
            line = line.strip().strip("|")
        out.append(_strip_inline(line))
    return title, "\n".join(out)


def _strip_inline(text: str) -> str:
    for pattern, replacement in _INLINE_RULES:
        text = pattern.sub(replacement, text)
    return html.unescape(text)


# --- HTML ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HtmlPage:
    text: str
    title: str = ""
    date: str = ""
    site_name: str = ""
    url: str = ""
    language: str = ""


# Meta tags that carry a publication date, most specific first.
_DATE_META = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "publishdate",
    "publish-date",
    "pubdate",
    "publication_date",
    "dc.date.issued",
    "dcterms.date",
    "dc.date",
    "date",
    "sailthru.date",
    "citation_publication_date",
)
# Elements that are never main text.
_SKIP = frozenset("script style noscript template svg nav header footer aside form button select iframe head".split())
_BLOCK = frozenset(
    "p div section article main li ul ol dl dt dd table tr h1 h2 h3 h4 h5 h6 blockquote pre figure figcaption "
    "address hr".split()
)
# Pruned before trafilatura looks: on a page with little text it otherwise falls back to the menu.
_NOT_MAIN_XPATH = ["//nav", "//footer", "//aside", "//header[not(ancestor::article)]"]
_VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())


def html_to_text(page: str) -> HtmlPage:
    """Main text by trafilatura (navigation, boilerplate and scripts removed), falling back to a
    plain extractor when trafilatura finds nothing; title and date from the head's meta tags."""
    parser = _PageParser()
    try:
        parser.feed(page)
        parser.close()
    except Exception:  # HTMLParser is lenient; keep whatever it gathered before giving up
        pass
    site_name = parser.meta.get("og:site_name", "") or parser.meta.get("application-name", "")
    headline, title_site = _headline(parser.title, parser.first_h1, site_name)
    title = parser.meta.get("og:title") or headline
    visible = parser.text()
    text = _trafilatura_text(page) or visible
    first, _, rest = text.strip().partition("\n\n")
    if title and first.strip() == " ".join(title.split()) and rest:
        text = rest  # the headline repeats the title; it travels with every chunk anyway
    first, _, rest = text.strip().partition("\n\n")
    if rest and date_line(first) == " ".join(first.split()):
        text = rest  # a dateline paragraph ("21 March 2025, 10:25"): the date is metadata
    return HtmlPage(
        text=text,
        title=title,
        date=next((parser.meta[key] for key in _DATE_META if parser.meta.get(key)), "") or parser.time
        or date_line(visible),
        site_name=site_name or title_site,
        url=parser.canonical or parser.meta.get("og:url", ""),
        language=parser.language.split("-")[0].lower(),
    )


def fragment_to_text(html: str) -> str:
    """The visible text of an HTML fragment (a feed entry's content), paragraphs kept: no
    page-level extraction, which would throw away a fragment's whole text as boilerplate."""
    if "<" not in html:
        return html
    parser = _PageParser()
    try:
        parser.feed(html)
        parser.close()
    except Exception:
        pass
    return parser.text()


# " | ", " - ", " — ", " :: " between a headline and the site's name in a <title>
_TITLE_SEPARATOR = re.compile(r"\s+(?:[|\u2013\u2014-]|::)\s+")


def _headline(title: str, h1: str, site_name: str) -> tuple[str, str]:
    """(headline, the site's name if the <title> gave it). A <title> is often the headline and the
    site's name joined by a separator ("Headline | Ministry"); the <h1> tells which part is which."""
    title, h1 = " ".join(title.split()), " ".join(h1.split())
    if not title:
        return h1, ""
    parts = _TITLE_SEPARATOR.split(title)
    if len(parts) > 1:
        if site_name and parts[-1].strip().lower() == site_name.strip().lower():
            return " - ".join(parts[:-1]), ""
        if site_name and parts[0].strip().lower() == site_name.strip().lower():
            return " - ".join(parts[1:]), ""
        if h1 and len(h1.split()) >= 3:
            rest = title[len(h1):]
            separator = _TITLE_SEPARATOR.match(rest)
            if title.startswith(h1) and separator:
                return h1, rest[separator.end():].strip()
            if title.endswith(h1):
                head = title[: -len(h1)]
                cut = list(_TITLE_SEPARATOR.finditer(head))
                if cut and cut[-1].end() == len(head):
                    return h1, head[: cut[-1].start()].strip()
    return title, ""


# A line of a page that holds only a date (and perhaps a time): "21 March 2025, 10:25",
# "21 марта 2025 года", "2025 жылғы 21 наурыз". Looked for in the first lines of the visible
# text when no meta tag or <time> gives the date; the site's own format, in its language.
_DATE_LINE_MAX_CHARS = 60
_DATE_LINES_LOOKED_AT = 40
_YEAR = re.compile(r"\b(19|20)\d{2}\b")
_CLOCK = re.compile(r"[,\s]*\b\d{1,2}:\d{2}(?::\d{2})?\b\s*$|^\s*\d{1,2}:\d{2}(?::\d{2})?[,|\s]*")


def date_line(visible_text: str) -> str:
    from rag.ingest.text import parse_date

    lines = [" ".join(line.split()) for line in visible_text.splitlines()]
    for line in [line for line in lines if line][:_DATE_LINES_LOOKED_AT]:
        if len(line) > _DATE_LINE_MAX_CHARS or not _YEAR.search(line):
            continue
        for candidate in (line, _CLOCK.sub("", line), _CLOCK.sub("", line).rstrip(" .,")):
            if candidate and parse_date(candidate):
                return candidate
    return ""


def _trafilatura_text(page: str) -> str:
    try:
        import trafilatura
    except ImportError:
        return ""
    logging.getLogger("trafilatura").setLevel(logging.ERROR)  # it warns about every short page
    try:
        text = trafilatura.extract(
            page, include_comments=False, include_tables=True, deduplicate=False, prune_xpath=_NOT_MAIN_XPATH
        )
    except Exception:
        return ""
    # trafilatura puts one paragraph per line; our paragraphs are separated by a blank line
    return "\n\n".join(line for line in (text or "").splitlines() if line.strip())


class _PageParser(HTMLParser):
    """One pass over a page: head metadata, and the visible text outside navigation and boilerplate."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title = ""
        self.first_h1 = ""
        self.canonical = ""
        self.language = ""
        self.time = ""
        self._parts: list[str] = []
        self._skip_depth = 0
        self._open: list[str] = []
        self._capture: str | None = None  # "title" or "h1" while inside one
        self._captured: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value or "" for name, value in attrs}
        if tag == "html" and values.get("lang"):
            self.language = values["lang"]
        elif tag == "meta":
            key = (values.get("property") or values.get("name") or values.get("itemprop") or "").lower()
            if key and values.get("content") and key not in self.meta:
                self.meta[key] = " ".join(values["content"].split())
        elif tag == "link" and "canonical" in values.get("rel", "").lower().split():
            self.canonical = values.get("href", "")
        elif tag == "time" and values.get("datetime") and not self.time:
            self.time = values["datetime"]
        if tag in ("title", "h1") and self._capture is None:
            self._capture, self._captured = tag, []
        if tag in _VOID:
            if tag in ("br", "hr") and not self._skip_depth:
                self._parts.append("\n" if tag == "br" else "\n\n")
            return
        self._open.append(tag)
        if tag in _SKIP:
            self._skip_depth += 1
        elif tag in _BLOCK and not self._skip_depth:
            self._parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._capture:
            captured = " ".join("".join(self._captured).split())
            if tag == "title" and not self.title:
                self.title = captured
            elif tag == "h1" and not self.first_h1:
                self.first_h1 = captured
            self._capture = None
        if tag not in self._open:
            return  # a stray end tag
        while self._open:  # close everything left open inside it (unclosed <p>, <li>)
            closed = self._open.pop()
            if closed in _SKIP:
                self._skip_depth -= 1
            if closed == tag:
                break
        if tag in _BLOCK and not self._skip_depth:
            self._parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._capture is not None:
            self._captured.append(data)
        if not self._skip_depth:
            self._parts.append(data)

    def text(self) -> str:
        return "".join(self._parts)
