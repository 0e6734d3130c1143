"""Follow-up questions rewritten into standalone ones before retrieval, without a model.

"and what about trade?" after "What did Kazakhstan and Albania discuss?" becomes
"What did Kazakhstan and Albania discuss about trade?"; "when was that?" becomes
"When did Kazakhstan and Albania discuss?"; "did they sign anything?" becomes
"did Kazakhstan and Albania sign anything?"; "And the Albanian one?" after "Who led the
Kazakh delegation?" becomes "Who led the Albanian delegation?". "he"/"his" is the person the
last answer named when the question asked who (or when its subject is named again), else the
previous question's subject. Earlier user turns are rewritten in order, so a chain of
follow-ups keeps its topic. A question that names its own actors is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rag.answer import lexical, prompts
from rag.answer.dates import parse_date_intent
from rag.answer.words import words_for

_PERSON_NOUNS = words_for("en").head_nouns["person"]
_AUXILIARIES = words_for("en").auxiliaries

_LEAD_RE = re.compile(r"^\s*(?:(?:and|also|but|so|ok|okay|then)\b[\s,]*)+", re.IGNORECASE)
_ABOUT_RE = re.compile(r"^\s*(?:what|how)\s+(?:about|of|regarding|concerning)\s+(?P<topic>.+?)\s*[?.!]*\s*$", re.I)
_WHEN_RE = re.compile(  # "when was that?", "When did it happen?": a date question with no names of its own
    r"^\s*(?i:when|what date|on what date|which date|what day)\b(?:(?!\b[A-Z]).)*?\b(?i:that|this|it|they|so)\b"
)
_PREV_RE = re.compile(
    r"^\s*(?P<wh>(?i:what|which|how|why|where|who|whom))(?:\s+\w+)??\s+"
    r"(?P<aux>(?i:did|does|do|has|have|had|will|was|were|is|are))"
    r"\s+(?P<subject>(?:the\s+)?[A-Z][\w’'.\-]*(?:\s+(?:and|of|the|[A-Z][\w’'.\-]*))*)"
    r"\s+(?P<verb>[a-z]+)(?P<rest>(?:\s+.*?)?)\s*[?.!]*\s*$",
)
_TOPIC_RE = re.compile(r"\b(?P<prep>about|on|regarding|concerning|over)\s+(?P<topic>[^?.,]+?)\s*[?.!]*\s*$", re.I)
_PLURAL_PRONOUN_RE = re.compile(r"\b(they|them|their|theirs|both sides|both)\b", re.I)
_SINGULAR_PERSON_RE = re.compile(r"\b(he|she|him|his|her)\b", re.I)
_THING_PRONOUN_RE = re.compile(r"\b(that|this|it)\b", re.I)
# A follow-up this short with no names of its own ("and trade?", "who led it?") borrows the previous topic.
SHORT_FOLLOWUP_WORDS = 5


def entities(question: str) -> list[str]:
    """Capitalised names in the question, excluding question words capitalised by position."""
    found = []
    for match in re.finditer(r"[A-Z][\w’'.\-]*(?:\s+(?:of\s+|the\s+)?[A-Z][\w’'.\-]*)*", question):
        name = match.group().strip()
        if name.lower() in lexical.STOPWORDS or name.lower() in lexical.TITLE_WORDS:
            continue
        first = name.split()[0].lower()
        if match.start() == 0 and first in lexical.STOPWORDS:
            name = " ".join(name.split()[1:])
            if not name:
                continue
        found.append(name)
    return found


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def is_followup(question: str) -> bool:
    q = question.strip()
    if _LEAD_RE.match(q) or _ABOUT_RE.match(_LEAD_RE.sub("", q)):
        return True
    if _PLURAL_PRONOUN_RE.search(q) or _SINGULAR_PERSON_RE.search(q):  # "what did he say about Russia?"
        return True
    if entities(q):
        return False
    if _THING_PRONOUN_RE.search(q):
        return True
    return len(lexical.words(q)) <= SHORT_FOLLOWUP_WORDS


# "And the Albanian one?", "the Serbian ones?": the same question about another of its kind.
_ONE_RE = re.compile(r"^\s*(?:what\s+about\s+)?(?:the\s+)?(?P<name>[A-Z][\w’'.\-]*)\s+ones?\s*[?.!]*\s*$")
# A capitalised modifier right before a lower-case noun: "the Kazakh delegation".
_MODIFIER_RE = re.compile(r"\b(?P<name>[A-Z][\w’'.\-]*)(?=\s+[a-z])")
# A run of capitalised words: a name in an answer ("Guyanese President Irfaan Ali").
_NAME_RUN_RE = re.compile(r"[A-Z][\w’'.\-]*(?:\s+[A-Z][\w’'.\-]*)*")


def rewrite_followup(question: str, history: Sequence[tuple[str, str]] = ()) -> str:
    """The question as it would be asked without the conversation (unchanged if already standalone)."""
    previous, answer = None, ""
    for role, text in history:
        if role == "user" and text.strip():
            previous = _rewrite_one(text, previous, answer) if previous else text.strip()
            answer = ""
        elif role == "assistant":
            answer = text
    if previous is None:
        return question.strip()
    return _rewrite_one(question, previous, answer)


def _answered_person(previous: str, answer: str) -> str:
    """The person the last answer named, when the previous question asked for one ("Who ...?")."""
    asks_person = re.match(r"^\s*(?:who|whom)\b", previous, re.IGNORECASE) or any(
        _head_of(run) in _PERSON_NOUNS for run in re.findall(r"(?i)\b(?:which|what)((?:\s+[\w-]+){1,4})", previous))
    if not answer or not asks_person:
        return ""
    for run in _NAME_RUN_RE.finditer(answer):
        words = [w.strip(".,;:") for w in run.group().split() if w.lower().strip(".,;:") not in lexical.TITLE_WORDS]
        if words and not any(w.lower() in lexical.STOPWORDS for w in words):
            return " ".join(words[-2:])
    return ""


def _head_of(run: str) -> str:
    """The last word before the verb in "which Caribbean head of state did ..." ("head")."""
    head = ""
    for word in run.split():
        low = word.lower()
        if low in _AUXILIARIES or low == "of":
            break
        head = low
    return head


def _rewrite_one(question: str, previous: str, answer: str = "") -> str:
    q = question.strip()
    one = _ONE_RE.match(_LEAD_RE.sub("", q))
    modifiers = [m for m in _MODIFIER_RE.finditer(previous) if m.start() > 0]
    if one:  # "And the Albanian one?": the previous question with its modifier swapped
        if modifiers:
            last = modifiers[0]
            return previous[: last.start()] + one.group("name") + previous[last.end():]
    # the noun the previous question's first modifier names: "delegation" of "the Norland delegation"
    head = re.match(r"\s+([a-z]+)", previous[modifiers[0].end():]) if modifiers else None
    if head:
        # "And who led the Ostravian one?": "one" is the noun the previous question's modifier named
        q = re.sub(r"\b([A-Z][\w’'.\-]*)\s+one\b", lambda m: f"{m.group(1)} {head.group(1)}", q)
    if not is_followup(q):
        return q
    body = _LEAD_RE.sub("", q).strip() or q
    bare = body.strip(" ?.!")
    period = parse_date_intent(bare)
    rest = re.sub(r"^(?i:what|how)\s+about\b", "", bare.replace(period.phrase, "")) if period.phrase else bare
    if period.phrase and len(lexical.words(rest)) == 0:
        # "And in 2024?": the previous question in that period
        own = parse_date_intent(previous).phrase
        if own and own in previous:
            return previous.replace(own, period.phrase)
        return previous.rstrip(" ?.!") + f" {period.phrase}?"
    if re.fullmatch(r"(?i)(when|where|why|how)", bare):
        # "When?" after "Who led the Norland delegation?": that event, the new question word's answer type
        return f"{bare.capitalize()}: {previous.strip()}"
    prev = _PREV_RE.match(previous)
    names = entities(previous)
    person = _answered_person(previous, answer)
    if person and _SINGULAR_PERSON_RE.search(body):  # "What did his side propose?" after "Who headed ...?"
        return _capitalise(_SINGULAR_PERSON_RE.sub(lambda m: _person(m, person), body))

    if about := _ABOUT_RE.match(body):  # "what about trade?"
        topic = about.group("topic")
        old = _TOPIC_RE.search(previous)
        if old:
            return previous[: old.start("topic")] + topic + "?"
        swap = re.fullmatch(r"(?:the\s+)?(?P<name>[A-Z][\w’'.\-]*)\s+(?P<noun>[a-z]+)", topic)
        if swap and head:
            # "What about the Ostravian side?" after "Who led the Norland delegation?": that one instead
            first = modifiers[0]
            return previous[: first.start()] + f"{swap['name']} {swap['noun']}" + previous[first.end() + head.end():]
        return previous.rstrip(" ?.!") + f" about {topic}?"
    if _WHEN_RE.match(body) and prev:  # "when was that?"
        return f"When {prev.group('aux')} {prev.group('subject')} {prev.group('verb')}{prev.group('rest')}?"
    if names:
        # The previous question's subject is who "they"/"he" most likely refers to.
        subject = entities(prev.group("subject")) if prev else []
        actors = subject or names
        rewritten = _PLURAL_PRONOUN_RE.sub(lambda m: _plural(m, actors), body)
        if len(actors) == 1:
            rewritten = _SINGULAR_PERSON_RE.sub(lambda m: _person(m, actors[0]), rewritten)
        if rewritten != body:
            return _capitalise(rewritten)
        if not entities(body) and len(lexical.words(body)) > 1:
            return body.rstrip(" ?.!") + f" ({_join(names)})?"
    if len(lexical.words(body)) <= 2:  # "and trade?" -> previous question about that
        topic = body.strip(" ?.!")
        old = _TOPIC_RE.search(previous)
        if old:
            return previous[: old.start("topic")] + topic + "?"
        return previous.rstrip(" ?.!") + f" about {topic}?"
    return _capitalise(body)


def _plural(match: re.Match, names: list[str]) -> str:
    word = match.group().lower()
    joined = _join(names)
    return f"{joined}'s" if word in ("their", "theirs") else joined


def _person(match: re.Match, name: str) -> str:
    return f"{name}'s" if match.group().lower() in ("his",) else name


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def rewrite_with_model(
    question: str, history: Sequence[tuple[str, str]], complete: Callable[[list[dict[str, str]]], str]
) -> str | None:
    """A model's standalone rewrite of a follow-up, or None when it is unusable (then use the
    deterministic rewrite). Only follow-ups go to the model; its reply must be one plausible question."""
    users = [text for role, text in history if role == "user" and text.strip()]
    if not users or not is_followup(question):
        return None
    transcript = "\n".join(f"{role}: {' '.join(text.split())[:300]}" for role, text in history[-6:])
    try:
        reply = complete([
            {"role": "system", "content": prompts.REWRITE_SYSTEM_PROMPT},
            {"role": "user", "content": prompts.REWRITE_USER_PROMPT.format(history=transcript, question=question)},
        ])
    except Exception:  # a rewrite is an optimisation; the deterministic one always exists
        return None
    lines = [line.strip(" \"'") for line in reply.strip().splitlines() if line.strip()]
    if len(lines) != 1:
        return None
    candidate = lines[0]
    too_long = len(candidate) > 3 * (len(question) + len(users[-1]))
    if too_long or len(lexical.words(candidate)) < 3 or not candidate.endswith("?"):
        return None
    return candidate
