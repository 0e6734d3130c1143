"""How fast can this CPU run the embedder at all? Back ends side by side on the same chunks.

    python -m bench.encoder [--chunks 384] [--rounds 2] [--backends torch-fp32 onnx-fp32 onnx-int8 torch-int8 torch-bf16]

Ingest is ~99% encoder (bench.ingest), so this bounds what any ingest pipeline can reach here.
Texts are real demo-corpus chunks, cut by the product's chunker (rag.ingest), encoded in batches
of 64 sorted by length as ingest does. For each back end: chunks/s (best of --rounds passes,
back ends alternating), × the first back end (torch fp32, measured in the same run), cosine to the fp32 vectors (min and mean), and the arithmetic rate the encoder
sustains (GFLOP/s, from the model's shapes and each batch's padded length) against the CPU's
fp32 FMA peak, so "is the encoder near what the hardware allows?" has a number.

The ONNX back ends need the `bench` extra (onnx exports the model; onnxruntime is already a
chromadb dependency). They export the bundled weights to a temporary folder: nothing is
downloaded.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from pathlib import Path

from bench.common import JSONL, KAZAKH, machine, table, write_result

BATCH = 64


def demo_chunks(n: int, embedder) -> list[str]:
    """The first n chunks of the demo corpus as the ingest pipeline cuts them (Kazakh release first)."""
    from rag.ingest.pipeline import IngestService
    from rag.ingest.readers import read_file
    from rag.settings import Settings

    chunker = IngestService(Settings(), store=None, embedder=lambda languages=(): embedder)
    texts: list[str] = []
    for path in (KAZAKH, JSONL):
        for doc in read_file(path).documents:
            texts += [c.embed_text for c in chunker._chunk(doc, "x")]
            if len(texts) >= n:
                return texts[:n]
    return texts


def flops_per_batch(lengths: list[int], layers: int, hidden: int, ffn: int) -> float:
    """Multiply-adds x 2 of one padded batch: QKV/output/FFN projections plus attention scores."""
    padded = max(lengths)
    tokens = padded * len(lengths)
    dense = 2 * tokens * (4 * hidden * hidden + 2 * hidden * ffn)
    attention = 2 * 2 * len(lengths) * padded * padded * hidden
    return layers * (dense + attention)


def fp32_peak_gflops() -> tuple[float, str]:
    """2 AVX2 FMA units x 8 floats x 2 flops per cycle per core (AVX512 doubles the width)."""
    mhz = 0.0
    try:
        info = Path("/proc/cpuinfo").read_text()
        mhz = max(float(m) for m in re.findall(r"cpu MHz\s*:\s*([\d.]+)", info))
        width = 16 if "avx512f" in info else 8
    except (OSError, ValueError):
        width = 8
    cores = os.cpu_count() or 1
    peak = cores * 2 * width * 2 * mhz / 1000
    return peak, f"{cores} cores x {mhz:.0f} MHz x 2 FMA x {width} fp32 x 2"


class TorchBackend:
    def __init__(self, path: str, dtype: str, int8: bool = False):
        import torch
        from sentence_transformers import SentenceTransformer

        torch_dtype = torch.bfloat16 if dtype == "bf16" else torch.float32
        self.model = SentenceTransformer(path, device="cpu", model_kwargs={"torch_dtype": torch_dtype},
                                         local_files_only=True)
        self.model.max_seq_length = 256
        if int8:
            torch.ao.quantization.quantize_dynamic(self.model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)

    def encode(self, texts: list[str]):
        import torch

        with torch.inference_mode():
            vectors = self.model.encode(texts, batch_size=BATCH, normalize_embeddings=True, convert_to_tensor=True,
                                        show_progress_bar=False)
        return torch.nn.functional.normalize(vectors.float(), dim=-1).numpy()


class OnnxBackend:
    """The same network exported to ONNX (mean pooling and L2 norm inside), run by ONNX Runtime."""

    def __init__(self, path: str, int8: bool, work: Path):
        import numpy as np
        import onnxruntime as ort
        import torch
        from sentence_transformers import SentenceTransformer

        self.np = np
        st = SentenceTransformer(path, device="cpu", local_files_only=True)
        self.tokenizer = st.tokenizer
        fp32_file = work / "model.onnx"
        if not fp32_file.exists():
            _export(st[0].auto_model.eval(), self.tokenizer, fp32_file, torch)
        model_file = fp32_file
        if int8:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            model_file = work / "model-int8.onnx"
            quantize_dynamic(str(fp32_file), str(model_file), weight_type=QuantType.QUInt8)
        options = ort.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])

    def encode(self, texts: list[str]):
        np = self.np
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for start in range(0, len(texts), BATCH):
            idx = order[start : start + BATCH]
            enc = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True, max_length=256,
                                 return_tensors="np")
            feeds = {k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
            out[idx] = self.session.run(None, feeds)[0]
        return out


def _export(bert, tokenizer, target: Path, torch) -> None:
    class Pooled(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.inner(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=-1)

    sample = tokenizer(["a short one", "and a somewhat longer sample sentence"], padding=True, return_tensors="pt")
    dynamic = {name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask", "token_type_ids")}
    dynamic["embedding"] = {0: "batch"}
    torch.onnx.export(Pooled(bert), (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
                      str(target), input_names=["input_ids", "attention_mask", "token_type_ids"],
                      output_names=["embedding"], dynamic_axes=dynamic, opset_version=17, dynamo=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=384)
    parser.add_argument("--rounds", type=int, default=2, help="timed passes per back end; the best counts")
    parser.add_argument("--backends", nargs="*",
                        default=["torch-fp32", "onnx-fp32", "onnx-int8", "torch-int8", "torch-bf16"])
    args = parser.parse_args()

    import numpy as np

    from rag.embeddings import get_embedder, resolve_model_path
    from rag.settings import EmbeddingSettings

    path = str(resolve_model_path("bundled:all-MiniLM-L6-v2"))
    counter = get_embedder(EmbeddingSettings(dtype="float32"))
    texts = demo_chunks(args.chunks, counter)
    lengths = [min(256, n + 2) for n in counter.count_tokens_batch(texts)]
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # the batches the back ends form
    work_flops = sum(flops_per_batch([lengths[i] for i in order[s : s + BATCH]], 6, 384, 1536)
                     for s in range(0, len(order), BATCH))
    peak, peak_how = fp32_peak_gflops()
    print(f"{len(texts)} chunks, {sum(lengths):,} word pieces (mean {sum(lengths) / len(lengths):.0f}); "
          f"{work_flops / 1e9:.0f} GFLOP of encoder work; fp32 peak {peak:.0f} GFLOP/s ({peak_how})")

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        backends = {}
        for name in args.backends:
            family, precision = name.split("-")
            if family == "torch":
                backends[name] = TorchBackend(path, precision, int8=precision == "int8")
            else:
                backends[name] = OnnxBackend(path, int8=precision == "int8", work=Path(tmp))
            backends[name].encode(texts[:8])  # warm-up
        # Rounds alternate the back ends and each keeps its best time, so a burst of load from
        # elsewhere on a shared machine penalises no back end more than another.
        best: dict[str, float] = {}
        vectors: dict[str, np.ndarray] = {}
        for round_no in range(args.rounds):
            for name, backend in backends.items():
                started = time.perf_counter()
                vectors[name] = backend.encode(texts)
                seconds = time.perf_counter() - started
                best[name] = min(best.get(name, seconds), seconds)
                print(f"round {round_no + 1}: {name} {len(texts) / seconds:.1f} chunks/s", flush=True)
        reference = vectors[args.backends[0]]
        base_rate = len(texts) / best[args.backends[0]]
        for name in args.backends:
            rate = len(texts) / best[name]
            cosine = np.sum(vectors[name] * reference, axis=1)
            rows.append({
                "backend": name,
                "chunks/s": round(rate, 1),
                f"x {args.backends[0]}": round(rate / base_rate, 2),
                "cosine min": round(float(cosine.min()), 4),
                "cosine mean": round(float(cosine.mean()), 4),
                "GFLOP/s": round(work_flops * rate / len(texts) / 1e9, 1),
                "% of fp32 peak": round(100 * work_flops * rate / len(texts) / 1e9 / peak, 1) if peak else None,
            })
    print(table(list(rows[0]), [list(r.values()) for r in rows]))
    write_result("encoder", {"machine": machine(), "rounds": args.rounds, "chunks": len(texts), "word_pieces": sum(lengths),
                             "gflop": round(work_flops / 1e9, 1), "peak_gflops": round(peak, 1), "rows": rows})


if __name__ == "__main__":
    main()
