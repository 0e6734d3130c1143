"""Boilerplate is found by repetition across a source's releases, never by a list of phrases."""

from datetime import date

import pytest

from rag.boilerplate import Boilerplate, share, without
from rag.ingest.pipeline import IngestService
from rag.retrieval import Retriever, penalise_boilerplate
from rag.store import ChunkStore

SIGN_OFF = "OFFICE OF THE PRESS SECRETARY\n{day} {month} 2023"
RELEASES = [
    ("Harbour talks", "The ministers discussed port fees and ferry schedules.", 3, "March"),
    ("Grain corridor", "The two governments agreed to extend the grain corridor by six months.", 17, "April"),
    ("Border crossing", "A new border crossing will open near the river delta in June.", 2, "May"),
    ("Fisheries", "Fishing quotas for the northern waters were set for the coming season.", 28, "July"),
]


def _archive(source="Ministry A"):
    docs = []
    for i, (title, body, day, month) in enumerate(RELEASES):
        text = f"{body}\n\nFor media enquiries, write to press@ministry.example.\n\n" + SIGN_OFF.format(day=day, month=month)
        docs.append((source, f"doc{i}", title, text))
    return docs


def test_a_line_repeated_across_a_sources_releases_is_boilerplate_whatever_its_date():
    docs = _archive()
    model = Boilerplate.learn((s, d, t) for s, d, _, t in docs)
    source, _, title, text = docs[0]
    spans = model.spans(source, text, title)
    flagged = [text[a:b] for a, b in spans]
    assert any("OFFICE OF THE PRESS SECRETARY" in f for f in flagged)
    assert any("3 March 2023" in f for f in flagged)  # the dates differ, the shape repeats
    assert any("press@ministry.example" in f for f in flagged)
    assert not any("port fees" in f for f in flagged)
    assert 0 < share(spans, len(text)) < 1
    assert "port fees" in without(text, spans) and "PRESS SECRETARY" not in without(text, spans)


def test_repetition_counts_per_source_and_needs_a_few_documents():
    docs = _archive("Ministry A")[:2] + _archive("Ministry B")[2:]
    model = Boilerplate.learn((s, d, t) for s, d, _, t in docs)
    source, _, title, text = docs[0]
    assert model.spans(source, text, title) == ()  # two releases of each source: not enough to tell


def test_a_sentence_repeated_in_a_few_releases_is_boilerplate_only_when_not_about_them():
    opening = "The Foreign Minister spoke today with the Harbour Minister of the island republic."
    contact = "Journalists may request interviews through the duty officer."
    docs = [("M", f"call{i}", "Foreign Minister spoke with the island republic's Harbour Minister",
             f"{opening}\n\nThey discussed {topic}.\n\n{contact}") for i, topic in enumerate(("ferries", "tariffs", "fishing", "weather"))]
    docs += [("M", f"other{i}", f"Other news {i}", f"Unrelated item number {i}.") for i in range(96)]
    model = Boilerplate.learn((s, d, t) for s, d, _, t in docs)
    source, _, title, text = docs[0]
    flagged = [text[a:b] for a, b in model.spans(source, text, title)]
    assert flagged == [contact]  # 4 of 100 releases: rare, so the title decides


def test_the_model_round_trips_through_json():
    docs = _archive()
    model = Boilerplate.learn((s, d, t) for s, d, _, t in docs)
    again = Boilerplate.from_json(model.to_json())
    source, _, title, text = docs[1]
    assert again.spans(source, text, title) == model.spans(source, text, title)


@pytest.fixture
def ingested(settings, embedder, tmp_path):
    folder = tmp_path / "releases"
    folder.mkdir()
    for i, (title, body, day, month) in enumerate(RELEASES):
        text = (f"Title: {title}\nDate: 2023-0{i + 3}-0{i + 1}\nSource: Ministry A\n\n{body}\n\n"
                f"For media enquiries, write to press@ministry.example.\n\n" + SIGN_OFF.format(day=day, month=month))
        (folder / f"r{i}.txt").write_text(text)
    store = ChunkStore(settings)
    IngestService(settings, store, embedder).ingest([folder])
    return store


def test_the_store_marks_boilerplate_on_the_chunks_it_returns_and_leaves_it_out_of_bm25(ingested, settings, embedder):
    chunk_ids = ingested.lexical_index().ids
    chunks = ingested.get_chunks(chunk_ids)
    assert chunks and all(c.boilerplate for c in chunks)
    for chunk in chunks:
        flagged = " ".join(chunk.text[a:b] for a, b in chunk.boilerplate)
        assert "PRESS SECRETARY" in flagged and "press@ministry" in flagged
    # "enquiries" is in every release but only in its boilerplate: BM25 no longer finds it
    assert ingested.lexical_search("media enquiries press secretary", 5) == []
    assert ingested.lexical_search("grain corridor", 5)
    shares = ingested.boilerplate_shares(chunk_ids)
    assert all(0 < s < 1 for s in shares)
    # retrieval lowers each chunk by its boilerplate share of the fused range; no penalty, raw scores
    penalised = Retriever(ingested, embedder, settings.retrieval).retrieve("grain corridor extension", k=4)
    plain = Retriever(ingested, embedder, settings.retrieval.model_copy(update={"boilerplate_penalty": 0.0})
                      ).retrieve("grain corridor extension", k=4)
    raw = {p.chunk.chunk_id: p.score for p in plain}
    assert all(p.score < raw[p.chunk.chunk_id] for p in penalised)


def test_the_penalty_is_proportional_to_the_boilerplate_share():
    fused = {"a": 1.0, "b": 0.5, "c": 0.0}
    lowered = penalise_boilerplate(fused, [0.0, 1.0, 0.5], 0.5)
    assert lowered == {"a": 1.0, "b": 0.0, "c": -0.25}
    assert penalise_boilerplate(fused, [0.0, 1.0, 0.5], 0.0) == fused
