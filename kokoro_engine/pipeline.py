"""Text → normalized text → phonemes → ≤ 510-token chunks → audio, one chunk at a time."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from kokoro_engine import SAMPLE_RATE
from kokoro_engine.io.voices import VoiceError, VoiceFileError, VoiceLibrary, VoiceNotFound, VoicePack
from kokoro_engine.model import KokoroModel
from kokoro_engine.text.chunking import MAX_TOKENS, count_tokens, split_first_clause, text_to_chunks
from kokoro_engine.text.g2p import G2PUnavailable, UnknownLanguage, get_g2p, resolve_lang
from kokoro_engine.text.lexicon import Lexicon
from kokoro_engine.text.ssml import is_ssml, parse_ssml

_LOGGER = logging.getLogger(__name__)
_SILENT = frozenset(';:,.!?—…"()“” ')
MAX_SILENCE_S = 10.0  # per silence: a request option must not buy minutes of zeros


class EngineError(ValueError):
    """A request the engine cannot speak, with a message fit for the user."""


class VoiceUnusable(EngineError):
    """A voice whose pack is there but cannot be loaded (truncated, corrupt): `voice` names it."""

    def __init__(self, voice: str, message: str):
        super().__init__(message)
        self.voice = voice


@dataclass
class AudioChunk:
    audio: np.ndarray  # float32 mono at 24 kHz
    text: str
    phonemes: str
    tokens: int

    @property
    def seconds(self) -> float:
        return len(self.audio) / SAMPLE_RATE


@dataclass(frozen=True)
class _Item:
    """One step of a synthesis plan: speech (phonemes with voice and speed) or a silence."""

    text: str = ""
    phonemes: str = ""
    pack: VoicePack | None = None
    speed: float = 1.0
    seconds: float = 0.0


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

    @property
    def bytes(self) -> int:
        """Audio bytes held now (never more than max_bytes)."""
        return self._bytes

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
                 cache_bytes: int = 0, lexicon: Lexicon | None = None):
        self.model = model
        self.lexicon = lexicon
        self.voices = voices
        self.device = torch.device(device) if device is not None else model.device
        self.cache = AudioCache(cache_bytes) if cache_bytes > 0 else None
        # SSML `<voice name>` → voice expression; a server sets its own request-voice resolution here
        # (aliases, display names, any case, configured blends), so a span's voice resolves like a request's.
        self.voice_names: Callable[[str], str] = str.strip

    @classmethod
    def load(cls, model_path: str | Path | None = None, *, voices_dirs: Iterable[str | Path] = (),
             device: str = "auto", dtype: str | None = None, stft: str = "auto",
             quantize: str | None = None, cache_bytes: int = 0,
             lexicon_files: Iterable[str | Path] = ()) -> KokoroEngine:
        """`model_path`, or without one the usual folders' model, else the pip-installed weights
        (`assets.model_or_default`)."""
        from kokoro_engine.device import default_stft, resolve_device, resolve_dtype, resolve_quantize
        from kokoro_engine.io.assets import AssetError, model_or_default
        from kokoro_engine.io.weights import load_model

        try:
            model_path = model_or_default(model_path)
        except AssetError as exc:
            raise EngineError(str(exc)) from exc
        torch_device = resolve_device(device)
        torch_dtype = resolve_dtype(dtype, torch_device)
        model = load_model(model_path, device=torch_device, dtype=torch_dtype,
                           stft=default_stft(torch_device) if stft == "auto" else stft,
                           quantize=resolve_quantize(quantize, torch_device, torch_dtype))
        files = list(lexicon_files)
        try:
            lexicon = Lexicon(files, model.vocab) if files else None
        except ValueError as exc:  # LexiconError: a bad file at startup is fatal, with file and line
            raise EngineError(str(exc)) from exc
        return cls(model, VoiceLibrary(voices_dirs), torch_device, cache_bytes=cache_bytes, lexicon=lexicon)

    # -- text ---------------------------------------------------------------------------------------

    def _g2p(self, lang: str):
        try:
            return get_g2p(resolve_lang(lang))
        except (UnknownLanguage, G2PUnavailable) as exc:
            raise EngineError(str(exc)) from exc

    def _phonemizer(self, lang: str):
        from kokoro_engine.text.lexicon import phonemizer

        code = self._resolve_lang(lang)
        if self.lexicon is not None:
            self.lexicon.maybe_reload()
        return phonemizer(self._g2p(code).phonemize, code, self.model.vocab, self.lexicon)

    @staticmethod
    def _resolve_lang(lang: str) -> str:
        try:
            return resolve_lang(lang)
        except UnknownLanguage as exc:
            raise EngineError(str(exc)) from exc

    def _sentence_chunks(self, text: str, lang: str) -> list[tuple[str, str, bool]]:
        """(text span, phonemes, starts a sentence) per chunk, each ≤ 510 tokens."""
        if not isinstance(text, str) or not text.strip():
            raise EngineError("text is empty")
        base = text_to_chunks(text, lang, self._phonemizer(lang), self.model.vocab, limit=MAX_TOKENS)
        split = split_first_clause(base, self.model.vocab)
        # split_first_clause cuts the first sentence in two: its second part starts no sentence.
        flags = [True] * len(split)
        if len(split) > len(base):
            flags[1] = False
        # A chunk of only punctuation and spaces would be a second of noise, not speech.
        chunks = [(span, ph, flag) for (span, ph), flag in zip(split, flags, strict=True)
                  if count_tokens(ph, self.model.vocab) and any(c in self.model.vocab and c not in _SILENT for c in ph)]
        if not chunks:
            raise EngineError("text has nothing to speak")
        return chunks

    def text_chunks(self, text: str, lang: str) -> list[tuple[str, str]]:
        """(text span, phonemes) per chunk, each ≤ 510 tokens, sentence by sentence."""
        return [(span, ph) for span, ph, _ in self._sentence_chunks(text, lang)]

    def phonemize(self, text: str, lang: str, *, text_format: str | None = None) -> list[str]:
        if is_ssml(text, text_format):
            return [item.phonemes for item in self._plan_ssml(text, None, 1.0, lang, 0.0)[0] if item.phonemes]
        return [ph for _, ph in self.text_chunks(text, lang)]

    # -- plans: what to speak, with which voice and speed, and where the silences go --------------

    def _plan_text(self, text: str, pack: VoicePack | None, speed: float, lang: str,
                   sentence_silence: float) -> list[_Item]:
        plan: list[_Item] = []
        for span, ph, starts in self._sentence_chunks(text, lang):
            if plan and starts and sentence_silence > 0:
                plan.append(_Item(seconds=sentence_silence))
            plan.append(_Item(span, ph, pack, speed))
        return plan

    def _plan_ssml(self, text: str, pack: VoicePack | None, speed: float, lang: str | None,
                   sentence_silence: float) -> tuple[list[_Item], bool]:
        """The plan, and whether every `<voice>` span got its voice (a fallback is not worth caching:
        the voice may be there next time, after a download)."""
        plan: list[_Item] = []
        exact = True
        base_lang = lang or (pack.lang if pack is not None else "a")
        for seg in parse_ssml(text, base_lang):
            if not seg.text:
                plan.append(_Item(seconds=seg.pause_s))
                continue
            seg_pack = pack
            if seg.voice:
                try:
                    seg_pack = self.resolve_voice(self.voice_names(seg.voice))
                except EngineError as err:
                    _LOGGER.warning("SSML <voice name=%r>: %s; keeping the request's voice", seg.voice, err)
                    exact = False
            seg_lang = base_lang
            if seg.lang:
                try:
                    seg_lang = resolve_lang(seg.lang)
                except UnknownLanguage:
                    _LOGGER.warning("SSML: unknown language %r; keeping %s", seg.lang, base_lang)
            elif seg_pack is not pack and seg_pack is not None and lang is None:
                seg_lang = seg_pack.lang
            try:
                items = self._plan_text(seg.text, seg_pack, min(max(speed * seg.rate, 0.25), 4.0), seg_lang,
                                        sentence_silence)
            except EngineError as err:
                if "nothing to speak" in str(err) or "empty" in str(err):
                    continue
                raise
            if plan and sentence_silence > 0 and plan[-1].phonemes:
                plan.append(_Item(seconds=sentence_silence))
            plan.extend(items)
        if not plan:  # a document of pauses only is its silence (a streamed SSML piece may be one)
            raise EngineError("text has nothing to speak")
        return plan, exact

    # -- audio --------------------------------------------------------------------------------------

    def resolve_voice(self, voice: str | VoicePack) -> VoicePack:
        if isinstance(voice, VoicePack):
            return voice
        try:
            return self.voices.get(voice)
        except VoiceNotFound as exc:
            raise EngineError(str(exc)) from exc
        except VoiceFileError as exc:
            raise VoiceUnusable(exc.voice, str(exc)) from exc
        except VoiceError as exc:
            raise EngineError(str(exc)) from exc

    def synthesize(self, text: str, voice: str | VoicePack, *, speed: float = 1.0, lang: str | None = None,
                   seed: int | None = None, text_format: str | None = None, sentence_silence: float = 0.0,
                   leading_silence: float = 0.0, trailing_silence: float = 0.0) -> Iterator[AudioChunk]:
        """Validate now, then return a generator that synthesizes one chunk per `next()`.

        `text_format="ssml"` (or text starting with `<speak`) reads the SSML subset of
        `kokoro_engine.text.ssml`. Silences (seconds, at most MAX_SILENCE_S each) are zero samples:
        `sentence_silence` between sentences, `trailing_silence` after all, `leading_silence` before
        all: the sentence silence that joins a streamed piece to the speech before it, so (as between
        sentences) it is left out when the text starts with a pause of its own.
        Errors in the request (empty text, unknown voice or language, bad speed) raise here, before
        any audio, so a caller can answer them cleanly.
        """
        pack = self.resolve_voice(voice)
        if not (0.25 <= float(speed) <= 4.0):
            raise EngineError(f"speed {speed} is outside 0.25–4.0")
        silences = tuple(min(max(float(s), 0.0), MAX_SILENCE_S)
                         for s in (sentence_silence, leading_silence, trailing_silence))
        ssml = is_ssml(text, text_format) if isinstance(text, str) else False
        if self.lexicon is not None:
            self.lexicon.maybe_reload()
        # A seeded request asks for a specific rendering: it neither reads nor fills the cache.
        key = (text, pack.name, float(speed), lang or pack.lang, ssml, silences,
               self.lexicon.generation if self.lexicon is not None else 0) \
            if self.cache is not None and seed is None else None
        if key is not None and self.cache is not None and (cached := self.cache.get(key)) is not None:
            return iter(cached)
        if ssml:
            plan, exact = self._plan_ssml(text, pack, float(speed), lang, silences[0])
            key = key if exact else None
        else:
            plan = self._plan_text(text, pack, float(speed), lang or pack.lang, silences[0])
        leading = silences[1] > 0 and bool(plan[0].phonemes)
        plan = [_Item(seconds=silences[1])] * leading + plan + [_Item(seconds=silences[2])] * (silences[2] > 0)
        generator = torch.Generator(device=self.device).manual_seed(seed if seed is not None else random.getrandbits(63))
        if key is not None:
            return self._generate_into_cache(key, plan, generator)
        return self._generate(plan, generator)

    def _generate_into_cache(self, key: tuple, plan: list[_Item], generator: torch.Generator) -> Iterator[AudioChunk]:
        done = []
        for chunk in self._generate(plan, generator):
            done.append(chunk)
            yield chunk
        if self.cache is not None:  # only complete renderings: a cancelled request stores nothing
            self.cache.put(key, done)

    def _generate(self, plan: list[_Item], generator: torch.Generator) -> Iterator[AudioChunk]:
        for item in plan:
            if item.phonemes:
                assert item.pack is not None, "a spoken plan item carries its voice"
                yield self._speak(item.text, item.phonemes, item.pack, item.speed, generator)
            elif (n := round(item.seconds * SAMPLE_RATE)) > 0:
                yield AudioChunk(np.zeros(n, dtype=np.float32), "", "", 0)

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
