"""The citation checker: the app, not the model, decides what each answer sentence may cite.

A sentence is shown only when it is supported by a passage AND relevant: the span that
supports it must be one the answer selection found to bear on the question (rag.answer.
selection); a true but off-topic sentence is dropped, whoever wrote it.

For every sentence of a draft:
1. keys the model invented (not among the passages shown) are dropped;
2. the sentence is matched against the passages it cites: the best sentence or pair of
   adjacent sentences, scored by embedding similarity and content-word coverage, and no
   name, number or date may be missing from the evidence, nor the action credited to
   someone other than the evidence credits it to;
3. failing that (or when uncited), against every other passage: if one supports it, the
   sentence gets that citation instead;
4. otherwise the sentence is unsupported: kept in Answer.sentences with supported=False for
   transparency, left out of Answer.text;
5. a supported sentence whose span is not relevant is dropped ("irrelevant").
Citations are renumbered 1..n in order of first use, one per distinct quoted span.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rag.answer import lexical, prompts
from rag.answer.dates import annotate_relative_dates
from rag.answer.evidence import EvidenceIndex, SpanMatch, split_sentences
from rag.nlp import get_annotator
from rag.answer.premise import agent_aliases, names_in
from rag.types import AnswerSentence, Citation

# A claim is supported when its evidence scores at least SUPPORT_THRESHOLD on the blend
# 0.5*similarity + 0.5*coverage AND at least MIN_SIMILARITY on similarity alone. A verbatim
# quote scores 1.0; a faithful paraphrase ~0.65-0.9; a related sentence that adds facts ~0.3-0.55.
SUPPORT_THRESHOLD = 0.6
MIN_SIMILARITY = 0.55

# "[1]", "[1, 2]", "[1][2]", "[Source 1]", "[source: 2]"
_MARK_RE = re.compile(r"\[\s*(?:sources?\s*:?\s*)?(\d+(?:\s*(?:,|and)\s*\d+)*)\s*\]", re.IGNORECASE)
_NEGATION_RE = re.compile(r"\b(?:not|no|never|neither|nor)\b|n[’']t\b", re.IGNORECASE)
_MODEL_REFUSAL_RE = re.compile("|".join(prompts.MODEL_REFUSAL_PATTERNS), re.IGNORECASE)


@dataclass(frozen=True)
class DraftSentence:
    text: str  # without markers
    keys: tuple[str, ...]  # keys of passages that were shown
    invented_keys: tuple[str, ...]  # keys the model made up


@dataclass(frozen=True)
class CheckedSentence:
    text: str
    match: SpanMatch | None  # the supporting span (None when unsupported)
    supported: bool
    verdict: str  # supported | recited (citation corrected) | attached (was uncited) | unsupported | refusal | irrelevant
    draft: DraftSentence

    @property
    def support(self) -> float:
        return _blend(self.match) if self.match else 0.0


def parse_draft(draft: str, valid_keys: set[str]) -> list[DraftSentence]:
    """Sentences of a draft with their citation keys; markers alone on a line belong to the sentence before."""
    # "... end. [1] Next" -> "... end [1]. Next" so the marker stays with its sentence.
    text = re.sub(r"([.!?])((?:[ \t]*" + _MARK_RE.pattern + r")+)", r"\2\1", draft, flags=re.IGNORECASE)
    result: list[DraftSentence] = []
    # A line break ends a sentence too: drafts put one quoted sentence (or list item) per line,
    # and a source sentence need not end with a full stop.
    pieces = [line[s:e] for line in text.splitlines() for s, e in split_sentences(line)]
    for piece in pieces:
        piece = piece.strip()
        keys = [k.strip() for m in _MARK_RE.finditer(piece) for k in re.split(r",|and", m.group(1))]
        body = " ".join(_MARK_RE.sub(" ", piece).split())
        body = re.sub(r"\s+([.,;:!?])", r"\1", body)
        valid = tuple(dict.fromkeys(k for k in keys if k in valid_keys))
        invented = tuple(dict.fromkeys(k for k in keys if k not in valid_keys))
        if not lexical.words(body):
            if result:  # a stray marker: it cites the sentence before it
                last = result[-1]
                result[-1] = DraftSentence(last.text, tuple(dict.fromkeys(last.keys + valid)),
                                           last.invented_keys + invented)
            continue
        result.append(DraftSentence(body, valid, invented))
    return result


def is_model_refusal(text: str) -> bool:
    return bool(_MODEL_REFUSAL_RE.search(text))


def _blend(match: SpanMatch) -> float:
    return 0.5 * match.similarity + 0.5 * match.coverage


def _passes(match: SpanMatch | None, claim: str, evidence: EvidenceIndex) -> bool:
    return (
        match is not None
        and not match.missing
        and match.similarity >= MIN_SIMILARITY
        and _blend(match) >= SUPPORT_THRESHOLD
        and not misattributed(claim, match, evidence)
    )


def misattributed(claim: str, match: SpanMatch, evidence: EvidenceIndex) -> bool:
    """The claim credits its action to an actor the evidence does not: "Albania proposed X" over
    "the Kazakh side proposed X". Judged on the parse of both, only where both name a subject for
    the same verb; a verbatim quote cannot misattribute anything."""
    if _NEGATION_RE.search(claim):  # "Albania did not propose X; the Kazakh side did" is not a misattribution
        return False
    if " ".join(claim.split()).rstrip(".") in " ".join(match.quote.split()):
        return False
    claimed, quoted = get_annotator().annotate([claim, match.quote])
    texts = [s.text for s in evidence.of_passage(match.key)]
    for clause in claimed.clauses:
        claim_names = [n for subject in clause.subjects for n in names_in(subject)]
        if not claim_names:
            continue
        span_names = [n for other in quoted.clauses if other.verb == clause.verb
                      for subject in other.subjects for n in names_in(subject)]
        if not span_names:
            continue
        aliases = set().union(*(agent_aliases(name, texts) for name in span_names))
        if not any(lexical.same_agent(c, a) for c in claim_names for a in aliases):
            return True
    return False


Relevant = Callable[[SpanMatch], bool]


def check_sentence(sentence: DraftSentence, evidence: EvidenceIndex, relevant: Relevant | None = None) -> CheckedSentence:
    if is_model_refusal(sentence.text) and not sentence.keys:
        return CheckedSentence(sentence.text, None, False, "refusal", sentence)
    cited = [evidence.best_span(sentence.text, key) for key in sentence.keys]
    cited = [m for m in cited if _passes(m, sentence.text, evidence)]
    if cited:
        checked = CheckedSentence(sentence.text, max(cited, key=_blend), True, "supported", sentence)
    else:
        others = [evidence.best_span(sentence.text, key) for key in evidence.keyed if key not in sentence.keys]
        others = [m for m in others if _passes(m, sentence.text, evidence)]
        if not others:
            return CheckedSentence(sentence.text, None, False, "unsupported", sentence)
        verdict = "recited" if sentence.keys else "attached"
        checked = CheckedSentence(sentence.text, max(others, key=_blend), True, verdict, sentence)
    if relevant is not None and not relevant(checked.match):
        return CheckedSentence(sentence.text, checked.match, False, "irrelevant", sentence)
    return checked


def check_draft(draft: str, evidence: EvidenceIndex, relevant: Relevant | None = None) -> list[CheckedSentence]:
    """Every sentence of the draft, checked for support and (with `relevant`) relevance."""
    sentences = parse_draft(draft, set(evidence.keyed))
    evidence.encode([s.text for s in sentences])  # one encoder call for all claims
    return [check_sentence(s, evidence, relevant) for s in sentences]


@dataclass(frozen=True)
class Composed:
    text: str
    sentences: tuple[AnswerSentence, ...]
    citations: tuple[Citation, ...]


def compose(checked: list[CheckedSentence], preface: list[str] = (), annotate_dates: bool = True) -> Composed:
    """Answer text, sentences and renumbered citations from checked sentences.

    `preface` holds the app's own statements (false premise, refusal): shown first, uncited,
    and marked supported because the app established them, not a model.
    """
    numbers: dict[tuple[str, int, int], str] = {}
    citations: list[Citation] = []
    sentences = [AnswerSentence(text=p, citation_keys=(), supported=True, support=1.0, own=True) for p in preface]
    shown = list(preface)
    for item in checked:
        if item.verdict == "irrelevant":
            continue  # true, but it answers nothing: not shown at all
        if not item.supported or item.match is None:
            sentences.append(AnswerSentence(text=item.text, citation_keys=(), supported=False, support=0.0))
            continue
        match = item.match
        span = (match.passage.chunk.chunk_id, match.start, match.end)
        if span not in numbers:
            numbers[span] = str(len(numbers) + 1)
            citations.append(_citation(numbers[span], match))
        key = numbers[span]
        text = item.text
        if annotate_dates and match.passage.chunk.published:
            text = annotate_relative_dates(text, match.passage.chunk.published)
        sentences.append(AnswerSentence(text=text, citation_keys=(key,), supported=True, support=round(item.support, 3)))
        shown.append(_with_marker(text, key))
    return Composed(" ".join(shown), tuple(sentences), tuple(citations))


def _with_marker(text: str, key: str) -> str:
    stripped = text.rstrip()
    if stripped and stripped[-1] in ".!?":
        return f"{stripped[:-1]} [{key}]{stripped[-1]}"
    return f"{stripped} [{key}]."


def _citation(key: str, match: SpanMatch) -> Citation:
    chunk = match.passage.chunk
    return Citation(
        key=key, chunk_id=chunk.chunk_id, doc_id=chunk.doc_id, title=chunk.title, published=chunk.published,
        source=chunk.source, url=chunk.url, path=chunk.path, quote=match.quote, start=match.doc_start,
        end=match.doc_end, passage_text=chunk.text, passage_start=chunk.start, support=round(_blend(match), 3),
    )
