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


def _count_g2p_calls(engine: KokoroEngine, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sentences the engine hands its phonemizer, in order."""
    seen: list[str] = []
    make = engine._phonemizer

    def counting(lang):
        phonemize = make(lang)

        def wrapped(sentence):
            seen.append(sentence)
            return phonemize(sentence)
        return wrapped

    monkeypatch.setattr(engine, "_phonemizer", counting)
    return seen


def test_plans_are_lazy_a_sentence_at_a_time(engine, monkeypatch):
    """A long text is phonemized as the audio generator reaches it: synthesize() does no G2P and the
    first chunk needs the first sentence (and the one after, which tells where its text ends), so a
    scheduler that runs one next() per turn can serve others between a long request's sentences."""
    seen = _count_g2p_calls(engine, monkeypatch)
    sentences = [f"Sentence number {n} is here." for n in range(1, 41)]
    chunks = engine.synthesize(" ".join(sentences), "jf_alpha", lang="a", seed=0)
    assert seen == []
    next(chunks)
    assert 1 <= len(seen) <= 2 and seen[0] == sentences[0]
    next(chunks)
    assert len(seen) <= 3
    chunks.close()


def test_lazy_plans_keep_the_chunks_and_audio(engine):
    """Lazy planning changes when sentences are phonemized, not what is spoken."""
    text = ("The temperature in the living room is twenty one degrees, and the heating is off. "
            "The front door is locked. ... Goodbye!")
    chunks = list(engine.synthesize(text, "jf_alpha", lang="a", seed=3, sentence_silence=0.2))
    assert [(c.text, c.phonemes) for c in chunks if c.phonemes] == engine.text_chunks(text, "a")
    assert [bool(c.phonemes) for c in chunks] == [True, True, False, True, False, True]
    again = np.concatenate([c.audio for c in engine.synthesize(text, "jf_alpha", lang="a", seed=3,
                                                               sentence_silence=0.2)])
    assert np.array_equal(np.concatenate([c.audio for c in chunks]), again)


def test_errors_come_before_audio_with_codes(engine):
    from kokoro_engine.errors import KokoroError, NothingToSpeak

    for text, voice, code in [("", "jf_alpha", "nothing-to-speak"), ("... !!", "jf_alpha", "nothing-to-speak"),
                              ("Hello", "nobody", "voice-not-found"), ("Hello", "a" + " " * 6000 + "b", "bad-voice"),
                              ("Hello", "+".join(["jf_alpha"] * 9), "bad-voice")]:
        with pytest.raises(KokoroError) as err:
            engine.synthesize(text, voice, lang="a")
        assert err.value.code == code and isinstance(err.value, EngineError)
    with pytest.raises(KokoroError) as err:
        engine.synthesize("Hello", "jf_alpha", lang="xx")
    assert err.value.code == "unknown-language"
    # an SSML document with nothing to speak: refused before any audio (by the one rule, at the call)
    with pytest.raises(NothingToSpeak):
        next(engine.synthesize("<speak>—</speak>", "jf_alpha", lang="a"))


def test_speed_is_clamped_to_the_one_range(engine):
    from kokoro_engine.limits import SPEED_MAX, SPEED_MIN

    def seconds(speed, text="The lights are on.", **kw):
        return sum(len(c.audio) for c in engine.synthesize(text, "jf_alpha", lang="a", speed=speed, seed=0, **kw))

    assert seconds(4.0) == seconds(SPEED_MAX) < seconds(1.0) < seconds(SPEED_MIN) == seconds(0.25)
    fast = '<speak><prosody rate="x-fast">The lights are on.</prosody></speak>'
    assert seconds(2.0, fast) == seconds(SPEED_MAX)  # 2.0 × 1.5 is still 2.0
    with pytest.raises(EngineError, match="speed"):
        engine.synthesize("Hello", "jf_alpha", lang="a", speed=float("nan"))


def test_audio_is_capped_pauses_included(engine, monkeypatch):
    """400 breaks of 10 s made 4,000 s of audio; with a cap the request ends at it, and nothing past
    it is planned or rendered."""
    calls = _count_model_calls(engine, monkeypatch)
    doc = "<speak>Hi." + '<break time="10s"/>' * 400 + "Bye.</speak>"
    chunks = list(engine.synthesize(doc, "jf_alpha", lang="a", seed=0, max_audio_seconds=60))
    assert sum(len(c.audio) for c in chunks) == 60 * SAMPLE_RATE
    assert len(calls) == 1  # "Bye." was never rendered
    engine.max_audio_seconds = 5.0
    try:
        assert sum(len(c.audio) for c in engine.synthesize(doc, "jf_alpha", lang="a", seed=0)) == 5 * SAMPLE_RATE
    finally:
        engine.max_audio_seconds = None


def test_the_cache_counts_keys_and_stops_holding_a_long_request(engine, monkeypatch):
    from kokoro_engine.pipeline import AudioCache, AudioChunk

    cache = AudioCache(300_000)
    monkeypatch.setattr(engine, "cache", cache)
    list(engine.synthesize("The lights are on.", "jf_alpha", lang="a"))
    assert len(cache) == 1 and cache.bytes > 0
    # a key holds the request's whole text: 200 KB of key count as 200 KB, so two such entries
    # with tiny audio cannot both stay in 300 KB
    tiny = [AudioChunk(np.zeros(10, dtype=np.float32), "x", "x", 1)]
    cache.put(("a" * 200_000, "v"), tiny)
    assert cache.bytes > 200_000
    cache.put(("b" * 200_000, "v"), tiny)
    assert len(cache) == 1 and 200_000 < cache.bytes <= cache.max_bytes
    cache.put(("c" * 400_000, "v"), tiny)  # larger than the whole cache: not stored
    assert cache.get(("c" * 400_000, "v")) is None
    # a request whose audio outgrows the cache stops being kept as it goes (chunks already
    # handed on are not held by the engine) and is not stored
    doc = "<speak>Hi." + '<break time="10s"/>' * 10 + "</speak>"
    produced = engine.synthesize(doc, "jf_alpha", lang="a")
    frame = produced.gi_frame
    for _ in range(4):
        next(produced)
    assert frame.f_locals["done"] is None
    list(produced)
    assert len(cache) <= 2 and cache.bytes <= cache.max_bytes


def test_an_ssml_span_in_a_language_missing_here_is_refused_before_audio(engine, monkeypatch):
    import kokoro_engine.pipeline as pipeline
    from kokoro_engine.text.g2p import G2PUnavailable

    real = pipeline.get_g2p

    def only_english(lang):
        if lang != "a":
            raise G2PUnavailable("Spanish G2P unavailable here")
        return real(lang)

    monkeypatch.setattr(pipeline, "get_g2p", only_english)
    calls = _count_model_calls(engine, monkeypatch)
    doc = '<speak>Hello. <lang xml:lang="es">Hola.</lang></speak>'
    with pytest.raises(EngineError) as err:
        engine.synthesize(doc, "jf_alpha", lang="a")
    assert err.value.code == "language-unavailable" and calls == []
