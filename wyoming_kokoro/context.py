"""What every connection shares: the engine and worker, the voices on offer and how a request's voice
resolves, the `info` Home Assistant sees, first-use downloads, and the checks a request's text passes
(Wyoming and HTTP alike). Built once by `__main__.prepare`; `handler` holds only per-connection state."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wyoming.info import Attribution, Info, TtsProgram, TtsVoice

from . import __version__
from .catalog import CatalogVoice, canonical_voice, load_catalog
from .worker import Worker

if TYPE_CHECKING:  # torch: imported by the engine when it loads, not by this module
    from kokoro_engine import KokoroEngine

_LOGGER = logging.getLogger(__name__)

MAX_CHARS = 100_000
ATTRIBUTION = Attribution(name="hexgrad/Kokoro-82M", url="https://huggingface.co/hexgrad/Kokoro-82M")


class RequestError(ValueError):
    def __init__(self, text: str, code: str) -> None:
        super().__init__(text)
        self.code = code


@dataclass
class ServerContext:
    """State shared by all connections; read-only after startup except the engine (worker thread only)."""

    engine: KokoroEngine
    worker: Worker
    default_voice: str
    speed: float = 1.0
    seed: int | None = None  # fixed noise seed: reproducible renderings (tests, comparisons)
    samples_per_chunk: int = 1024
    streaming: bool = True
    installed: dict[str, bool] = field(default_factory=dict)  # voice → usable now
    blends: dict[str, str] = field(default_factory=dict)  # name → expression
    english_only: set[str] = field(default_factory=set)  # voices read with English G2P (see __main__)
    also_english: set[str] = field(default_factory=set)  # also advertised as en_US (see __main__)
    download_dir: Path | None = None  # where missing catalog voices are downloaded on first use
    can_download: bool = False  # downloads allowed and the hub reachable at startup
    model: str = ""  # model file name, for status pages
    sentence_silence: float = 0.0  # seconds between sentences
    trailing_silence: float = 0.0  # seconds after the last word, so satellites do not clip it
    voice_for: dict[str, str] = field(default_factory=dict)  # Kokoro language letter → voice (--voice-for)
    max_connections: int = 64  # open Wyoming connections (--max-connections)
    max_pending: int = 4  # synthesis requests queued or in progress per connection
    idle_timeout: float = 300.0  # seconds a connection may be silent mid-stream or with nothing to do
    connections: set[Any] = field(default_factory=set)  # the open connections' handlers
    shutting_down: bool = False
    info: Info | None = None
    _voice_locks: dict[str, asyncio.Lock] = field(default_factory=dict, repr=False)

    def build_info(self) -> Info:
        voices = []
        for name, entry in load_catalog().items():
            description, language = entry.description, entry.language
            if name in self.english_only:
                description, language = f"{description}, reading English", "en_US"
            voices.append(
                TtsVoice(name=name, description=description, attribution=ATTRIBUTION,
                         installed=self.installed.get(name, False), version=None,
                         languages=[language, "en_US"] if name in self.also_english else [language])
            )
        catalog = load_catalog()
        for name, expr in self.blends.items():
            first = catalog.get(first_voice(expr))
            voices.append(
                TtsVoice(name=name, description=f"Blend {expr}", attribution=ATTRIBUTION,
                         installed=self._blend_usable(expr), version=None,
                         languages=[first.language if first else "en_US"])
            )
        program = TtsProgram(
            name="kokoro", attribution=ATTRIBUTION,
            description="Kokoro-82M neural text to speech; text_format ssml (speak, p, s, break, prosody rate, "
                        "say-as, phoneme, sub, voice, lang), inline [word](/phonemes/), household lexicon",
            installed=True, version=__version__, voices=voices,
            supports_synthesize_streaming=self.streaming,
        )
        self.info = Info(tts=[program])
        return self.info

    def voice_for_language(self, language: Any) -> str | None:
        """The voice for a request that names only a language: --voice-for, else the best-graded
        installed catalog voice of that language; None (the default voice) if there is none."""
        if not isinstance(language, str) or not language.strip():
            return None
        from kokoro_engine import UnknownLanguage, resolve_lang

        try:
            code = resolve_lang(language)
        except UnknownLanguage:
            return None
        if code in self.voice_for:
            return self.voice_for[code]
        if self.default_voice[:1] == code:
            return self.default_voice
        candidates = [(entry.quality, name) for name, entry in load_catalog().items()
                      if entry.lang_code == code and self.installed.get(name) and name not in self.english_only]
        return min(candidates, key=lambda c: (_grade(c[0]), c[1]))[1] if candidates else None

    def request_voice(self, voice: Any) -> str:
        """The voice expression for a Wyoming request's `voice` object (its name, else its language;
        `synthesize` and `synthesize-start` alike). Raises RequestError."""
        voice = voice or {}
        if not isinstance(voice, dict):
            raise RequestError("voice must be an object", "bad-request")
        return self.resolve_voice(voice.get("name") or self.voice_for_language(voice.get("language")))

    def resolve_voice(self, name: str | None) -> str:
        """Voice expression for the engine: a name, a configured blend, or `a+b` / `a:0.7+b:0.3`."""
        if not name:
            return self.default_voice
        if not isinstance(name, str):
            raise RequestError("voice name must be a string", "bad-request")
        name = name.strip()
        if name in self.blends:
            if not self._blend_usable(self.blends[name]):
                raise RequestError(f"blend {name} uses a voice that is no longer available", "voice-not-found")
            return self.blends[name]
        from kokoro_engine import VoiceError, parse_voice_expression  # torch: not at import time

        try:
            parts = parse_voice_expression(name)  # NaN, inf, negative, all-zero: refused before queueing
        except VoiceError as err:
            raise RequestError(str(err), "bad-request") from err
        resolved = []
        for voice, weight in parts:
            if voice not in self.installed:
                voice = canonical_voice(voice)  # "Heart", "AF-Heart" → af_heart
            if not self.installed.get(voice, False):
                raise RequestError(f"unknown or not installed voice: {voice}", "voice-not-found")
            resolved.append(voice if len(parts) == 1 else f"{voice}:{weight:g}")
        return "+".join(resolved)

    def ssml_voice(self, name: str) -> str:
        """An SSML `<voice name>` resolved like a request's voice; unusable names come back unchanged,
        so the engine logs them and keeps the request's voice for the span."""
        try:
            return self.resolve_voice(name)
        except RequestError:
            return name.strip()

    def _blend_usable(self, expr: str) -> bool:
        from kokoro_engine import parse_voice_expression

        return all(self.installed.get(voice, True) for voice, _weight in parse_voice_expression(expr))

    def voice_unusable(self, err: BaseException) -> bool:
        """Whether `err` says a voice pack on disk cannot be read (truncated, corrupt); that voice is
        then no longer offered (describe, requests), with one warning."""
        from kokoro_engine import VoiceUnusable

        if not isinstance(err, VoiceUnusable):
            return False
        if self.installed.get(err.voice, True):
            _LOGGER.warning("Voice %s is no longer offered: %s", err.voice, err)
            self.installed[err.voice] = False
            self.build_info()
        return True

    async def ensure_span_voices(self, text: str, text_format: str | None) -> None:
        """First-use downloads for the `<voice name>` spans of an SSML text, as `ensure_voices` does for
        the request's voice; a span voice that cannot be had is logged and the span keeps the request's."""
        from kokoro_engine import is_ssml, voice_names

        if not (self.can_download and is_ssml(text, text_format)):
            return
        for name in voice_names(text):
            try:
                await self.ensure_voices(self.resolve_voice(name))
            except RequestError as err:
                _LOGGER.warning("SSML <voice name=%r>: %s", name, err)

    def lang_for(self, expr: str) -> str | None:
        """G2P language override for a resolved voice expression (None: the voice's own language)."""
        return "a" if first_voice(expr) in self.english_only else None

    async def ensure_voices(self, expr: str) -> None:
        """Download the catalog voices of `expr` that are not on disk yet (first use), one download per
        voice at a time; the engine's voice library is rescanned afterwards. Raises RequestError."""
        if not self.can_download or self.download_dir is None:
            return
        catalog = load_catalog()
        from kokoro_engine import parse_voice_expression

        for part in dict.fromkeys(voice for voice, _weight in parse_voice_expression(expr)):
            if part not in catalog or self.engine.voices.on_disk(part):
                continue
            lock = self._voice_locks.setdefault(part, asyncio.Lock())
            async with lock:
                if self.engine.voices.on_disk(part):  # a concurrent request downloaded it while we waited
                    continue
                await self._download_voice(part)

    async def _download_voice(self, name: str) -> None:
        from .download import RemoteFileMissing, download_voice

        def fetch() -> None:
            assert self.download_dir is not None  # ensure_voices checked
            download_voice(name, self.download_dir)
            self.engine.voices.refresh()

        _LOGGER.info("Voice %s: downloading on first use", name)
        try:
            await asyncio.to_thread(fetch)
        except Exception as err:
            _LOGGER.warning("Voice %s: download failed: %s", name, err)
            if isinstance(err, RemoteFileMissing):  # the hub does not have it: stop advertising it
                self.installed[name] = False
                self.build_info()
            raise RequestError(f"voice {name} could not be downloaded: {err}", "voice-download-failed") from err


def first_voice(expr: str) -> str:
    """The first voice of a (validated) expression: it names the language of a blend."""
    from kokoro_engine import parse_voice_expression

    return parse_voice_expression(expr)[0][0]


def _grade(quality: str | None) -> tuple[int, int]:
    """Catalog grade "A", "B-", "C+" → sort key, best first; ungraded last."""
    if not quality:
        return (99, 0)
    return (ord(quality[0].upper()) - ord("A"), {"+": 0, "": 1, "-": 2}.get(quality[1:2], 1))


def check_text_format(text_format: Any) -> None:
    """Wyoming 1.10's `text_format`: absent, `text` or `ssml`. Raises RequestError."""
    if text_format is not None and text_format not in ("text", "ssml"):
        raise RequestError("text_format must be 'text' or 'ssml'", "bad-request")


def check_text(text: Any, text_format: Any = None) -> str:
    """Reject what cannot be spoken; the text itself goes to the engine as it came (the engine's
    normalizer cleans markdown, so `2*3` and inline `[word](/phonemes/)` reach it intact)."""
    from kokoro_engine import is_ssml, strip_markdown, strip_tags

    if not isinstance(text, str):
        raise RequestError("text must be a string", "bad-request")
    if len(text) > MAX_CHARS:
        raise RequestError(f"text longer than {MAX_CHARS} characters", "text-too-long")
    check_text_format(text_format)
    ssml = is_ssml(text, text_format)
    visible = strip_tags(text) if ssml else strip_markdown(text)
    if not visible.strip() and not (ssml and "<break" in text):
        raise RequestError("empty text", "empty-text")
    if not any(ch.isalnum() for ch in visible) and not ssml:
        raise RequestError("text has nothing to speak (punctuation only)", "empty-text")
    return text.strip()


@dataclass
class VoiceOffer:
    """Which voices the server offers, decided once at startup (`offer_voices`)."""

    installed: dict[str, bool]  # voice → usable now (on disk, or downloadable on first use)
    english_only: set[str]  # packs on disk whose own language has no G2P here: they read English
    also_english: set[str]  # offline fallback's Japanese packs, advertised for English text too


def offer_voices(catalog: Mapping[str, CatalogVoice], status: Mapping[str, str | None], on_disk: set[str],
                 *, can_download: bool, fallback: bool) -> VoiceOffer:
    """The voice-availability rules, with no I/O but the log: `status` is `language_status()` (a
    reason per language that cannot be read here), `on_disk` every voice pack the engine can load
    (catalog voices and any others), `fallback` whether the pip-installed offline weights are in use."""
    offer = VoiceOffer({}, set(), set())
    english = status.get("a") is None
    for name, entry in catalog.items():
        reason = status.get(entry.lang_code)
        here = name in on_disk
        if reason is not None and here and english:
            # A pack on disk whose own language has no G2P here (e.g. the five Japanese packs of the
            # offline fallback without the Japanese extra) still speaks English phonemes well enough;
            # offering it as English keeps a fresh offline install usable from Home Assistant.
            offer.english_only.add(name)
            offer.installed[name] = True
            _LOGGER.warning("Voice %s: %s G2P unavailable (%s); it will read English text",
                            name, entry.language_name, reason)
            continue
        offer.installed[name] = (here or can_download) and reason is None
        if fallback and here and reason is None and entry.lang_code == "j" and english:
            # The offline default has only Japanese packs. Japanese G2P reads Latin-script text with
            # the English G2P, so they can serve an English-speaking household too: say so.
            offer.also_english.add(name)
        if reason is not None:
            _LOGGER.info("Voice %s not offered: %s G2P unavailable (%s)", name, entry.language_name, reason)
    for name in on_disk - set(catalog):  # the user's own packs
        offer.installed[name] = True
    return offer
