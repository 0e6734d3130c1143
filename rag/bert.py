"""A BERT encoder in plain torch, for the two bundled embedding models (MiniLM and e5-small).

Both are BERT encoders read with mean pooling. transformers' BertModel computes the same thing,
but importing it costs ~1.9 s and sentence-transformers ~4.2 s on 2 cores (it pulls in
scikit-learn and the whole modelling stack): most of a cold `rag ask`. This module imports
torch only. It takes weights under transformers' names (`embeddings.word_embeddings.weight`,
`encoder.layer.0.attention.self.query.weight`, ...) so a checkpoint loads unchanged, and
tests/test_embeddings.py checks it gives sentence-transformers' vectors in fp32 and bf16.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class _Layer(nn.Module):
    def __init__(self, hidden: int, heads: int, ff: int, eps: float):
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = (nn.Linear(hidden, hidden) for _ in range(3))
        self.attention_out = nn.Linear(hidden, hidden)
        self.attention_norm = nn.LayerNorm(hidden, eps=eps)
        self.intermediate = nn.Linear(hidden, ff)
        self.out = nn.Linear(ff, hidden)
        self.out_norm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        batch, length, hidden = x.shape

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, length, self.heads, hidden // self.heads).transpose(1, 2)

        context = F.scaled_dot_product_attention(heads(self.query(x)), heads(self.key(x)), heads(self.value(x)),
                                                 attn_mask=keep)
        context = context.transpose(1, 2).reshape(batch, length, hidden)
        x = self.attention_norm(self.attention_out(context) + x)
        return self.out_norm(self.out(F.gelu(self.intermediate(x))) + x)


class BertEncoder(nn.Module):
    """Token ids and attention mask -> last hidden states, as transformers' BertModel (no pooler)."""

    def __init__(self, vocab: int, hidden: int, layers: int, heads: int, ff: int, max_positions: int,
                 type_vocab: int = 2, eps: float = 1e-12):
        super().__init__()
        # Built on the CPU, not on the meta device (that imports torch._dynamo: ~1.3 s of a cold
        # start); the embedding tables, most of the weights, skip their random init.
        self.word = nn.Embedding(vocab, hidden, _weight=torch.empty(vocab, hidden))
        self.position = nn.Embedding(max_positions, hidden, _weight=torch.empty(max_positions, hidden))
        self.token_type = nn.Embedding(type_vocab, hidden, _weight=torch.empty(type_vocab, hidden))
        self.norm = nn.LayerNorm(hidden, eps=eps)
        self.layers = nn.ModuleList(_Layer(hidden, heads, ff, eps) for _ in range(layers))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.word(input_ids) + self.token_type(torch.zeros_like(input_ids)) + self.position(positions)[None]
        x = self.norm(x)
        keep = attention_mask[:, None, None, :].bool()  # padded keys are never attended to
        for layer in self.layers:
            x = layer(x, keep)
        return x

    def load_transformers_state(self, state: dict[str, torch.Tensor]) -> None:
        """Weights named as transformers' BertModel names them (a `bert.` prefix is dropped)."""
        state = {k.removeprefix("bert."): v for k, v in state.items()}
        ours = {
            "word.weight": "embeddings.word_embeddings.weight",
            "position.weight": "embeddings.position_embeddings.weight",
            "token_type.weight": "embeddings.token_type_embeddings.weight",
            "norm.weight": "embeddings.LayerNorm.weight",
            "norm.bias": "embeddings.LayerNorm.bias",
        }
        parts = {"query": "attention.self.query", "key": "attention.self.key", "value": "attention.self.value",
                 "attention_out": "attention.output.dense", "attention_norm": "attention.output.LayerNorm",
                 "intermediate": "intermediate.dense", "out": "output.dense", "out_norm": "output.LayerNorm"}
        for number in range(len(self.layers)):
            for short, long in parts.items():
                for kind in ("weight", "bias"):
                    ours[f"layers.{number}.{short}.{kind}"] = f"encoder.layer.{number}.{long}.{kind}"
        self.load_state_dict({name: state[theirs] for name, theirs in ours.items()}, strict=True, assign=True)


def mean_pooled(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of the unpadded tokens' states, L2-normalised in fp32 (what both models are read with)."""
    hidden = hidden.float()
    pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
    return F.normalize(pooled, dim=-1)
