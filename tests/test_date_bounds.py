"""rag.date_bounds: the ends of a date filter as people type them (CLI, UI and API alike)."""

from datetime import date

import pytest

from rag.date_bounds import NotADate, parse_bound, parse_range


@pytest.mark.parametrize("text, start, end", [
    ("2025-03-21", date(2025, 3, 21), date(2025, 3, 21)),
    ("21.03.2025", date(2025, 3, 21), date(2025, 3, 21)),
    ("2025-03-21 00:00:00", date(2025, 3, 21), date(2025, 3, 21)),  # what a DateTime field sends
    ("2025-03-21T10:00:00Z", date(2025, 3, 21), date(2025, 3, 21)),
    ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),  # a leap February ends on the 29th
    (" 2025-3 ", date(2025, 3, 1), date(2025, 3, 31)),
    ("2021", date(2021, 1, 1), date(2021, 12, 31)),
])
def test_a_day_a_month_or_a_year(text, start, end):
    assert parse_bound(text) == start
    assert parse_bound(text, end=True) == end


def test_empty_values_and_timestamps():
    assert parse_bound(None) is None and parse_bound("  ") is None
    assert parse_bound(1742515200) == date(2025, 3, 21)  # 2025-03-21T00:00:00Z
    assert parse_bound(date(2025, 1, 2)) == date(2025, 1, 2)


@pytest.mark.parametrize("text, says", [
    ("2025-02-30", "is not a real date (day is out of range for month)"),
    ("2025-13", "is not a real date"),
    ("March 2025", "is not a date: write a day like 2025-03-21"),
    ("21/03/2025", "is not a date"),
    ("2025-03-21x", "is not a date"),
])
def test_what_is_not_a_date_is_named_with_its_field(text, says):
    with pytest.raises(NotADate) as error:
        parse_bound(text, label="--from")
    assert str(error.value).startswith(f"--from {text!r} ") and says in str(error.value)


def test_a_range_that_ends_before_it_starts_is_refused():
    assert parse_range("2022", "2022") == (date(2022, 1, 1), date(2022, 12, 31))
    with pytest.raises(NotADate, match="To 2021-12-31 is before From 2022-01-01"):
        parse_range("2022", "2021")
