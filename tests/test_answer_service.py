"""AnswerService end to end over an invented ministry's archive (tests/norland.py): the real
embedding model and spaCy parser, a dense retriever without a store, the extractive generator
and a scripted fake LLM (the real models are in test_answer_local.py and test_llm_server.py)."""

import json
from datetime import date

import pytest

import norland
from rag.answer.service import AnswerEvent, AnswerService
from doubles import EmbeddingRetriever, paragraph_chunks
from rag.settings import Settings
from rag.types import Filters

TODAY = date(2024, 12, 31)


class ScriptedLLM:
    """Streams a fixed draft word by word, as a model backend would."""

    name = "openai"

    def __init__(self, draft: str):
        self.draft = draft
        self.requests = []

    def stream(self, request):
        self.requests.append(request)
        for word in self.draft.split(" "):
            yield word + " "


@pytest.fixture(scope="module")
def archive():
    return {d.doc_id: d for d in norland.documents()}


@pytest.fixture
def service(embedder):
    return AnswerService(norland.retriever(embedder), embedder, Settings(), today=TODAY)


def _with_llm(service, draft):
    llm = ScriptedLLM(draft)
    service._generators["openai"] = llm
    return llm


def _assert_spans_are_exact(answer, archive):
    for citation in answer.citations:
        assert archive[citation.doc_id].text[citation.start : citation.end] == citation.quote
    assert [c.key for c in answer.citations] == [str(i) for i in range(1, len(answer.citations) + 1)]


def test_a_who_question_is_answered_by_the_sentence_naming_the_person(service, archive):
    answer = service.ask("Who headed the Ostravian delegation at the consultations?")
    assert not answer.refused and not answer.false_premise
    assert "State Secretary Tomas Brek" in answer.text
    assert answer.citations[0].url == "https://mfa.norland.example/news/1"
    _assert_spans_are_exact(answer, archive)


def test_a_how_much_question_is_answered_by_the_sentence_with_the_figure(service):
    answer = service.ask("How much money is Norland sending for the flood relief?")
    assert "12 million euros" in answer.text
    assert "Norland stands with the people" not in answer.text  # on topic, but gives no figure


def test_a_how_much_question_is_not_answered_by_a_count(embedder):
    """"How much" asks for a sum, a share or a quantity: "40 rescuers" answers "how many", not it."""
    chunks = paragraph_chunks("rescue", "Norland sent 40 rescuers and two helicopters to the flood-affected regions of Ostravia.\n"
                              "The rescuers will stay in Ostravia for three weeks.", title="Norland helps Ostravia",
                              published=date(2024, 4, 3))
    service = AnswerService(EmbeddingRetriever(chunks, embedder), embedder, Settings(), today=TODAY)
    assert service.ask("How much money did Norland send to the flood-affected regions of Ostravia?").refused
    assert "40 rescuers" in service.ask("How many rescuers did Norland send to Ostravia?").text
    # a quantity is an amount, also where spaCy reads "2 million tonnes" as a plain number
    grain = paragraph_chunks("grain", "Norland and Ostravia signed a grain accord in Velden on Thursday.\n"
                             "The accord sets export quotas of 2 million tonnes for 2025.", per_chunk=1,
                             title="Grain accord", published=date(2024, 5, 2))
    service = AnswerService(EmbeddingRetriever(grain, embedder), embedder, Settings(), today=TODAY)
    assert "2 million tonnes" in service.ask("How much grain may be exported under the accord?").text
    # a currency's name that is also an English verb is no currency before a number
    seats = paragraph_chunks("vote", "In the Velden assembly elections the Norland Unity party won 45 seats.\n"
                             "Observers from Ostravia said the vote was calm.", per_chunk=1,
                             title="Velden assembly elections", published=date(2024, 6, 2))
    service = AnswerService(EmbeddingRetriever(seats, embedder), embedder, Settings(), today=TODAY)
    assert service.ask("How much money did the Norland Unity party spend on the Velden elections?").refused


def test_a_how_many_years_question_is_answered_by_the_duration(embedder):
    """spaCy tags "30 years" as a date: for "how many years" it is the number asked for, and the
    words it shares with the question ("years") do not make it something the question named."""
    chunks = (paragraph_chunks("rel", "This year, as we mark 30 years of diplomatic relations with Ostravia, Norland "
                               "looks ahead to closer ties.", title="Norland and Ostravia", published=date(2024, 5, 1))
              + paragraph_chunks("cns", "This year marks the 50th anniversary of Norland's membership in the Council "
                                 "of Northern States and 2 new members joined.", title="Council of Northern States",
                                 published=date(2024, 5, 2)))
    service = AnswerService(EmbeddingRetriever(chunks, embedder), embedder, Settings(), today=TODAY)
    answer = service.ask("For how many years have Norland and Ostravia had diplomatic relations?")
    assert "30 years" in answer.text.split("[1]")[0]


def test_a_multi_part_question_gets_every_part(service):
    answer = service.ask("What did the Norland side propose, and how much was trade between the two countries worth?")
    assert "Joint Economic Council" in answer.text and "410 million euros" in answer.text


def test_a_part_the_releases_do_not_answer_is_said_to_be_unanswered(service):
    answer = service.ask("What did the Norland side propose, and who will chair the new council?")
    assert "Joint Economic Council" in answer.text
    assert "The releases don't say: “who will chair the new council?”" in answer.text
    assert any(s.own for s in answer.sentences)


def test_an_unanswerable_question_about_a_known_country_is_refused_naming_what_is_known(service):
    answer = service.ask("What is the population of Ostravia?")
    assert answer.refused and not answer.citations
    assert answer.text.startswith("The releases mention Ostravia, but none of the retrieved passages answers")


def test_a_role_the_releases_never_name_is_not_answered_with_another_person(service):
    answer = service.ask("Who is Norland's consul in Velden?")
    assert answer.refused
    assert "Varga" not in answer.text and "Brek" not in answer.text


def test_a_who_question_naming_a_role_wants_the_person_and_a_which_question_may_get_countries(embedder):
    chunks = paragraph_chunks(
        "fund", "Since 2010, the French Ambassador's Fund for Culture has supported museums in Norland and Ostravia.\n"
        "Minister Lund spoke today with the Foreign Ministers of Ostravia and Velden about grain exports.",
        per_chunk=1, title="Norland culture and diplomacy", published=date(2024, 5, 1))
    service = AnswerService(EmbeddingRetriever(chunks, embedder), embedder, Settings(), today=TODAY)
    assert service.ask("Who is Norland's ambassador to Ostravia?").refused  # the fund names no ambassador
    answer = service.ask("Which foreign ministers did Minister Lund speak with?")
    assert not answer.refused and "Foreign Ministers of Ostravia and Velden" in answer.text


def test_a_question_about_something_else_entirely_is_refused(service):
    answer = service.ask("What is the recipe for apple pie?")
    assert answer.refused and answer.text.startswith("The releases don't say")


def test_a_misattributed_action_is_corrected_with_who_did_it(service, archive):
    answer = service.ask("What did the Ostravian delegation propose?")
    assert answer.false_premise and not answer.refused
    assert answer.text.startswith("The releases report no proposal by the Ostravian delegation.")
    assert "the Norland side proposed establishing a Joint Economic Council" in answer.text
    for sentence in answer.sentences[1:]:
        assert not ("Ostravia" in sentence.text and "propos" in sentence.text)
    _assert_spans_are_exact(answer, archive)


def test_the_asked_actor_gets_a_straight_answer(service):
    answer = service.ask("What did the Norland side propose to expand economic ties?")
    assert not answer.false_premise and not answer.refused
    assert answer.citations[0].quote.startswith("To expand economic ties, the Norland side proposed")


def test_a_why_question_about_an_unreported_action_says_so_and_quotes_what_happened(service):
    answer = service.ask("Why did Norland shut down its embassy in Velden?")
    assert answer.false_premise and not answer.refused
    assert answer.text.startswith("The releases don't report that Norland shut down its embassy in Velden.")
    assert "opening of the Norland Embassy in Velden last May [May 2024]" in answer.text  # relative date resolved


def test_a_why_question_about_a_reported_action_is_answered(service):
    answer = service.ask("Why is the Kessel Strait important for Norland?")
    assert not answer.false_premise and not answer.refused
    assert "a third of our grain exports" in answer.text
    assert "MINISTER LUND" not in answer.text  # the speaker label is not part of the quote
    assert "?" not in answer.text  # the journalist's question is never an answer


def test_a_visit_the_question_presumes_is_checked(service):
    answer = service.ask("What did Minister Lund say when she visited Velden in April 2024?")
    assert answer.false_premise
    assert answer.text.startswith("The releases don't report that Minister Lund visited Velden")


def test_a_presumed_trip_is_told_as_a_visit_and_an_undated_release_of_it_confirms_it(embedder):
    """"during her trip to Velden in April 2024": unreported is said in plain words (visited, not
    "tripped"); a release of unknown date that tells of the trip cannot rule the period out."""
    trip = paragraph_chunks(
        "trip", "Minister Lund travelled to Velden for talks on grain exports.\n"
        "In Velden, Minister Lund praised the new harbour.", title="Minister Lund in Velden", published=None)
    other = paragraph_chunks("other", "Minister Lund met the Ostravian ambassador in Brunnhaven.",
                             title="Minister Lund in Brunnhaven", published=date(2024, 4, 3))
    question = "What did Minister Lund say during her trip to Velden in April 2024?"
    answer = AnswerService(EmbeddingRetriever(other, embedder), embedder, Settings(), today=TODAY).ask(question)
    assert answer.text.startswith("The releases don't report that Minister Lund visited Velden in April 2024.")
    answer = AnswerService(EmbeddingRetriever(trip + other, embedder), embedder, Settings(), today=TODAY).ask(question)
    assert not answer.false_premise and not answer.refused
    assert "harbour" in answer.text


def test_a_misattribution_is_corrected_without_unrelated_news_of_the_agent(embedder):
    """"What did Ostravia propose?" when Norland proposed: the correction quotes Norland's
    proposal, not whatever else the release says Ostravia did."""
    text = ("Norland and Ostravia held consultations on trade in Velden.\n"
            "The Norland side proposed a joint commission on grain exports.\n"
            "Ostravia celebrated thirty years of independence with a parade last spring.")
    chunks = paragraph_chunks("release", text, per_chunk=1, title="Norland and Ostravia consultations",
                              published=date(2024, 5, 2))
    service = AnswerService(EmbeddingRetriever(chunks, embedder), embedder, Settings(), today=TODAY)
    answer = service.ask("What did Ostravia propose?")
    assert answer.false_premise
    assert "The Norland side proposed a joint commission" in answer.text
    assert "parade" not in answer.text


def test_an_unreported_visit_is_corrected_with_who_did_visit_and_where_the_agent_did_meet(embedder):
    """The correction quotes what the releases report instead, though it shares few words with
    the question as asked: someone else's visit to the place then, and the agent's own meeting
    with the question's other party elsewhere."""
    visit = paragraph_chunks(
        "visit", "Trade between Norland and Velden grew by a fifth last year.\n"
        "The historic visit of President Ilves to Velden this week opened a new chapter in relations.",
        title="Norland and Velden review relations", published=date(2024, 4, 19))
    met = paragraph_chunks(
        "met", "Minister Lund met Foreign Minister Saar of Velden in Geneva on 12 April 2024.\n"
        "Minister Lund also met the Ostravian ambassador to discuss grain exports.",
        title="Minister Lund in Geneva", published=date(2024, 4, 12))
    service = AnswerService(EmbeddingRetriever(visit + met, embedder), embedder, Settings(), today=TODAY)
    answer = service.ask("What did Minister Lund say when she visited Velden in April 2024?")
    assert answer.false_premise and not answer.refused
    assert answer.text.startswith("The releases don't report that Minister Lund visited Velden in April 2024.")
    first, second = answer.citations[:2]  # the correction comes first, then any other context
    assert "President Ilves" in first.quote and first.doc_id == "visit"
    assert "in Geneva" in second.quote and second.doc_id == "met"


def test_each_part_of_a_question_is_answered_in_the_period_it_names(embedder):
    """"How much in 2022, and how much in 2023?": the second part is searched and answered among
    the 2023 releases, not filled from the first part's period (nor left to the first's release)."""
    def grant(doc_id, year, amount):
        return paragraph_chunks(
            doc_id, f"Norland opened its annual scholarship round for students from Ostravia.\n"
            f"This year Norland awards scholarships worth {amount} to Ostravian students.",
            title=f"Norland scholarships {year}", published=date(year, 9, 1))

    chunks = grant("y2022", 2022, "4 million crowns") + grant("y2023", 2023, "6 million crowns")
    service = AnswerService(EmbeddingRetriever(chunks, embedder), embedder, Settings(), today=TODAY)
    question = "How much did Norland award in scholarships to Ostravian students in 2022, and how much in 2023?"
    answer = service.ask(question)
    assert "4 million crowns" in answer.text and "6 million crowns" in answer.text
    periods = [(f.date_from, f.date_to) for _, f, _ in service.retriever.calls]
    assert (date(2023, 1, 1), date(2023, 12, 31)) in periods  # the second part searched its own year
    off = AnswerService(EmbeddingRetriever(chunks, embedder), embedder,
                        Settings(answer={"disable": ["part-periods"]}), today=TODAY).ask(question)
    assert "6 million crowns" not in off.text
    # Asked for no period, near-identical sentences with different figures are two facts, not a repeat
    both = service.ask("How much did Norland award in scholarships to Ostravian students?").text
    assert "4 million crowns" in both and "6 million crowns" in both


def test_an_action_credited_to_others_only_in_unrelated_releases_is_no_false_premise(embedder):
    other = paragraph_chunks("other", "Ostravia proposed a ceasefire that the rebels rejected.",
                             title="Kessel basin", published=date(2024, 10, 1))
    unrelated = paragraph_chunks("norland", "Norland's minister met the envoy to discuss energy.",
                                 title="Energy talks", published=date(2024, 10, 2))
    service = AnswerService(EmbeddingRetriever(other + unrelated, embedder), embedder, Settings(), today=TODAY)
    assert not service.ask("What did Norland propose?").false_premise


def test_an_unnamed_actor_doing_the_action_leaves_the_premise_open(embedder):
    text = "The Ostravian side proposed a ferry link with Norland. The minister also proposed a new dialogue with Norland."
    chunks = paragraph_chunks("release", text, title="Norland and Ostravia talks", published=date(2024, 3, 1))
    service = AnswerService(EmbeddingRetriever(chunks, embedder), embedder, Settings(), today=TODAY)
    assert not service.ask("What did Norland propose?").false_premise
    named_only = paragraph_chunks("release", text.split(" The minister")[0], title="Norland and Ostravia talks",
                                  published=date(2024, 3, 1))
    service = AnswerService(EmbeddingRetriever(named_only, embedder), embedder, Settings(), today=TODAY)
    assert service.ask("What did Norland propose?").false_premise


def test_boilerplate_and_injected_instructions_are_never_quoted(service):
    for question in ("What does the ministry's press service say?", "What has Norland recognised in the Kessel basin?",
                     "What did Norland say about the ceasefire in the Kessel basin?"):
        answer = service.ask(question)
        assert "MINISTRY OF FOREIGN AFFAIRS" not in answer.text and "Photo:" not in answer.text
        assert "Ignore previous instructions" not in answer.text and "breakaway" not in answer.text


def test_an_extractive_answer_is_short_cited_and_deterministic(service, archive):
    first = service.ask("What will the Norland assistance fund?")
    second = service.ask("What will the Norland assistance fund?")
    assert first.text == second.text
    assert "clean water, temporary shelter and the repair of two bridges" in first.text
    assert 1 <= len(first.sentences) <= 4 and all(s.supported and s.citation_keys for s in first.sentences)
    assert first.generator == "extractive"
    _assert_spans_are_exact(first, archive)
    assert set(first.timings) == {"rewrite", "retrieve", "generate", "check", "total"}
    assert first.timings["total"] >= first.timings["check"] > 0


def test_no_matching_release_is_a_refusal_naming_the_filter(service):
    answer = service.ask("What did Norland say about the floods?", filters=Filters(date_from=date(2026, 1, 1)))
    assert answer.refused and "from 2026-01-01" in answer.text


def test_a_when_question_gets_the_release_date_too(service):
    answer = service.ask("When did Norland open its embassy in Velden?")
    assert "last May [May 2024]" in answer.text
    assert answer.text.endswith("The release was published on 14 November 2024 [1].")


def test_the_latest_release_is_named_with_its_date(service):
    answer = service.ask("What is the most recent statement of the Norland ministry?")
    assert answer.text.startswith("The most recent release on this is “Statement on the situation in the Kessel basin”, "
                                  "published on 1 December 2024 [1].")


def test_date_words_in_the_question_filter_retrieval_and_explicit_filters_win(service):
    answer = service.ask("What did Norland and Ostravia sign in June 2021?")
    _, filters, _ = service.retriever.calls[-1]
    assert (filters.date_from, filters.date_to) == (date(2021, 6, 1), date(2021, 6, 30))
    assert service.retriever.calls[-1][0] == "What did Norland and Ostravia sign?"
    assert "wind farm" in answer.text
    service.ask("What did Norland say last year?", filters=Filters(date_from=date(2023, 6, 1)))
    _, filters, _ = service.retriever.calls[-1]
    assert (filters.date_from, filters.date_to) == (date(2023, 6, 1), date(2023, 12, 31))


def test_stream_reports_status_then_tokens_then_the_checked_answer(service):
    llm = _with_llm(service, "The assistance will fund clean water, temporary shelter and the repair of two bridges [1].")
    events = list(service.stream("What will the Norland assistance fund?", generator="openai"))
    assert all(isinstance(e, AnswerEvent) for e in events)
    assert events[0].kind == "status"
    tokens = [e.text for e in events if e.kind == "token"]
    assert len(tokens) > 5 and "".join(tokens).strip() == llm.draft
    assert events[-1].kind == "answer" and [e.kind for e in events].count("answer") == 1
    answer = events[-1].answer
    assert answer.generator == "openai" and answer.sentences[0].supported


def test_a_model_draft_is_checked_for_support_and_relevance(service):
    _with_llm(
        service,
        "The Norland side proposed establishing a Joint Economic Council and a Youth Exchange Fund [1]. "
        "Norland and Ostravia signed a free trade agreement worth 5 billion euros [1]. "
        "Rescue teams from Norland have been working in the region since 29 March [2].",
    )
    answer = service.ask("What did the Norland side propose to expand economic ties?", generator="openai")
    shown = [s.text for s in answer.sentences if s.supported]
    assert any("Joint Economic Council" in s for s in shown)
    assert not any("free trade" in s for s in shown)  # invented: unsupported
    assert "Rescue teams" not in answer.text  # true, but it answers nothing: dropped
    assert any(not s.supported and "free trade" in s.text for s in answer.sentences)


def test_a_model_that_invents_everything_falls_back_to_quoting_the_sources(service):
    _with_llm(service, "Ostravia will host the 2030 Winter Games in Velden [1]. Everyone agreed [2].")
    answer = service.ask("What did the Norland side propose to expand economic ties?", generator="openai")
    assert answer.generator == "openai+extractive"
    assert "Winter Games" not in answer.text and "Joint Economic Council" in answer.text


def test_the_false_premise_is_passed_to_the_model_and_its_agreement_dropped(service):
    llm = _with_llm(service, "The Ostravian delegation proposed a Joint Economic Council [1].")
    answer = service.ask("What did the Ostravian delegation propose?", generator="openai")
    assert llm.requests[0].premise is not None and answer.false_premise
    assert answer.text.startswith("The releases report no proposal by the Ostravian delegation.")
    assert not any(s.supported and s.text.startswith("The Ostravian delegation proposed") for s in answer.sentences)


def test_follow_ups_are_rewritten_before_retrieval_and_the_rewrite_is_reported(service):
    history = [("user", "Who headed the Norland delegation in Velden?"), ("assistant", "Deputy Minister Ilse Varga.")]
    events = list(service.stream("And the Ostravian one?", history=history))
    answer = events[-1].answer
    assert answer.standalone_question == "Who headed the Ostravian delegation in Velden?"
    assert events[0].text == "Searching the releases for: Who headed the Ostravian delegation in Velden?"
    assert "Brek" in answer.text
    answer = service.ask("What did she say about Ostravia?", history=history)
    assert answer.standalone_question == "What did Ilse Varga say about Ostravia?"
    assert "dependable partner" in answer.text


class RewritingLLM(ScriptedLLM):
    def __init__(self, draft, rewrite):
        super().__init__(draft)
        self.rewrite = rewrite

    def complete(self, messages):
        assert "Norland and Ostravia" in messages[-1]["content"]
        return self.rewrite


@pytest.mark.parametrize(
    "reply, expected",
    [
        ("What did Norland and Ostravia say about tourism?", "What did Norland and Ostravia say about tourism?"),
        ("Sure! Here is the question:\nWhat about tourism?", "What did Norland and Ostravia discuss about tourism?"),
    ],
)
def test_an_openai_model_rewrites_follow_ups_when_its_rewrite_is_sane(service, reply, expected):
    service._generators["openai"] = RewritingLLM("The parties discussed tourism [1].", reply)
    history = [("user", "What did Norland and Ostravia discuss?"), ("assistant", "...")]
    answer = service.ask("and what about tourism?", history=history, generator="openai")
    assert answer.standalone_question == expected


def test_relative_dates_in_questions_are_read_against_the_newest_release_in_the_store(embedder):
    class Store:
        def version(self):
            return "v1"

        def documents(self):
            from types import SimpleNamespace

            return [SimpleNamespace(published=date(2022, 8, 3)), SimpleNamespace(published=None)]

    retriever = norland.retriever(embedder)
    retriever.store = Store()
    service = AnswerService(retriever, embedder, Settings())
    assert service.today() == date(2022, 8, 3)
    service.ask("What did Norland say last year?")
    _, filters, _ = retriever.calls[-1]
    assert (filters.date_from, filters.date_to) == (date(2021, 1, 1), date(2021, 12, 31))


def test_the_answer_serialises_to_json(service):
    data = json.loads(json.dumps(service.ask("How much money is Norland sending for the flood relief?").to_dict()))
    assert data["citations"][0]["published"] == "2024-04-03"
    assert {"quote", "start", "end", "chunk_id", "support", "url"} <= set(data["citations"][0])


def test_bad_input_is_a_clear_error(service):
    with pytest.raises(ValueError, match="unknown generator 'gpt5'"):
        service.ask("What did Norland propose?", generator="gpt5")
    with pytest.raises(ValueError, match="empty"):
        service.ask("   ")


def test_rules_switched_off_for_an_ablation_really_are_off(embedder):
    settings = Settings(answer={"disable": ["premise", "boilerplate"]})
    service = AnswerService(norland.retriever(embedder), embedder, settings, today=TODAY)
    assert not service.ask("What did the Ostravian delegation propose?").false_premise
    assert service.disabled == frozenset({"premise", "boilerplate"})
