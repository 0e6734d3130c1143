"""Archives whose records carry no dates of their own (news snippets, a scraped feed, one file for
many releases): a question naming a year is still answered from them. Real reader, real embedding
model, real Chroma, real answer service."""

import json

import pytest

from rag.services import Services
from rag.types import Filters

SNIPPETS = [
    {"title": "Lund takes the Velden marathon",
     "text": "Erik Lund won the Velden marathon on Sunday, finishing in two hours and eight minutes. "
             "The race drew twelve thousand runners along the harbour."},
    {"title": "Ostravia elects a president",
     "text": "Ostravia's voters elected Maria Holt as president in a run-off. Holt received 54 percent "
             "of the vote and takes office in June."},
    {"title": "Ferry route opens",
     "text": "A new ferry route between Velden and Brunnhaven opened on Monday. The crossing takes 90 "
             "minutes and tickets cost 30 crowns."},
] + [{"title": f"Market report {i}",
      "text": f"Shares in Norland rose {i % 7} percent on day {i}. Traders cited weather and fuel prices."}
     for i in range(12)]


@pytest.fixture
def services(settings, tmp_path):
    archive = tmp_path / "snippets.jsonl"
    archive.write_text("".join(json.dumps(s) + "\n" for s in SNIPPETS), encoding="utf-8")
    services = Services(settings)
    assert services.ingest.ingest([archive]).ok
    return services


def test_a_question_naming_a_year_is_answered_from_undated_records(services):
    answer = services.answers.ask("Who won the 2022 Velden marathon?", generator="extractive")
    assert not answer.refused
    assert "Erik Lund" in answer.text
    # ... and says that the year could not be checked against undated records
    assert answer.text.endswith("The releases quoted carry no date, so that this was in 2022 is not checked.")
    assert answer.sentences[-1].own
    assert "no date" not in services.answers.ask("Who won the Velden marathon?", generator="extractive").text
    keyword = services.answers.ask("Velden marathon 2022 winner", generator="extractive")
    assert "Erik Lund" in keyword.text


def test_a_users_own_date_filter_still_keeps_to_dated_records(services):
    """The user asked for a period: records of unknown date are not in it."""
    from datetime import date

    filters = Filters(date_from=date(2022, 1, 1), date_to=date(2022, 12, 31))
    answer = services.answers.ask("Who won the Velden marathon?", filters=filters, generator="extractive")
    assert answer.refused
    assert not services.retriever.retrieve("Velden marathon winner", filters)


EDITIONS = [
    "The Brunnhaven Hawks beat the Lund Mariners 31-24 to win the 2021 Velden Cup in front of a sold-out crowd. "
    "Quarterback Ari Tamm threw three touchdowns.",
    "Ostravia State claimed the 2022 Velden Cup on Saturday, defeating the Brunnhaven Hawks 20-17 after a late "
    "field goal. Coach Mara Lind called it the best win of her career.",
    "The 2020 Velden Cup was won by the Lund Mariners, who beat Ostravia State 14-10 in a defensive battle. "
    "Their coach said it was the proudest day of his life.",
    "Tickets for the 2023 Velden Cup go on sale next week, organisers said.",
] + [f"Shares in Norland rose {i % 7} percent on day {i}. Traders cited weather and fuel prices." for i in range(8)]


@pytest.fixture
def editions(settings, tmp_path):
    """Pooled news snippets, bare strings without dates, about one event in several years."""
    archive = tmp_path / "snippets.json"
    archive.write_text(json.dumps(EDITIONS), encoding="utf-8")
    services = Services(settings)
    assert services.ingest.ingest([archive]).ok
    return services


def test_an_undated_snippet_about_another_year_does_not_answer_for_the_year_asked(editions):
    """Without dates the text is the only evidence of when: last year's winner is no answer to
    who won this year's edition, and a year no snippet covers is refused."""
    for question in ("Who won the 2022 Velden Cup?", "2022 Velden Cup winner"):
        answer = editions.answers.ask(question, generator="extractive")
        assert "Ostravia State" in answer.text, question
        assert "Mariners" not in answer.text and "2021" not in answer.text, question
        # the quote states the year asked, so it was checked after all
        assert "no date" not in answer.text, question
    answer = editions.answers.ask("Who won the 2020 Velden Cup?", generator="extractive")
    assert "Lund Mariners" in answer.text and "Ostravia State claimed" not in answer.text
    # a sentence naming no year belongs to its snippet's edition ("the proudest day of his life")
    assert editions.answers.ask("Who won the 2019 Velden Cup?", generator="extractive").refused
    # two years listed are those two, not the span between them, and each is answered
    answer = editions.answers.ask("Who won the 2020 and 2022 Velden Cups?", generator="extractive")
    assert "2021" not in answer.text and "Lund Mariners" in answer.text and "Ostravia State" in answer.text


def test_a_bare_snippet_is_titled_by_its_whole_first_sentence(tmp_path):
    """A list of bare strings has no titles: the first sentence is, and "Dr." does not end it."""
    from rag.ingest.readers import read_file

    archive = tmp_path / "snippets.json"
    archive.write_text(json.dumps(["Dr. Ilse Varga won the Norland Prize. The academy met in Velden.",
                                   "The U.S. and Ostravia signed an accord. It covers fisheries."]), encoding="utf-8")
    titles = [d.title for d in read_file(archive).documents]
    assert titles == ["Dr. Ilse Varga won the Norland Prize.", "The U.S. and Ostravia signed an accord."]


def test_without_the_rules_the_other_years_edition_would_answer(settings, tmp_path):
    """The same archive with both rules switched off (answer.disable) quotes another year: what
    the test above guards against is real, not an accident of ranking."""
    archive = tmp_path / "snippets.json"
    archive.write_text(json.dumps(EDITIONS), encoding="utf-8")
    loose = settings.model_copy(update={"answer": settings.answer.model_copy(
        update={"disable": ["undated-query", "undated-years"]})})
    services = Services(loose)
    assert services.ingest.ingest([archive]).ok
    answer = services.answers.ask("Who won the 2019 Velden Cup?", generator="extractive")
    assert not answer.refused


COMPILATION = """# Press releases of the Norland ministry

## Norland and Ostravia sign a fisheries accord
12 March 2021

Minister Lund and Minister Saar signed a fisheries accord in Velden.

## Velden hosts grain talks
18 September 2023

Delegations from Norland and Ostravia met in Velden to discuss grain exports. The Norland delegation was
headed by Deputy Minister Tomas Berg.
"""


def test_a_file_of_several_releases_answers_for_each_releases_own_date(settings, tmp_path):
    """One Markdown file for a whole archive, dated by its first release: a question about the
    2023 release still finds it, with its own date."""
    path = tmp_path / "releases.md"
    path.write_text(COMPILATION, encoding="utf-8")
    services = Services(settings)
    assert services.ingest.ingest([path]).ok
    answer = services.answers.ask("Who headed the Norland delegation at the grain talks in 2023?", generator="extractive")
    assert "Tomas Berg" in answer.text
    assert [str(c.published) for c in answer.citations] == ["2023-09-18"]
