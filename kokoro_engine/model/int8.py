"""int8 convolutions for the generator's residual blocks (x86-64 CPUs with AVX2 or better, through oneDNN).

The AdaIN residual blocks' 128- and 256-channel convolutions are most of the model's FLOPs. oneDNN's
int8 convolution (`torch.ops.onednn.qconv1d_pointwise`, the kernel PyTorch's own x86 int8 path lowers
to) does u8×s8 dot products at about twice to three times the fp32 rate: with VNNI in one instruction,
on plain AVX2 through int16 pairs (`operand_levels` keeps those from saturating). Weights are
quantized once, symmetrically per output channel.

Activations are what make or break the quality. One scale per tensor is set by the loudest
moment of the sentence, which leaves pauses and soft syllables a handful of levels, and the
error grows with the sentence's length. So each activation is quantized
per *time block* (about half a second) with that block's own range: every block is cut out with
its convolution's receptive-field halo, quantized with its own scale and zero point, and all blocks
go through one batched int8 convolution; each block's output is mapped back by the same affine map.
That is exact algebra (a convolution is linear; the halo makes each block independent), so the only
error is the rounding inside a block, smaller than the difference between two fp32 renderings with
different noise seeds (the figures: docs/PERFORMANCE.md).

What decides the speed is the passes around the kernel, which are memory-bound: activations stay
time-major (the generator's channels-last layout, which oneDNN's int8 kernel reads and writes), so
a block is a contiguous slice, the kernel needs no reorder and its output is already in place. Each
block is built, activated (the residual block's AdaIN + Snake, handed over by `conv_after`), ranged
and quantized while it is in cache; one pass maps the output back. At that cost every
residual-block convolution pays, kernel 3 included.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

import torch
from torch import nn

from kokoro_engine.device import cpu_has_vnni
from kokoro_engine.model.generator import widths_bucketed

if TYPE_CHECKING:
    from kokoro_engine.model.generator import AdaINResBlock1, Generator

# Seconds of audio per activation block: short enough to follow loudness, long enough that the
# receptive-field halo (≤ 25 frames a side) is a small part of every block at every frame rate.
BLOCK_SECONDS = 0.5


def operand_levels() -> tuple[int, int]:
    """(activation levels, weight levels) this CPU's int8 kernel can take without overflowing.

    With VNNI, u8×s8 products accumulate straight into int32: 8 bits each (255, ±127). Without it
    (AVX2, AVX-512 before VNNI) oneDNN pairs products into int16 first (`vpmaddubsw`), which saturates
    above 32,767 = a pair of 255 × 127 less a little: the activations keep 8 bits and the weights 7
    (2 · 255 · 63 = 32,130), which keeps every sum exact. Weights, quantized per output channel, lose
    less to the missing bit than activations with one range per block (docs/PERFORMANCE.md).
    """
    return (255, 127) if cpu_has_vnni() else (255, 63)


def prepack(q_weight: torch.Tensor, w_scale: torch.Tensor, dilation: list[int]) -> torch.Tensor:
    """s8 weights [C_out, C_in, k] with per-output-channel scales, packed for `block_conv`."""
    return torch.ops.onednn.qconv_prepack(q_weight, w_scale, 1.0, 0, [1], [0], dilation, 1, None)


def block_conv(units: torch.Tensor, packed: torch.Tensor, w_scale: torch.Tensor, w_zero_point: torch.Tensor,
               dilation: list[int]) -> torch.Tensor:
    """oneDNN's int8 convolution over a batch of time-major uint8 blocks [count, width, C], no padding:
    the integers are taken as they are (scale 1, zero point 0) and only the weights' scales applied,
    so each block's own scale and zero point can be applied after it → fp32 [count, C_out, width − span]."""
    return torch.ops.onednn.qconv1d_pointwise(
        units.transpose(1, 2), 1.0, 0, packed, w_scale, w_zero_point, None,
        [1], [0], dilation, 1, 1.0, 0, torch.float32, "none", [], "")


class Int8Conv1d(nn.Module):
    """Drop-in for a zero-padded, stride-1 `nn.Conv1d` at inference, with block-wise int8 input.

    Activations are handled time-major ([T, C] in memory, which is channels-last for [1, C, T]):
    oneDNN's int8 convolution reads and writes that layout, so every block with its halo is a
    contiguous slice, the kernel needs no reorder, and the output is already the generator's layout.
    """

    # Buffers, registered in __init__.
    packed: torch.Tensor
    w_scale: torch.Tensor
    w_zero_point: torch.Tensor
    w_sum: torch.Tensor
    bias: torch.Tensor

    def __init__(self, conv: nn.Conv1d, block: int, levels: tuple[int, int] | None = None):
        super().__init__()
        if (conv.groups != 1 or conv.stride != (1,) or conv.padding_mode != "zeros"
                or isinstance(conv.padding, str)):
            raise ValueError("Int8Conv1d takes plain stride-1 zero-padded convolutions")
        self.block = max(1, int(block))
        self.halo = conv.padding[0]  # 'same' padding: the receptive field on each side
        if 2 * self.halo != conv.dilation[0] * (conv.kernel_size[0] - 1):
            raise ValueError("Int8Conv1d takes 'same'-length convolutions")
        self.act_levels, weight_levels = levels or operand_levels()
        weight = conv.weight.detach().float()
        w_scale = weight.abs().amax(dim=(1, 2)).clamp_min(1e-12) / weight_levels
        q_weight = torch.round(weight / w_scale[:, None, None]).clamp_(-weight_levels, weight_levels).to(torch.int8)
        self.dilation = list(conv.dilation)
        self.register_buffer("packed", prepack(q_weight, w_scale, self.dilation), persistent=False)
        self.register_buffer("w_scale", w_scale, persistent=False)
        self.register_buffer("w_zero_point", torch.zeros_like(w_scale, dtype=torch.int64), persistent=False)
        # conv(s·(q − z)) = s·conv(q) − s·z·Σw: the per-output-channel sums of the weights as quantized.
        self.register_buffer("w_sum", (q_weight.float() * w_scale[:, None, None]).sum(dim=(1, 2)),
                             persistent=False)
        bias = conv.bias.detach().float() if conv.bias is not None else torch.zeros_like(w_scale)
        self.register_buffer("bias", bias, persistent=False)

    # `conv_after` hands this convolution its input's activation, applied here block by block.
    fuses_activation = True

    def forward(self, x: torch.Tensor, activation: Callable[..., torch.Tensor] | None = None) -> torch.Tensor:
        """conv(activation(x)) for x [1, C, T] (any float dtype, any layout) → fp32 [1, C_out, T],
        channels-last. `activation` must be time-local: called as activation(frames [n, C],
        out=…, scratch=…) on runs of x's frames."""
        _, channels, length = x.shape
        count = math.ceil(length / self.block)
        block = math.ceil(length / count)
        if widths_bucketed():
            # Equal blocks rounded up to 16 frames: oneDNN makes its kernels per shape, and so sees
            # few distinct widths; the tail wastes little.
            block = -(-block // 16) * 16
        h, width = self.halo, block + 2 * self.halo
        frames = x[0].t()  # time-major: contiguous rows for channels-last activations
        # Each block with its halo is built in `window` (activated, with the zeros the convolution
        # pads with beyond either end), quantized with its own scale and zero point, and stored as
        # plain uint8 in one [count, width, C] batch. Block by block, so the activation, the range
        # and the quantization all read the block while it is in cache: these passes are
        # memory-bound, and over the whole tensor they would cost about as much as the kernel.
        window = torch.empty((width, channels), dtype=torch.float32)
        scratch = torch.empty_like(window) if activation is not None else None
        units = torch.empty((count, width, channels), dtype=torch.uint8)
        scales, zero_points = [], []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # quantized tensor types are deprecated; the kernel is not
            for b in range(count):
                start = b * block - h
                lo = max(start, 0)
                hi = max(min(start + width, length), lo)  # a tail block may lie wholly past the end
                window[:lo - start].zero_()
                window[hi - start:].zero_()
                rows = slice(lo - start, hi - start)
                if activation is None:
                    window[rows].copy_(frames[lo:hi])
                else:
                    activation(frames[lo:hi], out=window[rows], scratch=scratch[rows])  # type: ignore[index]
                least, most = (v.item() for v in torch.aminmax(window))
                least = min(least, 0.0)
                scale = max(max(most, 0.0) - least, 1e-8) / self.act_levels
                zero_point = round(-least / scale)
                # `quantize_per_tensor` on a contiguous block is one vectorized pass; its bytes are
                # viewed as the plain uint8 oneDNN takes.
                q = torch.quantize_per_tensor(window, scale, zero_point, torch.quint8)
                units[b].copy_(torch.empty(0, dtype=torch.uint8).set_(q.untyped_storage(), 0, q.shape, q.stride()))
                scales.append(scale)
                zero_points.append(zero_point)
        out = block_conv(units, self.packed, self.w_scale, self.w_zero_point, self.dilation)
        # Each block back to its own range, written time-major: [count · block, C_out].
        block_scale = torch.tensor(scales, dtype=torch.float32)[:, None, None]
        shift = block_scale * torch.tensor(zero_points, dtype=torch.float32)[:, None, None]
        offset = torch.addcmul(self.bias, shift, self.w_sum, value=-1)
        result = torch.empty((count * block, out.shape[1]), dtype=torch.float32)
        torch.addcmul(offset, out.transpose(1, 2), block_scale, out=result.view(count, block, out.shape[1]))
        return result[:length].t()[None]


def quantize_generator(generator: Generator, block_seconds: float = BLOCK_SECONDS, min_kernel: int = 3) -> int:
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
