import numpy as np
import torch

from rag.embeddings import Embedder, resolve_model_path
from rag.settings import EmbeddingSettings

TEXTS = [
    "The Kazakh side proposed the establishment of an Intergovernmental Commission on Economic Cooperation.",
    "Secretary Blinken met with the Foreign Minister of Uzbekistan. " * 40,  # beyond the 256-piece window
    "Sanctions",
]


def test_vectors_are_unit_length_and_semantic(embedder):
    vectors = embedder.encode(TEXTS + ["Kazakhstan suggested creating an intergovernmental economic commission."])
    assert vectors.dtype == np.float32 and vectors.shape == (4, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sims = vectors[3] @ vectors[:3].T
    assert sims.argmax() == 0 and sims[0] > 0.6


def test_token_counts_match_the_model_tokenizer_past_the_window(embedder):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(resolve_model_path("bundled:all-MiniLM-L6-v2")))
    for text in TEXTS:
        expected = len(tokenizer(text, add_special_tokens=False)["input_ids"])
        assert embedder.count_tokens(text) == expected
    assert embedder.count_tokens(TEXTS[1]) > 256  # not truncated
    assert embedder.count_tokens_batch(TEXTS) == [embedder.count_tokens(t) for t in TEXTS]


def test_the_bundled_minilm_gives_sentence_transformers_vectors_without_importing_it():
    """rag.bert runs MiniLM in plain torch (a cold `rag ask` skips ~4 s of imports); the vectors
    must be sentence-transformers' own: equal in fp32, within bf16's rounding in bf16."""
    import subprocess
    import sys

    from rag.embeddings import MiniLMEmbedder

    texts = TEXTS + ["Café crème à Zürich — ÉTATS-UNIS", "a"]
    for dtype, tolerance in (("float32", 1e-5), ("bfloat16", 5e-3)):
        ours = MiniLMEmbedder(EmbeddingSettings(dtype=dtype)).encode(texts)
        theirs = Embedder(EmbeddingSettings(dtype=dtype)).encode(texts)  # sentence-transformers
        assert np.abs(ours - theirs).max() < tolerance, dtype
    probe = ("import sys; from rag.embeddings import get_embedder; from rag.settings import Settings; "
             "get_embedder(Settings()).encode_queries(['x']); "
             "print(sorted(m for m in ('sentence_transformers', 'transformers', 'sklearn') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_bf16_stays_close_to_fp32():
    from rag.embeddings import MiniLMEmbedder

    fp32 = MiniLMEmbedder(EmbeddingSettings(dtype="float32"))
    bf16 = MiniLMEmbedder(EmbeddingSettings(dtype="bfloat16"))
    cosine = (fp32.encode(TEXTS) * bf16.encode(TEXTS)).sum(axis=1)
    assert cosine.min() >= 0.99
    assert next(bf16.model.parameters()).dtype == torch.bfloat16


def test_auto_dtype_uses_bf16_only_where_the_cpu_computes_it(embedder):
    from rag.embeddings import cpu_has_native_bf16

    expected = torch.bfloat16 if cpu_has_native_bf16() else torch.float32
    assert next(embedder.model.parameters()).dtype == expected


def test_unknown_models_are_errors_not_downloads(tmp_path):
    import pytest

    with pytest.raises(FileNotFoundError, match="never downloaded"):
        resolve_model_path("sentence-transformers/all-mpnet-base-v2")
    with pytest.raises(ValueError, match="unknown bundled"):
        resolve_model_path("bundled:e5-large")
    assert (resolve_model_path("bundled:all-MiniLM-L6-v2") / "config.json").exists()
