"""Japanese: offline G2P, numbers in Japanese, English names spoken, and real speech from the real voices."""

from __future__ import annotations

import numpy as np
import pytest

from kokoro_engine.config import load_config
from kokoro_engine.text.g2p import get_g2p, language_status

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

    from kokoro_engine.pipeline import KokoroEngine
    from kokoro_engine.tools.metrics import log_mel_distance_db
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


MIXED = "abc ١٢٣ def"  # Arabic-Indic digits beside Latin words: misaki's number reader raises KeyError


def test_mixed_script_digits_raise_in_misaki_itself(g2p):
    # the fault the fallback exists for: if misaki stops raising, the tests below prove nothing
    with pytest.raises(KeyError):
        g2p.phonemize(MIXED)


def test_g2p_fault_falls_back_and_is_spoken(caplog):
    import torch

    from kokoro_engine.pipeline import KokoroEngine
    from tests.realweights import real_model_path

    torch.set_num_threads(2)
    engine = KokoroEngine.load(real_model_path(), device="cpu")
    with caplog.at_level("WARNING", logger="kokoro_engine.text.g2p"):
        audio = np.concatenate([c.audio for c in engine.synthesize(MIXED, "jf_alpha", seed=0)])
    assert len(audio) / 24000 > 0.5 and np.sqrt((audio**2).mean()) > 0.01
    warnings = [r for r in caplog.records if "G2P failed" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].exc_info is None  # once, no traceback


def test_g2p_fallback_word_by_word_leaves_out_only_what_fails(caplog):
    from kokoro_engine.text.g2p import tolerant

    def fussy(text: str) -> str:
        if "bad" in text:
            raise RuntimeError("cannot read bad")
        return text.upper()

    with caplog.at_level("WARNING", logger="kokoro_engine.text.g2p"):
        assert tolerant(fussy, "j")("good bad fine") == "GOOD FINE"
        assert tolerant(fussy, "j")("all fine") == "ALL FINE"
    assert [r.getMessage().count("leaving out 'bad'") for r in caplog.records] == [1]


JA_SENTENCES = ["こんにちは、今日は23日です。", "キッチンの電気をつけました。", "玄関のドアは閉まっています。",
                "明日の最高気温は28度、降水確率は40%です。"]


def test_japanese_g2p_leaves_pyopenjtalk_unloaded_and_reads_as_misaki_does():
    """Kokoro's "cutlet" mode never calls pyopenjtalk, which misaki imports at its top and which
    loads ONNX Runtime and pydantic as it is imported: the Japanese G2P is built and used with none of
    them executed, and reads every sentence as misaki imported the plain way does (another process)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    ours = ("import json, sys\nfrom kokoro_engine.text.g2p.japanese import JapaneseG2P\n"
            "g = JapaneseG2P()\nout = [g._g2p(s)[0] for s in json.loads(sys.argv[1])]\n"
            "print(json.dumps([out, [m for m in ('pyopenjtalk', 'onnxruntime', 'pydantic') if m in sys.modules]]))")
    plain = ("import json, sys\nimport pyopenjtalk\nfrom misaki.ja import JAG2P\ng = JAG2P()\n"
             "print(json.dumps([g(s)[0] for s in json.loads(sys.argv[1])]))")
    run = [sys.executable, "-c"]
    out, loaded = json.loads(subprocess.run([*run, ours, json.dumps(JA_SENTENCES)], check=True, cwd=root, env=env,
                                            capture_output=True, text=True).stdout)
    reference = json.loads(subprocess.run([*run, plain, json.dumps(JA_SENTENCES)], check=True, cwd=root, env=env,
                                          capture_output=True, text=True).stdout)
    assert loaded == []
    assert out == reference and all(out)


def test_the_stand_in_imports_pyopenjtalk_when_read(g2p):
    import sys

    import misaki.ja

    assert callable(misaki.ja.pyopenjtalk.run_frontend)  # pyopenjtalk's mode still works
    assert "pyopenjtalk" in sys.modules
