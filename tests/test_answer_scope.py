"""Answer scope: which questions want what several releases say (pure function), and the
extractive answer quoting one sentence per release for them (real embedding model)."""

from datetime import date

import pytest

from rag.answer.scope import asks_for_several
from rag.answer.service import AnswerService
from rag.answer.testing import StaticRetriever, paragraph_chunks
from rag.settings import Settings


@pytest.mark.parametrize(
    "question",
    [
        "Which Western Balkan countries hosted Afghan evacuees?",  # a plural asked for
        "Which senior U.S. officials travelled to Kazakhstan in spring 2022?",
        "What NATO milestones did the statements mention?",
        "How did the focus of the meetings change between July 2021 and March 2022?",  # change, two periods
        "What did Blinken discuss with Tileuberdi in 2021 and in 2022?",
        "How did Albania and Kazakhstan each describe their relations?",
        "What did the State Department say about Turkmenistan in March 2022?",  # said ... over a period
        "What has the United States said about North Macedonia's path to EU membership?",  # so far
    ],
)
def test_questions_that_want_several_releases(question):
    assert asks_for_several(question)


@pytest.mark.parametrize(
    "question",
    [
        "Who headed the Kazakh delegation?",
        "What did Albania propose?",
        "When did the United States recognise Kosovo?",
        "What is the population of Albania?",
        "What did the United States say about Uzbekistan's reforms?",  # said, but no period
        "Where will the next round of consultations take place?",
        "What does the United States think of the Open Skies agreement?",  # "States" is a name, not a plural
    ],
)
def test_questions_about_one_fact(question):
    assert not asks_for_several(question)


def _release(doc_id, title, published, text):
    return paragraph_chunks(doc_id, text, per_chunk=1, title=title, published=published)


def test_a_question_over_two_years_quotes_each_years_release(embedder):
    # The 2021 release has four sentences on the question; the best three sentences are all
    # its own and leave out 2022, as the extractive answer did before asks_for_several.
    call_2021 = _release("call-2021", "Secretary Blinken's call with Kazakh Foreign Minister Tileuberdi",
                         date(2021, 8, 13),
                         "Secretary Blinken spoke with Foreign Minister Tileuberdi to discuss the situation in Afghanistan.\n"
                         "Secretary Blinken and Foreign Minister Tileuberdi also discussed the COVID-19 pandemic.\n"
                         "Secretary Blinken and Foreign Minister Tileuberdi discussed the evacuation from Kabul.\n"
                         "Secretary Blinken and Foreign Minister Tileuberdi discussed the security of Central Asia.")
    meeting_2022 = _release("meeting-2022", "Secretary Blinken's meeting with Kazakh Foreign Minister Tileuberdi",
                            date(2022, 5, 20),
                            "Secretary Blinken thanked Foreign Minister Tileuberdi for humanitarian aid to Ukraine.")
    service = AnswerService(StaticRetriever(call_2021 + meeting_2022), embedder, Settings(), today=date(2022, 8, 3))

    answer = service.ask("What did Secretary Blinken discuss with Foreign Minister Tileuberdi in 2021 and in 2022?")

    assert not answer.refused
    assert {c.doc_id for c in answer.citations} == {"call-2021", "meeting-2022"}
    assert "Afghanistan" in answer.text and "Ukraine" in answer.text
    assert len(answer.sentences) <= 4
