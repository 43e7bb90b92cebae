"""FFT (overlap-save) convolutions for the fp32 generator: the same numbers as the direct
convolution to fp32 rounding, on the generator's real shapes, and the same speech from the model."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from kokoro_engine.model.fftconv import FFTConv1d, probe
from kokoro_engine.model.generator import ChannelsLastConv1d, channels_last


@pytest.mark.parametrize("kernel", [11, 7, 3])
@pytest.mark.parametrize("dilation", [1, 3, 5])
@pytest.mark.parametrize("n_fft", [256, 512])
@pytest.mark.parametrize("width", [1, 37, 461, 462, 4_801])
def test_fft_convolution_equals_the_direct_one_to_fp32_rounding(kernel, dilation, n_fft, width):
    torch.manual_seed(kernel * 100 + dilation)
    conv = nn.Conv1d(128, 128, kernel, dilation=dilation, padding=dilation * (kernel - 1) // 2)
    x = torch.randn(1, 128, width)
    with torch.inference_mode():
        ref = conv(x)
        for source, layout in ((conv, x), (ChannelsLastConv1d(conv), channels_last(x))):
            out = FFTConv1d(source, n_fft)(layout)
            assert out.shape == ref.shape
            assert (out - ref).abs().max() <= 1e-5 * ref.abs().max()


def test_fft_convolution_refuses_what_it_cannot_do():
    with pytest.raises(ValueError):
        FFTConv1d(nn.Conv1d(8, 8, 11, stride=2, padding=5), 256)
    with pytest.raises(ValueError):
        FFTConv1d(nn.Conv1d(8, 8, 11, dilation=5, padding=25), 64)  # shorter than the receptive field
    with pytest.raises(ValueError):
        FFTConv1d(nn.Conv1d(8, 8, 3, padding=1), 256)(torch.randn(2, 8, 10))


def test_probe_times_every_candidate_and_picks_a_winner_or_none():
    conv = nn.Conv1d(128, 128, 11, dilation=5, padding=25)
    n_fft, medians = probe(conv, channels_last=False, frames=2_000, rounds=1, sizes=(256, 512))
    assert set(medians) == {"direct", "fft256", "fft512"} and all(t > 0 for t in medians.values())
    assert n_fft is None or medians[f"fft{n_fft}"] == min(medians[f"fft{n}"] for n in (256, 512))


def test_the_fp32_model_speaks_the_same_with_fft_convolutions():
    """Every 128-channel kernel-7 and kernel-11 residual convolution by FFT: the audio is the direct
    path's within fp32 noise (the same seed), and every duration is equal."""
    from kokoro_engine.io.weights import load_model
    from kokoro_engine.model.fftconv import FFTConv1d as Fft
    from kokoro_engine.tools.metrics import log_mel_distance_db
    from tests.realweights import benchmark_inputs, real_model_path

    direct = load_model(real_model_path(), dtype=torch.float32, quantize=False, fft=False)
    fft = load_model(real_model_path(), dtype=torch.float32, quantize=False, fft=True)
    # The last stage: the kernel-7 and kernel-11 blocks and the source path's kernel-11 block, 6 each.
    assert sum(isinstance(m, Fft) for m in fft.modules()) == 18
    ids, style = benchmark_inputs(direct, "short")
    with torch.inference_mode():
        a, da = direct(ids, style, 1.0, torch.Generator().manual_seed(0))
        b, db = fft(ids, style, 1.0, torch.Generator().manual_seed(0))
    assert torch.equal(da, db)
    assert (a - b).abs().max() < 1e-3 * a.abs().max()
    assert log_mel_distance_db(a.numpy(), b.numpy()) < 0.05
