"""Harmonic-plus-noise excitation (NSF): a sine source at F0 and its overtones, driven per sample.

Random draws (initial phases, additive noise) come from an optional `torch.Generator` so that a
request can be reproduced; their order and shapes follow the reference so both agree under one seed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SineGen(nn.Module):
    def __init__(self, sampling_rate: int, upsample_scale: int, harmonic_num: int = 8,
                 sine_amp: float = 0.1, noise_std: float = 0.003, voiced_threshold: float = 10):
        super().__init__()
        self.sampling_rate = sampling_rate
        self.upsample_scale = upsample_scale
        self.dim = harmonic_num + 1
        self.sine_amp = sine_amp
        self.noise_std = noise_std
        self.voiced_threshold = voiced_threshold

    def forward(self, f0: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """f0 [B, L, 1] at audio rate → noisy harmonic sines [B, L, harmonic_num + 1]."""
        harmonics = torch.arange(1, self.dim + 1, device=f0.device, dtype=f0.dtype)
        # Phase increment per sample in cycles; the integer part does not change the phase.
        rad = (f0 * harmonics / self.sampling_rate) % 1
        rand_ini = torch.rand(f0.shape[0], self.dim, device=f0.device, dtype=f0.dtype, generator=generator)
        rand_ini[:, 0] = 0  # the fundamental starts at phase zero, overtones at random phases
        rad[:, 0, :] = rad[:, 0, :] + rand_ini
        # Integrate the phase at frame rate and interpolate back up: cheaper than a per-sample cumsum
        # and smooth across the nearest-neighbour-upsampled F0 steps.
        rad = F.interpolate(rad.transpose(1, 2), scale_factor=1 / self.upsample_scale, mode="linear")
        phase = torch.cumsum(rad, dim=2) * 2 * torch.pi
        phase = F.interpolate(phase * self.upsample_scale, scale_factor=self.upsample_scale, mode="linear")
        sines = torch.sin(phase.transpose(1, 2)) * self.sine_amp
        uv = (f0 > self.voiced_threshold).to(f0.dtype)
        # Unvoiced samples get noise about as loud as the sine would be; voiced ones a little.
        noise_amp = uv * self.noise_std + (1 - uv) * self.sine_amp / 3
        # The reference's randn_like inherits the transposed layout of its sines, and PyTorch samples a
        # non-contiguous tensor element by element (not with the vectorized kernel): drawing into the
        # same layout makes one seed give the same noise here and there.
        b, length, dim = sines.shape
        gauss = torch.empty(b, dim, length, device=f0.device, dtype=f0.dtype).transpose(1, 2)
        noise = noise_amp * gauss.normal_(generator=generator)
        return sines * uv + noise


class SourceModuleHnNSF(nn.Module):
    """Merges the harmonics into one excitation signal with a learned linear mix and tanh."""

    def __init__(self, sampling_rate: int, upsample_scale: int, harmonic_num: int = 8,
                 voiced_threshold: float = 10):
        super().__init__()
        self.l_sin_gen = SineGen(sampling_rate, upsample_scale, harmonic_num,
                                 voiced_threshold=voiced_threshold)
        self.l_linear = nn.Linear(harmonic_num + 1, 1)

    def forward(self, f0: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.tanh(self.l_linear(self.l_sin_gen(f0, generator)))
