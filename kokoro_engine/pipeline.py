"""Text → normalized text → phonemes → ≤ 510-token chunks → audio, one chunk at a time."""

from __future__ import annotations

import itertools
import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import SAMPLE_RATE
from .chunking import MAX_TOKENS, chunk_phonemes, count_tokens, iter_text_chunks, split_first_clause
from .g2p import G2PUnavailable, UnknownLanguage, get_g2p, resolve_lang
from .model import KokoroModel
from .voices import VoiceError, VoiceLibrary, VoiceNotFound, VoicePack

_LOGGER = logging.getLogger(__name__)
_SILENT = frozenset(';:,.!?—…"()“” ')


class EngineError(ValueError):
    """A request the engine cannot speak, with a message fit for the user."""


@dataclass
class AudioChunk:
    audio: np.ndarray  # float32 mono at 24 kHz
    text: str
    phonemes: str
    tokens: int

    @property
    def seconds(self) -> float:
        return len(self.audio) / SAMPLE_RATE


class AudioCache:
    """Recently spoken texts, least recently used first out, bounded by the bytes of audio held.

    Home Assistant repeats itself ("Turned on the lights"): a hit answers instantly instead of
    re-synthesizing. Thread-safe; entries are immutable lists of chunks.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = max(0, int(max_bytes))
        self._entries: OrderedDict[tuple, list[AudioChunk]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: tuple) -> list[AudioChunk] | None:
        with self._lock:
            chunks = self._entries.get(key)
            if chunks is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return chunks

    def put(self, key: tuple, chunks: list[AudioChunk]) -> None:
        size = sum(c.audio.nbytes for c in chunks)
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= sum(c.audio.nbytes for c in old)
            self._entries[key] = chunks
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= sum(c.audio.nbytes for c in evicted)


class KokoroEngine:
    sample_rate = SAMPLE_RATE

    def __init__(self, model: KokoroModel, voices: VoiceLibrary, device: torch.device | str | None = None,
                 cache_bytes: int = 0):
        self.model = model
        self.voices = voices
        self.device = torch.device(device) if device is not None else model.device
        self.cache = AudioCache(cache_bytes) if cache_bytes > 0 else None

    @classmethod
    def load(cls, model_path: str | Path | None = None, *, voices_dirs: Iterable[str | Path] = (),
             device: str = "auto", dtype: str | None = None, stft: str = "auto",
             quantize: str | None = None, cache_bytes: int = 0) -> KokoroEngine:
        from .assets import default_model_search_paths, find_model
        from .device import default_stft, resolve_device, resolve_dtype, resolve_quantize
        from .weights import load_model

        if model_path is None:
            places = default_model_search_paths()
            model_path = find_model(places)
            if model_path is None:
                raise EngineError("no Kokoro model found; looked in " + ", ".join(str(p) for p in places))
        torch_device = resolve_device(device)
        model = load_model(model_path, device=torch_device, dtype=resolve_dtype(dtype, torch_device),
                           stft=default_stft(torch_device) if stft == "auto" else stft,
                           quantize=resolve_quantize(quantize, torch_device))
        return cls(model, VoiceLibrary(voices_dirs), torch_device, cache_bytes=cache_bytes)

    # -- text ---------------------------------------------------------------------------------------

    def _g2p(self, lang: str):
        try:
            return get_g2p(resolve_lang(lang))
        except (UnknownLanguage, G2PUnavailable) as exc:
            raise EngineError(str(exc)) from exc

    def text_chunks(self, text: str, lang: str) -> list[tuple[str, str]]:
        """(text span, phonemes) per chunk, each ≤ 510 tokens, sentence by sentence."""
        return list(self._chunk_stream(text, lang))

    def _chunk_stream(self, text: str, lang: str) -> Iterator[tuple[str, str]]:
        """The chunks of `text`, phonemized as they are asked for; the first is found (or the text
        rejected) now, so a request's errors come before any audio and its first chunk is split at
        its first clause."""
        if not isinstance(text, str) or not text.strip():
            raise EngineError("text is empty")
        vocab = self.model.vocab

        def speakable(chunk: tuple[str, str]) -> bool:
            # A chunk of only punctuation and spaces would be a second of noise, not speech.
            ph = chunk[1]
            return bool(count_tokens(ph, vocab)) and any(c in vocab and c not in _SILENT for c in ph)

        chunks = filter(speakable, iter_text_chunks(text, lang, self._g2p(lang), vocab, limit=MAX_TOKENS))
        first = next(chunks, None)
        if first is None:
            raise EngineError("text has nothing to speak")
        return itertools.chain(filter(speakable, split_first_clause([first], vocab)), chunks)

    def phonemize(self, text: str, lang: str) -> list[str]:
        return [ph for _, ph in self.text_chunks(text, lang)]

    # -- audio --------------------------------------------------------------------------------------

    def resolve_voice(self, voice: str | VoicePack) -> VoicePack:
        if isinstance(voice, VoicePack):
            return voice
        try:
            return self.voices.get(voice)
        except VoiceNotFound as exc:
            raise EngineError(str(exc)) from exc
        except VoiceError as exc:
            raise EngineError(str(exc)) from exc

    def synthesize(self, text: str, voice: str | VoicePack, *, speed: float = 1.0, lang: str | None = None,
                   seed: int | None = None) -> Iterator[AudioChunk]:
        """Validate now, then return a generator that synthesizes one chunk per `next()`.

        Errors in the request (empty text, unknown voice or language, bad speed) raise here, before
        any audio, so a caller can answer them cleanly.
        """
        pack = self.resolve_voice(voice)
        if not (0.25 <= float(speed) <= 4.0):
            raise EngineError(f"speed {speed} is outside 0.25–4.0")
        # A seeded request asks for a specific rendering: it neither reads nor fills the cache.
        key = (text, pack.name, float(speed), lang or pack.lang) if self.cache is not None and seed is None else None
        if key is not None and (cached := self.cache.get(key)) is not None:
            return iter(cached)
        chunks = self._chunk_stream(text, lang or pack.lang)
        generator = torch.Generator(device=self.device).manual_seed(seed if seed is not None else random.getrandbits(63))
        if key is not None:
            return self._generate_into_cache(key, chunks, pack, float(speed), generator)
        return self._generate(chunks, pack, float(speed), generator)

    def _generate_into_cache(self, key: tuple, chunks: Iterable[tuple[str, str]], pack: VoicePack, speed: float,
                             generator: torch.Generator) -> Iterator[AudioChunk]:
        done = []
        for chunk in self._generate(chunks, pack, speed, generator):
            done.append(chunk)
            yield chunk
        self.cache.put(key, done)  # only complete renderings: a cancelled request stores nothing

    def _generate(self, chunks: Iterable[tuple[str, str]], pack: VoicePack, speed: float,
                  generator: torch.Generator) -> Iterator[AudioChunk]:
        for span, phonemes in chunks:
            yield self._speak(span, phonemes, pack, speed, generator)

    def synthesize_phonemes(self, phonemes: str, voice: str | VoicePack, *, speed: float = 1.0,
                            seed: int | None = None) -> AudioChunk:
        """Speak a phoneme string that fits one chunk (longer strings are split and joined)."""
        pack = self.resolve_voice(voice)
        generator = torch.Generator(device=self.device).manual_seed(seed if seed is not None else random.getrandbits(63))
        parts = [self._speak(p, p, pack, speed, generator) for p in chunk_phonemes(phonemes, self.model.vocab)]
        if not parts:
            raise EngineError("no phonemes to speak")
        return AudioChunk(np.concatenate([p.audio for p in parts]), phonemes, phonemes,
                          sum(p.tokens for p in parts))

    def _speak(self, text: str, phonemes: str, pack: VoicePack, speed: float,
               generator: torch.Generator) -> AudioChunk:
        ids = self.model.tokenize(phonemes)
        dropped = len(phonemes) - len(ids)
        if dropped:
            unknown = sorted({c for c in phonemes if c not in self.model.vocab})
            _LOGGER.debug("dropped %d phoneme(s) outside the vocabulary: %s", dropped, "".join(unknown))
        input_ids = torch.tensor([[0, *ids, 0]], device=self.device)
        style = pack.style_for(len(phonemes)).to(self.device)
        start = time.perf_counter()
        with torch.inference_mode():
            audio, _ = self.model(input_ids, style, speed, generator)
        audio_np = audio.cpu().numpy().astype(np.float32, copy=False)
        _LOGGER.debug("%d tokens → %.2f s audio in %.2f s", len(ids), len(audio_np) / SAMPLE_RATE,
                      time.perf_counter() - start)
        return AudioChunk(audio_np, text, phonemes, len(ids))
