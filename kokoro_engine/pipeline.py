"""Text → normalized text → phonemes → ≤ 510-token chunks → audio, one chunk at a time."""

from __future__ import annotations

import logging
import random
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from kokoro_engine import preempt
from kokoro_engine.audio import SAMPLE_RATE
from kokoro_engine.errors import EngineError, KokoroError, NothingToSpeak, VoiceUnusable
from kokoro_engine.io.voices import VoiceLibrary, VoicePack, VoiceSpec
from kokoro_engine.limits import clamp_speed
from kokoro_engine.model import KokoroModel
from kokoro_engine.text.chunking import MAX_TOKENS, count_tokens, iter_text_turns, split_first_clause
from kokoro_engine.text.g2p import UnknownLanguage, get_g2p, resolve_lang
from kokoro_engine.text.lexicon import Lexicon
from kokoro_engine.text.speakable import check_segments, check_speakable
from kokoro_engine.text.ssml import Segment, is_ssml, parse_ssml
from kokoro_engine.threads import CoreShare

__all__ = ["AudioCache", "AudioChunk", "EngineError", "KokoroEngine", "NothingToSpeak", "VoiceUnusable"]

_LOGGER = logging.getLogger(__name__)
_SILENT = frozenset(';:,.!?—…"()“” ')
MAX_SILENCE_S = 10.0  # per silence: a request option must not buy minutes of zeros
# Text work (G2P of sentences that say nothing, SSML spans) done in one step of the audio generator
# before it hands its turn back with an empty chunk: a scheduler that runs one step per turn lets
# other requests in, and a cancelled request ends, within about this long.
TURN_S = 0.05


@dataclass
class AudioChunk:
    audio: np.ndarray  # float32 mono at 24 kHz
    text: str
    phonemes: str
    tokens: int
    # Frames per token as the model predicted them (pads at both ends included; `timings`): speech only.
    durations: np.ndarray | None = None

    @property
    def seconds(self) -> float:
        return len(self.audio) / SAMPLE_RATE


@dataclass(frozen=True)
class _Item:
    """One step of a synthesis plan: speech (phonemes with voice and speed), a silence, or (`turn`)
    the end of a step's text work with nothing to say yet."""

    text: str = ""
    phonemes: str = ""
    pack: VoicePack | None = None
    speed: float = 1.0
    seconds: float = 0.0
    turn: bool = False


_TURN = _Item(turn=True)

# An SSML `<voice name>` → the voice expression it stands for (raising EngineError for a name off
# the caller's list); a server passes its own request-voice resolution, so a span's voice resolves
# like a request's (aliases, display names, any case, configured blends).
VoiceNames = Callable[[str], "str | VoiceSpec"]


def _plain_names(name: str) -> str:
    return name.strip()


class _Turns:
    """A request's clock of text work since its generator last handed out a chunk (`TURN_S`)."""

    def __init__(self) -> None:
        self.since = time.perf_counter()

    def due(self) -> bool:
        return time.perf_counter() - self.since >= TURN_S

    def reset(self) -> None:
        self.since = time.perf_counter()


class AudioCache:
    """Recently spoken texts, least recently used first out, bounded in bytes: the audio and the
    strings held with it, keys included (a key holds the request's whole text).

    Home Assistant repeats itself ("Turned on the lights"): a hit answers instantly instead of
    re-synthesizing. Thread-safe; entries are immutable lists of chunks.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = max(0, int(max_bytes))
        self._entries: OrderedDict[tuple, tuple[list[AudioChunk], int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @staticmethod
    def key_bytes(key: tuple) -> int:
        return sum(sys.getsizeof(part) for part in key)

    @staticmethod
    def chunk_bytes(chunk: AudioChunk) -> int:
        return chunk.audio.nbytes + sys.getsizeof(chunk.text) + sys.getsizeof(chunk.phonemes) \
            + (chunk.durations.nbytes if chunk.durations is not None else 0)

    @property
    def bytes(self) -> int:
        """Bytes held now, keys included (never more than max_bytes)."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple) -> list[AudioChunk] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[0]

    def put(self, key: tuple, chunks: list[AudioChunk]) -> None:
        size = self.key_bytes(key) + sum(self.chunk_bytes(c) for c in chunks)
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (chunks, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._bytes -= evicted


class KokoroEngine:
    sample_rate = SAMPLE_RATE

    def __init__(self, model: KokoroModel, voices: VoiceLibrary, device: torch.device | str | None = None,
                 cache_bytes: int = 0, lexicon: Lexicon | None = None, max_audio_seconds: float | None = None):
        self.model = model
        # Per request, the most audio (pauses included) `synthesize` produces; a server sets it.
        self.max_audio_seconds = max_audio_seconds
        self.lexicon = lexicon
        self.voices = voices
        self.device = torch.device(device) if device is not None else model.device
        self.cache = AudioCache(cache_bytes) if cache_bytes > 0 else None
        # On a CPU, a request without a seed runs on the cores other processes leave free
        # (kokoro_engine.threads); a seeded one on every thread, for the same audio every time.
        self.core_share = CoreShare(torch.get_num_threads()) if self.device.type == "cpu" else None

    @classmethod
    def load(cls, model_path: str | Path | None = None, *, voices_dirs: Iterable[str | Path] = (),
             device: str = "auto", dtype: str | None = None, stft: str = "auto",
             quantize: str | None = None, cache_bytes: int = 0,
             lexicon_files: Iterable[str | Path] = (), fft: bool | None = False) -> KokoroEngine:
        """`model_path`, or without one the usual folders' model, else the pip-installed weights
        (`assets.model_or_default`). `fft`: FFT convolutions on the fp32 path (`load_model`)."""
        from kokoro_engine.device import default_stft, resolve_device, resolve_dtype, resolve_quantize
        from kokoro_engine.io.assets import model_or_default
        from kokoro_engine.io.weights import load_model

        model_path = model_or_default(model_path)
        torch_device = resolve_device(device)
        torch_dtype = resolve_dtype(dtype, torch_device)
        model = load_model(model_path, device=torch_device, dtype=torch_dtype,
                           stft=default_stft(torch_device) if stft == "auto" else stft,
                           quantize=resolve_quantize(quantize, torch_device, torch_dtype), fft=fft)
        files = list(lexicon_files)
        lexicon = Lexicon(files, model.vocab) if files else None  # LexiconError names the file and line
        return cls(model, VoiceLibrary(voices_dirs), torch_device, cache_bytes=cache_bytes, lexicon=lexicon)

    # -- text ---------------------------------------------------------------------------------------

    # Public methods resolve a request's language once (`resolve_lang`); the private ones below take
    # the resolved code.

    def _phonemizer(self, code: str):
        from kokoro_engine.text.lexicon import phonemizer

        if self.lexicon is not None:
            self.lexicon.maybe_reload()
        return phonemizer(get_g2p(code).phonemize, code, self.model.vocab, self.lexicon)

    def _speakable(self, phonemes: str) -> bool:
        # A chunk of only punctuation and spaces would be a second of noise, not speech.
        vocab = self.model.vocab
        return bool(count_tokens(phonemes, vocab)) and any(c in vocab and c not in _SILENT for c in phonemes)

    def _iter_sentence_chunks(self, text: str, lang: str, phonemize: Callable[[str], str] | None = None,
                              turns: _Turns | None = None) -> Iterator[tuple[str, str, bool] | None]:
        """(text span, phonemes, starts a sentence) per chunk, each ≤ 510 tokens, phonemized a sentence
        at a time as they are asked for (none if nothing in the text is speakable); with `turns`, a
        None where a step's text work is over without a chunk."""
        vocab = self.model.vocab
        due = turns.due if turns is not None else None
        chunks = iter_text_turns(text, lang, phonemize or self._phonemizer(lang), vocab, limit=MAX_TOKENS, due=due)
        first_seen = False
        for chunk in chunks:
            if chunk is None:
                yield None
                continue
            span, ph = chunk
            if not first_seen:
                first_seen = True
                # split_first_clause cuts the first sentence in two: its second part starts no sentence.
                for i, (part, part_ph) in enumerate(split_first_clause([chunk], vocab)):
                    if self._speakable(part_ph):
                        yield part, part_ph, i == 0
            elif self._speakable(ph):
                yield span, ph, True
            elif due is not None and due():
                yield None

    def _sentence_chunks(self, text: str, code: str) -> list[tuple[str, str, bool]]:
        """`_iter_sentence_chunks` as a list; NothingToSpeak if it is empty."""
        check_speakable(text)
        chunks = [c for c in self._iter_sentence_chunks(text, code) if c is not None]
        if not chunks:
            raise NothingToSpeak("text has nothing to speak")
        return chunks

    def text_chunks(self, text: str, lang: str) -> list[tuple[str, str]]:
        """(text span, phonemes) per chunk, each ≤ 510 tokens, sentence by sentence."""
        return [(span, ph) for span, ph, _ in self._sentence_chunks(text, resolve_lang(lang))]

    def phonemize(self, text: str, lang: str | None, *, text_format: str | None = None,
                  voice_names: VoiceNames = _plain_names) -> list[str]:
        """The phonemes of each chunk `synthesize` would speak (SSML too: `<voice name>`s through
        `voice_names`, as there)."""
        if is_ssml(text, text_format):
            _check_text(text)
            code = resolve_lang(lang or "a")
            segments = check_segments(parse_ssml(text, code))
            spans = self._ssml_spans(segments, None, code, lang is not None, _Exact(), voice_names)
            return [item.phonemes for item in _nonempty(self._ssml_items(spans, 1.0, 0.0, _Exact()))
                    if item.phonemes]
        return [ph for _, ph, _ in self._sentence_chunks(text, resolve_lang(lang or "a"))]

    # -- plans: what to speak, with which voice and speed, and where the silences go --------------
    # Plans are generators: each sentence is phonemized when the audio generator reaches it, so the
    # first chunk waits only for the first sentence's G2P, and a scheduler that runs one `next()`
    # per turn lets other requests in between a long text's sentences.

    def _text_items(self, chunks: Iterator[tuple[str, str, bool] | None], pack: VoicePack | None, speed: float,
                    sentence_silence: float) -> Iterator[_Item]:
        spoke = False
        for chunk in chunks:
            if chunk is None:
                yield _TURN
                continue
            span, ph, starts = chunk
            if spoke and starts and sentence_silence > 0:
                yield _Item(seconds=sentence_silence)
            yield _Item(span, ph, pack, speed)
            spoke = True

    def _ssml_spans(self, segments: list[Segment], pack: VoicePack | None, base_lang: str, fixed_lang: bool,
                    exact: _Exact, voice_names: VoiceNames) -> list[tuple[Segment, VoiceSpec | None, str]]:
        """Each segment with its voice (None: the request's voice) and language, checked now without
        loading a pack (names and languages are cheap), so a span whose language cannot be read here
        is refused before any audio. `base_lang`: the request's language (resolved); a `<voice>` span
        speaks its voice's language unless the request fixed one (`fixed_lang`). Packs are loaded as
        the plan reaches each span (one held at a time; the library keeps a few blends built), so a
        document of many blend spans holds no pack per span. `exact.value` turns False when a
        `<voice>` span did not get its voice (a fallback is not worth caching: the voice may be there
        next time, after a download)."""
        voices: dict[str, tuple[VoiceSpec | None, str | None]] = {}  # <voice name> → (voice, its language)
        checked: set[str] = set()
        spans: list[tuple[Segment, VoiceSpec | None, str]] = []
        for seg in segments:
            if not seg.text:
                spans.append((seg, None, base_lang))
                continue
            expr: VoiceSpec | None = None
            voice_lang: str | None = None
            if seg.voice:
                if seg.voice not in voices:
                    try:
                        found = voice_names(seg.voice)
                        spec = found if isinstance(found, VoiceSpec) else VoiceSpec.parse(found)
                        voices[seg.voice] = (spec, self.voices.lang_of(spec))
                    except KokoroError as err:
                        _LOGGER.warning("SSML <voice name=%.60r>: %s; keeping the request's voice", seg.voice, err)
                        voices[seg.voice] = (None, None)
                expr, voice_lang = voices[seg.voice]
                if expr is None:
                    exact.value = False
            seg_lang = base_lang
            if seg.lang:
                try:
                    seg_lang = resolve_lang(seg.lang)
                except UnknownLanguage:
                    _LOGGER.warning("SSML: unknown language %.40r; keeping %s", seg.lang, base_lang)
            elif voice_lang is not None and not fixed_lang and (pack is None or expr is None
                                                                  or expr.name != pack.name):
                seg_lang = voice_lang
            if seg_lang not in checked:
                get_g2p(seg_lang)  # language-unavailable: now, not halfway through the audio
                checked.add(seg_lang)
            spans.append((seg, expr, seg_lang))
        return spans

    def _span_pack(self, expr: VoiceSpec | None, pack: VoicePack | None, exact: _Exact) -> VoicePack | None:
        """A span's pack, loaded when the plan reaches it; the request's if it cannot be had."""
        if expr is None or (pack is not None and expr.name == pack.name):
            return pack
        try:
            return self.resolve_voice(expr)
        except EngineError as err:
            _LOGGER.warning("SSML <voice name=%.60r>: %s; keeping the request's voice", expr.name, err)
            exact.value = False
            return pack

    def _ssml_items(self, spans: list[tuple[Segment, VoiceSpec | None, str]], speed: float,
                    sentence_silence: float, exact: _Exact, pack: VoicePack | None = None,
                    turns: _Turns | None = None) -> Iterator[_Item]:
        """The plan of checked SSML spans, phonemized a sentence at a time."""
        last_spoke = False
        held: tuple[VoiceSpec | None, VoicePack | None] = (None, pack)  # the last span's pack, for the next
        for seg, expr, seg_lang in spans:
            if not seg.text:
                yield _Item(seconds=seg.pause_s)
                last_spoke = False
                continue
            if held[0] != expr:
                held = (expr, self._span_pack(expr, pack, exact))
            # a span with nothing to speak (punctuation only) is skipped, as in the whole document
            chunks = self._iter_sentence_chunks(seg.text, seg_lang, turns=turns)
            first = True
            for item in self._text_items(chunks, held[1], clamp_speed(speed * seg.rate), sentence_silence):
                if item.turn:
                    yield item
                    continue
                if first and last_spoke and sentence_silence > 0:
                    yield _Item(seconds=sentence_silence)
                first = False
                yield item
            last_spoke = last_spoke or not first
            if first and turns is not None and turns.due():
                yield _TURN

    # -- audio --------------------------------------------------------------------------------------

    def resolve_voice(self, voice: str | VoicePack | VoiceSpec) -> VoicePack:
        """A pack, or a voice name/blend of the library's packs, as written or already parsed (never
        a file: `voices.load` is for callers that name files on purpose, such as the command line)."""
        if isinstance(voice, VoicePack):
            return voice
        return self.voices.get(voice)

    def synthesize(self, text: str, voice: str | VoicePack | VoiceSpec, *, speed: float = 1.0,
                   lang: str | None = None, seed: int | None = None, text_format: str | None = None,
                   sentence_silence: float = 0.0, leading_silence: float = 0.0, trailing_silence: float = 0.0,
                   max_audio_seconds: float | None = None, segments: list[Segment] | None = None,
                   voice_names: VoiceNames = _plain_names, checked: bool = False) -> Iterator[AudioChunk]:
        """Validate now, then return a generator that plans and synthesizes one chunk per `next()`.

        `text_format="ssml"` (or text starting with `<speak`) reads the SSML subset of
        `kokoro_engine.text.ssml`. Silences (seconds, at most MAX_SILENCE_S each) are zero samples:
        `sentence_silence` between sentences, `trailing_silence` after all, `leading_silence` before
        all: the sentence silence that joins a streamed piece to the speech before it, so (as between
        sentences) it is left out when the text starts with a pause of its own. `speed` (times an
        SSML rate) is clamped to `limits.SPEED_MIN`–`SPEED_MAX`.

        What is cheap to check raises here, before any audio, as a KokoroError with its code: empty or
        punctuation-only text (`check_speakable`), an unknown voice or language, a bad speed, SSML
        nested too deep. Sentences are phonemized lazily, one per step of the generator; a text whose
        G2P yields nothing at all raises NothingToSpeak from the first `next()`, still before audio.

        `max_audio_seconds` (default: the engine's `max_audio_seconds`; None: unbounded) caps the audio
        of this request, pauses included: the chunk that reaches it is cut and the generator ends.

        `segments`: the SSML text already read (`parse_ssml(text, lang)`, e.g. off a server's event
        loop), so the document is read once per request; `checked=True`: the caller has already
        applied the speakable rule (`check_speakable`, `check_segments`) to this text. `voice_names`:
        an SSML `<voice name>` → its voice (default: the name itself, a pack of the library). A step
        whose text work ran `TURN_S` without a chunk hands out an empty one (no samples, no text): a
        scheduler's turn boundary.
        """
        pack = self.resolve_voice(voice)
        speed = clamp_speed(speed)
        silences = tuple(min(max(float(s), 0.0), MAX_SILENCE_S)
                         for s in (sentence_silence, leading_silence, trailing_silence))
        ssml = is_ssml(text, text_format)
        if not ssml:
            if not checked:
                check_speakable(text, text_format)
            code = resolve_lang(lang or pack.lang)
        else:
            # An unknown language is refused once a span speaks it: a document whose spans all name
            # their own language does not need the voice's.
            try:
                code = resolve_lang(lang or pack.lang)
            except UnknownLanguage:
                code = lang or pack.lang
            if segments is None:
                _check_text(text)  # not a string, empty: before the document is read (once)
                segments = parse_ssml(text, code)  # malformed: its text; too deep, a DTD: BadSSML
                checked = False  # read here, so not checked by the caller
            if not checked:
                check_segments(segments)
        cap = self.max_audio_seconds if max_audio_seconds is None else max_audio_seconds
        cap_samples = round(cap * SAMPLE_RATE) if cap is not None else None
        if self.lexicon is not None:
            self.lexicon.maybe_reload()
        # A seeded request asks for a specific rendering: it neither reads nor fills the cache.
        key = (text, pack.name, speed, code, ssml, silences,
               self.lexicon.generation if self.lexicon is not None else 0) \
            if self.cache is not None and seed is None else None
        if key is not None and self.cache is not None and (cached := self.cache.get(key)) is not None:
            return _capped(iter(cached), cap_samples)
        exact = _Exact()
        turns = _Turns()
        if ssml:
            assert segments is not None
            spans = self._ssml_spans(segments, pack, code, lang is not None, exact, voice_names)
            items = self._ssml_items(spans, speed, silences[0], exact, pack, turns)
        else:
            chunks = self._iter_sentence_chunks(text, code, self._phonemizer(code), turns)  # language errors: now
            items = self._text_items(chunks, pack, speed, silences[0])
        plan = _framed(_nonempty(items), silences[1], silences[2])
        generator = torch.Generator(device=self.device).manual_seed(seed if seed is not None else random.getrandbits(63))
        audio = _capped(self._generate(plan, generator, turns, follow_load=seed is None), cap_samples)
        if key is not None:
            return self._generate_into_cache(key, audio, exact, cap_samples)
        return audio

    def _generate_into_cache(self, key: tuple, audio: Iterator[AudioChunk], exact: _Exact,
                             cap_samples: int | None) -> Iterator[AudioChunk]:
        """Pass the chunks on and keep them for the cache, but only while they could fit it: a long
        request's audio is not held until its end just to be refused then."""
        assert self.cache is not None
        done: list[AudioChunk] | None = []
        size = AudioCache.key_bytes(key)
        samples = 0
        for chunk in audio:
            samples += len(chunk.audio)
            if done is not None and (len(chunk.audio) or chunk.phonemes):  # a turn boundary is not kept
                size += AudioCache.chunk_bytes(chunk)
                if size <= self.cache.max_bytes:
                    done.append(chunk)
                else:
                    done = None  # could never be stored: stop holding it
            yield chunk
        truncated = cap_samples is not None and samples >= cap_samples
        # only complete renderings: a cancelled or cut request stores nothing
        if done is not None and exact.value and not truncated:
            self.cache.put(key, done)

    def _generate(self, plan: Iterable[_Item], generator: torch.Generator,
                  turns: _Turns | None = None, follow_load: bool = False) -> Iterator[AudioChunk]:
        for item in plan:
            if item.phonemes:
                assert item.pack is not None, "a spoken plan item carries its voice"
                yield self._speak(item.text, item.phonemes, item.pack, item.speed, generator, follow_load)
            elif (n := round(item.seconds * SAMPLE_RATE)) > 0:
                yield AudioChunk(np.zeros(n, dtype=np.float32), "", "", 0)
            elif item.turn:
                yield AudioChunk(np.zeros(0, dtype=np.float32), "", "", 0)
            else:
                continue
            if turns is not None:
                turns.reset()

    def word_timings(self, chunk: AudioChunk, lang: str) -> list:
        """When each word of a spoken chunk starts and ends in its audio (`kokoro_engine.timings`;
        [] for a silence, or where the language's G2P gives no word boundaries)."""
        from kokoro_engine.timings import word_timings, words_with_phonemes

        if chunk.durations is None or not chunk.phonemes:
            return []
        words = words_with_phonemes(chunk.text, resolve_lang(lang))
        timings = word_timings(words, chunk.phonemes, chunk.durations.tolist(), self.model.vocab)
        # a chunk cut at max_audio_seconds keeps the words it still speaks, up to its end
        return [replace(t, end=min(t.end, chunk.seconds)) for t in timings if t.start < chunk.seconds]

    def _speak(self, text: str, phonemes: str, pack: VoicePack, speed: float,
               generator: torch.Generator, follow_load: bool = False) -> AudioChunk:
        ids = self.model.tokenize(phonemes)
        dropped = len(phonemes) - len(ids)
        if dropped:
            unknown = sorted({c for c in phonemes if c not in self.model.vocab})
            _LOGGER.debug("dropped %d phoneme(s) outside the vocabulary: %s", dropped, "".join(unknown))
        input_ids = torch.tensor([[0, *ids, 0]], device=self.device)
        style = pack.style_for(len(phonemes)).to(self.device)
        share = self.core_share
        if share is None:
            pacer = None
        elif follow_load:
            _use_threads(share.begin())
            pacer = lambda: _use_threads(share())  # noqa: E731
        else:
            _use_threads(share.most)
            pacer = lambda: _use_threads(share.most)  # noqa: E731  (after a chunk that jumped in)
        outer = preempt.pace(pacer)
        start = time.perf_counter()
        try:
            with torch.inference_mode():
                audio, durations = self.model(input_ids, style, speed, generator)
        finally:
            preempt.pace(outer)
        audio_np = audio.cpu().numpy().astype(np.float32, copy=False)
        _LOGGER.debug("%d tokens → %.2f s audio in %.2f s on %d thread(s)", len(ids), len(audio_np) / SAMPLE_RATE,
                      time.perf_counter() - start, torch.get_num_threads())
        return AudioChunk(audio_np, text, phonemes, len(ids), durations.cpu().numpy().astype(np.int32))


def _use_threads(threads: int) -> None:
    # OpenMP keeps the count per calling thread: read and set on the thread that runs the model.
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def _check_text(text: object) -> None:
    if not isinstance(text, str) or not text.strip():
        raise NothingToSpeak("text is empty")


class _Exact:
    """Whether every SSML `<voice>` span of a plan got its voice (set while the plan is walked)."""

    value = True


def _nonempty(items: Iterator[_Item]) -> Iterator[_Item]:
    """`items`, or NothingToSpeak once they end without speech or a pause (a document of pauses only
    is its silence: a streamed SSML piece may be one); turn boundaries before that pass through."""
    for first in items:
        yield first
        if not first.turn:
            yield from items
            return
    raise NothingToSpeak("text has nothing to speak")


def _framed(items: Iterator[_Item], leading: float, trailing: float) -> Iterator[_Item]:
    """`items` with the leading silence (left out before a leading pause) and the trailing one."""
    for first in items:
        if first.turn:
            yield first
            continue
        if leading > 0 and first.phonemes:
            yield _Item(seconds=leading)
        yield first
        break
    yield from items
    if trailing > 0:
        yield _Item(seconds=trailing)


def _capped(chunks: Iterator[AudioChunk], cap_samples: int | None) -> Iterator[AudioChunk]:
    """`chunks` up to `cap_samples` samples in all: the chunk that reaches the cap is cut, and the
    rest is neither planned nor synthesized."""
    if cap_samples is None:
        yield from chunks
        return
    total = 0
    for chunk in chunks:
        room = cap_samples - total
        if len(chunk.audio) > room:
            if room > 0:
                yield AudioChunk(chunk.audio[:room], chunk.text, chunk.phonemes, chunk.tokens, chunk.durations)
            _LOGGER.warning("Request audio cut at the %.0f s cap", cap_samples / SAMPLE_RATE)
            return
        total += len(chunk.audio)
        yield chunk
