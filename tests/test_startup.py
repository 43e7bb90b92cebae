"""`prepare`'s steps one at a time, on real voice packs (the offline fallback's Japanese voices) and
the real catalog: what each decides from the options, and the one-line error each stops start-up with."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from kokoro_engine import VoiceLibrary
from wyoming_kokoro.__main__ import (
    OFFLINE_DEFAULT_VOICE,
    StartupError,
    _blends,
    _default_voice,
    _folders,
    _spoken_speed,
    _voice_for,
    parse_args,
)


@pytest.fixture(scope="module")
def library() -> VoiceLibrary:
    return VoiceLibrary()


@pytest.fixture
def installed(library: VoiceLibrary) -> dict[str, bool]:
    return {**{name: True for name in library.names()}, "af_heart": False, "af_sarah": False}


def test_folders_search_the_data_dirs_and_download_into_the_first(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    data_dirs, download_dir = _folders(parse_args(["--data-dir", str(a), "--data-dir", str(b)]))
    assert data_dirs == [a, b] and download_dir == a and a.is_dir()
    elsewhere = tmp_path / "downloads"
    data_dirs, download_dir = _folders(parse_args(["--data-dir", str(a), "--download-dir", str(elsewhere)]))
    assert data_dirs == [a, elsewhere] and download_dir == elsewhere and elsewhere.is_dir()


def test_the_default_voice_falls_back_offline_unless_named(library: VoiceLibrary, installed: dict[str, bool],
                                                           tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        chosen = _default_voice(parse_args([]), installed, library, can_download=False, download_dir=tmp_path)
    assert chosen == OFFLINE_DEFAULT_VOICE and "af_heart is not available" in caplog.text
    assert _default_voice(parse_args(["--voice", "jf_nezumi"]), installed, library, can_download=False,
                          download_dir=tmp_path) == "jf_nezumi"
    with pytest.raises(StartupError, match="voice 'af_sarah' is not available"):
        _default_voice(parse_args(["--voice", "af_sarah"]), installed, library, can_download=False,
                       download_dir=tmp_path)


def test_blends_are_of_available_voices(installed: dict[str, bool]) -> None:
    assert _blends(["duo = jf_alpha:0.7+jf_nezumi:0.3 "], installed) == {"duo": "jf_alpha:0.7+jf_nezumi:0.3"}
    for spec, message in (("duo", "needs NAME=EXPR"), ("duo=jf_alpha+af_sarah", "'af_sarah' is not available"),
                          ("duo=jf_alpha:-1", "bad voice blend")):
        with pytest.raises(StartupError, match=message):
            _blends([spec], installed)


def test_voice_for_maps_a_language_to_a_voice_or_blend(installed: dict[str, bool]) -> None:
    assert _voice_for(["ja_JP=jf_nezumi", "en=duo"], installed, {"duo": "jf_alpha+jf_nezumi"}) \
        == {"j": "jf_nezumi", "a": "duo"}
    for spec, message in (("xx_YY=jf_alpha", "unknown language"), ("ja_JP=af_sarah", "needs LANG=VOICE"),
                          ("ja_JP", "needs LANG=VOICE")):
        with pytest.raises(StartupError, match=message):
            _voice_for([spec], installed, {})


def test_a_speed_outside_kokoros_range_is_spoken_at_its_end(caplog: pytest.LogCaptureFixture) -> None:
    assert _spoken_speed(1.25) == 1.25
    with caplog.at_level(logging.WARNING):
        assert _spoken_speed(3.0) == 2.0
    assert "--speed 3 is spoken at 2" in caplog.text
