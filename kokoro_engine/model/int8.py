"""int8 convolutions for the generator's residual blocks (CPU with VNNI, through oneDNN).

The AdaIN residual blocks' 128- and 256-channel convolutions are most of the model's FLOPs. A
VNNI CPU does u8×s8 dot products at about twice its bf16 rate, and oneDNN's int8 convolution
(`torch.ops.onednn.qconv1d_pointwise`, the kernel PyTorch's own x86 int8 path lowers to) runs
them. Weights are quantized once, symmetrically per output channel.

Activations are what make or break the quality. One scale per tensor is set by the loudest
moment of the sentence, which leaves pauses and soft syllables a handful of levels, and the
error grows with the sentence's length. So each activation is quantized
per *time block* (about half a second) with that block's own range: every block is cut out with
its convolution's receptive-field halo, mapped affinely onto [0, 1], and all blocks go through
one batched int8 convolution; each block's output is mapped back by the same affine map. That is
exact algebra (a convolution is linear; the halo makes each block independent), so the only error
is the 8-bit rounding inside a block, smaller than the difference between two fp32 renderings
with different noise seeds (the figures: docs/PERFORMANCE.md).

Only kernels 7 and 11 are swapped: the extra passes (range, gather, map back) cost about what the
int8 kernel saves on a kernel-3 convolution, so those stay in the compute dtype.
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import TYPE_CHECKING, cast

import torch
from torch import nn

from kokoro_engine.device import cpu_flags

if TYPE_CHECKING:
    from kokoro_engine.model.generator import AdaINResBlock1, Generator

# Seconds of audio per activation block: short enough to follow loudness, long enough that the
# receptive-field halo (≤ 25 frames a side) is a small part of every block at every frame rate.
BLOCK_SECONDS = 0.5


@functools.cache
def cpu_has_vnni() -> bool:
    """AVX512-VNNI, AVX-VNNI or AMX: u8×s8 dot products without the int16 saturation of older CPUs."""
    return bool(cpu_flags() & {"avx512_vnni", "avx_vnni", "amx_int8"})


def int8_available() -> bool:
    return (torch.backends.mkldnn.is_available() and cpu_has_vnni()
            and hasattr(torch.ops.onednn, "qconv1d_pointwise"))


def _to_uint8(x: torch.Tensor, scale: float) -> torch.Tensor:
    """round(x / scale) saturated to uint8 in one vectorized pass (`quantize_per_tensor`), viewed as
    plain uint8 storage, which is what oneDNN takes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # quantized tensor types are deprecated; the kernel is not
        q = torch.quantize_per_tensor(x, scale, 0, torch.quint8)
    return torch.empty(0, dtype=torch.uint8).set_(q.untyped_storage(), 0, q.shape, q.stride())


class Int8Conv1d(nn.Module):
    """Drop-in for a zero-padded, stride-1 `nn.Conv1d` at inference, with block-wise int8 input."""

    # Buffers, registered in __init__.
    packed: torch.Tensor
    w_scale: torch.Tensor
    w_zero_point: torch.Tensor
    w_sum: torch.Tensor
    bias: torch.Tensor

    def __init__(self, conv: nn.Conv1d, block: int):
        super().__init__()
        if (conv.groups != 1 or conv.stride != (1,) or conv.padding_mode != "zeros"
                or isinstance(conv.padding, str)):
            raise ValueError("Int8Conv1d takes plain stride-1 zero-padded convolutions")
        self.block = max(1, int(block))
        self.halo = conv.padding[0]  # 'same' padding: the receptive field on each side
        if 2 * self.halo != conv.dilation[0] * (conv.kernel_size[0] - 1):
            raise ValueError("Int8Conv1d takes 'same'-length convolutions")
        weight = conv.weight.detach().float()
        w_scale = weight.abs().amax(dim=(1, 2)).clamp_min(1e-12) / 127
        q_weight = torch.round(weight / w_scale[:, None, None]).clamp_(-127, 127).to(torch.int8)
        self.dilation = list(conv.dilation)
        # Inputs arrive mapped onto [0, 1] (scale 1/255, zero point 0); no padding, the halo is data.
        self.register_buffer("packed", torch.ops.onednn.qconv_prepack(
            q_weight, w_scale, 1 / 255, 0, [1], [0], self.dilation, 1, None), persistent=False)
        self.register_buffer("w_scale", w_scale, persistent=False)
        self.register_buffer("w_zero_point", torch.zeros_like(w_scale, dtype=torch.int64), persistent=False)
        # conv(lo + r·u) = r·conv(u) + lo·Σw: the per-output-channel sums of the weights as quantized.
        self.register_buffer("w_sum", (q_weight.float() * w_scale[:, None, None]).sum(dim=(1, 2)),
                             persistent=False)
        bias = conv.bias.detach().float() if conv.bias is not None else torch.zeros_like(w_scale)
        self.register_buffer("bias", bias, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [1, C, T] (any float dtype) → fp32 [1, C_out, T]."""
        _, channels, length = x.shape
        count = math.ceil(length / self.block)
        block = math.ceil(length / count)  # equal blocks, so the tail wastes < `count` frames
        h, width = self.halo, block + 2 * self.halo
        # The zeros the convolution would pad with, then the signal (into a slice: one pass).
        padded = x.new_empty((channels, count * block + 2 * h), dtype=torch.float32)
        padded[:, :h].zero_()
        padded[:, h + length:].zero_()
        padded[:, h:h + length].copy_(x[0])
        # Block b with its halo is padded[:, b·block : b·block + width]: overlapping views.
        windows = padded.as_strided((count, channels, width), (block, padded.stride(0), 1))
        lo = windows.amin(dim=(1, 2), keepdim=True).clamp_max(0)
        inv_span = (windows.amax(dim=(1, 2), keepdim=True) - lo).clamp_min(1e-8).reciprocal()
        # Each block onto [0, 1], gathered into one contiguous [blocks, C, width] batch.
        unit = torch.addcmul(-lo * inv_span, windows, inv_span,
                             out=torch.empty((count, channels, width), dtype=torch.float32))
        out = torch.ops.onednn.qconv1d_pointwise(
            _to_uint8(unit, 1 / 255), 1 / 255, 0, self.packed, self.w_scale, self.w_zero_point, None,
            [1], [0], self.dilation, 1, 1.0, 0, torch.float32, "none", [], "")
        # Back to each block's own range, then the blocks side by side again.
        offset = torch.addcmul(self.bias[None, :, None], lo, self.w_sum[None, :, None])
        out = torch.addcmul(offset, out, inv_span.reciprocal_())
        result = torch.empty((out.shape[1], count, block), dtype=torch.float32)
        result.copy_(out.transpose(0, 1))
        return result.view(1, out.shape[1], count * block)[..., :length]


def quantize_generator(generator: Generator, block_seconds: float = BLOCK_SECONDS, min_kernel: int = 7) -> int:
    """Swap the convolutions with kernels of at least `min_kernel` inside the generator's AdaIN
    residual blocks (`convs1`, `convs2`), including the source path's `noise_res` blocks, for
    `Int8Conv1d`s; returns how many. Upsampling, the source path's `noise_convs` and `conv_post` stay
    as they were: they are little of the work, and `conv_post` sets magnitude and phase directly."""
    count = 0
    for stage, rate in enumerate(generator.stage_frame_rates()):
        noise_res = cast("AdaINResBlock1", generator.noise_res[stage])  # ModuleList items are Modules
        for block in [*generator.stage_resblocks(stage), noise_res]:
            for convs in (block.convs1, block.convs2):
                for i, conv in enumerate(convs):
                    if isinstance(conv, nn.Conv1d) and conv.kernel_size[0] >= min_kernel:
                        convs[i] = Int8Conv1d(conv, block=round(block_seconds * rate))
                        count += 1
    return count
