"""Malformed events over a real socket: each one ends with an error, a finished exchange and a close."""

from __future__ import annotations

import asyncio
import json

import pytest
from wyoming.event import async_read_event
from wyoming.tts import Synthesize

from tests.test_server import server  # noqa: F401  (the real server fixture)
from tests.wyoming_client import exchange, run
from wyoming_kokoro.bounds import MAX_JSON_DEPTH

HEADERS = [
    b'{"type": "synthesize", "data_length": 4}\ntrue',
    b'{"type": "synthesize", "data_length": 3}\n[1]',
    b'{"type": "synthesize", "data_length": 2}\n42',
    b'{"type": "synthesize", "data": [1, 2]}\n',
    b'{"type": "synthesize", "data_length": -5}\n',
    b'{"type": "synthesize", "data_length": "abc"}\n',
    b'{"type": "synthesize", "data_length": 1.5}\n',
    b'{"type": "synthesize", "data_length": 999999999999}\n',
    b'{"type": "synthesize", "payload_length": 2000000}\n',
    b'{"type": "synthesize", "payload_length": -1}\n',
    # nesting: deep enough to raise RecursionError in the JSON reader, or just past MAX_JSON_DEPTH
    b'{"type": "synthesize", "data": {"text": "x", "voice": ' + b'[' * 20000 + b']' * 20000 + b'}}\n',
    # header, data and voice are three levels: the name's arrays take it one past MAX_JSON_DEPTH
    b'{"type": "synthesize", "data": {"text": "x", "voice": {"name": ' + b'[' * (MAX_JSON_DEPTH - 2)
    + b']' * (MAX_JSON_DEPTH - 2) + b'}}}\n',
    b'{"type": "synthesize", "data_length": 40002}\n{"a": ' + b'[' * 20000 + b']' * 20000 + b'}',
]


async def _raw(port: int, blob: bytes, until: str | None = None) -> list[str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(blob)
    await writer.drain()
    types = []
    while (ev := await asyncio.wait_for(async_read_event(reader), 30)) is not None:
        types.append(ev.type)
        if ev.type == until:
            break
    writer.close()
    return types


@pytest.mark.parametrize("blob", HEADERS, ids=[h.split(b"\n")[0].decode()[9:] for h in HEADERS])
def test_malformed_event_gets_error_exchange_and_close(server, blob: bytes) -> None:  # noqa: F811
    port, log = server
    # nothing beyond the declared bytes is sent: a huge length must be refused before reading
    types = run(_raw(port, blob), timeout=60)
    assert types == ["error", "audio-start", "audio-stop"]
    # and the server still serves
    events = run(exchange(port, [Synthesize(text="Fine.").event()]))
    assert events[-1].type == "audio-stop" and not any(e.type == "error" for e in events)
    log.seek(0)
    assert "Task exception was never retrieved" not in log.read()


def test_valid_data_block_still_accepted(server) -> None:  # noqa: F811
    port, _ = server
    # nested exactly MAX_JSON_DEPTH deep (the block, then arrays in a field nobody reads): accepted
    deep = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
    data = json.dumps({"text": "Hello.", "extra": json.loads(deep)}).encode()
    types = run(_raw(port, b'{"type": "synthesize", "data_length": %d}\n' % len(data) + data, "audio-stop"),
                timeout=60)
    assert types[0] == "audio-start" and types[-1] == "audio-stop" and "error" not in types


@pytest.mark.parametrize("expr", ["jf_alpha:nan+jf_alpha:-1", "jf_alpha:1e309", "jf_alpha:0+jf_alpha:0",
                                  "jf_alpha++jf_nezumi", "jf_alpha:"])
def test_bad_blend_weights_are_refused_before_synthesis(server, expr: str) -> None:  # noqa: F811
    from wyoming.tts import SynthesizeVoice

    port, log = server
    events = run(exchange(port, [Synthesize(text="こんにちは。", voice=SynthesizeVoice(name=expr)).event()]))
    assert [e.type for e in events] == ["error", "audio-start", "audio-stop"]
    assert events[0].data["code"] == "bad-request"
    log.seek(0)
    assert "Synthesis failed" not in log.read()  # refused up front, no traceback in the log


@pytest.mark.parametrize("name", ["a" + " " * 100_000 + "b", "jf_alpha" + ":1" * 20_000, "+".join(["jf_alpha"] * 9),
                                  "(" * 50_000])
def test_long_or_wide_voice_names_are_refused_up_front(server, name: str) -> None:  # noqa: F811
    """A voice name is checked in time linear in its length (it is refused past 256 characters, and
    a blend past 8 voices); before, `"a" + spaces + "b"` took the voice parser quadratic time on the
    event loop, hours for this one, and describe waited all that time."""
    from wyoming.info import Describe
    from wyoming.tts import SynthesizeVoice

    port, log = server
    events = run(exchange(port, [Synthesize(text="こんにちは。", voice=SynthesizeVoice(name=name)).event()]),
                 timeout=120)
    assert [e.type for e in events] == ["error", "audio-start", "audio-stop"]
    assert events[0].data["code"] == "bad-request"
    assert run(exchange(port, [Describe().event()], until="info"), timeout=30)[-1].type == "info"


def test_ssml_stream_nested_too_deep_ends_with_an_error(server) -> None:  # noqa: F811
    """A stream whose SSML nests deeper than the engine allows ends with an error exchange; before,
    the buffer's BadSSML escaped the handler and the connection died without synthesize-stopped."""
    from wyoming.tts import SynthesizeChunk, SynthesizeStart, SynthesizeStop

    port, log = server
    events = run(exchange(port, [SynthesizeStart(text_format="ssml").event(),
                                 SynthesizeChunk(text="<speak>" + "<p>" * 40).event(),
                                 SynthesizeChunk(text="はい。").event(), SynthesizeStop().event()],
                          until="synthesize-stopped"), timeout=60)
    assert [e.type for e in events] == ["audio-start", "error", "audio-stop", "synthesize-stopped"]
    assert events[1].data["code"] == "bad-request"
    log.seek(0)
    assert "Traceback" not in log.read()


def test_g2p_fault_is_spoken_through_the_server(server) -> None:  # noqa: F811
    from wyoming.tts import SynthesizeVoice

    port, log = server
    start = log.seek(0, 2)  # the server writes at the offset it shares with us: seek back to read
    # misaki's Japanese number reader raises on Arabic-Indic digits (tests/test_g2p_japanese.py)
    events = run(exchange(port, [Synthesize(text="abc ١٢٣ def", voice=SynthesizeVoice(name="jf_alpha")).event()]))
    assert events[-1].type == "audio-stop" and not any(e.type == "error" for e in events)
    assert any(e.type == "audio-chunk" for e in events)
    log.seek(start)
    text = log.read()
    assert text.count("G2P failed") == 1 and "Traceback" not in text
