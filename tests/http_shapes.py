"""Hostile HTTP traffic for tests: malformed speech bodies, seeded random requests of the shapes that
once stalled or crashed the server, and raw-socket exchanges that survive a server closing on them.

`random_speech_request(rng)` and `exchange(port, request)` are what a fuzz test needs: every answer
must be a status below 500 (or 503 while busy), never a 500 and never a hang.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass, field

from wyoming_kokoro.bounds import MAX_JSON_DEPTH

SPEECH = "/v1/audio/speech"


@dataclass
class HttpRequest:
    body: bytes
    content_type: str = "application/json"
    path: str = SPEECH
    method: str = "POST"
    headers: dict[str, bytes] = field(default_factory=dict)  # raw values: non-UTF-8 allowed

    def encode(self, host: str) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1".encode(), f"Host: {host}".encode(),
                 f"Content-Type: {self.content_type}".encode(), f"Content-Length: {len(self.body)}".encode(),
                 b"Connection: close"]
        lines += [name.encode() + b": " + value for name, value in self.headers.items()]
        return b"\r\n".join(lines) + b"\r\n\r\n" + self.body


def speech(**fields: object) -> HttpRequest:
    body = {"model": "tts-1", "voice": "jf_alpha", "input": "Hello.", "response_format": "pcm", **fields}
    return HttpRequest(json.dumps(body).encode())


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


# (name, request): each must be answered with a 4xx status and OpenAI's JSON error shape.
MALFORMED: list[tuple[str, HttpRequest]] = [
    ("list-response-format", speech(response_format=["wav"])),
    ("dict-response-format", speech(response_format={"a": 1})),
    ("int-model", speech(model=3)),
    ("list-model", speech(model=["tts-1"])),
    ("list-input", speech(input=["Hello."])),
    ("null-input", speech(input=None)),
    ("int-voice", speech(voice=7)),
    ("dict-voice", speech(voice={"name": "jf_alpha"})),
    ("string-speed", speech(speed="fast")),
    ("bool-speed", speech(speed=True)),
    ("list-speed", speech(speed=[1.0])),
    ("list-stream-format", speech(stream_format=["audio"])),
    ("huge-integer-speed", HttpRequest(b'{"input": "Hello.", "speed": ' + b"9" * 5000 + b"}")),
    ("nan-speed", HttpRequest(b'{"input": "Hello.", "speed": NaN}')),
    ("infinite-speed", HttpRequest(b'{"input": "Hello.", "speed": 1e999}')),
    ("array-body", HttpRequest(b"[1, 2, 3]")),
    ("string-body", HttpRequest(b'"Hello."')),
    ("deep-array-body", HttpRequest(("[" * 100_000).encode())),
    ("deep-object-body", HttpRequest(('{"a":' * 50_000).encode())),
    ("deep-input", HttpRequest(('{"input": ' + nested(MAX_JSON_DEPTH) + "}").encode())),  # one level past
    ("deep-voice", HttpRequest(('{"input": "Hello.", "voice": ' + nested(600) + "}").encode())),
    ("not-utf8-body", HttpRequest(b'{"input": "\xff\xfe"}')),
    ("truncated-json", HttpRequest(b'{"input": "Hello.')),
    ("empty-body", HttpRequest(b"")),
    ("ssml-nested-1200", speech(input="<speak>" + "<prosody rate='fast'>" * 1200 + "Hello."
                                 + "</prosody>" * 1200 + "</speak>")),
    ("blend-2000", speech(voice="+".join(["jf_alpha:1"] * 2000))),
    ("voice-long-spaces", speech(voice="a" + " " * 6000 + "b")),
    ("401-digit-speed", HttpRequest(b'{"input": "Hello.", "speed": ' + b"9" * 401 + b"}")),
    ("surrogate-input", HttpRequest(b'{"input": "Hello \\ud800 there."}')),
    ("surrogate-voice", HttpRequest(b'{"input": "Hello.", "voice": "\\udfff"}')),
    ("surrogate-ssml-attribute", HttpRequest(b'{"input": "<speak><voice name=\\"\\ud800\\">Hi</voice></speak>"}')),
    ("surrogate-key", HttpRequest(b'{"input": "Hello.", "\\ud800": 1}')),
    ("ssml-dtd", speech(input='<?xml version="1.0"?><!DOCTYPE speak [<!ENTITY a "aaaa">]><speak>&a;</speak>')),
    ("ssml-17-voices", speech(input="<speak>" + "".join(f'<voice name="jf_alpha:{i + 1}+jf_nezumi:1">Hi.</voice>'
                                                          for i in range(17)) + "</speak>")),
    ("text-plain", HttpRequest(b'{"input": "Hello."}', content_type="text/plain")),
    ("form", HttpRequest(b"input=Hello.", content_type="application/x-www-form-urlencoded")),
]

_RUNS = [" ", "[", "]", "(", "*a ", "<a ", "<x/>", "<break time='10s'/>", "<s>", "\u00a0", "{", "\\", "\"",
         "[word](/wɜɹd/)", "\n", "…", "１２３", "<speak>", "</voice>", "a:0.5+"]


def random_speech_request(rng: random.Random) -> HttpRequest:
    """One request of a seeded fuzz: long runs of spaces, brackets, tags and breaks in the input or the
    voice, deep nesting, wrong types, oversized numbers, odd content types, raw bytes."""
    roll = rng.random()
    if roll < 0.1:
        return rng.choice(MALFORMED)[1]
    run = rng.choice(_RUNS) * rng.choice([1, 10, 500, 5_000, 20_000])
    text = rng.choice(["Hello. ", "", "Turn on the lights. ", "<speak>"]) + run + rng.choice(["", " b", "</speak>"])
    fields: dict[str, object] = {"input": text}
    if roll < 0.4:  # the run goes into the voice instead
        fields = {"input": "Hello.", "voice": "jf_alpha" + run[:20_000]}
    elif roll < 0.5:
        fields["voice"] = rng.choice([None, 3, [], {}, "alloy", "jf_alpha:0.5+jm_kumo:0.5", "x" * 300])
    if rng.random() < 0.3:
        fields["speed"] = rng.choice([0.1, 0.25, 1, 4.0, 9, "1", None, -1, 10**30])
    if rng.random() < 0.3:
        fields["response_format"] = rng.choice(["pcm", "wav", "flac", "opus", "mp3", "aac", 1, None])
    request = speech(**fields)
    if rng.random() < 0.05:
        request.content_type = rng.choice(["text/plain", "application/json; charset=utf-8", ""])
    if rng.random() < 0.05:
        cut = rng.randrange(len(request.body) + 1)
        request.body = request.body[:cut] + bytes([rng.randrange(256)]) + request.body[cut:]
    return request


async def exchange(port: int, request: HttpRequest, *, host: str | None = None, timeout: float = 280,
                   read_body: bool = True) -> tuple[int, dict[str, str], bytes]:
    """Send one request on a new connection; (status, headers, body). Status 0: the server closed the
    connection without an answer. The body is read to the server's close (Connection: close)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request.encode(host or f"127.0.0.1:{port}"))
        await writer.drain()

        async def read() -> tuple[int, dict[str, str], bytes]:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return 0, {}, b""
            status_line, *lines = head.decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
            body = b""
            if read_body:
                try:
                    body = await reader.read()
                except ConnectionError:
                    pass
            return int(status_line.split()[1]), headers, body

        return await asyncio.wait_for(read(), timeout)
    finally:
        writer.close()


def dechunk(body: bytes) -> bytes:
    """The payload of a chunked transfer encoding (as much of it as arrived)."""
    out, at = bytearray(), 0
    while True:
        end = body.find(b"\r\n", at)
        if end < 0:
            return bytes(out)
        size = int(body[at:end].split(b";")[0] or b"0", 16)
        if size == 0:
            return bytes(out)
        out += body[end + 2:end + 2 + size]
        at = end + 2 + size + 2
