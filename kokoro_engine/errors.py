"""The one exception base of Wyoming Kokoro: every error a request can meet carries a machine-readable code.

Library and server errors derive from `KokoroError`; a protocol adapter maps `code` to its own wire form
(a Wyoming `error` code, an HTTP status) through one table in the server, never by reading the message.
The codes are the constants of `ErrorCode` (the server's `errors.Code` adds its own), so a misspelt
code is a name that does not exist rather than a string that silently maps to a server fault.
"""

from __future__ import annotations

from typing import ClassVar, Final


class ErrorCode:
    """Every code the engine raises (stable, kebab-case: clients see them)."""

    INTERNAL: Final = "internal-error"
    BAD_REQUEST: Final = "bad-request"
    NOTHING_TO_SPEAK: Final = "nothing-to-speak"
    BAD_SSML: Final = "bad-ssml"
    BAD_VOICE: Final = "bad-voice"
    VOICE_NOT_FOUND: Final = "voice-not-found"
    VOICE_UNUSABLE: Final = "voice-unusable"
    UNKNOWN_LANGUAGE: Final = "unknown-language"
    LANGUAGE_UNAVAILABLE: Final = "language-unavailable"
    BAD_LEXICON: Final = "bad-lexicon"
    BAD_WEIGHTS: Final = "bad-weights"
    MODEL_UNAVAILABLE: Final = "model-unavailable"


class KokoroError(Exception):
    """Base of every Wyoming Kokoro error. `code` names the kind of failure."""

    code: ClassVar[str] = ErrorCode.INTERNAL

    def __init__(self, message: str = "", *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code  # type: ignore[misc]  # a narrower code for this instance


class EngineError(KokoroError, ValueError):
    """What the engine raises: raised itself, a request it cannot speak (a message fit for the user).
    Every narrower engine error derives from it, keeping the builtin base its callers catch, so the
    engine's errors reach a caller as raised: typed, with their own code."""

    code = ErrorCode.BAD_REQUEST


class NothingToSpeak(EngineError):
    """Empty text, or text with nothing a voice can say (punctuation, markup, emoji only)."""

    code = ErrorCode.NOTHING_TO_SPEAK


class BadSSML(EngineError):
    """An SSML document the engine refuses (nested deeper than `limits.MAX_SSML_DEPTH`)."""

    code = ErrorCode.BAD_SSML


class VoiceUnusable(EngineError):
    """A voice whose pack is there but cannot be loaded (truncated, corrupt): `voice` names it."""

    code = ErrorCode.VOICE_UNUSABLE

    def __init__(self, voice: str, message: str):
        super().__init__(message)
        self.voice = voice
