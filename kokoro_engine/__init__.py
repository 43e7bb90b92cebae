"""Kokoro-82M inference: text → phonemes → ≤ 510-token chunks → 24 kHz speech.

Knows nothing about Wyoming. The package is grouped by job: `text/` (normalization, sentences and
chunks, SSML, lexicon, G2P), `model/` (the network), `io/` (config, weights, voices, where the data
lives), `tools/` (benchmark, accuracy, metrics), and beside them `pipeline` (the `KokoroEngine`),
`device` and `memory`. What a caller such as the server needs is exported here; each name is imported
on first use, so `import kokoro_engine` stays cheap (no torch, spaCy or language extras until asked for).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from kokoro_engine.audio import SAMPLE_RATE

__version__ = "0.1.0"

_EXPORTS = {
    "kokoro_engine.errors": ("KokoroError", "EngineError", "ErrorCode", "NothingToSpeak", "BadSSML",
                             "VoiceUnusable"),
    "kokoro_engine.limits": ("SPEED_MIN", "SPEED_MAX", "MAX_BLEND_PARTS", "MAX_SSML_DEPTH", "MAX_SSML_VOICES", "MAX_VOICE_EXPR_CHARS",
                             "clamp_speed"),
    "kokoro_engine.pipeline": ("KokoroEngine", "AudioChunk"),
    "kokoro_engine.io.voices": ("VoiceLibrary", "VoicePack", "VoiceSpec", "VoiceError", "VoiceNotFound", "parse_voice_expression",
                                "plain_voice_name"),
    "kokoro_engine.io.assets": ("AssetError", "FULL_MODEL_NAMES", "ensure_pip_model", "find_model",
                                "model_or_default", "sha256_file"),
    "kokoro_engine.text.g2p": ("G2PUnavailable", "UnknownLanguage", "language_last_use", "language_status",
                               "resolve_lang", "unload_languages"),
    "kokoro_engine.text.chunking": ("SENTENCE_BREAKS", "split_sentences"),
    "kokoro_engine.text.lexicon": ("Lexicon", "LexiconError", "find_default_files"),
    "kokoro_engine.text.normalize": ("strip_markdown",),
    "kokoro_engine.text.ssml": ("Segment", "is_ssml", "parse_ssml", "strip_tags", "voice_names"),
    "kokoro_engine.text.speakable": ("check_segments", "check_speakable"),
    "kokoro_engine.text.streaming": ("SentenceBuffer",),
    "kokoro_engine.device": ("cpu_class", "dtype_name", "kernels_in_use", "resolve_device", "resolve_dtype",
                             "resolve_quantize"),
    "kokoro_engine.memory": ("glibc_allocator", "prefault_free_memory", "release_free_memory", "resident_bytes",
                             "tune_allocator"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = [  # the names of _EXPORTS, spelled out for linters and `from kokoro_engine import *`
    "SAMPLE_RATE", "__version__", "AssetError", "AudioChunk", "cpu_class", "dtype_name", "EngineError", "ErrorCode", "ensure_pip_model",
    "find_default_files", "find_model", "FULL_MODEL_NAMES", "G2PUnavailable", "glibc_allocator",
    "is_ssml", "kernels_in_use", "KokoroEngine", "language_last_use", "language_status", "Lexicon", "LexiconError", "model_or_default",
    "parse_ssml", "parse_voice_expression", "prefault_free_memory", "release_free_memory", "resident_bytes",
    "resolve_device", "resolve_dtype", "resolve_lang", "resolve_quantize", "SENTENCE_BREAKS",
    "sha256_file", "split_sentences", "strip_markdown", "strip_tags", "tune_allocator",
    "UnknownLanguage", "voice_names", "VoiceError", "VoiceLibrary", "VoicePack", "VoiceSpec", "VoiceUnusable",
    "BadSSML", "check_segments", "check_speakable", "clamp_speed", "KokoroError", "MAX_BLEND_PARTS", "MAX_SSML_DEPTH",
    "MAX_SSML_VOICES", "MAX_VOICE_EXPR_CHARS", "NothingToSpeak", "Segment", "plain_voice_name", "SentenceBuffer", "SPEED_MAX", "SPEED_MIN",
    "unload_languages", "VoiceNotFound",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'kokoro_engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_MODULE_OF})


if TYPE_CHECKING:  # the same names, for type checkers
    from kokoro_engine.device import (
        cpu_class,
        dtype_name,
        kernels_in_use,
        resolve_device,
        resolve_dtype,
        resolve_quantize,
    )
    from kokoro_engine.errors import (
        BadSSML,
        EngineError,
        ErrorCode,
        KokoroError,
        NothingToSpeak,
        VoiceUnusable,
    )
    from kokoro_engine.io.assets import (
        FULL_MODEL_NAMES,
        AssetError,
        ensure_pip_model,
        find_model,
        model_or_default,
        sha256_file,
    )
    from kokoro_engine.io.voices import (
        VoiceError,
        VoiceLibrary,
        VoiceNotFound,
        VoicePack,
        VoiceSpec,
        parse_voice_expression,
        plain_voice_name,
    )
    from kokoro_engine.limits import (
        MAX_BLEND_PARTS,
        MAX_SSML_DEPTH,
        MAX_SSML_VOICES,
        MAX_VOICE_EXPR_CHARS,
        SPEED_MAX,
        SPEED_MIN,
        clamp_speed,
    )
    from kokoro_engine.memory import (
        glibc_allocator,
        prefault_free_memory,
        release_free_memory,
        resident_bytes,
        tune_allocator,
    )
    from kokoro_engine.pipeline import AudioChunk, KokoroEngine
    from kokoro_engine.text.chunking import SENTENCE_BREAKS, split_sentences
    from kokoro_engine.text.g2p import (
        G2PUnavailable,
        UnknownLanguage,
        language_last_use,
        language_status,
        resolve_lang,
        unload_languages,
    )
    from kokoro_engine.text.lexicon import Lexicon, LexiconError, find_default_files
    from kokoro_engine.text.normalize import strip_markdown
    from kokoro_engine.text.speakable import check_segments, check_speakable
    from kokoro_engine.text.ssml import Segment, is_ssml, parse_ssml, strip_tags, voice_names
    from kokoro_engine.text.streaming import SentenceBuffer
