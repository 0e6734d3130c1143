"""Date intent in questions and relative dates in answers (pure functions, no models)."""

from datetime import date

import pytest

from rag.answer.dates import annotate_relative_dates, edition_words, listed_periods, parse_date_intent
from rag.types import Filters

TODAY = date(2022, 8, 3)  # the newest release of the demo archive


@pytest.mark.parametrize(
    "question, expected",
    [
        ("What did Blinken say in March 2022?", (date(2022, 3, 1), date(2022, 3, 31))),
        ("What happened in 2021 with Iran?", (date(2021, 1, 1), date(2021, 12, 31))),
        ("Statements on 21 March 2025 about Albania", (date(2025, 3, 21), date(2025, 3, 21))),
        ("What was said on June 3, 2021?", (date(2021, 6, 3), date(2021, 6, 3))),
        ("Releases between May 2021 and July 2021 about Ukraine", (date(2021, 5, 1), date(2021, 7, 31))),
        ("What about Cuba since June 2022?", (date(2022, 6, 1), None)),
        ("Sanctions after March 2022", (date(2022, 4, 1), None)),
        ("Sanctions before 2022", (None, date(2021, 12, 31))),
        ("What did the Department announce last year?", (date(2021, 1, 1), date(2021, 12, 31))),
        ("Anything this year on trade?", (date(2022, 1, 1), date(2022, 12, 31))),
        ("What was announced last month?", (date(2022, 7, 1), date(2022, 7, 31))),
        ("News from the past two weeks", (date(2022, 7, 20), date(2022, 8, 3))),
        # several periods joined by "and"/"or"/commas: one filter spanning all of them
        ("What did Blinken discuss with Tileuberdi in 2021 and in 2022?", (date(2021, 1, 1), date(2022, 12, 31))),
        ("Statements in May 2021, July 2021 or March 2022", (date(2021, 5, 1), date(2022, 3, 31))),
        # a second period that is not part of the list leaves the first alone
        ("What did Rama say in 2023 about the trade of 2024?", (date(2023, 1, 1), date(2023, 12, 31))),
    ],
)
def test_date_phrases_become_filters(question, expected):
    intent = parse_date_intent(question, today=TODAY)
    assert (intent.date_from, intent.date_to) == expected
    assert not intent.prefer_recent


def test_latest_asks_for_recency_not_a_window():
    intent = parse_date_intent("What is the latest on Ukraine?", today=TODAY)
    assert intent.prefer_recent and intent.date_from is None and intent.date_to is None


def test_questions_without_dates_have_no_intent():
    for question in ("What did Albania propose?", "Who leads the 55th session?", "How many people were evacuated?"):
        assert parse_date_intent(question, today=TODAY).empty, question


def test_explicit_filters_win_field_by_field():
    intent = parse_date_intent("What happened in 2021?", today=TODAY)
    merged = intent.merge_into(Filters(date_from=date(2021, 6, 1), sources=("U.S. Department of State",)))
    assert merged.date_from == date(2021, 6, 1)
    assert merged.date_to == date(2021, 12, 31)
    assert merged.sources == ("U.S. Department of State",)
    assert not merged.undated  # the user chose dates: dated releases only


def test_a_questions_own_period_keeps_undated_releases_in():
    """An archive without dates must still answer "who won the 2022 race?"."""
    assert parse_date_intent("What happened in 2021?", today=TODAY).merge_into(Filters()).undated
    assert not parse_date_intent("What happened?", today=TODAY).merge_into(Filters()).undated


def test_the_date_phrase_is_taken_out_of_the_retrieval_query():
    intent = parse_date_intent("What did Blinken say about Ukraine in March 2022?", today=TODAY)
    assert intent.strip_from("What did Blinken say about Ukraine in March 2022?") == "What did Blinken say about Ukraine?"


def test_a_list_of_periods_is_taken_out_of_the_retrieval_query_whole():
    question = "What did Blinken discuss with Tileuberdi in 2021 and in 2022?"
    assert parse_date_intent(question, today=TODAY).strip_from(question) == "What did Blinken discuss with Tileuberdi?"


def test_an_impossible_date_gives_no_filter_rather_than_an_error():
    assert parse_date_intent("What happened on February 30, 2022?", today=TODAY).date_from is None


@pytest.mark.parametrize(
    "text, published, expected",
    [
        ("the UN General Assembly last September, and", date(2025, 3, 21), "last September [September 2024]"),
        ("met last February", date(2025, 3, 21), "last February [February 2025]"),
        ("will visit next April", date(2025, 3, 21), "next April [April 2025]"),
        ("to Kazakhstan in May this year to participate", date(2025, 3, 21), "May this year [May 2025]"),
        ("signed last year", date(2021, 6, 1), "last year [2020]"),
        ("as announced yesterday", date(2022, 1, 1), "yesterday [2021-12-31]"),
    ],
)
def test_relative_dates_in_a_release_are_resolved_against_its_date(text, published, expected):
    assert expected in annotate_relative_dates(text, published)


def test_rolling_periods_are_not_read_as_calendar_ones_and_a_sentence_may_open_with_one():
    text = "Aid reached 30 million crowns in the last year. Last year it was 20 million; over the next month, more."
    annotated = annotate_relative_dates(text, date(2022, 6, 28))
    assert "in the last year." in annotated and "over the next month," in annotated  # twelve months, not 2021
    assert "Last year [2021]" in annotated


def test_annotation_is_idempotent_and_leaves_absolute_dates_alone():
    once = annotate_relative_dates("the UN General Assembly last September", date(2025, 3, 21))
    assert annotate_relative_dates(once, date(2025, 3, 21)) == once
    assert annotate_relative_dates("in September 2023", date(2025, 3, 21)) == "in September 2023"


@pytest.mark.parametrize("question, first, last, phrase", [
    ("Что сказал министр в марте 2023 года?", date(2023, 3, 1), date(2023, 3, 31), "в марте 2023 года"),
    ("Что подписали 14 июня 2024 г.?", date(2024, 6, 14), date(2024, 6, 14), "14 июня 2024 г."),
    ("Сколько стипендий выдали в 2020 году?", date(2020, 1, 1), date(2020, 12, 31), "в 2020 году"),
    ("Кто приезжал в Вельден осенью 2021 года?", date(2021, 9, 1), date(2021, 11, 30), "осенью 2021 года"),
    ("2023 жылғы наурызда министр не айтты?", date(2023, 3, 1), date(2023, 3, 31), "2023 жылғы наурызда"),
    ("2021 жылдың күзінде кім барды?", date(2021, 9, 1), date(2021, 11, 30), "2021 жылдың күзінде"),
    ("2020 жылы не болды?", date(2020, 1, 1), date(2020, 12, 31), "2020 жылы"),
    ("What did Norland announce in spring 2022?", date(2022, 3, 1), date(2022, 5, 31), "in spring 2022"),
    ("Who visited in the winter of 2022?", date(2021, 12, 1), date(2022, 2, 28), "in the winter of 2022"),
])
def test_seasons_and_russian_and_kazakh_months_and_years_filter_the_question(question, first, last, phrase):
    intent = parse_date_intent(question, date(2025, 3, 21))
    assert (intent.date_from, intent.date_to, intent.phrase) == (first, last, phrase)
    assert phrase not in intent.strip_from(question)  # the query loses the whole phrase, year words too


@pytest.mark.parametrize("question,expected", [
    ("What did Norland say in 2021 and in 2022?", [("in 2021", 2021), ("in 2022", 2022)]),
    ("Who won the 2020 and 2022 Velden Cups?", [("2020", 2020), ("2022", 2022)]),
    ("What did Ostravia sign in March 2021 and April 2022?", [("in March 2021", 2021), ("April 2022", 2022)]),
    ("What happened between 2020 and 2022?", []),  # a span, not a list
    ("What did Norland announce in March or April 2022?", []),  # "in March" names no year alone
    ("What did Norland announce in May 2022?", []),
])
def test_a_list_of_periods_is_read_period_by_period(question, expected):
    listed = listed_periods(parse_date_intent(question, TODAY), TODAY)
    assert [(phrase, own.date_from.year) for phrase, own in listed] == expected


def test_a_year_before_a_name_names_an_edition_not_a_time():
    assert edition_words("Who won the 2022 Velden Cup?") == {"velden"}
    assert edition_words("2021 Lund marathon winner") == {"lund"}
    assert edition_words("What did Norland say in 2022?") == set()
    assert edition_words("In 2022 the ministry said") == set()
