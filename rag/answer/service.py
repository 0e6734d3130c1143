"""AnswerService: question (+ history, filters) -> checked, cited Answer, for every generator.

rewrite follow-up -> read date intent -> retrieve -> split/embed evidence -> refuse if
nothing relevant -> false-premise check -> generate draft (streamed) -> check every
sentence's citation -> compose the Answer (renumbered citations, spans, timings).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from rag.answer import lexical, prompts
from rag.answer.citations import check_draft, compose
from rag.answer.conversation import rewrite_followup, rewrite_with_model
from rag.answer.dates import DateIntent, parse_date_intent
from rag.answer.evidence import EvidenceIndex, VectorCache
from rag.answer.generators import GenerationRequest, Generator, make_generator
from rag.answer.premise import check_premise
from rag.answer.relevance import answers_question, of_expected_type, score_sentences, titled_text
from rag.types import Answer, AnswerSentence, Filters, Passage

# With "latest"/"most recent", fetch this many times top_k and keep the newest of the
# passages that score at least RECENT_MIN_SCORE_SHARE of the best one.
RECENT_CANDIDATE_FACTOR = 3
RECENT_MIN_SCORE_SHARE = 0.5
# "What is the latest release about Kosovo?", "the most recent statement on ...": the answer is a release.
_RELEASE_ASK_RE = re.compile(
    r"\b(?:latest|most\s+recent|newest|last)\s+(?:press\s+)?(?:release|statement|announcement|readout|"
    r"news|publication|document)s?\b",
    re.IGNORECASE,
)
_WHEN_RE = re.compile(r"^\s*(?:when|what date|on what date|which date|what day)\b", re.IGNORECASE)


@dataclass(frozen=True)
class AnswerEvent:
    kind: Literal["status", "token", "answer"]
    text: str = ""
    answer: Answer | None = None


class AnswerService:
    def __init__(self, retriever, embedder, settings, today: date | None = None) -> None:
        """`today` anchors "last year"/"last month"; by default the newest release in the store
        (falling back to the calendar date), so an archive's relative questions mean its own time."""
        self.retriever = retriever
        self.embedder = embedder
        self.settings = settings
        self._today = today
        self._newest: tuple[str, date | None] | None = None
        self._generators: dict[str, Generator] = {}
        self._vectors = VectorCache()

    # ---- public API ----

    def ask(
        self,
        question: str,
        history: Sequence[tuple[str, str]] = (),
        filters: Filters = Filters(),
        top_k: int | None = None,
        generator: str | None = None,
    ) -> Answer:
        for event in self.stream(question, history, filters, top_k, generator):
            if event.kind == "answer":
                return event.answer
        raise RuntimeError("answer stream ended without an answer")  # stream always ends with one

    def stream(
        self,
        question: str,
        history: Sequence[tuple[str, str]] = (),
        filters: Filters = Filters(),
        top_k: int | None = None,
        generator: str | None = None,
    ) -> Iterator[AnswerEvent]:
        if not question or not question.strip():
            raise ValueError("the question is empty")
        backend = generator or self.settings.generator.backend
        writer = self._generator(backend)
        timings: dict[str, float] = {}
        started = clock = time.perf_counter()

        def lap(stage: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[stage] = round(timings.get(stage, 0.0) + now - clock, 4)
            clock = now

        standalone = self._rewrite(question, history, backend, writer)
        intent = parse_date_intent(standalone, self.today())
        explicit, filters = filters, intent.merge_into(filters)
        lap("rewrite")
        if standalone != question.strip():
            yield AnswerEvent("status", f"Searching the releases for: {standalone}")
        else:
            yield AnswerEvent("status", "Searching the releases…")

        query = intent.strip_from(standalone)
        k = top_k or self.settings.retrieval.top_k
        passages = self._retrieve(query, filters, k, intent)
        must_mention: frozenset[str] = frozenset()
        if not passages and (filters.date_from, filters.date_to) != (explicit.date_from, explicit.date_to):
            # Nothing was published in the question's period, but the period may be when the event
            # happened ("his visit in September 2023", told in a 2025 release): search everything,
            # and accept only sentences that name the period.
            must_mention = frozenset(lexical.period_tokens(intent.phrase))
            if must_mention:
                yield AnswerEvent("status", "No release was published then; looking for releases that mention it…")
                query, filters = standalone, explicit  # the period's words now help find it
                passages = self._retrieve(query, filters, k, intent)
        lap("retrieve")
        base = {"question": question, "standalone_question": standalone, "generator": backend}
        if not passages:
            text = prompts.NO_PASSAGES_TEXT.format(filters=_describe(filters))
            yield self._final(Answer(text=text, refused=True, **base,
                                     sentences=(AnswerSentence(text, supported=True, support=1.0),)), timings, started)
            return

        evidence = EvidenceIndex(passages, self.embedder, also_encode=(query,), _cache=self._vectors)
        scored = score_sentences(query, evidence)
        if must_mention:
            scored = [s for s in scored if must_mention <= lexical.period_tokens(s.sentence.text)]
        scored = of_expected_type(standalone, scored)  # "how much ...?" is answered only by a figure
        premise = check_premise(standalone, evidence.sentences)
        if premise is not None and premise.kind == "unreported" and not answers_question(scored):
            premise = None  # off-topic sources: a plain "the releases don't say"
        release = _asked_release(standalone, passages) if intent.prefer_recent and premise is None else None
        lap("check")
        if not answers_question(scored) and premise is None and release is None:
            text = prompts.REFUSAL_TEXT.format(question=standalone)
            yield self._final(Answer(text=text, refused=True, passages=tuple(passages), **base,
                                     sentences=(AnswerSentence(text, supported=True, support=1.0),)), timings, started)
            return

        if backend != "extractive":
            yield AnswerEvent("status", "Writing the answer…")
        # release_id: models ignore it; the extractive writer (and a model's extractive fallback) quotes it
        request = GenerationRequest(standalone, evidence, premise, intent.prefer_recent, must_mention,
                                    release_id=release.doc_id if release else None)
        pieces = []
        for piece in writer.stream(request):
            pieces.append(piece)
            yield AnswerEvent("token", piece)
        draft = "".join(pieces)
        lap("generate")

        yield AnswerEvent("status", "Checking every sentence against its source…")
        checked = check_draft(draft, evidence)
        if backend != "extractive" and not any(c.supported for c in checked):
            # The model wrote nothing the sources support, though they are relevant: quote them
            # instead, and say so in `generator`, rather than answer with nothing.
            fallback = "".join(self._generator("extractive").stream(request))
            checked += [c for c in check_draft(fallback, evidence) if c.supported]
            if any(c.supported for c in checked):
                base["generator"] = f"{backend}+extractive"
        preface = [premise.statement] if premise else []
        composed = compose(checked, preface)
        supported = [c for c in checked if c.supported]
        refused = False
        text, sentences, citations = composed.text, composed.sentences, composed.citations
        if not supported and not preface:
            refused = True
            said_no = any(c.verdict == "refusal" for c in checked)
            text = prompts.REFUSAL_TEXT.format(question=standalone) if said_no else prompts.UNVERIFIED_TEXT
            sentences = (AnswerSentence(text, supported=True, support=1.0),) + sentences
        elif supported and _WHEN_RE.match(standalone):
            text, sentences = _add_release_date(text, sentences, citations)
        if supported and release is not None:
            text, sentences = _name_the_release(text, sentences, citations, release.doc_id)
        lap("check")
        answer = Answer(text=text, sentences=sentences, citations=citations, passages=tuple(passages),
                        refused=refused, false_premise=premise is not None, **base)
        yield self._final(answer, timings, started)

    def today(self) -> date:
        if self._today is not None:
            return self._today
        return self._newest_release() or date.today()

    def warm_up(self) -> None:
        """Load the configured generator's model now (in the background), not on the first question."""
        if self.settings.generator.backend == "local":
            import threading

            from rag.answer.local_model import get_local_model

            threading.Thread(target=get_local_model, name="local-llm-warm-up", daemon=True).start()

    # ---- helpers ----

    @staticmethod
    def _rewrite(question: str, history: Sequence[tuple[str, str]], backend: str, writer: Generator) -> str:
        """Follow-ups become standalone questions: by the model when an OpenAI-compatible one is in use
        (SmolLM2 is too weak to trust with it) and its rewrite looks sane, else deterministically."""
        if backend == "openai" and history and hasattr(writer, "complete"):
            rewritten = rewrite_with_model(question, history, writer.complete)
            if rewritten:
                return rewritten
        return rewrite_followup(question, history)

    def _generator(self, backend: str) -> Generator:
        if backend not in self._generators:
            self._generators[backend] = make_generator(backend, self.settings.generator)
        return self._generators[backend]

    def _retrieve(self, query: str, filters: Filters, k: int, intent: DateIntent) -> list[Passage]:
        if not intent.prefer_recent:
            return self.retriever.retrieve(query, filters=filters, k=k)
        candidates = self.retriever.retrieve(query, filters=filters, k=k * RECENT_CANDIDATE_FACTOR)
        if not candidates:
            return []
        best = max(p.score for p in candidates)
        relevant = [p for p in candidates if p.score >= RECENT_MIN_SCORE_SHARE * best]
        relevant.sort(key=lambda p: (p.chunk.published or date.min, p.score), reverse=True)
        return relevant[:k]

    def _newest_release(self) -> date | None:
        """Publication date of the newest release in the store, cached per store version."""
        store = getattr(self.retriever, "store", None)
        if store is None or not hasattr(store, "documents"):
            return None
        try:
            version = str(store.version()) if hasattr(store, "version") else ""
            if self._newest is None or self._newest[0] != version:
                newest = max((d.published for d in store.documents() if d.published), default=None)
                self._newest = (version, newest)
        except Exception:  # an unreachable store must not break date parsing; fall back to the calendar
            return None
        return self._newest[1]

    @staticmethod
    def _final(answer: Answer, timings: dict[str, float], started: float) -> AnswerEvent:
        for stage in ("rewrite", "retrieve", "generate", "check"):
            timings.setdefault(stage, 0.0)
        timings["total"] = round(time.perf_counter() - started, 4)
        answer.timings.update(timings)
        return AnswerEvent("answer", answer=answer)


def _describe(filters: Filters) -> str:
    parts = []
    if filters.date_from:
        parts.append(f"from {filters.date_from.isoformat()}")
    if filters.date_to:
        parts.append(f"until {filters.date_to.isoformat()}")
    if filters.sources:
        parts.append("in " + ", ".join(filters.sources))
    return (" " + " ".join(parts)) if parts else ""


def _asked_release(question: str, passages: list[Passage]):
    """For "What is the latest release about X?", the newest retrieved release that names X (its
    chunk), else None. `passages` come newest first: `_retrieve` orders them so for "latest"."""
    if not _RELEASE_ASK_RE.search(question):
        return None
    names = lexical.critical_names(question)
    for passage in passages:
        text = titled_text(passage)
        if all(lexical.mentions(name, text) for name in names):
            return passage.chunk
    return None


def _name_the_release(text, sentences, citations, doc_id: str):
    """Put the asked-for release's title and date, from its metadata, before the quotes from it."""
    cited = next((c for c in citations if c.doc_id == doc_id), None)
    if cited is None or not cited.published:
        return text, sentences
    statement = prompts.LATEST_RELEASE_TEXT.format(title=cited.title, date=cited.published.strftime("%-d %B %Y"))
    marked, sentence = _cited_statement(statement, cited.key)
    return f"{marked} {text}", (sentence,) + sentences


def _add_release_date(text, sentences, citations):
    """A "when" question gets the release's date, from the metadata of the first cited release."""
    first = next((c for c in citations if c.published), None)
    if first is None:
        return text, sentences
    statement = prompts.RELEASE_DATE_TEXT.format(date=first.published.strftime("%-d %B %Y"))
    marked, sentence = _cited_statement(statement, first.key)
    return f"{text} {marked}", sentences + (sentence,)


def _cited_statement(statement: str, key: str) -> tuple[str, AnswerSentence]:
    """The app's own statement from a release's metadata, cited to that release: as shown in the
    answer text (marker before the full stop) and as an answer sentence."""
    return statement[:-1] + f" [{key}].", AnswerSentence(statement, (key,), True, 1.0)
