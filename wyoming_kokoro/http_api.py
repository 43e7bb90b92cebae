"""The HTTP face (`--http URI`): OpenAI's `/v1/audio/speech` and a page to audition voices.

An adapter of the protocol alone. It runs on the Wyoming server's event loop and hands each request to
the same `SpeechService` as the Wyoming handler: validation and limits, voice resolution, first-use
downloads, the speed policy, the job on the one worker, int16 audio and the error codes are that
service's. What is HTTP's own: OpenAI's field names and voice aliases, the audio container
(`encode.StreamEncoder`, run on the worker thread), the status from the one error table
(`errors.ERRORS`), and the bounds of the connection itself.

Bounded like the Wyoming side (`HttpLimits`, derived from the same options, and `bounds`, the one set of
transport bounds both protocols use): open connections, speech jobs per client address, the JSON of a
body, the time a request head, a body, an idle keep-alive connection and a stalled write may take. A
request whose client has gone is cancelled at the next chunk, whatever its format.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import json
import logging
import socket
import time
from dataclasses import dataclass
from http import HTTPStatus
from importlib import resources
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlparse

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from kokoro_engine import SAMPLE_RATE

from .bounds import ClientGone, Tally, client_host, departed, read_json, write_within
from .catalog import load_catalog
from .encode import FORMATS, StreamEncoder, available_formats
from .errors import Code, KokoroError, RequestError, as_kokoro_error, wire_form
from .metrics import CONTENT_TYPE
from .service import MAX_CHARS, SPEED_ACCEPTED, RequestLog, SpeechAudio, SpeechRequest, SpeechService
from .sse import SseReply

if TYPE_CHECKING:
    from .context import ServerConfig

_LOGGER = logging.getLogger(__name__)

MODELS = ("kokoro", "tts-1", "tts-1-hd")
# OpenAI's voice names → a Kokoro voice of similar character (English). Used only when that voice is
# installed; otherwise the server's default voice speaks (an OpenAI client cannot know our names).
OPENAI_VOICES = {
    "alloy": "af_alloy", "ash": "am_michael", "ballad": "bm_george", "coral": "af_heart",
    "echo": "am_echo", "fable": "bm_fable", "nova": "af_nova", "onyx": "am_onyx", "sage": "af_sarah",
    "shimmer": "af_bella", "verse": "am_puck", "marin": "af_kore", "cedar": "am_fenrir",
}
# One escaped character in JSON is at most 12 bytes (a surrogate pair as two \\uXXXX).
MAX_BODY = MAX_CHARS * 12 + 65536
# Echoes of client input (error messages, the X-Kokoro-Voice header) are cut to this many characters.
MAX_ECHO = 80
MAX_HEADER_ECHO = 256
_WEB_FILES = {"index.html": "text/html", "app.js": "text/javascript", "style.css": "text/css"}
# Host names that only resolve inside the household (or on this machine): a DNS-rebinding page cannot
# get a public name of its own to resolve to them. IP literals and single-label names are local too.
_LOCAL_SUFFIXES = (".local", ".localhost", ".lan", ".home.arpa", ".internal")


@dataclass(frozen=True)
class HttpLimits:
    """What one HTTP client can hold. `write_timeout` 0: a client that stops reading is never dropped."""

    max_connections: int = 64  # open HTTP connections (apart from Wyoming's); more get a 503 and close
    jobs_per_client: int = 4  # speech requests in progress per client address; more get a 429
    head_timeout: float = 10.0  # a request line and headers (and a keep-alive connection's idle time)
    body_timeout: float = 30.0  # a request body, from its headers to its last byte
    write_timeout: float = 300.0  # one write to a client that does not read
    # The kernel's send buffer of a speech response (doubled by Linux; autotuning would grow it to
    # megabytes): with the event loop's own 64 KiB, what a client that stops reading can leave unread
    # is a few seconds of audio, so its job pauses soon after. Audio needs at most 48 KB/s.
    send_buffer: int = 65536


    @classmethod
    def of(cls, config: ServerConfig) -> HttpLimits:
        """The Wyoming side's bounds applied to HTTP: --max-connections, --max-pending-per-connection
        (per client address: HTTP/1.1 has one request at a time per connection) and --idle-timeout."""
        idle = config.idle_timeout
        return cls(max_connections=config.max_connections, jobs_per_client=config.max_pending,
                   head_timeout=min(cls.head_timeout, idle) if idle > 0 else cls.head_timeout,
                   body_timeout=min(cls.body_timeout, idle) if idle > 0 else cls.body_timeout,
                   write_timeout=idle)


class HttpError(RequestError):
    """A request refused by the HTTP adapter itself; `param` names the OpenAI field at fault."""

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message, code=code)
        self.param = param


def error_response(err: BaseException, param: str | None = None) -> web.Response:
    """OpenAI's JSON error shape; the status and the code from the one table (`errors.ERRORS`), so a
    failure carries the same code as the Wyoming `error` event for it."""
    failure = as_kokoro_error(err)
    form = wire_form(failure)
    kind = {401: "authentication_error", 403: "permission_error", 404: "not_found_error",
            429: "rate_limit_error"}.get(form.http, "server_error" if form.http >= 500 else "invalid_request_error")
    body = {"error": {"message": str(failure), "type": kind, "param": getattr(failure, "param", param),
                      "code": form.wyoming}}
    # 429 and 503 are "not now": say when to try again (one turn of the worker is about a second)
    headers = {"Retry-After": "1"} if form.http in (429, 503) else None
    return web.json_response(body, status=form.http, headers=headers)


def _short(value: Any) -> str:
    """A client's value for an error message: its repr, cut to MAX_ECHO characters."""
    if isinstance(value, (dict, list)):
        return f"a JSON {'object' if isinstance(value, dict) else 'array'}"
    text = repr(value) if isinstance(value, str) else type(value).__name__
    return text if len(text) <= MAX_ECHO else text[:MAX_ECHO - 1] + "…"


def _header_value(text: str) -> str:
    """A resolved name for a response header: printable ASCII (escaped otherwise), bounded."""
    text = text.encode("ascii", "backslashreplace").decode("ascii")
    text = "".join(ch if " " <= ch <= "~" else "?" for ch in text)
    return text if len(text) <= MAX_HEADER_ECHO else text[:MAX_HEADER_ECHO - 3] + "..."


def machine_names() -> set[str]:
    """This machine's host name (lower case), with its `.local` form. Not getfqdn(): a reverse DNS
    lookup at start-up can stall for seconds on a machine without DNS."""
    names = {"localhost"}
    name = socket.gethostname().strip().rstrip(".").lower()
    if name:
        names |= {name, name.split(".")[0], name.split(".")[0] + ".local"}
    return names


def _host_name(host_header: str) -> str:
    """The name in a Host header, without port or IPv6 brackets, lower case."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


def host_allowed(host_header: str, allowed: frozenset[str]) -> bool:
    """Whether a Host header names this server from inside the household: an IP address, a name
    without dots, a name under a local-only suffix, one of this machine's names or an allowed one.
    What it refuses are public DNS names, the kind a DNS-rebinding page runs under."""
    if "*" in allowed:
        return True
    host = _host_name(host_header)
    if not host:
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    return "." not in host or host.endswith(_LOCAL_SUFFIXES) or host in allowed


class _ConnectionCap:
    """aiohttp's protocol factory with a cap: past `limit` open connections a new one is answered
    with a 503 and closed at once, so idle sockets cannot run the process out of file descriptors
    (the Wyoming listener shares them). Counted from the factory call: asyncio accepts a burst of
    connections and makes all their protocols before any of them is told it is connected."""

    def __init__(self, server: web.Server, limit: int) -> None:
        self._server, self.limit = server, limit
        self.open = Tally()  # by no host: the peer is not known yet when the protocol is made
        self.refused = 0

    def __call__(self) -> asyncio.BaseProtocol:
        refusal = self.open.refusal(None, "HTTP connections open", limit=self.limit)
        if refusal is not None:
            self.refused += 1
            if self.refused == 1 or self.refused % 100 == 0:
                _LOGGER.warning("Refusing an HTTP connection: %d open (--max-connections); %d refused so far",
                                len(self.open), self.refused)
            return _Refuse(refusal)
        return _Counted(self._server(), self)

    def __getattr__(self, name: str) -> Any:  # the runner's shutdown calls, connections, …
        return getattr(self._server, name)


class _Counted(asyncio.Protocol):
    """An admitted connection's aiohttp protocol, counted until the connection is lost."""

    def __init__(self, inner: asyncio.Protocol, cap: _ConnectionCap) -> None:
        self.inner, self.cap = inner, cap
        cap.open.add(None, self)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self.cap.open.discard(None, self)
        self.inner.connection_lost(exc)


class _Refuse(asyncio.Protocol):
    """A connection over the cap: its answer is written at once, below aiohttp, and it is closed."""

    def __init__(self, refusal: KokoroError) -> None:
        self.refusal = refusal

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        form = wire_form(self.refusal)
        body = json.dumps({"error": {"message": str(self.refusal), "type": "server_error", "param": None,
                                     "code": form.wyoming}}).encode()
        head = (f"HTTP/1.1 {form.http} {HTTPStatus(form.http).phrase}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n").encode()
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(head + body)
        transport.close()


class _ParseErrorLog:
    """aiohttp's server logger, but a client's malformed request (bad header characters, an over-long
    line, Content-Length with Transfer-Encoding: aiohttp's parser errors, answered 400) is logged at
    INFO without a traceback, at most once a minute per client address, so no client writes to the
    log at will. Everything else goes to aiohttp's logger unchanged."""

    interval = 60.0
    max_addresses = 1024

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._last: dict[str, float] = {}

    def exception(self, msg: str, *args: Any, exc_info: Any = None, **kwargs: Any) -> None:
        if not isinstance(exc_info, HttpProcessingError):
            self._logger.exception(msg, *args, exc_info=exc_info, **kwargs)
            return
        address, now = str(args[0]) if args else "?", time.monotonic()
        if now - self._last.get(address, -self.interval) < self.interval:
            return
        if len(self._last) >= self.max_addresses:
            self._last = {a: t for a, t in self._last.items() if now - t < self.interval}
        self._last[address] = now
        _LOGGER.info("Malformed HTTP request from %s (answered 400; more from it this minute are not logged): "
                     "%.200s", address, exc_info.message)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._logger, name)


class _Runner(web.AppRunner):
    def __init__(self, app: web.Application, limits: HttpLimits, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.limits = limits
        self.cap: _ConnectionCap | None = None

    async def _make_server(self) -> web.Server:
        self.cap = _ConnectionCap(await super()._make_server(), self.limits.max_connections)
        return self.cap  # type: ignore[return-value]  # delegates to the web.Server


class HttpApi:
    def __init__(self, service: SpeechService, api_key: str | None = None, *, limits: HttpLimits | None = None,
                 allowed_hosts: frozenset[str] = frozenset()) -> None:
        self.service = service
        self.api_key = api_key or None
        self.limits = limits or HttpLimits.of(service.config)
        self.allowed_hosts = frozenset(h.lower() for h in allowed_hosts) | machine_names()
        self.jobs = Tally()  # speech requests in progress, by client host
        self.requests = 0  # requests answered (any path)
        self.speech_requests = 0  # speech requests that sent their whole audio
        self.runner: _Runner | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self._errors])
        app.router.add_post("/v1/audio/speech", self.speech)
        app.router.add_get("/v1/models", self.models)
        app.router.add_get("/v1/models/{model}", self.model)
        app.router.add_get("/v1/audio/voices", self.voices)
        app.router.add_get("/health", self.health)
        app.router.add_get("/metrics", self.metrics)
        app.router.add_get("/", self.page)
        app.router.add_get("/web/{name}", self.static)
        return app

    def runner_for(self, app: web.Application) -> _Runner:
        # keepalive_timeout is also the time a new connection has for its first request head: aiohttp
        # closes a connection still waiting for a complete head when it runs out.
        # handler_cancellation: a client that disconnects cancels its handler (and so its job) at once.
        # lingering_time: how long a body still arriving after its answer (a 413, a 408) is read and
        # dropped before the connection closes.
        from aiohttp.log import server_logger

        self.runner = _Runner(app, self.limits, access_log=None, shutdown_timeout=2.0,
                              keepalive_timeout=self.limits.head_timeout, handler_cancellation=True,
                              lingering_time=min(2.0, self.limits.head_timeout),
                              logger=_ParseErrorLog(server_logger))
        return self.runner

    @web.middleware
    async def _errors(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            self._check_host(request)
            if request.path.startswith("/v1/") or request.path == "/metrics":
                self._authorize(request)
            return await handler(request)
        except KokoroError as err:
            return error_response(err)
        except web.HTTPRequestEntityTooLarge:
            return error_response(HttpError(f"request body larger than {MAX_BODY} bytes", code=Code.TEXT_TOO_LONG))
        except web.HTTPException as err:  # aiohttp's own 404/405: the same JSON shape
            if err.status < 400:
                raise
            body = {"error": {"message": err.reason, "type": "invalid_request_error", "param": None, "code": None}}
            return web.json_response(body, status=err.status)
        except Exception as err:  # a bug: the traceback is the log's, the client gets the JSON shape
            _LOGGER.error("HTTP request failed", exc_info=err)
            return error_response(err)
        finally:
            self.requests += 1

    def _check_host(self, request: web.Request) -> None:
        """Without a key, only requests that name this server from inside the household (DNS rebinding)."""
        if self.api_key is not None or request.transport is None:
            return
        if isinstance(request.transport.get_extra_info("sockname"), str):
            return  # a unix socket: only this machine reaches it
        host = request.headers.get("Host")
        if host is not None and not host_allowed(host, self.allowed_hosts):
            raise HttpError(f"Host {_short(host)} is not a name of this server; add it with "
                            "--http-allowed-hosts or set --api-key", code=Code.HOST_NOT_ALLOWED)

    def _authorize(self, request: web.Request) -> None:
        if self.api_key is None:
            return
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        # aiohttp hands undecodable header bytes over as surrogates: compare the very bytes
        given = token.strip().encode("utf-8", "surrogateescape")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given, self.api_key.encode()):
            raise HttpError("missing or wrong API key (Authorization: Bearer KEY)", code=Code.UNAUTHORIZED)

    # --- speech ---------------------------------------------------------------------------------
    def openai_voice(self, name: Any) -> Any:
        """OpenAI's voice names → ours (unless a blend has that exact name); anything else unchanged,
        for the service to resolve or refuse."""
        if isinstance(name, str):
            mapped = OPENAI_VOICES.get(name.strip().casefold())
            if mapped is not None and name.strip() not in self.service.config.blends:
                return mapped if self.service.roster.usable(mapped) else None  # None: default
        return name

    def parse_speech(self, body: Any) -> tuple[SpeechRequest, str]:
        """The service's request and the response format of an OpenAI speech body; HttpError for
        what is HTTP's own (model, formats), the service checks the rest."""
        if not isinstance(body, dict):
            raise HttpError("the body must be a JSON object")
        model = body.get("model", "kokoro")
        if not isinstance(model, str) or model not in MODELS:
            raise HttpError(f"unknown model {_short(model)} (use one of {', '.join(MODELS)})", param="model")
        fmt = body.get("response_format", "mp3")
        if not isinstance(fmt, str) or fmt not in FORMATS or fmt not in available_formats():
            raise HttpError(f"unsupported response_format {_short(fmt)} (use one of "
                            f"{', '.join(available_formats())})", param="response_format")
        if body.get("stream_format", "audio") not in ("audio", "sse"):
            raise HttpError("stream_format must be 'audio' or 'sse'", param="stream_format")
        if not isinstance(body.get("timestamps", False), bool):
            raise HttpError("timestamps must be true or false", param="timestamps")
        if body.get("timestamps") is True and body.get("stream_format") != "sse":
            raise HttpError("timestamps come with stream_format 'sse'", param="timestamps")
        return SpeechRequest(text=body.get("input"), voice=self.openai_voice(body.get("voice")),
                             speed=body.get("speed")), fmt

    async def _read_body(self, request: web.Request) -> Any:
        if request.content_type != "application/json":
            # A page on another site can send text/plain or a form without asking (no CORS preflight);
            # application/json it cannot, so this also keeps cross-site pages out.
            raise HttpError(f"Content-Type must be application/json, not {_short(request.content_type)}", code=Code.UNSUPPORTED_MEDIA_TYPE)
        try:
            async with asyncio.timeout(self.limits.body_timeout):
                data = await request.read()
        except TimeoutError:
            _LOGGER.info("Closing an HTTP request whose body took over %g s", self.limits.body_timeout)
            raise HttpError(f"the request body took longer than {self.limits.body_timeout:g} s", code=Code.REQUEST_TIMEOUT) from None
        try:
            # up to 1.2 MB: not on the event loop; an OpenAI body is standard JSON, without NaN
            return await asyncio.to_thread(read_json, data, allow_nan=False)
        except ValueError as err:
            raise HttpError(f"bad JSON body: {str(err)[:200]}") from None

    async def speech(self, request: web.Request) -> web.StreamResponse:
        client = client_host(request.remote or "local")
        refusal = self.jobs.refusal(client, "speech requests in progress", per_host=self.limits.jobs_per_client,
                                    code=Code.TOO_MANY_REQUESTS, option="--max-pending-per-connection")
        if refusal is not None:
            raise refusal
        with self.jobs.holding(client):
            try:
                return await self._speech(request)
            except KokoroError as err:  # refused before any audio (mid-stream failures are counted there)
                self.service.metrics.request("http", err)
                raise

    async def _speech(self, request: web.Request) -> web.StreamResponse:
        body = await self._read_body(request)
        speech_request, fmt = self.parse_speech(body)
        speech = await self.service.prepare(speech_request)
        reply: _Reply = SseReply(speech, timestamps=body.get("timestamps") is True) \
            if body.get("stream_format") == "sse" else _AudioReply(fmt)
        stats = RequestLog(speech.voice, len(speech.text))
        # A file needs no --trailing-silence (that is for satellites that clip the end of a stream);
        # --leading-silence it gets: a player that wakes late clips the start of a file too.
        audio = self.service.speak(speech, encoder=StreamEncoder(fmt), trailing_silence=False,
                                   timestamps=reply.timestamps)
        async with contextlib.aclosing(audio):  # leaving early (an error, a departed client) ends the job
            first = await anext(audio, None)  # errors before any audio get their own status
            while first is not None and not len(first.pcm) and not first.data:
                first = await anext(audio, None)  # the engine's turn boundaries before any audio
            response = web.StreamResponse(headers={
                "Content-Type": reply.content_type, "X-Kokoro-Voice": _header_value(speech.voice),
                "X-Kokoro-Sample-Rate": str(SAMPLE_RATE), "Cache-Control": "no-store"})
            # No length is known: HTTP/1.1 gets chunked encoding (aiohttp's choice without a length);
            # an HTTP/1.0 client, the body until the connection closes (it has no chunked encoding).
            sock = request.transport.get_extra_info("socket") if request.transport is not None else None
            if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.limits.send_buffer)
            try:
                await self._sent(request, response.prepare(request))
                item = first
                while item is not None:
                    stats.add(len(item.pcm))
                    data = reply.chunk(item)
                    if data:
                        await self._sent(request, response.write(data))
                    elif departed(request.transport):  # FLAC writes nothing until the end: look anyway
                        raise ClientGone("the client went away")
                    item = await anext(audio, None)
                end = reply.end()
                if end:
                    await self._sent(request, response.write(end))
                await self._sent(request, response.write_eof())
            except ConnectionError as err:  # ClientGone, or aiohttp's write on a closed transport
                _LOGGER.info("HTTP client went away during synthesis: %s", err)
                return response
            except asyncio.CancelledError:
                _LOGGER.info("HTTP client went away during synthesis")
                raise
            except KokoroError as err:
                # Mid-stream the status line has gone: the reply says so in its own way if it has one
                # (SSE's error event), else the connection ends without the final chunk, so the client
                # sees a broken transfer rather than a short file that looks complete.
                _LOGGER.warning("HTTP synthesis ended mid-stream (%s): %s", err.code, err)
                self.service.metrics.request("http", err, stats)
                said = reply.error(err)
                if said is not None:
                    with contextlib.suppress(ConnectionError):
                        await self._sent(request, response.write(said))
                if request.transport is not None and said is not None:
                    request.transport.close()
                elif request.transport is not None:
                    request.transport.abort()
                return response
        self.speech_requests += 1
        stats.log()
        self.service.metrics.request("http", None, stats)
        return response

    async def _sent(self, request: web.Request, write: Any) -> None:
        """Await a write; a client that takes none of it for the write timeout is disconnected."""
        await write_within(write, request.transport, self.limits.write_timeout, "HTTP")

    # --- listings -------------------------------------------------------------------------------
    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [_model(m) for m in MODELS]})

    async def model(self, request: web.Request) -> web.Response:
        name = request.match_info["model"]
        if name not in MODELS:
            raise web.HTTPNotFound(reason=f"model {_short(name)} not found")
        return web.json_response(_model(name))

    async def voices(self, request: web.Request) -> web.Response:
        """The roster's voice list (catalog and blends, as Wyoming advertises them), with the catalog's
        gender and grade."""
        config, roster = self.service.config, self.service.roster
        catalog = load_catalog()
        out = []
        for v in roster.voices():
            entry = catalog.get(v.name)
            out.append({
                "name": v.name, "display_name": entry.display_name if entry else v.name,
                "language": v.languages[0] if v.languages else None, "languages": list(v.languages),
                "language_name": entry.language_name if entry else None,
                "gender": entry.gender if entry else None, "grade": entry.quality if entry else None,
                "installed": v.installed, "description": v.description, "blend": v.blend,
            })
        aliases = {k: (v if roster.usable(v) else config.default_voice) for k, v in OPENAI_VOICES.items()}
        return web.json_response({"voices": out, "default": config.default_voice, "openai_aliases": aliases})

    async def health(self, request: web.Request) -> web.Response:
        from kokoro_engine import SPEED_MAX, SPEED_MIN, dtype_name

        engine, config = self.service.engine, self.service.config
        cap = self.runner.cap if self.runner is not None else None
        ready = self.service.state.ready  # 503 until warm-up ends: probes send no traffic meanwhile
        return web.json_response(status=200 if ready else 503, data={
            "status": "ok" if ready else "starting", "model": config.model or "Kokoro-82M", "device": str(engine.device),
            "dtype": dtype_name(engine.model.compute_dtype), "int8_convolutions": engine.model.int8_convs,
            "default_voice": config.default_voice, "formats": available_formats(),
            "speed_range": list(SPEED_ACCEPTED), "speed_clamp": [SPEED_MIN, SPEED_MAX],
            "auth": self.api_key is not None,
            # What is bounded, as it stands: the service's (jobs, stuck threads, Wyoming connections,
            # cache, memory) and HTTP's own.
            **self.service.status(),
            "http_connections": len(cap.open) if cap is not None else 0,
            "http_max_connections": self.limits.max_connections,
            "http_connections_refused": cap.refused if cap is not None else 0,
            "http_jobs": len(self.jobs), "http_jobs_per_client": self.limits.jobs_per_client,
            "http_requests": self.requests, "http_speech_requests": self.speech_requests,
        })

    async def metrics(self, request: web.Request) -> web.Response:
        """Prometheus' text format (wyoming_kokoro.metrics); behind --api-key when one is set."""
        body = await asyncio.to_thread(self.service.metrics.render)  # reads /proc: off the event loop
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE, "Cache-Control": "no-store"})

    # --- page -----------------------------------------------------------------------------------
    async def page(self, request: web.Request) -> web.Response:
        return self._web_file("index.html")

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in _WEB_FILES:
            raise web.HTTPNotFound(reason=f"no such file: {_short(name)}")
        return self._web_file(name)

    def _web_file(self, name: str) -> web.Response:
        data = resources.files("wyoming_kokoro").joinpath("web", name).read_bytes()
        return web.Response(body=data, content_type=_WEB_FILES[name], charset="utf-8",
                            headers={"Cache-Control": "no-cache"})


class _Reply(Protocol):
    """The body of a speech response: an audio file (`_AudioReply`) or server-sent events (`SseReply`)."""

    content_type: str
    timestamps: bool  # each chunk carries its words' timings

    def chunk(self, item: SpeechAudio) -> bytes: ...  # b"": nothing to send for this chunk

    def end(self) -> bytes: ...

    def error(self, err: KokoroError) -> bytes | None: ...  # None: the body cannot say it


class _AudioReply:
    """A speech response's body as the audio file of `response_format`: the encoder's bytes as they come."""

    timestamps = False

    def __init__(self, fmt: str) -> None:
        self.content_type = FORMATS[fmt].content_type

    @staticmethod
    def chunk(item: SpeechAudio) -> bytes:
        return item.data

    @staticmethod
    def end() -> bytes:
        return b""

    @staticmethod
    def error(err: KokoroError) -> None:
        return None


def _model(name: str) -> dict:
    return {"id": name, "object": "model", "created": 0, "owned_by": "hexgrad/Kokoro-82M"}


async def start_http(service: SpeechService, uri: str, api_key: str | None = None, *,
                     allowed_hosts: str | None = None, limits: HttpLimits | None = None) -> web.AppRunner:
    """Serve the API on `uri` (tcp://HOST:PORT or unix://PATH) on the running loop; `await
    runner.cleanup()` stops it. `tcp://0.0.0.0:PORT` listens on every IPv4 and IPv6 interface.
    `allowed_hosts`: further Host names (comma-separated; `*`: any) accepted when there is no key."""
    parsed = urlparse(uri)
    hosts = {h.strip().lower() for h in (allowed_hosts or "").split(",") if h.strip()}
    if parsed.scheme == "tcp" and parsed.hostname:
        hosts.add(parsed.hostname.lower())
    api = HttpApi(service, api_key, limits=limits, allowed_hosts=frozenset(hosts))
    runner = api.runner_for(api.app())
    await runner.setup()
    try:
        if parsed.scheme == "unix":
            site: web.BaseSite = web.UnixSite(runner, parsed.path or parsed.netloc)
        elif parsed.scheme == "tcp" and parsed.port:
            host = parsed.hostname
            # The backlog is also how many connections asyncio accepts in one go: kept near the cap.
            site = web.TCPSite(runner, None if host in (None, "", "0.0.0.0", "::") else host, parsed.port,
                               backlog=max(16, min(128, api.limits.max_connections)))
        else:
            raise ValueError(f"--http needs tcp://HOST:PORT or unix://PATH, got {uri!r}")
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    _LOGGER.info("HTTP API on %s", uri)
    return runner
