"""Wyoming's `info`: what Home Assistant sees on `describe`, built at the Wyoming edge from the voice roster.

Built once, and again only when the roster's voice list has changed (a voice found corrupt, one the
hub does not have): `describe` is answered from the same object every time in between.
"""

from __future__ import annotations

from wyoming.info import Attribution, Info, TtsProgram, TtsVoice

from . import __version__
from .roster import VoiceRoster

ATTRIBUTION = Attribution(name="hexgrad/Kokoro-82M", url="https://huggingface.co/hexgrad/Kokoro-82M")
DESCRIPTION = ("Kokoro-82M neural text to speech; text_format ssml (speak, p, s, break, prosody rate, say-as, "
               "phoneme, sub, voice, lang), inline [word](/phonemes/), household lexicon")


def build_info(roster: VoiceRoster, *, streaming: bool) -> Info:
    """The roster's voice list as Wyoming's `Info` (one TTS program, every voice with its languages)."""
    voices = [TtsVoice(name=v.name, description=v.description, attribution=ATTRIBUTION, installed=v.installed,
                       version=None, languages=list(v.languages))
              for v in roster.voices()]
    program = TtsProgram(name="kokoro", attribution=ATTRIBUTION, description=DESCRIPTION, installed=True,
                         version=__version__, voices=voices, supports_synthesize_streaming=streaming)
    return Info(tts=[program])


class WyomingInfo:
    """One server's `info`, shared by its connections: rebuilt only when the roster has changed."""

    def __init__(self, roster: VoiceRoster, *, streaming: bool) -> None:
        self.roster, self.streaming = roster, streaming
        self._info = build_info(roster, streaming=streaming)
        self._generation = roster.generation

    def get(self) -> Info:
        if self._generation != self.roster.generation:
            self._generation = self.roster.generation
            self._info = build_info(self.roster, streaming=self.streaming)
        return self._info


__all__ = ["ATTRIBUTION", "WyomingInfo", "build_info"]
