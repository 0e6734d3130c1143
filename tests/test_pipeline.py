"""Ingestion end to end on real files, the real embedding model and a real embedded Chroma."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rag.catalogue import Catalogue
from rag.ingest.pipeline import IngestService
from rag.ingest.readers import read_file
from rag.store import ChunkStore

REPO = Path(__file__).resolve().parent.parent
KAZAKH = REPO / "corpus" / "2025-03-21-kazakhstan-albania-political-consultations.txt"
ARCHIVE = REPO / "corpus" / "state_dept_press_releases_2021-2022.jsonl"


def first_records(n: int) -> list[dict]:
    with ARCHIVE.open(encoding="utf-8") as f:
        return [json.loads(next(f)) for _ in range(n)]


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(KAZAKH, folder)
    records = [r for r in first_records(12) if len(r["text"]) < 6000][:5]
    (folder / "state.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return folder


@pytest.fixture
def service(settings, embedder):
    return IngestService(settings, ChunkStore(settings), embedder)


def stored_texts(store: ChunkStore) -> list[str]:
    return store.collection.get(include=["documents"])["documents"]


def test_ingest_stores_documents_with_metadata_and_offsets(service, corpus):
    report = service.ingest([corpus])
    assert report.ok, report.failed
    assert {f.status for f in report.files} == {"ingested"}
    docs = {d.title: d for d in service.store.documents()}
    assert len(docs) == 6
    kazakh = next(d for d in docs.values() if d.source == "Kazakh MFA")
    assert kazakh.published.isoformat() == "2025-03-21"
    chunks = service.store.document_chunks(kazakh.doc_id)
    body = "".join(c.text for c in chunks)
    assert "Images | Kazakh MFA" not in body  # the scraped header line is metadata, not text
    assert any("the Kazakh side proposed the establishment of an Intergovernmental Commission" in c.text
               for c in chunks)
    for before, after in zip(chunks, chunks[1:]):
        assert before.end <= after.start
    assert Catalogue(service.store).stats()["by_source"]["U.S. Department of State"] == 5


def test_reingest_is_a_no_op_and_a_changed_file_replaces_its_chunks(service, corpus):
    first = service.ingest([corpus])
    again = service.ingest([corpus])
    assert again.chunks_written == 0
    assert {f.status for f in again.files} == {"unchanged"}
    assert service.store.count() == first.chunks_written

    edited = corpus / KAZAKH.name
    edited.write_text(edited.read_text(encoding="utf-8").replace("Business Council", "Trade Council"),
                      encoding="utf-8")
    changed = service.ingest([corpus])
    assert [f.status for f in changed.files if f.path.endswith(".txt")] == ["ingested"]
    texts = " ".join(stored_texts(service.store))
    assert "Trade Council" in texts and "Business Council" not in texts
    assert service.store.count() == first.chunks_written  # replaced, not added


def test_sync_removes_documents_whose_files_are_gone(service, corpus):
    service.ingest([corpus])
    (corpus / KAZAKH.name).unlink()
    kept = service.ingest([corpus])
    assert any(d.source == "Kazakh MFA" for d in service.store.documents())  # no --sync: kept
    synced = service.ingest([corpus], sync=True)
    assert synced.removed_documents == 1 and kept.removed_documents == 0
    assert not any(d.source == "Kazakh MFA" for d in service.store.documents())
    assert len(service.store.documents()) == 5


def test_bad_files_are_reported_and_the_rest_goes_on(service, corpus, tmp_path):
    service.ingest([corpus])
    before = service.store.count()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_text("")
    (bad / "binary.txt").write_bytes(b"\x00\x01\x02\xff" * 100)
    lines = (corpus / "state.jsonl").read_text().splitlines()
    (bad / "broken.jsonl").write_text(lines[0] + "\n{not json\n")
    (bad / "good.md").write_text("# Green corridor\n\nThe ministers agreed on a green energy corridor.\n")
    report = service.ingest([bad, tmp_path / "missing.txt"])
    status = {Path(f.path).name: f for f in report.files}
    assert status["empty.txt"].status == "failed" and "empty.txt" in status["empty.txt"].errors[0]
    assert status["binary.txt"].status == "failed" and "binary.txt" in status["binary.txt"].errors[0]
    assert status["broken.jsonl"].status == "partial" and "line 2" in " ".join(status["broken.jsonl"].errors)
    assert status["missing.txt"].status == "failed"
    assert status["good.md"].status == "ingested"
    assert not report.ok
    assert service.store.count() > before  # good.md stored; nothing lost
    assert "green energy corridor" in " ".join(stored_texts(service.store))


def test_a_zip_of_releases_is_ingested_like_the_folder_it_holds(service, corpus, tmp_path):
    """An archive handed over as a zip (named, or inside a folder): its releases are read, gzipped
    exports inside too; unsafe or unreadable members are reported by name; ingesting the zip
    again changes nothing."""
    import gzip
    import zipfile

    drop = tmp_path / "drop"
    drop.mkdir()
    with zipfile.ZipFile(drop / "mfa-export.zip", "w") as archive:
        archive.write(KAZAKH, f"2025/{KAZAKH.name}")
        archive.writestr("2024/ostravia.csv.gz", gzip.compress(
            b"title,date,text\nNorland and Ostravia sign a grain accord,2024-05-02,"
            b"Norland and Ostravia signed a grain accord setting export quotas of 2 million tonnes.\n"))
        archive.writestr("../outside.txt", "Escaping the folder.")
        archive.writestr("setup.exe", b"MZ")
        archive.writestr("__MACOSX/._x.txt", "metadata")
    report = service.ingest([drop])
    by_name = {Path(f.path).name: f for f in report.files}
    assert by_name[KAZAKH.name].status == "ingested" and by_name["ostravia.csv.gz"].status == "ingested"
    assert "unsafe path" in by_name["outside.txt"].errors[0] and "mfa-export.zip" in by_name["outside.txt"].errors[0]
    assert "type .exe is not accepted" in by_name["setup.exe"].errors[0]
    assert not (tmp_path / "outside.txt").exists() and not (service.settings.data_dir / "outside.txt").exists()
    titles = {d.title for d in service.store.documents()}
    assert "Norland and Ostravia sign a grain accord" in titles and "Kazakhstan Albania political consultations" in titles
    again = service.ingest([drop / "mfa-export.zip"])
    assert {f.status for f in again.files if f.status != "failed"} == {"unchanged"} and again.chunks_written == 0
    broken = drop / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    failed = service.ingest([broken]).files
    assert [f.status for f in failed] == ["failed"] and "not a readable zip archive" in failed[0].errors[0]


def test_the_settings_field_map_names_an_archives_keys(settings, embedder, tmp_path):
    archive = tmp_path / "export.json"
    archive.write_text(json.dumps([{"heading": "Lund in Velden", "memo": "Minister Lund visited Velden.",
                                    "notes": "Minister Lund met his Ostravian counterpart in Velden on Thursday. " * 4}]))
    settings = settings.model_copy(update={"ingest": settings.ingest.model_copy(update={"field_map": {"text": ["memo"]}})})
    service = IngestService(settings, ChunkStore(settings), embedder)
    assert service.ingest([archive]).ok
    assert stored_texts(service.store) == ["Minister Lund visited Velden."]  # the guess would take the longer notes


def test_a_crash_mid_ingest_leaves_a_queryable_store_that_the_next_run_completes(
    settings, embedder, corpus, monkeypatch
):
    reference = IngestService(settings.model_copy(update={"data_dir": settings.data_dir / "ref"}),
                              None, embedder)
    reference.store = ChunkStore(reference.settings)
    expected = reference.ingest([corpus]).chunks_written

    class CrashingEmbedder:
        calls = 0

        def __getattr__(self, name):
            return getattr(embedder, name)

        def encode(self, texts):
            CrashingEmbedder.calls += 1
            if CrashingEmbedder.calls == 3:
                raise KeyboardInterrupt  # Ctrl-C in the middle of the third batch
            return embedder.encode(texts)

    settings = settings.model_copy(update={"ingest": settings.ingest.model_copy(update={"write_batch": 3})})
    store = ChunkStore(settings)
    with pytest.raises(KeyboardInterrupt):
        IngestService(settings, store, CrashingEmbedder()).ingest([corpus])
    stored = store.count()
    assert 0 < stored < expected
    assert store.lexical_search("Secretary", 3)  # answers queries from what was stored
    # Whole documents per write: what the crash left holds every stored release complete.
    assert all(s.is_complete(next(iter(s.n_chunks_by_hash))) for s in store.doc_states().values())

    resumed = IngestService(settings, ChunkStore(settings), embedder).ingest([corpus])
    assert expected > 9  # the crash really came mid-way
    assert resumed.chunks_written == expected - stored  # only what was missing
    assert store.count() == expected
    assert all(s.is_complete(next(iter(s.n_chunks_by_hash))) for s in store.doc_states().values())


def test_folder_readme_and_license_are_not_releases(tmp_path):
    from rag.ingest.pipeline import expand_paths

    (tmp_path / "README.md").write_text("# About this folder\n")
    (tmp_path / "LICENSE.txt").write_text("Public domain\n")
    (tmp_path / "release.md").write_text("# A release\n\nText.\n")
    (tmp_path / "notes.bin").write_bytes(b"\x00")
    files, problems = expand_paths([tmp_path])
    assert [p.name for p in files] == ["release.md"] and not problems
    named, _ = expand_paths([tmp_path / "README.md"])  # named explicitly: read it
    assert [p.name for p in named] == ["README.md"]


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to encode."""

    def __init__(self, embedder):
        self.inner, self.encoded = embedder, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def encode(self, texts, batch_size=None):
        self.encoded += len(texts)
        return self.inner.encode(texts)


def _vectors_by_id(store: ChunkStore) -> dict:
    got = store.collection.get(include=["embeddings"])
    return dict(zip(got["ids"], np.asarray(got["embeddings"], dtype=np.float32)))


def test_vectors_a_corpus_carries_are_reused_and_only_what_changed_is_encoded(settings, embedder, corpus, tmp_path):
    from rag.ingest.vector_cache import cache_path, write_cache

    first = IngestService(settings, ChunkStore(settings), embedder)
    assert first.ingest([corpus]).vectors_reused == 0
    texts, vectors = first.store.embedded(corpus)
    assert len(texts) == first.store.count() > 0
    write_cache(cache_path(corpus, embedder.name), embedder.name, settings.embedding.max_tokens, texts, vectors)

    elsewhere = settings.model_copy(update={"data_dir": tmp_path / "elsewhere"})
    counting = CountingEmbedder(embedder)
    report = IngestService(elsewhere, ChunkStore(elsewhere), counting).ingest([corpus])
    assert report.ok and counting.encoded == 0  # no passage went through the model
    assert report.vectors_reused == report.chunks_written == first.store.count()
    assert "with vectors the corpus carries" in report.summary()
    mine, theirs = _vectors_by_id(first.store), _vectors_by_id(ChunkStore(elsewhere))
    assert set(mine) == set(theirs)
    assert min(float(mine[i] @ theirs[i]) for i in mine) > 0.9999  # float16 in the file, renormalised

    # An edited release misses the cache (its text is no longer the one stored) and is encoded.
    release = corpus / KAZAKH.name
    release.write_text(release.read_text(encoding="utf-8").replace("Tirana", "Durrës"), encoding="utf-8")
    again = settings.model_copy(update={"data_dir": tmp_path / "again"})
    counting = CountingEmbedder(embedder)
    report = IngestService(again, ChunkStore(again), counting).ingest([corpus])
    edited = [c for c in ChunkStore(again).document_chunks(next(
        d.doc_id for d in ChunkStore(again).documents() if d.source == "Kazakh MFA"))]
    assert 0 < counting.encoded <= len(edited) and report.vectors_reused == report.chunks_written - counting.encoded

    # A file made with another token window is not used.
    other = settings.model_copy(update={"data_dir": tmp_path / "other",
                                        "embedding": settings.embedding.model_copy(update={"max_tokens": 128})})
    assert IngestService(other, ChunkStore(other), embedder).ingest([corpus]).vectors_reused == 0


def test_the_demo_corpus_carries_the_vectors_of_its_passages_as_chunked_today(settings, embedder):
    """The shipped corpus/.vectors file matches the chunker: if this fails, the chunker changed;
    re-export it (`rag ingest corpus/` into a fresh store, then `rag export-vectors corpus`)."""
    from rag.ingest.vector_cache import VectorCache, cache_path

    cache = VectorCache.load(cache_path(REPO / "corpus", embedder.name), embedder.name, settings.embedding.max_tokens)
    assert cache is not None and len(cache) > 12_000
    service = IngestService(settings, store=None, embedder=embedder)
    docs = read_file(KAZAKH).documents + read_file(ARCHIVE).documents[:40]
    texts = [c.embed_text for doc in docs for c in service._chunk(doc, "x")]
    vectors, missing = cache.lookup(texts)
    assert missing == []
    fresh = embedder.encode(texts[:16])
    assert float(np.min(np.sum(vectors[:16] * fresh, axis=1))) > 0.995  # made in fp32; bf16 ones agree to ~1e-3


def test_a_wget_mirror_of_a_ministry_site_is_ingested_by_what_its_files_hold(service, tmp_path):
    """`wget --mirror` names: a page with a query, a .shtml, a name without a suffix or with a date
    for one; stylesheets, scripts, images and git's objects are not releases."""
    from rag.ingest.pipeline import expand_paths

    site = tmp_path / "mirror" / "mfa.norland.example"
    (site / "news").mkdir(parents=True)
    (site / "static").mkdir()

    def page(title: str, text: str) -> str:
        return (f"<!DOCTYPE html><html lang='en'><head><title>{title} | Norland MFA</title></head><body>"
                f"<nav>Home | News | Contacts</nav><article><h1>{title}</h1><p>{text}</p></article></body></html>")

    (site / "news.php?id=7").write_text(page(
        "Norland and Ostravia open a ferry line", "The ferry line between Velden and Brunnhaven opens in May."))
    (site / "news" / "release.shtml").write_text(page(
        "Minister Lund visits Brunnhaven", "Foreign Minister Lund discussed river shipping in Brunnhaven."))
    (site / "news" / "grain-accord").write_text(page(  # no suffix at all
        "Grain accord with Ostravia", "Norland and Ostravia signed a grain accord setting export quotas."))
    (site / "news" / "statement 21.03.2025").write_text(
        "Statement on the Velden conference\n\n21.03.2025\n\nNorland welcomes the conclusions of the Velden conference.\n")
    (site / "static" / "style.css").write_text("body { color: #333; }\n")
    (site / "static" / "app.js").write_text("document.title = 'Norland';\n")
    (site / "static" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    (site / "static" / "app.js.map").write_text('{"version": 3}')
    git = tmp_path / "mirror" / ".git" / "objects" / "ab"
    git.mkdir(parents=True)
    (git / "cdef0123").write_bytes(b"x\x01" + bytes(40))

    files, problems = expand_paths([tmp_path / "mirror"])
    assert sorted(p.name for p in files) == ["grain-accord", "news.php?id=7", "release.shtml", "statement 21.03.2025"]
    assert not problems
    report = service.ingest([tmp_path / "mirror"])
    assert report.ok, [f.errors for f in report.failed]
    assert {Path(f.path).name: f.status for f in report.files} == {name: "ingested" for name in
                                                                    ("grain-accord", "news.php?id=7", "release.shtml",
                                                                     "statement 21.03.2025")}
    docs = {d.title: d for d in service.store.documents()}
    assert set(docs) == {"Norland and Ostravia open a ferry line", "Minister Lund visits Brunnhaven",
                         "Grain accord with Ostravia", "Statement on the Velden conference"}
    assert docs["Statement on the Velden conference"].published.isoformat() == "2025-03-21"
    assert "Home | News" not in " ".join(stored_texts(service.store))
    named = service.ingest([site / "static" / "style.css"])  # named explicitly: tried, and refused with why
    assert [f.status for f in named.files] == ["failed"] and "plain text" in named.files[0].errors[0]


def test_a_web_archive_in_a_folder_is_ingested_page_by_page(service, tmp_path):
    from tests.test_readers import SITE, site_warc

    folder = tmp_path / "crawls"
    folder.mkdir()
    (folder / "2026-01-10-norland.warc.gz").write_bytes(site_warc(gzipped=True))
    report = service.ingest([folder])
    assert report.ok and [f.documents for f in report.files] == [3]
    urls = {d.url for d in service.store.documents()}
    assert urls == {f"{SITE}/en/news/velden-talks", f"{SITE}/2024/11/05/grain-accord", f"{SITE}/en/press/statement"}
    assert service.ingest([folder]).chunks_written == 0  # unchanged the second time
