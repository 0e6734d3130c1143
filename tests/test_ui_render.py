"""ui.render and ui.chat helpers: escaping, citation markers, highlighted spans, flags. No model, no server."""

from __future__ import annotations

import re
from datetime import date

import gradio as gr
import pytest

from rag.store import DocInfo
from rag.types import Answer, AnswerSentence, Chunk, Citation, Passage
from ui import chat, render

PASSAGE = (
    "In order to deepen economic cooperation, the Kazakh side proposed the establishment of an "
    "Intergovernmental Commission on Economic Cooperation and a Business Council."
)
QUOTE = "the Kazakh side proposed the establishment of an Intergovernmental Commission on Economic Cooperation"
EVIL = '<script>alert(1)</script><b>bold</b><img src=x onerror="alert(2)">'


def citation(key="1", title="Kazakhstan and Albania", url="https://www.gov.kz/x", quote=QUOTE, passage=PASSAGE,
             passage_start=1000, start=None) -> Citation:
    offset = passage.find(quote) if start is None else start
    return Citation(
        key=key, chunk_id=f"kz:{key}", doc_id="kz", title=title, published=date(2025, 3, 21), source="Kazakh MFA",
        url=url, path="corpus/kz.txt", quote=quote, start=passage_start + offset,
        end=passage_start + offset + len(quote), passage_text=passage, passage_start=passage_start, support=0.9,
    )


def answer(*cites: Citation, sentences=None, refused=False, false_premise=False, question="What did Albania propose?"):
    sentences = sentences or (AnswerSentence("The Kazakh side proposed a commission [1].", ("1",), True, 1.0),)
    return Answer(
        question=question, text=" ".join(s.text for s in sentences), sentences=tuple(sentences),
        citations=tuple(cites), refused=refused, false_premise=false_premise, generator="extractive",
    )


def test_marker_links_to_the_card_that_highlights_the_quote():
    ans = answer(citation())
    bubble = render.answer_html(ans, turn=3)
    panel = render.sources_group_html(ans, turn=3)
    target = re.search(r'<a class="cite-marker" href="#([^"]+)" data-target="([^"]+)"', bubble)
    assert target and target.group(1) == target.group(2) == "src-3-1"
    card = re.search(r'<article class="source-card" id="src-3-1".*?</article>', panel, re.S).group(0)
    assert f'<mark class="support-span">{QUOTE}</mark>' in card
    assert "Kazakh MFA" in card and "2025-03-21" in card and 'href="https://www.gov.kz/x"' in card


def test_markers_without_a_citation_stay_plain_text():
    ans = answer(citation(), sentences=(AnswerSentence("Claim [1] and stray [7].", ("1", "7"), True),))
    bubble = render.answer_html(ans, turn=1)
    assert bubble.count('class="cite-marker"') == 1
    assert "stray [7]." in bubble


def test_corpus_strings_are_escaped_everywhere():
    evil_cite = citation(title=EVIL, quote="alert(1)", passage=f"Body {EVIL} tail", url="javascript:alert(1)")
    ans = answer(evil_cite, sentences=(AnswerSentence(f"Quoted {EVIL} [1].", ("1",), True),), question=EVIL)
    html = render.answer_html(ans, 1) + render.sources_group_html(ans, 1) + render.user_message_html(EVIL)
    assert "<script" not in html and "<img" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "javascript:" not in html  # a non-http(s) URL is shown as no link at all
    doc = DocInfo("d", EVIL, date(2022, 3, 1), EVIL, "javascript:alert(1)", "p", "en", 2)
    table = render.documents_table_html([doc]) + render.corpus_summary_html({"by_source": {EVIL: 1}})
    assert "<script" not in table and "javascript:" not in table and "&lt;script&gt;" in table


def test_safe_url_accepts_only_http_links():
    assert render.safe_url("https://state.gov/a") == "https://state.gov/a"
    for bad in ("javascript:alert(1)", "data:text/html,x", "/relative", "file:///etc/passwd", "http://"):
        assert render.safe_url(bad) == ""


def test_quote_found_by_search_when_offsets_are_off():
    cite = citation(start=3)  # offsets point at the wrong place
    card = render.citation_card(cite, 1)
    assert f'<mark class="support-span">{QUOTE}</mark>' in card


def test_quote_not_in_passage_is_still_shown_marked():
    cite = citation(quote="words the passage lacks", start=0)
    card = render.citation_card(cite, 1)
    assert '<mark class="support-span">words the passage lacks</mark>' in card


def test_refusal_false_premise_and_unsupported_sentences_are_visible():
    refused = render.answer_html(answer(refused=True, sentences=(AnswerSentence("The releases don't say.", (), True),)), 1)
    assert "answer-flag refused" in refused and "releases don" in refused
    premise = render.answer_html(answer(citation(), false_premise=True), 1)
    assert "answer-flag false-premise" in premise and "False premise" in premise
    mixed = render.answer_html(
        answer(citation(), sentences=(
            AnswerSentence("Supported [1].", ("1",), True),
            AnswerSentence("Made up claim [1].", ("1",), False),
        )), 1,
    )
    assert re.search(r'class="answer-sentence unsupported"[^>]*>Made up claim', mixed)
    assert "unsupported-badge" in mixed and "1 sentence(s) not supported" in mixed


def test_uncited_passages_are_listed_apart():
    chunk = Chunk("other:0", "other", 0, "Another <i>passage</i>.", 0, 20, title="Other release")
    ans = Answer("q", "t [1]", (AnswerSentence("t [1]", ("1",)),), (citation(),), (Passage(chunk, 0.5),))
    group = render.sources_group_html(ans, 1)
    assert "1 more passage(s) retrieved, not cited" in group and "Another &lt;i&gt;passage&lt;/i&gt;." in group


def test_sources_panel_shows_newest_answer_first():
    panel = render.sources_panel_html(["<section>old</section>", "<section>new</section>"])
    assert panel.index("new") < panel.index("old")
    assert "sources-empty" in render.sources_panel_html([])


def test_filters_from_the_form():
    filters = chat.make_filters("2021-05-01", "2021-06-30 00:00:00", ["U.S. Department of State", ""])
    assert filters.date_from == date(2021, 5, 1) and filters.date_to == date(2021, 6, 30)
    assert filters.sources == ("U.S. Department of State",)
    assert chat.make_filters(None, "", None).empty
    with pytest.raises(gr.Error, match="not a date"):
        chat.make_filters("21/05/2021", None, None)
    with pytest.raises(gr.Error, match="To 2021-01-01 is before From 2022-01-01"):
        chat.make_filters("2022-01-01", "2021-01-01", None)
    month = chat.make_filters("2022-02", "2022-02", None)  # a month from its first to its last day
    assert (month.date_from, month.date_to) == (date(2022, 2, 1), date(2022, 2, 28))


def test_date_problems_name_the_field_they_belong_to():
    assert chat.date_problems("", "") == ("", "")
    wrong_day, fine = chat.date_problems("2025-02-30", "2025-04")
    assert wrong_day.startswith("From '2025-02-30' is not a real date") and fine == ""
    fine, unreadable = chat.date_problems("2025", "March 2025")
    assert fine == "" and unreadable.startswith("To 'March 2025' is not a date: write a day like 2025-03-21")
    assert chat.date_problems("2025-05-01", "2025-04") == ("", "To 2025-04-30 is before From 2025-05-01")


def test_history_for_the_service_is_plain_text():
    turns = [{"question": "Q1", "answer": "A1 [1]", "html": "<div>A1</div>", "sources": ""}]
    assert chat.service_history(turns) == [("user", "Q1"), ("assistant", "A1 [1]")]
    messages = chat.chat_messages(turns, ("Q2", "<div>…</div>"))
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]


def test_sentence_citation_keys_become_markers_when_the_text_lacks_them():
    ans = answer(citation(), citation(key="2"), sentences=(
        AnswerSentence("The Kazakh side proposed a commission.", ("1", "2"), True),
        AnswerSentence("Already marked [2].", ("2",), True),
    ))
    bubble = render.answer_html(ans, turn=1)
    assert re.search(r'commission <a class="cite-marker"[^>]*>\[1\]</a><a class="cite-marker"[^>]*>\[2\]</a>\.', bubble)
    assert bubble.count('data-target="src-1-2"') == 2


def test_weakly_supported_sentences_are_flagged_for_checking():
    ans = answer(citation(), sentences=(
        AnswerSentence("Verbatim [1].", ("1",), True, 1.0),
        AnswerSentence("Loose paraphrase [1].", ("1",), True, 0.62),
        AnswerSentence("The releases report no proposal by Albania.", (), True, 0.0),  # a statement, no citation
    ))
    bubble = render.answer_html(ans, 1)
    assert re.search(r'class="answer-sentence uncertain"[^>]*>Loose paraphrase', bubble)
    assert re.search(r'class="answer-sentence supported"[^>]*>Verbatim', bubble)
    assert re.search(r'class="answer-sentence supported"[^>]*>The releases report', bubble)
    assert "1 weakly supported" in bubble


def test_ingest_banner_says_how_far_the_background_ingest_is():
    from rag.ingest.background import IngestStatus

    running = IngestStatus("embedding", done=3400, total=12465, started=0.0, eta_seconds=330.0, as_of=200.0)
    text = render.ingest_banner_text(running)
    assert text.startswith("Indexing the corpus: 3,400 / 12,465 passages (27%), about 6 min left")
    assert "answers cover only what is indexed so far" in text
    assert "estimating the time left" in render.ingest_banner_text(IngestStatus("embedding", 0, 100))
    assert "less than a minute left" in render.ingest_banner_text(IngestStatus("embedding", 90, 100, eta_seconds=9))
    assert "file 2 of 2" in render.ingest_banner_text(IngestStatus("reading", 1, 2))
    assert "single releases first" in render.ingest_banner_text(IngestStatus("embedding", 0, 4, first_pass=True))
    other = render.ingest_banner_text(IngestStatus("embedding", 64, 128, cross_lingual=True))
    assert other.startswith("Indexing for questions in other languages: 64 / 128 passages (50%)")
    done = IngestStatus("done", started=0.0, finished=510.0, chunks_written=12465, failed_files=1)
    assert render.ingest_banner_text(done).startswith("Indexing finished: 12,465 passages written in 8.5 min")
    assert "1 file(s) could not be read" in render.ingest_banner_text(done)
    failed = render.ingest_banner_html(IngestStatus("failed", error=EVIL))
    assert 'class="ingest-banner failed"' in failed and "<script>" not in failed and "&lt;script&gt;" in failed
    assert 'class="ingest-banner running"' in render.ingest_banner_html(running)
    assert render.ingest_banner_html(None) == ""


def test_a_rewritten_follow_up_says_what_was_searched_for_and_escapes_it():
    sentence = AnswerSentence("The ministers met in Velden [1].", ("1",), True, 1.0)
    rewritten = Answer("And the <b>other</b> one?", sentence.text, (sentence,),
                       standalone_question="Who led the <b>other</b> delegation?")
    html = render.answer_html(rewritten, 0)
    assert "Searching for: Who led the &lt;b&gt;other&lt;/b&gt; delegation?" in html
    same = Answer("Who led it?", sentence.text, (sentence,), standalone_question="Who led it?")
    assert "Searching for" not in render.answer_html(same, 0)


def test_the_apps_own_statements_are_not_shown_as_supported_quotes():
    own = AnswerSentence("The releases don't say: “who chairs it?”", (), True, 1.0, own=True)
    html = render.answer_html(Answer("q", own.text, (own,)), 0)
    assert 'class="answer-sentence own"' in html and "supported" not in html.split("answer-meta")[0]


def test_the_language_filter_reaches_retrieval():
    from ui.chat import make_filters

    filters = make_filters("2025-03-01", "", ["Kazakh MFA"], ["RU", " kk "])
    assert filters.languages == ("ru", "kk") and filters.sources == ("Kazakh MFA",)
    assert make_filters("", "", None, "en").languages == ("en",)
    assert make_filters("", "", None).languages == ()
