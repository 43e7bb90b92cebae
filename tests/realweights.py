"""Real Kokoro-82M weights for tests: the pip-shipped int8 export, imported once and cached.

The cache lives in `<repo>/.cache` (gitignored), so a warm suite skips the ~10 s import.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch

from kokoro_engine.io.assets import ensure_pip_model, pip_int8_onnx_path

CACHE = Path(__file__).resolve().parent.parent / ".cache"


@functools.cache
def onnx_path() -> Path:
    return pip_int8_onnx_path(CACHE)


@functools.cache
def real_model_path() -> Path:
    return ensure_pip_model(CACHE, onnx_cache=CACHE)


def benchmark_inputs(model, length: str, voice: str = "jf_alpha") -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids and the voice's style row for one of the benchmark's texts (English G2P)."""
    from kokoro_engine.text.g2p import get_g2p
    from kokoro_engine.tools.benchmark import TEXTS

    phonemes = get_g2p("a").phonemize(TEXTS[length])
    return torch.tensor([[0, *model.tokenize(phonemes), 0]]), voice_pack(voice)[len(phonemes) - 1]


def voice_pack(name: str = "jf_alpha") -> torch.Tensor:
    from kokoro_engine.io.voices import VoiceLibrary

    return VoiceLibrary().get(name).tensor


def ort_synthesize(tokens: list[int], style_row: torch.Tensor, speed: float = 1.0) -> np.ndarray:
    """The same int8 model on ONNX Runtime (its iSTFT carries a fixed 1.5x gain)."""
    session = _session()
    feed = {"tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": style_row.reshape(1, 256).numpy().astype(np.float32),
            "speed": np.array([speed], dtype=np.float32)}
    return session.run(None, feed)[0]


@functools.cache
def _session():
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    return ort.InferenceSession(str(onnx_path()), options, providers=["CPUExecutionProvider"])
