"""Seeded fuzzing of the real server over real sockets (issue 13). FUZZ_SEED and FUZZ_COUNT (default
1000 exchanges) pick the cases; a failure names the seed and case, so it can be replayed.

Every synthesis-shaped request gets a finished exchange (audio-stop; a stream also synthesize-stopped),
describe answers within DESCRIBE_S throughout, and the server is alive with a clean log at the end."""

from __future__ import annotations

import asyncio
import json
import math
import os
import random

import pytest
from wyoming.event import Event, async_read_event, async_write_event
from wyoming.info import Describe

from tests.server_process import spawn_server
from tests.test_malformed import HEADERS
from tests.wyoming_client import run

SEED = int(os.environ.get("FUZZ_SEED", "13"))
COUNT = int(os.environ.get("FUZZ_COUNT", "1000"))
DESCRIBE_S = 1.0  # generous: describe never waits for inference
CASE_S = 60.0  # an exchange that takes longer than this is a hang

VOICES = ["jf_alpha", "JF-Alpha", "../../etc/passwd", "/etc/passwd", "voices/jf_alpha.pt", "C:\\x", "",
          "jf_alpha+jf_nezumi", "jf_alpha:nan", "jf_alpha:inf", "jf_alpha:-1", "jf_alpha:0", "jf_alpha:0+jf_nezumi:0",
          "jf_alpha:1e309", "\x00", "ü" * 300, "jf_alpha:" + "9" * 400]
TEXTS = ["はい。", "", " ", "。。。", "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
         "<speak>はい</speak>", "<speak><broken", "x" * 100_001]
JUNK: list = [None, 1, -1, 1.5, math.nan, True, [], {}, "x", [1, 2], {"a": 1}]


def _header(event_type: str, data: object, **lengths: object) -> bytes:
    return json.dumps({"type": event_type, "data": data, **lengths}).encode() + b"\n"


def _plain_case(rng: random.Random) -> bytes:
    """One synthesize event, with data right or wrong."""
    voice: object = {"name": rng.choice(VOICES)} if rng.random() < 0.7 else rng.choice(JUNK)
    data = {"text": rng.choice(TEXTS) if rng.random() < 0.7 else rng.choice(JUNK), "voice": voice}
    if rng.random() < 0.2:
        data["text_format"] = rng.choice(["text", "ssml", "mp3", 5])
    kind = rng.random()
    if kind < 0.5:
        return _header("synthesize", data)
    if kind < 0.7:  # in a data block
        block = json.dumps(data).encode()
        return b'{"type": "synthesize", "data_length": %d}\n' % len(block) + block
    if kind < 0.8:
        return rng.choice(HEADERS)
    if kind < 0.9:  # broken JSON or UTF-8
        raw = _header("synthesize", data)
        cut = rng.randrange(1, len(raw) - 1)
        return raw[:cut] + rng.choice([b"\xff\xfe", b"{", b'"', b"\x00"]) + b"\n"
    return b'{"type": "synthesize", "data_length": %d}\n' % rng.choice([-1, 2**63, 10**12, 0])


def _stream_case(rng: random.Random) -> tuple[list[bytes], int]:
    """Stream events in a random order, ended by a synthesize-stop: (events, synthesize-starts)."""
    events = []
    for _ in range(rng.randrange(1, 6)):
        pick = rng.random()
        if pick < 0.3:
            voice = {"name": rng.choice(VOICES)} if rng.random() < 0.8 else rng.choice(JUNK)
            events.append(_header("synthesize-start", {"voice": voice}))
        elif pick < 0.7:
            events.append(_header("synthesize-chunk", {"text": rng.choice(TEXTS[:4] + JUNK)}))
        elif pick < 0.85:
            events.append(_header("synthesize-stop", {}))
        else:
            events.append(_header("synthesize", {"text": "はい。"}))
    events.append(_header("synthesize-stop", {}))
    starts = sum(e.startswith(b'{"type": "synthesize-start"') for e in events)
    return events, starts


async def _read_until(reader: asyncio.StreamReader, done, got: list[Event]) -> None:
    while not done(got):
        ev = await asyncio.wait_for(async_read_event(reader), CASE_S)
        if ev is None:
            return
        got.append(ev)


async def _case(port: int, rng: random.Random) -> tuple[str, list[str]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    got: list[Event] = []
    try:
        kind = rng.random()
        if kind < 0.5:
            writer.write(_plain_case(rng))
            await writer.drain()
            await _read_until(reader, lambda g: any(e.type == "audio-stop" for e in g), got)
            assert any(e.type == "audio-stop" for e in got), "no finished exchange"
            return "plain", [e.type for e in got]
        if kind < 0.85:
            events, starts = _stream_case(rng)
            writer.write(b"".join(events))
            await writer.drain()
            await _read_until(reader, lambda g: sum(e.type == "synthesize-stopped" for e in g) >= starts, got)
            assert sum(e.type == "synthesize-stopped" for e in got) == starts, "a stream was not finished"
            return "stream", [e.type for e in got]
        writer.write(rng.randbytes(rng.randrange(1, 400)) + b"\n")  # anything: it must not hang the server
        await writer.drain()
        await async_write_event(Describe().event(), writer)
        await _read_until(reader, lambda g: any(e.type == "info" for e in g), got)
        return "bytes", [e.type for e in got]
    except (ConnectionResetError, BrokenPipeError):
        return "reset", [e.type for e in got]
    finally:
        writer.close()


async def _describe(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await async_write_event(Describe().event(), writer)
        ev = await asyncio.wait_for(async_read_event(reader), DESCRIBE_S)
        assert ev is not None and ev.type == "info"
    finally:
        writer.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with spawn_server(tmp_path_factory) as running:
        yield running


def test_fuzz(server) -> None:
    port, log = server
    rng = random.Random(SEED)

    async def scenario() -> dict[str, int]:
        await _describe(port)
        seen: dict[str, int] = {}
        for i in range(COUNT):
            try:
                kind, _types = await _case(port, rng)
                if i % 20 == 0:
                    await _describe(port)
            except (AssertionError, asyncio.TimeoutError) as err:
                raise AssertionError(f"FUZZ_SEED={SEED} case {i}: {err!r}") from err
            seen[kind] = seen.get(kind, 0) + 1
        await _describe(port)
        return seen

    seen = run(scenario(), timeout=1800)
    assert sum(seen.values()) == COUNT
    log.seek(0)
    text = log.read()
    assert "Task exception was never retrieved" not in text and "Traceback" not in text
