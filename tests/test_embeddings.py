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
    for text in TEXTS:
        expected = len(embedder.tokenizer(text, add_special_tokens=False)["input_ids"])
        assert embedder.count_tokens(text) == expected
    assert embedder.count_tokens(TEXTS[1]) > 256  # not truncated


def test_bf16_stays_close_to_fp32():
    fp32 = Embedder(EmbeddingSettings(dtype="float32"))
    bf16 = Embedder(EmbeddingSettings(dtype="bfloat16"))
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
