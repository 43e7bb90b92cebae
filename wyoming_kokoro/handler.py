"""Per-connection Wyoming event handling: the Wyoming adapter of `service.SpeechService`.

It turns events into `SpeechRequest`s and the service's audio and errors into events (`audio-start`,
`audio-chunk`s of --samples-per-chunk, `error` with the code from `errors.ERRORS`, `audio-stop`,
`synthesize-stopped`), and holds only per-connection state and the bounds on it: connections in all
and per address, the first event's deadline, pending exchanges, idle and slow readers, the stream's
text, and the size and nesting of an event's JSON (the counting, the JSON reader and the write timeout
are `bounds`'s, shared with the HTTP API)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
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

from .bounds import client_host, close_gently, read_json, write_within
from .errors import Code, KokoroError, RequestError, WorkerStopped, wyoming_code
from .info import WyomingInfo
from .roster import ResolvedVoice
from .service import RequestLog, SpeechAudio, SpeechRequest, SpeechService

_LOGGER = logging.getLogger(__name__)

RATE, WIDTH, CHANNELS = SAMPLE_RATE, 2, 1  # the Wyoming audio format of every reply


@dataclass(eq=False)
class _Stream:
    """One streamed request (synthesize-start … synthesize-stop). On the event loop a chunk is only
    counted and queued (`chunks`, None ends it); its own task cuts the text into pieces with the
    sentence buffer on a thread (each run takes what has queued since the last), so no chunk's text is
    parsed on the loop. Ended early by an error, a too-long text, or a silent client. Once its task has
    stopped reading (the stream failed), what the client still sends is dropped: the queue holds at
    most the stream's own text (the service's whole-request limit)."""

    buffer: Any  # kokoro_engine.SentenceBuffer
    voice: ResolvedVoice | None
    error: KokoroError | None = None
    chars: int = 0
    ended: bool = False
    abandoned: bool = False  # its task has stopped reading
    chunks: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)

    def add(self, text: str) -> None:
        if self.ended or self.abandoned:
            return
        self.chars += len(text)
        try:
            SpeechService.check_length(self.chars, "streamed text")  # the whole request's limit
        except RequestError as err:
            self.end(err)
            return
        self.chunks.put_nowait(text)

    def end(self, error: KokoroError | None = None) -> None:
        """No more text: the rest of the buffer is spoken, unless the stream has failed."""
        if self.ended:
            return
        if error is not None and self.error is None:
            self.error = error
        self.ended = True
        self.chunks.put_nowait(None)

    def _cut(self, text: str, last: bool) -> list[str]:
        """On a thread: the pieces the sentence buffer cuts from `text` (and its rest, if `last`)."""
        pieces = self.buffer.add(text) if text else []
        return pieces + self.buffer.finish() if last else pieces

    async def texts(self) -> AsyncIterator[tuple[str, str]]:
        """(piece, its text_format) as they are cut; the stream's error, if it fails, ends it."""
        try:
            last = False
            while not last and self.error is None:
                taken = [await self.chunks.get()]
                while not self.chunks.empty():
                    taken.append(self.chunks.get_nowait())
                last = taken[-1] is None
                if self.error is not None:
                    break
                # e.g. SSML nested too deep, a DTD (bad-ssml): the stream fails with it
                pieces = await asyncio.to_thread(self._cut, "".join(t for t in taken if t is not None), last)
                for piece in pieces:
                    if self.error is not None:
                        break
                    yield piece, "ssml" if self.buffer.ssml else "text"
            if self.error is not None:
                raise self.error
        finally:
            self.abandoned = True  # nobody reads what is queued now: let it go
            while not self.chunks.empty():
                self.chunks.get_nowait()


# A client with this many times --max-pending-per-connection exchanges queued is not reading its
# answers (each refusal is answered in order too): its connection is closed.
_FLOOD_FACTOR = 4


class KokoroEventHandler(AsyncEventHandler):
    def __init__(self, service: SpeechService, info: WyomingInfo, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.service, self.info = service, info
        self.config, self.state = service.config, service.state
        self._lock = asyncio.Lock()  # one exchange at a time on this connection, in arrival order
        self._tasks: set[asyncio.Task] = set()  # exchanges pending or in progress
        self._gone = False
        self._stream: _Stream | None = None  # open: between synthesize-start and synthesize-stop
        self._last_activity = time.monotonic()  # an event read, audio sent, an exchange finished
        self._first_event = True  # nothing read yet: --first-event-timeout applies
        peer = self.writer.get_extra_info("peername")
        self.address = str(peer[0]) if isinstance(peer, tuple) and peer else "local"
        self.host = client_host(self.address)  # what --max-connections-per-address counts

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
                except (UnicodeDecodeError, ValueError, RecursionError) as err:
                    _LOGGER.warning("Malformed event: %.200s", err)
                    self._reject(RequestError(f"malformed event: {str(err)[:200]}"))
                    break
                if event is None:
                    if self._stream is not None:
                        self._stream.end(RequestError("connection closed before synthesize-stop"))
                    break
                self._first_event = False
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
            self.state.connections.discard(self.host, self)
            await close_gently(self.reader, self.writer)

    async def _admit(self) -> bool:
        """Count this connection against --max-connections and --max-connections-per-address; refuse it
        (an error, then close) if either is full, so that one host's idle sockets cannot lock out another."""
        refusal: KokoroError | None = self.state.connections.refusal(
            self.host, "connections open", limit=self.config.max_connections,
            per_host=self.config.max_connections_per_address)
        if refusal is None and not self.state.shutting_down:
            self.state.connections.add(self.host, self)
            return True
        if refusal is not None:
            _LOGGER.warning("Refusing a connection from %s: %s", self.address, refusal)
        else:
            refusal = WorkerStopped()
        try:
            await write_within(async_write_event(Error(text=str(refusal), code=wyoming_code(refusal)).event(),
                                                 self.writer), self.writer.transport, 5, "Wyoming")
        except ConnectionError:
            pass
        await close_gently(self.reader, self.writer, timeout=1.0)
        return False

    async def _read(self) -> Event | None:
        """The next event; asyncio.TimeoutError once the connection has been idle for --idle-timeout:
        silent in the middle of a stream, or silent with nothing in progress; or, before its first
        event, after --first-event-timeout (Home Assistant sends its event right after connecting)."""
        timeout = self.config.idle_timeout
        if self._first_event and self.config.first_event_timeout > 0:
            timeout = min(timeout, self.config.first_event_timeout) if timeout > 0 else \
                self.config.first_event_timeout
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
            if not read.done():  # and wait until it is cancelled: the reader takes one reader at a time
                read.cancel()
                await asyncio.wait({read})

    def _idle_timeout(self) -> bool:
        """Close an idle connection; a stream left open is ended first (whether to drain it)."""
        timeout = self.config.idle_timeout
        if self._first_event:
            _LOGGER.info("Closing a connection from %s that sent nothing for %.0f s (--first-event-timeout)",
                         self.address, self.config.first_event_timeout)
            return False
        if self._stream is None:
            _LOGGER.info("Closing a connection idle for %.0f s (--idle-timeout)", timeout)
            return False
        _LOGGER.warning("Closing a connection silent for %.0f s in the middle of a stream (--idle-timeout)", timeout)
        self._stream.end(RequestError(f"no synthesize-chunk or synthesize-stop for {timeout:g} s", code=Code.TIMEOUT))
        return True

    async def disconnect(self) -> None:
        """The client is gone (or is being dropped): its exchanges are cancelled, and with them their jobs."""
        self._gone = True
        for task in self._tasks:
            task.cancel()

    def end_for_shutdown(self) -> None:
        """The server is stopping: an open stream ends with an error (the worker fails the jobs)."""
        if self._stream is not None:
            self._stream.end(WorkerStopped())

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
        await write_within(async_write_event(event, self.writer), self.writer.transport, self.config.idle_timeout,
                           "Wyoming")

    def _refusal(self) -> KokoroError | None:
        """Why a new synthesis request on this connection is refused (answered in order), if it is."""
        if self.state.shutting_down:
            return WorkerStopped()
        if len(self._tasks) >= self.config.max_pending:
            return RequestError(f"more than {self.config.max_pending} requests pending on this connection "
                                "(--max-pending-per-connection)", code=Code.TOO_MANY_REQUESTS)
        return None

    def _flooded(self) -> bool:
        if len(self._tasks) < _FLOOD_FACTOR * self.config.max_pending:
            return False
        _LOGGER.warning("Closing a connection with %d exchanges pending: its client is not reading them",
                        len(self._tasks))
        self.writer.transport.abort()
        return True

    async def handle_event(self, event: Event) -> bool:
        data = event.data or {}
        if Describe.is_type(event.type):
            await self.write_event(self.info.get().event())
        elif Ping.is_type(event.type):
            text = data.get("text")
            await self.write_event(Pong(text=text if isinstance(text, str) else None).event())
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
                    self._stream.end(RequestError("text must be a string"))
        elif SynthesizeStop.is_type(event.type):
            if self._stream is not None:
                self._stream.end()
                self._stream = None
        else:
            _LOGGER.debug("Ignoring event %.100s", event.type)
        return True

    def _reject(self, err: KokoroError) -> None:
        """Answer with an error exchange, after the exchanges before it (or end the open stream with it)."""
        if self._stream is not None:
            self._stream.end(err)
            return

        async def answer() -> None:
            async with self._lock:
                await self._send_error_exchange(err)

        self._spawn(answer())

    @staticmethod
    def _request(data: dict, text: Any = None) -> SpeechRequest:
        """A Wyoming `synthesize`/`synthesize-start`'s fields as a SpeechRequest (the voice object's shape
        is Wyoming's; what is in it is the service's to check)."""
        voice = data.get("voice") or {}
        if not isinstance(voice, dict):
            raise RequestError("voice must be an object")
        return SpeechRequest(text=text, voice=voice.get("name"), language=voice.get("language"),
                             text_format=data.get("text_format"))

    # --- plain ---------------------------------------------------------------------------------
    async def _plain(self, data: dict) -> None:
        async with self._lock:
            try:
                speech = await self.service.prepare(self._request(data, data.get("text")))
            except KokoroError as err:
                await self._send_error_exchange(err)
                return
            stats = RequestLog(speech.voice, len(speech.text))
            await self.write_event(AudioStart(rate=RATE, width=WIDTH, channels=CHANNELS).event())
            failure: KokoroError | None = None
            try:
                await self._send(self.service.speak(speech), stats)
            except KokoroError as err:
                failure = err
                await self.write_event(Error(text=str(err), code=wyoming_code(err)).event())
            await self.write_event(AudioStop().event())
            stats.log()
            self.service.metrics.request("wyoming", failure, stats)

    # --- streaming -----------------------------------------------------------------------------
    def _start_stream(self, data: dict, refusal: KokoroError | None) -> None:
        from kokoro_engine import SentenceBuffer

        text_format = data.get("text_format")
        buffer = SentenceBuffer(text_format=text_format if text_format in ("text", "ssml") else None)
        stream = _Stream(buffer, None)
        try:
            if refusal is not None:
                raise refusal
            request = self._request(data)
            self.service.check_text_format(request.text_format)
            stream.voice = self.service.roster.resolve(request.voice, request.language)
            buffer.lang = stream.voice.expr[:1]
        except KokoroError as err:
            stream.end(err)
        self._stream = stream
        self._spawn(self._run_stream(stream))

    async def _run_stream(self, stream: _Stream) -> None:
        async with self._lock:
            await self.write_event(AudioStart(rate=RATE, width=WIDTH, channels=CHANNELS).event())
            stats = RequestLog(stream.voice.expr if stream.voice is not None else "?", 0)
            failure: KokoroError | None = None
            try:
                if stream.voice is None:  # refused at synthesize-start
                    raise stream.error or RequestError("no voice")
                await self._send(self.service.speak_stream(stream.voice, self._counted(stream, stats)), stats)
            except KokoroError as err:
                failure = err
                await self.write_event(Error(text=str(err), code=wyoming_code(err)).event())
            finally:
                stream.abandoned = True  # what the client still sends is dropped, not queued
                while not stream.chunks.empty():
                    stream.chunks.get_nowait()
            await self.write_event(AudioStop().event())
            await self.write_event(SynthesizeStopped().event())
            if stats.samples:
                stats.log()
            self.service.metrics.request("wyoming", failure, stats)

    @staticmethod
    async def _counted(stream: _Stream, stats: RequestLog) -> AsyncIterator[tuple[str, str]]:
        async for piece, text_format in stream.texts():
            stats.chars += len(piece)
            yield piece, text_format

    # --- shared --------------------------------------------------------------------------------
    async def _send_error_exchange(self, err: KokoroError) -> None:
        _LOGGER.warning("Request rejected (%s): %.200s", err.code, err)
        await self.write_event(Error(text=str(err), code=wyoming_code(err)).event())
        await self.write_event(AudioStart(rate=RATE, width=WIDTH, channels=CHANNELS).event())
        await self.write_event(AudioStop().event())
        self.service.metrics.request("wyoming", err)

    async def _send(self, audio: AsyncGenerator[SpeechAudio, None], stats: RequestLog) -> None:
        """The service's audio as audio-chunk events of --samples-per-chunk samples. Leaving early (an
        error, a cancelled exchange) closes the iterator, which ends the job."""
        spc = self.config.samples_per_chunk
        pending = np.zeros(0, dtype=np.int16)
        async with aclosing(audio):
            async for item in audio:
                stats.add(len(item.pcm))
                pending = np.concatenate([pending, item.pcm]) if len(pending) else item.pcm
                while len(pending) >= spc:
                    await self._send_audio(pending[:spc])
                    pending = pending[spc:]
        if len(pending):
            await self._send_audio(pending)

    async def _send_audio(self, pcm: np.ndarray) -> None:
        self._last_activity = time.monotonic()
        await self.write_event(AudioChunk(rate=RATE, width=WIDTH, channels=CHANNELS, audio=pcm.tobytes()).event())


async def read_event_strict(reader: asyncio.StreamReader) -> Event | None:
    """Like wyoming's reader, but malformed input raises ValueError instead of looking like EOF.

    wyoming.event.async_read_event returns None on bad JSON or UTF-8, which would close the connection
    silently; a client that sent a broken request deserves an error and a finished exchange.
    """
    line = await reader.readline()
    if not line:
        return None
    header = read_json(line, allow_nan=True)
    if not isinstance(header, dict) or not isinstance(header.get("type"), str):
        raise ValueError("event header must be an object with a string type")
    data = header.get("data") or {}
    if not isinstance(data, dict):
        raise ValueError("event data must be an object")
    data_length, payload_length = _length(header, "data_length"), _length(header, "payload_length")
    if data_length:
        extra = read_json(await reader.readexactly(data_length), allow_nan=True)
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
