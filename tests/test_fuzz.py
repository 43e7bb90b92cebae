"""Seeded fuzzing of the real server over real sockets, Wyoming and HTTP (issues 13, 26 and 34). FUZZ_SEED
(default 13) and FUZZ_COUNT (default 300 exchanges; the issue-34 check ran 5,000) pick the cases; a
failure names the seed and case, so it can be replayed.

Shapes: malformed and random Wyoming events; long runs of spaces, brackets, tags and breaks in texts,
voice names and streams; JSON nested deep in headers and data blocks; HTTP requests of the same shapes
(`tests/http_shapes.py`); slow readers that never read their audio, over both protocols; SSML
documents and streams with DTDs and entities, blend spans, long or `>`-holding attributes and lone
surrogates, over both protocols.

Every synthesis-shaped Wyoming request gets a finished exchange (audio-stop; a stream also
synthesize-stopped) unless its client leaves first; every HTTP answer is below 500 (or 503, busy).
While each case is in flight (sent, its answer not yet read), `describe` is answered on another
connection, and `/health` too every few cases: an answer arriving is what is checked (the order of
events), not how soon; CASE_S only tells a hang from slowness. At the end the server is alive and its
log is clean."""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import socket

import pytest
from wyoming.event import Event, async_read_event, async_write_event
from wyoming.info import Describe

from tests import http_shapes
from tests.server_process import free_port, spawn_server
from tests.test_malformed import HEADERS
from tests.wyoming_client import run

SEED = int(os.environ.get("FUZZ_SEED", "13"))
COUNT = int(os.environ.get("FUZZ_COUNT", "300"))
CASE_S = 120.0  # an exchange that takes longer than this is a hang

VOICES = ["jf_alpha", "JF-Alpha", "../../etc/passwd", "/etc/passwd", "voices/jf_alpha.pt", "C:\\x", "",
          "jf_alpha+jf_nezumi", "jf_alpha:nan", "jf_alpha:inf", "jf_alpha:-1", "jf_alpha:0", "jf_alpha:0+jf_nezumi:0",
          "jf_alpha:1e309", "\x00", "ü" * 300, "jf_alpha:" + "9" * 400]
TEXTS = ["はい。", "", " ", "。。。", "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
         "<speak>はい</speak>", "<speak><broken", "x" * 100_001, "a\udfffb"]
JUNK: list = [None, 1, -1, 1.5, math.nan, True, [], {}, "x", [1, 2], {"a": 1}]
# Runs that once cost quadratic time somewhere (voice parser, markdown, HTML and SSML parsers, the
# stream buffer) or buy a lot of audio (breaks): mostly with nothing to speak, so a case stays cheap.
RUNS = [" ", "[", "]", "(", "*", "<", "<a ", "<x/>", "<s></s>", '<break time="10s"/>', "<p>", "{", "\\", '"',
        "\u00a0", "\n", "…", "<!--", "]]>", "&amp;", "a:0.5+", "+", ":"]
SIZES = [1, 10, 500, 5_000, 20_000]
SPOKEN_CHARS = 40  # a run that would be spoken is cut to this: its parsing is what is probed, not minutes of speech


def _spoken(text: str, ssml: bool) -> bool:
    """Whether `text` would be read out (letters or digits outside tags), roughly: such runs stay short."""
    if ssml or text.lstrip().startswith("<"):
        return any(ch.isalnum() for part in text.split(">") for ch in part.split("<")[0])
    return any(ch.isalnum() for ch in text)
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


def _run_case(rng: random.Random) -> tuple[list[bytes], str]:
    """A long run in a text, a voice name or a stream's chunks: (events, what ends the exchange)."""
    run_text = rng.choice(RUNS) * rng.choice(SIZES)
    where = rng.random()
    if where < 0.4:  # the text, as text or SSML
        text = rng.choice(["", "はい。", "<speak>"]) + run_text + rng.choice(["", "</speak>", " b"])
        ssml = rng.random() < 0.5
        data: dict = {"text": text[:SPOKEN_CHARS] if _spoken(run_text, ssml) else text[:100_000],
                      "voice": {"name": "jf_alpha"}}
        if ssml:
            data["text_format"] = "ssml"
        return [_header("synthesize", data)], "audio-stop"
    if where < 0.7:  # the voice name
        name = rng.choice(["", "jf_alpha", "a"]) + run_text + rng.choice(["", "b", "jf_alpha"])
        return [_header("synthesize", {"text": "はい。", "voice": {"name": name}})], "audio-stop"
    # a stream of the run in pieces (the sentence buffer sees every piece)
    fmt = rng.choice([None, "ssml", "text"])
    if _spoken(run_text, fmt == "ssml"):
        run_text = run_text[:SPOKEN_CHARS]
    step = max(1, len(run_text) // rng.choice([1, 4, 50]))
    events = [_header("synthesize-start", {"text_format": fmt} if fmt else {})]
    events += [_header("synthesize-chunk", {"text": run_text[i:i + step]}) for i in range(0, len(run_text), step)]
    events.append(_header("synthesize-stop", {}))
    return events, "synthesize-stopped"


def _nested_case(rng: random.Random) -> bytes:
    """JSON nested past the server's depth limit (or past the JSON reader's recursion limit)."""
    depth = rng.choice([17, 100, 5_000, 30_000])
    inner = rng.choice(["[", '{"a":'])
    close = "]" if inner == "[" else "}"
    value = (inner * depth + "1" + close * depth).encode()
    if rng.random() < 0.5:
        return b'{"type": "synthesize", "data": {"text": "x", "voice": ' + value + b"}}\n"
    block = b'{"text": "x", "extra": ' + value + b"}"
    return b'{"type": "synthesize", "data_length": %d}\n' % len(block) + block


LAUGHS = ('<?xml version="1.0"?><!DOCTYPE speak [<!ENTITY a "' + "ha" * 32 + '">'
          + "".join(f'<!ENTITY {n} "' + f"&{p};" * 10 + '">' for p, n in zip("abcdefgh", "bcdefghi", strict=True))
          + "]><speak>&i;</speak>")


def _ssml_text(rng: random.Random) -> str:
    """An SSML document of a shape that once cost a lot (issue 34), mostly with little to speak."""
    pick = rng.randrange(7)
    if pick == 0:
        return LAUGHS
    if pick == 1:
        return '<!DOCTYPE speak SYSTEM "file:///etc/passwd"><speak>はい</speak>'
    if pick == 2:  # blend spans: at most 16 voices a document (more: bad-ssml)
        voices = rng.choice([1, 16, 17, 40])
        spans = "".join(f'<voice name="jf_alpha:{1 + i % voices}+jf_nezumi:1">!</voice>'
                        for i in range(rng.choice([10, 500, 1500])))
        return f"<speak>{spans}はい。</speak>"
    if pick == 3:
        return '<speak title="' + "&amp;" * rng.choice([10, 6000]) + '" xml:lang="ja">' + "<s>!</s>" * 200 + "はい。</speak>"
    if pick == 4:
        return '<speak title="a>b"><s alt=\'1>2\'>はい。</s></speak>'
    if pick == 5:
        return "<speak>" + '<break time="1' + " " * rng.choice([10, 20_000]) + 'x"/>はい。</speak>'
    return "<speak>" + rng.choice(["\ud800", "<voice name='\udc00'>はい</voice>", "は\udfffい"]) + "</speak>"


def _ssml_case(rng: random.Random) -> tuple[list[bytes], str]:
    """An SSML document of `_ssml_text`'s shapes, whole or streamed in pieces: (events, what ends it)."""
    text = _ssml_text(rng)
    if rng.random() < 0.5:
        return [_header("synthesize", {"text": text, "text_format": "ssml", "voice": {"name": "jf_alpha"}})], "audio-stop"
    step = rng.choice([3, 50, 5000])
    events = [_header("synthesize-start", {"text_format": "ssml", "voice": {"name": "jf_alpha"}})]
    events += [_header("synthesize-chunk", {"text": text[i:i + step]}) for i in range(0, len(text), step)]
    events.append(_header("synthesize-stop", {}))
    return events, "synthesize-stopped"


async def _describe(port: int) -> None:
    """describe on a connection of its own: answered with info (however long inference is busy)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await async_write_event(Describe().event(), writer)
        ev = await asyncio.wait_for(async_read_event(reader), CASE_S)
        assert ev is not None and ev.type == "info", "describe was not answered"
    finally:
        writer.close()


async def _health(http_port: int) -> None:
    status, _headers, body = await http_shapes.exchange(
        http_port, http_shapes.HttpRequest(b"", method="GET", path="/health"), timeout=CASE_S)
    assert status == 200 and json.loads(body)["status"] == "ok", f"/health answered {status}"


async def _probe(port: int, http_port: int, i: int) -> None:
    await _describe(port)
    if i % 5 == 0:
        await _health(http_port)


async def _slow_reader(port: int, http_port: int, rng: random.Random) -> str:
    """A client that asks for a long reply and never reads it: the server keeps answering others
    meanwhile (describe, /health), and the reader's job waits for it instead of piling up audio."""
    text = "The lights in the kitchen are on. " * 200
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", http_port if rng.random() < 0.5 else port))
    reader, writer = await asyncio.open_connection(sock=sock)
    try:
        if sock.getpeername()[1] == http_port:
            writer.write(http_shapes.speech(input=text, response_format="pcm").encode(f"127.0.0.1:{http_port}"))
            kind = "slow-http"
        else:
            writer.write(_header("synthesize", {"text": text, "voice": {"name": "jf_alpha"}}))
            kind = "slow-wyoming"
        await writer.drain()
        for _ in range(3):  # answered while the slow reader holds its job
            await _describe(port)
        await _health(http_port)
        return kind
    finally:
        writer.close()


async def _http_case(port: int, http_port: int, rng: random.Random, i: int) -> str:
    request = http_shapes.random_speech_request(rng)
    if rng.random() < 0.3:  # issue 34's shapes: DTDs, blend spans, long attributes, surrogates
        request = http_shapes.speech(input=_ssml_text(rng), response_format=rng.choice(["pcm", "flac", "wav"]))
    try:
        body = json.loads(request.body)
    except (ValueError, RecursionError):  # the deep and broken bodies: sent as they are
        body = None
    if isinstance(body, dict) and isinstance(body.get("input"), str) and _spoken(body["input"], False) \
            and len(body["input"]) > SPOKEN_CHARS:
        request.body = json.dumps({**body, "input": body["input"][:SPOKEN_CHARS]}).encode()
    task = asyncio.ensure_future(http_shapes.exchange(http_port, request, timeout=CASE_S, read_body=False))
    try:
        await _probe(port, http_port, i)
        status, _headers, _body = await task  # the status only: leaving cancels a long reply's job
    finally:
        task.cancel()
    assert status == 0 or status < 500 or status == 503, f"HTTP {status} for {request.body[:120]!r}"
    return "http"


async def _case(port: int, http_port: int, rng: random.Random, i: int) -> tuple[str, list[str]]:
    kind = rng.random()
    if kind < 0.15:
        return await _http_case(port, http_port, rng, i), []
    if kind < 0.16:
        return await _slow_reader(port, http_port, rng), []
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    got: list[Event] = []
    try:
        if kind < 0.45:
            writer.write(_plain_case(rng))
            await writer.drain()
            await _probe(port, http_port, i)
            await _read_until(reader, lambda g: any(e.type == "audio-stop" for e in g), got)
            assert any(e.type == "audio-stop" for e in got), "no finished exchange"
            return "plain", [e.type for e in got]
        if kind < 0.65:
            events, starts = _stream_case(rng)
            writer.write(b"".join(events))
            await writer.drain()
            await _probe(port, http_port, i)
            await _read_until(reader, lambda g: sum(e.type == "synthesize-stopped" for e in g) >= starts, got)
            assert sum(e.type == "synthesize-stopped" for e in got) == starts, "a stream was not finished"
            return "stream", [e.type for e in got]
        if kind < 0.75:
            events, until = _ssml_case(rng)
            writer.write(b"".join(events))
            await writer.drain()
            await _probe(port, http_port, i)
            # the first audio (then leave: a departed client's job ends), or the whole exchange
            await _read_until(reader, lambda g: any(e.type in (until, "audio-chunk") for e in g), got)
            assert any(e.type in (until, "audio-chunk") for e in got), "no audio and no finished exchange"
            return "ssml", [e.type for e in got]
        if kind < 0.85:
            events, until = _run_case(rng)
            writer.write(b"".join(events))
            await writer.drain()
            await _probe(port, http_port, i)
            # the first audio (then leave: a departed client's job ends), or the whole exchange
            await _read_until(reader, lambda g: any(e.type in (until, "audio-chunk") for e in g), got)
            assert any(e.type in (until, "audio-chunk") for e in got), "no audio and no finished exchange"
            return "runs", [e.type for e in got]
        if kind < 0.92:
            writer.write(_nested_case(rng))
            await writer.drain()
            await _probe(port, http_port, i)
            await _read_until(reader, lambda g: any(e.type == "audio-stop" for e in g), got)
            assert [e.type for e in got] == ["error", "audio-start", "audio-stop"], [e.type for e in got]
            return "nested", [e.type for e in got]
        writer.write(rng.randbytes(rng.randrange(1, 400)) + b"\n")  # anything: it must not hang the server
        await writer.drain()
        await async_write_event(Describe().event(), writer)
        await _read_until(reader, lambda g: any(e.type == "info" for e in g), got)
        return "bytes", [e.type for e in got]
    except (ConnectionResetError, BrokenPipeError):
        return "reset", [e.type for e in got]
    finally:
        writer.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    http_port = free_port()
    # A short --idle-timeout drops the slow readers soon; --max-audio-seconds keeps the breaks cheap.
    with spawn_server(tmp_path_factory, "--http", f"tcp://127.0.0.1:{http_port}", "--idle-timeout", "3",
                      "--max-audio-seconds", "30", wait_ports=(http_port,)) as (port, log):
        yield port, http_port, log


def test_fuzz(server) -> None:
    port, http_port, log = server
    rng = random.Random(SEED)

    async def scenario() -> dict[str, int]:
        await _describe(port)
        seen: dict[str, int] = {}
        for i in range(COUNT):
            try:
                kind, _types = await _case(port, http_port, rng, i)
            except (AssertionError, asyncio.TimeoutError) as err:
                raise AssertionError(f"FUZZ_SEED={SEED} case {i}: {err!r}") from err
            seen[kind] = seen.get(kind, 0) + 1
            if (i + 1) % 250 == 0:
                print(f"fuzz: {i + 1} of {COUNT} exchanges passed", flush=True)  # shown with -s
        await _describe(port)
        await _health(http_port)
        return seen

    seen = run(scenario(), timeout=COUNT * 30 + 600)
    assert sum(seen.values()) == COUNT
    if COUNT >= 300:  # every shape was tried
        assert {"plain", "stream", "runs", "nested", "http", "bytes", "ssml"} <= set(seen), seen
        assert seen.get("slow-http", 0) + seen.get("slow-wyoming", 0) > 0, seen
    log.seek(0)
    text = log.read()
    assert "Task exception was never retrieved" not in text and "Traceback" not in text
