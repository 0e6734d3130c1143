"""`rag eval SUITE`: ask every suite question under each configuration and score it.

A configuration is a retrieval mode plus a generator, optionally with retrieval overrides:
``hybrid``, ``dense:extractive``, ``hybrid:openai:fusion=rrf,rrf_k=60``. Everything goes
through ``rag.services`` (the same services the CLI and UI use).
"""

from __future__ import annotations

import hashlib
import math
import random
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from rag.evaluation import metrics as M
from rag.evaluation.suite import Suite, SuiteQuestion, load_suite, normalize

RETRIEVE_K = 10  # depth of the ranking scored by the retrieval metrics
MODES = ("lexical", "dense", "hybrid")
RETRIEVAL_ONLY = "none"
RETRIEVAL_KEYS = {"fusion", "dense_weight", "rrf_k", "candidates", "dense_candidates", "top_k"}


@dataclass(frozen=True)
class EvalConfig:
    name: str
    mode: str
    generator: str | None = None  # None: the settings' default backend
    retrieval: dict = field(default_factory=dict, hash=False)


def parse_config(spec: str) -> EvalConfig:
    """'mode[:generator][:key=value,...]' -> EvalConfig; errors say what was wrong.

    The generator ``none`` scores retrieval only (no answers): a cheap way to put several
    retrieval settings side by side.
    """
    parts = spec.strip().split(":")
    mode = parts[0]
    if mode not in MODES:
        raise ValueError(f"config {spec!r}: mode must be one of {', '.join(MODES)}")
    generator = parts[1] or None if len(parts) > 1 else None
    overrides: dict[str, Any] = {}
    if len(parts) > 2 and parts[2]:
        for pair in parts[2].split(","):
            key, _, value = pair.partition("=")
            if key not in RETRIEVAL_KEYS | {"disable"} or not value:
                raise ValueError(f"config {spec!r}: {pair!r} is not key=value with key in "
                                 f"{sorted(RETRIEVAL_KEYS | {'disable'})}")
            if key == "disable":  # answer rules switched off: disable=premise+roles
                overrides[key] = value.split("+")
                continue
            overrides[key] = value if key == "fusion" else float(value) if key == "dense_weight" else int(value)
    if len(parts) > 3:
        raise ValueError(f"config {spec!r}: expected mode[:generator][:key=value,...]")
    return EvalConfig(spec.strip(), mode, generator, overrides)


def configure(settings, config: EvalConfig):
    """The settings a configuration runs under (a new object; ``settings`` is not changed)."""
    retrieval_keys = {k: v for k, v in config.retrieval.items() if k != "disable"}
    if "boilerplate" in config.retrieval.get("disable", ()):
        retrieval_keys["boilerplate_penalty"] = 0.0
    retrieval = settings.retrieval.model_copy(update={"mode": config.mode, **retrieval_keys})
    update: dict[str, Any] = {"retrieval": retrieval}
    if "disable" in config.retrieval:
        update["answer"] = settings.answer.model_validate({"disable": config.retrieval["disable"]})
    if config.generator and config.generator != RETRIEVAL_ONLY:
        update["generator"] = settings.generator.model_copy(update={"backend": config.generator})
    return settings.model_copy(update=update)


# ---------------------------------------------------------------------------------------------
# One question


@dataclass
class QuestionResult:
    config: str
    id: str
    type: str
    question: str
    answer: str = ""
    refused: bool = False
    expects_refusal: bool = False
    doc_run: list[str] = field(default_factory=list)  # release keys, best first, deduplicated
    passage_run: list[str] = field(default_factory=list)  # quote ids / other ids, best first
    fact_recall: float | None = None
    citation_precision: float | None = None
    citation_recall: float | None = None
    support: float | None = None
    relevance: float | None = None
    faithfulness: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    error: str = ""
    suite: str = ""
    held_out: bool = False  # from a test split: counted, never listed in the report


def release_key(url: str, path: str) -> str:
    """How suites name a release: its URL, else its file name."""
    return url or (Path(path).name if path else "")


def passage_units(question: SuiteQuestion, passages: Sequence) -> list[str]:
    """The ranked passages as quote ids: a passage counts for a quote when it holds the quote."""
    quotes = [(s.release, normalize(q)) for s in question.supporting for q in s.quotes]
    units = []
    for passage in passages:
        chunk = passage.chunk
        key, text = release_key(chunk.url, chunk.path), normalize(chunk.text)
        hit = next((f"quote:{i}" for i, (rel, q) in enumerate(quotes) if rel == key and _holds(text, q)), None)
        units.append(hit or f"other:{chunk.chunk_id}")
    return units


def _holds(text: str, quote: str) -> bool:
    # A chunk boundary may cut a long quote: either half (>= 40 chars) is enough then.
    if quote in text:
        return True
    half = len(quote) // 2
    return half >= 40 and (quote[:half] in text or quote[half:] in text)


def _cited_evidence(citation) -> str:
    """What a citation shows the reader: the release's title and date, then the passage. The app's own
    statements about a release ("The release was published on 21 March 2025") cite its metadata."""
    published = citation.published.strftime("%-d %B %Y") if citation.published else ""
    return "\n".join(part for part in (citation.title, published, citation.passage_text or citation.quote) if part)


def score_answer(question: SuiteQuestion, answer) -> dict[str, float | None]:
    if answer.refused or answer.false_premise:
        # A correction of a false premise still has to state the facts that correct it.
        facts = M.fact_recall(question.required_facts, answer.text) if question.type == "false-premise" else None
        return {"fact_recall": facts, "citation_precision": None, "citation_recall": None, "support": None,
                "relevance": None, "faithfulness": None}
    by_key = {c.key: c for c in answer.citations}
    gold = [question.question, question.reference_answer, *question.quotes]
    sentences = [
        M.CitedSentence(s.text, tuple(_cited_evidence(by_key[k]) for k in s.citation_keys if k in by_key),
                        M.relevant(s.text, question.required_facts, gold))
        # the app's own statements ("The releases don't say who ...") are not claims drawn from a source
        for s in answer.sentences if s.text.strip() and not s.own
    ]
    cited = [release_key(c.url, c.path) for c in answer.citations]
    gold = [s.release for s in question.supporting]
    return {
        "fact_recall": M.fact_recall(question.required_facts, answer.text),
        "citation_precision": M.citation_precision(sentences),
        "citation_recall": M.citation_recall(cited, gold) if not question.expects_refusal else None,
        "support": M.support(sentences),
        "relevance": M.relevance(sentences),
        "faithfulness": M.faithfulness(sentences),
    }


def retrieval_query(services, question: str, filters, history=()):
    """The query and filters the answer service retrieves with, from its own question analysis:
    a date phrase ("in March 2022") becomes a filter and leaves the query. ("latest" re-sorting by
    date is the retriever's `recent` mode and is not part of the scored ranking.)"""
    analysed = services.answers.analyse(question, history) if hasattr(services.answers, "analyse") else None
    if analysed is None:  # a stand-in answer service: score the plain question
        return question, filters
    return analysed.query or analysed.standalone, analysed.filters(filters)


def run_question(services, config: EvalConfig, question: SuiteQuestion) -> QuestionResult:
    result = QuestionResult(config.name, question.id, question.type, question.question,
                            expects_refusal=question.expects_refusal)
    try:
        if config.generator == RETRIEVAL_ONLY:
            return _retrieval_only(services, config, question, result)
        started = time.perf_counter()
        answer = services.answers.ask(question.question, history=question.history, filters=question.filters)
        total = time.perf_counter() - started
        result.answer, result.refused = answer.text, bool(answer.refused or answer.false_premise)
        result.timings = {k: float(v) for k, v in (answer.timings or {}).items() if isinstance(v, (int, float))}
        result.timings.setdefault("total", total)
        for key, value in score_answer(question, answer).items():
            setattr(result, key, value)
        # Retrieval is scored on its own ranking (deeper than what the generator sees), for the
        # question as the service understood it (follow-ups are rewritten to stand alone).
        query, filters = retrieval_query(services, question.question, question.filters, question.history)
        passages = services.retriever.retrieve(query, filters=filters, k=RETRIEVE_K, mode=config.mode)
        _record_ranking(result, question, passages)
    except Exception as exc:  # one broken question must not sink a 100-question run
        result.error = f"{type(exc).__name__}: {exc}"
    return result


def _retrieval_only(services, config: EvalConfig, question: SuiteQuestion, result: QuestionResult) -> QuestionResult:
    started = time.perf_counter()
    query, filters = retrieval_query(services, question.question, question.filters, question.history)
    passages = services.retriever.retrieve(query, filters=filters, k=RETRIEVE_K, mode=config.mode)
    result.timings = {"retrieve": time.perf_counter() - started}
    _record_ranking(result, question, passages)
    return result


def _record_ranking(result: QuestionResult, question: SuiteQuestion, passages: Sequence) -> None:
    result.doc_run = list(dict.fromkeys(release_key(p.chunk.url, p.chunk.path) for p in passages))
    result.passage_run = passage_units(question, passages)


# ---------------------------------------------------------------------------------------------
# Aggregation


def summarize(suite: Suite, results: Sequence[QuestionResult]) -> dict[str, Any]:
    """Metrics of one configuration: overall, per question type, and latency."""
    by_id = {q.id: q for q in suite.questions}
    answerable = [r for r in results if not by_id[r.id].expects_refusal or by_id[r.id].supporting]
    doc_qrels = {r.id: {s.release: 1 for s in by_id[r.id].supporting} for r in answerable}
    doc_run = {r.id: M.ranked_run(r.doc_run) for r in answerable}
    passage_qrels = {r.id: {f"quote:{i}": 1 for i in range(len(by_id[r.id].quotes))} for r in answerable}
    passage_run = {r.id: M.ranked_run(r.passage_run) for r in answerable}
    doc_means, doc_per_q = M.retrieval_scores(doc_qrels, doc_run)
    passage_means, passage_per_q = M.retrieval_scores(passage_qrels, passage_run)

    def answer_metrics(rows: Sequence[QuestionResult]) -> dict[str, float]:
        out = {
            "fact_recall": M.mean_of(r.fact_recall for r in rows),
            "citation_precision": M.mean_of(r.citation_precision for r in rows),
            "citation_recall": M.mean_of(r.citation_recall for r in rows),
            "support": M.mean_of(r.support for r in rows),
            "relevance": M.mean_of(r.relevance for r in rows),
            "faithfulness": M.mean_of(r.faithfulness for r in rows),
            "refusal_rate": M.mean_of(float(r.refused) for r in rows if r.answer or r.refused),
        }
        out.update({f"doc_{k}": M.mean_of(doc_per_q[r.id][k] for r in rows if r.id in doc_per_q) for k in ("hit@5", "nDCG@10")})
        return out

    overall = {**{f"doc_{k}": v for k, v in doc_means.items()}, **{f"passage_{k}": v for k, v in passage_means.items()}}
    overall.update({k: v for k, v in answer_metrics(results).items() if not k.startswith("doc_")})
    answered = [r for r in results if r.answer or r.refused]
    if answered:
        overall.update(M.refusal_scores([r.expects_refusal for r in answered], [r.refused for r in answered]))
    stages: dict[str, list[float]] = {}
    for r in results:
        for stage, seconds in r.timings.items():
            stages.setdefault(stage, []).append(seconds)
    types = [t for t in dict.fromkeys(q.type for q in suite.questions)]
    return {
        "overall": overall,
        "by_type": {t: {"n": sum(r.type == t for r in results), **answer_metrics([r for r in results if r.type == t])}
                    for t in types},
        "latency": M.latency_percentiles(stages),
        "errors": sum(bool(r.error) for r in results),
    }


# ---------------------------------------------------------------------------------------------
# The whole run


def corpus_fingerprint(store) -> dict[str, Any]:
    """Identifies the indexed corpus: a hash over every (doc_id, content hash), plus counts."""
    states = store.doc_states()
    digest = hashlib.sha256()
    for doc_id in sorted(states):
        digest.update(f"{doc_id}\t{','.join(sorted(states[doc_id].chunk_ids_by_hash))}\n".encode())
    return {"sha256": digest.hexdigest()[:16], "documents": len(states), "chunks": store.count()}


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              timeout=5, check=False).stdout.strip()
    except OSError:
        return ""


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # torch is always installed with the product; keep the harness importable anyway
        pass


def is_held_out(suite: Suite) -> bool:
    """A suite whose name ends in "-test" is reported but never listed question by question: its
    questions are for measuring, and nobody tuning the product should read them."""
    return suite.name.endswith("-test")


def run_eval(suite_path: Path | str | Sequence[Path | str], configs: Sequence[str] | None = None, settings=None,
             out_dir: Path | str = Path("eval/reports"), *, name: str | None = None, limit: int | None = None,
             seed: int = 0, services_for: Callable | None = None, progress: Callable[[str], None] | None = None,
             checkpoint_every: int = 0) -> Path:
    """Run one or more suites under each configuration; writes report.md/.html/plots/results.jsonl;
    returns report.md. With several suites (a dev and a test split, say) every table has one row per
    (suite, configuration), so they read side by side.

    configs default to lexical, dense and hybrid with the settings' generator. ``services_for``
    (settings -> Services) exists for tests; the default is ``rag.services.get_services``.
    ``checkpoint_every`` N > 0 also rewrites the report every N questions (marked partial).
    """
    from rag.evaluation.report import write_report
    from rag.settings import load_settings

    settings = settings or load_settings()
    paths = [suite_path] if isinstance(suite_path, (str, Path)) else list(suite_path)
    suites = [load_suite(p) for p in paths]
    parsed = [parse_config(c) for c in (configs or MODES)]
    if services_for is None:
        from rag.services import get_services as services_for
    seed_everything(seed)
    started = datetime.now(timezone.utc)
    runs: dict[str, dict[str, Any]] = {}
    all_results: list[QuestionResult] = []
    fingerprint: dict[str, Any] = {}
    label = "+".join(s.name for s in suites)
    folder = Path(out_dir) / (name or f"{label}-{started.strftime('%Y%m%d-%H%M%S')}")
    report = folder / "report.md"
    subs = [Suite(s.name, s.path, tuple(s.questions[:limit] if limit else s.questions), s.fingerprint) for s in suites]
    for config in parsed:
        config_settings = configure(settings, config)
        services = services_for(config_settings)
        if not fingerprint:
            fingerprint = corpus_fingerprint(services.store)
        for sub in subs:
            run_name = config.name if len(subs) == 1 else f"{sub.name} · {config.name}"
            results = []
            for i, question in enumerate(sub.questions, 1):
                result = run_question(services, config, question)
                result.suite, result.held_out, result.config = sub.name, is_held_out(sub), run_name
                results.append(result)
                if progress:
                    progress(f"[{run_name}] {i}/{len(sub)} {'(held out)' if result.held_out else question.id}")
                if checkpoint_every and i % checkpoint_every == 0 and i < len(sub):
                    partial = Suite(sub.name, sub.path, tuple(sub.questions[:i]), sub.fingerprint)
                    snapshot = {**runs, f"{run_name} (partial: {i}/{len(sub)})": {
                        "config": {}, "settings": config_settings.model_dump(mode="json"),
                        "summary": summarize(partial, results)}}
                    write_report(folder, _meta([partial], fingerprint, seed, started), snapshot, all_results + results)
            runs[run_name] = {
                "suite": sub.name,
                "config": {"mode": config.mode, **config.retrieval, "generator": config.generator
                           if config.generator == RETRIEVAL_ONLY else config_settings.generator.backend},
                "settings": config_settings.model_dump(mode="json"),
                "summary": summarize(sub, results),
            }
            all_results.extend(results)
            # Rewritten after every run: a long run interrupted late still leaves a report.
            report = write_report(folder, _meta(subs, fingerprint, seed, started), runs, all_results)
    return report


def _meta(suites: Sequence[Suite], fingerprint: dict, seed: int, started: datetime) -> dict:
    return {
        "suite": ", ".join(str(s.path) for s in suites),
        "suite_fingerprint": ", ".join(s.fingerprint for s in suites),
        "suites": [{"name": s.name, "path": str(s.path), "fingerprint": s.fingerprint, "questions": len(s),
                    "held_out": is_held_out(s)} for s in suites],
        "questions": sum(len(s) for s in suites),
        "corpus": fingerprint, "seed": seed, "date": started.isoformat(timespec="seconds"),
        "seconds": round((datetime.now(timezone.utc) - started).total_seconds(), 1), "commit": git_commit(),
        "retrieve_k": RETRIEVE_K,
    }


def nan_to_none(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [nan_to_none(v) for v in value]
    return value
