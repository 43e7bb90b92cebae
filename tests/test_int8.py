"""Block-wise int8 convolutions (kokoro_engine/model/int8.py) against the float convolution they replace.

Speech alternates loud syllables and pauses. One activation scale per tensor leaves the quiet
stretches a few quantization levels; a scale per half-second block keeps them accurate. These
tests pin that behaviour, and the exactness of the block halos and sequence edges.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
from torch import nn

from kokoro_engine.device import int8_available, is_x86_64
from kokoro_engine.model.adain import AdaIN1d
from kokoro_engine.model.generator import AdaINSnake, snake
from kokoro_engine.model.int8 import Int8Conv1d, operand_levels

pytestmark = pytest.mark.skipif(not int8_available(), reason="no oneDNN int8 convolution (x86-64 with AVX2) here")


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


@pytest.mark.parametrize(("length", "block"), [(7, 400), (401, 400), (4321, 400), (100, 5)])
@torch.inference_mode()
def test_the_activation_applied_block_by_block_is_the_activation_then_the_convolution(length: int,
                                                                                     block: int) -> None:
    """`conv(x, activation)` (the residual blocks' AdaIN + Snake, applied per block in cache) equals
    `conv(activation(x))`: the zeros the convolution pads with come after the activation, whose
    value at zero is not zero; (100, 5) has blocks that lie wholly past the end once rounded."""
    conv = _conv(128, 7, 3)
    torch.manual_seed(3)
    norm = AdaIN1d(64, 128)
    nn.init.normal_(norm.fc.weight, std=0.3)
    nn.init.normal_(norm.norm.bias, mean=1.0)  # a shift, so activation(0) is far from 0
    alpha = torch.rand(1, 128, 1) + 0.5
    s = torch.randn(1, 64)
    x = torch.randn(1, 128, length) * 3 + 1
    activation = AdaINSnake(x, s, norm, alpha)
    activated = snake(norm(x, s), alpha)  # the textbook form
    torch.testing.assert_close(activation(x), activated, atol=1e-4, rtol=1e-4)
    int8 = Int8Conv1d(conv, block=block)
    fused, unfused = int8(x, activation), int8(activation(x))
    assert float((fused - unfused).abs().max()) <= 1e-4 * float(unfused.abs().max())
    ref = conv(activated)
    assert _relative_error(fused, ref) < 0.03
    edge = min(10, length)
    assert _relative_error(fused[..., :edge], ref[..., :edge]) < 0.05
    assert _relative_error(fused[..., -edge:], ref[..., -edge:]) < 0.05


def test_refuses_what_it_cannot_replace() -> None:
    with pytest.raises(ValueError, match="stride-1"):
        Int8Conv1d(nn.Conv1d(8, 8, 3, stride=2, padding=1), block=100)
    with pytest.raises(ValueError, match="same"):
        Int8Conv1d(nn.Conv1d(8, 8, 3, padding=0), block=100)


@pytest.mark.parametrize("levels", [(255, 127), (255, 63)])
@torch.inference_mode()
def test_output_is_time_major_and_both_operand_widths_stay_accurate(levels: tuple[int, int]) -> None:
    """The generator's channels-last layout comes out (no reorder for the next convolution), and the
    7-bit weights of CPUs without VNNI keep the error near that of 8 bits."""
    conv = _conv()
    x = _loud_then_quiet(128, 4321)
    out = Int8Conv1d(conv, block=2400, levels=levels)(x.transpose(1, 2).contiguous().transpose(1, 2))
    assert out.stride(1) == 1  # channels innermost
    assert _relative_error(out, conv(x)) < 0.03


_AVX2_PROBE = """
import torch
from torch import nn
from kokoro_engine.device import cpu_class, resolve_dtype, resolve_quantize
from kokoro_engine.model.int8 import Int8Conv1d, operand_levels
cpu = torch.device("cpu")
dtype = resolve_dtype(None, cpu)
print("class", cpu_class(), "dtype", dtype, "int8", resolve_quantize(None, cpu, dtype), "levels", operand_levels())
torch.manual_seed(0)
conv = nn.Conv1d(128, 128, 11, dilation=5, padding=25)
x = torch.randn(1, 128, 4800) * 3
with torch.inference_mode():
    err = float((Int8Conv1d(conv, block=2400)(x) - conv(x)).norm() / conv(x).norm())
print("error", err)
"""


@pytest.mark.skipif(not is_x86_64(), reason="x86-64 CPU classes")
def test_an_avx2_cpu_gets_fp32_with_unsaturated_int8() -> None:
    """As an AVX2-only CPU (oneDNN capped, as on an older NUC): no bf16, no VNNI assumed, int8 on with
    7-bit weights, and oneDNN really runs its AVX2 int8 kernel. With 8-bit weights there, pairs of
    products saturate int16 and the error is ~10 %."""
    from kokoro_engine.tools.benchmark import onednn_kernels

    caps = {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
    done = subprocess.run([sys.executable, "-c", _AVX2_PROBE], env={**os.environ, **caps}, capture_output=True,
                          text=True, timeout=300, check=True)
    lines = done.stdout.splitlines()
    summary = next(line for line in lines if line.startswith("class"))
    assert summary == "class avx2 dtype torch.float32 int8 True levels (255, 63)"
    int8_kernel = onednn_kernels(caps)["u8"]
    assert "avx2" in int8_kernel and "vnni" not in int8_kernel and "amx" not in int8_kernel, int8_kernel
    error = float(next(line for line in lines if line.startswith("error")).split()[1])
    assert error < 0.03


@pytest.mark.parametrize("levels", sorted({operand_levels(), (255, 63)}) if int8_available() else [])
def test_fp32_int8_model_within_quality_budget(levels: tuple[int, int], monkeypatch) -> None:
    """The model an x86 CPU without native bf16 runs (fp32 + int8, as on an AVX2 NUC or an N100), on
    real weights, against our fp32 path: this CPU's operand widths and the 7-bit weights of CPUs
    without VNNI (exact on every CPU) stay within the budget, with equal durations."""
    import kokoro_engine.model.int8 as int8
    from kokoro_engine.io.weights import load_model
    from kokoro_engine.tools.metrics import duration_agreement, log_mel_distance_db
    from tests.realweights import benchmark_inputs, real_model_path

    monkeypatch.setattr(int8, "operand_levels", lambda: levels)
    fp32 = load_model(real_model_path(), dtype=torch.float32)
    model = load_model(real_model_path(), dtype=torch.float32, quantize=True)
    assert model.int8_convs == 48  # every residual-block convolution of both stages
    ids, style = benchmark_inputs(fp32, "medium", "jm_kumo")
    with torch.inference_mode():
        ref_audio, ref_dur = fp32(ids, style, 1.0, torch.Generator().manual_seed(7))
        audio, dur = model(ids, style, 1.0, torch.Generator().manual_seed(7))
    assert duration_agreement(ref_dur, dur) >= 0.95
    distance = log_mel_distance_db(ref_audio.numpy(), audio.numpy())
    assert 0.01 < distance <= 1.0, f"int8 {levels} is {distance:.2f} dB from fp32"
