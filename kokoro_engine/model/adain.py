"""Style conditioning: adaptive instance/layer normalization and the AdaIN residual block."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

# Frames per step when the moments are taken in steps: one step's squares (1 MB at 128 channels)
# are summed while still in cache.
MOMENT_STEP = 2048


def channel_moments(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel E[x] and E[x²] over time of x [1, C, T], fp32 [1, C, 1] each.

    E[x²] − E[x]² with torch's cascaded (pairwise) sums is much faster on CPU than torch.var_mean's
    Welford pass, and as accurate here because these activations are centred (|mean| ≲ std). A BLAS
    dot product for E[x²] is faster still but accumulates its error over an audio-rate sentence's
    frames enough to be measured (PERFORMANCE.md). Squaring a whole audio-rate tensor writes and
    reads it back from memory, though: on CPU, time-major tensors (the generator's channels-last
    layout) are summed a step of frames at a time, squares and all in cache, into float64 totals.
    """
    if not (x.device.type == "cpu" and x.shape[0] == 1 and x.stride(1) == 1 and x.shape[-1] > MOMENT_STEP):
        xf = x.float()
        return xf.mean(dim=-1, keepdim=True), xf.square().mean(dim=-1, keepdim=True)
    frames = x[0].t()  # [T, C], rows contiguous
    total = torch.zeros(frames.shape[1], dtype=torch.float64)
    total_square = torch.zeros_like(total)
    squares = torch.empty((MOMENT_STEP, frames.shape[1]))
    for start in range(0, frames.shape[0], MOMENT_STEP):
        step = frames[start:start + MOMENT_STEP].float()
        total += step.sum(dim=0)
        total_square += torch.square(step, out=squares[:step.shape[0]]).sum(dim=0)
    count = frames.shape[0]
    return (total / count).float()[None, :, None], (total_square / count).float()[None, :, None]


class AdaIN1d(nn.Module):
    """Instance norm whose scale and shift come from the style vector: (1 + γ(s)) · IN(x) + β(s)."""

    def __init__(self, style_dim: int, channels: int):
        super().__init__()
        # The published weights carry affine InstanceNorm parameters (an export work-around upstream);
        # keep them so the weights load and the arithmetic is identical.
        self.norm = nn.InstanceNorm1d(channels, affine=True)
        self.fc = nn.Linear(style_dim, channels * 2)

    def scale_shift(self, x: torch.Tensor, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-channel (scale, shift) with AdaIN(x, s) = scale · x + shift, in fp32.

        Instance norm, its affine parameters and the style's γ, β are all per-channel affine maps,
        so they fold into one; the audio-rate tensor is then read once for its statistics and once
        for the map, instead of once per elementwise step (these chains cost as much as the
        generator's convolutions on CPU).
        """
        gamma, beta = self.fc(s).float()[:, :, None].chunk(2, dim=1)
        mean, mean_square = channel_moments(x)
        var = (mean_square - mean.square()).clamp_min(0)
        scale = (1 + gamma) * self.norm.weight.float()[None, :, None] * torch.rsqrt(var + self.norm.eps)
        shift = beta + (1 + gamma) * self.norm.bias.float()[None, :, None] - mean * scale
        return scale, shift

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        scale, shift = self.scale_shift(x, s)
        return torch.addcmul(shift, x, scale)


class AdaLayerNorm(nn.Module):
    """Layer norm over channels with style-driven scale and shift; input [B, T, C]."""

    def __init__(self, style_dim: int, channels: int, eps: float = 1e-5):
        super().__init__()
        self.channels = channels
        self.eps = eps
        self.fc = nn.Linear(style_dim, channels * 2)

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.fc(s)[:, None, :].chunk(2, dim=-1)
        return (1 + gamma) * F.layer_norm(x, (self.channels,), eps=self.eps) + beta


class AdainResBlk1d(nn.Module):
    """StyleTTS2's residual block: AdaIN → LeakyReLU → (2× upsample) → conv, twice, plus a shortcut."""

    def __init__(self, dim_in: int, dim_out: int, style_dim: int, upsample: bool = False):
        super().__init__()
        self.upsample = upsample
        self.learned_sc = dim_in != dim_out
        self.conv1 = nn.Conv1d(dim_in, dim_out, 3, 1, 1)
        self.conv2 = nn.Conv1d(dim_out, dim_out, 3, 1, 1)
        self.norm1 = AdaIN1d(style_dim, dim_in)
        self.norm2 = AdaIN1d(style_dim, dim_out)
        if self.learned_sc:
            self.conv1x1 = nn.Conv1d(dim_in, dim_out, 1, 1, 0, bias=False)
        if upsample:
            # Learned depthwise transposed conv doubles the frame rate on the residual path.
            self.pool = nn.ConvTranspose1d(dim_in, dim_in, 3, 2, groups=dim_in, padding=1, output_padding=1)

    def _shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        return self.conv1x1(x) if self.learned_sc else x

    def _residual(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.norm1(x, s), 0.2)
        if self.upsample:
            x = self.pool(x)
        x = self.conv1(x)
        x = F.leaky_relu(self.norm2(x, s), 0.2)
        return self.conv2(x)

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        # Scale by 1/√2 so the sum of two unit-variance paths stays unit variance.
        return (self._residual(x, s) + self._shortcut(x)) * (1 / math.sqrt(2))
