"""Expected answer type: which questions ask for a quantity, and which sentences give one."""

import pytest

from rag.answer.answer_type import expected_answer, expected_kind, mentions, quantities
from rag.answer.evidence import SourceSentence
from rag.answer.relevance import ScoredSentence, of_expected_type
from rag.types import Chunk, Passage


@pytest.mark.parametrize(
    "question, kind",
    [
        ("What was the value of trade between Kazakhstan and Albania in 2024?", "quantity"),
        ("What is the population of the Kyrgyz Republic?", "quantity"),
        ("How much military aid did the United States give Serbia in 2022?", "quantity"),
        ("What is Uzbekistan's GDP growth rate?", "quantity"),
        ("What is Uzbekistan's GDP?", "quantity"),
        ("By how much did exports grow last year?", "quantity"),
        ("How much did the United States pledge to the Global Fund?", "quantity"),
        ("What percentage of the vote did the ruling party win?", "quantity"),
        ("What was the total cost of the new embassy?", "quantity"),
        ("What share of Albania's energy comes from hydropower?", "quantity"),
        ("How many Afghans did Albania give safe harbor to?", "count"),
        ("How many times did Secretary Blinken visit Kazakhstan?", "count"),
        ("What is the number of refugees in Moldova?", "count"),
        ("what is the total number of Afghan evacuees?", "count"),
    ],
)
def test_questions_asking_for_a_quantity(question, kind):
    assert expected_kind(question) == kind


@pytest.mark.parametrize(
    "question",
    [
        "When did the United States and Albania first establish diplomatic relations?",
        "When will Edi Rama visit Kazakhstan?",
        "In what year did the consultations begin?",
        "What did Albania propose?",
        "What is the latest release about Kosovo?",
        "What was the purpose of Assistant Secretary Lu's trip to California?",
        "What is Bosnia and Herzegovina facing, according to the State Department?",
        "What did the Secretary say about the value of the partnership?",  # "value" not what is asked
        "How did the United States change visitor visas for Albanians in 2022?",
        "How much progress has Kosovo made on the rule of law?",
        "Who headed the Kazakh delegation?",  # a person, but no office asked about
        "Who was announced as U.S. Special Representative to the Biological Weapons Convention?",
        "Which NATO anniversary did Montenegro celebrate in 2022?",
        "What did the sides discuss about trade and investment?",
    ],
)
def test_questions_asking_for_no_particular_kind(question):
    assert expected_kind(question) is None
    assert expected_answer(question) is None


@pytest.mark.parametrize(
    "sentence, found",
    [
        ("Trade reached $12.5 million last year.", ["12.5"]),
        ("The United States is providing more than $266 million in new humanitarian assistance.", ["266"]),
        ("Our ocean covers more than 70 percent of the Earth’s surface.", ["70"]),
        ("Exports grew by 5.7% in the first quarter.", ["5.7"]),
        ("Albania gave safe harbor to well over 2,000 Afghans.", ["2000"]),
        ("Three delegations attended, twice as many as last year.", ["3", "2"]),
        ("Thousands of refugees crossed the border.", ["thousands"]),
        ("Trade reached 2000 dollars.", ["2000"]),
        ("Sixty-five projects were funded.", ["60"]),
    ],
)
def test_quantities_in_a_sentence(sentence, found):
    assert [q.value for q in quantities(sentence)] == found


@pytest.mark.parametrize(
    "sentence",
    [
        "The Embassy of Kazakhstan opened in Tirana in 2024.",  # a year
        "Elections were held on April 3, 2022, and again on 12 June.",  # dates
        "The report covers the 1990s and the 2021-2022 period.",  # decade, year range
        "The meeting starts at 10:30 a.m. on 12/06/2021.",  # time, numeric date
        "They discussed COVID-19 vaccines and trusted 5G networks in the C5+1 format.",  # names with digits
        "They were designated under Executive Order 14033 and Section 7031(c).",  # identifiers
        "The two countries discussed two-way trade.",  # referring numeral, compound
        "Our two nations signed a memorandum in the second half of 2021.",
        "The sides discussed trade and investment.",
    ],
)
def test_no_quantity_in_years_dates_names_and_referring_numerals(sentence):
    assert quantities(sentence) == []


@pytest.mark.parametrize(
    "question, office",
    [
        ("Who is Albania's ambassador to Kazakhstan?", "ambassador"),
        ("Who is the U.S. ambassador to Turkmenistan?", "ambassador"),
        ("Who is the foreign minister of Uzbekistan?", "minister"),
        ("Who was the head of the Albanian delegation?", "head"),
        ("who are the special envoys for the Western Balkans", "envoy"),
    ],
)
def test_questions_asking_who_holds_an_office(question, office):
    expected = expected_answer(question)
    assert expected.kind == "holder" and expected.office == office


def test_an_office_question_is_answered_only_by_a_sentence_naming_office_and_holder():
    ambassador = expected_answer("Who is the U.S. ambassador to Turkmenistan?")
    assert ambassador.accepts("Ambassador Matthew Klimow met the Foreign Minister of Turkmenistan.")
    assert ambassador.accepts("The delegation included the U.S. Ambassador, Matthew Klimow.")
    assert not ambassador.accepts("The United States and Turkmenistan discussed trade.")  # no office
    assert not ambassador.accepts("He met the U.S. Ambassador to Turkmenistan.")  # no one named
    assert not ambassador.accepts("The ambassador met officials in March.")


def test_numbers_in_the_question_answer_nothing():
    expected = expected_answer("How much of the $266 million in assistance went to the 3 largest camps in 2021?")
    assert not expected.accepts("The $266 million package was announced in 2021 for the 3 camps.")
    assert expected.accepts("Of the $266 million, $40 million went to the camps.")
    words = expected_answer("How many of the five Central Asian countries joined?")
    assert not words.accepts("All five countries attended.")
    assert words.accepts("Three of the five countries joined.")


def test_a_quantity_question_is_answered_only_by_a_figure():
    trade = expected_answer("What was the value of trade between Kazakhstan and Albania in 2024?")
    assert trade.kind == "quantity"
    assert not trade.accepts("The sides discussed the strengthening of trade and economic ties.")
    assert not trade.accepts("The Embassy of Kazakhstan opened in Tirana in 2024.")
    assert not trade.accepts("The deputy ministers met on the sidelines of the 55th session of the Council.")
    assert trade.accepts("Trade between Kazakhstan and Albania reached $12.5 million in 2024.")
    assert trade.accepts("Bilateral trade grew by 40 percent.")


def test_ordinals_answer_how_many_but_not_how_much():
    years = expected_answer("How many years of diplomatic relations did the United States and Uzbekistan celebrate?")
    assert years.accepts("The two countries commemorate the 30th anniversary of diplomatic relations.")
    assert years.accepts("Montenegro marks its fifth anniversary as a NATO Ally.")
    times = expected_answer("How many times did the Secretary visit Kazakhstan?")
    assert times.accepts("It was the Secretary's third visit to Kazakhstan.")
    assert times.accepts("The Secretary visited Kazakhstan twice.")
    aid = expected_answer("How much aid did the United States give Serbia?")
    assert not aid.accepts("They celebrated the 15th anniversary of the State Partnership Program.")


def test_durations_answer_only_questions_about_time():
    population = expected_answer("What is the population of the Kyrgyz Republic?")
    assert not population.accepts("It has protected pluralism since its independence nearly 30 years ago.")
    assert not population.accepts("The delegation began a three-day visit to Bishkek.")
    assert population.accepts("The Kyrgyz Republic has about 7 million inhabitants.")
    years = expected_answer("How many years of bilateral relations did the United States and Montenegro mark in 2021?")
    assert years.accepts("This year, we mark 15 years of robust bilateral relations.")
    time = expected_answer("How much time did the delegation spend in Bishkek?")
    assert time.accepts("They spent two days in Bishkek.")


def test_the_question_names_are_looked_for_in_the_passage():
    aid = expected_answer("How much military aid did the United States give Serbia in 2022?")
    assert aid.names == {"united", "states", "serbia"}
    assert aid.names_missing("The United States announced $1 billion in military assistance for Ukraine.") == {"serbia"}
    assert aid.names_missing("The U.S. gave Serbian forces $5 million.") == frozenset()
    assert mentions("states", "US support for Serbia") and not mentions("serbia", "US support for Ukraine")


def _scored(doc: str, title: str, text: str, score: float) -> ScoredSentence:
    chunk = Chunk(f"{doc}#0", doc, 0, text, 0, len(text), title=title)
    sentence = SourceSentence(doc, Passage(chunk, score=1.0), 0, len(text), text, frozenset(), 0)
    return ScoredSentence(sentence, score, score, 0.0)


def test_a_figure_counts_only_in_a_passage_about_the_question_subject():
    ukraine = _scored("ukraine", "Military assistance for Ukraine",
                      "Today we announced an additional $1 billion in military assistance.", 0.6)
    serbia = _scored("serbia", "Serbia National Day", "We are proud to partner with Serbia on security.", 0.5)
    serbia_figure = _scored("serbia-aid", "U.S. assistance to Serbia", "The U.S. provided $20 million to Serbia.", 0.45)
    question = "How much military aid did the United States give Serbia in 2022?"
    assert of_expected_type(question, [ukraine, serbia]) == []  # Ukraine's figure; Serbia's passage has none
    assert of_expected_type(question, [ukraine, serbia, serbia_figure]) == [serbia_figure]
    # a name no retrieved passage mentions does not rule every figure out
    assert of_expected_type("How much military aid did Ruritania receive?", [ukraine]) == [ukraine]


def test_questions_asking_for_no_quantity_keep_every_sentence():
    scored = [_scored("serbia", "Serbia National Day", "We are proud to partner with Serbia.", 0.5)]
    assert of_expected_type("What did the United States say about Serbia?", scored) is scored
