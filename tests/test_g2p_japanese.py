"""Japanese: offline G2P, numbers in Japanese, English names spoken, and real speech from the real voices."""

from __future__ import annotations

import numpy as np
import pytest

from kokoro_engine.config import load_config
from kokoro_engine.g2p import get_g2p, language_status

pytest.importorskip("fugashi", reason="Japanese needs the [ja] extra (script/setup installs it)")

VOCAB = set(load_config().vocab)


@pytest.fixture(scope="module")
def g2p():
    assert language_status()["j"] is None
    return get_g2p("j")


@pytest.mark.parametrize("sentence", ["こんにちは、今日は23日です。", "キッチンの電気をつけました。",
                                      "玄関のドアは閉まっています。"])
def test_sentences_in_vocabulary(g2p, sentence):
    phonemes = g2p.phonemize(sentence)
    assert len(phonemes) > 5 and set(phonemes) <= VOCAB, set(phonemes) - VOCAB


def test_fixed_words(g2p):
    assert g2p.phonemize("こんにちは") == "koɲɲiʨiβa"
    assert g2p.phonemize("ありがとう") == "aɾʲiɡatoː"  # palatalized r before i, long o


def test_numbers_are_read_in_japanese(g2p):
    assert g2p.phonemize("23") == g2p.phonemize("二十三")
    assert "saɴ" in g2p.phonemize("23")


def test_english_inside_japanese_is_spoken(g2p):
    mixed = g2p.phonemize("Home Assistantをオンにしました。")
    assert "hˈOm" in mixed and "maɕita" in mixed and set(mixed) <= VOCAB


def test_real_japanese_speech_with_real_voices():
    import torch

    from kokoro_engine.metrics import log_mel_distance_db
    from kokoro_engine.pipeline import KokoroEngine
    from tests.realweights import real_model_path

    torch.set_num_threads(2)
    engine = KokoroEngine.load(real_model_path(), device="cpu")
    text = "キッチンの電気をつけました。"

    def speak(voice: str) -> np.ndarray:
        return np.concatenate([c.audio for c in engine.synthesize(text, voice, seed=0)])

    alpha, kumo = speak("jf_alpha"), speak("jm_kumo")
    for audio in (alpha, kumo):
        # 14 kana-ish morae: roughly 1.2-4 s of speech, clearly not silence.
        assert 1.2 < len(audio) / 24000 < 4.0
        assert np.sqrt((audio**2).mean()) > 0.01
    assert log_mel_distance_db(alpha, kumo) > 3.0
