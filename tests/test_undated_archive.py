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
