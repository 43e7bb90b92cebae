"""`POST /v1/audio/speech` with `"stream_format": "sse"`: the audio as server-sent events, as OpenAI's
speech stream sends it (`speech.audio.delta` with base64 audio, then `speech.audio.done`), and with
`"timestamps": true` each delta also carries the words its audio speaks, with their start and end in
seconds from the start of the reply: the model's own durations (`kokoro_engine.timings`).

One delta per engine chunk (a sentence or a pause); the deltas' audio, joined, is the file of the
requested `response_format`. An error after the first event is sent as an `error` event (the status
line has gone), and the stream ends. `SseReply` is only the body's shape: `http_api` sends it, with
the same bounds and the same handling of a client that leaves as an audio reply.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from kokoro_engine import SAMPLE_RATE

from .errors import KokoroError, wyoming_code
from .service import Speech, SpeechAudio


def _event(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()


class SseReply:
    """A speech reply's body as OpenAI's server-sent events."""

    content_type = "text/event-stream"

    def __init__(self, speech: Speech, *, timestamps: bool) -> None:
        self.speech, self.timestamps = speech, timestamps
        self.samples = 0  # the reply's audio so far: where the next chunk starts

    def chunk(self, item: SpeechAudio) -> bytes:
        """A delta for a chunk with audio (or words); b"" for one without (a turn boundary)."""
        event: dict[str, Any] = {"type": "speech.audio.delta", "audio": base64.b64encode(item.data).decode()}
        if self.timestamps:
            start = self.samples / SAMPLE_RATE
            event["words"] = [{"word": w.word, "start": start + w.start, "end": start + w.end}
                              for w in item.words or ()]
        self.samples += len(item.pcm)
        return _event(event) if item.data or event.get("words") else b""

    def end(self) -> bytes:
        chars = len(self.speech.text)
        return _event({"type": "speech.audio.done", "audio_seconds": self.samples / SAMPLE_RATE,
                       "usage": {"input_tokens": chars, "output_tokens": 0, "total_tokens": chars}})

    @staticmethod
    def error(err: KokoroError) -> bytes:
        return _event({"type": "error", "error": {"message": str(err), "code": wyoming_code(err)}})
