"""Mandarin (Kokoro `z`): misaki's Chinese G2P as Kokoro v1.0 was trained with it.

jieba segments words, pypinyin gives tone-numbered pinyin (with misaki's tone handling), cn2an rewrites
Arabic numerals as Chinese numerals so numbers are read in Chinese. Latin-script runs (brand names,
"Home Assistant") go through the English G2P instead of being passed through as raw letters.
"""

from __future__ import annotations

import logging
import re
import tempfile
from typing import TYPE_CHECKING

from ..normalize import normalize

if TYPE_CHECKING:
    from . import G2P

_LOGGER = logging.getLogger(__name__)
_LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z' -]*[A-Za-z]|[A-Za-z]")


class ChineseG2P:
    lang = "z"

    def __init__(self) -> None:
        import jieba
        from misaki.zh import ZHG2P

        # jieba logs its dictionary load on every start and caches into the working directory by
        # default; keep it quiet and in the temp folder (a read-only install must still work).
        jieba.setLogLevel(logging.WARNING)
        jieba.dt.tmp_dir = tempfile.gettempdir()
        self._g2p = ZHG2P()
        self._english: G2P | None = None  # built on first Latin-script run

    @staticmethod
    def unavailable_reason() -> str | None:
        import importlib.util

        for module in ("jieba", "pypinyin", "cn2an", "misaki"):
            if importlib.util.find_spec(module) is None:
                return f"{module} is not installed (pip install \"misaki[zh]\")"
        return None

    def _latin(self, text: str) -> str:
        if self._english is None:
            from . import get_g2p

            self._english = get_g2p("a")
        return self._english.phonemize(text)

    def phonemize(self, text: str) -> str:
        text = normalize(text, self.lang)
        parts, last = [], 0
        for match in _LATIN_RUN.finditer(text):
            parts.append(self._g2p(text[last:match.start()])[0])
            parts.append(" " + self._latin(match.group()) + " ")
            last = match.end()
        parts.append(self._g2p(text[last:])[0])
        return re.sub(r"\s+", " ", "".join(parts)).strip()
