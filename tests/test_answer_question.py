"""Question analysis: one typed Question per question, read by the service, the retriever and the eval."""

from datetime import date

import pytest

from rag.answer.question import analyse, answer_type_of, split_parts
from rag.types import Filters


@pytest.mark.parametrize(
    "question, kind, several",
    [
        ("Who chaired the harbour talks?", "agent", False),
        ("Which envoys attended the summit in Brunnhaven?", "person", True),
        ("Which agency will run the new grain fund?", "organisation", False),
        ("Where will the next round of talks be held?", "place", False),
        ("In which cities did the minister stop?", "place", True),
        ("When was the fisheries accord signed?", "date", False),
        ("How many bridges will the relief money repair?", "number", False),
        ("What was the total value of the flood relief?", "number", False),
        ("What share of grain exports crosses the strait?", "number", False),
        ("Which treaty did the two ministers sign?", "name", False),
        ("Why did the minister cancel her trip?", "reason", False),
        ("What did the two sides agree on?", "statement", False),
        ("How did the ambassador describe the talks?", "statement", False),
        ("Did the sides discuss tourism?", "statement", False),
        ("harbour fees ferry schedule 2023", "statement", False),
    ],
)
def test_the_expected_answer_type(question, kind, several):
    assert answer_type_of(question) == (kind, several)


def test_a_multi_part_question_is_answered_part_by_part():
    assert split_parts("Who signed the memorandum and what does it fund?") == [
        "Who signed the memorandum?", "what does it fund?"]
    assert split_parts("When and where will the conference take place?") == [
        "When will the conference take place?", "Where will the conference take place?"]
    # a lead-in that asks nothing stays with the question it introduces
    assert split_parts("On her last trip, which ports did the envoy visit, and which ministers did she meet?") == [
        "On her last trip, which ports did the envoy visit?", "which ministers did she meet?"]
    assert split_parts("What did the Harbour Minister and the Trade Minister discuss?") == [
        "What did the Harbour Minister and the Trade Minister discuss?"]


def test_an_elliptical_part_searches_with_the_first_parts_topic_but_its_own_period():
    q = analyse("How many ferries did the port authority license in 2021, and how many in 2022?")
    first, second = q.parts
    assert second.answer_type == "number"
    assert "ferries" in second.search_text and "2021" not in second.search_text
    assert first.search_text == "How many ferries did the port authority license?"  # the filter holds the years
    assert first.dates is None and (second.dates.date_from, second.dates.date_to) == (date(2022, 1, 1), date(2022, 12, 31))
    assert "2022" not in second.search_text  # its own filter holds its year


def test_the_claim_a_question_presumes():
    claim = analyse("Why did Ostravia close its consulate in Brunnhaven?").claim
    assert (claim.agent, claim.verb, claim.wh) == ("Ostravia", "close", "why")
    assert claim.rest == "its consulate" and claim.tail == "its consulate in Brunnhaven"
    assert analyse("What did Norland offer the flood victims?").claim.agent == "Norland"
    assert analyse("What did they offer?").claim is None  # no one named to check the claim against
    assert analyse("Who offered help?").claim is None  # the question word is the subject
    visit = analyse("What did Minister Lund announce during her visit to Velden?").claim
    assert visit.event == ("visit", "Velden")
    passive = analyse("Why were the two ferries seized in the strait?").claim
    assert passive.passive and passive.agent == "the two ferries"


def test_dates_become_filters_the_users_own_filters_win():
    q = analyse("What did Norland say about the floods in April 2024?", today=date(2025, 1, 1))
    assert q.query == "What did Norland say about the floods?"
    assert q.filters() == Filters(date(2024, 4, 1), date(2024, 4, 30), undated=True)  # the question's own period
    mine = Filters(date_from=date(2024, 4, 10))
    assert q.filters(mine).date_from == date(2024, 4, 10) and q.filters(mine).date_to == date(2024, 4, 30)


def test_latest_and_the_release_itself():
    q = analyse("What is the newest statement on the Kessel basin?")
    assert q.dates.prefer_recent and q.asks_for_release
    assert not analyse("What is the newest on the Kessel basin?").asks_for_release


def test_questions_wanting_several_releases():
    assert analyse("How did the grain exports change between 2021 and 2023?").several
    assert analyse("Which ports did the envoy visit?").several
    assert not analyse("Who chaired the harbour talks?").several


def test_names_numbers_and_follow_ups():
    q = analyse("How many of the 12 bridges did Norland repair in Ostravia?")
    assert {"norland", "ostravia"} <= q.names and "12" in q.numbers
    follow = analyse("And the Ostravian one?", [("user", "Who headed the Norland delegation?"), ("assistant", "Varga.")])
    assert follow.standalone == "Who headed the Ostravian delegation?" and follow.rewritten
    with pytest.raises(ValueError, match="empty"):
        analyse("  ")


def test_rules_can_be_switched_off_for_an_ablation():
    history = [("user", "Who headed the Norland delegation?"), ("assistant", "Varga.")]
    assert analyse("And the Ostravian one?", history, disable=frozenset({"conversation"})).standalone == \
        "And the Ostravian one?"
    assert len(analyse("Who signed it and what does it fund?", disable=frozenset({"parts"})).parts) == 1


@pytest.mark.parametrize("question, language, expected", [
    ("Кто подписал соглашение о рыболовстве?", "ru", ("agent", False)),
    ("Сколько стипендий выделила Норландия?", "ru", ("number", False)),
    ("Какие страны присоединились к инициативе?", "ru", ("place", True)),
    ("Какие иностранные делегаты посетили Вельден?", "ru", ("person", True)),
    ("Когда откроется посольство Норландии?", "ru", ("date", False)),
    ("Почему переговоры были отложены?", "ru", ("reason", False)),
    ("Что обсуждали министры?", "ru", ("statement", False)),
    ("Келісімге кім қол қойды?", "kk", ("agent", False)),
    ("Қандай елдер бастамаға қосылды?", "kk", ("place", True)),
    ("Норландияның бюджеті қандай болды?", "kk", ("number", False)),  # the head noun before the question word
    ("Елшілік қашан ашылады?", "kk", ("date", False)),
])
def test_russian_and_kazakh_questions_are_typed_by_their_question_words_and_head_nouns(question, language, expected):
    assert answer_type_of(question, language) == expected
    assert analyse(question).parts[0].answer_type == expected[0]  # the language is detected


def test_how_much_asks_for_an_amount_and_how_many_for_a_count():
    assert answer_type_of("How much did Norland pledge for the flood relief?") == ("amount", False)
    assert answer_type_of("How many rescuers did Norland send?") == ("number", False)


def test_roles_named_in_russian_and_kazakh_are_translated_and_common_words_are_not_roles():
    from rag.answer.question import roles_named

    assert roles_named("Кого назначили послом в Вельдене?", "ru") == {"ambassador"}  # "посол", its vowel dropped
    assert roles_named("Кто был консулом Остравии?", "ru") == {"consul"}
    assert roles_named("Норландияның Вельдендегі елшісі кім?", "kk") == {"ambassador"}
    assert roles_named("Кто выступил после встречи?", "ru") == set()  # "после" (after) is no ambassador


def test_a_question_listing_periods_is_asked_period_by_period():
    """"in 2021 and 2022": one part per year, each searched and answered in its own year, and
    written whole ("in 2022", not "2022")."""
    q = analyse("How much aid did Norland give Velden in 2021 and 2022?", today=date(2024, 1, 1))
    assert [p.text for p in q.parts] == ["How much aid did Norland give Velden in 2021?",
                                         "How much aid did Norland give Velden in 2022?"]
    assert [(p.dates.date_from, p.dates.date_to) for p in q.parts] == [
        (date(2021, 1, 1), date(2021, 12, 31)), (date(2022, 1, 1), date(2022, 12, 31))]
    assert all(p.answer_type == "amount" and p.search_text == "How much aid did Norland give Velden?" for p in q.parts)
    assert q.several
    # a span stays one part; the rule can be switched off
    assert len(analyse("How much aid did Norland give between 2021 and 2022?", today=date(2024, 1, 1)).parts) == 1
    assert len(analyse("How much aid did Norland give Velden in 2021 and 2022?", today=date(2024, 1, 1),
                       disable=frozenset({"period-lists"})).parts) == 1
