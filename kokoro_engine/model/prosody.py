"""Prosody predictor: phoneme durations, then pitch (F0) and energy (N) curves at frame rate."""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from kokoro_engine.model.adain import AdainResBlk1d, AdaLayerNorm
from kokoro_engine.model.rnn import run_lstm


class DurationEncoder(nn.Module):
    """BiLSTMs over [PL-BERT features ; style], each followed by a style-adaptive layer norm."""

    def __init__(self, sty_dim: int, d_model: int, nlayers: int):
        super().__init__()
        # Alternating LSTM / AdaLayerNorm in one list, as the published parameter names expect.
        self.lstms = nn.ModuleList()
        for _ in range(nlayers):
            self.lstms.append(nn.LSTM(d_model + sty_dim, d_model // 2, 1, batch_first=True, bidirectional=True))
            self.lstms.append(AdaLayerNorm(sty_dim, d_model))

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """x [B, T, d_model], style [B, sty_dim] → [B, T, d_model + sty_dim]."""
        s = style[:, None, :].expand(-1, x.shape[1], -1)
        x = torch.cat([x, s], dim=-1)
        for block in self.lstms:
            if isinstance(block, AdaLayerNorm):
                x = torch.cat([block(x, style), s], dim=-1)
            else:  # the list alternates nn.LSTM and AdaLayerNorm (see __init__)
                x = run_lstm(cast(nn.LSTM, block), x)
        return x


class LinearNorm(nn.Module):
    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.linear_layer = nn.Linear(in_dim, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_layer(x)


class ProsodyPredictor(nn.Module):
    def __init__(self, style_dim: int, d_hid: int, nlayers: int, max_dur: int = 50):
        super().__init__()
        self.text_encoder = DurationEncoder(style_dim, d_hid, nlayers)
        self.lstm = nn.LSTM(d_hid + style_dim, d_hid // 2, 1, batch_first=True, bidirectional=True)
        self.duration_proj = LinearNorm(d_hid, max_dur)
        self.shared = nn.LSTM(d_hid + style_dim, d_hid // 2, 1, batch_first=True, bidirectional=True)
        self.F0 = self._curve_branch(d_hid, style_dim)
        self.N = self._curve_branch(d_hid, style_dim)
        self.F0_proj = nn.Conv1d(d_hid // 2, 1, 1, 1, 0)
        self.N_proj = nn.Conv1d(d_hid // 2, 1, 1, 1, 0)

    @staticmethod
    def _curve_branch(d_hid: int, style_dim: int) -> nn.ModuleList:
        # The middle block doubles the frame rate: F0/N live at twice the decoder's input rate.
        return nn.ModuleList([
            AdainResBlk1d(d_hid, d_hid, style_dim),
            AdainResBlk1d(d_hid, d_hid // 2, style_dim, upsample=True),
            AdainResBlk1d(d_hid // 2, d_hid // 2, style_dim),
        ])

    def durations(self, d: torch.Tensor, speed: float) -> torch.Tensor:
        """Encoded phonemes [1, T, C] → integer frame count per phoneme [T] (at least 1)."""
        x = run_lstm(self.lstm, d)
        # The projection scores `max_dur` bins; the expected duration is the sum of their sigmoids.
        duration = torch.sigmoid(self.duration_proj(x)).sum(dim=-1) / speed
        return torch.round(duration).clamp(min=1).long()[0]

    def F0Ntrain(self, x: torch.Tensor, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Frame-level features [B, C, F] → F0 and N curves [B, 2F]."""
        x = run_lstm(self.shared, x.transpose(1, 2))
        x = x.transpose(1, 2)
        f0, n = x, x
        for block in self.F0:
            f0 = block(f0, s)
        for block in self.N:
            n = block(n, s)
        return self.F0_proj(f0)[:, 0], self.N_proj(n)[:, 0]
