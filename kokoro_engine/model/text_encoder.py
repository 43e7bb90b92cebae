"""Acoustic text encoder: phoneme embeddings → 1-D CNN stack → BiLSTM (StyleTTS2)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from kokoro_engine.model.rnn import run_lstm


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channel axis of a [B, C, T] tensor (parameters named gamma/beta upstream)."""

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.channels = channels
        self.eps = eps
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.layer_norm(x.transpose(1, -1), (self.channels,), self.gamma, self.beta, self.eps)
        return x.transpose(1, -1)


class TextEncoder(nn.Module):
    def __init__(self, channels: int, kernel_size: int, depth: int, n_symbols: int):
        super().__init__()
        self.embedding = nn.Embedding(n_symbols, channels)
        padding = (kernel_size - 1) // 2
        # Sequential indices (conv at 0, norm at 1) keep the published parameter names.
        self.cnn = nn.ModuleList(
            nn.Sequential(
                nn.Conv1d(channels, channels, kernel_size, padding=padding),
                ChannelLayerNorm(channels),
                nn.LeakyReLU(0.2),
            )
            for _ in range(depth)
        )
        self.lstm = nn.LSTM(channels, channels // 2, 1, batch_first=True, bidirectional=True)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """[B, T] token ids → [B, channels, T] features."""
        x = self.embedding(input_ids).transpose(1, 2)
        for block in self.cnn:
            x = block(x)
        x = run_lstm(self.lstm, x.transpose(1, 2))
        return x.transpose(1, 2)
