"""The generator on channels-last activations (oneDNN's CPU layout, `ChannelsLastConv1d`) computes
what the usual [C, T] layout computes: the same durations, the same audio up to fp32 rounding."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from kokoro_engine.device import channels_last_pays, int8_available
from kokoro_engine.io.weights import load_model
from kokoro_engine.model.adain import MOMENT_STEP, AdaIN1d, channel_moments
from kokoro_engine.model.generator import (
    ACTIVATION_STEP,
    AdaINSnake,
    ChannelsLastConv1d,
    activate_in_steps,
    add_in_steps,
    channels_last,
    reflect_first_frame,
)
from tests.realweights import benchmark_inputs, real_model_path


@pytest.mark.parametrize("conv", [
    nn.Conv1d(16, 24, 3, padding=1),
    nn.Conv1d(16, 24, 7, dilation=3, padding=9),
    nn.Conv1d(16, 24, 11, dilation=5, padding=25),
    nn.Conv1d(16, 24, 1),
    nn.Conv1d(16, 24, 12, stride=6, padding=3),                          # a source convolution
    nn.ConvTranspose1d(16, 24, 20, 10, padding=5),                        # an upsampler
    nn.ConvTranspose1d(16, 24, 3, 2, padding=1, output_padding=1),
], ids=lambda conv: repr(conv))
def test_a_channels_last_convolution_is_the_convolution(conv: nn.Module) -> None:
    torch.manual_seed(0)
    for p in conv.parameters():
        p.data.normal_()
    x = torch.randn(1, 16, 300)
    swapped = ChannelsLastConv1d(conv)
    with torch.inference_mode():
        want = conv(x)
        got = swapped(channels_last(x))
    assert got.shape == want.shape
    assert got.stride(1) == 1  # the output stays channels-last for the next elementwise step
    assert torch.allclose(got, want, atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError):
        ChannelsLastConv1d(nn.Conv1d(16, 16, 3, groups=2))


def test_the_cpu_generator_runs_channels_last_and_speaks_the_same_audio() -> None:
    path = real_model_path()
    plain = load_model(path, channels_last=False)
    model = load_model(path, channels_last=True)  # the default on x86-64 CPUs (device.channels_last_pays)
    generator = model.decoder.generator
    assert generator.channels_last and not plain.decoder.generator.channels_last
    assert isinstance(generator.resblocks[0].convs1[0], ChannelsLastConv1d)
    strides: list[tuple[int, ...]] = []
    late = generator.stage_resblocks(1)[2].convs1[0]  # the audio-rate stage, the most work
    hook = late.register_forward_pre_hook(lambda _module, args: strides.append(args[0].stride()))
    ids, style = benchmark_inputs(plain, "short", "jf_alpha")
    with torch.inference_mode():
        want, want_durations = plain(ids, style, 1.0, torch.Generator().manual_seed(5))
        got, durations = model(ids, style, 1.0, torch.Generator().manual_seed(5))
    hook.remove()
    assert strides and strides[0][1] == 1  # channels innermost: no reorder in front of oneDNN
    assert torch.equal(durations, want_durations)
    assert got.shape == want.shape and float(want.abs().max()) > 0.05
    assert torch.allclose(got, want, atol=1e-4)


@pytest.mark.skipif(not int8_available(), reason="no oneDNN int8 convolution (x86-64 with AVX2) here")
def test_the_audio_rate_stage_sums_in_fp32_in_a_bf16_decoder() -> None:
    """The residual stream of the last (audio-rate) stage feeds `conv_post` and the spectrum; a bf16
    decoder keeps it fp32 (autocast's padding gave that, and bf16 sums there cost 0.04 dB). The
    stage's first block is handed an fp32 channels-last tensor."""
    model = load_model(real_model_path(), dtype=torch.bfloat16)
    generator = model.decoder.generator
    seen: list[tuple[torch.dtype, int]] = []
    first = generator.stage_resblocks(generator.num_upsamples - 1)[0]
    hook = first.register_forward_pre_hook(lambda _module, args: seen.append((args[0].dtype, args[0].stride(1))))
    ids, style = benchmark_inputs(model, "short", "jf_alpha")
    with torch.inference_mode():
        audio, _ = model(ids, style, 1.0, torch.Generator().manual_seed(5))
    hook.remove()
    assert len(seen) == 1 and seen[0][0] == torch.float32
    assert seen[0][1] == 1 or not generator.channels_last  # and channels-last where the generator is
    assert float(audio.abs().max()) > 0.05


def test_int8_convolutions_run_in_the_channels_last_generator() -> None:
    """int8 and channels-last together (the default wherever int8 is): every convolution of the
    generator then reads time-major input, the int8 ones included, and durations do not move."""
    from kokoro_engine.model.int8 import Int8Conv1d

    path = real_model_path()
    plain = load_model(path, channels_last=False)
    model = load_model(path, quantize=True)
    assert model.int8_convs and model.decoder.generator.channels_last
    assert channels_last_pays(torch.device("cpu"))
    strides: list[tuple[int, ...]] = []
    hooks = [m.register_forward_pre_hook(lambda _m, args: strides.append(args[0].stride()))
             for m in model.decoder.generator.modules() if isinstance(m, Int8Conv1d)]
    ids, style = benchmark_inputs(plain, "short", "jm_kumo")
    with torch.inference_mode():
        want, want_durations = plain(ids, style, 1.0, torch.Generator().manual_seed(5))
        got, durations = model(ids, style, 1.0, torch.Generator().manual_seed(5))
    for hook in hooks:
        hook.remove()
    assert len(strides) == model.int8_convs and all(stride[1] == 1 for stride in strides)
    assert torch.equal(durations, want_durations)
    assert got.shape == want.shape and float(got.abs().max()) > 0.05


def test_nearby_widths_share_one_convolution_shape(monkeypatch) -> None:
    # oneDNN creates kernels per shape: replies of slightly different lengths must reuse them.
    import kokoro_engine.model.generator as generator

    for width in (1, 7, 100, 1000, 12_000, 17_401, 90_000):
        bucket = generator.bucket_width(width)
        assert width <= bucket <= width * 1.25 + 1
    assert generator.bucket_width(17_001) == generator.bucket_width(17_401)
    shapes: list[tuple[int, ...]] = []
    conv2d = generator.F.conv2d
    monkeypatch.setattr(generator.F, "conv2d", lambda x, *a: shapes.append(tuple(x.shape)) or conv2d(x, *a))
    conv = ChannelsLastConv1d(nn.Conv1d(8, 8, 7, padding=3))
    with torch.inference_mode():
        outs = [conv(channels_last(torch.randn(1, 8, width))) for width in (290, 300)]
    assert shapes[0] == shapes[1]  # one kernel for both
    assert [o.shape[-1] for o in outs] == [290, 300]  # each cropped to its own width


@pytest.mark.parametrize("length", [7, MOMENT_STEP + 1, 3 * MOMENT_STEP + 517])
def test_moments_in_steps_match_float64_in_either_layout(length: int) -> None:
    """AdaIN's E[x], E[x²] summed a step of frames at a time (time-major CPU tensors) or whole (any
    other layout) agree with float64 arithmetic, on an offset signal where cancellation would show."""
    torch.manual_seed(4)
    x = torch.randn(1, 96, length) * 2 + 0.5
    exact = x.double()
    for layout in (x, channels_last(x)):
        mean, mean_square = channel_moments(layout)
        assert mean.shape == mean_square.shape == (1, 96, 1) and mean.dtype == torch.float32
        torch.testing.assert_close(mean.double(), exact.mean(-1, keepdim=True), rtol=0, atol=1e-6)
        torch.testing.assert_close(mean_square.double(), exact.square().mean(-1, keepdim=True), rtol=1e-6, atol=0)


def test_the_one_frame_reflect_pad_keeps_the_layout() -> None:
    torch.manual_seed(5)
    x = torch.randn(1, 6, 9)
    for layout in (x, channels_last(x), channels_last(torch.randn(1, 6, 12))[..., :9]):
        padded = reflect_first_frame(layout)
        assert torch.equal(padded, F.pad(layout.contiguous(), (1, 0), mode="reflect"))
        assert (padded.stride(1) == 1) == (layout.stride(1) == 1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("length", [300, 2 * ACTIVATION_STEP + 37])
def test_an_activation_written_a_step_at_a_time_is_the_activation_written_whole(length: int, dtype) -> None:
    """The AdaIN-Snake written into a convolution's input a step of frames at a time (so its fp32
    intermediates stay in cache) gives the very numbers of one pass over the whole tensor."""
    torch.manual_seed(6)
    norm = AdaIN1d(16, 32)
    for p in norm.parameters():
        p.data.normal_()
    x = channels_last(torch.randn(1, 32, length)).to(dtype)
    with torch.inference_mode():
        snake = AdaINSnake(x, torch.randn(1, 16), norm, torch.rand(1, 32, 1) + 0.5)
        whole = torch.empty((1, length, 32), dtype=dtype).transpose(1, 2)
        snake(x, out=whole)
        steps = torch.full((1, length, 32), float("nan"), dtype=dtype).transpose(1, 2)
        activate_in_steps(snake, x, steps)
    assert torch.equal(steps, whole)


@pytest.mark.parametrize("length", [300, 2 * ACTIVATION_STEP + 37])
def test_a_mixed_dtype_sum_in_steps_is_the_sum(length: int) -> None:
    """A residual sum of an fp32 stream and a bf16 convolution output, a step of frames at a time,
    into a new tensor or in place: the numbers of PyTorch's whole-tensor sum, channels-last kept."""
    torch.manual_seed(7)
    x = channels_last(torch.randn(1, 24, length))
    y = channels_last(torch.randn(1, 24, length)).bfloat16()
    want = x + y
    fresh = add_in_steps(x, y)
    assert torch.equal(fresh, want) and fresh.stride(1) == 1
    assert add_in_steps(x, y, x) is x
    assert torch.equal(x, want)
