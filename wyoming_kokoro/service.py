"""The request service: one path from a request to audio, for every protocol.

The Wyoming handler and the HTTP API are adapters: they turn their protocol's request into a
`SpeechRequest` and the audio and errors that come back into their protocol's events or bytes.
Everything between is here, once:

- validation and every limit (text length, voice expression length, jobs in all): on the event loop
  only checks of a field's type and length; the text itself (the speakable rule, the SSML document,
  read once per request) is read on a thread (`read`), so nothing a client sends stalls the loop;
- voice resolution against one allow-list (the voices offered, the `--blend` names, blends of
  those), for a request's voice and an SSML `<voice name>` alike: a request never names a file;
- first-use downloads, the speed policy, the silences, int16 conversion, and cancellation (closing
  the audio iterator, or cancelling the task reading it, ends the job at its next chunk).

Errors are `KokoroError`s with a code; `errors.ERRORS` maps the code to each protocol's form.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from wyoming.info import Attribution, Info, TtsProgram, TtsVoice

from kokoro_engine import SAMPLE_RATE, NothingToSpeak, VoiceUnusable

from . import __version__
from .catalog import canonical_voice, load_catalog
from .context import ServerConfig, ServerState, first_voice, quality_rank
from .errors import Busy, Code, KokoroError, RequestError, SynthesisTimeout, WorkerStopped, as_kokoro_error
from .worker import Job, Worker

if TYPE_CHECKING:  # torch: imported by the engine when it loads, not by this module
    from kokoro_engine import KokoroEngine, Segment

    from .metrics import ServerMetrics

_LOGGER = logging.getLogger(__name__)

MAX_CHARS = 100_000  # a request's text, and a stream's over all its chunks
# Speeds a request may ask for: OpenAI's range. Kokoro sounds natural only within the engine's
# SPEED_MIN–SPEED_MAX, so a speed outside that (but inside this) is spoken at the nearest end.
SPEED_ACCEPTED = (0.25, 4.0)
ATTRIBUTION = Attribution(name="hexgrad/Kokoro-82M", url="https://huggingface.co/hexgrad/Kokoro-82M")


class Encoder(Protocol):
    """What turns int16 PCM into a protocol's bytes (HTTP's wav/mp3/opus/flac); run on the worker thread."""

    def feed(self, pcm: np.ndarray) -> bytes: ...

    def finish(self) -> bytes: ...

    def close(self) -> None: ...

    @property
    def max_seconds(self) -> float | None:
        """A cap on the audio this encoding can hold (FLAC is written whole), or None."""
        ...


@dataclass(frozen=True)
class SpeechRequest:
    """A request as a client sent it: every field is checked by the service, none is trusted."""

    text: Any
    voice: Any = None  # a voice name, `--blend` name or blend expression; None: by `language`, else the default
    language: Any = None  # Wyoming's voice.language, when no name is given
    text_format: Any = None  # None, "text" or "ssml"
    speed: Any = None  # None: --speed


@dataclass(frozen=True)
class Speech:
    """A validated request, its voices downloaded: what `speak` turns into audio."""

    text: str
    voice: str  # a resolved voice expression: only names on the allow-list
    text_format: str | None
    speed: float
    lang: str | None  # G2P language override (None: the voice's own)
    segments: list[Segment] | None = None  # an SSML text as read (once, off the event loop) by `read`


@dataclass
class SpeechAudio:
    """One engine chunk's audio: int16 PCM at SAMPLE_RATE, and the encoder's bytes for it (b"" without one)."""

    pcm: np.ndarray
    data: bytes = b""
    speech: bool = True  # False: a pause or silence
    words: list | None = None  # with `speak(timestamps=True)`: its words' `WordTiming`s (seconds in this chunk)

    @property
    def seconds(self) -> float:
        return len(self.pcm) / SAMPLE_RATE


def to_int16(audio: np.ndarray) -> np.ndarray:
    return (np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0) * 32767.0).astype(np.int16)


class SpeechService:
    """Between the protocol adapters and the engine (module docstring)."""

    def __init__(self, engine: KokoroEngine, worker: Worker, config: ServerConfig, state: ServerState) -> None:
        self.engine, self.worker, self.config, self.state = engine, worker, config, state
        self.jobs = 0  # jobs submitted by this service and not yet ended
        engine.voice_names = self.ssml_voice  # SSML <voice name> resolves like a request's voice

    @functools.cached_property
    def metrics(self) -> ServerMetrics:
        """This server's `/metrics` (its own registry); the adapters report each request's end to it."""
        from .metrics import ServerMetrics

        return ServerMetrics(self)

    # --- what is offered --------------------------------------------------------------------------
    def info(self) -> Info:
        """The `info` Home Assistant sees (rebuilt when a voice stops being usable)."""
        return self.state.info or self.build_info()

    def build_info(self) -> Info:
        config, installed = self.config, self.state.installed
        voices = []
        catalog = load_catalog()
        for name, entry in catalog.items():
            description, language = entry.description, entry.language
            if name in config.english_only:
                description, language = f"{description}, reading English", "en_US"
            voices.append(
                TtsVoice(name=name, description=description, attribution=ATTRIBUTION,
                         installed=installed.get(name, False), version=None,
                         languages=[language, "en_US"] if name in config.also_english else [language])
            )
        for name, expr in config.blends.items():
            first = catalog.get(first_voice(expr))
            voices.append(
                TtsVoice(name=name, description=f"Blend {expr}", attribution=ATTRIBUTION,
                         installed=self._blend_usable(expr), version=None,
                         languages=[first.language if first else "en_US"])
            )
        program = TtsProgram(
            name="kokoro", attribution=ATTRIBUTION,
            description="Kokoro-82M neural text to speech; text_format ssml (speak, p, s, break, prosody rate, "
                        "say-as, phoneme, sub, voice, lang), inline [word](/phonemes/), household lexicon",
            installed=True, version=__version__, voices=voices,
            supports_synthesize_streaming=config.streaming,
        )
        self.state.info = Info(tts=[program])
        return self.state.info

    def status(self) -> dict[str, Any]:
        """What is bounded, as it stands (for `/health`): jobs, stuck worker threads, Wyoming
        connections, the audio cache, memory."""
        cache = self.engine.cache
        return {
            "jobs": self.worker.jobs(), "max_jobs": self.config.max_jobs,
            "abandoned_threads": self.worker.abandoned_threads(),
            "wyoming_connections": len(self.state.connections), "max_connections": self.config.max_connections,
            "max_chars": MAX_CHARS, "max_audio_seconds": self.config.max_audio_seconds,
            "audio_cache_bytes": cache.bytes if cache is not None else 0,
            "audio_cache_max_bytes": cache.max_bytes if cache is not None else 0,
            "memory": self.worker.memory(),
        }

    # --- checks (linear in what the client sent: they run on the event loop) ----------------------
    @staticmethod
    def check_text_format(text_format: Any) -> str | None:
        """Wyoming 1.10's `text_format`: absent, `text` or `ssml`."""
        if text_format is not None and text_format not in ("text", "ssml"):
            raise RequestError("text_format must be 'text' or 'ssml'")
        return text_format

    @staticmethod
    def check_text(text: Any, text_format: Any = None) -> str:
        """A text's type and length (on the event loop: nothing here reads the text); whether it has
        anything to speak is `read`'s, off the loop. The text goes to the engine as it came (its
        normalizer reads markdown and inline phonemes)."""
        if not isinstance(text, str):
            raise RequestError("text must be a string")
        if len(text) > MAX_CHARS:
            raise RequestError(f"text longer than {MAX_CHARS} characters", code=Code.TEXT_TOO_LONG)
        SpeechService.check_text_format(text_format)
        text = text.strip()
        if not text:
            raise NothingToSpeak("text is empty")
        return text

    @staticmethod
    def read_text(speech: Speech) -> Speech:
        """The text read once, on a thread: the engine's speakable rule for plain text; an SSML document
        through the one SSML reader (its segments travel with the request, so the worker does not read
        it again). Raises KokoroError (nothing-to-speak, bad-ssml)."""
        from dataclasses import replace

        from kokoro_engine import check_segments, check_speakable, is_ssml, parse_ssml

        if not is_ssml(speech.text, speech.text_format):
            check_speakable(speech.text, speech.text_format)
            return speech
        lang = speech.lang or first_voice(speech.voice)[:1].lower()
        return replace(speech, segments=check_segments(parse_ssml(speech.text, lang)))

    async def read(self, speech: Speech) -> Speech:
        """`read_text` off the event loop."""
        return await asyncio.to_thread(self.read_text, speech)

    def speed(self, speed: Any) -> float:
        """The speed policy: None is --speed; SPEED_ACCEPTED is accepted, the engine's range is spoken."""
        from kokoro_engine import clamp_speed

        if speed is None:
            return self.config.speed
        # an int is compared as it is: a 401-digit one overflows float()
        if isinstance(speed, bool) or not isinstance(speed, int | float) \
                or (isinstance(speed, float) and not math.isfinite(speed)) \
                or not SPEED_ACCEPTED[0] <= speed <= SPEED_ACCEPTED[1]:
            raise RequestError(f"speed must be a number from {SPEED_ACCEPTED[0]} to {SPEED_ACCEPTED[1]}")
        return clamp_speed(float(speed))

    # --- voices ---------------------------------------------------------------------------------------
    def voice_for_language(self, language: Any) -> str | None:
        """The voice for a request that names only a language: --voice-for, else the best-graded
        installed catalog voice of that language; None (the default voice) if there is none."""
        if not isinstance(language, str) or not language.strip() or len(language) > 64:
            return None
        from kokoro_engine import UnknownLanguage, resolve_lang

        try:
            code = resolve_lang(language)
        except UnknownLanguage:
            return None
        if code in self.config.voice_for:
            return self.config.voice_for[code]
        if self.config.default_voice[:1] == code:
            return self.config.default_voice
        candidates = [(entry.quality, name) for name, entry in load_catalog().items()
                      if entry.lang_code == code and self.state.installed.get(name)
                      and name not in self.config.english_only]
        return min(candidates, key=lambda c: (quality_rank(c[0]), c[1]))[1] if candidates else None

    def resolve_voice(self, name: Any, language: Any = None) -> str:
        """A voice expression for the engine from a voice name, a `--blend` name or `a+b` /
        `a:0.7+b:0.3` of offered voices (display names and any case too); no name: `language`'s
        voice, else the default. Anything else is refused: a request never names a file."""
        from kokoro_engine import MAX_VOICE_EXPR_CHARS, parse_voice_expression

        if name is None or name == "":
            name = self.voice_for_language(language)
            if name is None:
                return self.config.default_voice
        if not isinstance(name, str):
            raise RequestError("voice name must be a string")
        if len(name) > MAX_VOICE_EXPR_CHARS:  # bounds the parse below, whatever its complexity
            raise RequestError(f"voice name longer than {MAX_VOICE_EXPR_CHARS} characters", code=Code.BAD_VOICE)
        name = name.strip()
        if not name:
            return self.config.default_voice
        if name in self.config.blends:
            if not self._blend_usable(self.config.blends[name]):
                raise RequestError(f"blend {name} uses a voice that is no longer available", code=Code.VOICE_NOT_FOUND)
            return self.config.blends[name]
        parts = parse_voice_expression(name)  # NaN, inf, negative, all-zero, too many parts: VoiceError
        resolved = []
        for voice, weight in parts:
            if voice not in self.state.installed:
                voice = canonical_voice(voice)  # "Heart", "AF-Heart" → af_heart
            if not self.state.installed.get(voice, False):
                raise RequestError(f"unknown or not installed voice: {voice[:64]}", code=Code.VOICE_NOT_FOUND)
            resolved.append(voice if len(parts) == 1 else f"{voice}:{weight:g}")
        return "+".join(resolved)

    def ssml_voice(self, name: str) -> str:
        """The engine's hook for an SSML `<voice name>`: resolved like a request's voice. A name off
        the allow-list raises (a KokoroError), so the engine keeps the request's voice for the span
        (and logs it)."""
        return self.resolve_voice(name)

    def _blend_usable(self, expr: str) -> bool:
        from kokoro_engine import parse_voice_expression

        return all(self.state.installed.get(voice, True) for voice, _weight in parse_voice_expression(expr))

    def _voice_unusable(self, err: BaseException) -> None:
        """A voice pack on disk that cannot be read (truncated, corrupt) is no longer offered, with one warning."""
        if not isinstance(err, VoiceUnusable):
            return
        voice = err.voice
        if self.state.installed.get(voice, True):
            _LOGGER.warning("Voice %s is no longer offered: %s", voice, err)
            self.state.installed[voice] = False
            self.build_info()

    def lang_for(self, expr: str) -> str | None:
        """G2P language override for a resolved voice expression (None: the voice's own language)."""
        return "a" if first_voice(expr) in self.config.english_only else None

    # --- downloads --------------------------------------------------------------------------------------
    async def ensure_voices(self, expr: str) -> None:
        """Download the catalog voices of `expr` that are not on disk yet (first use), one download per
        voice at a time; the engine's voice library is rescanned afterwards. Raises DownloadError."""
        if not self.config.can_download or self.config.download_dir is None:
            return
        from kokoro_engine import parse_voice_expression

        catalog = load_catalog()
        for part in dict.fromkeys(voice for voice, _weight in parse_voice_expression(expr)):
            if part not in catalog or self.engine.voices.on_disk(part):
                continue
            lock = self.state.voice_locks.setdefault(part, asyncio.Lock())
            async with lock:
                if self.engine.voices.on_disk(part):  # a concurrent request downloaded it while we waited
                    continue
                await self._download_voice(part)

    async def ensure_span_voices(self, speech: Speech) -> None:
        """First-use downloads for the `<voice name>` spans of a read SSML text; a span voice that
        cannot be had is logged and the span keeps the request's voice."""
        from kokoro_engine import voice_names

        if not (self.config.can_download and speech.segments):
            return
        for name in voice_names(speech.segments):
            try:
                await self.ensure_voices(self.resolve_voice(name))
            except KokoroError as err:
                _LOGGER.warning("SSML <voice name=%.60r>: %s", name, err)

    async def _download_voice(self, name: str) -> None:
        from .download import DownloadError, RemoteFileMissing, download_voice

        def fetch() -> None:
            assert self.config.download_dir is not None  # ensure_voices checked
            download_voice(name, self.config.download_dir)
            self.engine.voices.refresh()

        _LOGGER.info("Voice %s: downloading on first use", name)
        try:
            await asyncio.to_thread(fetch)
        except Exception as err:
            _LOGGER.warning("Voice %s: download failed: %s", name, err)
            if isinstance(err, RemoteFileMissing):  # the hub does not have it: stop advertising it
                self.state.installed[name] = False
                self.build_info()
            # the detail (a path, the hub's answer) is the log's
            raise DownloadError(f"voice {name} could not be downloaded (the server log says why)") from err

    # --- requests ---------------------------------------------------------------------------------------
    def check(self, request: SpeechRequest) -> Speech:
        """Validate a request's fields and resolve its voice (on the loop: types and lengths, no reading
        of the text: `read` does that). Raises KokoroError."""
        if self.state.shutting_down:
            raise WorkerStopped()
        text_format = self.check_text_format(request.text_format)
        text = self.check_text(request.text, text_format)
        voice = self.resolve_voice(request.voice, request.language)
        return Speech(text, voice, text_format, self.speed(request.speed), self.lang_for(voice))

    async def prepare(self, request: SpeechRequest) -> Speech:
        """`check`, `read`, then the first-use downloads of its voices (the request's and its SSML spans')."""
        speech = await self.read(self.check(request))
        await self.ensure_voices(speech.voice)
        await self.ensure_span_voices(speech)
        return speech

    async def speak(self, speech: Speech, *, leading_silence: float | None = None, trailing_silence: bool = True,
                    encoder: Encoder | None = None, max_audio_seconds: float | None = None,
                    timestamps: bool = False) -> AsyncGenerator[SpeechAudio, None]:
        """The audio of `speech`, one engine chunk at a time (int16; `encoder`'s bytes too, made on the
        worker thread), --leading-silence before it (or `leading_silence` seconds), --sentence-silence
        between its sentences and --trailing-silence after it (unless `trailing_silence` is False). Raises KokoroError: before the first chunk for what the
        engine refuses (nothing to speak, a voice pack found corrupt), or mid-way (a timeout, a
        shutdown). The audio stops at --max-audio-seconds (or `max_audio_seconds`, or `encoder.max_seconds`, if less), pauses
        included. `timestamps`: each chunk carries its words' timings (made on the worker thread,
        where the G2P runs). Leaving the iteration early cancels the job: read it inside `contextlib.aclosing`
        (or from a task that is cancelled), so that the job ends then, not when the iterator is collected."""
        if self.state.shutting_down:
            raise WorkerStopped()
        if self.jobs >= self.config.max_jobs:
            raise Busy(f"the server is busy: {self.jobs} requests in progress")
        config, engine = self.config, self.engine
        trailing = config.trailing_silence if trailing_silence else 0.0
        leading = config.leading_silence if leading_silence is None else leading_silence
        cap = config.max_audio_seconds
        for limit in (max_audio_seconds, encoder.max_seconds if encoder is not None else None):
            if limit is not None:
                cap = limit if cap is None else min(cap, limit)

        def chunks() -> Iterator[SpeechAudio]:  # on the worker thread
            audio = engine.synthesize(
                speech.text, speech.voice, speed=speech.speed, lang=speech.lang, seed=config.seed,
                text_format=speech.text_format, sentence_silence=config.sentence_silence,
                leading_silence=leading, trailing_silence=trailing, max_audio_seconds=cap,
                segments=speech.segments)
            try:
                for chunk in audio:
                    pcm = to_int16(chunk.audio)
                    if not len(pcm):  # the engine's turn boundary: nothing to encode or send
                        yield SpeechAudio(pcm, b"", False)
                        continue
                    words = engine.word_timings(chunk, speech.lang or first_voice(speech.voice)[:1]) \
                        if timestamps else None
                    yield SpeechAudio(pcm, encoder.feed(pcm) if encoder is not None else b"", bool(chunk.phonemes),
                                      words)
                if encoder is not None:
                    yield SpeechAudio(np.zeros(0, np.int16), encoder.finish(), False)
            finally:
                if encoder is not None:
                    encoder.close()

        job = Job(make_chunks=chunks, loop=asyncio.get_running_loop())
        self.jobs += 1
        try:
            self.worker.submit(job)
            async for item in job.results():
                yield item
        except (asyncio.CancelledError, GeneratorExit):
            raise
        except Exception as err:
            failure = as_kokoro_error(err)
            self._voice_unusable(err)
            if failure.code == Code.SYNTHESIS_FAILED:  # not the request's fault: worth a traceback
                _LOGGER.error("Synthesis failed", exc_info=err)
            elif not isinstance(failure, SynthesisTimeout):  # the worker has logged that one
                _LOGGER.warning("Request failed (%s): %s", failure.code, failure)
            if failure is err:
                raise
            raise failure from err
        finally:
            self.jobs -= 1
            job.cancel()  # no-op when finished; frees the worker at the next chunk otherwise

    async def speak_stream(self, voice: str,
                           pieces: AsyncIterator[tuple[str, str]]) -> AsyncGenerator[SpeechAudio, None]:
        """A streamed request: `pieces` are (text, "text" | "ssml") as the stream's sentence buffer cuts
        them; each is spoken as it comes, with --leading-silence before the first, --sentence-silence
        joining each to speech before it and --trailing-silence once at the end. `voice` is resolved (`resolve_voice`). A piece with nothing
        to speak is skipped; a stream that spoke nothing raises (empty-text). An error raised by
        `pieces` ends the stream with it. --max-audio-seconds bounds the whole stream: once it is
        reached the rest of the text is read and dropped."""
        if self.state.shutting_down:
            raise WorkerStopped()
        await self.ensure_voices(voice)
        config = self.config
        spoke = False
        after_speech = False  # the last piece ended in speech: a sentence silence joins the next
        left = config.max_audio_seconds  # of the stream's audio (None: no cap)
        async for text, text_format in pieces:
            if left is not None and left <= 0:
                continue
            try:
                speech = await self.read(self.check(SpeechRequest(text, voice, text_format=text_format)))
            except NothingToSpeak:
                continue
            await self.ensure_span_voices(speech)
            # --leading-silence before the stream's first piece, the sentence silence between pieces
            joint = config.sentence_silence if after_speech else (0.0 if spoke else None)
            async for audio in self.speak(speech, trailing_silence=False, max_audio_seconds=left,
                                          leading_silence=joint):
                if len(audio.pcm):  # not a turn boundary
                    after_speech = audio.speech
                if left is not None:
                    left -= audio.seconds
                yield audio
            spoke = True
        if not spoke:
            raise RequestError("empty text", code=Code.EMPTY_TEXT)
        if config.trailing_silence > 0 and (left is None or left > 0):
            yield SpeechAudio(np.zeros(round(config.trailing_silence * SAMPLE_RATE), np.int16), speech=False)


class RequestLog:
    """One request's timing (first audio, RTF), logged as one INFO line when it ends."""

    def __init__(self, voice: str, chars: int) -> None:
        self.voice, self.chars = voice, chars
        self.start = time.monotonic()
        self.first_audio: float | None = None
        self.samples = 0

    def add(self, samples: int) -> None:
        if samples and self.first_audio is None:
            self.first_audio = time.monotonic()
        self.samples += samples

    def log(self) -> None:
        elapsed = time.monotonic() - self.start
        audio_s = self.samples / SAMPLE_RATE
        ttfa = (self.first_audio - self.start) if self.first_audio else float("nan")
        rtf = elapsed / audio_s if audio_s else float("nan")
        _LOGGER.info("voice=%s chars=%d audio=%.2fs first_audio=%.2fs rtf=%.3f",
                     self.voice, self.chars, audio_s, ttfa, rtf)


__all__ = ["MAX_CHARS", "SPEED_ACCEPTED", "Encoder", "RequestLog", "Speech", "SpeechAudio", "SpeechRequest",
           "SpeechService", "to_int16"]
