"""Japanese (Kokoro `j`): misaki's Japanese G2P in the `cutlet` mode Kokoro v1.0 was trained with.

MeCab (fugashi) with the UniDic-lite dictionary segments and reads the text; misaki converts readings
to Kokoro's phonemes and reads numbers in Japanese. Every dictionary ships inside a PyPI wheel, so
nothing is downloaded at run time (pyopenjtalk-plus stands in for pyopenjtalk, which misaki imports
and which would otherwise fetch its dictionary on first use). Latin-script runs ("Home Assistant")
go through the English G2P instead of reaching the model as raw letters.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..normalize import normalize

if TYPE_CHECKING:
    from . import G2P

# ASCII and full-width Latin letters, with spaces/apostrophes/hyphens inside a run.
_LATIN_RUN = re.compile(r"[A-Za-zＡ-Ｚａ-ｚ](?:[A-Za-zＡ-Ｚａ-ｚ' -]*[A-Za-zＡ-Ｚａ-ｚ])?")
_FULL_WIDTH = str.maketrans({chr(c): chr(c - 0xFEE0) for c in range(0xFF21, 0xFF5B)})


class JapaneseG2P:
    lang = "j"

    def __init__(self) -> None:
        from misaki.ja import JAG2P

        self._g2p = JAG2P()  # the default "cutlet" mode, as the reference pipeline uses
        self._english: G2P | None = None  # built on first Latin-script run

    @staticmethod
    def unavailable_reason() -> str | None:
        import importlib.util

        for module, package in (("pyopenjtalk", "pyopenjtalk-plus"), ("fugashi", "fugashi"),
                                ("unidic_lite", "unidic-lite"), ("jaconv", "jaconv"), ("mojimoji", "mojimoji")):
            if importlib.util.find_spec(module) is None:
                return f"{package} is not installed; install wyoming-kokoro[ja]"
        return None

    def _latin(self, text: str) -> str:
        if self._english is None:
            from . import get_g2p

            self._english = get_g2p("a")
        return self._english.phonemize(text.translate(_FULL_WIDTH))

    def phonemize(self, text: str) -> str:
        text = normalize(text, self.lang)
        parts, last = [], 0
        for match in _LATIN_RUN.finditer(text):
            if text[last:match.start()].strip():
                parts.append(self._g2p(text[last:match.start()])[0])
            parts.append(" " + self._latin(match.group()) + " ")
            last = match.end()
        if text[last:].strip():
            parts.append(self._g2p(text[last:])[0])
        return re.sub(r"\s+", " ", "".join(parts)).strip()
