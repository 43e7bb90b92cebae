"""The engine speaks text chunk by chunk with the real weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kokoro_engine import SAMPLE_RATE
from kokoro_engine.pipeline import EngineError, KokoroEngine
from tests.realweights import real_model_path


@pytest.fixture(scope="module")
def engine() -> KokoroEngine:
    torch.set_num_threads(2)
    return KokoroEngine.load(real_model_path(), device="cpu")


def _count_model_calls(engine: KokoroEngine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one per forward pass of the engine's model."""
    calls: list[int] = []
    forward = engine.model.forward

    def counting(*args, **kwargs):
        calls.append(1)
        return forward(*args, **kwargs)

    monkeypatch.setattr(engine.model, "forward", counting)
    return calls


def test_chunks_come_lazily_one_model_call_each(engine, monkeypatch):
    calls = _count_model_calls(engine, monkeypatch)
    text = "The kitchen lights are on. The front door is locked. It is twenty degrees inside."
    chunks = engine.synthesize(text, "jf_alpha", lang="a", seed=1)
    assert calls == []  # validation only: no audio before the caller asks
    first = next(chunks)
    assert len(calls) == 1
    assert "kitchen" in first.text
    rest = list(chunks)
    assert len(calls) == 3 and len(rest) == 2
    for chunk in (first, *rest):
        seconds = len(chunk.audio) / SAMPLE_RATE
        assert 0.6 < seconds < 6.0
        assert np.sqrt((chunk.audio**2).mean()) > 0.01


def test_seed_reproduces_audio(engine):
    def speak(seed):
        return np.concatenate([c.audio for c in engine.synthesize("Hello there.", "jf_alpha", lang="a", seed=seed)])

    assert np.array_equal(speak(3), speak(3))
    assert not np.array_equal(speak(3), speak(4))


def test_speed_changes_length(engine):
    def seconds(speed):
        return sum(len(c.audio) for c in engine.synthesize("Good morning everyone.", "jf_alpha", lang="a",
                                                            speed=speed, seed=0)) / SAMPLE_RATE

    assert seconds(1.5) < seconds(1.0) < seconds(0.7)


@pytest.mark.parametrize(("text", "voice", "lang", "message"), [
    ("", "jf_alpha", "a", "empty"),
    ("   \n ", "jf_alpha", "a", "empty"),
    ("?!... --", "jf_alpha", "a", "nothing to speak"),
    ("Hello", "xx_nobody", "a", "unknown voice"),
    ("Hello", "jf_alpha", "klingon", "unknown language"),
])
def test_bad_requests_raise_before_audio(engine, text, voice, lang, message):
    with pytest.raises(EngineError, match=message):
        engine.synthesize(text, voice, lang=lang)


def test_bad_speed(engine):
    with pytest.raises(EngineError, match="speed"):
        engine.synthesize("Hello", "jf_alpha", lang="a", speed=0)


def test_long_text_is_fully_spoken(engine):
    sentences = [f"Sentence number {n} is here." for n in ("one", "two", "three", "four", "five", "six")]
    chunks = engine.text_chunks(" ".join(sentences), "a")
    joined = " ".join(span for span, _ in chunks)
    for sentence in sentences:
        assert sentence.split()[2] in joined


def test_audio_cache_repeats_instantly_and_stays_bounded(engine, monkeypatch):
    from kokoro_engine.pipeline import AudioCache

    cached = KokoroEngine(engine.model, engine.voices, engine.device, cache_bytes=8 * 1024 * 1024)
    calls = _count_model_calls(cached, monkeypatch)
    text = "Turned on the lights. Good night."
    first = list(cached.synthesize(text, "jf_alpha", lang="a"))
    assert len(calls) == 2
    again = list(cached.synthesize(text, "jf_alpha", lang="a"))
    assert len(calls) == 2  # a repeat never reaches the model
    assert [c.audio.tobytes() for c in again] == [c.audio.tobytes() for c in first]
    assert cached.cache.hits == 1
    # another voice, speed or a seeded request is a different rendering
    list(cached.synthesize(text, "jf_alpha", lang="a", speed=1.2))
    list(cached.synthesize(text, "jf_alpha", lang="a", seed=3))
    assert len(calls) == 6
    # an abandoned request stores nothing
    partial = cached.synthesize("Open the garage. Close it again.", "jf_alpha", lang="a")
    next(partial)
    partial.close()
    list(cached.synthesize("Open the garage. Close it again.", "jf_alpha", lang="a"))
    assert len(calls) == 9
    # bounded: a cache smaller than one reply keeps nothing; LRU evicts the oldest
    small = AudioCache(first[0].audio.nbytes + first[1].audio.nbytes)
    small.put(("a",), first)
    small.put(("b",), first[:1])
    assert small.get(("a",)) is None and small.get(("b",)) is not None
    tiny = AudioCache(10)
    tiny.put(("a",), first)
    assert tiny.get(("a",)) is None


def test_an_ssml_voice_that_fell_back_is_not_cached_so_it_is_spoken_once_installed(engine, monkeypatch, tmp_path):
    # A <voice> span whose voice is missing is spoken in the request's voice; caching that rendering
    # would keep answering in the wrong voice after the voice has been downloaded.
    from kokoro_engine.io.voices import VoiceLibrary

    library = VoiceLibrary([tmp_path])
    cached = KokoroEngine(engine.model, library, engine.device, cache_bytes=8 * 1024 * 1024)
    calls = _count_model_calls(cached, monkeypatch)
    doc = '<speak>Good night. <voice name="jf_late">Sleep well.</voice></speak>'
    fallback = list(cached.synthesize(doc, "jf_alpha", lang="a"))
    list(cached.synthesize(doc, "jf_alpha", lang="a"))
    assert len(calls) == 4  # not cached: both renderings reached the model
    assert cached.cache.bytes == 0

    torch.save(library.get("jf_nezumi").tensor, tmp_path / "jf_late.pt")  # "downloaded" now
    library.refresh()
    spoken = list(cached.synthesize(doc, "jf_alpha", lang="a"))
    assert len(calls) == 6 and cached.cache.bytes > 0  # the span's own voice: worth keeping
    assert len(spoken) == len(fallback)
    list(cached.synthesize(doc, "jf_alpha", lang="a"))
    assert len(calls) == 6  # and now a repeat is answered from the cache


def test_the_package_face_exports_what_it_lists_lazily():
    # `from kokoro_engine import X` is the server's one way in; importing the package must not load
    # torch (the server's describe path and `language_status` stay cheap), and every listed name resolves.
    import subprocess
    import sys

    code = ("import sys, kokoro_engine as k; assert 'torch' not in sys.modules; "
            "import kokoro_engine.text.g2p; assert 'torch' not in sys.modules; "
            "missing = [n for n in k.__all__ if not hasattr(k, n)]; assert not missing, missing; "
            "assert sorted(k._MODULE_OF) == sorted(set(k.__all__) - {'SAMPLE_RATE', '__version__'})")
    subprocess.run([sys.executable, "-c", code], check=True)
