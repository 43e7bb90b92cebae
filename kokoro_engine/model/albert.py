"""PL-BERT: the phoneme-level ALBERT that gives the duration predictor its context.

A compact ALBERT written here rather than `transformers.AlbertModel`: importing transformers costs
seconds of start-up and hundreds of MB of install for one small encoder. Parameter names follow
transformers' ALBERT so the published weights load unchanged. Inference only, batch of one, no
padding: so no attention mask is needed.
"""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn


class AlbertEmbeddings(nn.Module):
    def __init__(self, vocab_size: int, embedding_size: int, max_positions: int, type_vocab_size: int = 2):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab_size, embedding_size)
        self.position_embeddings = nn.Embedding(max_positions, embedding_size)
        self.token_type_embeddings = nn.Embedding(type_vocab_size, embedding_size)
        self.LayerNorm = nn.LayerNorm(embedding_size, eps=1e-12)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        # Every token has token type 0 (a single segment).
        x = (
            self.word_embeddings(input_ids)
            + self.position_embeddings(positions)[None]
            + self.token_type_embeddings.weight[0]
        )
        return self.LayerNorm(x)


class AlbertAttention(nn.Module):
    def __init__(self, hidden: int, heads: int):
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.dense = nn.Linear(hidden, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=1e-12)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape

        def split(y: torch.Tensor) -> torch.Tensor:
            return y.view(b, t, self.heads, c // self.heads).transpose(1, 2)

        ctx = F.scaled_dot_product_attention(split(self.query(x)), split(self.key(x)), split(self.value(x)))
        ctx = ctx.transpose(1, 2).reshape(b, t, c)
        return self.LayerNorm(x + self.dense(ctx))


class AlbertLayer(nn.Module):
    def __init__(self, hidden: int, heads: int, intermediate: int):
        super().__init__()
        self.attention = AlbertAttention(hidden, heads)
        self.ffn = nn.Linear(hidden, intermediate)
        self.ffn_output = nn.Linear(intermediate, hidden)
        self.full_layer_layer_norm = nn.LayerNorm(hidden, eps=1e-12)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.attention(x)
        # ALBERT's "gelu_new" is the tanh approximation of GELU.
        h = self.ffn_output(F.gelu(self.ffn(x), approximate="tanh"))
        return self.full_layer_layer_norm(h + x)


class AlbertGroup(nn.Module):
    def __init__(self, layer: AlbertLayer):
        super().__init__()
        self.albert_layers = nn.ModuleList([layer])


class AlbertEncoder(nn.Module):
    def __init__(self, embedding_size: int, hidden: int, heads: int, intermediate: int, num_layers: int):
        super().__init__()
        self.embedding_hidden_mapping_in = nn.Linear(embedding_size, hidden)
        # ALBERT shares one transformer layer across all depths (cross-layer parameter sharing).
        self.albert_layer_groups = nn.ModuleList([AlbertGroup(AlbertLayer(hidden, heads, intermediate))])
        self.num_layers = num_layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.embedding_hidden_mapping_in(x)
        # ModuleList types its items as Module; these lists hold one AlbertGroup / AlbertLayer each.
        group = cast(AlbertGroup, self.albert_layer_groups[0])
        layer = cast(AlbertLayer, group.albert_layers[0])
        for _ in range(self.num_layers):
            x = layer(x)
        return x


class PLBert(nn.Module):
    """ALBERT encoder returning the last hidden state [B, T, hidden]."""

    def __init__(self, vocab_size: int, plbert: dict):
        super().__init__()
        hidden = plbert["hidden_size"]
        embedding_size = plbert.get("embedding_size", 128)
        self.embeddings = AlbertEmbeddings(vocab_size, embedding_size, plbert["max_position_embeddings"])
        self.encoder = AlbertEncoder(
            embedding_size, hidden, plbert["num_attention_heads"], plbert["intermediate_size"],
            plbert["num_hidden_layers"],
        )
        self.hidden_size = hidden

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.encoder(self.embeddings(input_ids))
