"""Per-connection Wyoming event handling. Everything shared lives in `ServerContext` (built by __main__)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event, async_write_event
from wyoming.info import Attribution, Describe, Info, TtsProgram, TtsVoice
from wyoming.ping import Ping, Pong
from wyoming.server import AsyncEventHandler
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeStopped

from kokoro_engine import SAMPLE_RATE

from . import __version__
from .catalog import canonical_voice, load_catalog
from .sentences import SentenceBuffer
from .worker import Job, SynthesisTimeout, Worker, WorkerStopped

_LOGGER = logging.getLogger(__name__)

RATE, WIDTH, CHANNELS = SAMPLE_RATE, 2, 1  # the Wyoming audio format of every reply
MAX_CHARS = 100_000
ATTRIBUTION = Attribution(name="hexgrad/Kokoro-82M", url="https://huggingface.co/hexgrad/Kokoro-82M")


class RequestError(ValueError):
    def __init__(self, text: str, code: str) -> None:
        super().__init__(text)
        self.code = code


@dataclass
class ServerContext:
    """State shared by all connections; read-only after startup except the engine (worker thread only)."""

    engine: Any
    worker: Worker
    default_voice: str
    speed: float = 1.0
    seed: int | None = None  # fixed noise seed: reproducible renderings (tests, comparisons)
    samples_per_chunk: int = 1024
    streaming: bool = True
    installed: dict[str, bool] = field(default_factory=dict)  # voice → usable now
    blends: dict[str, str] = field(default_factory=dict)  # name → expression
    english_only: set[str] = field(default_factory=set)  # voices read with English G2P (see __main__)
    also_english: set[str] = field(default_factory=set)  # also advertised as en_US (see __main__)
    data_dirs: list[Path] = field(default_factory=list)  # where voices are looked for
    download_dir: Path | None = None  # where missing catalog voices are downloaded on first use
    can_download: bool = False  # downloads allowed and the hub reachable at startup
    model: str = ""  # model file name, for status pages
    sentence_silence: float = 0.0  # seconds between sentences
    trailing_silence: float = 0.0  # seconds after the last word, so satellites do not clip it
    voice_for: dict[str, str] = field(default_factory=dict)  # Kokoro language letter → voice (--voice-for)
    max_connections: int = 64  # open Wyoming connections (--max-connections)
    max_pending: int = 4  # synthesis requests queued or in progress per connection
    idle_timeout: float = 300.0  # seconds a connection may be silent mid-stream or with nothing to do
    connections: set[Any] = field(default_factory=set)  # the open connections' handlers
    shutting_down: bool = False
    info: Info | None = None
    _voice_locks: dict[str, asyncio.Lock] = field(default_factory=dict, repr=False)

    def build_info(self) -> Info:
        voices = []
        for name, entry in load_catalog().items():
            description, language = entry.description, entry.language
            if name in self.english_only:
                description, language = f"{description}, reading English", "en_US"
            voices.append(
                TtsVoice(name=name, description=description, attribution=ATTRIBUTION,
                         installed=self.installed.get(name, False), version=None,
                         languages=[language, "en_US"] if name in self.also_english else [language])
            )
        catalog = load_catalog()
        for name, expr in self.blends.items():
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
            supports_synthesize_streaming=self.streaming,
        )
        self.info = Info(tts=[program])
        return self.info

    def voice_for_language(self, language: Any) -> str | None:
        """The voice for a request that names only a language: --voice-for, else the best-graded
        installed catalog voice of that language; None (the default voice) if there is none."""
        if not isinstance(language, str) or not language.strip():
            return None
        from kokoro_engine.g2p import UnknownLanguage, resolve_lang

        try:
            code = resolve_lang(language)
        except UnknownLanguage:
            return None
        if code in self.voice_for:
            return self.voice_for[code]
        if self.default_voice[:1] == code:
            return self.default_voice
        candidates = [(entry.quality, name) for name, entry in load_catalog().items()
                      if entry.lang_code == code and self.installed.get(name) and name not in self.english_only]
        return min(candidates, key=lambda c: (_grade(c[0]), c[1]))[1] if candidates else None

    def resolve_voice(self, name: str | None) -> str:
        """Voice expression for the engine: a name, a configured blend, or `a+b` / `a:0.7+b:0.3`."""
        if not name:
            return self.default_voice
        if not isinstance(name, str):
            raise RequestError("voice name must be a string", "bad-request")
        name = name.strip()
        if name in self.blends:
            if not self._blend_usable(self.blends[name]):
                raise RequestError(f"blend {name} uses a voice that is no longer available", "voice-not-found")
            return self.blends[name]
        from kokoro_engine.voices import VoiceError, parse_voice_expression  # torch: not at import time

        try:
            parts = parse_voice_expression(name)  # NaN, inf, negative, all-zero: refused before queueing
        except VoiceError as err:
            raise RequestError(str(err), "bad-request") from err
        resolved = []
        for voice, weight in parts:
            if voice not in self.installed:
                voice = canonical_voice(voice)  # "Heart", "AF-Heart" → af_heart
            if not self.installed.get(voice, False):
                raise RequestError(f"unknown or not installed voice: {voice}", "voice-not-found")
            resolved.append(voice if len(parts) == 1 else f"{voice}:{weight:g}")
        return "+".join(resolved)

    def ssml_voice(self, name: str) -> str:
        """An SSML `<voice name>` resolved like a request's voice; unusable names come back unchanged,
        so the engine logs them and keeps the request's voice for the span."""
        try:
            return self.resolve_voice(name)
        except RequestError:
            return name.strip()

    def _blend_usable(self, expr: str) -> bool:
        from kokoro_engine.voices import parse_voice_expression

        return all(self.installed.get(voice, True) for voice, _weight in parse_voice_expression(expr))

    def voice_unusable(self, err: BaseException) -> bool:
        """Whether `err` says a voice pack on disk cannot be read (truncated, corrupt); that voice is
        then no longer offered (describe, requests), with one warning."""
        from kokoro_engine.pipeline import VoiceUnusable

        if not isinstance(err, VoiceUnusable):
            return False
        if self.installed.get(err.voice, True):
            _LOGGER.warning("Voice %s is no longer offered: %s", err.voice, err)
            self.installed[err.voice] = False
            self.build_info()
        return True

    async def ensure_span_voices(self, text: str, text_format: str | None) -> None:
        """First-use downloads for the `<voice name>` spans of an SSML text, as `ensure_voices` does for
        the request's voice; a span voice that cannot be had is logged and the span keeps the request's."""
        from kokoro_engine.ssml import is_ssml, voice_names

        if not (self.can_download and is_ssml(text, text_format)):
            return
        for name in voice_names(text):
            try:
                await self.ensure_voices(self.resolve_voice(name))
            except RequestError as err:
                _LOGGER.warning("SSML <voice name=%r>: %s", name, err)

    def lang_for(self, expr: str) -> str | None:
        """G2P language override for a resolved voice expression (None: the voice's own language)."""
        return "a" if first_voice(expr) in self.english_only else None

    def _on_disk(self, name: str) -> bool:
        lib = getattr(self.engine, "voices", None)
        try:
            if lib is not None and name in lib:
                return True
        except Exception:
            pass
        from .download import find_voice

        return find_voice(self.data_dirs, name) is not None

    async def ensure_voices(self, expr: str) -> None:
        """Download the catalog voices of `expr` that are not on disk yet (first use), one download per
        voice at a time; the engine's voice library is rescanned afterwards. Raises RequestError."""
        if not self.can_download or self.download_dir is None:
            return
        catalog = load_catalog()
        from kokoro_engine.voices import parse_voice_expression

        for part in dict.fromkeys(voice for voice, _weight in parse_voice_expression(expr)):
            if part not in catalog or self._on_disk(part):
                continue
            lock = self._voice_locks.setdefault(part, asyncio.Lock())
            async with lock:
                if self._on_disk(part):  # a concurrent request downloaded it while we waited
                    continue
                await self._download_voice(part)

    async def _download_voice(self, name: str) -> None:
        from .download import RemoteFileMissing, download_voice

        def fetch() -> None:
            download_voice(name, self.download_dir)  # type: ignore[arg-type]
            lib = getattr(self.engine, "voices", None)
            if lib is not None and hasattr(lib, "refresh"):
                lib.refresh()

        _LOGGER.info("Voice %s: downloading on first use", name)
        try:
            await asyncio.to_thread(fetch)
        except Exception as err:
            _LOGGER.warning("Voice %s: download failed: %s", name, err)
            if isinstance(err, RemoteFileMissing):  # the hub does not have it: stop advertising it
                self.installed[name] = False
                self.build_info()
            raise RequestError(f"voice {name} could not be downloaded: {err}", "voice-download-failed") from err


def first_voice(expr: str) -> str:
    """The first voice of a (validated) expression: it names the language of a blend."""
    from kokoro_engine.voices import parse_voice_expression

    return parse_voice_expression(expr)[0][0]


def _grade(quality: str | None) -> tuple[int, int]:
    """Catalog grade "A", "B-", "C+" → sort key, best first; ungraded last."""
    if not quality:
        return (99, 0)
    return (ord(quality[0].upper()) - ord("A"), {"+": 0, "": 1, "-": 2}.get(quality[1:2], 1))


def check_text(text: Any, text_format: Any = None) -> str:
    """Reject what cannot be spoken; the text itself goes to the engine as it came (the engine's
    normalizer cleans markdown, so `2*3` and inline `[word](/phonemes/)` reach it intact)."""
    from kokoro_engine.normalize import strip_markdown
    from kokoro_engine.ssml import is_ssml, strip_tags

    if not isinstance(text, str):
        raise RequestError("text must be a string", "bad-request")
    if len(text) > MAX_CHARS:
        raise RequestError(f"text longer than {MAX_CHARS} characters", "text-too-long")
    if text_format is not None and text_format not in ("text", "ssml"):
        raise RequestError("text_format must be 'text' or 'ssml'", "bad-request")
    ssml = is_ssml(text, text_format)
    visible = strip_tags(text) if ssml else strip_markdown(text)
    if not visible.strip() and not (ssml and "<break" in text):
        raise RequestError("empty text", "empty-text")
    if not any(ch.isalnum() for ch in visible) and not ssml:
        raise RequestError("text has nothing to speak (punctuation only)", "empty-text")
    return text.strip()


@dataclass(eq=False)
class _Stream:
    """One streamed request (synthesize-start … synthesize-stop): its sentences reach its own task
    through `sentences`, None ends it. Ended early by an error, a too-long text, or a silent client."""

    buffer: SentenceBuffer
    voice: str | None
    error: RequestError | None = None
    chars: int = 0
    ended: bool = False
    sentences: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)

    def add(self, text: str) -> None:
        if self.ended:
            return
        self.chars += len(text)
        if self.chars > MAX_CHARS:  # the same limit as a plain request, over the whole stream
            self.end(RequestError(f"streamed text longer than {MAX_CHARS} characters", "text-too-long"))
            return
        for sentence in self.buffer.add(text):
            self.sentences.put_nowait(sentence)

    def end(self, error: RequestError | None = None) -> None:
        """No more text: the rest of the buffer is spoken, unless the stream has failed."""
        if self.ended:
            return
        if error is not None and self.error is None:
            self.error = error
        if self.error is None:
            for sentence in self.buffer.finish():
                self.sentences.put_nowait(sentence)
        self.ended = True
        self.sentences.put_nowait(None)


# A client with this many times --max-pending-per-connection exchanges queued is not reading its
# answers (each refusal is answered in order too): its connection is closed.
_FLOOD_FACTOR = 4


class KokoroEventHandler(AsyncEventHandler):
    def __init__(self, ctx: ServerContext, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ctx = ctx
        self._lock = asyncio.Lock()  # one exchange at a time on this connection, in arrival order
        self._tasks: set[asyncio.Task] = set()  # exchanges pending or in progress
        self._jobs: set[Job] = set()
        self._gone = False
        self._stream: _Stream | None = None  # open: between synthesize-start and synthesize-stop
        self._last_activity = time.monotonic()  # an event read, audio sent, an exchange finished

    async def run(self) -> None:
        # Our own loop so a malformed event (bad JSON / UTF-8) or a reset ends quietly, not as an
        # unretrieved task exception.
        if not await self._admit():
            return
        drain = True
        try:
            while not self._gone:
                try:
                    event = await self._read()
                except asyncio.TimeoutError:
                    drain = self._idle_timeout()
                    break
                except (UnicodeDecodeError, ValueError) as err:
                    _LOGGER.warning("Malformed event: %s", err)
                    self._reject(RequestError(f"malformed event: {err}", "bad-request"))
                    break
                if event is None:
                    if self._stream is not None:
                        self._stream.end(RequestError("connection closed before synthesize-stop", "bad-request"))
                    break
                self._last_activity = time.monotonic()
                if not await self.handle_event(event):
                    drain = False
                    break
            # Let the exchanges in progress finish writing before we close (client may half-close).
            if drain and self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            await self.disconnect()
            self.ctx.connections.discard(self)
            self.writer.close()

    async def _admit(self) -> bool:
        """Count this connection against --max-connections; refuse it (an error, then close) if full."""
        full = len(self.ctx.connections) >= self.ctx.max_connections
        if not full and not self.ctx.shutting_down:
            self.ctx.connections.add(self)
            return True
        if full:
            _LOGGER.warning("Refusing a connection: %d open (--max-connections)", len(self.ctx.connections))
            err = Error(text=f"more than {self.ctx.max_connections} connections open", code="too-many-connections")
        else:
            err = Error(text="the server is shutting down", code="shutting-down")
        try:
            await asyncio.wait_for(async_write_event(err.event(), self.writer), 5)
        except (ConnectionError, asyncio.TimeoutError):
            pass
        self.writer.close()
        return False

    async def _read(self) -> Event | None:
        """The next event; asyncio.TimeoutError once the connection has been idle for --idle-timeout:
        silent in the middle of a stream, or silent with nothing in progress."""
        timeout = self.ctx.idle_timeout
        if timeout <= 0:
            return await read_event_strict(self.reader)
        read = asyncio.ensure_future(read_event_strict(self.reader))
        try:
            while True:
                busy = bool(self._tasks) and self._stream is None  # a reply is being made or sent
                idle_for = time.monotonic() - self._last_activity
                if not busy and idle_for >= timeout:
                    raise asyncio.TimeoutError
                done, _ = await asyncio.wait({read}, timeout=timeout if busy else timeout - idle_for)
                if done:
                    return read.result()
        finally:
            if not read.done():
                read.cancel()

    def _idle_timeout(self) -> bool:
        """Close an idle connection; a stream left open is ended first (whether to drain it)."""
        timeout = self.ctx.idle_timeout
        if self._stream is None:
            _LOGGER.info("Closing a connection idle for %.0f s (--idle-timeout)", timeout)
            return False
        _LOGGER.warning("Closing a connection silent for %.0f s in the middle of a stream (--idle-timeout)", timeout)
        self._stream.end(RequestError(f"no synthesize-chunk or synthesize-stop for {timeout:g} s", "timeout"))
        return True

    async def disconnect(self) -> None:
        self._gone = True
        for job in self._jobs:
            job.cancel()
        for task in self._tasks:
            task.cancel()

    def end_for_shutdown(self) -> None:
        """The server is stopping: an open stream ends with an error (the worker fails the jobs)."""
        if self._stream is not None:
            self._stream.end(RequestError("the server is shutting down", "shutting-down"))

    async def wait_closed(self, timeout: float) -> None:
        """Wait up to `timeout` for this connection's exchanges to be written; then drop it."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        if self._tasks:
            self.writer.transport.abort()

    def _spawn(self, coro: Any) -> asyncio.Task:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        self._last_activity = time.monotonic()
        if not task.cancelled() and task.exception() is not None:
            err = task.exception()
            if isinstance(err, ConnectionError):
                _LOGGER.info("Client disconnected during synthesis")
            else:
                _LOGGER.error("Synthesis task failed: %r", err)

    async def write_event(self, event: Event) -> None:
        """Like wyoming's, but a client that stops reading for --idle-timeout loses its connection."""
        timeout = self.ctx.idle_timeout
        if timeout <= 0:
            await async_write_event(event, self.writer)
            return
        try:
            await asyncio.wait_for(async_write_event(event, self.writer), timeout)
        except asyncio.TimeoutError:
            if not self.writer.transport.is_closing():
                _LOGGER.warning("Closing a connection whose client stopped reading for %.0f s", timeout)
            self.writer.transport.abort()
            raise ConnectionResetError("the client stopped reading") from None

    def _refusal(self) -> RequestError | None:
        """Why a new synthesis request on this connection is refused (answered in order), if it is."""
        if self.ctx.shutting_down:
            return RequestError("the server is shutting down", "shutting-down")
        if len(self._tasks) >= self.ctx.max_pending:
            return RequestError(f"more than {self.ctx.max_pending} requests pending on this connection "
                                "(--max-pending-per-connection)", "too-many-requests")
        return None

    def _flooded(self) -> bool:
        if len(self._tasks) < _FLOOD_FACTOR * self.ctx.max_pending:
            return False
        _LOGGER.warning("Closing a connection with %d exchanges pending: its client is not reading them",
                        len(self._tasks))
        self.writer.transport.abort()
        return True

    async def handle_event(self, event: Event) -> bool:
        data = event.data or {}
        if Describe.is_type(event.type):
            await self.write_event((self.ctx.info or self.ctx.build_info()).event())
        elif Ping.is_type(event.type):
            await self.write_event(Pong(text=data.get("text")).event())
        elif Synthesize.is_type(event.type):
            if self._stream is not None:
                return True  # the compatibility copy of a streamed text
            if self._flooded():
                return False
            refusal = self._refusal()
            if refusal is not None:
                self._reject(refusal)
            else:
                self._spawn(self._plain(data))
        elif SynthesizeStart.is_type(event.type):
            if self._stream is not None:
                self._stream.end()  # a new stream ends the open one, as synthesize-stop would
                self._stream = None
            if self._flooded():
                return False
            self._start_stream(data, self._refusal())
        elif SynthesizeChunk.is_type(event.type):
            if self._stream is not None:
                text = data.get("text", "")
                if isinstance(text, str):
                    self._stream.add(text)
                else:
                    self._stream.end(RequestError("text must be a string", "bad-request"))
        elif SynthesizeStop.is_type(event.type):
            if self._stream is not None:
                self._stream.end()
                self._stream = None
        else:
            _LOGGER.debug("Ignoring event %s", event.type)
        return True

    def _reject(self, err: RequestError) -> None:
        """Answer with an error exchange, after the exchanges before it (or end the open stream with it)."""
        if self._stream is not None:
            self._stream.end(err)
            return

        async def answer() -> None:
            async with self._lock:
                await self._send_error_exchange(err, streaming=False)

        self._spawn(answer())

    # --- plain ---------------------------------------------------------------------------------
    async def _plain(self, data: dict) -> None:
        async with self._lock:
            try:
                if self.ctx.shutting_down:
                    raise RequestError("the server is shutting down", "shutting-down")
                text_format = data.get("text_format")
                text = check_text(data.get("text"), text_format)
                voice_data = data.get("voice") or {}
                if not isinstance(voice_data, dict):
                    raise RequestError("voice must be an object", "bad-request")
                voice = self.ctx.resolve_voice(voice_data.get("name")
                                               or self.ctx.voice_for_language(voice_data.get("language")))
                await self.ctx.ensure_voices(voice)
            except RequestError as err:
                await self._send_error_exchange(err, streaming=False)
                return
            await self.ctx.ensure_span_voices(text, text_format)
            stats = _Stats(voice, len(text))
            await self.write_event(AudioStart(rate=RATE, width=WIDTH, channels=CHANNELS).event())
            try:
                await self._speak(text, voice, stats, text_format=text_format,
                                  trailing_silence=self.ctx.trailing_silence)
            except RequestError as err:
                await self.write_event(Error(text=str(err), code=err.code).event())
            await self.write_event(AudioStop().event())
            stats.log()

    # --- streaming -----------------------------------------------------------------------------
    def _start_stream(self, data: dict, refusal: RequestError | None) -> None:
        text_format = data.get("text_format")
        buffer = SentenceBuffer(text_format=text_format if text_format in ("text", "ssml") else None)
        stream = _Stream(buffer, None)
        try:
            if refusal is not None:
                raise refusal
            if text_format is not None and text_format not in ("text", "ssml"):
                raise RequestError("text_format must be 'text' or 'ssml'", "bad-request")
            voice_data = data.get("voice") or {}
            if not isinstance(voice_data, dict):
                raise RequestError("voice must be an object", "bad-request")
            stream.voice = self.ctx.resolve_voice(voice_data.get("name")
                                                  or self.ctx.voice_for_language(voice_data.get("language")))
            buffer.lang = first_voice(stream.voice)[:1]
        except RequestError as err:
            stream.end(err)
        self._stream = stream
        self._spawn(self._run_stream(stream))

    async def _run_stream(self, stream: _Stream) -> None:
        async with self._lock:
            await self.write_event(AudioStart(rate=RATE, width=WIDTH, channels=CHANNELS).event())
            stats = _Stats(stream.voice or "?", 0)
            spoke = False
            after_speech = False  # the last piece ended in speech: a sentence silence joins the next
            error: RequestError | None = None
            if stream.error is None and stream.voice:
                try:
                    await self.ctx.ensure_voices(stream.voice)
                except RequestError as err:
                    error = err
            while True:
                sentence = await stream.sentences.get()
                if sentence is None:
                    break
                if stream.error is not None or error is not None:
                    continue
                stats.chars += len(sentence)
                ssml = bool(stream.buffer.ssml)
                if not ssml and not any(ch.isalnum() for ch in sentence):
                    continue
                try:
                    if ssml:
                        await self.ctx.ensure_span_voices(sentence, "ssml")
                    after_speech = await self._speak(
                        sentence, stream.voice or self.ctx.default_voice, stats,
                        text_format="ssml" if ssml else "text",
                        leading_silence=self.ctx.sentence_silence if after_speech else 0.0)
                    spoke = True
                except RequestError as err:
                    error = err
            if spoke and error is None and stream.error is None and self.ctx.trailing_silence > 0:
                silence = np.zeros(round(self.ctx.trailing_silence * RATE), np.int16)
                for i in range(0, len(silence), self.ctx.samples_per_chunk):
                    await self._send_audio(silence[i:i + self.ctx.samples_per_chunk], stats)
            error = stream.error or error
            if error is None and not spoke:
                error = RequestError("empty text", "empty-text")
            if error is not None:
                await self.write_event(Error(text=str(error), code=error.code).event())
            await self.write_event(AudioStop().event())
            await self.write_event(SynthesizeStopped().event())
            if spoke:
                stats.log()

    # --- shared --------------------------------------------------------------------------------
    async def _send_error_exchange(self, err: RequestError, *, streaming: bool) -> None:
        _LOGGER.warning("Request rejected (%s): %s", err.code, err)
        await self.write_event(Error(text=str(err), code=err.code).event())
        await self.write_event(AudioStart(rate=RATE, width=WIDTH, channels=CHANNELS).event())
        await self.write_event(AudioStop().event())
        if streaming:
            await self.write_event(SynthesizeStopped().event())

    async def _speak(self, text: str, voice: str, stats: _Stats, *, text_format: str | None = None,
                     leading_silence: float = 0.0, trailing_silence: float = 0.0) -> bool:
        """Speak `text` as audio chunks; whether it ended in speech (not in a pause or silence)."""
        engine, speed, seed = self.ctx.engine, self.ctx.speed, self.ctx.seed
        lang = self.ctx.lang_for(voice)
        options = dict(text_format=text_format, sentence_silence=self.ctx.sentence_silence,
                       leading_silence=leading_silence, trailing_silence=trailing_silence)
        job = Job(make_chunks=lambda: engine.synthesize(text, voice, speed=speed, lang=lang, seed=seed, **options),
                  loop=asyncio.get_running_loop())
        spc = self.ctx.samples_per_chunk
        pending = np.zeros(0, dtype=np.int16)
        ended_in_speech = False
        try:
            self._jobs.add(job)
            self.ctx.worker.submit(job)
            async for chunk in job.results():
                ended_in_speech = bool(chunk.phonemes)
                pcm = np.clip(np.asarray(chunk.audio, dtype=np.float32), -1.0, 1.0)
                pcm = (pcm * 32767.0).astype(np.int16)
                stats.samples += len(pcm)
                pending = np.concatenate([pending, pcm])
                while len(pending) >= spc:
                    await self._send_audio(pending[:spc], stats)
                    pending = pending[spc:]
            if len(pending):
                await self._send_audio(pending, stats)
            return ended_in_speech
        except (ConnectionError, asyncio.CancelledError):
            raise
        except RequestError:
            raise
        except WorkerStopped as err:
            raise RequestError("the server is shutting down", "shutting-down") from err
        except SynthesisTimeout as err:  # the worker has logged it
            raise RequestError(str(err), "synthesis-timeout") from err
        except Exception as err:
            # Whatever broke, the caller still closes the exchange: Home Assistant waits for audio-stop.
            if self.ctx.voice_unusable(err):
                raise RequestError(str(err), "voice-unusable") from err
            from kokoro_engine.pipeline import EngineError  # torch: not at import time

            if isinstance(err, EngineError):  # the request's fault (e.g. SSML with nothing to speak): no traceback
                _LOGGER.warning("Request rejected (bad-request): %s", err)
                raise RequestError(str(err), "bad-request") from err
            _LOGGER.exception("Synthesis failed")
            raise RequestError(str(err) or type(err).__name__, "synthesis-failed") from err
        finally:
            job.cancel()  # no-op if finished; stops the worker if we are unwinding early
            self._jobs.discard(job)

    async def _send_audio(self, pcm: np.ndarray, stats: _Stats) -> None:
        self._last_activity = time.monotonic()
        if stats.first_audio is None:
            stats.first_audio = self._last_activity
        await self.write_event(AudioChunk(rate=RATE, width=WIDTH, channels=CHANNELS, audio=pcm.tobytes()).event())


async def read_event_strict(reader: asyncio.StreamReader) -> Event | None:
    """Like wyoming's reader, but malformed input raises ValueError instead of looking like EOF.

    wyoming.event.async_read_event returns None on bad JSON or UTF-8, which would close the connection
    silently; a client that sent a broken request deserves an error and a finished exchange.
    """
    line = await reader.readline()
    if not line:
        return None
    header = json.loads(line)  # UnicodeDecodeError and JSONDecodeError are ValueErrors
    if not isinstance(header, dict) or not isinstance(header.get("type"), str):
        raise ValueError("event header must be an object with a string type")
    data = header.get("data") or {}
    if not isinstance(data, dict):
        raise ValueError("event data must be an object")
    data_length, payload_length = _length(header, "data_length"), _length(header, "payload_length")
    if data_length:
        extra = json.loads(await reader.readexactly(data_length))
        if not isinstance(extra, dict):
            raise ValueError("event data block must be a JSON object")
        data = {**data, **extra}
    payload = await reader.readexactly(payload_length) if payload_length else None
    return Event(type=header["type"], data=data, payload=payload)


# No TTS event needs more: texts are limited far below, and audio is only ever sent, not received.
MAX_BLOCK_BYTES = 1_000_000


def _length(header: dict, key: str) -> int:
    """A declared block length, refused before anything is read if it is not a sane byte count."""
    value = header.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{key} must be a non-negative integer")
    if value > MAX_BLOCK_BYTES:
        raise ValueError(f"{key} {value} exceeds {MAX_BLOCK_BYTES} bytes")
    return value


class _Stats:
    def __init__(self, voice: str, chars: int) -> None:
        self.voice, self.chars = voice, chars
        self.start = time.monotonic()
        self.first_audio: float | None = None
        self.samples = 0

    def log(self) -> None:
        elapsed = time.monotonic() - self.start
        audio_s = self.samples / RATE
        ttfa = (self.first_audio - self.start) if self.first_audio else float("nan")
        rtf = elapsed / audio_s if audio_s else float("nan")
        _LOGGER.info("voice=%s chars=%d audio=%.2fs first_audio=%.2fs rtf=%.3f",
                     self.voice, self.chars, audio_s, ttfa, rtf)
