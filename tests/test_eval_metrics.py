"""Metrics on cases small enough to compute by hand."""

import math

import pytest

from rag.evaluation import metrics as M


def test_retrieval_scores_match_hand_computation():
    qrels = {"q1": {"a": 1, "b": 1}, "q2": {"c": 1}, "q3": {"d": 1}}
    run = {
        "q1": M.ranked_run(["x", "a", "y", "b"]),  # relevant at ranks 2 and 4
        "q2": M.ranked_run(["c", "z"]),  # relevant at rank 1
        "q3": M.ranked_run(["p", "q", "r", "s", "t", "u"]),  # relevant never retrieved
    }
    means, per_q = M.retrieval_scores(qrels, run)
    assert per_q["q1"]["hit@1"] == 0 and per_q["q1"]["hit@5"] == 1
    assert per_q["q1"]["MRR"] == pytest.approx(0.5)
    # DCG = 1/log2(3) + 1/log2(5); IDCG = 1 + 1/log2(3)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    assert per_q["q1"]["nDCG@10"] == pytest.approx(dcg / (1 + 1 / math.log2(3)))
    assert per_q["q1"]["recall@5"] == 1.0
    assert per_q["q2"] == {k: 1.0 for k in M.RETRIEVAL_MEASURES}
    assert per_q["q3"]["hit@10"] == 0 and per_q["q3"]["nDCG@10"] == 0
    assert means["MRR"] == pytest.approx((0.5 + 1 + 0) / 3)
    assert means["hit@1"] == pytest.approx(1 / 3)


def test_recall_at_k_counts_only_the_top_k():
    qrels = {"q": {"a": 1, "b": 1, "c": 1, "d": 1}}
    run = {"q": M.ranked_run(["a", "x1", "x2", "x3", "x4", "b", "c"])}
    means, _ = M.retrieval_scores(qrels, run)
    assert means["recall@5"] == pytest.approx(1 / 4)
    assert means["recall@10"] == pytest.approx(3 / 4)


def test_a_judged_query_missing_from_the_run_scores_zero_not_dropped():
    means, per_q = M.retrieval_scores({"q1": {"a": 1}, "q2": {"b": 1}}, {"q1": M.ranked_run(["a"])})
    assert per_q["q2"]["MRR"] == 0
    assert means["MRR"] == pytest.approx(0.5)


def test_ranked_run_keeps_first_occurrence_order():
    assert M.ranked_run(["a", "b", "a", "c"]) == {"a": 4.0, "b": 3.0, "c": 1.0}


def test_support_uses_content_words_and_ignores_markers():
    evidence = "The Kazakh side proposed the establishment of an Intergovernmental Commission on Economic Cooperation."
    # kazakhstan != kazakh: 3 of 4 content terms (propos, intergovernment, commiss) found
    assert M.support_score("Kazakhstan proposed an Intergovernmental Commission [1].", evidence) == pytest.approx(3 / 4)
    assert M.supports("Kazakhstan proposed an Intergovernmental Commission [1].", evidence)
    assert M.support_score("The Kazakh side proposed a commission [1].", evidence) == 1.0
    assert M.support_score("Albania proposed a Business Council.", evidence) == pytest.approx(1 / 4)


def test_citation_precision_faithfulness_and_recall():
    ev_ok = "Roman Vassilenko headed the Kazakh delegation."
    ev_bad = "The parties discussed the UN and the OSCE."
    sentences = [
        M.CitedSentence("Roman Vassilenko headed the Kazakh delegation [1].", (ev_ok, ev_bad)),  # 1 of 2 pairs
        M.CitedSentence("They discussed the OSCE [2].", (ev_bad,)),  # supported
        M.CitedSentence("Albania proposed a summit.", ()),  # uncited: unsupported
    ]
    assert M.citation_precision(sentences) == pytest.approx(2 / 3)
    assert M.support(sentences) == pytest.approx(2 / 3)
    assert M.faithfulness(sentences) == pytest.approx(2 / 3)
    assert M.citation_recall(["u1", "u1", "u3"], ["u1", "u2"]) == pytest.approx(0.5)
    assert M.citation_recall(["u1"], []) is None
    assert M.citation_precision([]) is None and M.faithfulness([]) is None


def test_fact_recall_plain_and_regex():
    answer = "The Kazakh side proposed an Intergovernmental  Commission and a Business Council in Tirana."
    assert M.fact_recall(["intergovernmental commission", "re:Tirana|Astana", "Begaj"], answer) == pytest.approx(2 / 3)
    assert M.fact_recall([], answer) is None


def test_refusal_scores():
    expected = [True, True, False, False, True]
    refused = [True, False, True, False, True]
    scores = M.refusal_scores(expected, refused)
    assert scores["refusal_precision"] == pytest.approx(2 / 3)
    assert scores["refusal_recall"] == pytest.approx(2 / 3)
    assert math.isnan(M.refusal_scores([False], [False])["refusal_precision"])


def test_latency_percentiles():
    lat = M.latency_percentiles({"total": [1.0, 2.0, 3.0, 4.0, 5.0], "empty": []})
    assert lat["total"]["p50"] == 3.0
    assert lat["total"]["p95"] == pytest.approx(4.8)
    assert "empty" not in lat


def test_a_supported_quote_that_does_not_bear_on_the_question_is_not_faithful():
    question, reference = "Who chaired the trade talks?", "Minister Ortega chaired the talks on trade."
    on_topic = "The talks on trade were chaired by Minister Ortega [1]."
    off_topic = "The minister also thanked the hosts for the excellent dinner and the music [1]."
    assert M.relevant(on_topic, ["Ortega"], [question, reference])
    assert M.relevant("The delegation was led by Ortega [1].", ["Ortega"], [question])  # states the fact
    assert not M.relevant(off_topic, ["Ortega"], [question, reference])
    evidence = (on_topic + " " + off_topic,)
    sentences = [M.CitedSentence(on_topic, evidence, True), M.CitedSentence(off_topic, evidence, False)]
    assert M.support(sentences) == 1.0  # both are verbatim
    assert M.relevance(sentences) == 0.5 and M.faithfulness(sentences) == 0.5
