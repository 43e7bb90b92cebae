"""Real Wyoming traffic (wyoming's AsyncTcpClient) against a real `python -m wyoming_kokoro` process
serving the offline fallback (pip-installed real weights, five real voice packs)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from wyoming.audio import AudioChunk, AudioStart
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.ping import Ping, Pong
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeVoice

from tests.server_process import ROOT, free_port, spawn_server
from tests.wyoming_client import audio_samples, exchange, run


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with spawn_server(tmp_path_factory) as running:
        yield running


def _shape_ok(events: list[Event]) -> None:
    types = [e.type for e in events]
    assert types.count("audio-start") == 1 and types.count("audio-stop") == 1
    start = AudioStart.from_event(events[types.index("audio-start")])
    assert (start.rate, start.width, start.channels) == (24000, 2, 1)
    assert types.index("audio-start") < types.index("audio-stop")


def test_describe_lists_catalog(server) -> None:
    port, _ = server
    info = Info.from_event(run(exchange(port, [Describe().event()], until="info"))[-1])
    (prog,) = info.tts
    assert prog.name == "kokoro" and prog.installed and prog.supports_synthesize_streaming
    assert len(prog.voices) == 54
    langs = {v.name: v.languages for v in prog.voices}
    assert langs["af_heart"] == ["en_US"] and langs["bf_emma"] == ["en_GB"] and langs["ff_siwis"] == ["fr_FR"]
    assert not any(lang in ("af", "am", "bf", "bm") for ls in langs.values() for lang in ls)
    assert any(v.installed for v in prog.voices)
    assert next(v for v in prog.voices if v.name == "af_heart").description.startswith("Heart — American English")


def test_plain_synthesis_real_audio(server) -> None:
    port, _ = server
    events = run(exchange(port, [Synthesize(text="Hello there. This is a test.").event()]))
    _shape_ok(events)
    pcm = audio_samples(events)
    assert len(pcm) > 24000 * 0.8  # two short sentences are at least most of a second
    assert np.abs(pcm).max() > 1000  # speech, not silence
    chunks = [e for e in events if AudioChunk.is_type(e.type)]
    assert all(len(AudioChunk.from_event(c).audio) == 2048 for c in chunks[:-1])


def test_streaming_arbitrary_boundaries(server) -> None:
    port, _ = server
    text = "The weather is sunny today. Tomorrow it will rain a little. Bring an umbrella!"
    pieces = [text[i:i + 7] for i in range(0, len(text), 7)]  # cuts inside words and sentences

    async def stream() -> list[Event]:
        async with AsyncTcpClient("127.0.0.1", port) as client:
            for event in [SynthesizeStart().event()] + [SynthesizeChunk(text=p).event() for p in pieces]:
                await client.write_event(event)
            events: list[Event] = []
            # The complete sentences are spoken before the stream ends: audio comes before synthesize-stop.
            while not (events and AudioChunk.is_type(events[-1].type)):
                event = await asyncio.wait_for(client.read_event(), 120)
                assert event is not None
                events.append(event)
            for event in (Synthesize(text=text).event(), SynthesizeStop().event()):  # the compatibility copy is ignored
                await client.write_event(event)
            while events[-1].type != "synthesize-stopped":
                event = await asyncio.wait_for(client.read_event(), 120)
                assert event is not None
                events.append(event)
            return events

    events = run(stream())
    _shape_ok(events)
    plain = audio_samples(run(exchange(port, [Synthesize(text=text).event()])))
    streamed = audio_samples(events)
    # every sentence spoken once: about as long as the whole text read plainly, not twice that
    assert 0.7 * len(plain) < len(streamed) < 1.4 * len(plain)


def test_describe_fast_during_long_synthesis(server) -> None:
    port, _ = server
    long_text = " ".join(["This sentence is here to keep the synthesizer busy for a while."] * 12)

    async def scenario() -> float:
        async with AsyncTcpClient("127.0.0.1", port) as busy:
            await busy.write_event(Synthesize(text=long_text).event())
            first = await busy.read_event()
            assert first is not None and first.type == "audio-start"
            t0 = time.monotonic()
            async with AsyncTcpClient("127.0.0.1", port) as other:
                await other.write_event(Describe().event())
                ev = await asyncio.wait_for(other.read_event(), 1.0)
                assert ev is not None and Info.is_type(ev.type)
            elapsed = time.monotonic() - t0
        return elapsed  # busy connection dropped mid-synthesis here

    assert run(scenario()) < 1.0
    # the server is still fine after that disconnect
    _shape_ok(run(exchange(port, [Synthesize(text="Still here.").event()])))


def test_disconnect_mid_stream_then_new_request(server) -> None:
    port, _ = server

    async def scenario() -> None:
        async with AsyncTcpClient("127.0.0.1", port) as c:
            await c.write_event(SynthesizeStart().event())
            await c.write_event(SynthesizeChunk(text="A first sentence that is spoken. And another one ").event())
            ev = await c.read_event()
            assert ev is not None and ev.type == "audio-start"

    run(scenario())
    # the abandoned stream neither blocks the queue nor breaks the next exchange
    _shape_ok(run(exchange(port, [Synthesize(text="New request.").event()])))


def test_concurrent_clients(server) -> None:
    """A load of 15 clients at once (each its own connection, as Home Assistant does): every one gets
    a complete exchange with its own audio, and describe is answered within its deadline meanwhile.
    15 and the describe fill the per-address cap (16, a quarter of the 64 connections) even when no
    reply has ended yet, as on a loaded machine."""
    port, _ = server

    async def all_of_them() -> tuple[list[list[Event]], float]:
        replies = asyncio.gather(*[exchange(port, [Synthesize(text=f"Client {i} here.").event()])
                                   for i in range(15)])
        await asyncio.sleep(0.5)
        t0 = time.monotonic()
        info = await exchange(port, [Describe().event()], until="info")
        describe_s = time.monotonic() - t0
        assert Info.is_type(info[-1].type)
        return await replies, describe_s

    replies, describe_s = run(all_of_them())
    assert len(replies) == 15
    for events in replies:
        _shape_ok(events)
        assert len(audio_samples(events)) > 2400
    assert describe_s < 1.0  # Home Assistant's deadline for info, not a speed figure


@pytest.mark.parametrize(
    "data",
    [
        {"text": "Hello.", "voice": {"name": "xx_nobody"}},
        {"text": ""},
        {"text": "   \n\t "},
        {"text": "?!... ,;"},
        {"text": "a" * 100_001},
        {"text": 42},
        {"text": "Hello.", "voice": "af_heart"},
    ],
    ids=["unknown-voice", "empty", "whitespace", "punctuation", "too-long", "text-not-str", "voice-not-obj"],
)
def test_bad_input_plain(server, data) -> None:
    port, _ = server
    # Read as Home Assistant does: until the first audio-stop.
    events = run(exchange(port, [Event(type="synthesize", data=data)], until="audio-stop"))
    assert any(Error.is_type(e.type) for e in events)
    _shape_ok(events)
    assert len(audio_samples(events)) == 0


def test_bad_input_streaming(server) -> None:
    port, _ = server
    evs = [SynthesizeStart(voice=SynthesizeVoice(name="xx_nobody")).event(),
           SynthesizeChunk(text="Hello there.").event(), SynthesizeStop().event()]
    events = run(exchange(port, evs, until="synthesize-stopped"))
    assert any(Error.is_type(e.type) for e in events)
    _shape_ok(events)
    events = run(exchange(port, [SynthesizeStart().event(), SynthesizeChunk(text=" ... ").event(),
                                  SynthesizeStop().event()], until="synthesize-stopped"))
    assert any(Error.is_type(e.type) for e in events)
    _shape_ok(events)


def test_invalid_utf8_gets_error_and_end(server) -> None:
    port, _ = server

    async def scenario() -> list[str]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b'{"type": "synthesize", "data": {"text": "\xff\xfe bad"}}\n')
        await writer.drain()
        types = []
        while True:
            line = await asyncio.wait_for(reader.readline(), 30)
            if not line:
                break
            if line.startswith(b"{"):
                types.append(line.decode())
        writer.close()
        return types

    lines = run(scenario())
    assert any('"error"' in t for t in lines) and any('"audio-stop"' in t for t in lines)


def test_ping_and_unknown(server) -> None:
    port, _ = server
    events = run(exchange(port, [Event(type="no-such-event"), Ping(text="x").event()], until="pong"))
    assert [e.type for e in events] == ["pong"] and Pong.from_event(events[0]).text == "x"


def test_health_check(server) -> None:
    port, _ = server
    ok = subprocess.run([sys.executable, "-m", "wyoming_kokoro.health_check", "--uri", f"tcp://127.0.0.1:{port}"],
                        cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=60)
    assert ok.returncode == 0
    bad = subprocess.run([sys.executable, "-m", "wyoming_kokoro.health_check", "--uri",
                          f"tcp://127.0.0.1:{free_port()}", "--timeout", "2"],
                         cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=60)
    assert bad.returncode == 1


@pytest.mark.parametrize("voice", ["JM-Kumo", "Kumo", " jm_kumo ", "kumo:0.6+JF_Alpha:0.4"])
def test_voice_aliases_speak(server, voice: str) -> None:
    port, _ = server
    events = run(exchange(port, [Synthesize(text="Hello there.", voice=SynthesizeVoice(name=voice)).event()]))
    assert not any(Error.is_type(e.type) for e in events), [e.data for e in events if Error.is_type(e.type)]
    _shape_ok(events)
    assert np.abs(audio_samples(events).astype(np.int32)).max() > 1000


def test_alias_table() -> None:
    from wyoming_kokoro.catalog import canonical_voice

    assert canonical_voice("Heart") == "af_heart"
    assert canonical_voice("AF-HEART") == "af_heart"
    assert canonical_voice("alpha") == "alpha"  # jf_alpha and hf_alpha share it: no guess
    assert canonical_voice("xx_nobody") == "xx_nobody"
