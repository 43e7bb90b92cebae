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
