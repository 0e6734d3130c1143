"""The harness end to end on a tiny synthetic run: configs, scoring, report files.

The retriever and answer service are stand-ins with fixed outputs (the real ones are tested
in their own modules), so every number in the report can be checked by hand.
"""

import json
from dataclasses import dataclass
from datetime import date

import pytest

from rag.evaluation.runner import configure, parse_config, run_eval
from rag.types import Answer, AnswerSentence, Chunk, Citation, Passage

URL_A = "https://example.org/a/"
URL_B = "https://example.org/b/"
TEXT_A = "The Kazakh side proposed an Intergovernmental Commission and a Business Council."
TEXT_B = "Secretary Blinken met Foreign Minister Kamilov in Washington."

SUITE = [
    {"id": "f1", "type": "factoid", "question": "What did the Kazakh side propose?",
     "required_facts": ["Intergovernmental Commission", "Business Council"],
     "supporting": [{"release": URL_A, "quotes": ["proposed an Intergovernmental Commission"]}]},
    {"id": "f2", "type": "factoid", "question": "Whom did Blinken meet?", "required_facts": ["Kamilov", "Tashkent"],
     "supporting": [{"release": URL_B}]},
    {"id": "u1", "type": "unanswerable", "question": "What is the GDP of Mars?"},
    {"id": "p1", "type": "false-premise", "question": "What did Albania propose?", "required_facts": ["Kazakh"],
     "supporting": [{"release": URL_A}]},
]


def chunk(cid, url, text):
    return Chunk(cid, cid.split("#")[0], 0, text, 0, len(text), title="t", published=date(2022, 3, 1), url=url,
                 path="/corpus/archive.jsonl")


CHUNK_A, CHUNK_B = chunk("a#0", URL_A, TEXT_A), chunk("b#0", URL_B, TEXT_B)


def citation(key, c):
    return Citation(key, c.chunk_id, c.doc_id, c.title, c.published, "", c.url, c.path, c.text, 0, len(c.text),
                    passage_text=c.text)


class FakeRetriever:
    def __init__(self):
        self.calls = []

    def retrieve(self, query, filters=None, k=None, mode=None):
        self.calls.append((query, k, mode))
        order = [CHUNK_B, CHUNK_A] if mode == "lexical" else [CHUNK_A, CHUNK_B]
        return [Passage(c, 1.0 / (i + 1), rank=i + 1) for i, c in enumerate(order)]


class FakeAnswers:
    def ask(self, question, history=(), filters=None, top_k=None, generator=None):
        timings = {"retrieve": 0.01, "generate": 0.02, "check": 0.005}
        if "Kazakh" in question:
            s = AnswerSentence("The Kazakh side proposed an Intergovernmental Commission and a Business Council [1].", ("1",))
            return Answer(question, s.text, (s,), (citation("1", CHUNK_A),), timings=timings)
        if "Blinken" in question:  # cites the wrong passage: unsupported, citation recall 0
            s = AnswerSentence("Blinken met Kamilov [1].", ("1",))
            return Answer(question, s.text, (s,), (citation("1", CHUNK_A),), timings=timings)
        if "Albania" in question:
            return Answer(question, "Albania proposed a summit.", (AnswerSentence("Albania proposed a summit."),),
                          timings=timings)  # falls for the premise
        return Answer(question, "The releases don't say.", refused=True, timings=timings)


class FakeStore:
    def doc_states(self):
        return {}

    def count(self):
        return 2


@dataclass
class FakeServices:
    settings: object
    retriever: FakeRetriever
    answers: FakeAnswers
    store: FakeStore


def test_parse_config():
    c = parse_config("hybrid:extractive:fusion=rrf,rrf_k=30,dense_weight=0.4")
    assert (c.mode, c.generator, c.retrieval) == ("hybrid", "extractive", {"fusion": "rrf", "rrf_k": 30, "dense_weight": 0.4})
    assert parse_config("dense").generator is None
    for bad in ("sparse", "hybrid:x:colour=red", "hybrid:x:top_k"):
        with pytest.raises(ValueError, match="config"):
            parse_config(bad)


def test_configure_changes_a_copy(settings):
    changed = configure(settings, parse_config("lexical:openai:candidates=50"))
    assert (changed.retrieval.mode, changed.retrieval.candidates, changed.generator.backend) == ("lexical", 50, "openai")
    assert settings.retrieval.mode == "hybrid"


def test_run_eval_writes_a_report_with_hand_checkable_numbers(tmp_path, settings):
    suite = tmp_path / "tiny.jsonl"
    suite.write_text("\n".join(json.dumps(r) for r in SUITE))
    built = []

    def services_for(s):
        built.append(s)
        return FakeServices(s, FakeRetriever(), FakeAnswers(), FakeStore())

    report = run_eval(suite, configs=["hybrid", "lexical"], settings=settings, out_dir=tmp_path / "reports",
                      name="tiny", services_for=services_for)
    folder = report.parent
    assert report == tmp_path / "reports" / "tiny" / "report.md"
    for name in ("report.md", "report.html", "by_type.png", "latency.png", "results.jsonl", "summary.json"):
        assert (folder / name).stat().st_size > 0, name
    assert [s.retrieval.mode for s in built] == ["hybrid", "lexical"]

    summary = json.loads((folder / "summary.json").read_text())
    hybrid = summary["runs"]["hybrid"]["summary"]["overall"]
    lexical = summary["runs"]["lexical"]["summary"]["overall"]
    # doc level, judged questions f1 (A), f2 (B), p1 (A). hybrid ranks A,B: RR 1, 1/2, 1.
    assert hybrid["doc_MRR"] == pytest.approx((1 + 0.5 + 1) / 3)
    assert lexical["doc_MRR"] == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert hybrid["doc_hit@1"] == pytest.approx(2 / 3)
    # passage level: only f1 has a quote; A holds it -> rank 1 in hybrid, rank 2 in lexical
    assert hybrid["passage_MRR"] == 1.0 and lexical["passage_MRR"] == 0.5
    # facts: f1 2/2, f2 1/2 (Tashkent missing), p1 0/1 -> mean over the 3 with facts
    assert hybrid["fact_recall"] == pytest.approx((1 + 0.5 + 0) / 3)
    # citations: f1 supported (1), f2 cites A for a sentence about Kamilov (0); p1 has no citations
    assert hybrid["citation_precision"] == pytest.approx(0.5)
    assert hybrid["citation_recall"] == pytest.approx(0.5)  # f1 cites A (1/1), f2 cites A not B (0/1)
    assert hybrid["faithfulness"] == pytest.approx((1 + 0 + 0) / 3)
    # refusals: u1 refused (TP), p1 answered (FN) -> precision 1, recall 1/2
    assert hybrid["refusal_precision"] == 1.0 and hybrid["refusal_recall"] == 0.5
    latency = summary["runs"]["hybrid"]["summary"]["latency"]
    assert latency["generate"]["p50"] == pytest.approx(0.02) and "total" in latency
    assert summary["meta"]["seed"] == 0 and summary["meta"]["suite_fingerprint"]

    md = report.read_text()
    assert "| hybrid |" in md and "| lexical |" in md and "By question type: hybrid" in md
    assert "p1 (false-premise, answered" in md  # listed among the worst questions
    html = (folder / "report.html").read_text()
    assert "<table>" in html and 'src="by_type.png"' in html
    rows = [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 8 and {r["config"] for r in rows} == {"hybrid", "lexical"}


def test_retrieval_only_configs_score_rankings_without_answers(tmp_path, settings):
    suite = tmp_path / "tiny.jsonl"
    suite.write_text("\n".join(json.dumps(r) for r in SUITE))

    class NoAnswers(FakeAnswers):
        def ask(self, *args, **kwargs):
            raise AssertionError("retrieval-only configs must not ask")

    report = run_eval(suite, configs=["lexical:none:candidates=50"], settings=settings, out_dir=tmp_path, name="r",
                      services_for=lambda s: FakeServices(s, FakeRetriever(), NoAnswers(), FakeStore()))
    run = json.loads((report.parent / "summary.json").read_text())["runs"]["lexical:none:candidates=50"]
    assert run["config"] == {"mode": "lexical", "candidates": 50, "generator": "none"}
    overall = run["summary"]["overall"]
    assert overall["doc_MRR"] == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert overall["fact_recall"] is None and "refusal_precision" not in overall
    assert set(run["summary"]["latency"]) == {"retrieve"}


def test_checkpoints_leave_a_partial_report_during_a_long_run(tmp_path, settings):
    suite = tmp_path / "tiny.jsonl"
    suite.write_text("\n".join(json.dumps(r) for r in SUITE))
    seen = []

    class Peeking(FakeAnswers):
        def ask(self, question, *args, **kwargs):
            report = tmp_path / "c" / "report.md"
            seen.append(report.read_text() if report.exists() else "")
            return super().ask(question, *args, **kwargs)

    # two configs: the second one's checkpoint has seen only factoids while the first has every type
    report = run_eval(suite, configs=["hybrid", "dense"], settings=settings, out_dir=tmp_path, name="c", checkpoint_every=2,
                      services_for=lambda s: FakeServices(s, FakeRetriever(), Peeking(), FakeStore()))
    assert "hybrid (partial: 2/4)" in seen[2] and "2 questions;" in seen[2]
    assert "dense (partial: 2/4)" in seen[6]
    assert "partial" not in report.read_text()


def test_a_failing_question_is_recorded_not_fatal(tmp_path, settings):
    suite = tmp_path / "one.jsonl"
    suite.write_text(json.dumps(SUITE[0]))

    class Broken(FakeAnswers):
        def ask(self, *args, **kwargs):
            raise RuntimeError("generator down")

    report = run_eval(suite, configs=["dense"], settings=settings, out_dir=tmp_path, name="x",
                      services_for=lambda s: FakeServices(s, FakeRetriever(), Broken(), FakeStore()))
    assert "RuntimeError: generator down" in report.read_text()


def test_a_statement_about_a_release_is_supported_by_its_title_and_date():
    from rag.evaluation.runner import score_answer
    from rag.evaluation.suite import SuiteQuestion

    question = SuiteQuestion("d1", "date", "What is the latest release about Kazakhstan and Albania?", "")
    named = Chunk("n#0", "n", 0, TEXT_A, 0, len(TEXT_A), title="Kazakhstan Albania political consultations",
                  published=date(2025, 3, 21), url=URL_A, path="/corpus/archive.jsonl")
    statement = AnswerSentence("The most recent release on this is “Kazakhstan Albania political consultations”, "
                               "published on 21 March 2025.", ("1",))
    answer = Answer("What is the latest release about Kazakhstan and Albania?", statement.text, (statement,),
                    (citation("1", named),))
    assert score_answer(question, answer)["citation_precision"] == 1.0
    # the same statement citing a release with another title and date is unsupported
    answer = Answer(answer.question, statement.text, (statement,), (citation("1", CHUNK_B),))
    assert score_answer(question, answer)["citation_precision"] == 0.0


def test_a_dev_and_a_test_split_run_side_by_side_and_the_test_questions_stay_unlisted(tmp_path, settings):
    dev, test = tmp_path / "tiny-dev.jsonl", tmp_path / "tiny-test.jsonl"
    dev.write_text("\n".join(json.dumps(r) for r in SUITE[:2]))
    test.write_text("\n".join(json.dumps({**r, "id": "t-" + r["id"]}) for r in SUITE[1:]))
    report = run_eval([dev, test], configs=["hybrid"], settings=settings, out_dir=tmp_path, name="split",
                      services_for=lambda s: FakeServices(s, FakeRetriever(), FakeAnswers(), FakeStore()))
    text = report.read_text()
    assert "| tiny-dev · hybrid |" in text and "| tiny-test · hybrid |" in text
    worst = text.split("## Worst questions")[1].split("##")[0]
    assert "f2" in worst  # a dev question that went wrong is listed for whoever tunes
    assert "t-" not in worst and "Albania" not in worst  # the held-out ones only count
    summary = json.loads((tmp_path / "split" / "summary.json").read_text())
    assert [s["held_out"] for s in summary["meta"]["suites"]] == [False, True]
