"""The request service: one path from a request to audio, for every protocol.

The Wyoming handler and the HTTP API are adapters: they turn their protocol's request into a
`SpeechRequest` and the audio and errors that come back into their protocol's events or bytes.
Everything between is here, once:

- validation and every limit (a request's text length, over a stream's chunks too; jobs in all): on
  the event loop only checks of a field's type and length; the text itself (the speakable rule, the
  SSML document, read once per request) is read on a thread (`read`), so nothing a client sends
  stalls the loop;
- the speed policy, the silences, int16 conversion, and cancellation (closing the audio iterator, or
  cancelling the task reading it, ends the job at its next chunk).

Which voices there are, what a request's voice names and the first-use downloads are the voice
roster's (`roster.VoiceRoster`): the service asks it once per request for a `ResolvedVoice` and
hands that on.

Errors are `KokoroError`s with a code; `errors.ERRORS` maps the code to each protocol's form.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from kokoro_engine import SAMPLE_RATE, NothingToSpeak

from .context import ServerConfig, ServerState
from .errors import Busy, Code, RequestError, SynthesisTimeout, WorkerStopped, as_kokoro_error
from .metrics import RequestLog, ServerMetrics
from .roster import ResolvedVoice, SpanVoices, VoiceRoster
from .worker import Job, Worker

if TYPE_CHECKING:  # torch: imported by the engine when it loads, not by this module
    from kokoro_engine import KokoroEngine, Segment

_LOGGER = logging.getLogger(__name__)

MAX_CHARS = 100_000  # a request's text, and a stream's over all its chunks
# Speeds a request may ask for: OpenAI's range. Kokoro sounds natural only within the engine's
# SPEED_MIN–SPEED_MAX, so a speed outside that (but inside this) is spoken at the nearest end.
SPEED_ACCEPTED = (0.25, 4.0)


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
    resolved: ResolvedVoice  # the roster's answer, once per request
    text_format: str | None
    speed: float
    segments: list[Segment] | None = None  # an SSML text as read (once, off the event loop) by `read`
    read: bool = False  # `read` has applied the speakable rule: the engine need not again
    spans: SpanVoices | None = None  # its SSML `<voice name>`s, resolved once (`read`)

    @property
    def voice(self) -> str:
        """The resolved voice expression (only names on the allow-list), for logs and headers."""
        return self.resolved.expr

    @property
    def lang(self) -> str | None:
        """G2P language override (None: the voice's own)."""
        return self.resolved.lang


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

    def __init__(self, engine: KokoroEngine, worker: Worker, config: ServerConfig, state: ServerState,
                 roster: VoiceRoster) -> None:
        self.engine, self.worker, self.config, self.state = engine, worker, config, state
        self.roster = roster
        self.jobs = 0  # jobs submitted by this service and not yet ended

    @functools.cached_property
    def metrics(self) -> ServerMetrics:
        """This server's `/metrics` (its own registry); the adapters report each request's end to it."""
        return ServerMetrics(self.engine, self.worker, self.config, self.state)

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
    def check_length(chars: int, what: str = "text") -> None:
        """The whole request's text, `chars` characters (a stream's over all its chunks so far), within
        MAX_CHARS: an adapter that gathers a request piece by piece asks as each piece comes."""
        if chars > MAX_CHARS:
            raise RequestError(f"{what} longer than {MAX_CHARS} characters", code=Code.TEXT_TOO_LONG)

    @staticmethod
    def check_text(text: Any) -> str:
        """A text's type and length (on the event loop: nothing here reads the text); whether it has
        anything to speak is `read`'s, off the loop. The text goes to the engine as it came (its
        normalizer reads markdown and inline phonemes). Its `text_format` is `check_text_format`'s."""
        if not isinstance(text, str):
            raise RequestError("text must be a string")
        SpeechService.check_length(len(text))
        text = text.strip()
        if not text:
            raise NothingToSpeak("text is empty")
        return text

    @staticmethod
    def read_text(speech: Speech) -> Speech:
        """The text read once, on a thread: the engine's speakable rule for plain text; an SSML document
        through the one SSML reader (its segments travel with the request, so the worker does not read
        it again). Raises KokoroError (nothing-to-speak, bad-ssml)."""
        from kokoro_engine import check_segments, check_speakable, is_ssml, parse_ssml

        if not is_ssml(speech.text, speech.text_format):
            check_speakable(speech.text, speech.text_format)
            return replace(speech, read=True)
        segments = check_segments(parse_ssml(speech.text, speech.resolved.speaks))
        return replace(speech, segments=segments, read=True)

    async def read(self, speech: Speech) -> Speech:
        """`read_text` off the event loop, then its SSML `<voice name>`s resolved (once, on the loop,
        where the roster lives)."""
        speech = await asyncio.to_thread(self.read_text, speech)
        if speech.segments:
            speech = replace(speech, spans=self.roster.resolve_spans(speech.segments))
        return speech

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

    # --- requests ---------------------------------------------------------------------------------------
    def check(self, request: SpeechRequest) -> Speech:
        """Validate a request's fields and resolve its voice (on the loop: types and lengths, no reading
        of the text: `read` does that). Raises KokoroError."""
        if self.state.shutting_down:
            raise WorkerStopped()
        text_format = self.check_text_format(request.text_format)
        text = self.check_text(request.text)
        voice = self.roster.resolve(request.voice, request.language)
        return Speech(text, voice, text_format, self.speed(request.speed))

    async def prepare(self, request: SpeechRequest) -> Speech:
        """`check`, `read`, then the first-use downloads of its voices (the request's and its SSML spans')."""
        speech = await self.read(self.check(request))
        await self.roster.ensure(speech.resolved)
        await self.roster.ensure_spans(speech.spans)
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
        config, engine, roster = self.config, self.engine, self.roster
        trailing = config.trailing_silence if trailing_silence else 0.0
        leading = config.leading_silence if leading_silence is None else leading_silence
        cap = config.max_audio_seconds
        for limit in (max_audio_seconds, encoder.max_seconds if encoder is not None else None):
            if limit is not None:
                cap = limit if cap is None else min(cap, limit)

        def chunks() -> Iterator[SpeechAudio]:  # on the worker thread
            audio = engine.synthesize(
                speech.text, speech.resolved.spec, speed=speech.speed, lang=speech.lang, seed=config.seed,
                text_format=speech.text_format, sentence_silence=config.sentence_silence,
                leading_silence=leading, trailing_silence=trailing, max_audio_seconds=cap,
                segments=speech.segments, voice_names=speech.spans or roster.ssml_voice, checked=speech.read)
            try:
                for chunk in audio:
                    pcm = to_int16(chunk.audio)
                    if not len(pcm):  # the engine's turn boundary: nothing to encode or send
                        yield SpeechAudio(pcm, b"", False)
                        continue
                    words = engine.word_timings(chunk, speech.resolved.speaks) if timestamps else None
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
            self.roster.mark_unusable(err)
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

    async def speak_stream(self, voice: ResolvedVoice,
                           pieces: AsyncIterator[tuple[str, str]]) -> AsyncGenerator[SpeechAudio, None]:
        """A streamed request: `pieces` are (text, "text" | "ssml") as the stream's sentence buffer cuts
        them; each is spoken as it comes, with --leading-silence before the first, --sentence-silence
        joining each to speech before it and --trailing-silence once at the end. `voice`: the roster's
        resolution of the stream's voice, made once at its start. A piece with nothing to speak is
        skipped; a stream that spoke nothing raises (empty-text). An error raised by `pieces` ends the
        stream with it. --max-audio-seconds bounds the whole stream: once it is reached the rest of
        the text is read and dropped."""
        if self.state.shutting_down:
            raise WorkerStopped()
        await self.roster.ensure(voice)
        config = self.config
        spoke = False
        after_speech = False  # the last piece ended in speech: a sentence silence joins the next
        left = config.max_audio_seconds  # of the stream's audio (None: no cap)
        async for text, text_format in pieces:
            if left is not None and left <= 0:
                continue
            if self.state.shutting_down:
                raise WorkerStopped()
            try:
                fmt = self.check_text_format(text_format)
                speech = await self.read(Speech(self.check_text(text), voice, fmt, config.speed))
            except NothingToSpeak:
                continue
            await self.roster.ensure_spans(speech.spans)
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


__all__ = ["MAX_CHARS", "SPEED_ACCEPTED", "Encoder", "RequestLog", "Speech", "SpeechAudio", "SpeechRequest",
           "SpeechService", "to_int16"]
