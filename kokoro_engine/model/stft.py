"""Short-time Fourier transform for the iSTFTNet head, in two interchangeable forms.

`TorchSTFT` uses torch.stft/istft (complex tensors). `ConvSTFT` computes the same transform with
real-valued Conv1d/ConvTranspose1d over precomputed DFT bases, for accelerators that cannot run
complex tensors (Ascend NPU) or where convolutions are simply faster. Both: periodic Hann window,
centered frames with reflect padding, onesided spectrum; `inverse` returns [B, 1, samples].
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class TorchSTFT(nn.Module):
    window: torch.Tensor  # buffer, registered in __init__

    def __init__(self, n_fft: int, hop_length: int, win_length: int):
        super().__init__()
        self.n_fft, self.hop_length, self.win_length = n_fft, hop_length, win_length
        self.register_buffer("window", torch.hann_window(win_length, periodic=True), persistent=False)

    def transform(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        spec = torch.stft(x, self.n_fft, self.hop_length, self.win_length, window=self.window,
                          return_complex=True)
        return spec.abs(), spec.angle()

    def inverse(self, magnitude: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
        spec = torch.polar(magnitude, phase)
        return torch.istft(spec, self.n_fft, self.hop_length, self.win_length, window=self.window)[:, None]


class ConvSTFT(nn.Module):
    # Buffers, registered in __init__.
    analysis: torch.Tensor
    synthesis: torch.Tensor
    window_sq: torch.Tensor

    def __init__(self, n_fft: int, hop_length: int, win_length: int):
        super().__init__()
        if win_length != n_fft:
            raise ValueError("ConvSTFT expects win_length == n_fft")
        self.n_fft, self.hop_length = n_fft, hop_length
        bins = n_fft // 2 + 1
        window = torch.hann_window(n_fft, periodic=True, dtype=torch.float64)
        n = torch.arange(n_fft, dtype=torch.float64)
        k = torch.arange(bins, dtype=torch.float64)
        angle = 2 * math.pi * k[:, None] * n[None, :] / n_fft  # [bins, n_fft]
        # Analysis: X_k = Σ_n w[n] x[n] e^{-2πikn/N} → real part with cos, imaginary with −sin.
        sin = torch.sin(angle)
        # DC and Nyquist are real by definition; float sin(πn) is ~1e-16, not 0, and that residue would
        # flip their phase between +π and −π (torch.stft returns exactly 0 there).
        sin[0] = 0
        if n_fft % 2 == 0:
            sin[-1] = 0
        analysis = torch.cat([torch.cos(angle), -sin]) * window
        # Synthesis (inverse real DFT of a onesided spectrum, then the synthesis window): interior
        # bins count twice because their mirrored negative-frequency twins are implied.
        scale = torch.full((bins,), 2.0, dtype=torch.float64)
        scale[0] = 1.0
        if n_fft % 2 == 0:
            scale[-1] = 1.0
        synth_real = torch.cos(angle) * scale[:, None] / n_fft * window
        synth_imag = -torch.sin(angle) * scale[:, None] / n_fft * window
        self.register_buffer("analysis", analysis[:, None, :].float(), persistent=False)
        self.register_buffer("synthesis", torch.cat([synth_real, synth_imag])[:, None, :].float(),
                             persistent=False)
        self.register_buffer("window_sq", (window**2)[None, None, :].float(), persistent=False)

    def transform(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pad = self.n_fft // 2
        x = F.pad(x[:, None, :], (pad, pad), mode="reflect")
        real, imag = F.conv1d(x, self.analysis, stride=self.hop_length).chunk(2, dim=1)
        # `+ 0.0` turns −0 into +0 so a real negative bin gets phase +π, as torch.angle gives.
        return torch.sqrt(real**2 + imag**2), torch.atan2(imag + 0.0, real)

    def inverse(self, magnitude: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
        coeffs = torch.cat([magnitude * torch.cos(phase), magnitude * torch.sin(phase)], dim=1)
        frames = coeffs.shape[-1]
        audio = F.conv_transpose1d(coeffs, self.synthesis, stride=self.hop_length)
        # Overlap-add of the squared window: dividing by it undoes the analysis/synthesis windowing.
        ones = torch.ones(1, 1, frames, device=coeffs.device, dtype=coeffs.dtype)
        envelope = F.conv_transpose1d(ones, self.window_sq, stride=self.hop_length)
        pad = self.n_fft // 2
        length = self.hop_length * (frames - 1)
        audio = audio[..., pad:pad + length] / envelope[..., pad:pad + length].clamp_min(1e-11)
        return audio


def make_stft(kind: str, n_fft: int, hop_length: int, win_length: int) -> TorchSTFT | ConvSTFT:
    """`kind` is "torch" (complex FFT) or "conv" (no complex tensors)."""
    if kind == "torch":
        return TorchSTFT(n_fft, hop_length, win_length)
    if kind == "conv":
        return ConvSTFT(n_fft, hop_length, win_length)
    raise ValueError(f"unknown STFT kind {kind!r} (expected 'torch' or 'conv')")
