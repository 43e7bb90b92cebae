"""What a client's text can make the engine's text side do: every pass is linear and bounded.

No timing asserts: each adversarial input is 100k-1M characters, where a quadratic pattern would take
hours (and the test would never finish), and each result is checked for what it must be.
"""

from __future__ import annotations

import pytest

from kokoro_engine.errors import BadSSML, EngineError, KokoroError, NothingToSpeak, VoiceUnusable
from kokoro_engine.limits import MAX_SSML_DEPTH, SPEED_MAX, SPEED_MIN, clamp_speed
from kokoro_engine.text.lexicon import split_inline
from kokoro_engine.text.normalize import normalize, strip_markdown
from kokoro_engine.text.speakable import check_speakable
from kokoro_engine.text.ssml import is_ssml, parse_rate, parse_ssml, strip_tags
from kokoro_engine.text.streaming import SentenceBuffer

N = 100_000


def test_every_engine_error_has_one_base_and_a_code() -> None:
    from kokoro_engine.io.assets import AssetError
    from kokoro_engine.io.voices import VoiceError, VoiceNotFound
    from kokoro_engine.io.weights import WeightsError
    from kokoro_engine.text.g2p import G2PUnavailable, UnknownLanguage
    from kokoro_engine.text.lexicon import LexiconError

    expected = {EngineError: ("bad-request", ValueError), NothingToSpeak: ("nothing-to-speak", ValueError),
                BadSSML: ("bad-ssml", ValueError), VoiceError: ("bad-voice", ValueError),
                VoiceUnusable: ("voice-unusable", ValueError), VoiceNotFound: ("voice-not-found", KeyError),
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


# --- issue 34: what one request may cost ---------------------------------------------------------------

def _in_a_process(code: str, guard: float = 120) -> str:
    """Run `code` in a fresh interpreter; a hang (a quadratic pass over a long run) fails at `guard`
    seconds, which a linear pass never comes near (it is not a timing assert: the quadratic cases
    take hours)."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=os.getcwd())
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=guard, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {guard} s: {code[:120]}")
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_break_time_and_rate_read_linearly() -> None:
    """A `<break time>` of a digit, 200,000 spaces and a letter: the old pattern backtracked over the
    spaces quadratically (50.7 KB froze the server 16.3 s); now one strip and a suffix."""
    from kokoro_engine.text.ssml import parse_time

    assert parse_time(" 1.5 s ") == 1.5 and parse_time("500ms") == 0.5 and parse_time(".5") == 0.5
    assert parse_time("20s") == 10.0 and parse_time("1 x") is None and parse_time("ms") is None
    assert parse_time("2.") is None and parse_time("-1s") is None
    assert parse_rate("+20%") == 1.2 and parse_rate("-10%") == 0.9 and parse_rate("150%") == 1.5
    out = _in_a_process(
        "from kokoro_engine.text.ssml import parse_ssml, parse_time, parse_rate\n"
        "spaces = ' ' * 200_000\n"
        "assert parse_time('1' + spaces + 'x') is None and parse_rate('1' + spaces + 'x') == 1.0\n"
        "doc = '<speak><break time=\"1' + spaces + 'x\"/><prosody rate=\"1' + spaces + '%x\">Hi</prosody></speak>'\n"
        "print([(s.text, s.pause_s) for s in parse_ssml(doc)])\n")
    assert out.strip() == "[('', 0.4), ('Hi', 0.0)]"


def test_ssml_refuses_a_dtd_and_its_entities() -> None:
    """A document type declaration is refused (BadSSML) by the one reader, whole or streamed: internal
    entities expanded 1,858 characters into +924 MB in the stream's parser."""
    laughs = ('<?xml version="1.0"?><!DOCTYPE speak [<!ENTITY a "' + "x" * 64 + '">'
              + "".join(f'<!ENTITY {n} "' + f"&{p};" * 16 + '">' for p, n in zip("abcdefg", "bcdefgh", strict=True))
              + ']><speak>&h;</speak>')
    for doc in (laughs, '<!DOCTYPE speak SYSTEM "file:///etc/passwd"><speak>Hi</speak>'):
        with pytest.raises(BadSSML, match="document type"):
            parse_ssml(doc)
        with pytest.raises(BadSSML, match="document type"):
            check_speakable(doc, "ssml")
        buf = SentenceBuffer("a", text_format="ssml")
        with pytest.raises(BadSSML, match="document type"):
            for i in range(0, len(doc), 7):
                buf.add(doc[i:i + 7])
    # XML's own entities and character references still read
    assert [s.text for s in parse_ssml("<speak>Tom &amp; Jerry &#65;</speak>")] == ["Tom & Jerry A"]


def test_stream_pieces_never_copy_a_long_attribute() -> None:
    """The `<speak …>` tag carried into each piece keeps `xml:lang` only, and a reopened span only the
    attributes the reader uses, bounded: a 30 KB attribute was copied, escaped, into every piece."""
    buf = SentenceBuffer("a", text_format="ssml")
    head = '<speak title="' + "&amp;" * 6000 + '" xml:lang="en-US"><voice name="af_heart" x="' + "y" * 30000 + '">'
    sent = head + "Word. " * 4000
    pieces = buf.add(head) + [p for _ in range(4000) for p in buf.add("Word. ")] + buf.finish()
    assert len(pieces) >= 3
    assert sum(len(p) for p in pieces) <= len(sent) + 80 * len(pieces)
    assert all(p.startswith('<speak xml:lang="en-US">') for p in pieces)
    assert {s.voice for p in pieces for s in parse_ssml(p) if s.text} == {"af_heart"}


def test_stream_tag_ends_outside_quoted_values() -> None:
    """`>` inside a quoted attribute does not end the tag: `title="a>b"` was spoken as `b">Hello there.`"""
    buf = SentenceBuffer("a", text_format="ssml")
    doc = '<speak title="a>b" xml:lang="en-US">Hello there. <s alt=\'1>2\'>Bye.</s> Next'
    pieces = [p for i in range(0, len(doc), 3) for p in buf.add(doc[i:i + 3])] + buf.finish()
    texts = [s.text for p in pieces for s in parse_ssml(p)]
    assert texts == ["Hello there.", "Bye.", "Next"], pieces
    assert strip_tags('<p a="x>y">t</p>') == "t"


def _split_work(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    import kokoro_engine.text.streaming as streaming

    seen: list[int] = []
    real = streaming.split_sentences

    def counted(text: str, lang: str) -> list[str]:
        seen.append(len(text))
        return real(text, lang)

    monkeypatch.setattr(streaming, "split_sentences", counted)
    return seen


@pytest.mark.parametrize("fmt", [None, "ssml"])
@pytest.mark.parametrize("unit", ["a.", "Mr", "3.5 ", "x. ", "e.g.", "。"])
def test_stream_splitting_is_linear_in_the_text(monkeypatch: pytest.MonkeyPatch, fmt: str | None, unit: str) -> None:
    """16,000 small chunks: the characters handed to the sentence splitter stay proportional to the
    text streamed (the plain buffer re-split up to 1,000 characters per chunk: 3.5 s of loop time)."""
    seen = _split_work(monkeypatch)
    buf = SentenceBuffer("a", text_format=fmt)
    sent = 0
    for i in range(16_000):
        text = unit if i % 400 else unit + " Then. "
        sent += len(text)
        buf.add(text)
    buf.finish()
    assert sum(seen) <= 12 * sent, (sum(seen), sent)


def test_stream_still_cuts_sentences_as_they_end() -> None:
    buf = SentenceBuffer("a")
    out = [p for chunk in ["The lig", "hts are on", ". Mr", ". Smith is ho", "me. The do", "or"] for p in buf.add(chunk)]
    assert out == ["The lights are on.", "Mr. Smith is home."] and buf.finish() == ["The door"]
    buf = SentenceBuffer("a", text_format="ssml")
    out = [p for chunk in ["<speak>The lig", "hts are on", ". Mr", ". Smith is ho", "me. The do", "or"]
           for p in buf.add(chunk)]
    assert out == ["<speak>The lights are on.</speak>", "<speak>Mr. Smith is home.</speak>"]


def test_one_speakable_rule_for_documents_and_streams() -> None:
    """`<phoneme>` speaks in a stream as in a whole document (the stream reader left it out)."""
    from kokoro_engine.text.ssml import element_speaks

    assert element_speaks("phoneme", {"ph": "wˈɪn"}) and element_speaks("break", {"time": "1s"})
    assert not element_speaks("break", {"time": "0s"}) and not element_speaks("sub", {"alias": "..."})
    buf = SentenceBuffer("a", text_format="ssml")
    pieces = buf.add('<speak><s><phoneme ph="wˈɪn"/></s><s>') + buf.finish()
    assert pieces[0] == '<speak><s><phoneme ph="wˈɪn"/></s></speak>'
    check_speakable(pieces[0], "ssml")
    with pytest.raises(NothingToSpeak):
        check_speakable("<speak>... !!</speak>", "ssml")


def test_a_document_names_a_bounded_number_of_voices() -> None:
    from kokoro_engine.limits import MAX_SSML_VOICES

    def doc(n: int) -> str:
        return "<speak>" + "".join(f'<voice name="jf_alpha:{i + 1}+jm_kumo:1">Hi.</voice>' for i in range(n)) + "</speak>"

    assert len(parse_ssml(doc(MAX_SSML_VOICES))) == MAX_SSML_VOICES
    assert len(parse_ssml(doc(1) * 1)) == 1
    with pytest.raises(BadSSML, match="voices"):
        parse_ssml(doc(MAX_SSML_VOICES + 1))
