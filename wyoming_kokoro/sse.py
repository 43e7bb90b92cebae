"""`POST /v1/audio/speech` with `"stream_format": "sse"`: the audio as server-sent events, as OpenAI's
speech stream sends it (`speech.audio.delta` with base64 audio, then `speech.audio.done`), and with
`"timestamps": true` each delta also carries the words its audio speaks, with their start and end in
seconds from the start of the reply: the model's own durations (`kokoro_engine.timings`).

One delta per engine chunk (a sentence or a pause); the deltas' audio, joined, is the file of the
requested `response_format`. An error after the first event is sent as an `error` event (the status
line has gone), and the stream ends.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from kokoro_engine import SAMPLE_RATE

from .encode import StreamEncoder
from .errors import KokoroError, wyoming_code
from .service import RequestLog, Speech

if TYPE_CHECKING:
    from .http_api import HttpApi

_LOGGER = logging.getLogger(__name__)


def _event(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()


async def speech_events(api: HttpApi, request: web.Request, speech: Speech, fmt: str, *,
                        timestamps: bool) -> web.StreamResponse:
    from .http_api import _departed, _Gone, _header_value

    stats = RequestLog(speech.voice, len(speech.text))
    audio = api.service.speak(speech, encoder=StreamEncoder(fmt), trailing_silence=False, timestamps=timestamps)
    async with contextlib.aclosing(audio):  # leaving early (an error, a departed client) ends the job
        first = await anext(audio, None)  # errors before any audio get their own status
        response = web.StreamResponse(headers={
            "Content-Type": "text/event-stream", "Cache-Control": "no-store",
            "X-Kokoro-Voice": _header_value(speech.voice), "X-Kokoro-Sample-Rate": str(SAMPLE_RATE)})
        samples = 0  # the reply's audio so far: where the next chunk starts
        try:
            await api._sent(request, response.prepare(request))
            item = first
            while item is not None:
                stats.add(len(item.pcm))
                event: dict[str, Any] = {"type": "speech.audio.delta", "audio": base64.b64encode(item.data).decode()}
                if timestamps:
                    start = samples / SAMPLE_RATE
                    event["words"] = [{"word": w.word, "start": start + w.start, "end": start + w.end}
                                      for w in item.words or ()]
                if item.data or event.get("words"):
                    await api._sent(request, response.write(_event(event)))
                elif _departed(request):
                    raise _Gone("the client went away")
                samples += len(item.pcm)
                item = await anext(audio, None)
            await api._sent(request, response.write(_event({
                "type": "speech.audio.done", "audio_seconds": samples / SAMPLE_RATE,
                "usage": {"input_tokens": len(speech.text), "output_tokens": 0, "total_tokens": len(speech.text)}})))
            await api._sent(request, response.write_eof())
        except (_Gone, ConnectionError) as err:
            _LOGGER.info("HTTP client went away during synthesis: %s", err)
            return response
        except asyncio.CancelledError:
            _LOGGER.info("HTTP client went away during synthesis")
            raise
        except KokoroError as err:
            _LOGGER.warning("HTTP synthesis ended mid-stream (%s): %s", err.code, err)
            api.service.metrics.request("http", err, stats)
            with contextlib.suppress(ConnectionError, _Gone):
                await api._sent(request, response.write(_event(
                    {"type": "error", "error": {"message": str(err), "code": wyoming_code(err)}})))
            if request.transport is not None:
                request.transport.close()
            return response
    api.speech_requests += 1
    stats.log()
    api.service.metrics.request("http", None, stats)
    return response
