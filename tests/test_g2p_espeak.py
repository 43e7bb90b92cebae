"""Spanish, French, Hindi, Italian, Brazilian Portuguese: phonemes in the language, inside the vocabulary."""

from __future__ import annotations

import pytest

from kokoro_engine.config import load_config
from kokoro_engine.text.g2p import get_g2p, language_status

VOCAB = set(load_config().vocab)

SENTENCES = {
    "e": ["Hola, ¿cómo estás?", "Son las 23 horas.", "La temperatura es de 21 grados en la cocina."],
    "f": ["Bonjour, comment ça va ?", "Il est 23 heures.", "La porte d'entrée est fermée à clé."],
    "h": ["नमस्ते, आप कैसे हैं?", "आज 23 तारीख है।", "रसोई की बत्ती जल रही है।"],
    "i": ["Ciao, come stai?", "Sono le 23.", "Le luci della cucina sono accese."],
    "p": ["Olá, tudo bem?", "São 23 horas.", "A porta da frente está trancada."],
}


@pytest.mark.parametrize("lang", sorted(SENTENCES))
def test_sentences_give_in_vocabulary_phonemes(lang):
    assert language_status()[lang] is None
    g2p = get_g2p(lang)
    assert g2p.lang == lang
    for sentence in SENTENCES[lang]:
        phonemes = g2p.phonemize(sentence)
        assert len(phonemes) >= 5, sentence
        assert set(phonemes) <= VOCAB, set(phonemes) - VOCAB


@pytest.mark.parametrize(("lang", "word", "expected", "absent"), [
    ("e", "hola", "ˈola", "h"),          # Spanish h is silent
    ("i", "ciao", "ʧ", "s"),             # Italian ci- is an affricate
    ("f", "bonjour", "ɔ̃", "n"),          # French nasal vowel, no n
    ("p", "obrigado", "dʊ", "θ"),         # Brazilian final unstressed o is ʊ
])
def test_words_sound_like_their_language(lang, word, expected, absent):
    phonemes = get_g2p(lang).phonemize(word)
    assert expected in phonemes and absent not in phonemes, phonemes


@pytest.mark.parametrize(("lang", "fragment"), [
    ("e", "tɾˈes"),   # veintitrés
    ("i", "ventitr"),  # ventitré
    ("f", "vɛ̃t"),     # vingt-trois
    ("p", "vˈiŋ"),    # vinte e três
])
def test_numbers_are_read_in_the_language(lang, fragment):
    phonemes = get_g2p(lang).phonemize("23")
    assert fragment in phonemes and "twɛnti" not in phonemes, phonemes


def test_out_of_vocabulary_symbols_are_dropped_and_counted():
    g2p = get_g2p("e")
    before = sum(g2p.dropped.values())
    phonemes = g2p.phonemize("¿Qué hora es?")
    assert "¿" not in phonemes and set(phonemes) <= VOCAB
    assert sum(g2p.dropped.values()) > before
