"""Per-connection Wyoming event handling. Everything shared lives in `context.ServerContext` (built by __main__)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event, async_write_event
from wyoming.info import Describe
from wyoming.ping import Ping, Pong
from wyoming.server import AsyncEventHandler
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeStopped

from kokoro_engine import SAMPLE_RATE

from .context import MAX_CHARS, RequestError, ServerContext, check_text, check_text_format, first_voice
from .sentences import SentenceBuffer
from .worker import Job, SynthesisTimeout, WorkerStopped

_LOGGER = logging.getLogger(__name__)


def _shutting_down() -> RequestError:
    """The refusal every request gets once the server is stopping (the worker's own wording)."""
    return RequestError(str(WorkerStopped()), "shutting-down")


RATE, WIDTH, CHANNELS = SAMPLE_RATE, 2, 1  # the Wyoming audio format of every reply


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
            refusal = _shutting_down()
            err = Error(text=str(refusal), code=refusal.code)
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
            self._stream.end(_shutting_down())

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
            return _shutting_down()
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
                    raise _shutting_down()
                text_format = data.get("text_format")
                text = check_text(data.get("text"), text_format)
                voice = self.ctx.request_voice(data.get("voice"))
                await self.ctx.ensure_voices(voice)
            except RequestError as err:
                await self._send_error_exchange(err, streaming=False)
                return
            await self.ctx.ensure_span_voices(text, text_format)
            stats = RequestLog(voice, len(text))
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
            check_text_format(text_format)
            stream.voice = self.ctx.request_voice(data.get("voice"))
            buffer.lang = first_voice(stream.voice)[:1]
        except RequestError as err:
            stream.end(err)
        self._stream = stream
        self._spawn(self._run_stream(stream))

    async def _run_stream(self, stream: _Stream) -> None:
        async with self._lock:
            await self.write_event(AudioStart(rate=RATE, width=WIDTH, channels=CHANNELS).event())
            stats = RequestLog(stream.voice or "?", 0)
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

    async def _speak(self, text: str, voice: str, stats: RequestLog, *, text_format: str | None = None,
                     leading_silence: float = 0.0, trailing_silence: float = 0.0) -> bool:
        """Speak `text` as audio chunks; whether it ended in speech (not in a pause or silence)."""
        engine, speed, seed = self.ctx.engine, self.ctx.speed, self.ctx.seed
        lang = self.ctx.lang_for(voice)
        sentence_silence = self.ctx.sentence_silence
        job = Job(make_chunks=lambda: engine.synthesize(
            text, voice, speed=speed, lang=lang, seed=seed, text_format=text_format, sentence_silence=sentence_silence,
            leading_silence=leading_silence, trailing_silence=trailing_silence), loop=asyncio.get_running_loop())
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
            raise _shutting_down() from err
        except SynthesisTimeout as err:  # the worker has logged it
            raise RequestError(str(err), "synthesis-timeout") from err
        except Exception as err:
            # Whatever broke, the caller still closes the exchange: Home Assistant waits for audio-stop.
            if self.ctx.voice_unusable(err):
                raise RequestError(str(err), "voice-unusable") from err
            from kokoro_engine import EngineError  # torch: not at import time

            if isinstance(err, EngineError):  # the request's fault (e.g. SSML with nothing to speak): no traceback
                _LOGGER.warning("Request rejected (bad-request): %s", err)
                raise RequestError(str(err), "bad-request") from err
            _LOGGER.exception("Synthesis failed")
            raise RequestError(str(err) or type(err).__name__, "synthesis-failed") from err
        finally:
            job.cancel()  # no-op if finished; stops the worker if we are unwinding early
            self._jobs.discard(job)

    async def _send_audio(self, pcm: np.ndarray, stats: RequestLog) -> None:
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


class RequestLog:
    """One request's timing (first audio, RTF), logged as one INFO line when it ends; the HTTP API uses it too."""

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
