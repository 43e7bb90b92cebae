"""FFT (overlap-save) convolution for the fp32 generator's wide residual-block convolutions.

A 128-channel convolution with kernel 11 costs 128 · 128 · 11 multiply-adds per frame done directly.
By overlap-save, each block of `n_fft` input frames is transformed once per input channel, multiplied
by the kernel's spectrum (one 128 × 128 complex matrix per frequency bin, for all blocks at once), and
transformed back; the last `n_fft − span` outputs of each block are the convolution's. That is about
4 · 128 · 128 · (n_fft / 2 + 1) / (n_fft − span) multiply-adds per frame, independent of the kernel
size: fewer than direct for long kernels, more for short ones. Whether it is faster depends on the
CPU's FFT and matrix kernels against its direct convolution, so `use_fft_convs` times both for each
shape once (`probe`, interleaved) and swaps only where the FFT wins. Exact to fp32 rounding: the
kernel's spectrum is computed in fp64, and the error is that of an fp32 FFT (about 5e-7 of the
output's range).
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable
from typing import cast

import torch
from torch import nn

# FFT sizes tried per shape: a block must be well over the receptive field (span ≤ 50 frames here).
FFT_SIZES = (256, 512, 1024)
# Frames a probe convolves: 2.5 s at the last stage's 4,800 frames/s, a one-line reply.
PROBE_FRAMES = 12_000
# The FFT is used only where it takes at most this share of the direct convolution's time.
WIN_RATIO = 0.9


def conv_params(conv: nn.Module) -> tuple[torch.Tensor, torch.Tensor | None, int, int]:
    """(weight [O, I, k], bias, dilation, padding) of an `nn.Conv1d` or a generator `ChannelsLastConv1d`."""
    weight = cast("torch.Tensor", conv.weight).detach()
    if weight.dim() == 4:  # ChannelsLastConv1d: [O, I, 1, k]
        return weight[:, :, 0, :], conv.bias, conv.dilation[1], conv.padding[1]  # type: ignore[index,return-value]
    return weight, conv.bias, conv.dilation[0], conv.padding[0]  # type: ignore[index,return-value]


class FFTConv1d(nn.Module):
    """A stride-1, 'same'-padded, ungrouped convolution of batch 1 by overlap-save FFT. Takes [1, C, T]
    in any layout and returns [1, O, T] channels-last (time-major, the generator's CPU layout)."""

    spectrum: torch.Tensor
    bias_dc: torch.Tensor

    def __init__(self, conv: nn.Module, n_fft: int):
        super().__init__()
        weight, bias, dilation, padding = conv_params(conv)
        out_channels, _, kernel = weight.shape
        self.span = dilation * (kernel - 1)
        if 2 * padding != self.span or getattr(conv, "stride", (1,))[-1] != 1 or getattr(conv, "groups", 1) != 1:
            raise ValueError("FFTConv1d takes stride-1, 'same'-padded, ungrouped convolutions")
        if n_fft <= 2 * self.span:
            raise ValueError(f"n_fft {n_fft} is too short for a receptive field of {self.span + 1}")
        self.pad, self.n_fft, self.hop, self.out_channels = padding, n_fft, n_fft - self.span, out_channels
        # conv1d is a correlation: convolve with the dilated kernel reversed. Its spectrum in fp64.
        taps = weight.new_zeros((out_channels, weight.shape[1], self.span + 1), dtype=torch.float64)
        taps[:, :, ::dilation] = weight.double()
        spectrum = torch.fft.rfft(taps.flip(-1), n=n_fft).permute(2, 1, 0)  # [bins, I, O]
        self.register_buffer("spectrum", spectrum.to(torch.complex64).contiguous(), persistent=False)
        # A bias is a constant: n_fft times it in the DC bin of every block's output.
        dc = torch.zeros(out_channels, dtype=torch.float64) if bias is None else bias.detach().double() * n_fft
        self.register_buffer("bias_dc", dc.to(torch.complex64), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] != 1:
            raise ValueError("FFTConv1d takes a batch of one")
        channels, length = x.shape[1], x.shape[2]
        blocks = -(-length // self.hop)
        frames = x.new_empty((blocks * self.hop + self.span, channels), dtype=torch.float32)  # time-major, padded
        frames[:self.pad].zero_()
        frames[self.pad + length:].zero_()
        frames[self.pad:self.pad + length] = x[0].t()
        spectra = torch.fft.rfft(frames.unfold(0, self.n_fft, self.hop), dim=-1)  # [blocks, C, bins]
        # Contiguous operands: the complex matrix product on strided ones took three times as long,
        # and so did the inverse transform along a leading dimension.
        out = torch.matmul(spectra.permute(2, 0, 1).contiguous(), self.spectrum)   # [bins, blocks, O]
        out[0] += self.bias_dc
        y = torch.fft.irfft(out.permute(1, 2, 0), n=self.n_fft, dim=-1)             # [blocks, O, n_fft]
        # The first `span` outputs of each block wrapped around; the rest are the convolution's.
        result = y[..., self.span:].transpose(1, 2).reshape(blocks * self.hop, self.out_channels)[:length]
        return result.t()[None]


def _median_seconds(fns: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()  # first calls: kernels made, memory faulted in
    for _ in range(rounds):
        for name, fn in fns.items():  # interleaved, so a change in load hits every candidate alike
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(v) for name, v in times.items()}


@torch.inference_mode()
def probe(conv: nn.Module, channels_last: bool, frames: int = PROBE_FRAMES, rounds: int = 5,
          sizes: tuple[int, ...] = FFT_SIZES) -> tuple[int | None, dict[str, float]]:
    """Time `conv` as it runs against `FFTConv1d`s of each size on one input of `frames` frames;
    returns (the FFT size to use, or None where none wins by `WIN_RATIO`; the median seconds)."""
    weight, _, _, _ = conv_params(conv)
    x = torch.randn(1, weight.shape[1], frames, generator=torch.Generator().manual_seed(0))
    if channels_last:
        x = x.transpose(1, 2).contiguous().transpose(1, 2)
    candidates = {n: FFTConv1d(conv, n) for n in sizes if n > 2 * conv_params(conv)[2] * (weight.shape[-1] - 1)}
    fns: dict[str, Callable[[], object]] = {"direct": lambda: conv(x)}
    for n, fft in candidates.items():
        fns[f"fft{n}"] = functools.partial(fft, x)
    medians = _median_seconds(fns, rounds)
    best = min(candidates, key=lambda n: medians[f"fft{n}"], default=None)
    if best is None or medians[f"fft{best}"] > WIN_RATIO * medians["direct"]:
        return None, medians
    return best, medians
