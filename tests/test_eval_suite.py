"""The shipped suite is valid against the demo corpus; bad suites fail with file:line errors."""

import importlib.util
import json
from pathlib import Path

import pytest

from rag.evaluation.suite import (
    QUESTION_TYPES,
    SuiteError,
    fact_present,
    load_release_texts,
    load_suite,
    quote_in,
    validate_suite,
)

ROOT = Path(__file__).resolve().parents[1]
SUITES = ROOT / "eval" / "suites"
SHIPPED = sorted(SUITES.glob("*.jsonl"))
KAZAKH = "2025-03-21-kazakhstan-albania-political-consultations.txt"


@pytest.fixture(scope="module")
def release_texts():
    return load_release_texts([ROOT / "corpus"])


CORPORA = ROOT / "eval" / "corpora"  # suites over a corpus of their own: <corpus>-dev/-test.jsonl


def _own_corpus(path: Path) -> Path | None:
    name = path.stem.rsplit("-", 1)[0]
    return CORPORA / name if (CORPORA / name).is_dir() else None


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_suite_is_valid_against_the_corpus(path, release_texts):
    suite = load_suite(path)
    own = _own_corpus(path)
    assert validate_suite(suite, load_release_texts([own]) if own else release_texts) == []
    # a keyword query asserts no premise, so keyword suites have no false-premise questions; pooled
    # news snippets carry no dates, so their suite has no date-filter questions
    expected = set(QUESTION_TYPES) - ({"false-premise"} if "-keywords" in path.name else set())
    expected -= {"date"} if own else set()
    assert set(q.type for q in suite.questions) == expected


@pytest.mark.parametrize("name", ["demo", "heldout"])
def test_each_suite_has_a_dev_and_a_test_part_of_the_same_mix(name):
    dev, test = load_suite(SUITES / f"{name}-dev.jsonl"), load_suite(SUITES / f"{name}-test.jsonl")
    assert len(dev) >= 40 and len(test) >= 50
    assert not {q.id for q in dev.questions} & {q.id for q in test.questions}
    for kind in QUESTION_TYPES:
        share_dev = sum(q.type == kind for q in dev.questions) / len(dev)
        share_test = sum(q.type == kind for q in test.questions) / len(test)
        assert abs(share_dev - share_test) < 0.1, kind


def test_the_demo_split_is_the_reproducible_one():
    """Nobody picked which demo question is held out: the split script deals them out by hash."""
    spec = importlib.util.spec_from_file_location("split_suite", ROOT / "eval" / "tools" / "split_suite.py")
    split_suite = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(split_suite)
    dev = (SUITES / "demo-dev.jsonl").read_text(encoding="utf-8").splitlines()
    test = (SUITES / "demo-test.jsonl").read_text(encoding="utf-8").splitlines()
    assert [sorted(part) for part in split_suite.split_lines(dev + test)] == [sorted(dev), sorted(test)]


@pytest.mark.parametrize("name", ["demo-dev", "demo-test", "heldout-dev", "heldout-test"])
def test_the_keyword_suites_are_their_questions_rewritten_by_rule(name):
    """Nobody wrote the keyword queries (so nobody read a test split to write them): the tool
    derives them, and a keyword query keeps its names and drops its question words."""
    spec = importlib.util.spec_from_file_location("keyword_suite", ROOT / "eval" / "tools" / "keyword_suite.py")
    keyword_suite = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(keyword_suite)
    source = (SUITES / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    base, split = name.rsplit("-", 1)
    shipped = [json.loads(line) for line in (SUITES / f"{base}-keywords-{split}.jsonl").read_text(encoding="utf-8").splitlines()]
    assert keyword_suite.keyword_records(source) == shipped
    assert keyword_suite.keywords("Which officials did Norland's envoy meet in Velden in May 2023?") == \
        "officials Norland's envoy meet Velden May 2023"


def test_the_held_out_suite_shares_no_release_between_its_parts():
    dev, test = load_suite(SUITES / "heldout-dev.jsonl"), load_suite(SUITES / "heldout-test.jsonl")
    releases = lambda suite: {s.release for q in suite.questions for s in q.supporting}  # noqa: E731
    assert not releases(dev) & releases(test)


def test_validator_reports_quotes_facts_and_releases_that_do_not_check_out(tmp_path, release_texts):
    rows = [
        {"id": "a", "type": "factoid", "question": "Who?", "required_facts": ["Nazarbayev"],
         "supporting": [{"release": KAZAKH, "quotes": ["Roman Vassilenko headed nothing"]}]},
        {"id": "b", "type": "multi-release", "question": "What?", "required_facts": ["Tirana"],
         "supporting": [{"release": "https://example.org/missing/"}]},
        {"id": "c", "type": "unanswerable", "question": "Why?", "required_facts": ["x"]},
        {"id": "d", "type": "date", "question": "What happened?", "required_facts": ["Tirana"],
         "supporting": [{"release": KAZAKH}]},
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    problems = "\n".join(validate_suite(load_suite(path), release_texts))
    assert "bad.jsonl:1: a: quote 'Roman Vassilenko headed nothing' is not verbatim" in problems
    assert "a: required fact 'Nazarbayev' is in none of its supporting releases" in problems
    assert "bad.jsonl:2: b: multi-release questions need 2+" in problems
    assert "b: release 'https://example.org/missing/' is not in the corpus" in problems
    assert "bad.jsonl:3: c: unanswerable questions carry no" in problems
    assert "bad.jsonl:4: d: date questions need a date filter" in problems


@pytest.mark.parametrize(
    "line, message",
    [
        ("{not json", "bad.jsonl:2: not valid JSON"),
        ('{"id": "x", "type": "trivia", "question": "q"}', "type 'trivia' is not one of"),
        ('{"id": "ok", "type": "factoid", "question": "q"}', "duplicate id 'ok' (first on line 1)"),
        ('{"id": "y", "type": "factoid", "question": "q", "filters": {"date_from": "March"}}', "not a YYYY-MM-DD"),
        ('{"id": "y", "type": "factoid", "question": "q", "required_facts": ["re:("]}', "not a valid regex"),
        ('{"id": "y", "type": "factoid", "question": "q", "colour": 1}', "unknown field(s) ['colour']"),
    ],
)
def test_load_suite_names_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "ok", "type": "factoid", "question": "q"}\n' + line + "\n")
    with pytest.raises(SuiteError, match=None) as err:
        load_suite(path)
    assert message in str(err.value)


def test_matching_normalises_typography_and_case():
    assert quote_in("Kazakhstan’s view", "KAZAKHSTAN'S   view of Albania")
    assert fact_present("U.S.-Kazakhstan", "the U.S.–Kazakhstan agreement")
    assert fact_present("re:Tadi[cć]", "Gordana Tadić")
    assert not fact_present("Begaj", "President Rama")
