"""The one exception base of Wyoming Kokoro: every error a request can meet carries a machine-readable code.

Library and server errors derive from `KokoroError`; a protocol adapter maps `code` to its own wire form
(a Wyoming `error` code, an HTTP status) through one table in the server, never by reading the message.
"""

from __future__ import annotations

from typing import ClassVar


class KokoroError(Exception):
    """Base of every Wyoming Kokoro error. `code` names the kind of failure (stable, kebab-case)."""

    code: ClassVar[str] = "internal-error"

    def __init__(self, message: str = "", *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code  # type: ignore[misc]  # a narrower code for this instance


class EngineError(KokoroError, ValueError):
    """A request the engine cannot speak, with a message fit for the user (a ValueError, as before)."""

    code = "bad-request"


class NothingToSpeak(EngineError):
    """Empty text, or text with nothing a voice can say (punctuation, markup, emoji only)."""

    code = "nothing-to-speak"


class BadSSML(EngineError):
    """An SSML document the engine refuses (nested deeper than `limits.MAX_SSML_DEPTH`)."""

    code = "bad-ssml"


class VoiceUnusable(EngineError):
    """A voice whose pack is there but cannot be loaded (truncated, corrupt): `voice` names it."""

    code = "voice-unusable"

    def __init__(self, voice: str, message: str):
        super().__init__(message)
        self.voice = voice
