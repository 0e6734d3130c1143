"""The BEIR bench on a tiny synthetic dataset in BEIR layout, with the real embedder and bm25s."""

import json

import pytest

from rag.evaluation import beir as B
from rag.evaluation.beir_data import cached_vectors, load_beir
from rag.settings import Settings

DOCS = {
    "d1": ("Aspirin and heart attacks", "Daily low-dose aspirin lowers the risk of a first heart attack."),
    "d2": ("Vitamin D and bones", "Vitamin D supplements improve bone density in older women."),
    "d3": ("Sleep and memory", "Deep sleep consolidates declarative memory in adults."),
    "d4": ("Coffee consumption", "Coffee drinking is associated with lower rates of liver disease."),
    "d5": ("Exercise and mood", "Aerobic exercise reduces symptoms of depression."),
    "d6": ("Statins", "Statins reduce LDL cholesterol and cardiovascular events."),
}
QUERIES = {
    "t1": "aspirin prevents myocardial infarction",
    "t2": "sleep helps memory",
    "r1": "vitamin D strengthens bones",
    "r2": "physical activity improves depression",
    "r3": "coffee protects the liver",
}


@pytest.fixture
def dataset(tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "tiny"
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text("\n".join(json.dumps({"_id": k, "title": t, "text": x}) for k, (t, x) in DOCS.items()))
    (root / "queries.jsonl").write_text("\n".join(json.dumps({"_id": k, "text": v}) for k, v in QUERIES.items()))
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nt1\td1\t1\nt2\td3\t1\n")
    (root / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\nr1\td2\t1\nr2\td5\t1\nr3\td4\t1\n")
    return root


def test_load_beir_reads_splits_and_fingerprints(dataset):
    ds = load_beir(dataset)
    assert ds.doc_ids == list(DOCS) and set(ds.qrels) == {"test", "train"}
    assert list(ds.split_queries("test")) == ["t1", "t2"]
    assert len(ds.fingerprint) == 16 and load_beir(dataset).fingerprint == ds.fingerprint


def test_load_beir_errors_name_file_and_line(dataset):
    (dataset / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nt1\td1\tyes\n")
    with pytest.raises(ValueError, match=r"test.tsv:2: score 'yes' is not an integer"):
        load_beir(dataset)
    with pytest.raises(FileNotFoundError, match="corpus.jsonl is missing"):
        load_beir(dataset / "qrels")


def test_evaluate_maps_chunks_to_documents_and_matches_hand_values():
    qrels = {"q": {"d1": 1}}
    ranked = {"q": [("d2#0", 0.9), ("d1#1", 0.8), ("d1#0", 0.7), ("d3#0", 0.1)]}
    assert B.to_documents(ranked["q"]) == ["d2", "d1", "d3"]
    scores = B.evaluate(ranked, qrels, ["q"])
    assert scores["nDCG@10"] == pytest.approx(1 / 1.5849625, abs=1e-6)  # relevant at rank 2: 1/log2(3)
    assert scores["R@100"] == 1.0


def test_fusion_uses_the_products_functions():
    dense = {"q": [("a", 0.9), ("b", 0.5), ("c", 0.1)]}
    lexical = {"q": [("c", 10.0), ("b", 5.0)]}
    minmax = B.fuse_all(dense, lexical, B.FusionParams("minmax", 0.5, candidates=3), ["q"])["q"]
    # a: 0.5*1 + 0 ; b: 0.5*0.5 + 0.5*0 ; c: 0 + 0.5*1
    assert minmax == [("a", 0.5), ("c", 0.5), ("b", 0.25)]
    rrf = dict(B.fuse_all(dense, lexical, B.FusionParams("rrf", rrf_k=1, candidates=3), ["q"])["q"])
    assert rrf["b"] == pytest.approx(1 / 3 + 1 / 3) and rrf["a"] == pytest.approx(1 / 2)


def test_best_unit_per_document_keeps_each_documents_best_chunk():
    ranked = {"q": [("d1#2", 0.9), ("d2#0", 0.8), ("d1#0", 0.7), ("d3#1", 0.5), ("d2#1", 0.4)]}
    assert B.best_unit_per_document(ranked) == {"q": [("d1", 0.9), ("d2", 0.8), ("d3", 0.5)]}


def test_cached_vectors_encode_once(tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path))
    import numpy as np

    calls = []

    def encode(texts):
        calls.append(len(texts))
        return np.ones((len(texts), 3), dtype=np.float32)

    cached_vectors("k", ["a", "b"], encode)
    cached_vectors("k", ["a", "b"], encode)
    assert calls == [2]


def test_run_beir_end_to_end_tunes_on_train_only(dataset, tmp_path):
    settings = Settings(embedding={"dtype": "float32"})
    result = B.run_beir(dataset, settings=settings, out_dir=tmp_path / "reports", units=("doc", "chunk", "doc+chunk"))
    units = [row["unit"] for row in result["rows"]]
    assert units == sorted(units, key=["doc", "chunk", "doc+chunk"].index)
    assert all(4 <= units.count(u) <= 5 for u in ("doc", "chunk", "doc+chunk"))
    systems = [row["system"] for row in result["rows"]]
    assert systems[0].startswith("lexical") and systems[1].startswith("dense")
    assert any(s.startswith("hybrid, tuned on train") for s in systems)
    assert result["test_queries"] == 2 and result["train_queries"] == 3
    for row in result["rows"]:
        assert 0.0 <= row["nDCG@10"] <= 1.0 and row["R@100"] == 1.0  # 6 documents: everything is in the top 100
    dense = next(r for r in result["rows"] if r["system"].startswith("dense"))
    assert dense["nDCG@10"] == 1.0  # the two test claims are paraphrases of their abstracts
    report = (tmp_path / "reports" / "beir-tiny" / "report.md").read_text()
    assert "BM25 flat (Anserini) | 0.6789 | 0.9253 |" in report
    assert result["best"]["unit"] in ("doc", "chunk", "doc+chunk")
    assert result["best"]["params"]["fusion"] in ("minmax", "zscore", "rrf")
    assert "Winner on train" in report
