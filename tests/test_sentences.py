"""Sentence and clause splitting: the abbreviations of diplomatic text, quotes, paragraphs."""

import json
from pathlib import Path

import pytest

from rag.sentences import paragraph_spans, split_clauses, split_sentences, split_words

ARCHIVE = Path(__file__).resolve().parent.parent / "corpus" / "state_dept_press_releases_2021-2022.jsonl"


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text)]


@pytest.mark.parametrize(
    "text",
    [
        "Mr. Blinken met Dr. Smith and Ms. Jones in St. Petersburg.",
        "Secretary Antony J. Blinken spoke with C.S. Eliot Kang.",
        "U.S. and U.N. officials met with E.U. envoys.",
        "The U.S. Embassy in Tirana hosted the U.N. Special Envoy.",
        "The economy grew 3.5 percent, or $1.2 billion, in 2023.",
        "Resolution No. 2231 was adopted on Jan. 16 in New York.",
        "Partners, e.g. Albania, and others, i.e. the rest, agreed.",
        "The call took place at 10 a.m. Eastern time and ended at 11 p.m. local time.",
        "Gen. Milley and Amb. Thomas-Greenfield briefed Sen. Menendez.",
        "Martin Luther King Jr. and others spoke at the event.",
    ],
)
def test_abbreviations_do_not_end_a_sentence(text):
    assert sentences(text) == [text]


def test_sentence_ends_are_found():
    text = ('He said: "We will act." The talks ended. Did they agree? Yes! The next round opens in the U.S. '
            "The date is set… Officials confirmed it.")
    assert sentences(text) == [
        'He said: "We will act."',
        "The talks ended.",
        "Did they agree?",
        "Yes!",
        "The next round opens in the U.S.",
        "The date is set…",
        "Officials confirmed it.",
    ]


def test_closing_quotes_and_brackets_stay_with_their_sentence():
    text = "She called it “a turning point.” (The vote was close.) ‘Next,’ he said. Done."
    assert sentences(text) == ["She called it “a turning point.”", "(The vote was close.)", "‘Next,’ he said.", "Done."]


def test_never_crosses_a_paragraph_break_and_spans_are_trimmed():
    text = "  Office of the Spokesperson\n\nWashington, D.C.\n\n\nThe Secretary met the minister today  \n\n"
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == ["Office of the Spokesperson", "Washington, D.C.",
                                             "The Secretary met the minister today"]
    assert all(not text[s].isspace() and not text[e - 1].isspace() for s, e in spans)
    assert paragraph_spans(text) == spans


def test_single_line_breaks_are_whitespace_but_numbered_items_start_sentences():
    wrapped = "The ministers agreed to\nestablish a commission. It will meet\nannually."
    assert sentences(wrapped) == ["The ministers agreed to\nestablish a commission.", "It will meet\nannually."]
    listed = "1. The parties signed the accord.\n2. They will meet in May."
    assert sentences(listed) == ["1. The parties signed the accord.", "2. They will meet in May."]


def test_list_items_on_their_own_lines_are_separate_sentences():
    text = "The sides agreed to:\n- open a business council\n- meet in Tirana\n• sign a road map\n3) review it in May"
    assert sentences(text) == ["The sides agreed to:", "- open a business council", "- meet in Tirana",
                               "• sign a road map", "3) review it in May"]
    assert sentences("Growth was\n-2 percent last year.") == ["Growth was\n-2 percent last year."]


def test_lowercase_after_a_full_stop_continues_the_sentence():
    assert sentences("They met approx. five times... and then stopped.") == [
        "They met approx. five times... and then stopped."]


def test_empty_and_whitespace_text():
    assert split_sentences("") == []
    assert split_sentences(" \n\n \n") == []
    assert sentences("No final stop") == ["No final stop"]


def test_kazakh_proposal_is_one_sentence():
    text = (Path(__file__).resolve().parent.parent / "corpus"
            / "2025-03-21-kazakhstan-albania-political-consultations.txt").read_text(encoding="utf-8")
    proposal = [s for s in sentences(text) if "Intergovernmental Commission" in s]
    assert proposal == [
        "In order to deepen economic cooperation, the Kazakh side proposed the establishment of an "
        "Intergovernmental Commission on Economic Cooperation and a Business Council, allowing for the "
        "establishment of effective tools to expand bilateral interaction and attract new business initiatives."]


def test_split_clauses_and_words():
    text = "Intro. First, the sides met; then they talked: trade — and energy–security, 1,000 items.\nNext line"
    start = text.index("First")
    pieces = [text[s:e] for s, e in split_clauses(text, start, len(text))]
    assert pieces == ["First,", "the sides met;", "then they talked:", "trade —", "and energy–", "security,",
                      "1,000 items.", "Next line"]
    assert [text[s:e] for s, e in split_words(text, 0, 13)] == ["Intro.", "First,"]


def test_archive_sentences_are_clean_and_fast():
    """Over real releases: spans are ordered, trimmed, inside one paragraph, and splitting is cheap."""
    import time

    with ARCHIVE.open(encoding="utf-8") as lines:
        texts = [json.loads(next(lines))["text"] for _ in range(200)]
    started = time.perf_counter()
    all_spans = [split_sentences(text) for text in texts]
    seconds = time.perf_counter() - started
    for text, spans in zip(texts, all_spans):
        assert spans and all(s < e for s, e in spans)
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
        assert all("\n\n" not in text[s:e] and text[s:e] == text[s:e].strip() for s, e in spans)
        # every non-space character of the text is in some sentence
        assert sum(len("".join(text[s:e].split())) for s, e in spans) == len("".join(text.split()))
    assert seconds < 5, seconds  # about 0.1 s
