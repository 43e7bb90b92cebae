"""Decoder: aligned text features + F0 + energy → style-conditioned features → iSTFTNet generator."""

from __future__ import annotations

import torch
from torch import nn

from kokoro_engine.model.adain import AdainResBlk1d
from kokoro_engine.model.generator import Generator


class Decoder(nn.Module):
    def __init__(self, dim_in: int, style_dim: int, istftnet: dict, stft: str = "torch"):
        super().__init__()
        self.encode = AdainResBlk1d(dim_in + 2, 1024, style_dim)
        # Every decode block sees the encoder output again with the residual ASR features, F0 and N,
        # until the last one upsamples to the F0 rate.
        self.decode = nn.ModuleList([
            AdainResBlk1d(1024 + 2 + 64, 1024, style_dim),
            AdainResBlk1d(1024 + 2 + 64, 1024, style_dim),
            AdainResBlk1d(1024 + 2 + 64, 1024, style_dim),
            AdainResBlk1d(1024 + 2 + 64, 512, style_dim, upsample=True),
        ])
        # F0 and N come at twice the text-frame rate; a stride-2 conv brings them down.
        self.F0_conv = nn.Conv1d(1, 1, kernel_size=3, stride=2, padding=1)
        self.N_conv = nn.Conv1d(1, 1, kernel_size=3, stride=2, padding=1)
        self.asr_res = nn.Sequential(nn.Conv1d(dim_in, 64, kernel_size=1))
        self.generator = Generator(style_dim, stft=stft, **istftnet)

    def forward(self, asr: torch.Tensor, f0_curve: torch.Tensor, n_curve: torch.Tensor, s: torch.Tensor,
                generator: torch.Generator | None = None) -> torch.Tensor:
        f0 = self.F0_conv(f0_curve[:, None])
        n = self.N_conv(n_curve[:, None])
        x = self.encode(torch.cat([asr, f0, n], dim=1), s)
        asr_res = self.asr_res(asr)
        for block in self.decode:
            x = block(torch.cat([x, asr_res, f0, n], dim=1), s)
        return self.generator(x, s, f0_curve, generator)
