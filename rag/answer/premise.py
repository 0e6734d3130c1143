"""False premises: does the question presume something the releases contradict?

The question analysis gives the claim a question presumes (rag.answer.question.Claim):
"What did Albania propose?" presumes Albania proposed something; "Why did Kazakhstan close
its embassy?" that it closed it; "What did X say during his visit to Y?" that X visited Y.
The sentences of the retrieved passages are parsed (spaCy: each verb with its subjects,
the passive's agent included), and the premise is

- *misattributed* when the passages about the claimed agent report the action only with
  other subjects ("the Kazakh side proposed ...") and never with the agent or someone
  introduced as speaking for it; a sentence with the verb but no named subject ("the
  Secretary proposed ...") leaves it open, as does any sentence crediting the agent;
- *unreported* when a why-question's action is never reported (neither the verb nor its
  noun: "the closure"), or a presupposed visit to a place is never reported for that person
  (in the question's period, when it names one).

It never fires merely because nothing was found for a what/how question: those are answered
or refused as usual.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.answer import lexical
from rag.answer.dates import annotate_relative_dates
from rag.answer.evidence import EvidenceIndex, SourceSentence
from rag.nlp import Annotator
from rag.answer.question import Claim, Question
from rag.answer.words import words_for

_EN = words_for("en")
# How the answer names a missing action ("no proposal by Albania"), irregular past tenses, the titles
# that introduce someone speaking for an actor, the words of a visit and of a meeting: rag/answer/words.py.
ACTION_NOUNS = _EN.action_nouns
IRREGULAR_PAST = _EN.irregular_past
_PERSON_TITLES = _EN.person_titles
_CAP = r"[A-Z][\w’'.\-]*"
_NAME_RUN_RE = re.compile(rf"{_CAP}(?:\s+(?:{_CAP}|of|and|the))*")
_EVENT_STEMS = frozenset(lexical.stem(w) for w in _EN.visit_words)
# What a correction of an unreported visit may report instead: where and how the agent did meet.
_MEETING_STEMS = _EVENT_STEMS | frozenset(lexical.stem(w) for w in _EN.meeting_words)


_DOUBLING_ENDINGS = ("mit", "quit", "cur", "fer", "pel", "bar")


def past_tense(verb: str) -> str:
    if verb in IRREGULAR_PAST:
        return IRREGULAR_PAST[verb]
    cvc = len(verb) >= 3 and verb[-1] not in "aeiouwxy" and verb[-2] in "aeiou" and verb[-3] not in "aeiou"
    if cvc and (len(verb) <= 4 or verb.endswith(_DOUBLING_ENDINGS)):  # ban -> banned, acquit -> acquitted
        return verb + verb[-1] + "ed"
    if verb.endswith("e"):
        return verb + "d"
    if verb.endswith("y") and verb[-2:-1] not in "aeiou":
        return verb[:-1] + "ied"
    return verb + "ed"


# How a statement tells of a presupposed event (rag.nlp's event nouns): "her trip to X" -> visited X.
_EVENT_PAST = {"visit": "visited", "trip": "visited", "travel": "visited", "tour": "visited", "stay": "stayed in"}


@dataclass(frozen=True)
class PremiseFinding:
    claim: Claim
    kind: str  # "misattributed" | "unreported"
    others: tuple[SourceSentence, ...] = ()  # sentences crediting the action to another actor
    agent_sentences: tuple[SourceSentence, ...] = ()  # what the agent did do instead
    period: str = ""  # "in September 2023": the question's period, for a presupposed event

    @property
    def statement(self) -> str:
        claim = self.claim
        if claim.event is not None and self.kind == "unreported":
            noun, place = claim.event
            return f"The releases don't report that {claim.agent} {_EVENT_PAST.get(noun, 'visited')} {place}{self.period}."
        if self.kind == "unreported":
            rest = f" {claim.tail or claim.rest}" if claim.tail or claim.rest else ""
            if claim.passive:
                be = "were" if " and " in claim.agent or claim.agent.endswith("s") else "was"
                return f"The releases don't report that {claim.agent} {be} {past_tense(claim.verb)}{rest}."
            return f"The releases don't report that {claim.agent} {past_tense(claim.verb)}{rest}."
        noun = ACTION_NOUNS.get(claim.verb)
        if noun:
            return f"The releases report no {noun} by {claim.agent}."
        return f"The releases don't say that {claim.agent} {past_tense(claim.verb)} anything."


def check_premise(question: Question, evidence: EvidenceIndex, annotator: Annotator) -> PremiseFinding | None:
    claim = question.claim
    if claim is None or not evidence.sentences:
        return None
    if claim.event is not None:
        return _check_event(question, claim, evidence)
    aliases = agent_aliases(claim.agent, [s.text for s in evidence.sentences])
    verb_stem = lexical.stem(claim.verb)
    noun = ACTION_NOUNS.get(claim.verb)
    # Only what the releases about the agent report counts; a question asked in a transcript
    # ("are you considering closing ...?") reports nothing; and with an object ("welcome X's
    # participation"), only a sentence about that object reports the action.
    about_agent = {s.key for s in evidence.sentences if _mentions(s, aliases)}
    object_stems = lexical.content_stems(claim.rest) - {lexical.stem(w) for w in lexical.words(claim.agent)}
    statements = [s for s in evidence.sentences if not s.boilerplate and not s.text.rstrip(" \"'”’)").endswith("?")
                  and _about_object(s, object_stems)]
    with_verb = [s for s in statements if verb_stem in s.stems]
    annotations = annotator.annotate([s.text for s in with_verb])
    reported = [(s, a) for s, a in zip(with_verb, annotations) if any(c.verb == claim.verb for c in a.clauses)]
    mentioned = [s for s, _ in reported if s.key in about_agent]
    if noun:
        mentioned += [s for s in statements if s.key in about_agent and lexical.stem(noun) in s.stems]
    if claim.wh == "why" and not mentioned:
        return PremiseFinding(claim, "unreported", agent_sentences=_about_agent(evidence, aliases))
    if claim.passive:
        return None  # who did it is not asked: nothing to misattribute
    others = []
    for sentence, annotation in reported:
        for clause in annotation.clauses:
            if clause.verb != claim.verb or clause.negated:
                continue
            names = [n for subject in clause.subjects for n in names_in(subject)]
            if any(_is_alias(n, aliases) for n in names):
                return None  # the releases credit the agent: the premise holds
            if sentence.key not in about_agent:
                continue  # "Russia proposed X" in a release not about Albania says nothing of Albania
            if not names:
                return None  # "The Secretary proposed ...": who did it is unclear, nothing contradicted
            others.append(sentence)
    if not others:
        return None
    own = tuple(s for s in _about_agent(evidence, aliases) if s not in others)
    return PremiseFinding(claim, "misattributed", tuple(dict.fromkeys(others)), own)


def _about_object(sentence: SourceSentence, object_stems: set[str]) -> bool:
    """Whether the sentence (with its passage's title) speaks of at least half of the object's words."""
    if not object_stems:
        return True
    title = lexical.content_stems(sentence.passage.chunk.title)
    return len(object_stems & (sentence.stems | title)) >= 0.5 * len(object_stems)


def _check_event(question: Question, claim: Claim, evidence: EvidenceIndex) -> PremiseFinding | None:
    """"during his visit to X [in <period>]": unreported unless a sentence tells of the agent's visit
    to X (then). What corrects it: who did visit X then (`others`), and where or how the agent
    did meet then (`agent_sentences`)."""
    _, place = claim.event
    place_words = [w for w in lexical.words(place) if w.lower() not in lexical.STOPWORDS]
    # the place is never the visitor ("Lund met Minister Saar of Velden" makes Velden an alias)
    aliases = {a for a in agent_aliases(claim.agent, [s.text for s in evidence.sentences])
               if not any(lexical.same_agent(a, w) for w in place_words)}
    period_phrase = question.dates.phrase if (question.dates.date_from or question.dates.date_to) else ""
    period = lexical.period_tokens(period_phrase)
    visits, meetings = [], []
    others = names_other_than_agent(question, claim)
    for sentence in evidence.sentences:
        if not (_MEETING_STEMS & sentence.stems) or sentence.boilerplate or sentence.text.rstrip(" \"'”’)").endswith("?"):
            continue
        chunk = sentence.passage.chunk
        # A release of unknown date may be of the question's period: it neither confirms nor rules
        # out "then" (as retrieval keeps undated releases in for the question's own period).
        undated = chunk.published is None
        if period:
            dated = annotate_relative_dates(sentence.text, chunk.published) if chunk.published else sentence.text
            if not (period <= lexical.period_tokens(dated) or question.dates.covers(chunk.published) or undated):
                continue
        by_agent = any(_is_alias(n, aliases) for n in re.findall(_CAP, f"{chunk.title} {sentence.text}"))
        there = all(lexical.mentions(w, f"{chunk.title}. {sentence.text}") for w in place_words)
        if there and (_EVENT_STEMS & sentence.stems):
            if by_agent and (not period or period <= lexical.period_tokens(dated) or undated):
                return None  # the agent's visit there (then) is reported
            if not by_agent and place_words and lexical.mentions(place_words[-1], sentence.text):
                visits.append(sentence)  # someone else's visit there
        elif by_agent and _names_in_sentence(sentence.text, aliases) and mentions_any(others, chunk.title, sentence.text):
            meetings.append(sentence)  # the agent met the question's others, but elsewhere or otherwise
    return PremiseFinding(claim, "unreported", others=tuple(visits), agent_sentences=tuple(meetings),
                          period=period_text(question))


def names_other_than_agent(question: Question, claim: Claim) -> frozenset[str]:
    """The question's names other than the premise's agent: the place, whom it met
    ("Turkmenistan's foreign minister")."""
    return question.names - {re.sub(r"['’]s$", "", w).lower() for w in lexical.words(claim.agent)}


def mentions_any(names: frozenset[str] | set[str], *texts: str) -> bool:
    """Whether one of `names` is in one of `texts` (True when there are no names to look for)."""
    return not names or any(lexical.mentions(n, text) for n in names for text in texts)


def _names_in_sentence(text: str, aliases: set[str]) -> bool:
    """Whether the sentence itself (not only its release's title) names the agent."""
    return any(_is_alias(n, aliases) for n in re.findall(_CAP, text))


def period_text(question: Question) -> str:
    """" in June 2022", " in 2022", " between 1 May 2022 and 3 June 2022", or "" (no period)."""
    first, last = question.dates.date_from, question.dates.date_to
    if first is None or last is None:
        return ""
    if (first.year, first.month) == (last.year, last.month):
        return f" in {first.strftime('%B %Y')}" if first.day == 1 and (last.day >= 28) else f" on {first.strftime('%-d %B %Y')}"
    if first.year == last.year and (first.month, first.day, last.month, last.day) == (1, 1, 12, 31):
        return f" in {first.year}"
    return f" between {first.strftime('%-d %B %Y')} and {last.strftime('%-d %B %Y')}"


def _about_agent(evidence: EvidenceIndex, aliases: set[str]) -> tuple[SourceSentence, ...]:
    """Sentences whose subject is the agent alone (what it did do)."""
    found = []
    for sentence in evidence.sentences:
        head = re.split(r"\b(?:[a-z]+ed|is|are|was|were|has|have|will|said|met|held)\b", sentence.text, maxsplit=1)[0]
        names = names_in(head)
        if names and all(_is_alias(n, aliases) for n in names) and not sentence.boilerplate:
            found.append(sentence)
    return tuple(found)


def agent_aliases(agent: str, texts: list[str]) -> set[str]:
    """Lower-case names that refer to `agent` in these texts: its own words, people introduced as
    speaking for it ("Albanian - led by Deputy Minister ... Endrit Yzeiraj"), and for a person, the
    side they lead ("The Kazakh delegation was headed by ... Roman Vassilenko")."""
    agent_words = names_in(agent) or lexical.words(agent)
    aliases = {w.lower() for w in agent_words}
    for text in texts:
        for word in re.finditer(_CAP, text):
            if not any(lexical.same_agent(word.group(), a) for a in agent_words):
                continue
            aliases |= {p.lower() for p in _person_after(text[word.end() : word.end() + 120])}
            led = _LED_BY_RE.search(text[max(0, word.start() - 160) : word.start()])
            if led:
                aliases |= {n.lower() for n in names_in(led.group("side"))}
    return aliases


# "<the Kazakh delegation> was headed by <titles> [Name]": the side a person leads.
_LED_BY_RE = re.compile(
    r"(?P<side>(?:the\s+)?[A-Z][\w’'\-]*(?:\s+[\w’'\-]+){0,2}?)\s*(?:,\s*)?(?:was\s+|were\s+)?(?:-\s*)?"
    r"(?:led|headed|chaired)\s+by\s+(?:[A-Z][\w’'.\-]*\s+|of\s+|and\s+|the\s+)*$"
)


def _person_after(text: str) -> list[str]:
    run = _NAME_RUN_RE.search(text)
    if not run or len(text[: run.start()].split()) > 6:
        return []
    tokens = run.group().split()
    titles = [i for i, t in enumerate(tokens) if t.lower().strip(".") in _PERSON_TITLES]
    if not titles:
        return []
    return [t for t in tokens[titles[-1] + 1 :] if t.lower() not in lexical.TITLE_WORDS][-3:]


def names_in(text: str) -> list[str]:
    """The capitalised names of `text`, without titles ("Deputy Minister") and stop words."""
    return [
        re.sub(r"['’]s$", "", w) for w in re.findall(_CAP, text)
        if w.lower().strip(".") not in lexical.TITLE_WORDS and w.lower() not in lexical.STOPWORDS
    ]


def _is_alias(name: str, aliases: set[str]) -> bool:
    return any(lexical.same_agent(name, alias) for alias in aliases)


def _mentions(sentence: SourceSentence, aliases: set[str]) -> bool:
    chunk = sentence.passage.chunk
    return any(_is_alias(name, aliases) for name in re.findall(_CAP, f"{chunk.title} {chunk.text}"))
