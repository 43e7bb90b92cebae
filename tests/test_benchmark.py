"""The benchmark's floor figures: FLOPs counted in a real forward pass, and the bound they imply.

The floor (counted FLOPs at the device's measured matmul peak) is what the README's argument about
the speed targets rests on, so the count is checked against the generator's work derived by hand
from the architecture, and the printed floor must never claim more than was actually run.
"""

from __future__ import annotations

import math

import pytest
import torch

from kokoro_engine.io.weights import load_model
from kokoro_engine.tools.benchmark import count_flops, floor_seconds, matmul_peak
from tests.realweights import benchmark_inputs, real_model_path


@pytest.fixture(scope="module")
def model():
    return load_model(real_model_path(), device=torch.device("cpu"), dtype=torch.float32)


def _generator_conv_flops(cfg: dict, frames: int) -> float:
    """Multiply-adds × 2 of every convolution in the iSTFTNet generator for `frames` input frames,
    from the configuration alone (same-length convolutions; transposed ones count per input step)."""
    n_fft = cfg["gen_istft_n_fft"]
    spectrum = n_fft + 2
    kernels, dilations = cfg["resblock_kernel_sizes"], cfg["resblock_dilation_sizes"]
    rates, up_kernels = cfg["upsample_rates"], cfg["upsample_kernel_sizes"]
    flops, length = 0.0, frames
    for i, (rate, up_kernel) in enumerate(zip(rates, up_kernels, strict=True)):
        ch_in = cfg["upsample_initial_channel"] // 2**i
        ch = ch_in // 2
        flops += 2 * ch_in * ch * up_kernel * length          # upsampling (transposed)
        length *= rate
        last = i == len(rates) - 1
        if last:
            length += 1                                          # the reflect-padded frame
        # Two convolutions per dilation in each multi-receptive-field block, all at this stage's rate.
        flops += sum(2 * len(d) * 2 * ch * ch * k * length for k, d in zip(kernels, dilations, strict=True))
        noise_kernel = 11 if last else 7
        flops += 3 * 2 * 2 * ch * ch * noise_kernel * length      # the source's residual block
        stride = math.prod(rates[i + 1:])
        flops += 2 * spectrum * ch * (1 if last else 2 * stride) * length  # source spectrum → stage
    return flops + 2 * ch * spectrum * 7 * length                # conv_post


def test_counted_generator_flops_match_the_architecture(model) -> None:
    ids, style = benchmark_inputs(model, "short")
    frames: list[int] = []
    hook = model.decoder.generator.register_forward_pre_hook(lambda _m, args: frames.append(args[0].shape[-1]))
    try:
        flops = count_flops(lambda: model(ids, style, 1.0, torch.Generator().manual_seed(0)))
    finally:
        hook.remove()
    expected = _generator_conv_flops(model.config.istftnet, frames[0])
    # Convolutions are all but ~0.01 % of the generator's counted work (the AdaIN style projections).
    assert flops["KokoroModel.decoder.generator"] == pytest.approx(expected, rel=1e-3)
    # and the generator is the bulk of the model: what the README's breakdown says
    assert 0.85 < flops["KokoroModel.decoder.generator"] / flops["total"] < 0.95


def test_floor_is_the_counted_work_at_the_peaks(model) -> None:
    """The floor is arithmetic on counted work, so it is checked as arithmetic: comparing it with a
    timed run compared two noisy figures (the benchmark prints that ratio as `% peak` instead)."""
    ids, style = benchmark_inputs(model, "medium")

    def run() -> None:
        with torch.inference_mode():
            model(ids, style, 1.0, torch.Generator().manual_seed(0))

    flops = count_flops(run)
    assert flops == count_flops(run)  # counting is deterministic: the same work every time
    decoder = flops["KokoroModel.decoder"]
    assert 0 < decoder < flops["total"]
    # one rate for everything: total work / rate
    assert floor_seconds(flops, 100.0, 100.0) == pytest.approx(flops["total"] / 100e9)
    # the fp32 text side at half the rate costs exactly its own work once more
    text = flops["total"] - decoder
    assert floor_seconds(flops, 100.0, 50.0) == pytest.approx((flops["total"] + text) / 100e9)
    assert matmul_peak(torch.device("cpu"), torch.float32) > 1.0  # GFLOP/s: a measurement, not a placeholder


def test_int8_convolutions_are_counted_as_the_same_work(model) -> None:
    """oneDNN's int8 convolution is outside torch's FLOP table; our formula counts it, so the int8
    model does the same counted work as the float one, most of it now in int8."""
    from kokoro_engine.device import int8_available

    if not int8_available():
        pytest.skip("no oneDNN int8 convolution (x86-64 with AVX2) here")
    quantized = load_model(real_model_path(), device=torch.device("cpu"), dtype=torch.float32, quantize=True)
    ids, style = benchmark_inputs(model, "short")
    plain = count_flops(lambda: model(ids, style, 1.0, torch.Generator().manual_seed(0)))
    int8 = count_flops(lambda: quantized(ids, style, 1.0, torch.Generator().manual_seed(0)))
    assert plain["int8"] == 0
    # the same work, plus the block halos the int8 path computes twice (under 2 %)
    assert plain["total"] <= int8["total"] < 1.02 * plain["total"]
    assert 0.6 < int8["int8"] / int8["total"] < 0.9
    # and the floor takes them at the int8 rate: twice the rate, less time
    assert floor_seconds(int8, 400, 200, 800) < floor_seconds(plain, 400, 200, 800)


def test_the_int8_peak_and_the_kernels_are_what_the_engine_runs() -> None:
    """The int8 ceiling comes from the engine's own convolution kernel (the old int8 matmul probe took a
    path with no AVX2 kernel and reported 2 GOP/s there), and the ISA line names the kernels that ran."""
    from kokoro_engine.device import cpu_class, int8_available
    from kokoro_engine.tools.benchmark import int8_conv_peak, isa_summary, onednn_kernels

    if not int8_available():
        assert int8_conv_peak() is None
        return
    peak = int8_conv_peak()
    assert peak is not None and peak > 0
    kernels = onednn_kernels()
    assert set(kernels) >= {"f32", "u8"}
    assert f"CPU class {cpu_class()}" in isa_summary()


def test_profile_parts_hold_every_weight_once(model) -> None:
    """`kokoro-engine profile` splits a reply's time by part: every weight of the model is in exactly
    one part, but `conv_post`'s, which its "conv_post, STFT and iSTFT" row takes as the remainder."""
    from kokoro_engine.tools.profile import model_parts

    owners: dict[int, list[str]] = {}
    for name, modules in model_parts(model):
        for module in modules:
            for p in module.parameters():
                owners.setdefault(id(p), []).append(name)
    assert all(len(names) == 1 for names in owners.values())
    unowned = {n for n, p in model.named_parameters() if id(p) not in owners}
    assert unowned == {n for n, _ in model.named_parameters() if n.startswith("decoder.generator.conv_post.")}


def test_profile_times_each_part_within_the_model_and_lets_go(model) -> None:
    from kokoro_engine.tools.profile import PartTimer, model_parts, operator_family

    ids, style = benchmark_inputs(model, "short")
    timer = PartTimer(model)
    with torch.inference_mode():
        model(ids, style, 1.0, torch.Generator().manual_seed(0))
    timer.remove()
    parts = [timer.seconds[name] for name, _ in model_parts(model)]
    assert all(t > 0 for t in parts), timer.seconds  # every part ran
    assert sum(parts) <= timer.seconds["model"]
    assert sum(t for (name, _), t in zip(model_parts(model), parts, strict=True) if name.startswith("generator")) \
        <= timer.seconds["generator"]
    # the hooks are gone: a second pass times nothing
    before = dict(timer.seconds)
    with torch.inference_mode():
        model(ids, style, 1.0, torch.Generator().manual_seed(0))
    assert timer.seconds == before
    assert [operator_family(n) for n in ("aten::mkldnn_convolution", "quantized::conv2d", "aten::addmm",
                                         "aten::mkldnn_rnn_layer", "aten::upsample_linear1d", "aten::_to_copy",
                                         "aten::normal_", "aten::mul")] == [
        "convolutions", "int8 convolutions", "matrix products (PL-BERT, style projections)", "LSTMs",
        "elementwise and other", "copies and casts", "excitation noise", "elementwise and other"]
