"""Quality budget of the reduced-precision path on real weights: bf16 (decoder convolutions in
bf16, text side and phase head in fp32) against our own fp32 output, same phonemes, same seed.

Budget (issue 5): log-mel distance ≤ 1.0 dB after duration alignment, identical predicted
durations on at least 95 % of tokens.
"""

from __future__ import annotations

import pytest
import torch

from kokoro_engine.device import cpu_has_fast
from kokoro_engine.io.weights import load_model
from kokoro_engine.tools.metrics import duration_agreement, log_mel_distance_db
from tests.realweights import benchmark_inputs, real_model_path

pytestmark = pytest.mark.skipif(not cpu_has_fast(torch.bfloat16),
                                reason="this CPU has no native bf16 kernels (AVX512-BF16/AMX)")


@pytest.fixture(scope="module")
def models():
    path = real_model_path()
    fp32 = load_model(path, device=torch.device("cpu"), dtype=torch.float32)
    bf16 = load_model(path, device=torch.device("cpu"), dtype=torch.bfloat16)
    return fp32, bf16


@pytest.mark.parametrize("length", ["short", "medium"])
def test_bf16_within_quality_budget(models, length: str) -> None:
    fp32, bf16 = models
    ids, style = benchmark_inputs(fp32, length, "jf_alpha")
    with torch.inference_mode():
        ref_audio, ref_dur = fp32(ids, style, 1.0, torch.Generator().manual_seed(7))
        audio, dur = bf16(ids, style, 1.0, torch.Generator().manual_seed(7))
    assert bf16.compute_dtype is torch.bfloat16
    assert audio.dtype is torch.float32 and torch.isfinite(audio).all()
    assert float(audio.abs().max()) > 0.05  # speech, not silence
    assert duration_agreement(ref_dur, dur) >= 0.95
    distance = log_mel_distance_db(ref_audio.numpy(), audio.numpy())
    assert distance <= 1.0, f"bf16 is {distance:.2f} dB from fp32"
    # and it is not secretly the fp32 path: reduced precision leaves a measurable trace
    assert not torch.equal(ref_audio, audio)


def test_bf16_weights_stored_give_the_numbers_autocast_would(models) -> None:
    """The decoder's convolution and linear weights are kept in bf16 to spare a cast per forward;
    autocast over fp32 weights computes the very same audio (what runs outside autocast stays fp32)."""

    fp32, bf16 = models
    generator = bf16.decoder.generator
    assert generator.conv_post.weight.dtype is torch.float32
    assert generator.m_source.l_linear.weight.dtype is torch.float32
    assert generator.resblocks[0].convs1[0].weight.dtype is torch.bfloat16
    assert generator.resblocks[0].adain1[0].fc.weight.dtype is torch.bfloat16
    ids, style = benchmark_inputs(fp32, "short")
    with torch.inference_mode():
        stored, _ = bf16(ids, style, 1.0, torch.Generator().manual_seed(3))
        fp32.compute_dtype = torch.bfloat16  # the old way: fp32 weights, cast by autocast per call
        try:
            cast, _ = fp32(ids, style, 1.0, torch.Generator().manual_seed(3))
        finally:
            fp32.compute_dtype = torch.float32
    assert torch.equal(stored, cast)


@pytest.fixture(scope="module")
def int8_model():
    from kokoro_engine.device import int8_available

    if not int8_available():
        pytest.skip("no oneDNN int8 convolution (x86-64 with AVX2) here")
    return load_model(real_model_path(), device=torch.device("cpu"), dtype=torch.bfloat16, quantize=True)


@pytest.mark.parametrize("length", ["short", "medium"])
def test_int8_within_quality_budget(models, int8_model, length: str) -> None:
    """bf16 plus block-wise int8 residual-block convolutions, against fp32: the same budget."""
    fp32, bf16 = models
    ids, style = benchmark_inputs(fp32, length, "jm_kumo")
    with torch.inference_mode():
        ref_audio, ref_dur = fp32(ids, style, 1.0, torch.Generator().manual_seed(7))
        bf16_audio, _ = bf16(ids, style, 1.0, torch.Generator().manual_seed(7))
        audio, dur = int8_model(ids, style, 1.0, torch.Generator().manual_seed(7))
    assert int8_model.int8_convs == 48  # every residual-block convolution of both stages
    assert audio.dtype is torch.float32 and torch.isfinite(audio).all()
    assert float(audio.abs().max()) > 0.05
    assert duration_agreement(ref_dur, dur) >= 0.95
    distance = log_mel_distance_db(ref_audio.numpy(), audio.numpy())
    assert distance <= 1.0, f"int8 is {distance:.2f} dB from fp32"
    # the int8 path really ran: it is not the bf16 audio
    assert log_mel_distance_db(bf16_audio.numpy(), audio.numpy()) > 0.01

