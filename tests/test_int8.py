"""Block-wise int8 convolutions (kokoro_engine/model/int8.py) against the float convolution they replace.

Speech alternates loud syllables and pauses. One activation scale per tensor leaves the quiet
stretches a few quantization levels; a scale per half-second block keeps them accurate. These
tests pin that behaviour, and the exactness of the block halos and sequence edges.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from kokoro_engine.model.int8 import Int8Conv1d, int8_available

pytestmark = pytest.mark.skipif(not int8_available(), reason="no VNNI / oneDNN int8 convolution on this CPU")


def _conv(channels: int = 128, kernel: int = 11, dilation: int = 5) -> nn.Conv1d:
    torch.manual_seed(0)
    return nn.Conv1d(channels, channels, kernel, dilation=dilation, padding=dilation * (kernel - 1) // 2)


def _relative_error(out: torch.Tensor, ref: torch.Tensor) -> float:
    return float((out - ref).norm() / ref.norm())


def _loud_then_quiet(channels: int, length: int) -> torch.Tensor:
    torch.manual_seed(1)
    x = torch.randn(1, channels, length)
    x[..., : length // 2] *= 40  # a loud passage, then one forty times softer
    return x


@torch.inference_mode()
def test_quiet_passage_keeps_its_accuracy_next_to_a_loud_one() -> None:
    conv = _conv()
    x = _loud_then_quiet(128, 9600)
    ref = conv(x)
    quiet = slice(4800 + 2400, 9600)  # whole blocks after the loud half, halos included
    blockwise = Int8Conv1d(conv, block=2400)(x)
    one_scale = Int8Conv1d(conv, block=9600)(x)  # one block: the per-tensor scale
    assert blockwise.shape == ref.shape and blockwise.dtype == torch.float32
    assert _relative_error(blockwise[..., quiet], ref[..., quiet]) < 0.03
    assert _relative_error(blockwise, ref) < 0.03
    # with one scale for the whole tensor the quiet half drowns in rounding noise
    assert _relative_error(one_scale[..., quiet], ref[..., quiet]) > 5 * _relative_error(blockwise[..., quiet],
                                                                                         ref[..., quiet])


@pytest.mark.parametrize("length", [7, 399, 401, 4321])
@torch.inference_mode()
def test_any_length_and_the_sequence_edges(length: int) -> None:
    """Lengths that are not a multiple of the block, shorter than the halo, and the zero padding
    at both ends (the first and last outputs see it) match the float convolution."""
    conv = _conv(256, 7, 3)
    torch.manual_seed(2)
    x = torch.randn(1, 256, length) + 0.5  # an offset, so a wrong zero at the edges would show
    ref = conv(x)
    out = Int8Conv1d(conv, block=400)(x)
    assert out.shape == ref.shape
    assert _relative_error(out, ref) < 0.03
    edge = min(10, length)
    assert _relative_error(out[..., :edge], ref[..., :edge]) < 0.05
    assert _relative_error(out[..., -edge:], ref[..., -edge:]) < 0.05


def test_refuses_what_it_cannot_replace() -> None:
    with pytest.raises(ValueError, match="stride-1"):
        Int8Conv1d(nn.Conv1d(8, 8, 3, stride=2, padding=1), block=100)
    with pytest.raises(ValueError, match="same"):
        Int8Conv1d(nn.Conv1d(8, 8, 3, padding=0), block=100)
