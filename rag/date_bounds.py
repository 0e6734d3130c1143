"""The ends of a date filter as people type them: a day, a month or a year.

"2025-03" as a From date means 1 March, as a To date 31 March, so "from 2024 to 2024" is the year
2024. One parser for the CLI's --from/--to, the UI's fields and the API, so they agree on what is a
date and say the same thing when something is not.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timezone

FORMATS_HELP = "write a day like 2025-03-21 (or 21.03.2025), a month like 2025-03, or a year like 2025"

_YEAR = re.compile(r"(\d{4})")
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T][\d:.+-]*Z?)?")  # a datetime's time part is ignored
_DAY_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")  # how Russian and Kazakh releases write dates


class NotADate(ValueError):
    """The message names the field and the text, and says what would be accepted."""


def parse_bound(value: object, *, end: bool = False, label: str = "date") -> date | None:
    """The first day (or, with end=True, the last day) that `value` covers; None when it is empty.
    Timestamps (from the API) are read as UTC days."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=timezone.utc).date()
    text = str(value).strip()
    try:
        if m := _DAY.fullmatch(text):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _DAY_DOTTED.fullmatch(text):
            return date(int(m[3]), int(m[2]), int(m[1]))
        if m := _MONTH.fullmatch(text):
            year, month = int(m[1]), int(m[2])
            return date(year, month, calendar.monthrange(year, month)[1] if end else 1)
        if m := _YEAR.fullmatch(text):
            return date(int(m[1]), 12, 31) if end else date(int(m[1]), 1, 1)
    except ValueError as error:  # 2025-02-30, month 13
        raise NotADate(f"{label} {text!r} is not a real date ({error})") from None
    raise NotADate(f"{label} {text!r} is not a date: {FORMATS_HELP}")


def parse_range(date_from: object, date_to: object, from_label: str = "From",
                to_label: str = "To") -> tuple[date | None, date | None]:
    """Both ends; NotADate when either is unreadable or the range is empty (To before From)."""
    start = parse_bound(date_from, label=from_label)
    end = parse_bound(date_to, end=True, label=to_label)
    if start and end and start > end:
        raise NotADate(f"{to_label} {end.isoformat()} is before {from_label} {start.isoformat()}")
    return start, end
