"""The lexical (BM25) index: the store's chunks in segments that take adds and deletes.

Chroma is the source of truth; this index mirrors it for the searches Chroma does badly:
BM25, filters on date/source/language (Chroma's metadata filter scans SQLite: 2 s at 100k
chunks) and the exact dense search of a filtered subset (each segment keeps its rows'
vectors). A write to the store becomes a new small segment plus deletion marks, so its cost
is in proportion to the write, not to the store (it used to rebuild the whole index: 22 s at
100k chunks). Segments merge like a binary counter (a segment absorbs the next when that one
has grown to half its size), so a store of N chunks holds O(log N) of them.

BM25 is scored at query time from raw term frequencies with the collection's current
statistics (document frequencies, average length), so the scores are exactly those of
bm25s's "lucene" BM25 over the live chunks, whatever the history of writes.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import re
import uuid
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np
import Stemmer

from rag.boilerplate import Boilerplate, share, without
from rag.types import Chunk, Filters

# bm25s "lucene" with these parameters reproduces Anserini's BM25 on BEIR SciFact (nDCG@10 0.679).
BM25_K1 = 1.2
BM25_B = 0.75
# One tokenizer for every language the ministries here publish in, used by the index, the
# queries and the answer layer alike: words of two or more letters, lower-cased, English and
# Russian stop words dropped, then stemmed by script. Latin words get the English Snowball
# stemmer (exactly bm25s's own English tokenisation, so English scores are unchanged), Cyrillic
# words the Russian one. Kazakh has no Snowball stemmer; it is agglutinative (suffixes stack on
# an unchanging stem), so a word with a Kazakh-only letter is cut to its first 5 letters, the
# prefix truncation that matches real stemmers in Turkish retrieval (Can et al., JASIST 2008).
_WORDS = re.compile(r"(?u)\b\w\w+\b")


def _bm25s_stopwords() -> frozenset[str]:
    """bm25s's English and Russian stop word lists, read from its stopwords module alone:
    importing it as bm25s.stopwords runs the package's __init__, which imports scipy.sparse
    (0.11 s of every cold `rag ask`, for two word lists)."""
    path = importlib.util.find_spec("bm25s").submodule_search_locations[0] + "/stopwords.py"
    spec = importlib.util.spec_from_file_location("_bm25s_stopwords", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return frozenset(module.STOPWORDS_EN) | frozenset(module.STOPWORDS_RUSSIAN)


SEARCH_STOPWORDS = _bm25s_stopwords()  # English and Russian: what search drops (the answer layer reads it too)
_ENGLISH = Stemmer.Stemmer("english")
_RUSSIAN = Stemmer.Stemmer("russian")
_KAZAKH_ONLY = frozenset("әғқңұһ")
_KAZAKH_PREFIX = 5
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    if not _CYRILLIC.search(word):
        return _ENGLISH.stemWord(word)
    if any(ch in _KAZAKH_ONLY for ch in word):
        return word[:_KAZAKH_PREFIX]
    return _RUSSIAN.stemWord(word)


# Russian and Kazakh letters in the English spelling of names (BGN/PCGN-like; "дж" -> j and a
# final "ия" -> ia as English writes Tajikistan and Albania).
_TRANSLIT = dict(zip(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһі",
    "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch - y - e yu ya a g k n o u u h i".split(),
))
_CYRILLIC_NAME = re.compile(r"(?<!\w)[А-ЯЁӘҒҚҢӨҰҮҺІ][а-яёәғқңөұүһі]+")  # each part of a hyphenated name too


_SKELETON = 5  # consonants a skeleton needs before it may stand for a name


def skeleton(latin: str) -> str:
    """A Latin word's consonants with the spellings that vary between transliterations merged
    (j, zh, dzh -> z; kh -> k; doubled letters once): "tajikistan" and "tazhikstan" -> tzkstn."""
    word = re.sub(r"dzh|zh|j", "z", latin)
    word = word.replace("kh", "k")
    consonants = re.sub(r"[aeiouyh]", "", word)
    return re.sub(r"(.)\1", r"\1", consonants)


def transliterate(word: str) -> str:
    word = word.replace("дж", "j").replace("ия", "ia")
    return "".join(_TRANSLIT.get(ch, ch) for ch in word).replace("-", "")


# Kazakh's "and" ("Босния және Герцеговина"); Russian's is among the stop words.
_NAME_JOINERS = frozenset({"және"})


@lru_cache(maxsize=1)
def exonyms() -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    """(stems of a Russian or Kazakh name, stems of its English name) for every country and
    region CLDR names (Babel's locale data): the names no transliteration reaches ("Швейцария"
    is Switzerland, "Венгрия" Hungary, "Северная Европа" Northern Europe)."""
    from babel import Locale

    english = Locale("en").territories
    pairs = set()
    for language in ("ru", "kk"):
        for code, name in Locale(language).territories.items():
            if code not in english:
                continue
            local = tuple(stem(w) for w in _WORDS.findall(name.lower())
                          if w not in SEARCH_STOPWORDS and w not in _NAME_JOINERS)
            latin = tuple(stem(w) for w in _WORDS.findall(english[code].lower()) if w not in SEARCH_STOPWORDS)
            if local and latin:
                pairs.add((local, latin))
    return tuple(sorted(pairs))


_MIN_NAME_STEM = 4  # a shorter stem ("мал" of "Мали") must be the whole word


def exonym_terms(text: str) -> list[str]:
    """The English stems of the countries and regions a Russian or Kazakh text names by a name of
    its own. A name's words match inflected: each word of the text begins with the stem of the
    name's word ("Швейцарии", "Швейцарияның" for "Швейцария"), the first one capitalised."""
    words = [w for w in _WORDS.findall(text) if w.lower() not in SEARCH_STOPWORDS and w.lower() not in _NAME_JOINERS]
    if not any(_CYRILLIC.search(w) for w in words):
        return []
    low = [w.lower() for w in words]

    def matches(word: str, name_stem: str) -> bool:
        if len(name_stem) < _MIN_NAME_STEM:
            return stem(word) == name_stem
        return word.startswith(name_stem)

    found: list[str] = []
    for local, latin in exonyms():
        for i in range(len(low) - len(local) + 1):
            if words[i][0].isupper() and all(matches(low[i + j], part) for j, part in enumerate(local)):
                found += [t for t in latin if t not in found]
                break
    return found


class ScriptBridge:
    """Latin words that the capitalised Cyrillic words of a text name: "Лунда" -> lund,
    "Остравией" -> ostravia, "Вельдене" -> velden. A Russian or Kazakh question about English
    releases otherwise shares no word with them; its names, transliterated, share a long prefix
    with the English spelling (the endings differ), or, where Kazakh spells a name its own way
    ("Харжістан" for Kharjistan: zh for j), a consonant skeleton. Used by lexical search over the
    index's vocabulary."""

    def __init__(self, words):
        self.words = set(words)
        self.by_prefix: dict[str, list[str]] = {}
        self.by_skeleton: dict[str, list[str]] = {}
        for word in self.words:
            if len(word) < 4 or not (word.isascii() and word.isalpha()):
                continue
            self.by_prefix.setdefault(word[:4], []).append(word)
            if len(word) >= 6 and len(shape := skeleton(word)) >= _SKELETON:
                self.by_skeleton.setdefault(shape, []).append(word)

    def match(self, text: str) -> list[str]:
        found: list[str] = []
        for name in _CYRILLIC_NAME.findall(text):
            latin = transliterate(name.lower())
            if len(latin) == 3 and latin in self.words:  # a short part of a hyphenated name
                found.append(latin)
                continue
            best, terms = 0, []
            for word in self.by_prefix.get(latin[:4], ()):
                # all of the word but its last letter, and at most 5 letters of case ending or suffix
                shared = len(os.path.commonprefix([word, latin]))
                if shared >= len(word) - 1 and shared >= len(latin) - 5 and shared >= best:
                    if shared > best:
                        best, terms = shared, []
                    terms.append(word)
            if not terms:  # the word's skeleton begins with the term's (a suffix may follow)
                key = skeleton(latin)
                for end in range(len(key), max(_SKELETON, len(key) - 3) - 1, -1):
                    if terms := self.by_skeleton.get(key[:end], []):
                        break
            found += sorted(terms)
        return found + [t for t in exonym_terms(text) if t in self.words and t not in found]


def tokenize(texts: list[str]) -> list[list[str]]:
    return [[stem(w) for w in _WORDS.findall(text.lower()) if w not in SEARCH_STOPWORDS] for text in texts]


def date_key(value) -> int:
    """A date as an int yyyymmdd (0 = unknown): Chroma and numpy can filter on it."""
    return value.year * 10000 + value.month * 100 + value.day if value else 0


@dataclass
class Rows:
    """Chunks on their way into the index: what each row keeps, plus the texts it is built from."""

    ids: list[str]
    texts: list[str]  # what BM25 indexes: title, date and body (Chunk.embed_text)
    published: list[int]
    sources: list[str]
    doc_ids: list[str] | None = None
    titles: list[str] | None = None
    bodies: list[str] | None = None  # the chunk texts: where boilerplate is found
    languages: list[str] | None = None
    hashes: list[str] | None = None
    paths: list[str] | None = None
    n_chunks: list[int] | None = None
    vectors: np.ndarray | None = None

    @classmethod
    def from_chunks(cls, chunks: list[Chunk], vectors=None, hashes=None, counts=None) -> "Rows":
        return cls(
            ids=[c.chunk_id for c in chunks], texts=[c.embed_text for c in chunks],
            published=[date_key(c.published) for c in chunks], sources=[c.source for c in chunks],
            doc_ids=[c.doc_id for c in chunks], titles=[c.title for c in chunks], bodies=[c.text for c in chunks],
            languages=[c.language for c in chunks], hashes=list(hashes) if hashes is not None else None,
            paths=[c.path for c in chunks], n_chunks=list(counts) if counts is not None else None,
            vectors=None if vectors is None else np.asarray(vectors, dtype=np.float32),
        )

    def __len__(self) -> int:
        return len(self.ids)

    def by_date(self) -> "Rows":
        """The rows ordered by publication date: a segment keeps them so, and a date filter then
        reads one contiguous run of its vectors."""
        order = np.argsort(np.asarray(self.published, dtype=np.int64), kind="stable")
        if (np.diff(order) > 0).all():
            return self
        pick = lambda values: None if values is None else [values[i] for i in order]  # noqa: E731
        return Rows(
            pick(self.ids), pick(self.texts), pick(self.published), pick(self.sources), pick(self.doc_ids),
            pick(self.titles), pick(self.bodies), pick(self.languages), pick(self.hashes), pick(self.paths),
            pick(self.n_chunks), None if self.vectors is None else np.asarray(self.vectors)[order],
        )


class Vocabulary:
    """Term -> id, append-only within one generation of the index (a full rebuild starts a new
    one). Indexes of one generation share it; each knows how many terms it has (len(df)) and
    ignores later ones, so a write never changes what an older index object sees."""

    def __init__(self, generation: str, terms: list[str] | None = None):
        self.generation = generation
        self.terms: list[str] = list(terms or [])
        self.ids: dict[str, int] = {t: i for i, t in enumerate(self.terms)}

    def cross_script(self, query: str) -> list[int]:
        """Ids of the terms the query's Cyrillic names stand for (see ScriptBridge)."""
        if getattr(self, "_bridge_size", -1) != len(self.terms):
            self._bridge, self._bridge_size = ScriptBridge(self.terms), len(self.terms)
        return [self.ids[t] for t in self._bridge.match(query)]

    def truncate(self, n: int) -> None:
        """Forget terms past n (left by a write that failed before it was saved)."""
        for term in self.terms[n:]:
            del self.ids[term]
        del self.terms[n:]

    def add(self, tokens: list[str]) -> np.ndarray:
        out = np.empty(len(tokens), dtype=np.int32)
        for i, token in enumerate(tokens):
            tid = self.ids.get(token)
            if tid is None:
                tid = self.ids[token] = len(self.terms)
                self.terms.append(token)
            out[i] = tid
        return out


@dataclass(frozen=True)
class Segment:
    """An immutable block of rows and their postings (terms sorted; rows local to the segment)."""

    name: str
    ids: list[str]
    doc_ids: list[str]
    hashes: list[str]
    paths: list[str]
    n_chunks: np.ndarray  # int32
    published: np.ndarray  # int32 yyyymmdd, 0 when unknown
    sources: np.ndarray  # int32 codes into the index's source_names
    languages: np.ndarray  # int32 codes into language_names
    share: np.ndarray  # float16: how much of the chunk is boilerplate
    doc_len: np.ndarray  # float32 tokens per row
    terms: np.ndarray  # int32 term ids present, sorted
    indptr: np.ndarray  # int64, len(terms) + 1
    rows: np.ndarray  # int32 local row of each posting
    tf: np.ndarray  # float32 term frequency of each posting
    vectors: np.ndarray | None = None  # float32 (rows, dim), unit length

    def __len__(self) -> int:
        return len(self.ids)

    def postings(self, tid: int) -> tuple[np.ndarray, np.ndarray]:
        at = int(np.searchsorted(self.terms, tid))
        if at == len(self.terms) or self.terms[at] != tid:
            return _EMPTY_I, _EMPTY_F
        lo, hi = int(self.indptr[at]), int(self.indptr[at + 1])
        return self.rows[lo:hi], self.tf[lo:hi]

    def posting_terms(self) -> np.ndarray:
        return np.repeat(self.terms, np.diff(self.indptr))


_WEIGHTS_CACHED = 4_000_000  # postings whose weights an index keeps (~32 MB)
_EMPTY_I = np.empty(0, dtype=np.int32)
_EMPTY_F = np.empty(0, dtype=np.float32)


def _postings(token_ids: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """terms, indptr, rows, tf of a block of rows given each row's token ids."""
    n = len(token_ids)
    lengths = np.fromiter((len(t) for t in token_ids), dtype=np.int64, count=n)
    if not lengths.sum():
        return _EMPTY_I, np.zeros(1, dtype=np.int64), _EMPTY_I, _EMPTY_F
    terms = np.concatenate(token_ids).astype(np.int64)
    rows = np.repeat(np.arange(n, dtype=np.int64), lengths)
    keys, tf = np.unique(terms * n + rows, return_counts=True)  # sorted by term, then row
    return _csc(keys // n, keys % n, tf.astype(np.float32))


def _csc(posting_terms: np.ndarray, rows: np.ndarray, tf: np.ndarray):
    present, starts = np.unique(posting_terms, return_index=True)
    indptr = np.append(starts, len(posting_terms)).astype(np.int64)
    return present.astype(np.int32), indptr, rows.astype(np.int32), tf.astype(np.float32)


def _unit(vectors: np.ndarray | None) -> np.ndarray | None:
    if vectors is None:
        return None
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


@dataclass
class LexicalIndex:
    version: str
    vocab: Vocabulary
    df: np.ndarray  # int32 per term id: live rows holding the term
    segments: list[Segment]
    alive: np.ndarray  # bool per row (all segments, in order)
    source_names: list[str]
    language_names: list[str]
    boilerplate: Boilerplate = field(default_factory=Boilerplate)
    saved_as: dict = field(default_factory=dict, repr=False)  # how the files on disk hold it (lexical_files)
    # chunk id -> row. Built once, then handed from each index to the one derived from it and
    # updated in place (a write costs what it changes, not a pass over every id); lookups check
    # the row really holds the id, so an older index whose dict moved on is never misled.
    _rows: dict[str, int] | None = field(default=None, repr=False)
    # Derived from the segments in __post_init__ (never passed, so replace() cannot carry stale
    # ones): per row, all segments concatenated (cheap copies: a few bytes per row).
    published: np.ndarray = field(init=False, repr=False)
    sources: np.ndarray = field(init=False, repr=False)
    languages: np.ndarray = field(init=False, repr=False)
    doc_len: np.ndarray = field(init=False, repr=False)
    share: np.ndarray = field(init=False, repr=False)
    n_chunks: np.ndarray = field(init=False, repr=False)
    starts: np.ndarray = field(init=False, repr=False)
    _live_ids: list[str] | None = field(default=None, init=False, repr=False)
    _lenorm: np.ndarray | None = field(default=None, init=False, repr=False)  # BM25 length norm per row
    _n_live: int | None = field(default=None, init=False, repr=False)
    # (segment, term) -> (rows, BM25 weights) at this index's statistics: a frequent query word
    # costs one scatter-add, as with a precomputed index
    _weights: dict | None = field(default=None, init=False, repr=False)
    _weights_size: int = field(default=0, init=False, repr=False)
    _masks: dict | None = field(default=None, init=False, repr=False)

    def __post_init__(self):
        segs = self.segments
        self.starts = np.cumsum([0] + [len(s) for s in segs]).astype(np.int64)

        def cat(name, dtype):
            parts = [getattr(s, name) for s in segs]
            return np.concatenate(parts).astype(dtype, copy=False) if parts else np.empty(0, dtype=dtype)

        self.published, self.sources = cat("published", np.int32), cat("sources", np.int32)
        self.languages, self.doc_len = cat("languages", np.int32), cat("doc_len", np.float32)
        self.share, self.n_chunks = cat("share", np.float16), cat("n_chunks", np.int32)

    # -- building -------------------------------------------------------------------------
    @classmethod
    def empty(cls, version: str = "empty") -> "LexicalIndex":
        return cls(version, Vocabulary(uuid.uuid4().hex), np.zeros(0, dtype=np.int32), [], np.zeros(0, dtype=bool), [], [])

    @classmethod
    def build(cls, version: str, ids: list[str], texts: list[str], published: list[int], sources: list[str],
              doc_ids: list[str] | None = None, titles: list[str] | None = None, bodies: list[str] | None = None,
              languages: list[str] | None = None, **more) -> "LexicalIndex":
        """A whole index in one segment. `texts` are what BM25 indexes (title, date and body); with
        `doc_ids` and `bodies` (the chunk texts) each source's boilerplate is learnt and left out."""
        rows = Rows(ids, texts, published, sources, doc_ids, titles, bodies, languages, **more)
        boilerplate = Boilerplate()
        if doc_ids is not None and bodies is not None:
            boilerplate = Boilerplate.learn(zip(sources, doc_ids, bodies))
        return replace(cls.empty(version), boilerplate=boilerplate).with_rows(rows, version, merge=False)

    def with_rows(self, rows: Rows, version: str, merge: bool = True) -> "LexicalIndex":
        """A new index: this one plus `rows` (rows already held under the same ids are replaced)."""
        base = self.without_ids(rows.ids, version) if self._holds_any(rows.ids) else self
        rows = rows.by_date()
        n = len(rows)
        if not n:
            return base if base is not self else replace(self, version=version, _rows=self._hand_over())
        self.vocab.truncate(len(base.df))
        source_names = base.source_names + sorted({s for s in rows.sources} - set(base.source_names))
        languages = rows.languages if rows.languages is not None else [""] * n
        language_names = base.language_names + sorted(set(languages) - set(base.language_names))
        shares = np.zeros(n, dtype=np.float16)
        texts = list(rows.texts)
        if rows.bodies is not None:
            titles = rows.titles or [""] * n
            for i, (source, title, body) in enumerate(zip(rows.sources, titles, rows.bodies)):
                spans = base.boilerplate.spans(source, body, title)
                if spans:
                    shares[i] = share(spans, len(body))
                    texts[i] = texts[i][: len(texts[i]) - len(body)] + without(body, spans)
        token_ids = [self.vocab.add(tokens) for tokens in tokenize(texts)]
        terms, indptr, local_rows, tf = _postings(token_ids)
        df = np.zeros(len(self.vocab.terms), dtype=np.int32)
        df[: len(base.df)] = base.df
        np.add.at(df, terms, np.diff(indptr).astype(np.int32))
        source_code = {s: i for i, s in enumerate(source_names)}
        language_code = {s: i for i, s in enumerate(language_names)}
        segment = Segment(
            name=uuid.uuid4().hex,
            ids=list(rows.ids),
            doc_ids=list(rows.doc_ids) if rows.doc_ids is not None else [""] * n,
            hashes=list(rows.hashes) if rows.hashes is not None else [""] * n,
            paths=list(rows.paths) if rows.paths is not None else [""] * n,
            n_chunks=np.asarray(rows.n_chunks if rows.n_chunks is not None else [0] * n, dtype=np.int32),
            published=np.asarray(rows.published, dtype=np.int32),
            sources=np.asarray([source_code[s] for s in rows.sources], dtype=np.int32),
            languages=np.asarray([language_code[x] for x in languages], dtype=np.int32),
            share=shares,
            doc_len=np.fromiter((len(t) for t in token_ids), dtype=np.float32, count=n),
            terms=terms, indptr=indptr, rows=local_rows, tf=tf,
            vectors=_unit(rows.vectors),
        )
        rows_of = base._hand_over()
        if rows_of is not None:
            rows_of.update((chunk_id, len(base.alive) + i) for i, chunk_id in enumerate(segment.ids))
        index = LexicalIndex(
            version, self.vocab, df, base.segments + [segment], np.concatenate([base.alive, np.ones(n, dtype=bool)]),
            source_names, language_names, base.boilerplate, _rows=rows_of,
        )
        return index.merged() if merge else index

    def _hand_over(self) -> dict[str, int] | None:
        rows, self._rows = self._rows, None
        return rows

    def _holds_any(self, chunk_ids: list[str]) -> bool:
        return any(self.row_of(i) is not None for i in chunk_ids)

    def without_ids(self, chunk_ids: list[str], version: str) -> "LexicalIndex":
        """A new index without these chunks (ids it does not hold are ignored)."""
        rows = [self.row_of(i) for i in chunk_ids]
        dead = np.asarray(sorted({r for r in rows if r is not None}), dtype=np.int64)
        if not len(dead):
            return replace(self, version=version, _rows=self._hand_over())
        df = self.df.copy()
        for number, segment in enumerate(self.segments):
            lo, hi = self.starts[number], self.starts[number + 1]
            local = dead[(dead >= lo) & (dead < hi)] - lo
            if len(local):
                hit = np.isin(segment.rows, local)
                np.subtract.at(df, segment.posting_terms()[hit], 1)
        alive = self.alive.copy()
        alive[dead] = False
        rows_of = self._hand_over()
        if rows_of is not None:
            for chunk_id, row in zip(chunk_ids, rows):
                if row is not None:
                    rows_of.pop(chunk_id, None)
        return replace(self, version=version, df=df, alive=alive, _rows=rows_of)

    def with_boilerplate(self, boilerplate: Boilerplate, version: str) -> "LexicalIndex":
        return replace(self, version=version, boilerplate=boilerplate, _rows=self._hand_over())

    def merged(self) -> "LexicalIndex":
        """Merge trailing segments like a binary counter, dropping dead rows on the way, and
        rewrite any segment that is mostly dead."""
        index = self
        while len(index.segments) >= 2 and len(index.segments[-2]) <= 2 * len(index.segments[-1]):
            index = index._merge(len(index.segments) - 2)
        for number, segment in enumerate(index.segments):
            live = index.alive[index.starts[number] : index.starts[number + 1]]
            if len(segment) and live.mean() < 0.5:
                index = index._merge(number, count=1)
                break  # one rewrite per write; the next write catches the others
        return index

    def _merge(self, first: int, count: int = 2) -> "LexicalIndex":
        parts = self.segments[first : first + count]
        lo, hi = self.starts[first], self.starts[first + count]
        alive = self.alive[lo:hi]
        live_rows = np.flatnonzero(alive)
        def cat(name):
            return np.concatenate([getattr(s, name) for s in parts])[live_rows]

        live_rows = live_rows[np.argsort(cat("published"), kind="stable")]  # kept in date order
        new_row = np.empty(len(alive), dtype=np.int64)  # old merged row -> new row (for live rows)
        new_row[live_rows] = np.arange(len(live_rows))
        offset, terms, rows, tf = 0, [], [], []
        for segment in parts:
            keep = alive[offset + segment.rows]
            terms.append(segment.posting_terms()[keep])
            rows.append(new_row[offset + segment.rows[keep]])
            tf.append(segment.tf[keep])
            offset += len(segment)
        terms, rows, tf = np.concatenate(terms), np.concatenate(rows), np.concatenate(tf)
        order = np.lexsort((rows, terms))
        p_terms, indptr, p_rows, p_tf = _csc(terms[order], rows[order], tf[order])

        def pick(name):
            values = [x for s in parts for x in getattr(s, name)]
            return [values[i] for i in live_rows]

        vectors = None
        if all(s.vectors is not None for s in parts):
            vectors = np.concatenate([s.vectors for s in parts])[live_rows]
        segment = Segment(
            uuid.uuid4().hex, pick("ids"), pick("doc_ids"), pick("hashes"), pick("paths"), cat("n_chunks"),
            cat("published"), cat("sources"), cat("languages"), cat("share"), cat("doc_len"),
            p_terms, indptr, p_rows, p_tf, vectors,
        )
        segments = self.segments[:first] + ([segment] if len(segment) else []) + self.segments[first + count :]
        alive_all = np.concatenate([self.alive[:lo], np.ones(len(live_rows), dtype=bool), self.alive[hi:]])
        merged = LexicalIndex(self.version, self.vocab, self.df, segments, alive_all, self.source_names,
                              self.language_names, self.boilerplate, saved_as=self.saved_as)
        rows_of = self._hand_over()
        if rows_of is not None:  # rows from the merge point on moved: renumber them (the tail, usually small)
            for start, tail, live in itertools.islice(merged._live(), first, None):
                rows_of.update((tail.ids[r], start + int(r)) for r in live)
            merged._rows = rows_of
        return merged

    # -- reading --------------------------------------------------------------------------
    @property
    def n_live(self) -> int:
        if self._n_live is None:
            self._n_live = int(self.alive.sum())
        return self._n_live

    def _live(self):
        """(first row, segment, its live local rows) for each segment, in order."""
        for number, segment in enumerate(self.segments):
            start = int(self.starts[number])
            yield start, segment, np.flatnonzero(self.alive[start : start + len(segment)])

    @property
    def ids(self) -> list[str]:
        """The live chunk ids."""
        if self._live_ids is None:
            self._live_ids = [segment.ids[r] for _, segment, live in self._live() for r in live]
        return self._live_ids

    def row_of(self, chunk_id: str) -> int | None:
        """The live row holding this chunk, or None."""
        row = self.rows_of().get(chunk_id)
        if row is None or row >= len(self.alive) or not self.alive[row]:
            return None
        return row if self.row_values([row], "ids")[0] == chunk_id else None

    def rows_of(self) -> dict[str, int]:
        """chunk id -> row, live rows only (built on first use; see row_of for checked lookups)."""
        if self._rows is None:
            self._rows = {segment.ids[r]: start + int(r) for start, segment, live in self._live() for r in live}
        return self._rows

    def row_values(self, rows: np.ndarray, name: str) -> list:
        """A per-row list attribute of segments (ids, doc_ids, hashes, paths, n_chunks) at these rows."""
        numbers = np.searchsorted(self.starts, rows, side="right") - 1
        return [getattr(self.segments[n], name)[r - self.starts[n]] for n, r in zip(numbers, rows)]

    def live_rows(self) -> list[tuple[str, str, str, str, int]]:
        """(chunk id, doc id, hash, path, n_chunks) of every live row: the store's per-document
        bookkeeping without reading Chroma's metadata."""
        return [
            (segment.ids[r], segment.doc_ids[r], segment.hashes[r], segment.paths[r], int(segment.n_chunks[r]))
            for _, segment, live in self._live() for r in live
        ]

    def newest_published(self) -> int:
        """The latest publication date (yyyymmdd) among the live rows; 0 when none has one."""
        dated = self.published[self.alive]
        return int(dated.max()) if dated.size else 0

    def boilerplate_shares(self, chunk_ids: list[str]) -> list[float]:
        """How much of each chunk is boilerplate (0 for ids this index does not hold)."""
        rows = [self.row_of(i) for i in chunk_ids]
        return [float(self.share[r]) if r is not None else 0.0 for r in rows]

    def search(self, query: str, k: int, filters: Filters = Filters()) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) of the best k live chunks passing the filters."""
        n_live = self.n_live
        if k <= 0 or not n_live:
            return []
        known = len(self.df)
        tids = [t for t in (self.vocab.ids.get(tok, known) for tok in tokenize([query])[0]) if t < known]
        tids += [t for t in self.vocab.cross_script(query) if t < known]
        if not tids:
            return []
        mask = self.mask(filters)
        if self._lenorm is None:  # the length part of BM25, fixed for this index's statistics
            avgdl = np.float32(float(self.doc_len[self.alive].sum()) / n_live)
            self._lenorm = (BM25_K1 * ((1 - BM25_B) + BM25_B * self.doc_len / avgdl)).astype(np.float32)
        hit, weights_hit = [], []
        if self._weights is None or self._weights_size > _WEIGHTS_CACHED:
            self._weights, self._weights_size = {}, 0
        for tid in tids:  # a repeated query word counts again, as in bm25s
            df = int(self.df[tid])
            if not df:
                continue
            idf = np.float32(np.log(1.0 + (n_live - df + 0.5) / (df + 0.5)))
            for number, segment in enumerate(self.segments):
                cached = self._weights.get((number, tid))
                if cached is None:
                    rows, tf = segment.postings(tid)
                    rows = rows + self.starts[number]
                    cached = self._weights[(number, tid)] = (rows, idf * (tf / (self._lenorm[rows] + tf)))
                    self._weights_size += len(rows)
                if len(cached[0]):
                    hit.append(cached[0])
                    weights_hit.append(cached[1])
        if not hit:
            return []
        # One pass sums every posting's weight into its row (bincount: ~5x a fancy-indexed +=).
        rows = np.concatenate(hit)
        scores = np.bincount(rows, weights=np.concatenate(weights_hit), minlength=len(self.alive))
        rows = np.flatnonzero(scores > 0)  # (np.unique of the postings is 100x slower)
        rows = rows[(mask if mask is not None else self.alive)[rows]]
        return self.top(rows, scores[rows].astype(np.float32), k)

    def top(self, rows: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[str, float]]:
        """(chunk id, score) of the k best of these rows, best first (ties by row)."""
        if len(rows) > k:
            keep = np.argpartition(-scores, k - 1)[:k]
            rows, scores = rows[keep], scores[keep]
        order = np.lexsort((rows, -scores))
        return list(zip(self.row_values(rows[order], "ids"), (float(s) for s in scores[order])))

    def dense_search(self, query: np.ndarray, k: int, filters: Filters) -> list[tuple[str, float]] | None:
        """(chunk id, cosine) of the best k live chunks passing the filters, by exact search over
        the segments' vectors; None when a segment holds no vectors (the store falls back)."""
        if any(s.vectors is None for s in self.segments):
            return None
        mask = self.mask(filters)
        mask = self.alive if mask is None else mask
        if k <= 0 or not mask.any():
            return []
        q = unit_query(query)
        low = date_key(filters.date_from) if filters.date_from else None
        high = date_key(filters.date_to) if filters.date_to else None
        found_rows, found_scores = [], []
        for number, segment in enumerate(self.segments):
            start, runs = int(self.starts[number]), [(0, len(segment))]
            if (low or high) and _in_date_order(segment):  # a date filter: one contiguous run of rows
                a = int(np.searchsorted(segment.published, low, "left")) if low else 0
                b = int(np.searchsorted(segment.published, high, "right")) if high else len(segment)
                runs = [(a, b)]
                undated = int(np.searchsorted(segment.published, 0, "right")) if filters.undated else 0
                if undated:  # undated rows come first in date order
                    runs = [(0, b)] if a <= undated else [(0, undated), (a, b)]
            for a, b in runs:
                local = np.flatnonzero(mask[start + a : start + b])
                if not len(local):
                    continue
                found_rows.append(start + a + local)
                found_scores.append(cosines_of(segment.vectors[a:b], local, q))
        if not found_rows:
            return []
        return self.top(np.concatenate(found_rows), np.concatenate(found_scores), k)

    def mask(self, filters: Filters) -> np.ndarray | None:
        """Which live rows pass the filters; None when nothing is filtered. The dense and the
        lexical side of one question ask for the same one: the last few are kept."""
        if filters.empty:
            return None
        if self._masks is None:
            self._masks = {}
        mask = self._masks.get(filters)
        if mask is None:
            mask = self._masks[filters] = self._compute_mask(filters)
            mask.setflags(write=False)  # shared: nobody may change it
            while len(self._masks) > 8:
                self._masks.pop(next(iter(self._masks)))
        return mask

    def _compute_mask(self, filters: Filters) -> np.ndarray:
        mask = self.alive.copy()
        if filters.date_from or filters.date_to:
            dated = np.ones_like(mask)
            if filters.date_from:
                dated &= self.published >= date_key(filters.date_from)
            if filters.date_to:
                dated &= (self.published <= date_key(filters.date_to)) & (self.published > 0)
            mask &= (dated | (self.published == 0)) if filters.undated else dated
        if filters.sources:
            mask &= np.isin(self.sources, [self.source_names.index(s) for s in filters.sources if s in self.source_names])
        if filters.languages:
            wanted = [self.language_names.index(x) for x in filters.languages if x in self.language_names]
            mask &= np.isin(self.languages, wanted)
        return mask

    def passing(self, chunk_ids: list[str], filters: Filters) -> list[bool]:
        """Whether each chunk passes the filters (False for ids this index does not hold)."""
        mask = self.mask(filters)
        rows = [self.row_of(i) for i in chunk_ids]
        if mask is None:
            return [r is not None for r in rows]
        return [r is not None and bool(mask[r]) for r in rows]

    # -- boilerplate that follows the corpus ------------------------------------------------
    def sources_to_relearn(self, drift: float) -> list[str]:
        """Sources whose live documents have drifted (by this share) from those their boilerplate
        was learnt on.
        Documents are counted as the sum of 1/n_chunks over live rows: exact for complete
        documents, and no pass over the rows' ids."""
        out = []
        per_row = 1.0 / np.maximum(self.n_chunks, 1)
        for code, name in enumerate(self.source_names):
            docs = round(float(per_row[self.alive & (self.sources == code)].sum()))
            learnt = self.boilerplate.documents.get(name, 0)
            if docs != learnt and abs(docs - learnt) >= drift * min(docs, learnt):
                out.append(name)
        return out

    def source_ids(self, source: str) -> list[str]:
        if source not in self.source_names:
            return []
        rows = np.flatnonzero(self.alive & (self.sources == self.source_names.index(source)))
        return self.row_values(rows, "ids")

    def vectors_of(self, chunk_ids: list[str]) -> np.ndarray | None:
        rows = np.asarray([self.row_of(i) for i in chunk_ids], dtype=np.int64)
        if any(s.vectors is None for s in self.segments):
            return None
        numbers = np.searchsorted(self.starts, rows, side="right") - 1
        if not len(rows):
            return None
        return np.stack([self.segments[n].vectors[r - self.starts[n]] for n, r in zip(numbers, rows)])


def unit_query(query: np.ndarray) -> np.ndarray:
    """A query vector as float32 of unit length (a zero vector stays zero)."""
    q = np.asarray(query, dtype=np.float32).reshape(-1)
    return q / (np.linalg.norm(q) or 1.0)


def cosines_of(vectors: np.ndarray, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
    """float32 scores of `rows` of unit `vectors` against a unit query: when most rows are asked
    for, the whole block is read in order; when few, only theirs."""
    scores = (vectors @ query)[rows] if len(rows) > len(vectors) // 4 else vectors[rows] @ query
    return scores.astype(np.float32, copy=False)


def _in_date_order(segment: Segment) -> bool:
    published = segment.published
    return len(published) < 2 or bool((published[1:] >= published[:-1]).all())


def relearnt(boilerplate: Boilerplate, source: str, doc_bodies) -> Boilerplate:
    """`boilerplate` with one source's model learnt again from its (doc_id, body) pairs."""
    learnt = Boilerplate.learn((source, doc_id, body) for doc_id, body in doc_bodies)
    documents, counts = dict(boilerplate.documents), dict(boilerplate.counts)
    documents[source] = learnt.documents.get(source, 0)
    counts[source] = learnt.counts.get(source, {})
    return Boilerplate(documents, counts)
