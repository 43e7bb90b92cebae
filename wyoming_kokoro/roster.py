"""The voice roster: which voices this server offers, and which voice a request names.

One object owns the voices' run-time state: which voices are usable now (a pack found corrupt, a voice
the hub does not have: no longer), the first-use downloads, and the list both protocols show (Wyoming's
`Info` is built from it at the Wyoming edge, `/v1/audio/voices` from it at the HTTP edge).

A request's voice expression is resolved here once (`resolve`) into a `ResolvedVoice`: the engine's
`VoiceSpec` (names on the allow-list only: the voices offered, the `--blend` names, blends of those;
a request never names a file) and the language its text is read in. Everything after that (the
downloads, the engine) takes the resolved voice as it is. A read SSML text's `<voice name>`s resolve
the same way, each once per request (`resolve_spans`: the resolver the service hands the engine).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kokoro_engine import VoiceUnusable

from .catalog import canonical_voice, load_catalog
from .context import ServerConfig, quality_rank
from .errors import Code, KokoroError, RequestError

if TYPE_CHECKING:  # the engine's voice types; importing them here would load torch
    from kokoro_engine import Segment, VoiceLibrary, VoiceSpec

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResolvedVoice:
    """A request's voice after resolution: what the engine speaks, and in which language."""

    spec: VoiceSpec  # the engine's parsed expression: only names on the allow-list
    lang: str | None = None  # G2P language override (None: the voice's own)

    @property
    def expr(self) -> str:
        """The resolved expression as text (`af_heart`, `jm_kumo:0.6+jf_alpha:0.4`): logs and headers."""
        return self.spec.name

    @property
    def speaks(self) -> str:
        """The language letter its text is read in."""
        return self.lang or self.spec.lang


@dataclass(frozen=True)
class OfferedVoice:
    """One entry of the voice list: a catalog voice or a `--blend` (a user's own packs are usable, not listed)."""

    name: str
    description: str
    languages: tuple[str, ...]  # BCP-47-ish locales, Wyoming's spelling (`en_US`); the first is its own
    installed: bool  # usable now (on disk, or downloadable on first use)
    blend: str | None = None  # a `--blend`'s expression


@dataclass(frozen=True)
class SpanVoices:
    """A read SSML text's `<voice name>`s, each resolved once (`VoiceRoster.resolve_spans`; a refusal is
    kept as it is): the engine's `voice_names` for that request."""

    roster: VoiceRoster
    resolved: Mapping[str, ResolvedVoice | KokoroError]

    def __call__(self, name: str) -> VoiceSpec:
        """The voice of a `<voice name>`; a KokoroError for a name off the allow-list, so the engine
        keeps the request's voice for the span (and logs it)."""
        voice = self.resolved.get(name.strip())
        if voice is None:  # a name the document reader did not list (blank): as the roster has it now
            return self.roster.ssml_voice(name)
        if isinstance(voice, KokoroError):
            raise voice
        return voice.spec


class VoiceRoster:
    """The voices of one server (module docstring). Touched on the event loop only."""

    def __init__(self, config: ServerConfig, installed: dict[str, bool], library: VoiceLibrary) -> None:
        from kokoro_engine import VoiceSpec

        self.config = config
        self.library = library  # the engine's: rescanned after a download
        self._installed = dict(installed)
        self._blends = {name: VoiceSpec.parse(expr) for name, expr in config.blends.items()}
        self._default = VoiceSpec.parse(config.default_voice)  # start-up checked it
        self._locks: dict[str, asyncio.Lock] = {}  # one download per voice at a time
        # Counts changes to the voice list, so an edge that builds something from it (Wyoming's
        # `Info`) rebuilds only when it changed.
        self.generation = 0

    # --- what is offered --------------------------------------------------------------------------
    def usable(self, name: str) -> bool:
        """Whether a catalog voice or a pack on disk is offered and usable now."""
        return self._installed.get(name, False)

    def voices(self) -> list[OfferedVoice]:
        """The voice list both protocols show: every catalog voice (installed or not), then the blends."""
        config = self.config
        catalog = load_catalog()
        out = []
        for name, entry in catalog.items():
            description, language = entry.description, entry.language
            if name in config.english_only:
                description, language = f"{description}, reading English", "en_US"
            out.append(OfferedVoice(name, description,
                                    (language, "en_US") if name in config.also_english else (language,),
                                    self._installed.get(name, False)))
        for name, expr in config.blends.items():
            first = catalog.get(self._blends[name].parts[0][0])
            out.append(OfferedVoice(name, f"Blend {expr}", (first.language if first else "en_US",),
                                    self._blend_usable(self._blends[name]), blend=expr))
        return out

    def _blend_usable(self, spec: VoiceSpec) -> bool:
        return all(self._installed.get(voice, True) for voice, _weight in spec.parts)

    def _withdraw(self, name: str) -> None:
        self._installed[name] = False
        self.generation += 1

    def mark_unusable(self, err: BaseException) -> None:
        """A voice pack on disk that cannot be read (truncated, corrupt) is no longer offered, with one
        warning; any other error leaves the roster as it is."""
        if isinstance(err, VoiceUnusable) and self._installed.get(err.voice, True):
            _LOGGER.warning("Voice %s is no longer offered: %s", err.voice, err)
            self._withdraw(err.voice)

    # --- resolution -------------------------------------------------------------------------------
    def voice_for_language(self, language: Any) -> str | None:
        """The voice for a request that names only a language: --voice-for, else the best-graded
        installed catalog voice of that language; None (the default voice) if there is none."""
        if not isinstance(language, str) or not language.strip() or len(language) > 64:
            return None
        from kokoro_engine import UnknownLanguage, resolve_lang

        try:
            code = resolve_lang(language)
        except UnknownLanguage:
            return None
        config = self.config
        if code in config.voice_for:
            return config.voice_for[code]
        if config.default_voice[:1] == code:
            return config.default_voice
        candidates = [(entry.quality, name) for name, entry in load_catalog().items()
                      if entry.lang_code == code and self._installed.get(name)
                      and name not in config.english_only]
        return min(candidates, key=lambda c: (quality_rank(c[0]), c[1]))[1] if candidates else None

    def resolve(self, name: Any, language: Any = None) -> ResolvedVoice:
        """A voice name, a `--blend` name or `a+b` / `a:0.7+b:0.3` of offered voices (display names
        and any case too), parsed once; no name: `language`'s voice, else the default. Anything else
        is refused (a KokoroError): a request never names a file."""
        from kokoro_engine import MAX_VOICE_EXPR_CHARS, VoiceSpec, parse_voice_expression

        if name is None or name == "":
            name = self.voice_for_language(language)
            if name is None:
                return self._resolved(self._default)
        if not isinstance(name, str):
            raise RequestError("voice name must be a string")
        if len(name) > MAX_VOICE_EXPR_CHARS:  # bounds the parse below, whatever its complexity
            raise RequestError(f"voice name longer than {MAX_VOICE_EXPR_CHARS} characters", code=Code.BAD_VOICE)
        name = name.strip()
        if not name:
            return self._resolved(self._default)
        if name in self._blends:
            spec = self._blends[name]
            if not self._blend_usable(spec):
                raise RequestError(f"blend {name} uses a voice that is no longer available", code=Code.VOICE_NOT_FOUND)
            return self._resolved(spec)
        parts = parse_voice_expression(name)  # NaN, inf, negative, all-zero, too many parts: VoiceError
        resolved = []
        for voice, weight in parts:
            if voice not in self._installed:
                voice = canonical_voice(voice)  # "Heart", "AF-Heart" → af_heart
            if not self._installed.get(voice, False):
                raise RequestError(f"unknown or not installed voice: {voice[:64]}", code=Code.VOICE_NOT_FOUND)
            resolved.append((voice, weight))
        if len(resolved) == 1:  # one voice, its weight (if written) meaningless: the pack as it is
            return self._resolved(VoiceSpec(resolved[0][0], ((resolved[0][0], 1.0),)))
        # weights as `:g` writes them, the spelling logs and headers show
        rounded = tuple((voice, float(f"{weight:g}")) for voice, weight in resolved)
        return self._resolved(VoiceSpec("+".join(f"{voice}:{weight:g}" for voice, weight in rounded), rounded))

    def _resolved(self, spec: VoiceSpec) -> ResolvedVoice:
        # A pack whose own language has no G2P here reads English (`offer_voices`).
        return ResolvedVoice(spec, "a" if spec.parts[0][0] in self.config.english_only else None)

    def ssml_voice(self, name: str) -> VoiceSpec:
        """An SSML `<voice name>`, resolved like a request's voice: the engine's `voice_names`. A
        name off the allow-list raises its KokoroError, so the engine keeps the request's voice for
        the span (and logs it)."""
        return self.resolve(name).spec

    # --- downloads ----------------------------------------------------------------------------------
    async def ensure(self, voice: ResolvedVoice) -> None:
        """Download the catalog voices of `voice` that are not on disk yet (first use), one download
        per voice at a time; the engine's voice library is rescanned afterwards. Raises DownloadError."""
        if not self.config.can_download or self.config.download_dir is None:
            return
        catalog = load_catalog()
        for part in dict.fromkeys(name for name, _weight in voice.spec.parts):
            if part not in catalog or self.library.on_disk(part):
                continue
            async with self._locks.setdefault(part, asyncio.Lock()):
                if self.library.on_disk(part):  # a concurrent request downloaded it while we waited
                    continue
                await self._download(part)

    def resolve_spans(self, segments: list[Segment]) -> SpanVoices:
        """Each distinct `<voice name>` of a read SSML text, resolved once for the whole request."""
        from kokoro_engine import voice_names

        resolved: dict[str, ResolvedVoice | KokoroError] = {}
        for name in voice_names(segments):
            try:
                resolved[name] = self.resolve(name)
            except KokoroError as err:  # off the allow-list, or not a voice expression at all
                resolved[name] = err
        return SpanVoices(self, resolved)

    async def ensure_spans(self, spans: SpanVoices | None) -> None:
        """First-use downloads for the `<voice name>` spans of a read SSML text; a span voice that
        cannot be had is logged and the span keeps the request's voice."""
        if spans is None or not self.config.can_download:
            return
        for name, voice in spans.resolved.items():
            try:
                if isinstance(voice, KokoroError):
                    raise voice
                await self.ensure(voice)
            except KokoroError as err:
                _LOGGER.warning("SSML <voice name=%.60r>: %s", name, err)

    async def _download(self, name: str) -> None:
        from .download import DownloadError, RemoteFileMissing, download_voice

        download_dir = self.config.download_dir
        assert download_dir is not None  # `ensure` checked

        def fetch() -> None:
            download_voice(name, download_dir)
            self.library.refresh()

        _LOGGER.info("Voice %s: downloading on first use", name)
        try:
            await asyncio.to_thread(fetch)
        except Exception as err:
            _LOGGER.warning("Voice %s: download failed: %s", name, err)
            if isinstance(err, RemoteFileMissing):  # the hub does not have it: stop advertising it
                self._withdraw(name)
            # the detail (a path, the hub's answer) is the log's
            raise DownloadError(f"voice {name} could not be downloaded (the server log says why)") from err


__all__ = ["OfferedVoice", "ResolvedVoice", "SpanVoices", "VoiceRoster"]
