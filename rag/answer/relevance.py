"""How well each retrieved sentence answers the question.

Used twice: to decide whether the sources answer the question at all (below
RELEVANCE_THRESHOLD every generator refuses, without calling a model), and by the
extractive generator to pick its sentences.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.answer import lexical
from rag.answer.answer_type import expected_answer
from rag.answer.evidence import EvidenceIndex, SourceSentence

# Blend of the two signals. Embedding similarity alone rates on-topic but non-answering
# sentences too high; word overlap alone misses paraphrase. Tuned by eye on the demo corpus;
# the eval harness is the place to tune them properly.
SEMANTIC_WEIGHT = 0.6
LEXICAL_WEIGHT = 0.4
# Below this the best sentence does not answer the question: refuse ("The releases don't say").
# An on-topic answer sentence scores ~0.45-0.7 with all-MiniLM-L6-v2; unrelated text ~0.1-0.3.
RELEVANCE_THRESHOLD = 0.4
# Extra sentences must score at least this share of the best one, so a clear answer is not
# padded with loosely related lines.
RELATIVE_MARGIN = 0.75
# Two sentences this similar say the same thing: keep only the first.
DUPLICATE_SIMILARITY = 0.9
MAX_ANSWER_SENTENCES = 3
# A question that wants what several releases say (rag.answer.scope) may quote one more sentence.
MAX_SPREAD_SENTENCES = 4


@dataclass(frozen=True)
class ScoredSentence:
    sentence: SourceSentence
    score: float
    similarity: float
    overlap: float


def score_sentences(question: str, evidence: EvidenceIndex) -> list[ScoredSentence]:
    """All sentences of all passages, best first."""
    if not evidence.sentences:
        return []
    question_vec = evidence.encode([question])[0]
    similarities = evidence.vectors @ question_vec
    question_stems = lexical.content_stems(question)
    question_names = lexical.critical_names(question)
    context: dict[str, frozenset[str]] = {}
    scored = []
    for sentence, similarity in zip(evidence.sentences, similarities):
        if sentence.key not in context:
            context[sentence.key] = _names_in_context(question_names, sentence.passage)
        overlap = evidence.weighted_overlap(question_stems, sentence.stems | context[sentence.key])
        score = SEMANTIC_WEIGHT * float(similarity) + LEXICAL_WEIGHT * overlap
        scored.append(ScoredSentence(sentence, score, float(similarity), overlap))
    scored.sort(key=lambda s: s.score, reverse=True)
    return scored


def _is_question(text: str) -> bool:
    return text.rstrip(" \"'”’)").endswith("?")


def titled_text(passage) -> str:
    """A passage's text with its release title: where a name in the title counts as mentioned."""
    return f"{passage.chunk.title}. {passage.chunk.text}"


def _names_in_context(names: set[str], passage) -> frozenset[str]:
    """Stems of the question's names that the passage (or its title) mentions anywhere.

    They count as present in every sentence of that passage: "The sides discussed trade" answers
    "What did Kazakhstan and Albania discuss?" in a release about the two, though it names neither.
    """
    text = titled_text(passage)
    present = {n for n in names if lexical.mentions(n, text)}
    return frozenset(lexical.stem(n) for n in present)


def of_expected_type(question: str, scored: list[ScoredSentence]) -> list[ScoredSentence]:
    """The sentences that can answer the question's expected answer type, best first.

    For a question asking for a quantity ("how much", "what is the value of"), those giving a number
    the question does not, in a passage about the question's subject: one that names each of the
    question's names that any retrieved passage names ("$1 billion for Ukraine" does not answer "how
    much aid did Serbia get", though Serbia's own release is retrieved too). For any other question,
    all of them. An on-topic sentence without the figure answers nothing.
    """
    expected = expected_answer(question)
    if expected is None:
        return scored
    missing = {}
    for s in scored:
        if s.sentence.key not in missing:
            missing[s.sentence.key] = expected.names_missing(titled_text(s.sentence.passage))
    unnamed = frozenset.intersection(*missing.values()) if missing else frozenset()  # no passage names these
    return [s for s in scored if not (missing[s.sentence.key] - unnamed) and expected.accepts(s.sentence.text)]


def answers_question(scored: list[ScoredSentence]) -> bool:
    return bool(scored) and scored[0].score >= RELEVANCE_THRESHOLD


def pick_answer_sentences(
    scored: list[ScoredSentence], evidence: EvidenceIndex, limit: int | None = None, prefer_recent: bool = False,
    spread: bool = False, threshold: float = RELEVANCE_THRESHOLD,
) -> list[SourceSentence]:
    """The few best sentences, without near-duplicates; with `prefer_recent`, from the newest release
    first; with `spread`, the best sentence of each release first, then the rest by score."""
    limit = limit or (MAX_SPREAD_SENTENCES if spread else MAX_ANSWER_SENTENCES)
    # A question in a transcript ("Why is Greenland so important?") is never an answer.
    relevant = [s for s in scored if s.score >= threshold and not _is_question(s.sentence.text)]
    if not prefer_recent:  # "latest" wants the newest relevant sentence even if an older one matches better
        relevant = [s for s in relevant if s.score >= RELATIVE_MARGIN * scored[0].score]
    if prefer_recent and relevant:
        newest = max((s.sentence.passage.chunk.published for s in relevant if s.sentence.passage.chunk.published),
                     default=None)
        if newest is not None:
            relevant.sort(key=lambda s: s.sentence.passage.chunk.published != newest)  # stable: keeps score order
    if spread:
        seen: set[str] = set()

        def after_its_release_first(s: ScoredSentence) -> bool:
            doc_id = s.sentence.passage.chunk.doc_id
            later = doc_id in seen
            seen.add(doc_id)
            return later

        relevant.sort(key=after_its_release_first)  # stable, keys taken in order: each release's best first
    chosen: list[SourceSentence] = []
    for candidate in relevant:
        vector = evidence.vectors[candidate.sentence.index]
        if any(float(vector @ evidence.vectors[c.index]) >= DUPLICATE_SIMILARITY for c in chosen):
            continue
        chosen.append(candidate.sentence)
        if len(chosen) >= limit:
            break
    return chosen


def pick_release_sentences(scored: list[ScoredSentence], evidence: EvidenceIndex, limit: int = 2) -> list[SourceSentence]:
    """The best sentences of one release, whatever their score: the question asked for the release
    ("What is the latest release about Kosovo?"), so what it says is the answer."""
    statements = [s for s in scored if not _is_question(s.sentence.text)]
    return pick_answer_sentences(statements, evidence, limit=limit, threshold=0.0)
