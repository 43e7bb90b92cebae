"""The server's bounds over a real socket (issue 13), with small option values so they are quick to
reach: each ends in an `error` and a finished exchange, or a clean close, and the server still
answers describe afterwards."""

from __future__ import annotations

import asyncio

import pytest
from wyoming.event import Event, async_read_event, async_write_event
from wyoming.info import Describe
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop

from tests.server_process import spawn_server
from tests.wyoming_client import exchange, run
from wyoming_kokoro.service import MAX_CHARS

IDLE_S = 2  # --idle-timeout


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with spawn_server(tmp_path_factory, "--max-connections", "2", "--max-pending-per-connection", "2",
                      "--idle-timeout", str(IDLE_S)) as running:
        yield running


def _still_serves(port: int, log) -> None:
    events = run(exchange(port, [Describe().event()], until="info"), timeout=30)
    assert events[-1].data["tts"], "describe lists the TTS program"
    log.seek(0)
    text = log.read()
    assert "Task exception was never retrieved" not in text and "Traceback" not in text


async def _read_all(reader: asyncio.StreamReader, timeout: float = 60) -> list[Event]:
    """Events until the server closes the connection."""
    got = []
    while (ev := await asyncio.wait_for(async_read_event(reader), timeout)) is not None:
        got.append(ev)
    return got


def test_stream_longer_than_max_chars_over_chunks(server) -> None:
    port, log = server
    # One top-level SSML run without a sentence end is never cut, so nothing is spoken: only the
    # bound ends the stream
    half = "<speak>" + "x" * (MAX_CHARS // 2 + 10)
    events = run(exchange(port, [SynthesizeStart().event(), SynthesizeChunk(text=half).event(),
                                 SynthesizeChunk(text=half).event(), SynthesizeStop().event()],
                          until="synthesize-stopped"), timeout=60)
    types = [e.type for e in events]
    assert types == ["audio-start", "error", "audio-stop", "synthesize-stopped"], types
    assert events[1].data["code"] == "text-too-long"
    _still_serves(port, log)


def test_pending_requests_per_connection(server) -> None:
    port, log = server
    async def five() -> list[Event]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(5):  # all five arrive while the first is still being made
            await async_write_event(Synthesize(text="こんにちは。").event(), writer)
        got = []
        while sum(e.type == "audio-stop" for e in got) < 5:
            ev = await asyncio.wait_for(async_read_event(reader), 120)
            assert ev is not None, [e.type for e in got]
            got.append(ev)
        writer.close()
        return got

    events = run(five(), timeout=200)
    codes = [e.data["code"] for e in events if e.type == "error"]
    assert codes and set(codes) == {"too-many-requests"}, codes
    assert len(codes) < 5  # the first requests were spoken
    assert any(e.type == "audio-chunk" for e in events)
    _still_serves(port, log)


def test_connections_over_max_are_refused(server) -> None:
    port, log = server

    async def scenario() -> list[Event]:
        held = []
        for _ in range(2):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            await async_write_event(Describe().event(), writer)
            ev = await asyncio.wait_for(async_read_event(reader), 10)
            assert ev is not None and ev.type == "info"  # admitted
            held.append(writer)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        got = await _read_all(reader, 10)
        for w in (*held, writer):
            w.close()
        return got

    events = run(scenario(), timeout=60)
    assert [e.type for e in events] == ["error"]
    assert events[0].data["code"] == "too-many-connections"
    _still_serves(port, log)


def test_idle_connection_is_closed(server) -> None:
    port, log = server

    async def scenario() -> list[Event]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        got = await _read_all(reader, IDLE_S + 30)  # says nothing: closed after --idle-timeout
        writer.close()
        return got

    assert run(scenario(), timeout=60) == []
    _still_serves(port, log)


def test_silent_mid_stream_gets_error_exchange_and_close(server) -> None:
    port, log = server

    async def scenario() -> list[Event]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await async_write_event(SynthesizeStart().event(), writer)
        await async_write_event(SynthesizeChunk(text="こんにちは").event(), writer)  # no sentence end
        got = await _read_all(reader, IDLE_S + 60)
        writer.close()
        return got

    events = run(scenario(), timeout=120)
    types = [e.type for e in events]
    assert types[0] == "audio-start" and types[-3:] == ["error", "audio-stop", "synthesize-stopped"], types
    assert events[-3].data["code"] == "timeout"
    _still_serves(port, log)

