"""The lexical index follows the store write by write: BM25 scores identical to bm25s's over
the live chunks, whatever the history of adds and deletes; other processes load it instead of
rebuilding; a failed write leaves no index claiming to be current."""

import json
from datetime import date, timedelta
from pathlib import Path

import bm25s
import numpy as np
import pytest

from rag import lexical_files
from rag.lexical import BM25_B, BM25_K1, LexicalIndex, Rows, tokenize
from rag.settings import Settings
from rag.store import ChunkStore
from rag.types import Chunk, Filters

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "state_dept_press_releases_2021-2022.jsonl"
QUESTIONS = [
    "sanctions on Russia", "Albania political consultations", "climate change agreement",
    "Secretary Blinken's call with the Foreign Minister", "state state department", "Afghan evacuees in Qatar",
]


@pytest.fixture(scope="module")
def releases():
    with CORPUS.open() as f:
        records = [json.loads(line) for _, line in zip(range(400), f)]
    return [f"{r['title']}\n{r['text']}" for r in records]


def ranking(index: LexicalIndex, k=10):
    return {q: [(i, round(s, 4)) for i, s in index.search(q, k)] for q in QUESTIONS}


def test_scores_are_bm25s_lucene_scores(releases):
    ids = [f"r{i}" for i in range(len(releases))]
    index = LexicalIndex.build("v", ids, releases, [0] * len(ids), ["s"] * len(ids))
    reference = bm25s.BM25(k1=BM25_K1, b=BM25_B, method="lucene")
    reference.index(tokenize(releases), show_progress=False)
    for question in QUESTIONS:
        tokens = [t for t in tokenize([question])[0] if t in reference.vocab_dict]
        docs, scores = reference.retrieve([tokens], k=10, show_progress=False)
        got = index.search(question, 10)
        assert [i for i, _ in got] == [ids[int(d)] for d in docs[0]], question
        assert np.allclose([s for _, s in got], scores[0], rtol=1e-5), question


def test_the_tokenizer_drops_bm25s_s_stop_words_without_importing_scipy():
    import subprocess
    import sys

    from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_RUSSIAN

    from rag.lexical import SEARCH_STOPWORDS

    assert SEARCH_STOPWORDS == frozenset(STOPWORDS_EN) | frozenset(STOPWORDS_RUSSIAN)
    probe = "import sys, rag.lexical; print('scipy' in sys.modules)"  # a cold `rag ask` imports rag.lexical
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_russian_and_kazakh_names_find_the_english_releases_that_name_them():
    texts = ["Minister Lund met President Ilves in Velden to discuss grain exports.",
             "Ostravia and Norland signed a fisheries agreement in Brunnhaven.",
             "The ministry published its annual report on consular services."]
    index = LexicalIndex.build("v", ["lund", "fish", "report"], texts, [0] * 3, ["s"] * 3)
    # transliterated, with Russian and Kazakh endings: Лунд -> lund, Вельдене -> velden, Остравией -> ostravia
    assert [i for i, _ in index.search("Что обсуждал Лунд в Вельдене?", 3)] == ["lund"]
    assert [i for i, _ in index.search("Остравией и Норландией было подписано соглашение?", 3)] == ["fish"]
    assert [i for i, _ in index.search("Лунд Вельденде не талқылады?", 3)] == ["lund"]
    assert index.search("Что обсуждали министры?", 3) == []  # no names: nothing to match across scripts
    # Kazakh writes some names its own way (zh for j, no kh): matched by their consonant skeleton
    index = LexicalIndex.build("w", ["other", "kh"], ["Norland opened an embassy in Ostravia.",
                                                     "Norland opened an embassy in Kharjistan."], [0] * 2, ["s"] * 2)
    assert [i for i, _ in index.search("Норландия Харжістанға елшілік ашты ма?", 2)][0] == "kh"


def test_country_names_that_no_transliteration_reaches_find_the_english_releases():
    """"Швейцария" is not a spelling of Switzerland: CLDR's Russian and Kazakh country and region names
    bridge them, inflected ("Венгрией", "Грекияның"), several words at once ("Северной Европы")."""
    from rag.lexical import exonym_terms

    texts = ["Switzerland and Norland held talks on energy.", "Hungary hosted the Velden forum.",
             "Greece and Ostravia signed a ferry agreement.", "Northern Europe ministers met in Lund."]
    index = LexicalIndex.build("x", ["de", "hu", "gr", "ca"], texts, [0] * 4, ["s"] * 4)
    assert [i for i, _ in index.search("О чём договорились Швейцария и Норландия?", 4)][0] == "de"
    assert [i for i, _ in index.search("Какой форум принимала Венгрия?", 4)][0] == "hu"
    assert [i for i, _ in index.search("Грекияның Остравиямен келісімі қандай?", 4)][0] == "gr"
    assert [i for i, _ in index.search("Где встречались министры Северной Европы?", 4)][0] == "ca"
    assert exonym_terms("Germany and Hungary") == []  # English text: nothing to bridge
    assert exonym_terms("мало кто знал об этом") == []  # lower case: a word, not a name


def test_adds_and_deletes_give_the_index_a_full_build_would(releases):
    ids = [f"r{i}" for i in range(len(releases))]
    n = len(ids)
    index = LexicalIndex.empty()
    for lo in range(0, n, 25):  # 16 writes
        index = index.with_rows(Rows(ids[lo : lo + 25], releases[lo : lo + 25], [0] * 25, ["s"] * 25), f"v{lo}")
    assert len(index.segments) <= 1 + int(np.log2(n / 25)) + 1  # merged like a binary counter
    gone = set(ids[50:150]) | {ids[7], ids[399]}
    index = index.without_ids(sorted(gone), "v-del")
    # a replaced chunk: the same id with new text
    index = index.with_rows(Rows([ids[8]], ["Sanctions on Russia, sanctions and more sanctions"], [0], ["s"]), "v-rep")
    texts = dict(zip(ids, releases)) | {ids[8]: "Sanctions on Russia, sanctions and more sanctions"}
    kept = [i for i in ids if i not in gone]
    full = LexicalIndex.build("full", kept, [texts[i] for i in kept], [0] * len(kept), ["s"] * len(kept))
    assert ranking(index) == ranking(full)
    assert sorted(index.ids) == sorted(kept)
    assert index.search("sanctions on russia", 1)[0][0] == ids[8]


def test_an_older_index_object_still_answers_for_itself_after_later_writes(releases):
    """Writes hand the id -> row map on to the new index and renumber rows in merges; the index
    a reader still holds must not be misled by that."""
    ids = [f"r{i}" for i in range(200)]
    old = LexicalIndex.build("v0", ids[:100], releases[:100], [0] * 100, ["s"] * 100)
    assert old.passing(ids[:3], Filters()) == [True] * 3
    before = ranking(old)
    new = old.without_ids(ids[:50], "v1")
    for lo in range(100, 200, 20):
        new = new.with_rows(Rows(ids[lo : lo + 20], releases[lo : lo + 20], [0] * 20, ["s"] * 20), f"v{lo}")
    assert len(new.segments) < 5  # merged on the way, rows renumbered
    assert old.passing(ids[:3] + [ids[150]], Filters()) == [True, True, True, False]
    assert ranking(old) == before
    assert new.passing(ids[:3] + [ids[150]], Filters()) == [False, False, False, True]
    assert sorted(new.ids) == sorted(ids[50:])


def _chunks(n, start=0, source="Norland MFA"):
    return [
        Chunk(f"d{i}:h{i}:0", f"d{i}", 0, f"Release {i} on trade talks number {i % 7} with the minister.\n"
              "MINISTRY OF FOREIGN AFFAIRS OF NORLAND", 0, 80, title=f"Release {i}",
              published=date(2024, 1, 1) + timedelta(days=i), source=source, path=f"/x/{i}.txt")
        for i in range(start, start + n)
    ]


def _vectors(n, seed=0):
    v = np.random.default_rng(seed).standard_normal((n, 384)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_the_store_keeps_its_index_in_step_with_chroma_and_other_processes_load_it(tmp_path, monkeypatch):
    settings = Settings(data_dir=tmp_path)
    store = ChunkStore(settings)
    chunks = _chunks(60)
    for lo in range(0, 60, 10):
        part = chunks[lo : lo + 10]
        store.upsert(part, _vectors(10, lo), ["h"] * 10, [1] * 10)
    store.delete([c.chunk_id for c in chunks[:5]])
    incremental = store.lexical_index()
    rebuilt = store._build_lexical(store.version())
    assert ranking(incremental) == ranking(rebuilt)
    assert sorted(incremental.ids) == sorted(rebuilt.ids) == sorted(c.chunk_id for c in chunks[5:])
    assert {d: dict(s.n_chunks_by_hash) for d, s in store.doc_states().items()} == {
        c.doc_id: {"h": 1} for c in chunks[5:]
    }
    # The sign-off recurs in every release of the source: learnt as boilerplate while writing.
    assert incremental.boilerplate.documents["Norland MFA"] >= 27
    got = store.get_chunks([chunks[10].chunk_id])[0]
    assert got.text[slice(*got.boilerplate[-1])] == "MINISTRY OF FOREIGN AFFAIRS OF NORLAND"

    # Another process on the same data_dir loads the saved index: no rebuild from Chroma.
    other = ChunkStore(settings)
    monkeypatch.setattr(other, "_build_lexical", lambda version: pytest.fail("rebuilt from Chroma"))
    assert ranking(other.lexical_index()) == ranking(incremental)
    # ...and follows the first one's next write the same way.
    store.upsert(_chunks(3, start=100), _vectors(3, 9), ["h"] * 3, [1] * 3)
    assert "d101:h101:0" in other.lexical_index().ids


def test_a_write_that_fails_half_way_leaves_no_index_claiming_the_store(tmp_path, monkeypatch):
    store = ChunkStore(Settings(data_dir=tmp_path))
    store.upsert(_chunks(10), _vectors(10), ["h"] * 10, [1] * 10)
    store.max_batch = 4  # three Chroma calls for the next write; the second one fails
    original, calls = store.collection.upsert, []

    def failing(**kw):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return original(**kw)

    monkeypatch.setattr(store.collection, "upsert", failing)
    with pytest.raises(RuntimeError):
        store.upsert(_chunks(10, start=10), _vectors(10, 1), ["h"] * 10, [1] * 10)
    assert lexical_files.load(store.lexical_dir, store.version()) is None
    index = store.lexical_index()  # rebuilt from what Chroma holds: 10 + the first 4
    assert sorted(index.ids) == sorted(store.collection.get()["ids"]) and len(index.ids) == 14


def test_a_crashed_writers_vocabulary_tail_is_ignored_and_cut(tmp_path):
    store = ChunkStore(Settings(data_dir=tmp_path))
    store.upsert(_chunks(5), _vectors(5), ["h"] * 5, [1] * 5)
    (vocab,) = store.lexical_dir.glob("vocab-*.txt")
    with vocab.open("ab") as f:
        f.write(b"half-written-ter")
    fresh = ChunkStore(Settings(data_dir=tmp_path))
    assert ranking(fresh.lexical_index()) == ranking(store.lexical_index())
    store.upsert([Chunk("z:h:0", "z", 0, "Zanzibar archipelago", 0, 20, source="Norland MFA")], _vectors(1), ["h"], [1])
    assert b"half-written-ter" not in vocab.read_bytes()
    assert ChunkStore(Settings(data_dir=tmp_path)).lexical_search("zanzibar", 1)[0][0] == "z:h:0"


def test_after_a_run_boilerplate_is_relearnt_as_a_full_build_would(tmp_path):
    store = ChunkStore(Settings(data_dir=tmp_path))
    store.upsert(_chunks(8), _vectors(8), ["h"] * 8, [1] * 8)
    store.upsert(_chunks(7, start=8), _vectors(7, 2), ["h"] * 7, [1] * 7)  # < 4x: not relearnt while writing
    assert store.lexical_index().boilerplate.documents["Norland MFA"] == 8
    store.refresh_lexical()
    index = store.lexical_index()
    rebuilt = store._build_lexical(store.version())
    assert index.boilerplate.to_json() == rebuilt.boilerplate.to_json()
    assert ranking(index) == ranking(rebuilt)
    version = store.version()
    store.refresh_lexical()  # nothing drifted: no new version
    assert store.version() == version
