"""The HTTP face (`--http URI`): OpenAI's `/v1/audio/speech` and a page to audition voices.

It runs on the Wyoming server's event loop and shares everything with it through `ServerContext`: voice
names, aliases and blends (`resolve_voice`), first-use downloads (`ensure_voices`), input bounds
(`check_text`) and the one inference `Worker`, so HTTP and Wyoming requests queue together.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import Iterator
from importlib import resources
from typing import Any
from urllib.parse import urlparse

from aiohttp import web

from .catalog import load_catalog
from .context import MAX_CHARS, RequestError, ServerContext, check_text
from .encode import FORMATS, StreamEncoder, available_formats
from .handler import RATE, RequestLog
from .worker import Job, SynthesisTimeout, WorkerStopped

_LOGGER = logging.getLogger(__name__)

MODELS = ("kokoro", "tts-1", "tts-1-hd")
# OpenAI's voice names → a Kokoro voice of similar character (English). Used only when that voice is
# installed; otherwise the server's default voice speaks (an OpenAI client cannot know our names).
OPENAI_VOICES = {
    "alloy": "af_alloy", "ash": "am_michael", "ballad": "bm_george", "coral": "af_heart",
    "echo": "am_echo", "fable": "bm_fable", "nova": "af_nova", "onyx": "am_onyx", "sage": "af_sarah",
    "shimmer": "af_bella", "verse": "am_puck", "marin": "af_kore", "cedar": "am_fenrir",
}
# OpenAI accepts 0.25–4.0. Kokoro's duration scaling sounds natural only in about 0.5–2.0 (beyond it
# words slur or stretch into drawls), so requests outside that range are spoken at the nearest end.
SPEED_RANGE = (0.25, 4.0)
SPEED_CLAMP = (0.5, 2.0)
# One escaped character in JSON is at most 12 bytes (a surrogate pair as two \\uXXXX).
MAX_BODY = MAX_CHARS * 12 + 65536
_STATUS = {"bad-request": 400, "empty-text": 400, "text-too-long": 413, "voice-not-found": 404,
           "voice-download-failed": 503, "synthesis-failed": 500, "unauthorized": 401}
_WEB_FILES = {"index.html": "text/html", "app.js": "text/javascript", "style.css": "text/css"}


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param

    @classmethod
    def from_request_error(cls, err: RequestError, param: str | None = None) -> ApiError:
        return cls(_STATUS.get(err.code, 400), str(err), err.code, param)

    def response(self) -> web.Response:
        kind = {401: "authentication_error", 404: "not_found_error"}.get(
            self.status, "server_error" if self.status >= 500 else "invalid_request_error")
        body = {"error": {"message": self.message, "type": kind, "param": self.param, "code": self.code}}
        return web.json_response(body, status=self.status)


class HttpApi:
    def __init__(self, ctx: ServerContext, api_key: str | None = None) -> None:
        self.ctx = ctx
        self.api_key = api_key or None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self._errors])
        app.router.add_post("/v1/audio/speech", self.speech)
        app.router.add_get("/v1/models", self.models)
        app.router.add_get("/v1/models/{model}", self.model)
        app.router.add_get("/v1/audio/voices", self.voices)
        app.router.add_get("/health", self.health)
        app.router.add_get("/", self.page)
        app.router.add_get("/web/{name}", self.static)
        return app

    @web.middleware
    async def _errors(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            if request.path.startswith("/v1/"):
                self._authorize(request)
            return await handler(request)
        except ApiError as err:
            return err.response()
        except web.HTTPRequestEntityTooLarge:
            return ApiError(413, f"request body larger than {MAX_BODY} bytes", "text-too-long").response()
        except web.HTTPException as err:  # aiohttp's own 404/405: the same JSON shape
            if err.status < 400:
                raise
            return ApiError(err.status, err.reason, None).response()

    def _authorize(self, request: web.Request) -> None:
        if self.api_key is None:
            return
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), self.api_key.encode()):
            raise ApiError(401, "missing or wrong API key (Authorization: Bearer KEY)", "invalid_api_key")

    # --- speech ---------------------------------------------------------------------------------
    def resolve_voice(self, name: Any) -> str:
        """OpenAI's names first (unless a blend or voice has that exact name), then ours."""
        if isinstance(name, str):
            key = name.strip().casefold()
            mapped = OPENAI_VOICES.get(key)
            if mapped is not None and name.strip() not in self.ctx.blends:
                return mapped if self.ctx.installed.get(mapped, False) else self.ctx.default_voice
        elif name is not None:
            raise ApiError(400, "voice must be a string", "bad-request", "voice")
        try:
            return self.ctx.resolve_voice(name)
        except RequestError as err:
            raise ApiError.from_request_error(err, "voice") from err

    def parse_speech(self, body: Any) -> tuple[str, str, str, float]:
        """(text, voice expression, format, speed) of a request body, or ApiError."""
        if not isinstance(body, dict):
            raise ApiError(400, "the body must be a JSON object", "bad-request")
        model = body.get("model", "kokoro")
        if model not in MODELS:
            raise ApiError(400, f"unknown model {model!r} (use one of {', '.join(MODELS)})", "model_not_found",
                           "model")
        try:
            text = check_text(body.get("input"))
        except RequestError as err:
            raise ApiError.from_request_error(err, "input") from err
        fmt = body.get("response_format", "mp3")
        if fmt not in FORMATS or fmt not in available_formats():
            raise ApiError(400, f"unsupported response_format {fmt!r} (use one of {', '.join(available_formats())})",
                           "bad-request", "response_format")
        if body.get("stream_format", "audio") != "audio":
            raise ApiError(400, "only stream_format 'audio' is supported", "bad-request", "stream_format")
        speed = body.get("speed")
        if speed is None:
            speed = self.ctx.speed
        if isinstance(speed, bool) or not isinstance(speed, int | float) or not (
                SPEED_RANGE[0] <= speed <= SPEED_RANGE[1]):
            raise ApiError(400, f"speed must be a number from {SPEED_RANGE[0]} to {SPEED_RANGE[1]}",
                           "bad-request", "speed")
        speed = min(max(float(speed), SPEED_CLAMP[0]), SPEED_CLAMP[1])
        return text, self.resolve_voice(body.get("voice")), fmt, speed

    async def speech(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ApiError(400, f"the body is not JSON: {err}", "bad-request") from err
        text, voice, fmt, speed = self.parse_speech(body)
        try:
            await self.ctx.ensure_voices(voice)
        except RequestError as err:
            raise ApiError.from_request_error(err, "voice") from err
        await self.ctx.ensure_span_voices(text, None)

        job = Job(make_chunks=lambda: self._encoded(text, voice, speed, fmt), loop=asyncio.get_running_loop())
        stats = RequestLog(voice, len(text))
        chunks = job.results().__aiter__()
        try:
            self.ctx.worker.submit(job)
            try:
                first = await chunks.__anext__()
            except StopAsyncIteration:
                first = None
            except ValueError as err:  # the engine's request errors (EngineError) come before any audio
                code = "voice-unusable" if self.ctx.voice_unusable(err) else "bad-request"
                raise ApiError(400, str(err), code) from err
            except (WorkerStopped, SynthesisTimeout) as err:
                raise ApiError(503, str(err), "unavailable") from err
            except Exception as err:
                _LOGGER.exception("Synthesis failed")
                raise ApiError(500, str(err) or type(err).__name__, "synthesis-failed") from err
            response = web.StreamResponse(headers={
                "Content-Type": FORMATS[fmt].content_type, "X-Kokoro-Voice": voice,
                "X-Kokoro-Sample-Rate": str(RATE), "Cache-Control": "no-store"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            try:
                item = first
                while item is not None:
                    samples, data = item
                    if samples and stats.first_audio is None:
                        stats.first_audio = time.monotonic()
                    stats.samples += samples
                    if data:
                        await response.write(data)
                    item = await anext(chunks, None)
            except (ConnectionError, asyncio.CancelledError):
                _LOGGER.info("HTTP client went away during synthesis")
                raise
            except Exception as err:
                # Mid-stream the status line has gone: end the connection without the final chunk, so
                # the client sees a broken transfer rather than a short file that looks complete.
                if isinstance(err, (WorkerStopped, SynthesisTimeout)):
                    _LOGGER.warning("HTTP synthesis ended mid-stream: %s", err)
                else:
                    _LOGGER.exception("Synthesis failed mid-stream")
                if request.transport is not None:
                    request.transport.abort()
                return response
            await response.write_eof()
            stats.log()
            return response
        finally:
            job.cancel()  # no-op when finished; frees the worker at the next chunk otherwise

    def _encoded(self, text: str, voice: str, speed: float, fmt: str) -> Iterator[tuple[int, bytes]]:
        """(samples, encoded bytes) per engine chunk, run on the worker thread: encoding (Opus is
        the costly one) stays off the event loop, and the encoder has one owner."""
        chunks = self.ctx.engine.synthesize(text, voice, speed=speed, lang=self.ctx.lang_for(voice),
                                             seed=self.ctx.seed)
        encoder = StreamEncoder(fmt)
        try:
            for chunk in chunks:
                yield len(chunk.audio), encoder.feed(chunk.audio)
            yield 0, encoder.finish()
        finally:
            encoder.close()

    # --- listings -------------------------------------------------------------------------------
    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [_model(m) for m in MODELS]})

    async def model(self, request: web.Request) -> web.Response:
        name = request.match_info["model"]
        if name not in MODELS:
            raise ApiError(404, f"model {name!r} not found", "model_not_found", "model")
        return web.json_response(_model(name))

    async def voices(self, request: web.Request) -> web.Response:
        """Every voice Wyoming advertises (catalog and blends), with the catalog's gender and grade."""
        catalog = load_catalog()
        (program,) = (self.ctx.info or self.ctx.build_info()).tts
        out = []
        for v in program.voices:
            entry = catalog.get(v.name)
            blend = self.ctx.blends.get(v.name)
            out.append({
                "name": v.name, "display_name": entry.display_name if entry else v.name,
                "language": v.languages[0] if v.languages else None, "languages": list(v.languages),
                "language_name": entry.language_name if entry else None,
                "gender": entry.gender if entry else None, "grade": entry.quality if entry else None,
                "installed": bool(v.installed), "description": v.description, "blend": blend,
            })
        aliases = {k: (v if self.ctx.installed.get(v, False) else self.ctx.default_voice)
                   for k, v in OPENAI_VOICES.items()}
        return web.json_response({"voices": out, "default": self.ctx.default_voice, "openai_aliases": aliases})

    async def health(self, request: web.Request) -> web.Response:
        from kokoro_engine import dtype_name

        engine = self.ctx.engine
        model, cache = engine.model, engine.cache
        return web.json_response({
            "status": "ok", "model": self.ctx.model or "Kokoro-82M", "device": str(engine.device),
            "dtype": dtype_name(model.compute_dtype), "int8_convolutions": model.int8_convs,
            "default_voice": self.ctx.default_voice, "formats": available_formats(),
            "max_chars": MAX_CHARS, "speed_range": list(SPEED_RANGE), "speed_clamp": list(SPEED_CLAMP),
            "auth": self.api_key is not None,
            # What is bounded, as it stands: open Wyoming connections, jobs on the worker, audio cached.
            "wyoming_connections": len(self.ctx.connections), "max_connections": self.ctx.max_connections,
            "jobs": self.ctx.worker.jobs(),
            "audio_cache_bytes": cache.bytes if cache is not None else 0,
            "audio_cache_max_bytes": cache.max_bytes if cache is not None else 0,
            "memory": self.ctx.worker.memory(),
        })

    # --- page -----------------------------------------------------------------------------------
    async def page(self, request: web.Request) -> web.Response:
        return self._web_file("index.html")

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in _WEB_FILES:
            raise ApiError(404, f"no such file: {name}", "not_found")
        return self._web_file(name)

    def _web_file(self, name: str) -> web.Response:
        data = resources.files("wyoming_kokoro").joinpath("web", name).read_bytes()
        return web.Response(body=data, content_type=_WEB_FILES[name], charset="utf-8",
                            headers={"Cache-Control": "no-cache"})


def _model(name: str) -> dict:
    return {"id": name, "object": "model", "created": 0, "owned_by": "hexgrad/Kokoro-82M"}


async def start_http(ctx: ServerContext, uri: str, api_key: str | None = None) -> web.AppRunner:
    """Serve the API on `uri` (tcp://HOST:PORT or unix://PATH) on the running loop; `await
    runner.cleanup()` stops it. `tcp://0.0.0.0:PORT` listens on every IPv4 and IPv6 interface."""
    runner = web.AppRunner(HttpApi(ctx, api_key).app(), access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    parsed = urlparse(uri)
    try:
        if parsed.scheme == "unix":
            site: web.BaseSite = web.UnixSite(runner, parsed.path or parsed.netloc)
        elif parsed.scheme == "tcp" and parsed.port:
            host = parsed.hostname
            site = web.TCPSite(runner, None if host in (None, "", "0.0.0.0", "::") else host, parsed.port)
        else:
            raise ValueError(f"--http needs tcp://HOST:PORT or unix://PATH, got {uri!r}")
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    _LOGGER.info("HTTP API on %s", uri)
    return runner
