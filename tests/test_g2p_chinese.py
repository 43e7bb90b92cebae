"""Mandarin: tones, numbers read in Chinese, Latin names spoken, all inside the vocabulary."""

from __future__ import annotations

import pytest

from kokoro_engine.config import load_config
from kokoro_engine.text.g2p import get_g2p, language_status

VOCAB = set(load_config().vocab)


@pytest.fixture(scope="module")
def g2p():
    assert language_status()["z"] is None
    return get_g2p("z")


@pytest.mark.parametrize("sentence", ["你好，今天是23号。", "客厅的灯已经打开了。", "现在室温是21度。"])
def test_sentences_in_vocabulary(g2p, sentence):
    phonemes = g2p.phonemize(sentence)
    assert len(phonemes) > 5 and set(phonemes) <= VOCAB, set(phonemes) - VOCAB


def test_tones_are_marked(g2p):
    # 妈 first tone, 麻 second, 马 third, 骂 fourth: four different tone arrows.
    assert [g2p.phonemize(c)[-1] for c in "妈麻马骂"] == ["→", "↗", "↓", "↘"]


def test_numbers_are_read_in_chinese(g2p):
    assert g2p.phonemize("23") == g2p.phonemize("二十三")
    assert "twɛnti" not in g2p.phonemize("23")


def test_latin_names_are_spoken_not_dropped(g2p):
    mixed = g2p.phonemize("我通过Home Assistant打开了灯。")
    assert "hˈOm" in mixed and set(mixed) <= VOCAB


def test_full_width_latin_is_spoken_as_english_like_in_japanese(g2p):
    # One Latin-run rule for both scripts (kokoro_engine.text.g2p.latin_runs_in_english): full-width
    # letters, common in Chinese text, used to reach the vocabulary filter as raw letters.
    full, ascii_ = g2p.phonemize("我用Ｗｉｆｉ。"), g2p.phonemize("我用Wifi。")
    assert full == ascii_ and "wˈIfI" in full and set(full) <= VOCAB
    assert get_g2p("j").phonemize("Ｗｉｆｉ") == get_g2p("a").phonemize("Wifi")
