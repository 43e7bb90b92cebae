"""Speech control in the engine with real weights and real G2P: SSML, household lexicon, inline phonemes,
silences. Audio is measured in samples (durations come from the duration predictor, not the noise)."""

from __future__ import annotations

import os

import pytest
import torch

from kokoro_engine import SAMPLE_RATE
from kokoro_engine.pipeline import KokoroEngine
from kokoro_engine.text.lexicon import Lexicon, LexiconError
from kokoro_engine.text.ssml import parse_ssml
from tests.realweights import real_model_path


@pytest.fixture(scope="module")
def engine() -> KokoroEngine:
    torch.set_num_threads(2)
    return KokoroEngine.load(real_model_path(), device="cpu")


def _samples(engine: KokoroEngine, text: str, **kw) -> int:
    return sum(len(c.audio) for c in engine.synthesize(text, "jf_alpha", lang="a", seed=3, **kw))


@pytest.mark.slow
def test_break_adds_its_time(engine) -> None:
    plain = _samples(engine, "The lights are on. The door is locked.")
    ssml = _samples(engine, '<speak>The lights are on. <break time="1s"/> The door is locked.</speak>')
    assert abs((ssml - plain) / SAMPLE_RATE - 1.0) <= 0.05
    half = _samples(engine, '<speak>The lights are on. <break time="500ms"/> The door is locked.</speak>')
    assert abs((half - plain) / SAMPLE_RATE - 0.5) <= 0.05
    # a document of pauses only is its silence (a streamed SSML piece may be one), not an error
    pause = list(engine.synthesize('<speak><break time="1s"/></speak>', "jf_alpha", lang="a"))
    assert sum(len(c.audio) for c in pause) == SAMPLE_RATE and not any(c.audio.any() for c in pause)


@pytest.mark.slow
def test_prosody_rate_two_halves_the_span(engine) -> None:
    text = "The temperature in the living room is twenty one degrees"
    normal = _samples(engine, f"<speak>{text}</speak>")
    fast = _samples(engine, f'<speak><prosody rate="2.0">{text}</prosody></speak>')
    slow = _samples(engine, f'<speak><prosody rate="x-slow">{text}</prosody></speak>')
    assert 0.4 < fast / normal < 0.62
    assert 1.6 < slow / normal < 2.4


@pytest.mark.slow
def test_sentence_and_trailing_silence(engine) -> None:
    text = "The lights are on. The door is locked. The alarm is set."
    plain = _samples(engine, text)
    spaced = _samples(engine, text, sentence_silence=0.3)
    assert spaced - plain == 2 * round(0.3 * SAMPLE_RATE)  # two boundaries
    trailing = list(engine.synthesize(text, "jf_alpha", lang="a", seed=3, trailing_silence=0.25))
    assert len(trailing[-1].audio) == round(0.25 * SAMPLE_RATE) and not trailing[-1].audio.any()


def test_say_as_phoneme_sub(engine) -> None:
    ph = engine.phonemize
    assert ph('<speak><say-as interpret-as="characters">cat</say-as></speak>', "a") == ph("C A T", "a")
    assert ph('<speak><say-as interpret-as="digits">123</say-as></speak>', "a") == ph("one two three", "a")
    assert ph('<speak><say-as interpret-as="cardinal">1,234</say-as></speak>', "a") == \
        ph("one thousand, two hundred and thirty-four", "a")
    assert ph('<speak><say-as interpret-as="ordinal">3</say-as></speak>', "a") == ph("third", "a")
    assert ph('<speak><say-as interpret-as="date" format="dmy">05/03/2024</say-as></speak>', "a") == \
        ph("March fifth, twenty twenty-four", "a")
    assert ph('<speak><say-as interpret-as="time">7:05</say-as></speak>', "a") == ph("seven oh five", "a")
    assert ph('<speak><say-as interpret-as="telephone">555-1234</say-as></speak>', "a") == \
        ph("five five five, one two three four", "a")
    assert ph('<speak>Call <phoneme alphabet="ipa" ph="wˈɪn">Nguyen</phoneme></speak>', "a") == ["kˈɔl wˈɪn"]
    assert ph('<speak><sub alias="World Wide Web">WWW</sub></speak>', "a") == ph("World Wide Web", "a")
    # French ordinal through num2words in French
    assert ph('<speak><say-as interpret-as="ordinal">2</say-as></speak>', "f") == ph("deuxième", "f")
    # Dates and times in each language's words, as plain text reads them (not "doce uno dos mil …")
    for lang, date, time, spoken_date, spoken_time in [
        ("e", "12/01/2027", "6:45", "12 de enero de 2027", "6 y 45"),
        ("f", "01/09/2026", "14:00", "premier septembre 2026", "14 heures"),
        ("p", "12/01/2027", "2:10", "12 de janeiro de 2027", "duas e 10"),
        ("j", "2026/12/03", "14:00", "にせんにじゅうろくねんじゅうにがつみっか", "じゅうよじ"),
    ]:
        assert ph(f'<speak><say-as interpret-as="date">{date}</say-as></speak>', lang) == ph(spoken_date, lang)
        assert ph(f'<speak><say-as interpret-as="time">{time}</say-as></speak>', lang) == ph(spoken_time, lang)


def test_ssml_structure_voice_lang_unknown_and_malformed(engine) -> None:
    segs = parse_ssml('<speak xmlns="http://www.w3.org/2001/10/synthesis"><p>One.</p><voice name="jf_nezumi">'
                      '<lang xml:lang="fr-FR">Bonjour</lang></voice> <emphasis>kept</emphasis></speak>')
    assert [(s.text, s.voice, s.lang) for s in segs] == [("One.", None, None), ("Bonjour", "jf_nezumi", "fr-FR"),
                                                        ("kept", None, None)]
    assert engine.phonemize('<speak><lang xml:lang="fr-FR">Bonjour</lang></speak>', "a") == ph_of(engine, "Bonjour", "f")
    # malformed: spoken as text, no exception
    assert engine.phonemize("<speak>Hello <break time='1s'> world", "a") == engine.phonemize("Hello world", "a")
    chunks = list(engine.synthesize("<speak>Hello <prosody rate='fast'>world", "jf_alpha", lang="a", seed=1))
    assert sum(len(c.audio) for c in chunks) > SAMPLE_RATE * 0.3


def ph_of(engine, text, lang):
    return engine.phonemize(text, lang)


def test_inline_phonemes_every_language(engine) -> None:
    assert engine.phonemize("Call [Nguyen](/wˈɪn/) now.", "a") == ["kˈɔl wˈɪn nˈW."]
    # a markdown link with a URL is read as its label
    assert engine.phonemize("See [the docs](https://example.com/x).", "a") == engine.phonemize("See the docs.", "a")
    for lang, text in (("f", "Bonjour [Nguyen](/wˈɪn/) merci."), ("j", "こんにちは[Nguyen](/wˈɪn/)です。"),
                       ("z", "你好[Nguyen](/wˈɪn/)谢谢。"), ("e", "Hola [Nguyen](/wˈɪn/) gracias.")):
        (ps,) = engine.phonemize(text, lang)
        assert "wˈɪn" in ps and "ŋ" not in ps.replace("wˈɪn", ""), (lang, ps)
    # 2*3 is arithmetic, not emphasis
    assert engine.phonemize("2*3", "a") == engine.phonemize("2 times 3", "a")


def _write(path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))  # a visible change on coarse clocks


def test_lexicon_phonemes_respelling_and_reload(engine, tmp_path) -> None:
    path = tmp_path / "lexicon.yaml"
    _write(path, "Nguyen: /wˈɪn/\nHA: Home Assistant\nTradfri: trahd-free\nIkea Tradfri: /ˈIkə/\n"
                 "Hue:\n  phonemes: hwˈA\n  match_case: true\nBonjour:\n  say: Bonsoir\n  lang: fr\n")
    engine.lexicon = Lexicon([path], engine.model.vocab)
    try:
        (ps,) = engine.phonemize("Is Nguyen home?", "a")
        assert "wˈɪn" in ps
        assert engine.phonemize("Ask HA.", "a") == [engine.phonemize("Ask Home Assistant.", "a")[0]]
        assert engine.phonemize("ha", "a") == engine.phonemize("Home Assistant", "a")  # case-insensitive
        assert engine.phonemize("Tradfri", "a") == _no_lexicon(engine, "trahd-free", "a")
        assert engine.phonemize("Ikea Tradfri", "a") == ["ˈIkə"]  # longest match first
        assert engine.phonemize("hue", "a") == _no_lexicon(engine, "hue", "a") and engine.phonemize("Hue", "a") == ["hwˈA"]
        assert engine.phonemize("Bonjour", "f") == _no_lexicon(engine, "Bonsoir", "f")  # per language
        assert engine.phonemize("Bonjour", "a") == _no_lexicon(engine, "Bonjour", "a")
        # same lexicon in SSML and in inline text
        assert "wˈɪn" in engine.phonemize("<speak>Nguyen <break/> is here</speak>", "a")[0]
        # reload on change, without a restart
        _write(path, "Nguyen: /nˈuːjən/\n")
        engine.lexicon._checked = 0.0
        (ps,) = engine.phonemize("Is Nguyen home?", "a")
        assert "nˈuːjən" in ps and "wˈɪn" not in ps
        # a bad file on reload keeps the old lexicon
        _write(path, "Nguyen: /nˈʘ/\n")
        engine.lexicon._checked = 0.0
        assert "nˈuːjən" in engine.phonemize("Is Nguyen home?", "a")[0]
    finally:
        engine.lexicon = None


def _no_lexicon(engine, text, lang):
    saved, engine.lexicon = engine.lexicon, None
    try:
        return engine.phonemize(text, lang)
    finally:
        engine.lexicon = saved


@pytest.mark.parametrize(("content", "line", "message"), [
    ("Good: /wˈɪn/\nBad: /wʘn/\n", 2, "not in Kokoro's vocabulary"),
    ("Good: fine\n\nEmpty:\n", 3, "empty"),
    ("Good: fine\nBad: @x\n", 2, "not valid YAML"),
])
def test_bad_lexicon_files_name_the_line(tmp_path, content, line, message) -> None:
    from kokoro_engine.config import load_config

    path = tmp_path / "lex.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(LexiconError) as err:
        Lexicon([path], load_config().vocab)
    assert f"{path}:{line}" in str(err.value) and message in str(err.value)


def test_tsv_lexicon(tmp_path) -> None:
    from kokoro_engine.config import load_config

    path = tmp_path / "lexicon.tsv"
    path.write_text("# household\nNguyen\t/wˈɪn/\nHA\tHome Assistant\ten\nBad line\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"lexicon.tsv:4"):
        Lexicon([path], load_config().vocab)
    path.write_text("Nguyen\t/wˈɪn/\nHA\tHome Assistant\ten\n", encoding="utf-8")
    lex = Lexicon([path], load_config().vocab)
    assert "[Nguyen](/wˈɪn/)" in lex.apply("Hi Nguyen", "j")
    assert lex.apply("HA", "a") == "Home Assistant" and lex.apply("HA", "f") == "HA"


def test_sentences_that_say_nothing_hand_the_turn_back(engine, monkeypatch) -> None:
    """20,000 `!` are 20,000 sentences without a phoneme: each step of the audio generator does at
    most a turn's text work (`TURN_S`) and hands out an empty chunk, so a scheduler lets another
    request in and a departed client's request ends there (all of them ran in one turn: another
    client's first audio waited 22.6 s)."""
    import kokoro_engine.pipeline as pipeline

    calls = []
    real = engine._phonemizer

    def counting(lang):
        phonemize = real(lang)

        def counted(text):
            calls.append(text)
            return phonemize(text)
        return counted

    monkeypatch.setattr(engine, "_phonemizer", counting)
    text = "! " * 20_000 + "The lights are on."
    audio = engine.synthesize(text, "jf_alpha", lang="a", seed=1)
    first = next(audio)
    assert len(first.audio) == 0 and first.phonemes == "" and first.text == ""  # a turn boundary
    assert 0 < len(calls) < 20_000
    audio.close()  # the client left: nothing more is phonemized
    assert len(calls) < 20_000
    ssml = "<speak>" + "<s>!</s>" * 20_000 + "The lights are on.</speak>"
    calls.clear()
    audio = engine.synthesize(ssml, "jf_alpha", lang="a", seed=1)
    assert len(next(audio).audio) == 0 and 0 < len(calls) < 20_000
    audio.close()
    assert pipeline.TURN_S <= 0.05


def test_an_ssml_document_read_once_is_not_read_again(engine, monkeypatch) -> None:
    """A server reads the document off its event loop and hands the segments over: the engine reads
    it no more (it was read on the loop, then twice on the worker)."""
    import kokoro_engine.pipeline as pipeline
    import kokoro_engine.text.speakable as speakable
    import kokoro_engine.text.ssml as ssml

    doc = '<speak>The lights are on. <break time="500ms"/> <voice name="jf_alpha:1+jf_nezumi:1">Done.</voice></speak>'
    segments = parse_ssml(doc, "a")
    reads = []

    def counted(*args, **kw):
        reads.append(args[0])
        return parse_ssml(*args, **kw)

    monkeypatch.setattr(pipeline, "parse_ssml", counted)
    monkeypatch.setattr(ssml, "parse_ssml", counted)
    once = sum(len(c.audio) for c in engine.synthesize(doc, "jf_alpha", lang="a", seed=3))
    assert reads == [doc]  # the engine alone reads it once too

    def refuse(*_args, **_kw):
        raise AssertionError("read again")

    monkeypatch.setattr(pipeline, "parse_ssml", refuse)
    monkeypatch.setattr(ssml, "parse_ssml", refuse)
    monkeypatch.setattr(speakable, "check_speakable", refuse)
    again = sum(len(c.audio) for c in engine.synthesize(doc, "jf_alpha", lang="a", seed=3, segments=segments))
    assert again == once


def test_many_blend_spans_hold_one_pack_at_a_time(engine) -> None:
    """Every `<voice>` span of a blend built its own 0.5 MB pack, all before the first audio, kept for
    the whole request; now a span's pack is loaded as the plan reaches it, and the library keeps a few."""
    from kokoro_engine.io.voices import MAX_CACHED_BLENDS

    spans = "".join(f'<voice name="jf_alpha:{1 + i % 4}+jf_nezumi:1">!</voice>' for i in range(2_000))
    audio = engine.synthesize(f"<speak>{spans}Hello.</speak>", "jf_alpha", lang="a", seed=1)
    next(audio)
    audio.close()
    assert len(engine.voices._blends) <= MAX_CACHED_BLENDS
