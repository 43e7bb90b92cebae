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
from tests.wyoming_client import audio_samples, exchange, run
from wyoming_kokoro.service import MAX_CHARS

IDLE_S = 2  # --idle-timeout
CAP_S = 5  # --max-audio-seconds


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with spawn_server(tmp_path_factory, "--max-connections", "3", "--max-connections-per-address", "2",
                      "--max-pending-per-connection", "2", "--idle-timeout", str(IDLE_S),
                      "--max-audio-seconds", str(CAP_S)) as running:
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
    # Punctuation only: every piece the buffer cuts has nothing to speak, so only the bound ends the stream
    half = "-" * (MAX_CHARS // 2 + 10)
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


async def _admitted(port: int, source: str) -> asyncio.StreamWriter | None:
    """A connection from `source` (a loopback address of its own) that describe answers; None if refused."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    await async_write_event(Describe().event(), writer)
    ev = await asyncio.wait_for(async_read_event(reader), 10)
    if ev is not None and ev.type == "info":
        return writer
    assert ev is not None and ev.type == "error" and ev.data["code"] == "too-many-connections", ev
    assert await asyncio.wait_for(async_read_event(reader), 10) is None  # then closed
    writer.close()
    return None


def test_connections_over_max_are_refused(server) -> None:
    """--max-connections-per-address 2 of --max-connections 3: a third connection from one address is
    refused while another address still gets in; past three in all, everyone is refused."""
    port, log = server

    async def scenario() -> list[bool]:
        held = [await _admitted(port, "127.0.0.1"), await _admitted(port, "127.0.0.1")]
        third_here = await _admitted(port, "127.0.0.1")
        elsewhere = await _admitted(port, "127.0.0.2")
        fourth = await _admitted(port, "127.0.0.3")
        admitted = [w is not None for w in (*held, third_here, elsewhere, fourth)]
        for w in (*held, third_here, elsewhere, fourth):
            if w is not None:
                w.close()
        return admitted

    assert run(scenario(), timeout=60) == [True, True, False, True, False]
    _still_serves(port, log)


def test_refused_clients_read_the_error_then_the_end(server) -> None:
    """A refused client that sent events before it read anything still reads the refusal and then
    the end of the stream, not a reset that overtakes the error."""
    port, log = server

    async def refused(source: str) -> list[str | None]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
        for _ in range(50):
            await async_write_event(Describe().event(), writer)
        got = [ev.data.get("code") if (ev := await asyncio.wait_for(async_read_event(reader), 10)) else None
               for _ in range(2)]
        writer.close()
        return got

    async def scenario() -> list[list[str | None]]:
        held = [await _admitted(port, "127.0.0.1"), await _admitted(port, "127.0.0.1")]
        try:
            return [await refused("127.0.0.1") for _ in range(10)]
        finally:
            for w in held:
                if w is not None:
                    w.close()

    assert run(scenario(), timeout=120) == [["too-many-connections", None]] * 10
    _still_serves(port, log)


@pytest.fixture(scope="module")
def patient_server(tmp_path_factory: pytest.TempPathFactory):
    """The default --idle-timeout (300 s): only --first-event-timeout closes a silent new connection."""
    with spawn_server(tmp_path_factory, "--max-connections", "4", "--max-connections-per-address", "4",
                      "--first-event-timeout", "1") as running:
        yield running


def test_silent_new_connections_cannot_lock_out_home_assistant(patient_server) -> None:
    """Connections that never send an event fill --max-connections, and are closed after
    --first-event-timeout, after which Home Assistant gets in again (before: 300 s, renewable)."""
    port, log = patient_server

    async def scenario() -> tuple[bool, list[list[Event]]]:
        silent = [await asyncio.open_connection("127.0.0.1", port) for _ in range(4)]
        await asyncio.sleep(0)
        full = await _admitted(port, "127.0.0.2")  # all four slots are taken meanwhile
        closed = [await _read_all(reader, 60) for reader, _writer in silent]  # EOF from the server
        for _reader, writer in silent:
            writer.close()
        return full is None, closed

    refused_while_full, closed = run(scenario(), timeout=120)
    assert refused_while_full
    # each one closed by the server: after its first-event deadline, or (one that came in while the
    # server was still closing the port probe) refused right away
    assert all(events == [] or [e.data["code"] for e in events] == ["too-many-connections"] for events in closed)
    assert closed.count([]) >= 3
    _still_serves(port, log)


def test_a_request_gets_at_most_max_audio_seconds(server) -> None:
    """--max-audio-seconds caps a request's audio, pauses included, plain and streamed: three
    10-second breaks (and words) give exactly CAP_S seconds and a normal end, not over 30 s."""
    port, log = server
    doc = '<speak><break time="10s"/>はい。<break time="10s"/>はい。<break time="10s"/></speak>'
    plain = run(exchange(port, [Synthesize(text=doc, text_format="ssml").event()]), timeout=120)
    assert plain[0].type == "audio-start" and plain[-1].type == "audio-stop"
    assert "error" not in [e.type for e in plain]
    assert len(audio_samples(plain)) == CAP_S * 24000
    pieces = [doc[i:i + 9] for i in range(0, len(doc), 9)]
    streamed = run(exchange(port, [SynthesizeStart(text_format="ssml").event(),
                                   *[SynthesizeChunk(text=p).event() for p in pieces], SynthesizeStop().event()],
                            until="synthesize-stopped"), timeout=120)
    assert "error" not in [e.type for e in streamed]
    assert len(audio_samples(streamed)) == CAP_S * 24000
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

