"""Spanish, French, Hindi, Italian and Brazilian Portuguese through espeak-ng (misaki's espeak G2P).

As in the reference pipeline for Kokoro v1.0: espeak-ng phonemizes with stress marks in the voice's
language (numbers are read by espeak in that language), misaki maps its diphthongs and affricates to
Kokoro's single-character symbols, and anything still outside Kokoro's vocabulary is dropped here,
counted and logged, so no unknown symbol ever reaches the model.
"""

from __future__ import annotations

import logging
from collections import Counter

from kokoro_engine.text.normalize import normalize

_LOGGER = logging.getLogger(__name__)


def use_bundled_espeak() -> None:
    """Point phonemizer (and so misaki) at the espeak-ng library and voice data inside the
    espeakng-loader wheel, never at a system install: same espeak-ng everywhere, nothing to apt-get.
    Called before anything imports `misaki.espeak`, which would otherwise pick its own."""
    import espeakng_loader
    from phonemizer.backend.espeak.wrapper import EspeakWrapper

    EspeakWrapper.set_library(espeakng_loader.get_library_path())
    EspeakWrapper.set_data_path(espeakng_loader.get_data_path())


class EspeakG2P:
    def __init__(self, lang: str, voice: str):
        use_bundled_espeak()
        from misaki.espeak import EspeakG2P as MisakiEspeak

        from kokoro_engine.config import phoneme_set

        self.lang = lang
        self.voice = voice
        self._g2p = MisakiEspeak(language=voice)
        self._vocab = phoneme_set()
        self.dropped: Counter[str] = Counter()

    @staticmethod
    def unavailable_reason(lang: str, voice: str) -> str | None:
        import importlib.util

        for module, package in (("misaki", "misaki"), ("phonemizer", "phonemizer-fork"),
                                ("espeakng_loader", "espeakng-loader")):
            if importlib.util.find_spec(module) is None:
                return f"{package} is not installed"
        return None

    def phonemize(self, text: str) -> str:
        phonemes, _ = self._g2p(normalize(text, self.lang))
        kept = "".join(c for c in phonemes if c in self._vocab)
        if len(kept) != len(phonemes):
            dropped = Counter(c for c in phonemes if c not in self._vocab)
            self.dropped.update(dropped)
            _LOGGER.debug("%s: dropped %d symbol(s) outside Kokoro's vocabulary: %s", self.voice,
                          sum(dropped.values()), "".join(sorted(dropped)))
        return kept
