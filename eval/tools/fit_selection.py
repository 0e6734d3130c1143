"""Fit the answer-selection model (rag/answer/weights.py) on the dev suites, and only on them.

    python eval/tools/fit_selection.py --data-dir /tmp/eval-data eval/suites/demo-dev.jsonl eval/suites/heldout-dev.jsonl

For every dev question the answer service's own analysis, retrieval and features are used
(AnswerService.gather), so the model is fitted on exactly what it scores at answer time. A
sentence is a positive when it states one of the question's required facts. Two logistic
models: CHEAP over the signals every sentence gets, TYPED over those plus the answer-type
signals of typed parts (which depend on CHEAP's choice of sentences to annotate, hence two
rounds). The thresholds are then chosen on the same dev questions by simulating the choice:
fact recall and relevance of what would be shown for answerable questions, refusals for
unanswerable ones. Suites named *-test are refused: the test split is for reporting only.
"""

from __future__ import annotations

import argparse
import itertools
import math
import pprint
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from rag.answer import selection, weights  # noqa: E402
from rag.evaluation import metrics  # noqa: E402
from rag.evaluation.suite import fact_present, load_suite  # noqa: E402

ANSWERABLE = ("factoid", "multi-release", "date")
THRESHOLDS = [round(x, 2) for x in np.arange(0.1, 0.75, 0.05)]
MARGINS = (0.5, 0.6, 0.7, 0.8, 0.9)
REGULARISATION = 1.0  # sklearn's C: weights stay small with ~100 questions to fit on


def gather_all(services, suites):
    rows = []
    for suite in suites:
        for question in suite.questions:
            q = services.answers.analyse(question.question, question.history)
            found = services.answers.gather(q, question.filters)
            rows.append((question, q, found))
    return rows


def training_rows(gathered):
    cheap, typed = [], []
    for question, q, found in gathered:
        if question.type not in ANSWERABLE or found.selection is None:
            continue
        for index, part in enumerate(q.parts):
            features = selection.sentence_features(q, found.evidence)[index]
            for sentence, row in zip(found.evidence.sentences, features):
                if selection.eligible(sentence):
                    cheap.append((row, _positive(question, sentence.text)))
            if part.typed:
                for candidate in found.selection.ranked[index]:
                    typed.append((candidate.features, _positive(question, candidate.sentence.text)))
    return cheap, typed


def _positive(question, text: str) -> bool:
    return any(fact_present(f, text) for f in question.required_facts)


def fit(rows, names):
    from sklearn.linear_model import LogisticRegression

    x = np.array([[r[n] for n in names] for r, _ in rows])
    y = np.array([label for _, label in rows])
    model = LogisticRegression(C=REGULARISATION, max_iter=5000).fit(x, y)
    return {"intercept": round(float(model.intercept_[0]), 4),
            "coef": {n: round(float(c), 4) for n, c in zip(names, model.coef_[0])}}


def rescored(found, q):
    """The gathered ranking with relevance recomputed under the current weights."""
    ranked = []
    for index, part in enumerate(q.parts):
        model = weights.TYPED if part.typed else weights.CHEAP
        candidates = [replace(c, relevance=selection._score(c.features, model)) for c in found.selection.ranked[index]]
        ranked.append(tuple(sorted(candidates, key=lambda c: -c.relevance)))
    return tuple(ranked)


def simulate(gathered, answer_threshold, show_threshold, margin):
    recalls, relevances, refused_ok, refused_wrong = [], [], [], 0
    for question, q, found in gathered:
        if question.type == "false-premise":
            continue
        chosen = []
        if found.selection is not None:
            ranked = rescored(found, q)
            chosen = selection.choose(q, found.evidence, ranked, answer_threshold, show_threshold, margin).chosen
        if question.type == "unanswerable":
            refused_ok.append(not chosen)
            continue
        text = " ".join(c.sentence.text for c in chosen)
        recalls.append(sum(fact_present(f, text) for f in question.required_facts) / len(question.required_facts))
        gold = [question.question, question.reference_answer, *question.quotes]
        relevances.extend(metrics.relevant(c.sentence.text, question.required_facts, gold) for c in chosen)
        refused_wrong += not chosen
    return {"fact_recall": float(np.mean(recalls)), "relevance": float(np.mean(relevances)) if relevances else 0.0,
            "refusal_recall": float(np.mean(refused_ok)) if refused_ok else math.nan,
            "answerable_refused": refused_wrong / max(len(recalls), 1)}


def objective(result) -> float:
    # Facts found, relevance of what is shown and refusals of the unanswerable count alike; refusing
    # an answerable question costs six times as much (the error users forgive least).
    return (result["fact_recall"] + result["relevance"] + result["refusal_recall"]
            - 6 * result["answerable_refused"])


def write_weights(cheap, typed, answer_threshold, show_threshold, margin, suites, path):
    text = f'''"""Weights of the answer-selection model (rag.answer.selection).

Written by eval/tools/fit_selection.py, fitted on: {", ".join(s.name for s in suites)}.
Do not edit by hand: refit instead (the command is in that script's docstring).
"""

CHEAP = {pprint.pformat(cheap, width=110, sort_dicts=False)}
TYPED = {pprint.pformat(typed, width=110, sort_dicts=False)}
ANSWER_THRESHOLD = {answer_threshold}
SHOW_THRESHOLD = {show_threshold}
RELATIVE_MARGIN = {margin}
'''
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("suites", nargs="+", type=Path)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    suites = [load_suite(p) for p in args.suites]
    if any(s.name.endswith("-test") for s in suites):
        sys.exit("refusing to fit on a test split")
    from rag.services import get_services
    from rag.settings import load_settings

    services = get_services(load_settings(data_dir=args.data_dir))
    path = ROOT / "rag" / "answer" / "weights.py"
    for round_ in range(args.rounds):
        gathered = gather_all(services, suites)
        cheap_rows, typed_rows = training_rows(gathered)
        weights.CHEAP = fit(cheap_rows, selection.CHEAP_FEATURES)
        weights.TYPED = fit(typed_rows, selection.TYPED_FEATURES)
        print(f"round {round_ + 1}: {len(cheap_rows)} sentences ({sum(l for _, l in cheap_rows)} positive), "
              f"{len(typed_rows)} typed candidates", file=sys.stderr)
        write_weights(weights.CHEAP, weights.TYPED, weights.ANSWER_THRESHOLD, weights.SHOW_THRESHOLD,
                      weights.RELATIVE_MARGIN, suites, path)
    gathered = gather_all(services, suites)
    grid = {(a, s, m): simulate(gathered, a, s, m)
            for a, s, m in itertools.product(THRESHOLDS, THRESHOLDS, MARGINS) if s >= a}
    (best_a, best_s, best_m), best = max(grid.items(), key=lambda item: objective(item[1]))
    for (a, s, m), result in sorted(grid.items()):
        if abs(a - best_a) <= 0.05 and abs(s - best_s) <= 0.1 and abs(m - best_m) <= 0.1:
            print(f"answer {a:.2f} show {s:.2f} margin {m}: {result}", file=sys.stderr)
    print(f"chosen: answer {best_a} show {best_s} margin {best_m}: {best}", file=sys.stderr)
    write_weights(weights.CHEAP, weights.TYPED, best_a, best_s, best_m, suites, path)


if __name__ == "__main__":
    main()
