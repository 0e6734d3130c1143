"""False-premise check: does the question credit an action to someone the sources don't?

"What did Albania propose?" presumes Albania proposed something. If the passages that
mention proposing attribute it to another actor (the Kazakh side) and none to Albania or
its representatives, the premise is false and the answer must say so rather than answer
as if it held.

The check is deliberately narrow (agent + action verb, no parser): it fires only when the
sources positively attribute the action to someone else, never merely because nothing was found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.answer import lexical
from rag.answer.dates import annotate_relative_dates
from rag.answer.evidence import SourceSentence

_CAP = r"[A-Z][\w’'.\-]*"
_AGENT_QUESTION_RE = re.compile(
    rf"^\s*(?:(?P<wh>(?i:what|which\s+\w+|how|why|when|where|whom|who))\s+)?(?i:else\s+)?"
    rf"(?i:did|does|do|has|have|had|will|would|could)\s+(?P<article>the\s+)?"
    rf"(?P<agent>{_CAP}(?:\s+(?:{_CAP}|of|and))*?)(?:\s+(?:side|government|delegation|ministry|officials?))?"
    rf"\s+(?P<verb>[a-z]+)\b(?P<rest>[^?]*)",
)

# Verbs whose absence proves nothing: almost any actor "says" or "does" something.
GENERIC_VERBS = frozenset("say tell do have be think mean get make happen talk go come see want need".split())

# How the answer names the missing action: "no proposal by Albania".
ACTION_NOUNS = {
    "propose": "proposal", "announce": "announcement", "agree": "agreement", "sign": "signing",
    "offer": "offer", "request": "request", "suggest": "suggestion", "decide": "decision",
    "criticize": "criticism", "criticise": "criticism", "invite": "invitation", "pledge": "pledge",
    "promise": "promise", "commit": "commitment", "initiate": "initiative", "demand": "demand",
    "recommend": "recommendation", "approve": "approval", "reject": "rejection", "condemn": "condemnation",
    "host": "hosting", "donate": "donation", "fund": "funding", "provide": "provision",
    "close": "closure", "open": "opening", "suspend": "suspension", "withdraw": "withdrawal", "expel": "expulsion",
    "accept": "acceptance", "cancel": "cancellation", "recognize": "recognition", "recognise": "recognition",
}

# Titles that introduce a person who speaks for an actor: "Albanian Deputy Minister ... Endrit Yzeiraj".
PERSON_TITLES = frozenset(
    """minister president ambassador secretary premier chancellor king queen prince spokesperson spokesman envoy
    chairman governor mayor senator representative director commissioner counselor consul chief head leader""".split()
)

_RUN_RE = re.compile(rf"{_CAP}(?:\s+(?:{_CAP}|of|and|the))*")
_LEADING_CLAUSE_RE = re.compile(
    r"^(?:(?:in|on|at|during|after|before|following|to|for|with|as|at|by|within|upon|while)\b[^,]{0,120},\s*)"
)
_VERBISH_RE = re.compile(
    r"\b(?:[a-z]{3,}ed|is|are|was|were|has|have|had|will|would|can|could|said|says|took|made|held|met|gave|"
    r"spoke|told|noted|agreed)\b"
)


IRREGULAR_PAST = {
    "make": "made", "hold": "held", "meet": "met", "give": "gave", "take": "took", "win": "won", "send": "sent",
    "buy": "bought", "sell": "sold", "leave": "left", "break": "broke", "begin": "began", "build": "built",
    "choose": "chose", "spend": "spent", "pay": "paid", "lead": "led", "bring": "brought", "seek": "sought",
    "fight": "fought", "withdraw": "withdrew", "run": "ran", "cut": "cut", "put": "put", "set": "set",
    "shut": "shut", "let": "let", "keep": "kept", "speak": "spoke", "write": "wrote", "sign": "signed",
}


def past_tense(verb: str) -> str:
    if verb in IRREGULAR_PAST:
        return IRREGULAR_PAST[verb]
    if verb.endswith("e"):
        return verb + "d"
    if verb.endswith("y") and verb[-2:-1] not in "aeiou":
        return verb[:-1] + "ied"
    return verb + "ed"


@dataclass(frozen=True)
class AgentAction:
    agent: str  # as written in the question: "Albania"
    verb: str  # base form: "propose"
    rest: str = ""  # what follows the verb: "its embassy in Tirana"
    article: str = ""  # "the " of "the United States"
    why: bool = False  # "Why did X ...?" presumes X did it

    @property
    def noun(self) -> str | None:
        return ACTION_NOUNS.get(self.verb)

    @property
    def who(self) -> str:
        return f"{self.article}{self.agent}"


@dataclass(frozen=True)
class PremiseFinding:
    """The question's premise is contradicted: others did `action`, the asked agent did not."""

    action: AgentAction
    others: tuple[SourceSentence, ...]  # sentences crediting the action to another actor
    agent_sentences: tuple[SourceSentence, ...]  # what the asked agent did do, per the sources
    # "misattributed": the sources credit the action to someone else; "unreported": a "why did X
    # do Y" question whose action no retrieved sentence mentions at all.
    kind: str = "misattributed"

    @property
    def statement(self) -> str:
        action = self.action
        if self.kind == "unreported":
            rest = " ".join(action.rest.split())
            return f"The releases don't report that {action.who} {past_tense(action.verb)}{' ' + rest if rest else ''}."
        if action.noun:
            return f"The releases report no {action.noun} by {action.who}."
        return f"The releases don't say that {action.who} {past_tense(action.verb)} anything."


def parse_agent_action(question: str) -> AgentAction | None:
    match = _AGENT_QUESTION_RE.match(question)
    if not match:
        return None
    verb = match.group("verb").lower()
    if verb in lexical.STOPWORDS or verb in GENERIC_VERBS:
        return None
    return AgentAction(
        match.group("agent").strip(), verb, rest=match.group("rest").strip(), article=match.group("article") or "",
        why=(match.group("wh") or "").lower() == "why",
    )


def agent_aliases(agent: str, texts: list[str]) -> set[str]:
    """Lower-case names that refer to `agent` in these texts: its own words plus people introduced
    as speaking for it ("Albanian - led by Deputy Minister ... Endrit Yzeiraj")."""
    agent_words = [
        w for w in lexical.words(agent) if w.lower() not in lexical.STOPWORDS and w.lower() not in lexical.TITLE_WORDS
    ] or lexical.words(agent)
    aliases = {w.lower() for w in agent_words}
    for text in texts:
        for word in re.finditer(_CAP, text):
            if not any(lexical.same_agent(word.group(), a) for a in agent_words):
                continue
            person = _person_after(text[word.end() : word.end() + 120])
            aliases |= {p.lower() for p in person}
    return aliases


def _person_after(text: str) -> list[str]:
    """The name after a title that follows an actor's mention, within a few words, or []."""
    run = _RUN_RE.search(text)
    if not run or len(text[: run.start()].split()) > 6:
        return []
    tokens = run.group().split()
    title_positions = [i for i, t in enumerate(tokens) if t.lower().strip(".") in PERSON_TITLES]
    if not title_positions:
        return []
    name = [t for t in tokens[title_positions[-1] + 1 :] if t.lower() not in lexical.TITLE_WORDS]
    return name[-3:]


def _is_alias(name: str, aliases: set[str]) -> bool:
    return any(lexical.same_agent(name, alias) for alias in aliases)


def subject_names(sentence: str, verb_stem: str | None = None) -> list[str]:
    """Capitalised names in the subject of `sentence`: before the action verb (or the first verb),
    after any leading adverbial clause; for a passive ("was proposed by X"), the names after "by"."""
    body = _LEADING_CLAUSE_RE.sub("", sentence.strip(), count=1)
    cut = None
    if verb_stem:
        for word in re.finditer(r"[A-Za-z]+", body):
            if lexical.stem(word.group()) == verb_stem:
                cut = word
                break
    if cut is None:
        cut = _VERBISH_RE.search(body)
    if cut is None:
        return []
    names = _names(body[: cut.start()])
    if not names and verb_stem:
        passive = re.match(r"\s*by\s+(?:the\s+)?(.{0,80})", body[cut.end() :])
        if passive:
            names = _names(passive.group(1).split(",")[0])
    return names


def subject_and_verb(sentence: str) -> tuple[list[str], str | None]:
    """The subject names of a sentence's first verb, and that verb's stem (None without a verb)."""
    body = _LEADING_CLAUSE_RE.sub("", sentence.strip(), count=1)
    verb = _VERBISH_RE.search(body)
    if verb is None:
        return [], None
    names = [re.sub(r"['’]s$", "", n) for n in _names(body[: verb.start()])]
    return names, lexical.stem(verb.group())


def _names(text: str) -> list[str]:
    return [
        w for w in re.findall(_CAP, text)
        if w.lower().strip(".") not in lexical.TITLE_WORDS and w.lower() not in lexical.STOPWORDS
    ]


_AUX_BEFORE_BASE = frozenset("will would to did does do can could shall should may might must".split())


def uses_as_verb(sentence: str, verb: str) -> bool:
    """Whether the sentence uses `verb` as a verb ("proposed", "will visit"), not as a noun
    ("the historic visit", "a proposal"): only a verb credits the action to a subject."""
    verb_stem = lexical.stem(verb)
    tokens = re.findall(r"[A-Za-z’']+", sentence)
    for i, token in enumerate(tokens):
        low = token.lower()
        if lexical.stem(low) != verb_stem:
            continue
        before = tokens[i - 1] if i else ""
        if low.endswith("ed") or (low == verb and before.lower() in _AUX_BEFORE_BASE):
            return True
        if low.endswith("s") and before[:1].isupper():  # "Albania proposes"
            return True
    return False


def _reports_action(sentence: SourceSentence, action: AgentAction) -> bool:
    """The sentence tells of the action: its verb used as a verb ("closed", "will close") or its noun
    ("the closure"); "remain in close contact" does not tell of closing anything."""
    if action.noun and lexical.stem(action.noun) in sentence.stems:
        return True
    return lexical.stem(action.verb) in sentence.stems and uses_as_verb(sentence.text, action.verb)


def _mentions_agent(sentence: SourceSentence, aliases: set[str]) -> bool:
    chunk = sentence.passage.chunk
    return any(_is_alias(name, aliases) for name in re.findall(_CAP, f"{chunk.title} {chunk.text}"))


def _only_agent(names: list[str], aliases: set[str]) -> bool:
    """The sentence's subject is the asked agent alone (joint subjects say little about its own acts)."""
    return bool(names) and all(_is_alias(n, aliases) for n in names)


def capitalise_known_names(question: str, texts: list[str]) -> str:
    """"what did albania propose?" -> "what did Albania propose?" when the sources spell it as a name."""
    names = {w.lower(): w for text in texts for w in re.findall(r"(?<=\w[\s,;:])([A-Z][\w’'\-]+)", text)}
    names = {low: w for low, w in names.items() if low not in lexical.STOPWORDS and low not in lexical.TITLE_WORDS}
    return re.sub(r"\b[a-z][\w’'\-]+\b", lambda m: names.get(m.group(), m.group()), question)


# "What did Edi Rama say during his visit to Kazakhstan in September 2023?" presumes the visit.
_NAME_RUN = rf"{_CAP}(?:\s+(?:{_CAP}|of|and))*"
_VISIT_QUESTION_RE = re.compile(
    rf"^\s*(?i:what|how|why|whom|who|which\s+\w+)\s+(?i:did|does|do|will|would)\s+(?P<agent>(?:the\s+)?{_NAME_RUN})\s"
    rf".*?(?:\b(?i:during|on|in\s+the\s+course\s+of)\s+(?i:his|her|their|its)\s+(?i:visit|trip|travel|stay)\s+to"
    rf"|\b(?i:when|while)\s+(?i:he|she|they)\s+(?i:visited|travell?ed\s+to|was\s+in|were\s+in))"
    rf"\s+(?P<place>{_NAME_RUN})(?P<period>\s+(?:in|on)\s+[^?]*)?",
)
# Words that tell of a visit: "visit", "trip", "travel", "arrive", "tour".
_VISIT_STEMS = frozenset(lexical.stem(w) for w in "visit visited trip travel travels arrive arrived tour".split())


def check_visit_premise(question: str, sentences: list[SourceSentence]) -> PremiseFinding | None:
    """"... during his visit to X" or "when he visited X": unreported when no retrieved sentence tells of
    a visit to X in a passage that names the visitor (another person's visit to X does not count)."""
    match = _VISIT_QUESTION_RE.match(question)
    if not match or not sentences:
        return None
    agent, place = match.group("agent").strip(), match.group("place").strip()
    aliases = agent_aliases(agent, [s.text for s in sentences])
    place_words = [w for w in lexical.words(place) if w.lower() not in lexical.STOPWORDS]
    # "in September 2023": the visit reported must be that one ("#2023", "@september"), not Rama's
    # upcoming visit "in May this year"
    period = lexical.period_tokens(match.group("period") or "")
    for sentence in sentences:
        if not (_VISIT_STEMS & sentence.stems):
            continue
        chunk = sentence.passage.chunk
        if not all(lexical.mentions(w, f"{chunk.title}. {sentence.text}") for w in place_words):
            continue
        if period:
            dated = annotate_relative_dates(sentence.text, chunk.published) if chunk.published else sentence.text
            if not period <= lexical.period_tokens(dated):
                continue
        names = re.findall(_CAP, f"{chunk.title} {sentence.text}")
        if any(_is_alias(name, aliases) for name in names):
            return None  # a visit by the asked person to the place is reported
    rest = place + (" " + " ".join(match.group("period").split()) if match.group("period") else "")
    article = "the " if agent.lower().startswith("the ") else ""
    action = AgentAction(agent[len(article):], "visit", rest=rest, article=article)
    return PremiseFinding(action, (), (), kind="unreported")


def check_premise(question: str, sentences: list[SourceSentence]) -> PremiseFinding | None:
    visit = check_visit_premise(question, sentences)
    if visit is not None:
        return visit
    action = parse_agent_action(question) or parse_agent_action(
        capitalise_known_names(question, [s.text for s in sentences])
    )
    if action is None:
        return None
    verb_stem = lexical.stem(action.verb)
    if action.why and sentences and not any(_reports_action(s, action) for s in sentences):
        return PremiseFinding(action, (), (), kind="unreported")
    aliases = agent_aliases(action.agent, [s.text for s in sentences])
    # Only releases about the asked agent can contradict the premise: "Russia proposed X" in an
    # unrelated release says nothing about what Albania proposed.
    about_agent = {s.key for s in sentences if _mentions_agent(s, aliases)}
    others = []
    for sentence in sentences:
        if verb_stem not in sentence.stems or not uses_as_verb(sentence.text, action.verb):
            continue
        names = subject_names(sentence.text, verb_stem)
        if any(_is_alias(n, aliases) for n in names):
            return None  # the sources do credit the asked agent: the premise holds
        if sentence.key not in about_agent:
            continue
        if not names:
            return None  # "The Secretary thanked ...": who did it is unclear, so nothing is contradicted
        others.append(sentence)
    if not others:
        return None  # nobody is credited with the action: nothing to contradict, answer normally
    own = [s for s in sentences if s not in others and _only_agent(subject_names(s.text), aliases)]
    return PremiseFinding(action, tuple(others), tuple(own))
