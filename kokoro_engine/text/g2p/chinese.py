"""Mandarin (Kokoro `z`): misaki's Chinese G2P as Kokoro v1.0 was trained with it.

jieba segments words, pypinyin gives tone-numbered pinyin (with misaki's tone handling), cn2an rewrites
Arabic numerals as Chinese numerals so numbers are read in Chinese. Latin-script runs (brand names,
"Home Assistant") go through the English G2P instead of being passed through as raw letters.
"""

from __future__ import annotations

import logging
import tempfile

from kokoro_engine.text.g2p import latin_runs_in_english
from kokoro_engine.text.normalize import normalize


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

    @staticmethod
    def unavailable_reason() -> str | None:
        import importlib.util

        for module in ("jieba", "pypinyin", "cn2an", "misaki"):
            if importlib.util.find_spec(module) is None:
                return f"{module} is not installed (pip install \"misaki[zh]\")"
        return None

    def phonemize(self, text: str) -> str:
        return latin_runs_in_english(normalize(text, self.lang), lambda part: self._g2p(part)[0])
