"""Offline metrics: retrieval (via ir_measures/pytrec_eval), answers, refusals and latency.

No LLM judge anywhere: every number here is reproducible from the run's records alone.
Definitions (also in eval/README.md):

- retrieval: hit@k (ir_measures ``Success@k``), recall@k (``R@k``), MRR (``RR``), nDCG@10.
- fact recall: share of a question's required facts present in the answer text.
- a citation *supports* its sentence when at least ``SUPPORT_THRESHOLD`` of the sentence's
  content words (stemmed, stop words and citation markers removed) occur in the cited passage.
- citation precision: supporting (sentence, citation) pairs / all (sentence, citation) pairs.
- citation recall: share of the question's gold supporting releases cited by the answer.
- support: share of answer sentences supported by the union of their citations
  (a sentence without citations is unsupported).
- relevance: share of answer sentences that bear on the question: a sentence is relevant when it
  states a required fact, or when at least ``RELEVANCE_THRESHOLD`` of its content words occur in
  the question, its reference answer or its gold quotes (written by people, not by the app).
- faithfulness: share of answer sentences both supported and relevant. A verbatim quote is
  supported by construction; only relevance makes this number say whether the quote answers.
- refusal precision/recall: positives are unanswerable and false-premise questions; an answer
  counts as a refusal when it is refused or flags a false premise.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import ir_measures
import numpy as np
import Stemmer
from ir_measures import RR, R, Success, nDCG

SUPPORT_THRESHOLD = 0.6
RELEVANCE_THRESHOLD = 0.3

# display name -> ir_measures measure; the order is the order of report columns
RETRIEVAL_MEASURES = {
    "hit@1": Success @ 1,
    "hit@5": Success @ 5,
    "hit@10": Success @ 10,
    "recall@5": R @ 5,
    "recall@10": R @ 10,
    "MRR": RR,
    "nDCG@10": nDCG @ 10,
}

Qrels = Mapping[str, Mapping[str, int]]
Run = Mapping[str, Mapping[str, float]]


# ---------------------------------------------------------------------------------------------
# Retrieval


def ranked_run(ranked_ids: Sequence[str]) -> dict[str, float]:
    """A ranked list as a run with strictly decreasing scores (pytrec_eval sorts by score)."""
    run: dict[str, float] = {}
    for rank, doc_id in enumerate(ranked_ids):
        run.setdefault(doc_id, float(len(ranked_ids) - rank))
    return run


def retrieval_scores(qrels: Qrels, run: Run, measures: Mapping[str, object] = RETRIEVAL_MEASURES
                     ) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """(mean over the judged queries, per-query values) for each named measure.

    Only queries present in ``qrels`` with at least one relevant item count; a judged query
    missing from ``run`` scores 0 (pytrec_eval would silently drop it).
    """
    judged = {q: dict(d) for q, d in qrels.items() if any(v > 0 for v in d.values())}
    if not judged:
        return {name: math.nan for name in measures}, {}
    full_run = {q: dict(run.get(q) or {"__none__": 0.0}) for q in judged}
    by_measure = {m: name for name, m in measures.items()}
    per_query: dict[str, dict[str, float]] = {q: {name: 0.0 for name in measures} for q in judged}
    for metric in ir_measures.iter_calc(list(measures.values()), judged, full_run):
        per_query[metric.query_id][by_measure[metric.measure]] = float(metric.value)
    means = {name: float(np.mean([per_query[q][name] for q in judged])) for name in measures}
    return means, per_query


# ---------------------------------------------------------------------------------------------
# Answers

_STEMMER = Stemmer.Stemmer("english")
_STOP = frozenset(
    "a an and are as at be been but by for from has have he her his i in is it its of on or our she "
    "that the their them they this to was we were which will with would you your also not no than "
    "so such into about over after before while who whom whose what when where why how all any both "
    "each other said says say".split()
)
_MARKER = re.compile(r"\[\s*\d+(?:\s*,\s*\d+)*\s*\]")
_WORD = re.compile(r"[0-9]+(?:[.,][0-9]+)*|[^\W\d_]+", re.UNICODE)


def content_terms(text: str) -> set[str]:
    """Stemmed content words and numbers of ``text``, citation markers removed."""
    words = _WORD.findall(_MARKER.sub(" ", text).casefold())
    return {_STEMMER.stemWord(w) for w in words if w not in _STOP}


def support_score(sentence: str, evidence: str) -> float:
    """Share of the sentence's content terms found in the evidence (1.0 for an empty sentence)."""
    terms = content_terms(sentence)
    if not terms:
        return 1.0
    return len(terms & content_terms(evidence)) / len(terms)


def supports(sentence: str, evidence: str, threshold: float = SUPPORT_THRESHOLD) -> bool:
    return support_score(sentence, evidence) >= threshold


@dataclass(frozen=True)
class CitedSentence:
    """One answer sentence with the texts of the passages it cites."""

    text: str
    cited: tuple[str, ...]  # evidence texts, one per citation
    relevant: bool = True  # set by `relevant()` from the question's gold data


def citation_precision(sentences: Iterable[CitedSentence]) -> float | None:
    pairs = [supports(s.text, ev) for s in sentences for ev in s.cited]
    return sum(pairs) / len(pairs) if pairs else None


def _supported(sentence: CitedSentence) -> bool:
    return bool(sentence.cited) and supports(sentence.text, "\n".join(sentence.cited))


def support(sentences: Sequence[CitedSentence]) -> float | None:
    if not sentences:
        return None
    return sum(_supported(s) for s in sentences) / len(sentences)


def relevance(sentences: Sequence[CitedSentence]) -> float | None:
    if not sentences:
        return None
    return sum(s.relevant for s in sentences) / len(sentences)


def faithfulness(sentences: Sequence[CitedSentence]) -> float | None:
    """Supported and relevant: what an answer sentence must be to count as faithful."""
    if not sentences:
        return None
    return sum(_supported(s) and s.relevant for s in sentences) / len(sentences)


def relevant(sentence: str, facts: Sequence[str], gold_texts: Sequence[str],
             threshold: float = RELEVANCE_THRESHOLD) -> bool:
    """Whether an answer sentence bears on the question (see the module docstring)."""
    from rag.evaluation.suite import fact_present

    if any(fact_present(f, sentence) for f in facts):
        return True
    terms = content_terms(sentence)
    if not terms:
        return True
    gold = set().union(*(content_terms(t) for t in gold_texts)) if gold_texts else set()
    return len(terms & gold) / len(terms) >= threshold


def citation_recall(cited_releases: Iterable[str], gold_releases: Iterable[str]) -> float | None:
    gold = set(gold_releases)
    if not gold:
        return None
    return len(gold & set(cited_releases)) / len(gold)


def fact_recall(facts: Sequence[str], answer_text: str) -> float | None:
    from rag.evaluation.suite import fact_present

    if not facts:
        return None
    return sum(fact_present(f, answer_text) for f in facts) / len(facts)


def refusal_scores(expected: Sequence[bool], refused: Sequence[bool]) -> dict[str, float]:
    """Precision, recall and F1 of refusing, where ``expected`` marks the questions to refuse."""
    tp = sum(e and r for e, r in zip(expected, refused))
    fp = sum(r and not e for e, r in zip(expected, refused))
    fn = sum(e and not r for e, r in zip(expected, refused))
    precision = tp / (tp + fp) if tp + fp else math.nan
    recall = tp / (tp + fn) if tp + fn else math.nan
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else math.nan
    return {"refusal_precision": precision, "refusal_recall": recall, "refusal_f1": f1}


# ---------------------------------------------------------------------------------------------
# Aggregation


def mean_of(values: Iterable[float | None]) -> float:
    kept = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return float(np.mean(kept)) if kept else math.nan


def latency_percentiles(samples: Mapping[str, Sequence[float]]) -> dict[str, dict[str, float]]:
    """Per stage: p50, p95 and mean in seconds (linear interpolation, numpy's default)."""
    out = {}
    for stage, values in samples.items():
        values = [v for v in values if v is not None]
        if values:
            out[stage] = {
                "p50": float(np.percentile(values, 50)),
                "p95": float(np.percentile(values, 95)),
                "mean": float(np.mean(values)),
                "n": len(values),
            }
    return out
