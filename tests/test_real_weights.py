"""Real speech: our model on the imported weights matches ONNX Runtime on the same int8 model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kokoro_engine.io.weights import load_model
from kokoro_engine.tools.metrics import log_mel_distance_db
from tests.realweights import ort_synthesize, real_model_path, voice_pack

PHRASES = [
    "ðə kˈɪʧən lˈaɪts ɑːɹ nˈaʊ ˈɑn.",
    "ɪts twˈɛnti wˈʌn dəɡɹˈiz ɪnsˈaɪd, ænd ðə fɹˈʌnt dˈɔɹ ɪz lˈɑkt.",
]


@pytest.fixture(scope="module")
def renderings():
    torch.set_num_threads(2)
    model = load_model(real_model_path())
    pack = voice_pack("jf_alpha")
    out = []
    for phonemes in PHRASES:
        ids = model.tokenize(phonemes)
        style = pack[len(phonemes) - 1]  # the reference's row choice, given to both runtimes
        with torch.inference_mode():
            ours, durations = model(torch.tensor([[0, *ids, 0]]), style, 1.0, torch.Generator().manual_seed(0))
        out.append((ours.numpy(), ort_synthesize(ids, style), durations))
    return out


@pytest.mark.parametrize("index", range(len(PHRASES)))
def test_matches_onnx_runtime(renderings, index):
    ours, theirs, durations = renderings[index]
    assert abs(len(ours) - len(theirs)) / len(theirs) <= 0.05
    assert np.sqrt((ours**2).mean()) > 0.01, "silence"
    # Log-mel distance after aligning duration and the export's fixed 1.5x iSTFT gain.
    assert log_mel_distance_db(ours, theirs) <= 2.5
    # Speech-like durations: several frames per phoneme on average, not all clamped to 1.
    assert 2 <= durations.float().mean() <= 20


def test_unrelated_speech_is_far(renderings):
    (a, _, _), (_, b, _) = renderings
    related = max(log_mel_distance_db(o, t) for o, t, _ in renderings)
    unrelated = log_mel_distance_db(a, b)
    assert unrelated > 5.0 and unrelated > 2.5 * related


def test_voices_differ(renderings):
    model = load_model(real_model_path())
    ids = torch.tensor([[0, *model.tokenize(PHRASES[0]), 0]])
    with torch.inference_mode():
        a, _ = model(ids, voice_pack("jf_alpha")[len(PHRASES[0]) - 1], 1.0, torch.Generator().manual_seed(0))
        b, _ = model(ids, voice_pack("jm_kumo")[len(PHRASES[0]) - 1], 1.0, torch.Generator().manual_seed(0))
    assert log_mel_distance_db(a.numpy(), b.numpy()) > 1.5 * log_mel_distance_db(*renderings[0][:2])
