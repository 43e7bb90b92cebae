"""Japanese (Kokoro `j`): misaki's Japanese G2P in the `cutlet` mode Kokoro v1.0 was trained with.

MeCab (fugashi) with the UniDic-lite dictionary segments and reads the text; misaki converts readings
to Kokoro's phonemes and reads numbers in Japanese. Every dictionary ships inside a PyPI wheel, so
nothing is downloaded at run time (pyopenjtalk-plus stands in for pyopenjtalk, which misaki imports
and which would otherwise fetch its dictionary on first use). Latin-script runs ("Home Assistant")
go through the English G2P instead of reaching the model as raw letters.
"""

from __future__ import annotations

import importlib
import re
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

from kokoro_engine.text.g2p import latin_runs_in_english
from kokoro_engine.text.normalize import normalize

# cutlet groups a run of tokens of one character type by trying every prefix of it (cubic in the run:
# 600 brackets took 10 s, 2,000 took 75 s). A run of marks says nothing more than its first few, and
# native text goes to misaki in pieces of a bounded length, cut after a mark where there is one.
_MARK_RUN = re.compile(r"[^\w\s]{9,}")
_NATIVE_PIECE = 200
_PIECE_ENDS = "、。，．！？!?,. \u3000"


def _bounded(read: Callable[[str], str]) -> Callable[[str], str]:
    def bounded(part: str) -> str:
        part = _MARK_RUN.sub(lambda m: m.group()[:8], part)
        out, start = [], 0
        while len(part) - start > _NATIVE_PIECE:
            end = start + _NATIVE_PIECE
            cut = max(part.rfind(c, start + _NATIVE_PIECE // 2, end) for c in _PIECE_ENDS) + 1
            cut = cut if cut > start else end
            out.append(read(part[start:cut]))
            start = cut
        out.append(read(part[start:]))
        return " ".join(p for p in out if p)
    return bounded


_import_lock = threading.Lock()


def _deferred_module(name: str) -> types.ModuleType:
    """A stand-in for module `name` that imports the real one at its first attribute lookup."""
    stand_in = types.ModuleType(name)

    def __getattr__(attr: str) -> Any:
        return getattr(importlib.import_module(name), attr)

    stand_in.__getattr__ = __getattr__  # type: ignore[method-assign]  # PEP 562: a module's own __getattr__
    return stand_in


def _import_misaki_ja() -> Any:
    """`misaki.ja` without executing pyopenjtalk. misaki imports it at the top of the module but calls
    it only in its "pyopenjtalk" mode, never in the "cutlet" mode Kokoro uses; pyopenjtalk-plus loads
    ONNX Runtime and pydantic as it is imported (59 MB resident). So misaki is handed a stand-in that
    imports the real module if anything ever reads from it; everyone else still imports the real one."""
    with _import_lock:
        if "misaki.ja" in sys.modules or "pyopenjtalk" in sys.modules:
            return importlib.import_module("misaki.ja")
        sys.modules["pyopenjtalk"] = _deferred_module("pyopenjtalk")
        try:
            return importlib.import_module("misaki.ja")
        finally:
            del sys.modules["pyopenjtalk"]


class JapaneseG2P:
    lang = "j"

    def __init__(self) -> None:
        self._g2p = _import_misaki_ja().JAG2P()  # the default "cutlet" mode, as the reference pipeline uses

    @staticmethod
    def unavailable_reason() -> str | None:
        import importlib.util

        for module, package in (("pyopenjtalk", "pyopenjtalk-plus"), ("fugashi", "fugashi"),
                                ("unidic_lite", "unidic-lite"), ("jaconv", "jaconv"), ("mojimoji", "mojimoji")):
            if importlib.util.find_spec(module) is None:
                return f"{package} is not installed; install wyoming-kokoro[ja]"
        return None

    def phonemize(self, text: str) -> str:
        return latin_runs_in_english(normalize(text, self.lang), _bounded(lambda part: self._g2p(part)[0]))
