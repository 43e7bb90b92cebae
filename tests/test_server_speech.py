"""Speech control over real Wyoming traffic: a real `python -m wyoming_kokoro` (offline fallback, real
weights, Japanese packs) with a household lexicon and --voice-for, talked to with the `wyoming` client.

Audio lengths come from the duration predictor, so the same phonemes give the same number of samples:
two texts that must be read alike are compared by their sample counts."""

from __future__ import annotations

import numpy as np
import openai
import pytest
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeVoice

from kokoro_engine import SentenceBuffer
from tests.server_process import free_port, spawn_server
from tests.test_server import _shape_ok
from tests.wyoming_client import audio_samples, exchange, run

pytestmark = pytest.mark.slow
RATE = 24000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    lexicon = tmp_path_factory.mktemp("lex") / "household.yaml"
    lexicon.write_text("Nguyen: /wˈɪn/\nHA: Home Assistant\n", encoding="utf-8")
    with spawn_server(tmp_path_factory, "--lexicon", str(lexicon), "--voice-for", "ja_JP=jf_nezumi",
                      "--audio-cache-mb", "0") as (port, _log):
        yield port, lexicon


@pytest.fixture(scope="module")
def silent_server(tmp_path_factory: pytest.TempPathFactory):
    http = free_port()
    with spawn_server(tmp_path_factory, "--sentence-silence", "0.5", "--trailing-silence", "0.3",
                      "--leading-silence", "0.2", "--audio-cache-mb", "0", "--http", f"tcp://127.0.0.1:{http}",
                      wait_ports=(http,)) as (port, _log):
        yield port, http


def _plain_audio(port: int, text: str, **kw) -> np.ndarray:
    events = run(exchange(port, [Synthesize(text=text, **kw).event()]))
    _shape_ok(events)
    assert not [e for e in events if e.type == "error"], [e.data for e in events if e.type == "error"]
    return audio_samples(events)


def _plain(port: int, text: str, **kw) -> int:
    return len(_plain_audio(port, text, **kw))


def _streamed_audio(port: int, text: str, size: int, **kw) -> np.ndarray:
    pieces = [text[i:i + size] for i in range(0, len(text), size)]
    evs = [SynthesizeStart(**kw).event(), *[SynthesizeChunk(text=p).event() for p in pieces],
           Synthesize(text=text, **kw).event(), SynthesizeStop().event()]
    events = run(exchange(port, evs, until="synthesize-stopped"))
    _shape_ok(events)
    assert not [e for e in events if e.type == "error"]
    return audio_samples(events)


def _streamed(port: int, text: str, size: int, **kw) -> int:
    return len(_streamed_audio(port, text, size, **kw))


def _zero_runs(pcm: np.ndarray) -> tuple[int, int]:
    """(longest run of zero samples not touching the end, zero samples at the end)."""
    padded = np.concatenate([[0], (pcm == 0).astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(padded))
    runs = list(zip(edges[::2], edges[1::2], strict=True))  # [start, stop) of each zero run
    tail = runs[-1][1] - runs[-1][0] if runs and runs[-1][1] == len(pcm) else 0
    inner = [stop - start for start, stop in runs if stop < len(pcm)]
    return max(inner, default=0), int(tail)


def test_describe_advertises_ssml(server) -> None:
    port, _ = server
    info = Info.from_event(run(exchange(port, [Describe().event()], until="info"))[-1])
    assert "ssml" in info.tts[0].description


def test_markdown_star_is_arithmetic_over_wyoming(server) -> None:
    port, _ = server
    times = _plain(port, "The answer is 12*34.")
    assert times == _plain(port, "The answer is 12 times 34.")
    assert times != _plain(port, "The answer is 1234.")


def test_inline_phonemes_and_lexicon_via_server(server) -> None:
    port, _ = server
    inline = _plain(port, "Call [Ngo](/wˈɪn/) now.")  # English (Latin text with a Japanese pack)
    assert inline == _plain(port, "Call Nguyen now.")  # the lexicon entry, same phonemes
    assert inline != _plain(port, "Call Ngo now.")
    assert _plain(port, "Ask HA.") == _plain(port, "Ask Home Assistant.")
    # Japanese G2P: inline phonemes inside Japanese text
    ja = _plain(port, "今日は[東京](/tˈoːkʲoː/)です。")
    assert ja == _plain(port, '<speak>今日は<phoneme alphabet="ipa" ph="tˈoːkʲoː">東京</phoneme>です。</speak>',
                        text_format="ssml")
    assert ja != _plain(port, "今日は大阪です。")
    # a markdown link keeps being read as its label
    assert _plain(port, "See [the docs](https://example.com/a).") == _plain(port, "See the docs.")


def test_ssml_plain_and_streamed_with_split_tags(server) -> None:
    port, _ = server
    without = _plain(port, "The lights are on. The door is locked.")
    ssml = '<speak>The lights are on. <break time="1s"/> <s>The door is locked.</s></speak>'
    plain = _plain(port, ssml, text_format="ssml")
    assert abs((plain - without) / RATE - 1.0) <= 0.05
    assert _streamed(port, ssml, 4, text_format="ssml") == plain  # tags cut every 4 characters
    assert _streamed(port, ssml, 3) == plain  # no text_format, but the stream starts with a tag
    # malformed SSML still speaks, without an error
    assert _plain(port, "<speak>The lights <break time='1s'> are on", text_format="ssml") > RATE // 2


def test_voice_by_language(server) -> None:
    port, _ = server
    text = "こんにちは、今日はいい天気ですね。"
    by_language = _plain(port, text, voice=SynthesizeVoice(language="ja_JP"))
    assert by_language == _plain(port, text, voice=SynthesizeVoice(name="jf_nezumi"))
    assert by_language != _plain(port, text)  # the server's default voice (jf_alpha) differs


def test_stream_buffer_uses_the_engine_splitter() -> None:
    buf = SentenceBuffer("h")
    assert buf.add("नमस्ते। आप कै") == ["नमस्ते।"]  # the danda ends a sentence while streaming
    assert buf.finish() == ["आप कै"]
    buf = SentenceBuffer("a")
    assert buf.add("It is 3.") == [] and buf.add("5 degrees. Dr. Smith is") == ["It is 3.5 degrees."]
    assert buf.add(" here. Bye") == ["Dr. Smith is here."]


def test_language_only_voice_picks_the_best_graded_installed_voice() -> None:
    from kokoro_engine import VoiceLibrary
    from wyoming_kokoro.context import ServerConfig
    from wyoming_kokoro.roster import VoiceRoster

    installed = {"jf_alpha": True, "ff_siwis": True, "bf_emma": True, "bf_isabella": True, "bf_alice": True,
                 "af_heart": False}
    library = VoiceLibrary()  # voice choice loads no pack
    roster = VoiceRoster(ServerConfig(default_voice="jf_alpha"), installed, library)
    assert roster.voice_for_language("en_GB") == "bf_emma"  # B- beats C and D
    assert roster.voice_for_language("fr-FR") == "ff_siwis"
    assert roster.voice_for_language("ja_JP") == "jf_alpha"  # the default voice speaks it
    assert roster.voice_for_language("en_US") is None  # none installed: the default voice
    assert roster.voice_for_language("xx_YY") is None and roster.voice_for_language(None) is None
    chosen = VoiceRoster(ServerConfig(default_voice="jf_alpha", voice_for={"b": "bf_alice"}), installed, library)
    assert chosen.voice_for_language("en_GB") == "bf_alice"


def test_sentence_leading_and_trailing_silence_through_the_server(server, silent_server) -> None:
    """--leading-silence 0.2 starts the audio with 0.2 s of zeros, --sentence-silence 0.5 puts half a
    second of zeros at each of the two sentence boundaries and --trailing-silence 0.3 ends the audio
    with 0.3 s of zeros, plain and streamed (sentence by sentence); over HTTP the file gets the leading
    and sentence silences (no trailing one: that is for satellites' streams)."""
    port, _ = server
    silent, http = silent_server
    text = "The lights are on. The door is locked. The alarm is set."
    lead, expected = round(0.2 * RATE), round(0.2 * RATE) + 2 * round(0.5 * RATE) + round(0.3 * RATE)

    def over_http(_port: int) -> np.ndarray:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{http}/v1", api_key="none", max_retries=0, timeout=280)
        data = client.audio.speech.create(model="kokoro", voice="jf_alpha", input=text, response_format="pcm").read()
        return np.frombuffer(data, "<i2")

    for name, render in (("plain", lambda p: _plain_audio(p, text)),
                         ("streamed", lambda p: _streamed_audio(p, text, 7))):
        base, spaced = render(port), render(silent)
        assert len(spaced) - len(base) == expected, name
        assert _zero_runs(base)[1] < round(0.3 * RATE), name  # the plain server adds no tail of zeros
        assert np.any(base[:lead]), name  # nor zeros at the start
        assert not np.any(spaced[:lead]) and np.any(spaced[lead:2 * lead]), name
        inner, tail = _zero_runs(spaced)
        assert inner >= round(0.5 * RATE) and tail >= round(0.3 * RATE), (name, inner, tail)
    base, spaced = _plain_audio(port, text), over_http(silent)
    assert len(spaced) - len(base) == lead + 2 * round(0.5 * RATE)
    assert not np.any(spaced[:lead]) and np.any(spaced[lead:2 * lead])


def test_ssml_voice_resolves_like_a_request_voice(server) -> None:
    """`<voice name>` takes what a request's voice takes: display names, any case, `-` for `_`, blends
    of those; an unknown name keeps the request's voice (and the exchange still succeeds)."""
    port, _ = server

    def span(voice: str) -> int:
        return _plain(port, f'<speak>Good night. <voice name="{voice}">The doors are locked.</voice></speak>',
                      text_format="ssml")

    exact = span("jm_kumo")
    assert exact != _plain(port, "<speak>Good night. The doors are locked.</speak>", text_format="ssml")
    assert span("Kumo") == span("JM-KUMO") == exact
    assert span("kumo:0.5+JF_Alpha:0.5") == span("jm_kumo:0.5+jf_alpha:0.5")
    assert span("xx_nobody") == _plain(port, "<speak>Good night. The doors are locked.</speak>",
                                       text_format="ssml")


def test_ssml_voice_never_names_a_file(server, tmp_path) -> None:
    """A `<voice name>` that is a path to a loadable voice pack is not on the allow-list: the span keeps
    the request's voice (before, the engine's library loaded any readable `.pt` file it was given)."""
    import torch

    port, _ = server
    pack = tmp_path / "jm_kumo.pt"
    torch.save(torch.randn(510, 1, 256) * 0.5, pack)
    plain = _plain(port, "<speak>Good night. The doors are locked.</speak>", text_format="ssml")
    for name in (str(pack), f"{pack}:0.5+jf_alpha:0.5", "../voices/jm_kumo.pt"):
        assert _plain(port, f'<speak>Good night. <voice name="{name}">The doors are locked.</voice></speak>',
                      text_format="ssml") == plain, name


def test_ssml_stream_speaks_before_synthesize_stop(server) -> None:
    """The first closed `<s>` of an SSML stream is spoken while the stream is still open, and the whole
    stream sounds as the same document sent at once (the same samples: the same chunks, no piece lost)."""
    from wyoming.client import AsyncTcpClient

    port, _ = server
    head = '<speak><s>The lights are on.</s> <s>The door is locked.</s>'
    tail = ' <s>The alarm is set.</s> <prosody rate="fast">Good night. Sleep well.</prosody></speak>'

    async def go() -> tuple[list[Event], list[Event]]:
        async with AsyncTcpClient("127.0.0.1", port) as c:
            await c.write_event(SynthesizeStart(text_format="ssml").event())
            for i in range(0, len(head), 5):
                await c.write_event(SynthesizeChunk(text=head[i:i + 5]).event())
            before: list[Event] = []
            while not before or before[-1].type != "audio-chunk":  # the stream's end is not sent yet
                ev = await c.read_event()
                assert ev is not None and ev.type != "error", [e.type for e in before]
                before.append(ev)
            await c.write_event(SynthesizeChunk(text=tail).event())
            await c.write_event(SynthesizeStop().event())
            after: list[Event] = []
            while not after or after[-1].type != "synthesize-stopped":
                ev = await c.read_event()
                assert ev is not None
                after.append(ev)
            return before, after

    before, after = run(go(), timeout=200)
    assert before[0].type == "audio-start" and "error" not in [e.type for e in after]
    assert [e.type for e in after[-2:]] == ["audio-stop", "synthesize-stopped"]
    assert len(audio_samples(before + after)) == _plain(port, head + tail, text_format="ssml")


def test_ssml_stream_silences_match_the_document(silent_server) -> None:
    """With --sentence-silence, an SSML stream cut into pieces (around pauses too) gets the silences the
    whole document gets: one between sentences, none beside a `<break>`, the trailing one once."""
    doc = ('<speak><s>The lights are on.</s><break time="300ms"/><s>The door is locked.</s> '
           '<s><break time="200ms"/>The alarm is set.</s> The porch light is off. Good night.</speak>')
    port, _http = silent_server
    plain = _plain(port, doc, text_format="ssml")
    assert _streamed(port, doc, 5, text_format="ssml") == plain
    assert _streamed(port, doc, 1) == plain
