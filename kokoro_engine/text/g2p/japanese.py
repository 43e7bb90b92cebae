"""Japanese (Kokoro `j`): misaki's Japanese G2P in the `cutlet` mode Kokoro v1.0 was trained with.

MeCab (fugashi) with the UniDic-lite dictionary segments and reads the text; misaki converts readings
to Kokoro's phonemes and reads numbers in Japanese. Every dictionary ships inside a PyPI wheel, so
nothing is downloaded at run time (pyopenjtalk-plus stands in for pyopenjtalk, which misaki imports
and which would otherwise fetch its dictionary on first use). Latin-script runs ("Home Assistant")
go through the English G2P instead of reaching the model as raw letters.
"""

from __future__ import annotations

from kokoro_engine.text.g2p import latin_runs_in_english
from kokoro_engine.text.normalize import normalize


class JapaneseG2P:
    lang = "j"

    def __init__(self) -> None:
        from misaki.ja import JAG2P

        self._g2p = JAG2P()  # the default "cutlet" mode, as the reference pipeline uses

    @staticmethod
    def unavailable_reason() -> str | None:
        import importlib.util

        for module, package in (("pyopenjtalk", "pyopenjtalk-plus"), ("fugashi", "fugashi"),
                                ("unidic_lite", "unidic-lite"), ("jaconv", "jaconv"), ("mojimoji", "mojimoji")):
            if importlib.util.find_spec(module) is None:
                return f"{package} is not installed; install wyoming-kokoro[ja]"
        return None

    def phonemize(self, text: str) -> str:
        return latin_runs_in_english(normalize(text, self.lang), lambda part: self._g2p(part)[0])
