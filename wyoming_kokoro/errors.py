"""The server's errors and the one table from an error's code to its wire form.

Every error a request can meet derives from `kokoro_engine.errors.KokoroError` and carries a `code`
(the engine's own: `nothing-to-speak`, `bad-voice`, …; the server's below). `ERRORS` maps that code to
the Wyoming `error` event's code and to the HTTP status; both adapters read it, so one failure reads
the same over either protocol. Control flow looks at `code` (or the class), never at message text.
"""

from __future__ import annotations

from typing import NamedTuple

from kokoro_engine import KokoroError

__all__ = ["ERRORS", "Busy", "KokoroError", "RequestError", "SynthesisTimeout", "WireForm", "WorkerStopped",
           "as_kokoro_error", "wire_form", "wyoming_code"]


class RequestError(KokoroError, ValueError):
    """A request the server refuses (malformed field, over a limit, unknown voice): the client's fault."""

    code = "bad-request"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message, code=code)


class SynthesisTimeout(KokoroError, RuntimeError):
    """A chunk ran past the watchdog's limit; the request is failed, the worker carries on."""

    code = "synthesis-timeout"


class WorkerStopped(KokoroError, RuntimeError):
    """The server is shutting down: the job was failed (or refused) by `Worker.stop()`."""

    code = "shutting-down"

    def __init__(self, message: str = "the server is shutting down") -> None:
        super().__init__(message)


class Busy(KokoroError, RuntimeError):
    """The server holds as many jobs as it takes (every connection and protocol together)."""

    code = "busy"


class WireForm(NamedTuple):
    wyoming: str  # the `code` of a Wyoming `error` event
    http: int  # the HTTP status


# code → wire form. Codes not listed are server faults: `synthesis-failed`, 500.
ERRORS: dict[str, WireForm] = {
    # the request's fault
    "bad-request": WireForm("bad-request", 400),
    "bad-voice": WireForm("bad-request", 400),  # a malformed voice expression
    "bad-ssml": WireForm("bad-request", 400),
    "unknown-language": WireForm("bad-request", 400),
    "empty-text": WireForm("empty-text", 400),
    "nothing-to-speak": WireForm("empty-text", 400),
    "text-too-long": WireForm("text-too-long", 413),
    "voice-not-found": WireForm("voice-not-found", 404),
    "unauthorized": WireForm("unauthorized", 401),
    "host-not-allowed": WireForm("host-not-allowed", 403),  # HTTP: a Host header not served (DNS rebinding)
    "unsupported-media-type": WireForm("unsupported-media-type", 415),
    "timeout": WireForm("timeout", 408),  # the client went silent mid-request
    "request-timeout": WireForm("timeout", 408),
    "too-many-requests": WireForm("too-many-requests", 429),  # per connection / client
    "too-many-connections": WireForm("too-many-connections", 503),
    # the server cannot serve it now
    "busy": WireForm("busy", 503),
    "shutting-down": WireForm("shutting-down", 503),
    "voice-download-failed": WireForm("voice-download-failed", 503),
    "language-unavailable": WireForm("language-unavailable", 503),
    "voice-unusable": WireForm("voice-unusable", 503),  # a pack on disk is corrupt: no longer offered
    "synthesis-timeout": WireForm("synthesis-timeout", 504),
    "synthesis-failed": WireForm("synthesis-failed", 500),
}
_SERVER_FAULT = ERRORS["synthesis-failed"]


def as_kokoro_error(err: BaseException) -> KokoroError:
    """`err` itself if it is one of ours; anything else (a bug, a torch failure) as `synthesis-failed`."""
    if isinstance(err, KokoroError):
        return err
    # What reaches a client: no exception text (it may name a server path); the log has the traceback.
    failed = KokoroError(f"synthesis failed ({type(err).__name__}; the server log has the details)",
                         code="synthesis-failed")
    failed.__cause__ = err
    return failed


def wire_form(err: BaseException) -> WireForm:
    return ERRORS.get(as_kokoro_error(err).code, _SERVER_FAULT)


def wyoming_code(err: BaseException) -> str:
    return wire_form(err).wyoming

