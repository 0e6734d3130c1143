"""AnswerService end to end over the Kazakhstan-Albania release: real embedding model, a static
retriever, the extractive generator and a scripted fake LLM (the real ones are in
test_answer_local.py and test_llm_server.py)."""

import json
from datetime import date

import pytest

from rag.answer.evidence import EvidenceIndex
from rag.answer.relevance import answers_question, score_sentences
from rag.answer.service import AnswerEvent, AnswerService
from rag.answer.testing import StaticRetriever, kazakh_release, paragraph_chunks
from rag.settings import Settings
from rag.types import Filters


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
def release():
    return kazakh_release()


@pytest.fixture
def service(release, embedder):
    settings = Settings()
    return AnswerService(StaticRetriever(release[1]), embedder, settings, today=date(2025, 3, 21))


def _with_llm(service, draft):
    llm = ScriptedLLM(draft)
    service._generators["openai"] = llm
    return llm


def _assert_spans_are_exact(answer, body):
    for citation in answer.citations:
        assert body[citation.start : citation.end] == citation.quote
    keys = [k for s in answer.sentences for k in s.citation_keys]
    assert keys == sorted(keys, key=int) or len(set(keys)) == len(answer.citations)
    assert [c.key for c in answer.citations] == [str(i) for i in range(1, len(answer.citations) + 1)]


def test_false_premise_is_reported_with_what_the_sources_do_say(service, release):
    body, _ = release
    answer = service.ask("What did Albania propose?")
    assert answer.false_premise and not answer.refused
    assert answer.text.startswith("The releases report no proposal by Albania.")
    assert "the Kazakh side proposed the establishment of an Intergovernmental Commission" in answer.text
    assert "Business Council" in answer.text
    assert "Deputy Minister Yzeiraj underscored the significance of regular high-level interactions" in answer.text
    assert len(answer.citations) == 2
    # no sentence shown as supported credits Albania with a proposal
    for sentence in answer.sentences[1:]:
        assert sentence.supported and sentence.citation_keys
        assert "Albania propos" not in sentence.text
    # the relative date inside the quoted release is resolved against its publication date
    assert "last September [September 2024]" in answer.text
    _assert_spans_are_exact(answer, body)


def test_the_asked_actor_gets_a_straight_answer(service):
    answer = service.ask("What did the Kazakh side propose?")
    assert not answer.false_premise and not answer.refused
    assert "Intergovernmental Commission on Economic Cooperation" in answer.text
    assert answer.citations[0].quote.startswith("In order to deepen economic cooperation")


def test_an_extractive_answer_is_short_cited_and_deterministic(service, release):
    body, _ = release
    first = service.ask("What did Kazakhstan and Albania discuss?")
    second = service.ask("What did Kazakhstan and Albania discuss?")
    assert first.text == second.text
    assert 1 <= len(first.sentences) <= 4
    assert "The sides discussed the current and future prospects of bilateral cooperation" in first.text
    assert all(s.supported and s.citation_keys for s in first.sentences)
    assert first.generator == "extractive"
    _assert_spans_are_exact(first, body)
    assert set(first.timings) == {"rewrite", "retrieve", "generate", "check", "total"}
    assert first.timings["total"] >= first.timings["check"] > 0


def test_an_unanswerable_question_is_refused(service):
    answer = service.ask("What is the population of Brazil?")
    assert answer.refused and not answer.citations
    assert answer.text.startswith("The releases don't say")


def test_no_matching_release_is_a_refusal_naming_the_filter(service):
    answer = service.ask("What did Kazakhstan and Albania discuss?", filters=Filters(date_from=date(2026, 1, 1)))
    assert answer.refused and "from 2026-01-01" in answer.text


def test_a_when_question_gets_the_release_date(service):
    answer = service.ask("When will Edi Rama visit Kazakhstan?")
    assert "in May this year [May 2025]" in answer.text
    assert answer.text.endswith("The release was published on 21 March 2025 [1].")


def test_stream_reports_status_then_tokens_then_the_checked_answer(service):
    llm = _with_llm(service, "The sides discussed bilateral cooperation, political dialogue, trade and investment [1].")
    events = list(service.stream("What did Kazakhstan and Albania discuss?", generator="openai"))
    assert all(isinstance(e, AnswerEvent) for e in events)
    assert events[0].kind == "status"
    tokens = [e.text for e in events if e.kind == "token"]
    assert len(tokens) > 5 and "".join(tokens).strip() == llm.draft
    assert events[-1].kind == "answer" and [e.kind for e in events].count("answer") == 1
    answer = events[-1].answer
    assert answer.generator == "openai" and answer.sentences[0].supported
    assert answer.citations[0].quote.startswith("The sides discussed the current and future prospects")


def test_a_model_draft_is_checked_sentence_by_sentence(service):
    _with_llm(
        service,
        "The Kazakh side proposed an Intergovernmental Commission on Economic Cooperation and a Business Council [2]. "
        "Albania and Kazakhstan signed a free trade agreement worth 5 billion dollars [2]. "
        "Deputy Minister Vassilenko called Albania a valuable and reliable partner in the Balkan region [7].",
    )
    answer = service.ask("What did the Kazakh side propose?", generator="openai")
    verdicts = [(s.supported, bool(s.citation_keys)) for s in answer.sentences]
    assert verdicts == [(True, True), (False, False), (True, True)]
    assert "free trade" not in answer.text and "[7]" not in answer.text
    assert answer.citations[1].quote.startswith("Deputy Minister Vassilenko highlighted")


def test_a_model_that_invents_everything_falls_back_to_quoting_the_sources(service):
    _with_llm(service, "Albania proposed to host the 2030 Olympic Games in Tirana [1]. Everyone agreed [2].")
    answer = service.ask("What did the Kazakh side propose?", generator="openai")
    assert answer.generator == "openai+extractive"
    assert "Olympic" not in answer.text and "Intergovernmental Commission" in answer.text
    assert any(not s.supported and "Olympic" in s.text for s in answer.sentences)


def test_the_false_premise_is_passed_to_the_model_and_its_agreement_dropped(service):
    llm = _with_llm(service, "Albania proposed an Intergovernmental Commission on Economic Cooperation [2].")
    answer = service.ask("What did Albania propose?", generator="openai")
    assert llm.requests[0].premise is not None
    assert answer.false_premise
    assert answer.text.startswith("The releases report no proposal by Albania.")
    assert not any(s.supported and s.text.startswith("Albania proposed") for s in answer.sentences)


def test_follow_ups_are_rewritten_before_retrieval(service):
    history = [("user", "What did Kazakhstan and Albania discuss?"), ("assistant", "They discussed cooperation [1].")]
    answer = service.ask("and what about trade?", history=history)
    assert answer.standalone_question == "What did Kazakhstan and Albania discuss about trade?"
    assert service.retriever.calls[-1][0] == answer.standalone_question
    assert "trade" in answer.text


def test_date_words_in_the_question_filter_retrieval_and_explicit_filters_win(release, embedder):
    body, chunks = release
    old_text = "The Secretary met the Albanian Foreign Minister to discuss trade and energy cooperation."
    old = paragraph_chunks("old", old_text, title="Meeting", published=date(2021, 6, 2))
    retriever = StaticRetriever(old + chunks)
    service = AnswerService(retriever, embedder, Settings(), today=date(2025, 3, 21))

    answer = service.ask("What was discussed about trade in June 2021?")
    _, filters, _ = retriever.calls[-1]
    assert (filters.date_from, filters.date_to) == (date(2021, 6, 1), date(2021, 6, 30))
    assert retriever.calls[-1][0] == "What was discussed about trade?"
    assert {p.chunk.doc_id for p in answer.passages} == {"old"}

    service.ask("What was discussed last year?", filters=Filters(date_from=date(2024, 6, 1)))
    _, filters, _ = retriever.calls[-1]
    assert (filters.date_from, filters.date_to) == (date(2024, 6, 1), date(2024, 12, 31))


def test_latest_prefers_the_newest_release(release, embedder):
    _, chunks = release
    old_text = "The Secretary discussed trade and economic ties with Albania."
    old = paragraph_chunks("old", old_text, title="Old meeting", published=date(2021, 6, 2))
    service = AnswerService(StaticRetriever(old + chunks), embedder, Settings(), today=date(2025, 3, 21))
    answer = service.ask("What is the latest on trade and economic ties with Albania?")
    assert answer.passages[0].chunk.published == date(2025, 3, 21)
    assert answer.citations and answer.citations[0].published == date(2025, 3, 21)


def test_the_answer_serialises_to_json(service):
    data = json.loads(json.dumps(service.ask("What did Albania propose?").to_dict()))
    assert data["false_premise"] is True
    assert data["citations"][0]["published"] == "2025-03-21"
    assert {"quote", "start", "end", "chunk_id", "support"} <= set(data["citations"][0])


def test_bad_input_is_a_clear_error(service):
    with pytest.raises(ValueError, match="unknown generator 'gpt5'"):
        service.ask("What did Albania propose?", generator="gpt5")
    with pytest.raises(ValueError, match="empty"):
        service.ask("   ")


def test_the_premise_check_reads_lower_case_names_the_sources_capitalise(service):
    answer = service.ask("what did albania propose?")
    assert answer.false_premise and answer.text.startswith("The releases report no proposal by Albania.")


def test_questions_quoted_in_a_transcript_are_not_answers(embedder):
    text = (
        "QUESTION: Why is Greenland so important to the United States?\n\n"
        "SECRETARY BLINKEN: Greenland is important because of its strategic position in the Arctic and its climate research."
    )
    chunks = paragraph_chunks("transcript", text, title="Joint press availability", published=date(2021, 5, 20))
    service = AnswerService(StaticRetriever(chunks), embedder, Settings(), today=date(2021, 5, 20))
    answer = service.ask("Why is Greenland important to the United States?")
    assert "strategic position in the Arctic" in answer.text
    assert "?" not in answer.text


class RewritingLLM(ScriptedLLM):
    def __init__(self, draft, rewrite):
        super().__init__(draft)
        self.rewrite = rewrite

    def complete(self, messages):
        assert "Kazakhstan and Albania" in messages[-1]["content"]
        return self.rewrite


@pytest.mark.parametrize(
    "reply, expected",
    [
        ("What did Kazakhstan and Albania say about trade and economic ties?",
         "What did Kazakhstan and Albania say about trade and economic ties?"),
        ("Sure! Here is the question:\nWhat about trade?", "What did Kazakhstan and Albania discuss about trade?"),
    ],
)
def test_an_openai_model_rewrites_follow_ups_when_its_rewrite_is_sane(service, reply, expected):
    service._generators["openai"] = RewritingLLM("The sides discussed trade [1].", reply)
    history = [("user", "What did Kazakhstan and Albania discuss?"), ("assistant", "...")]
    answer = service.ask("and what about trade?", history=history, generator="openai")
    assert answer.standalone_question == expected


def test_relative_dates_in_questions_are_read_against_the_newest_release_in_the_store(release, embedder):
    class Store:
        def version(self):
            return "v1"

        def documents(self):
            from types import SimpleNamespace

            return [SimpleNamespace(published=date(2022, 8, 3)), SimpleNamespace(published=None)]

    retriever = StaticRetriever(release[1])
    retriever.store = Store()
    service = AnswerService(retriever, embedder, Settings())
    assert service.today() == date(2022, 8, 3)
    service.ask("What did Albania say last year?")
    _, filters, _ = retriever.calls[-1]
    assert (filters.date_from, filters.date_to) == (date(2021, 1, 1), date(2021, 12, 31))


def test_a_why_question_about_an_unreported_action_says_so_and_gives_the_facts(service):
    answer = service.ask("Why did Kazakhstan close its embassy in Tirana?")
    assert answer.false_premise and not answer.refused
    assert answer.text.startswith("The releases don't report that Kazakhstan closed its embassy in Tirana.")
    assert "opening of the Embassy of Kazakhstan in Tirana in 2024" in answer.text or "recent opening" in answer.text
    assert answer.citations


def test_close_as_an_adjective_does_not_report_a_closing(release, embedder):
    _, chunks = release
    contact = paragraph_chunks("call", "Kazakhstan and Albania pledged to remain in close contact on consular issues.",
                               title="Kazakhstan-Albania call", published=date(2025, 1, 10))
    service = AnswerService(StaticRetriever(chunks + contact), embedder, Settings(), today=date(2025, 3, 21))
    answer = service.ask("Why did Kazakhstan close its embassy in Tirana?")
    assert answer.false_premise
    assert answer.text.startswith("The releases don't report that Kazakhstan closed its embassy in Tirana.")
    # the action's noun does report it: "the closure of" answers the why-question normally
    closure = paragraph_chunks("closure", "Kazakhstan announced the closure of its embassy in Tirana for budget reasons.",
                               title="Embassy closure", published=date(2025, 1, 10))
    service = AnswerService(StaticRetriever(closure + chunks), embedder, Settings(), today=date(2025, 3, 21))
    assert not service.ask("Why did Kazakhstan close its embassy in Tirana?").false_premise


def test_a_why_question_about_a_reported_action_is_answered_normally(service):
    answer = service.ask("Why did the Kazakh side propose an Intergovernmental Commission?")
    assert not answer.false_premise
    assert "to deepen economic cooperation" in answer.text


def test_an_action_credited_to_others_only_in_unrelated_releases_is_no_false_premise(embedder):
    text = "Russia proposed a ceasefire that Ukraine rejected.\n\nThe Albanian Minister met the Secretary to discuss energy."
    other = paragraph_chunks("other", text, per_chunk=1, title="Two briefings", published=date(2022, 3, 1))
    unrelated = [c for c in other if "Russia" in c.text]
    service = AnswerService(StaticRetriever(unrelated), embedder, Settings(), today=date(2022, 3, 1))
    assert not service.ask("What did Albania propose?").false_premise


def test_an_unnamed_actor_doing_the_action_blocks_the_false_premise_verdict(embedder):
    text = ("The Kazakh side proposed a Business Council with Albania. "
            "The Secretary also proposed a new dialogue with Albania.")
    chunks = paragraph_chunks("release", text, title="Secretary Blinken with Kazakhstan and Albania",
                              published=date(2022, 3, 1))
    service = AnswerService(StaticRetriever(chunks), embedder, Settings(), today=date(2022, 3, 1))
    assert not service.ask("What did Blinken propose?").false_premise
    # the same release without the unnamed proposer does contradict the premise
    named_only = paragraph_chunks("release", text.split(" The Secretary")[0],
                                  title="Secretary Blinken with Kazakhstan and Albania", published=date(2022, 3, 1))
    service = AnswerService(StaticRetriever(named_only), embedder, Settings(), today=date(2022, 3, 1))
    assert service.ask("What did Blinken propose?").false_premise


def test_an_event_date_outside_every_release_is_looked_up_in_the_text(service):
    # No release was published in September 2023, but the 2025 release tells what happened then.
    answer = service.ask("What did Prime Minister Edi Rama say during his visit to Kazakhstan in September 2023?")
    assert not answer.refused
    assert "Bajram Begaj to Kazakhstan in September 2023" in answer.text
    assert all("September 2023" in c.quote for c in answer.citations)
    # ... and a period no release mentions is still a refusal
    assert service.ask("What did Kazakhstan say about Albania in October 2021?").refused


def test_a_quantity_question_is_refused_unless_a_source_gives_the_figure(release, embedder):
    _, chunks = release
    question = "What was the value of trade between Kazakhstan and Albania?"
    service = AnswerService(StaticRetriever(chunks), embedder, Settings(), today=date(2025, 3, 21))
    # The release talks about trade ("the strengthening of trade and economic ties") but gives no figure;
    # its sentences are on topic enough that relevance alone would answer.
    scored = score_sentences(question, EvidenceIndex(service.retriever.retrieve(question), embedder))
    assert answers_question(scored)
    answer = service.ask(question)
    assert answer.refused and not answer.citations
    assert answer.text.startswith("The releases don't say")

    text = ("Kazakhstan and Albania reviewed their economic ties.\n\n"
            "Trade between Kazakhstan and Albania reached $12.5 million in 2024, the ministry said.")
    figures = paragraph_chunks("trade-figures", text, per_chunk=1, title="Kazakhstan-Albania trade",
                               published=date(2025, 3, 1))
    service = AnswerService(StaticRetriever(chunks + figures), embedder, Settings(), today=date(2025, 3, 21))
    answer = service.ask(question)
    assert not answer.refused and "$12.5 million" in answer.text
    assert answer.citations and all("$12.5 million" in c.quote for c in answer.citations)
    # questions that ask for no figure are answered from the same sources as before
    assert not service.ask("What did Kazakhstan and Albania discuss about trade?").refused


def test_a_who_holds_the_office_question_is_refused_unless_a_source_names_the_holder(release, embedder):
    _, chunks = release
    question = "Who is Albania's ambassador to Kazakhstan?"
    # The release is all about Kazakhstan-Albania relations and embassies, and names no ambassador.
    answer = AnswerService(StaticRetriever(chunks), embedder, Settings(), today=date(2025, 3, 21)).ask(question)
    assert answer.refused and not answer.citations

    text = "Albania's Ambassador to Kazakhstan, Arben Cici, presented his credentials in Astana."
    credentials = paragraph_chunks("credentials", text, title="Albanian ambassador presents credentials",
                                   published=date(2025, 2, 1))
    answer = AnswerService(StaticRetriever(chunks + credentials), embedder, Settings(),
                           today=date(2025, 3, 21)).ask(question)
    assert not answer.refused and "Arben Cici" in answer.text
    assert {c.doc_id for c in answer.citations} == {"credentials"}


def test_asked_for_the_latest_release_the_answer_names_it_and_quotes_it(release, embedder):
    _, chunks = release
    # A transcript: its sentences on Kosovo are questions or small talk, far from the question's words.
    transcript = paragraph_chunks(
        "kosovo-remarks", "QUESTION: Mr. Prime Minister, what about Kosovo?\n"
        "PRIME MINISTER KURTI: Kosovo is a steadfast partner of the United States.",
        per_chunk=1, title="Secretary Blinken and Kosovo Prime Minister Kurti Before Their Meeting",
        published=date(2022, 7, 26))
    older = paragraph_chunks("kosovo-statement", "The United States welcomes the agreement between Kosovo and Serbia.",
                             title="On the Kosovo-Serbia agreement", published=date(2021, 5, 3))
    service = AnswerService(StaticRetriever(older + transcript + chunks), embedder, Settings(), today=date(2025, 3, 21))

    answer = service.ask("What is the latest release about Kosovo?")

    assert not answer.refused
    assert answer.text.startswith("The most recent release on this is “Secretary Blinken and Kosovo Prime Minister "
                                  "Kurti Before Their Meeting”, published on 26 July 2022 [1].")
    assert {c.doc_id for c in answer.citations} == {"kosovo-remarks"}
    assert "steadfast partner" in answer.text and "what about Kosovo?" not in answer.text


def test_a_visit_the_question_presumes_must_be_reported_for_that_person_and_period(service):
    # The release reports President Begaj's visit in September 2023 and Prime Minister Rama's
    # upcoming one "in May this year" (2025): not a visit by Rama in September 2023.
    answer = service.ask("What did Prime Minister Edi Rama say during his visit to Kazakhstan in September 2023?")
    assert answer.false_premise
    assert answer.text.startswith("The releases don't report that Prime Minister Edi Rama visited Kazakhstan "
                                  "in September 2023.")
    assert "Bajram Begaj" in answer.text and answer.citations
    assert not service.ask("What did President Bajram Begaj say during his visit to Kazakhstan in September 2023?"
                           ).false_premise
    assert not service.ask("What will Prime Minister Edi Rama discuss during his visit to Kazakhstan?").false_premise


def test_an_unreported_visit_is_corrected_with_what_the_releases_say_about_the_place(embedder):
    call = paragraph_chunks("poland-call", "Secretary Blinken spoke today with Polish Foreign Minister Rau.\n"
                            "Secretary Blinken and Foreign Minister Rau discussed support for Ukraine.",
                            per_chunk=1, title="Secretary Blinken's Call with Polish Foreign Minister Rau",
                            published=date(2022, 3, 22))
    consultations = paragraph_chunks(
        "turkmenistan-abc", "A U.S. delegation led by Assistant Secretary Donald Lu hosted Foreign Minister Rashid "
        "Meredov of Turkmenistan for the virtual Annual Bilateral Consultations.",
        title="U.S.-Turkmenistan Annual Bilateral Consultations", published=date(2022, 3, 2))
    service = AnswerService(StaticRetriever(call + consultations), embedder, Settings(), today=date(2022, 8, 3))

    answer = service.ask("What did Secretary Blinken discuss with Turkmenistan's foreign minister when he visited "
                         "Ashgabat in March 2022?")

    assert answer.false_premise
    assert answer.text.startswith("The releases don't report that Secretary Blinken visited Ashgabat in March 2022.")
    assert {c.doc_id for c in answer.citations} == {"turkmenistan-abc"}
    assert "virtual" in answer.text
