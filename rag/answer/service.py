"""AnswerService: question (+ history, filters) -> checked, cited Answer, for every generator.

analyse the question once (rag.answer.question) -> retrieve (dates and recency are the
retriever's) -> split and embed the evidence -> select the sentences that answer each part
(rag.answer.selection) -> check the premise -> refuse, or let the generator write -> check
every sentence for support and relevance -> compose the Answer (renumbered citations, spans,
timings). The generator only writes; every decision above is the app's.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from rag.answer import lexical, prompts, weights
from rag.answer.citations import check_draft, compose
from rag.answer.conversation import rewrite_with_model
from rag.answer.dates import edition_words, edition_years
from rag.answer.evidence import EvidenceIndex, SourceSentence, VectorCache
from rag.answer.generators import GenerationRequest, Generator, make_generator
from rag.answer.limits import check_question_length
from rag.nlp import get_annotator
from rag.answer.premise import PremiseFinding, check_premise, mentions_any, names_other_than_agent, period_text
from rag.answer.question import Question, analyse
from rag.answer.selection import Selection, select
from rag.answer.words import words_for
from rag.types import Answer, AnswerSentence, Filters, Passage

# A multi-part question also retrieves for each part: up to this many passages each.
PART_PASSAGES = 3
# A model's sentence is relevant when it quotes one of each part's best few candidates.
MODEL_CHOICES = 5
# After the app's own premise statement, quotes are context, so they may be less relevant.
PREMISE_CONTEXT_THRESHOLD = 0.2


@dataclass(frozen=True)
class AnswerEvent:
    kind: Literal["status", "token", "answer"]
    text: str = ""
    answer: Answer | None = None


@dataclass
class Gathered:
    """What an answer is made from, before anything is written."""

    question: Question
    filters: Filters
    passages: list[Passage]
    evidence: EvidenceIndex | None = None
    selection: Selection | None = None
    # Period tokens ("@september", "#2023") every quote must contain: the question's period is when
    # an event happened, not when a release was published (no release was published then).
    must_mention: frozenset[str] = frozenset()


class AnswerService:
    def __init__(self, retriever, embedder, settings, today: date | None = None, catalogue=None,
                 encoder_for=None) -> None:
        """`today` anchors "last year"/"last month"; by default the newest release in the store
        (falling back to the calendar date), so an archive's relative questions mean its own time.
        `catalogue` (rag.catalogue.Catalogue) knows that date; one over the retriever's store by default.
        `encoder_for(language)`: the model that compares a question in that language with
        sentences (e5 for Russian or Kazakh over an English store, see rag.bridge); `embedder` by default."""
        self.retriever = retriever
        self.embedder = embedder
        self._encoder_for = encoder_for
        self.settings = settings
        self._today = today
        self.catalogue = catalogue
        self._generators: dict[str, Generator] = {}
        self._vectors: dict[object, VectorCache] = {}  # per model: two models' vectors never mix
        self.annotator = get_annotator()

    # ---- public API ----

    def ask(self, question: str, history: Sequence[tuple[str, str]] = (), filters: Filters = Filters(),
            top_k: int | None = None, generator: str | None = None) -> Answer:
        for event in self.stream(question, history, filters, top_k, generator):
            if event.kind == "answer":
                return event.answer
        raise RuntimeError("answer stream ended without an answer")  # stream always ends with one

    def analyse(self, question: str, history: Sequence[tuple[str, str]] = (), backend: str | None = None) -> Question:
        """The question as the service understands it (follow-ups rewritten, dates, parts, types)."""
        backend = backend or self.settings.generator.backend
        rewritten = None
        if backend == "openai" and history:
            writer = self._generator(backend)
            if hasattr(writer, "complete"):  # a capable model rewrites follow-ups; SmolLM2 is too weak
                rewritten = rewrite_with_model(question, history, writer.complete)
        return analyse(question, history, self.today(), standalone=rewritten, disable=self.disabled)

    @property
    def disabled(self) -> frozenset[str]:
        """Rules switched off by settings (answer.disable), for ablations."""
        answer = getattr(self.settings, "answer", None)
        return frozenset(answer.disable) if answer is not None else frozenset()

    def gather(self, question: Question, filters: Filters = Filters(), top_k: int | None = None) -> Gathered:
        """Retrieve for the question and select the sentences that answer it."""
        k = top_k or self.settings.retrieval.top_k
        wanted = question.filters(filters)
        found = Gathered(question, wanted, self._retrieve(question, wanted, k, explicit=filters))
        if (not found.passages and "period" not in self.disabled
                and (wanted.date_from, wanted.date_to) != (filters.date_from, filters.date_to)):
            # Nothing was published in the question's period, but the period may be when the event
            # happened ("his visit in September 2023", told in a 2025 release): search everything
            # and accept only sentences that name the period.
            must_mention = frozenset(lexical.period_tokens(question.dates.phrase))
            if must_mention:
                found = Gathered(question, filters, self._retrieve(question, filters, k, with_period=True),
                                 must_mention=must_mention)
        if found.passages:
            encoder = self._encoder_for(question.language) if self._encoder_for is not None else self.embedder
            cache = self._vectors.setdefault(getattr(encoder, "name", None) or id(encoder), VectorCache())
            found.evidence = EvidenceIndex(found.passages, encoder,
                                           also_encode=(question.standalone, *(p.search_text for p in question.parts)),
                                           use_boilerplate="boilerplate" not in self.disabled, _cache=cache)
            keep = (lambda s: found.must_mention <= lexical.period_tokens(s.text)) if found.must_mention else None
            found.selection = select(question, found.evidence, self.annotator, keep=keep, disable=self.disabled)
        return found

    def stream(self, question: str, history: Sequence[tuple[str, str]] = (), filters: Filters = Filters(),
               top_k: int | None = None, generator: str | None = None) -> Iterator[AnswerEvent]:
        if not question or not question.strip():
            raise ValueError("the question is empty")
        check_question_length(question, self.settings.answer.max_question_chars)
        backend = generator or self.settings.generator.backend
        writer = self._generator(backend)
        timings: dict[str, float] = {}
        started = clock = time.perf_counter()

        def lap(stage: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[stage] = round(timings.get(stage, 0.0) + now - clock, 4)
            clock = now

        q = self.analyse(question, history, backend)
        lap("rewrite")
        yield AnswerEvent("status", f"Searching the releases for: {q.standalone}" if q.rewritten
                          else "Searching the releases…")
        base = {"question": question, "standalone_question": q.standalone, "generator": backend}
        if self._encoder_for is not None and self._encoder_for(q.language) is None:
            yield self._final(_refusal(prompts.own_text("language_unsupported", q.language), base), timings, started)
            return
        found = self.gather(q, filters, top_k)
        lap("retrieve")
        if not found.passages:
            text = prompts.own_text("no_passages", q.language).format(filters=_describe(found.filters))
            yield self._final(_refusal(text, base), timings, started)
            return

        evidence, selection = found.evidence, found.selection
        premise = None if "premise" in self.disabled else check_premise(q, evidence, self.annotator)
        if premise is not None and premise.kind == "unreported" and not _on_topic(q, premise, selection):
            premise = None  # off-topic sources: a plain "the releases don't say"
        release = _asked_release(q, found.passages) if premise is None and "release" not in self.disabled else None
        chosen = self._chosen(q, selection, premise, release)
        lap("check")
        if not chosen and premise is None:
            text = _refusal_text(q, found.passages)
            yield self._final(_refusal(text, base, found.passages), timings, started)
            return

        if backend != "extractive":
            yield AnswerEvent("status", "Writing the answer…")
        request = GenerationRequest(q, evidence, tuple(chosen), premise)
        pieces = []
        for piece in writer.stream(request):
            pieces.append(piece)
            yield AnswerEvent("token", piece)
        lap("generate")

        yield AnswerEvent("status", "Checking every sentence against its source…")
        # What a draft may cite: what the selection chose, and the few best candidates of each part
        # (a model may well pick the second best); with a premise statement, context sentences too.
        allowed = {s.index for s in chosen} | {c.sentence.index for part in selection.ranked for c in part[:MODEL_CHOICES]}
        threshold = PREMISE_CONTEXT_THRESHOLD if premise else weights.ANSWER_THRESHOLD

        def relevant(match) -> bool:
            return any(i in allowed or selection.relevance_of(i) >= threshold for i in match.sentences)

        checked = check_draft("".join(pieces), evidence, relevant)
        if backend != "extractive" and not any(c.supported for c in checked):
            # The model wrote nothing the sources support, though they are relevant: quote them
            # instead, and say so in `generator`, rather than answer with nothing.
            fallback = "".join(self._generator("extractive").stream(request))
            checked += [c for c in check_draft(fallback, evidence, relevant) if c.supported]
            if any(c.supported for c in checked):
                base["generator"] = f"{backend}+extractive"
        preface = [premise.statement] if premise else []
        composed = compose(checked, preface)
        text, sentences, citations = composed.text, composed.sentences, composed.citations
        refused = False
        if not any(c.supported for c in checked) and not premise:
            refused = True
            said_no = any(c.verdict == "refusal" for c in checked)
            text = (prompts.own_text("refusal", q.language).format(question=q.standalone) if said_no
                    else prompts.own_text("unverified", q.language))
            sentences = (AnswerSentence(text, supported=True, support=1.0, own=True),) + sentences
        else:
            text, sentences, citations = _with_release_facts(q, release, text, sentences, citations)
            if not premise:
                for index in selection.unanswered:
                    if release is not None and _asks_for_release_part(q.parts[index].text):
                        continue  # the release named above answers it
                    statement = prompts.own_text("part_unanswered", q.language).format(part=q.parts[index].text)
                    text, sentences = f"{text} {statement}", sentences + (AnswerSentence(statement, own=True),)
            text, sentences = _say_what_is_quoted(q, found.passages, citations, text, sentences)
            text, sentences = _say_period_unchecked(q, citations, text, sentences)
        lap("check")
        answer = Answer(text=text, sentences=sentences, citations=citations, passages=tuple(found.passages),
                        refused=refused, false_premise=premise is not None, **base)
        yield self._final(answer, timings, started)

    def today(self) -> date:
        if self._today is not None:
            return self._today
        return self._newest_release() or date.today()

    def warm_up(self) -> None:
        """Load what the first question needs now (in the background), not on the first question."""
        threading.Thread(target=self.annotator.warm_up, name="nlp-warm-up", daemon=True).start()
        if self.settings.generator.backend == "local":
            from rag.local_llm import get_local_model

            threading.Thread(target=get_local_model, name="local-llm-warm-up", daemon=True).start()

    # ---- helpers ----

    def _generator(self, backend: str) -> Generator:
        if backend not in self._generators:
            self._generators[backend] = make_generator(backend, self.settings.generator)
        return self._generators[backend]

    def _retrieve(self, question: Question, filters: Filters, k: int, with_period: bool = False,
                  explicit: Filters | None = None) -> list[Passage]:
        """The passages for the question, and for each part of a multi-part one (a part that
        names its own period, in that period; `explicit`: the user's filters, which win)."""
        query = question.standalone if with_period else question.query
        recent = question.dates.prefer_recent
        passages = self.retriever.retrieve(query, filters=filters, k=k, recent=recent)
        if (query != question.standalone and edition_words(question.standalone)
                and any(p.chunk.published is None for p in passages)):
            passages = self._with_undated_by_text(question, passages, filters, k, recent)
        if len(question.parts) > 1:
            have = {p.chunk.chunk_id for p in passages}
            for part in question.parts:
                own = filters
                if part.dates is not None and explicit is not None and "part-periods" not in self.disabled:
                    own = part.dates.merge_into(explicit)
                extra = self.retriever.retrieve(part.search_text, filters=own, k=k, recent=recent)
                new = [p for p in extra if p.chunk.chunk_id not in have][:PART_PASSAGES]
                have.update(p.chunk.chunk_id for p in new)
                passages += new
        return passages

    def _with_undated_by_text(self, question: Question, passages: list[Passage], filters: Filters, k: int,
                              recent: bool) -> list[Passage]:
        """Undated releases ranked by the whole question when its year names an edition ("the 2022
        Cup"). The date filter speaks for a dated release, so its search leaves the period out; an
        undated one can show which edition it tells of only in its text, beside last year's. (A
        time, "in April 2024", stays out: a release rarely states its own date.) Each side keeps
        its ranks."""
        if "undated-query" in self.disabled:
            return passages
        by_text = self.retriever.retrieve(question.standalone, filters=filters, k=k, recent=recent)
        dated = [p for p in passages if p.chunk.published is not None]
        # those naming the edition asked about first (demoting other years' editions instead lifts
        # passages that name none: news-snippets-dev refused one more unanswerable question less)
        words = edition_words(question.standalone)
        asked = {int(year) for year in re.findall(r"\b(?:19|20)\d\d\b", question.standalone)}

        def edition(p: Passage) -> int:
            return 0 if edition_years(p.chunk.text, words) & asked else 1

        undated = sorted((p for p in by_text if p.chunk.published is None), key=edition)
        merged = sorted([(i, 0, p) for i, p in enumerate(dated)] + [(i, 1, p) for i, p in enumerate(undated)],
                        key=lambda item: item[:2])
        return [replace(p, rank=i + 1) for i, (_, _, p) in enumerate(merged[:k])]

    def _chosen(self, q: Question, selection: Selection, premise: PremiseFinding | None, release) -> list[SourceSentence]:
        """What the answer quotes: the selection's choice, or what corrects a false premise, or the
        asked-for release's best sentences."""
        if premise is not None:
            if premise.kind == "misattributed":
                # what the agent did do instead, only when it bears on the question: a line of the
                # agent's history says nothing about what it is said to have proposed
                own = [s for s in premise.agent_sentences if selection.relevance_of(s.index) >= PREMISE_CONTEXT_THRESHOLD]
                return list(premise.others[:2]) + own[:1]
            if premise.claim.event is not None:
                # an unreported visit: who did visit the place then, and where the agent did meet
                # then, whatever their relevance to the question as asked (it presumed otherwise)
                def best(sentences):
                    return sorted(sentences, key=lambda s: -selection.relevance_of(s.index))[:1]

                correction = best(premise.others) + best(premise.agent_sentences)
            else:
                correction = []
            # unreported: what the agent did do instead, then what the releases say about the
            # question's other names
            context = [c for part in selection.ranked for c in part if c.relevance >= PREMISE_CONTEXT_THRESHOLD]
            own = set(premise.agent_sentences) if premise.claim.event is None else set()
            context.sort(key=lambda c: (c.sentence not in own, not _names_other_than_agent(q, c.sentence), -c.relevance))
            return list(dict.fromkeys(correction + [c.sentence for c in context][:2]))
        if release is not None:
            own = [c for part in selection.ranked for c in part if c.sentence.passage.chunk.doc_id == release.doc_id]
            own.sort(key=lambda c: -c.relevance)
            return list(dict.fromkeys(c.sentence for c in own))[:2]
        return [c.sentence for c in selection.chosen]

    def _newest_release(self) -> date | None:
        """Publication date of the newest release in the store (the catalogue caches it per store version)."""
        if self.catalogue is None:
            store = getattr(self.retriever, "store", None)
            if store is None or not hasattr(store, "documents"):
                return None
            from rag.catalogue import Catalogue

            self.catalogue = Catalogue(store)
        try:
            return self.catalogue.newest_date()
        except Exception:  # an unreachable store must not break date parsing; fall back to the calendar
            return None

    @staticmethod
    def _final(answer: Answer, timings: dict[str, float], started: float) -> AnswerEvent:
        for stage in ("rewrite", "retrieve", "generate", "check"):
            timings.setdefault(stage, 0.0)
        timings["total"] = round(time.perf_counter() - started, 4)
        answer.timings.update(timings)
        return AnswerEvent("answer", answer=answer)


def _refusal(text: str, base: dict, passages: Sequence[Passage] = ()) -> Answer:
    return Answer(text=text, refused=True, passages=tuple(passages), **base,
                  sentences=(AnswerSentence(text, supported=True, support=1.0, own=True),))


def _refusal_text(q: Question, passages: Sequence[Passage]) -> str:
    """"The releases mention X, but ..." when the passages do know the question's names."""
    known = [n for n in _display_names(q) if any(lexical.mentions(n.lower(), f"{p.chunk.title}. {p.chunk.text}")
                                                 for p in passages)]
    if known:
        return prompts.own_text("known_refusal", q.language).format(names=_join(known), question=q.standalone)
    return prompts.own_text("refusal", q.language).format(question=q.standalone)


def _say_what_is_quoted(q: Question, passages: Sequence[Passage], citations, text: str, sentences):
    """A question in Russian or Kazakh answered with quotes from releases in another language
    is told so, in its own language, before the quotes."""
    languages = {p.chunk.chunk_id: p.chunk.language for p in passages}
    quoted = sorted({languages.get(c.chunk_id, "") for c in citations} - {"", q.language})
    note = prompts.own_text("quoting", q.language)
    if not quoted or not note:
        return text, sentences
    names = prompts.LANGUAGE_NAMES.get(q.language, {})
    statement = note.format(languages=", ".join(names.get(code, code) for code in quoted))
    return f"{statement} {text}", (AnswerSentence(statement, own=True),) + tuple(sentences)


def _say_period_unchecked(q: Question, citations, text: str, sentences):
    """A question naming a period, answered only from undated releases, is told that the period
    could not be checked (they were searched because nothing rules them out), unless each release
    quoted names it."""
    first, last = q.dates.date_from, q.dates.date_to
    if (first is None and last is None) or not citations or any(c.published for c in citations):
        return text, sentences
    stated = lexical.period_tokens(q.dates.phrase)
    if stated and all(any(stated <= lexical.period_tokens(c.quote) for c in citations if c.doc_id == doc)
                      for doc in {c.doc_id for c in citations}):
        return text, sentences  # each release quoted states the period itself ("won the 2022 Cup")
    if q.language == "en":
        period = period_text(q)
    else:  # the English month names would not fit the sentence: the dates themselves
        period = f" ({first.isoformat() if first else '…'} – {last.isoformat() if last else '…'})"
    statement = prompts.own_text("undated", q.language).format(period=period)
    return f"{text} {statement}", tuple(sentences) + (AnswerSentence(statement, own=True),)


def _display_names(q: Question) -> list[str]:
    """The question's names as it writes them ("Albania", not "albania")."""
    seen = []
    for word in lexical.words(q.standalone):
        if word.lower() in q.names and word not in seen:
            seen.append(word)
    return seen


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _on_topic(q: Question, premise: PremiseFinding, selection: Selection) -> bool:
    """Whether the passages are about what an unreported premise concerns: they answer the
    question, or (for a presupposed visit) some sentence is context about the place."""
    if selection.answers:
        return True
    if premise.claim.event is None:
        return False
    # a presupposed visit: the passages know the visitor (then the statement corrects the question)
    agent = [w.lower() for w in lexical.words(premise.claim.agent) if w[:1].isupper()]
    texts = [f"{s.passage.chunk.title}. {s.passage.chunk.text}" for s in selection.ranked_sentences()]
    return bool(agent) and any(lexical.mentions(a, t) for a in agent for t in texts)


def _names_other_than_agent(q: Question, sentence: SourceSentence) -> bool:
    others = names_other_than_agent(q, q.claim) if q.claim else q.names
    return mentions_any(others, f"{sentence.passage.chunk.title}. {sentence.text}")


def _describe(filters: Filters) -> str:
    parts = []
    if filters.date_from:
        parts.append(f"from {filters.date_from.isoformat()}")
    if filters.date_to:
        parts.append(f"until {filters.date_to.isoformat()}")
    if filters.sources:
        parts.append("in " + ", ".join(filters.sources))
    return (" " + " ".join(parts)) if parts else ""


def _asked_release(q: Question, passages: list[Passage]):
    """For "What is the latest release about X?", the newest retrieved release that names X (its
    chunk), else None. Passages come newest first for such a question (the retriever's `recent`)."""
    if not q.asks_for_release:
        return None
    texts = [f"{p.chunk.title}. {p.chunk.text}" for p in passages]
    # names no passage mentions ("the EU" for a statement that says "European Union") don't decide
    names = [n for n in q.names if any(lexical.mentions(n, t) for t in texts)]
    for passage, text in zip(passages, texts):
        if all(lexical.mentions(name, text) for name in names):
            return passage.chunk
    return None


def _asks_for_release_part(text: str) -> bool:
    words = words_for("en")
    low = {w.lower() for w in lexical.words(text)}
    return bool(low & words.release_nouns) and bool(low & words.recency_words)


def _with_release_facts(q: Question, release, text, sentences, citations):
    """The app's statements from release metadata, cited to their release: the asked-for release's
    title and date first, or for a question asking when, the first cited release's date last."""
    if release is not None:
        cited = next((c for c in citations if c.doc_id == release.doc_id and c.published), None)
        if cited is not None:
            statement = prompts.LATEST_RELEASE_TEXT.format(title=cited.title, date=_day(cited.published))
            marked = f"{statement[:-1]} [{cited.key}]."
            return f"{marked} {text}", (AnswerSentence(statement, (cited.key,), True, 1.0),) + sentences, citations
    elif any(p.answer_type == "date" for p in q.parts):
        first = next((c for c in citations if c.published), None)
        if first is not None:
            statement = prompts.RELEASE_DATE_TEXT.format(date=_day(first.published))
            marked = f"{statement[:-1]} [{first.key}]."
            return f"{text} {marked}", sentences + (AnswerSentence(statement, (first.key,), True, 1.0),), citations
    return text, sentences, citations


def _day(value: date) -> str:
    return value.strftime("%-d %B %Y")
