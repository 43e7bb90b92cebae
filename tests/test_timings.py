"""Word timings from the model's own durations (`kokoro_engine.timings`): exact to the frame in the
engine, and over HTTP as server-sent events read by a plain aiohttp client from a real server process
(real weights, offline fallback voices)."""

from __future__ import annotations

import asyncio
import base64
import json

import aiohttp
import numpy as np
import pytest

from kokoro_engine import KokoroEngine
from kokoro_engine.text.g2p import get_g2p
from kokoro_engine.timings import FRAME_SAMPLES
from tests.realweights import real_model_path
from tests.server_process import free_port, spawn_server

pytestmark = pytest.mark.slow
RATE = 24000
TEXT = "Turn on the kitchen lights, please. It is 3.5 degrees outside."
WORDS = ["Turn", "on", "the", "kitchen", "lights", "please", "It", "is", "3.5", "degrees", "outside"]


@pytest.fixture(scope="module")
def engine() -> KokoroEngine:
    return KokoroEngine.load(real_model_path())


def test_words_start_where_their_phonemes_start_and_add_up_to_the_audio(engine) -> None:
    g2p = get_g2p("a")
    spoken = []
    for chunk in engine.synthesize(TEXT, "jf_alpha", lang="a", seed=0):
        durations = chunk.durations.tolist()
        # the decoder makes FRAME_SAMPLES samples of every predicted frame: the frames are the audio
        assert abs(sum(durations) * FRAME_SAMPLES - len(chunk.audio)) < FRAME_SAMPLES
        assert chunk.phonemes == g2p.phonemize(chunk.text)
        timings = engine.word_timings(chunk, "a")
        offset, expected, after_last = 0, [], 0
        for word in g2p.phonemize_words(chunk.text):
            if any(ch.isalnum() for ch in word.text):
                # tokens before the word's first phoneme, as the model tokenizes them, after the leading pad
                before = 1 + len(engine.model.tokenize(chunk.phonemes[:offset]))
                after_last = before + len(engine.model.tokenize(word.phonemes))
                expected.append((word.text, sum(durations[:before]) * FRAME_SAMPLES / RATE,
                                 sum(durations[:after_last]) * FRAME_SAMPLES / RATE))
            offset += len(word.phonemes) + len(word.whitespace)
        assert [t.word for t in timings] == [e[0] for e in expected]
        assert np.allclose([(t.start, t.end) for t in timings], [e[1:] for e in expected], rtol=0, atol=1e-9)
        assert all(a.end <= b.start for a, b in zip(timings, timings[1:], strict=False))
        # the frames after the last word (its punctuation, the closing pad) complete the audio
        tail = sum(durations[after_last:]) * FRAME_SAMPLES / RATE
        assert abs(timings[-1].end + tail - len(chunk.audio) / RATE) < FRAME_SAMPLES / RATE
        spoken += [t.word for t in timings]
    assert spoken == WORDS


def test_a_cut_chunk_keeps_the_words_it_still_speaks(engine) -> None:
    (chunk,) = [c for c in engine.synthesize(TEXT, "jf_alpha", lang="a", seed=0, max_audio_seconds=1.0)]
    full = engine.word_timings(next(iter(engine.synthesize(TEXT, "jf_alpha", lang="a", seed=0))), "a")
    cut = engine.word_timings(chunk, "a")
    assert chunk.seconds == 1.0 and 0 < len(cut) < len(full)
    assert [t.word for t in cut] == [t.word for t in full[:len(cut)]] and cut[-1].end <= 1.0


def test_languages_without_word_boundaries_give_no_timings(engine) -> None:
    chunk = next(c for c in engine.synthesize("キッチンの電気をつけました。", "jf_alpha", seed=0) if c.phonemes)
    assert chunk.durations is not None and engine.word_timings(chunk, "j") == []


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory):
    port = free_port()
    with spawn_server(tmp_path_factory, "--http", f"tcp://127.0.0.1:{port}", "--sentence-silence", "0.3",
                      wait_ports=(port,)) as (_wy, _log):
        yield port


async def _sse(port: int, body: dict) -> tuple[int, str, list[dict]]:
    async with aiohttp.ClientSession() as session, \
            session.post(f"http://127.0.0.1:{port}/v1/audio/speech", json=body) as response:
        if response.status != 200:
            return response.status, response.content_type, [await response.json()]
        events = []
        async for line in response.content:
            if line.startswith(b"data: "):
                events.append(json.loads(line[len(b"data: "):]))
        return response.status, response.content_type, events


def test_sse_streams_audio_with_the_words_it_speaks(http, engine) -> None:
    status, content_type, events = asyncio.run(_sse(http, {
        "model": "kokoro", "voice": "jf_alpha", "input": TEXT, "response_format": "pcm",
        "stream_format": "sse", "timestamps": True}))
    assert (status, content_type) == (200, "text/event-stream")
    *deltas, done = events
    assert {e["type"] for e in deltas} == {"speech.audio.delta"} and done["type"] == "speech.audio.done"
    position, words = 0.0, []
    for delta in deltas:
        pcm = np.frombuffer(base64.b64decode(delta["audio"]), "<i2")
        end = position + len(pcm) / RATE
        for word in delta["words"]:  # each delta's words are spoken inside its own audio
            assert position <= word["start"] < word["end"] <= end, (word, position, end)
        words += delta["words"]
        position = end
    assert done["audio_seconds"] == pytest.approx(position)
    # a Japanese voice reads the Latin-script words with the English G2P, the digits in Japanese (no timing)
    assert [w["word"] for w in words] == [w for w in WORDS if w != "3.5"]
    # The server read the text as the engine does here (Japanese voice: its Latin run through the English
    # G2P), with the same durations: the same timings, moved by the sentence silence between them.
    expected, position = [], 0.0
    for chunk in engine.synthesize(TEXT, "jf_alpha", seed=0, sentence_silence=0.3):
        expected += [(t.word, position + t.start, position + t.end) for t in engine.word_timings(chunk, "j")]
        position += len(chunk.audio) / RATE
    assert [w["word"] for w in words] == [e[0] for e in expected]
    assert np.allclose([(w["start"], w["end"]) for w in words], [e[1:] for e in expected], rtol=0, atol=1e-6)


@pytest.mark.parametrize(("extra", "param"), [({"timestamps": True}, "timestamps"),
                                             ({"stream_format": "sse", "timestamps": "yes"}, "timestamps"),
                                             ({"stream_format": "sse", "timestamps": 1}, "timestamps"),
                                             ({"stream_format": "words"}, "stream_format")])
def test_timestamps_need_sse(http, extra: dict, param: str) -> None:
    status, _, (body,) = asyncio.run(_sse(http, {"model": "kokoro", "voice": "jf_alpha", "input": TEXT, **extra}))
    assert status == 400 and body["error"]["param"] == param
