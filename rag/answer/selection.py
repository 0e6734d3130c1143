"""Answer selection: which retrieved sentences answer the question, part by part.

Every sentence of the retrieved passages is scored against each part of the question by one
logistic model over a few general signals (weights fitted on the dev suites by
eval/tools/fit_selection.py, in rag.answer.weights):

- similarity: embedding cosine of the sentence to the part and to the whole question;
- overlap: the question's content words in the sentence (rare words weigh more), names
  counting as present when the passage or its title names them; `focus`: the same for the
  question's words that are not names (what is asked about them);
- answer type: for a part asking for a person, organisation, place, date, number or named
  item, whether the sentence names one that the question does not (spaCy's entities), and
  whether it is said about what the question asks (`anchored`: the entity hangs from the
  question's verb or asked-for noun, "2,000 Afghans" from "gave safe harbor");
- the passage's retrieval rank and whether the sentence opens its passage.

The model's probability is a sentence's *relevance*. A part is answered when its best
sentence is relevant enough (ANSWER_THRESHOLD); every other sentence shown must be relevant
too (SHOW_THRESHOLD). Questions, boilerplate and speaker-only lines are never candidates.
Entity annotation (the costly signal) runs only for typed parts, on the few best sentences
by the other signals and their neighbours, where the answer often sits.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from rag.answer import lexical, weights
from rag.answer.dates import edition_words, edition_years
from rag.answer.evidence import EvidenceIndex, SourceSentence
from rag.nlp import LABELS_BY_TYPE, Annotator, Entity, parse_question
from rag.answer.question import Question, QuestionPart, roles_named
from rag.answer.words import words_for

# Sentences annotated per typed part: the best by the cheap signals, and their neighbours.
ANNOTATE_TOP = 12
NEIGHBOURS_OF_TOP = 4
DUPLICATE_SIMILARITY = 0.9
MAX_SENTENCES = 3
MAX_SEVERAL = 4  # a list or comparison question, or a multi-part one

# Roles a "who is the ...?" question may name: the answer must name the role too. Not the generic
# ones ("official", "leader"): any official answers "which officials".
ROLE_NOUNS = words_for("en").head_nouns["person"] - words_for("en").generic_person_nouns
_AMOUNT_WORDS = words_for("en").currency_words | words_for("en").unit_words
_DURATION = re.compile(rf"(?:about |some |nearly |almost |more than |over )?(?:\d[\d,.]*|{'|'.join(sorted(words_for('en').number_words))})"
                       r"[\s-]+(?:years?|months?|weeks?|days?|decades?|hours?)")

# No sentence length: longer sentences hold more facts in one archive's style and fewer in another's.
CHEAP_FEATURES = ("sim_part", "sim_question", "neighbour_sim", "overlap", "focus", "names_context", "names_in",
                  "inv_rank", "first")
TYPED_FEATURES = CHEAP_FEATURES + ("typed", "untyped", "anchored")


@dataclass(frozen=True)
class Candidate:
    sentence: SourceSentence
    part: int
    relevance: float  # 0..1
    features: dict[str, float] = field(compare=False, default_factory=dict)
    entity: Entity | None = None  # the typed answer the sentence names, if any


@dataclass(frozen=True)
class Selection:
    question: Question
    ranked: tuple[tuple[Candidate, ...], ...]  # per part, best first (typed parts: annotated ones only)
    chosen: tuple[Candidate, ...]  # what the extractive writer quotes, in answer order
    unanswered: tuple[int, ...]  # parts no sentence answers

    @property
    def answers(self) -> bool:
        return bool(self.chosen)

    @property
    def best(self) -> float:
        return max((c[0].relevance for c in self.ranked if c), default=0.0)

    def ranked_sentences(self) -> list[SourceSentence]:
        return list(dict.fromkeys(c.sentence for part in self.ranked for c in part))

    def relevance_of(self, index: int) -> float:
        """The best relevance of sentence `index` (EvidenceIndex row) to any part."""
        return max((c.relevance for part in self.ranked for c in part if c.sentence.index == index), default=0.0)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _score(features: dict[str, float], model: dict) -> float:
    z = model["intercept"] + sum(weight * features.get(name, 0.0) for name, weight in model["coef"].items())
    return _sigmoid(z)


def sentence_features(question: Question, evidence: EvidenceIndex) -> list[list[dict[str, float]]]:
    """Per part, the cheap features of every evidence sentence (in evidence order)."""
    parts = [p.search_text for p in question.parts]
    vectors = evidence.encode([question.standalone] + parts)
    sims_question = evidence.similarities(vectors[0])
    name_stems = {lexical.stem(w) for name in question.names for w in name.split()}
    context: dict[str, frozenset[str]] = {}
    names_in_passage: dict[str, float] = {}
    for key, passage in evidence.keyed.items():
        text = f"{passage.chunk.title}. {passage.chunk.text}"
        present = {n for n in question.names if lexical.mentions(n, text)}
        context[key] = frozenset(lexical.stem(w) for n in present for w in n.split())
        names_in_passage[key] = _groups_mentioned(question, text)
    names_in = [_names_in(question, s, evidence, names_in_passage[s.key]) for s in evidence.sentences]
    result = []
    for part, vector in zip(question.parts, vectors[1:]):
        sims = evidence.similarities(vector)
        stems = lexical.content_stems(part.text) | name_stems
        rows = []
        for s, sim, sim_q, named in zip(evidence.sentences, sims, sims_question, names_in):
            around = [float(sims_question[n.index]) for n in evidence.neighbours(s)]
            rows.append({
                "sim_part": float(sim), "sim_question": float(sim_q), "neighbour_sim": max(around, default=0.0),
                "overlap": evidence.weighted_overlap(stems, s.stems | context[s.key]),
                # nothing asked beyond the names ("What did X say about Y?"): nothing is missing
                "focus": evidence.weighted_overlap(part.focus, s.stems) if part.focus else 1.0,
                "names_context": names_in_passage[s.key], "names_in": named,
                "inv_rank": 1.0 / max(s.passage.rank, 1),
                "first": float(s.position == 0),
            })
        result.append(rows)
    return result


def _groups_mentioned(question: Question, text: str) -> float:
    """Share of the question's names (as written: "Ilse Varga" is one) that `text` mentions."""
    groups = question.name_groups or tuple((n,) for n in question.names)
    if not groups:
        return 1.0
    return sum(any(lexical.mentions(n, text) for n in group) for group in groups) / len(groups)


def _names_in(question: Question, sentence: SourceSentence, evidence: EvidenceIndex, in_passage: float) -> float:
    """Share of the question's names the sentence mentions; a sentence that opens by pointing back
    ("He described ...", "The parties discussed ...") speaks of what was named before it."""
    if not lexical.refers_back(sentence.text):
        return _groups_mentioned(question, sentence.text)
    if sentence.position == 0:
        return in_passage
    before = evidence.of_passage(sentence.key)[sentence.position - 1].text
    return _groups_mentioned(question, before + " " + sentence.text)


def eligible(sentence: SourceSentence) -> bool:
    """Never an answer: boilerplate, and questions quoted in a transcript."""
    return not sentence.boilerplate and not sentence.text.rstrip(" \"'”’)").endswith("?")


def typed_entity(part: QuestionPart, question: Question, entities: tuple[Entity, ...],
                 sentence: SourceSentence | None = None, roles_rule: bool = True) -> tuple[Entity | None, bool]:
    """(an entity of the part's answer type that the question does not name, whether it is said
    about what the part asks). A question naming the role it asks about ("Who is X's ambassador
    to Y?") is answered only by a sentence that names the role too."""
    labels = LABELS_BY_TYPE[part.answer_type]
    lemmas = parse_question(part.text).anchors
    anchors = {lexical.stem(a) for a in lemmas}
    if question.language == "en":
        roles = {lexical.stem(a) for a in lemmas if a in ROLE_NOUNS}
    elif part.answer_type in ("agent", "person"):  # no parser for Russian or Kazakh: the roles a
        # who-question names, translated ("Кто консул ...?"), not a source it cites ("по словам министра")
        roles = {lexical.stem(r) for r in roles_named(part.text, question.language) if r in ROLE_NOUNS}
    else:
        roles = set()
    if roles_rule and roles and sentence is not None:
        if not roles & sentence.stems:
            return None, False
        # "Which ministers ...?": a country names its holders ("the Foreign Ministers of X and Y");
        # "Who is X's ambassador?" asks for the person ("the French Ambassador's Fund" names none)
        labels = labels | LABELS_BY_TYPE["agent"] if part.answer_type == "person" else frozenset({"PERSON"})
    found, anchored = None, False
    for entity in entities:
        if part.answer_type == "number" and entity.label == "DATE" and _DURATION.fullmatch(entity.text.lower()):
            entity = replace(entity, label="CARDINAL")  # "15 years" of relations: spaCy tags durations as dates
        if part.answer_type == "amount" and entity.label == "CARDINAL" and sentence is not None:
            # "12 million euros", "2 million tonnes", "KZT 5 billion": a unit after the number, or a
            # currency code before it (in capitals: "won 45 seats", "try 3 times" are verbs)
            before = [w for w in lexical.words(sentence.text[max(entity.start - 4, 0) : entity.start]) if w.isupper()]
            after = lexical.words(sentence.text[entity.end : entity.end + 12])[:1]
            if any(w.lower() in _AMOUNT_WORDS for w in before + after):
                entity = replace(entity, label="MONEY")
        if entity.label not in labels or _named_in(entity.text, question):
            continue
        if part.answer_type in ("number", "amount") and lexical.numbers(entity.text) <= question.numbers:
            continue
        on_topic = not anchors or bool(anchors & {lexical.stem(w) for w in entity.context})
        if found is None or (on_topic and not anchored):
            found, anchored = entity, on_topic
    return found, anchored


def _named_in(text: str, question: Question) -> bool:
    if lexical.numbers(text) - question.numbers:
        return False  # "15 years" is new to "How many years ...?"
    words = [w for w in lexical.words(text) if len(w) > 2]
    return bool(words) and all(w.lower() in question.standalone.lower() or lexical.mentions(w.lower(), question.standalone)
                               for w in words)


def rank(question: Question, evidence: EvidenceIndex, annotator: Annotator,
         keep: Callable[[SourceSentence], bool] | None = None,
         disable: frozenset[str] = frozenset()) -> tuple[tuple[Candidate, ...], ...]:
    """Per part, the candidate sentences best first, with their relevance; `keep` narrows the
    candidates; `disable` switches off "types" (no answer-type signals) or "roles", for ablations."""
    features = sentence_features(question, evidence)
    ranked = []

    def usable(sentence: SourceSentence) -> bool:
        return eligible(sentence) and (keep is None or keep(sentence))

    periods = _part_periods(question, evidence) if "part-periods" not in disable else {}
    for index, part in enumerate(question.parts):
        rows = features[index]
        period = periods.get(index)
        elsewhen = _of_another_year(question, part) if "undated-years" not in disable else None

        def allowed(s: SourceSentence, period=period, elsewhen=elsewhen) -> bool:
            return usable(s) and (period is None or period(s)) and (elsewhen is None or not elsewhen(s))

        cheap = [(s, f, _score(f, weights.CHEAP)) for s, f in zip(evidence.sentences, rows) if allowed(s)]
        cheap.sort(key=lambda item: -item[2])
        if not part.typed or "types" in disable:
            ranked.append(tuple(Candidate(s, index, p, f) for s, f, p in cheap))
            continue
        pool = {s.index: (s, f) for s, f, _ in cheap[:ANNOTATE_TOP]}
        for s, _, _ in cheap[:NEIGHBOURS_OF_TOP]:
            for n in evidence.neighbours(s):
                if allowed(n):
                    pool.setdefault(n.index, (n, rows[n.index]))
        items = list(pool.values())
        annotations = annotator.annotate([s.text for s, _ in items])
        candidates = []
        for (s, f), annotation in zip(items, annotations):
            entity, anchored = typed_entity(part, question, annotation.entities, s, "roles" not in disable)
            full = {**f, "typed": float(entity is not None), "untyped": float(entity is None),
                    "anchored": float(anchored and entity is not None)}
            candidates.append(Candidate(s, index, _score(full, weights.TYPED), full, entity))
        candidates.sort(key=lambda c: -c.relevance)
        ranked.append(tuple(candidates))
    return tuple(ranked)


_YEAR = re.compile(r"(?<![\d,.])(?:19|20)\d\d(?![\d,])")
_SPAN_WORDS = re.compile(r"\b(?:between|from|since|after|before|until|till|by|to|prior)\b|[-–]", re.IGNORECASE)


def _of_another_year(question: Question, part: QuestionPart) -> Callable[[SourceSentence], bool] | None:
    """For a question naming a period: a test that an undated release's sentence is about another
    year. The date filter vouches for a dated release; an undated one has only its words, and
    "the 2020 Cup was won by ..." does not answer who won the 2022 one. A sentence naming a year
    of the period or of the question passes; one naming none is judged by its passage only when
    the question names an edition ("the 2022 Lund Cup") and the passage names that edition in
    other years alone, for a release names years of its background too ("since 2018")."""
    dates = part.dates or question.dates
    if dates.date_from is None and dates.date_to is None:
        return None
    first = dates.date_from.year if dates.date_from else 0
    last = dates.date_to.year if dates.date_to else 9999
    # a part of its own period ("in 2021 and in 2022" asked part by part) asks for its year alone
    asked = {int(y) for y in _YEAR.findall(part.text if part.dates is not None else question.standalone)}
    editions = edition_words(question.standalone)
    # "the 2020 and 2022 Cups" lists two years (the filter spans them); "between 2020 and 2022",
    # "since 2020" span what lies between
    spans = not asked or bool(_SPAN_WORDS.search(dates.phrase))

    def ours(year: int) -> bool:
        return year in asked or (spans and first <= year <= last)

    def elsewhen(sentence: SourceSentence) -> bool:
        if sentence.passage.chunk.published is not None:
            return False
        years = {int(y) for y in _YEAR.findall(sentence.text)}
        if years:
            return not any(ours(y) for y in years)
        named = edition_years(sentence.passage.chunk.text, editions)
        return bool(named) and not any(ours(y) for y in named)

    return elsewhen


def _part_periods(question: Question, evidence: EvidenceIndex) -> dict[int, Callable[[SourceSentence], bool]]:
    """For a question whose parts name different periods ("How much in June 2021, and how much
    after the June 2022 earthquake?"): per part, a test that a sentence's release was published
    in that part's period. A part with no release of its period keeps every sentence."""
    if all(part.dates is None for part in question.parts):
        return {}
    tests = {}
    for index, part in enumerate(question.parts):
        dates = part.dates or question.dates
        if dates.date_from is None and dates.date_to is None:
            continue

        def within(s: SourceSentence, dates=dates) -> bool:
            return dates.covers(s.passage.chunk.published)

        if any(within(s) for s in evidence.sentences):
            tests[index] = within
    return tests


def select(question: Question, evidence: EvidenceIndex, annotator: Annotator,
           keep: Callable[[SourceSentence], bool] | None = None, disable: frozenset[str] = frozenset()) -> Selection:
    """The sentences that answer the question: each part's best, then other relevant ones."""
    ranked = rank(question, evidence, annotator, keep, disable)
    return choose(question, evidence, ranked, weights.ANSWER_THRESHOLD, weights.SHOW_THRESHOLD)


def choose(question: Question, evidence: EvidenceIndex, ranked: tuple[tuple[Candidate, ...], ...],
           answer_threshold: float, show_threshold: float, margin: float | None = None) -> Selection:
    """The choice from ranked candidates (apart from `rank`, so thresholds can be tuned on one ranking)."""
    several = question.several
    limit = MAX_SEVERAL if several else MAX_SENTENCES
    # More sentences must also score this share of their part's best: a clear answer is not padded.
    margin = weights.RELATIVE_MARGIN if margin is None else margin
    chosen: list[Candidate] = []
    unanswered = []

    def duplicate(candidate: Candidate) -> bool:
        """The same sentence, or one saying the same: near-identical wording and no figure of its
        own (this year's release repeating last year's with a new amount states a new fact)."""
        vector = evidence.vectors[candidate.sentence.index]
        figures = lexical.numbers(candidate.sentence.text)
        return any(c.sentence.index == candidate.sentence.index
                   or (float(evidence.calibrate(vector @ evidence.vectors[c.sentence.index])) >= DUPLICATE_SIMILARITY
                       and figures <= lexical.numbers(c.sentence.text))
                   for c in chosen)

    # Each part's best first, so a multi-part question gets every part it can.
    for index, candidates in enumerate(ranked):
        if not candidates or candidates[0].relevance < answer_threshold:
            unanswered.append(index)
            continue
        if not duplicate(candidates[0]):
            chosen.append(candidates[0])
    # Then more relevant sentences, best first (up to more of them for a question over several releases).
    answered = [i for i in range(len(ranked)) if i not in unanswered]

    def close_enough(c: Candidate, best: Candidate) -> bool:
        # Across languages the word features see nothing and the scores bunch up: only a sentence
        # nearly as good as the best is worth showing beside it
        same = c.sentence.passage.chunk.language in ("", question.language)
        return c.relevance >= (margin if same else max(margin, weights.CROSS_LANGUAGE_MARGIN)) * best.relevance

    extra = sorted((c for i in answered for c in ranked[i][1:]
                    if c.relevance >= show_threshold and close_enough(c, ranked[i][0])),
                   key=lambda c: -c.relevance)
    for candidate in extra:
        if len(chosen) >= limit:
            break
        if not duplicate(candidate):
            chosen.append(candidate)
    return Selection(question, ranked, tuple(chosen), tuple(unanswered))
