"""What a client's text can make the engine's text side do: every pass is linear and bounded.

No timing asserts: each adversarial input is 100k-1M characters, where a quadratic pattern would take
hours (and the test would never finish), and each result is checked for what it must be.
"""

from __future__ import annotations

import pytest

from kokoro_engine.errors import BadSSML, EngineError, KokoroError, NothingToSpeak
from kokoro_engine.limits import MAX_SSML_DEPTH, SPEED_MAX, SPEED_MIN, clamp_speed
from kokoro_engine.text.lexicon import split_inline
from kokoro_engine.text.normalize import normalize, strip_markdown
from kokoro_engine.text.speakable import check_speakable
from kokoro_engine.text.ssml import is_ssml, parse_rate, parse_ssml, strip_tags
from kokoro_engine.text.streaming import SentenceBuffer

N = 100_000


def test_every_engine_error_has_one_base_and_a_code() -> None:
    from kokoro_engine.io.assets import AssetError
    from kokoro_engine.io.voices import VoiceError, VoiceFileError, VoiceNotFound
    from kokoro_engine.io.weights import WeightsError
    from kokoro_engine.text.g2p import G2PUnavailable, UnknownLanguage
    from kokoro_engine.text.lexicon import LexiconError

    expected = {EngineError: ("bad-request", ValueError), NothingToSpeak: ("nothing-to-speak", ValueError),
                BadSSML: ("bad-ssml", ValueError), VoiceError: ("bad-voice", ValueError),
                VoiceFileError: ("voice-unusable", ValueError), VoiceNotFound: ("voice-not-found", KeyError),
                G2PUnavailable: ("language-unavailable", RuntimeError),
                UnknownLanguage: ("unknown-language", ValueError), LexiconError: ("bad-lexicon", ValueError),
                AssetError: ("model-unavailable", RuntimeError), WeightsError: ("bad-weights", ValueError)}
    for cls, (code, builtin) in expected.items():
        assert issubclass(cls, KokoroError) and issubclass(cls, builtin), cls
        assert cls.code == code
    assert EngineError("x", code="voice-not-found").code == "voice-not-found"


def test_nothing_to_speak_is_one_rule() -> None:
    for text, fmt in [("", None), ("   ", None), ("... !!", None), ("**", None), ("<speak> </speak>", "ssml"),
                      ("<speak><!-- x --></speak>", None), (None, None)]:
        with pytest.raises(NothingToSpeak):
            check_speakable(text, fmt)
    for text, fmt in [("Hi", None), ("42", None), ('<speak><break time="1s"/></speak>', None),
                      ('<speak><s><sub alias="Two."/></s></speak>', None), ('<phoneme ph="wˈɪn"/>', "ssml"),
                      ("<speak>Hi</speak>", None), ("こんにちは", None)]:
        check_speakable(text, fmt)


def test_ssml_nesting_is_bounded() -> None:
    deep = "<speak>" + "<s>" * 1200 + "Hi" + "</s>" * 1200 + "</speak>"
    with pytest.raises(BadSSML, match="deeper than 32"):
        parse_ssml(deep)
    ok = "<speak>" + "<prosody>" * (MAX_SSML_DEPTH - 1) + "Hi" + "</prosody>" * (MAX_SSML_DEPTH - 1) + "</speak>"
    assert [s.text for s in parse_ssml(ok)] == ["Hi"]


def test_speed_policy_is_one_range() -> None:
    assert (SPEED_MIN, SPEED_MAX) == (0.5, 2.0)
    assert clamp_speed(4.0) == 2.0 and clamp_speed(0.25) == 0.5 and clamp_speed(1.2) == 1.2
    assert parse_rate("x-slow") == 0.5 and parse_rate("400%") == SPEED_MAX and parse_rate("0.1") == SPEED_MIN
    for bad in (0, -1, float("nan"), float("inf"), "fast", 10**400):
        with pytest.raises(EngineError):
            clamp_speed(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("unit", ["<a ", "[", "*a ", "_a ", "[a](/", "![", "\n", "a.", "a@", "<!--", "<a b='"])
def test_text_passes_are_linear_on_long_runs(unit: str) -> None:
    text = unit * (N // len(unit) + 1)
    stripped = strip_tags(text)
    assert len(stripped) <= len(text)
    assert split_inline(text) == [(text, False)]  # no inline phonemes in there
    assert len(strip_markdown(text)) <= len(text)
    normalize(text, "a")
    assert not is_ssml(text) or text.startswith("<speak")


def test_linear_passes_keep_their_meaning() -> None:
    assert strip_tags("a <b>bold</b> &amp; <!-- c > d --> e <3 f < g") == "a bold & e <3 f < g"
    assert strip_tags('<p a="x>y">t</p> tail <unfinished') == "t tail <unfinished"
    assert split_inline("say [Nguyen](/wˈɪn/) now") == [("say ", False), ("wˈɪn", True), (" now", False)]
    assert split_inline("[[a](/b/)") == [("[", False), ("b", True)]
    assert strip_markdown("**bold** *it* _un_ [label](http://x) - item") == "bold it un label - item"
    assert normalize("mail me@example.com", "a") == "mail me at example dot com"


def test_stream_buffer_is_bounded_and_linear() -> None:
    buf = SentenceBuffer("a", text_format="ssml")
    out = [p for _ in range(8000) for p in buf.add("<x/>")]
    assert out == [] and len(buf) <= 2 * SentenceBuffer.max_chars  # empty elements are not held forever
    buf = SentenceBuffer("a", text_format="ssml")
    out = [p for _ in range(N // 3) for p in buf.add("a. ")]  # a lowercase run: no sentence end
    assert len(buf) <= SentenceBuffer.max_chars + 10 and len(out) >= (N - 2000) // SentenceBuffer.max_chars
    buf = SentenceBuffer("a", text_format="ssml")
    out = buf.add('<speak><voice name="af_heart">') + [p for _ in range(N // 5) for p in buf.add("word ")]
    assert len(buf) <= 9 * SentenceBuffer.max_chars + 100
    assert all(p.startswith('<speak><voice name="af_heart">') and p.endswith("</voice></speak>") for p in out[1:])
    assert [s.voice for p in out[:3] for s in parse_ssml(p)] == ["af_heart"] * 3
    buf = SentenceBuffer("a", text_format="ssml")
    with pytest.raises(BadSSML):
        buf.add("<speak>" + "<s>" * 40)


def test_stream_buffer_cuts_outside_open_elements() -> None:
    doc = ('<speak xml:lang="en-US"><s>One.</s><p>Two. Three.</p>Four. Five <prosody rate="2">six. '
           'seven.</prosody> eight.<break time="1s"/></speak>')
    buf = SentenceBuffer("a", text_format="ssml")
    pieces = [p for i in range(0, len(doc), 3) for p in buf.add(doc[i:i + 3])]  # tags cut every 3 characters
    wrap = '<speak xml:lang="en-US">{}</speak>'.format
    assert pieces == [wrap("<s>One.</s>"), wrap("<p>Two. Three.</p>"), wrap("Four."),
                      wrap('Five <prosody rate="2">six. seven.</prosody> eight.<break time="1s"/>')]
    assert buf.finish() == []
    buf = SentenceBuffer("a", text_format="ssml")
    assert buf.add("<speak>One. Two. <bre") == ["<speak>One.</speak>"]
    assert buf.finish() == ["<speak>Two. <bre</speak>"]
    doc = ('<speak><s>One.</s> <s><break time="1s"/></s><p> </p><s><sub alias="Two."/></s><!-- x > y. Z. -->'
           'Three. <sub alias="a>b">Four.</sub> Five. Six.')
    buf = SentenceBuffer("a", text_format="ssml")
    pieces = [p for i in range(0, len(doc), 2) for p in buf.add(doc[i:i + 2])]
    assert pieces == ["<speak><s>One.</s></speak>", '<speak><s><break time="1s"/></s></speak>',
                      '<speak><p> </p><s><sub alias="Two."/></s></speak>',
                      '<speak><!-- x > y. Z. -->Three. <sub alias="a>b">Four.</sub> Five.</speak>']
    assert buf.finish() == ["<speak>Six.</speak>"]
    buf = SentenceBuffer("h")
    assert buf.add("नमस्ते। आप कै") == ["नमस्ते।"] and buf.finish() == ["आप कै"]
    buf = SentenceBuffer("a", text_format="ssml")  # broken mid-stream: read on as text
    assert buf.add("<speak>Hi <b>there</c> more. Next. ") == ["<speak>Hi <b>there</c> more.</speak>"]


def test_brackets_never_reach_misaki() -> None:
    """misaki's link pattern backtracks quadratically over a run of `[` (2,000: 19 s, 4,000: 67 s on
    the test machine); the engine has already read inline phonemes and links, so the English G2P
    hands misaki brackets as parentheses."""
    from kokoro_engine.text.g2p import get_g2p

    english = get_g2p("a")
    assert "[" not in english._prepare("[a] [[b " + "[" * N) and "]" not in english._prepare("x]")
    assert english.phonemize("[" * 2000 + " hello") == english.phonemize("(" * 2000 + " hello")


def test_japanese_mark_runs_and_long_native_text_stay_cheap() -> None:
    """cutlet tries every prefix of a run of one character type (600 brackets: 10 s, 2,000: 75 s);
    mark runs are cut to 8 and native text is read in pieces of at most 200 characters."""
    from kokoro_engine.text.g2p import get_g2p

    japanese = get_g2p("j")
    hello = japanese.phonemize("こんにちは")
    assert japanese.phonemize("[" * N + "こんにちは") == japanese.phonemize("[" * 8 + "こんにちは")
    assert hello in japanese.phonemize("[" * 8 + "こんにちは")
    long = japanese.phonemize("こんにちは、" * 200)
    assert long.count(hello) == 200
