"""The server's errors and the one table from an error's code to its wire form.

Every error a request can meet derives from `kokoro_engine.errors.KokoroError` and carries a `code`:
one of `Code`'s constants (the engine's `ErrorCode` and the server's own). `ERRORS` maps every code to
the Wyoming `error` event's code and to the HTTP status; both adapters read it, so one failure reads
the same over either protocol (tests/test_error_codes.py: every code raised is in it). Control flow
looks at the class (or `code`), never at message text.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from kokoro_engine import ErrorCode, KokoroError

__all__ = ["ERRORS", "Busy", "Code", "KokoroError", "RequestError", "SynthesisTimeout", "WireForm",
           "WorkerStopped", "as_kokoro_error", "wire_form", "wyoming_code"]


class Code(ErrorCode):
    """Every code a client can meet: the engine's, and the server's own below."""

    EMPTY_TEXT: Final = "empty-text"
    TEXT_TOO_LONG: Final = "text-too-long"
    UNAUTHORIZED: Final = "unauthorized"
    HOST_NOT_ALLOWED: Final = "host-not-allowed"
    UNSUPPORTED_MEDIA_TYPE: Final = "unsupported-media-type"
    TIMEOUT: Final = "timeout"
    REQUEST_TIMEOUT: Final = "request-timeout"
    TOO_MANY_REQUESTS: Final = "too-many-requests"
    TOO_MANY_CONNECTIONS: Final = "too-many-connections"
    BUSY: Final = "busy"
    SHUTTING_DOWN: Final = "shutting-down"
    VOICE_DOWNLOAD_FAILED: Final = "voice-download-failed"
    SYNTHESIS_TIMEOUT: Final = "synthesis-timeout"
    SYNTHESIS_FAILED: Final = "synthesis-failed"


class RequestError(KokoroError, ValueError):
    """A request the server refuses (malformed field, over a limit, unknown voice): the client's fault."""

    code = Code.BAD_REQUEST


class SynthesisTimeout(KokoroError, RuntimeError):
    """A chunk ran past the watchdog's limit; the request is failed, the worker carries on."""

    code = Code.SYNTHESIS_TIMEOUT


class WorkerStopped(KokoroError, RuntimeError):
    """The server is shutting down: the job was failed (or refused) by `Worker.stop()`."""

    code = Code.SHUTTING_DOWN

    def __init__(self, message: str = "the server is shutting down") -> None:
        super().__init__(message)


class Busy(KokoroError, RuntimeError):
    """The server holds as many jobs as it takes (every connection and protocol together)."""

    code = Code.BUSY


class WireForm(NamedTuple):
    wyoming: str  # the `code` of a Wyoming `error` event
    http: int  # the HTTP status


_SERVER_FAULT = WireForm("synthesis-failed", 500)

# Every code → its wire form.
ERRORS: dict[str, WireForm] = {
    # the request's fault
    Code.BAD_REQUEST: WireForm("bad-request", 400),
    Code.BAD_VOICE: WireForm("bad-request", 400),  # a malformed voice expression
    Code.BAD_SSML: WireForm("bad-request", 400),
    Code.UNKNOWN_LANGUAGE: WireForm("bad-request", 400),
    Code.EMPTY_TEXT: WireForm("empty-text", 400),
    Code.NOTHING_TO_SPEAK: WireForm("empty-text", 400),
    Code.TEXT_TOO_LONG: WireForm("text-too-long", 413),
    Code.VOICE_NOT_FOUND: WireForm("voice-not-found", 404),
    Code.UNAUTHORIZED: WireForm("unauthorized", 401),
    Code.HOST_NOT_ALLOWED: WireForm("host-not-allowed", 403),  # HTTP: a Host header not served (DNS rebinding)
    Code.UNSUPPORTED_MEDIA_TYPE: WireForm("unsupported-media-type", 415),
    Code.TIMEOUT: WireForm("timeout", 408),  # the client went silent mid-request
    Code.REQUEST_TIMEOUT: WireForm("timeout", 408),
    Code.TOO_MANY_REQUESTS: WireForm("too-many-requests", 429),  # per connection / client
    Code.TOO_MANY_CONNECTIONS: WireForm("too-many-connections", 503),
    # the server cannot serve it now
    Code.BUSY: WireForm("busy", 503),
    Code.SHUTTING_DOWN: WireForm("shutting-down", 503),
    Code.VOICE_DOWNLOAD_FAILED: WireForm("voice-download-failed", 503),
    Code.LANGUAGE_UNAVAILABLE: WireForm("language-unavailable", 503),
    Code.VOICE_UNUSABLE: WireForm("voice-unusable", 503),  # a pack on disk is corrupt: no longer offered
    Code.SYNTHESIS_TIMEOUT: WireForm("synthesis-timeout", 504),
    # the server's fault: start-up errors (weights, model, lexicon) should never meet a request, and
    # a client learns no more of one than of a bug
    Code.SYNTHESIS_FAILED: _SERVER_FAULT,
    Code.INTERNAL: _SERVER_FAULT,
    Code.BAD_WEIGHTS: _SERVER_FAULT,
    Code.MODEL_UNAVAILABLE: _SERVER_FAULT,
    Code.BAD_LEXICON: _SERVER_FAULT,
}


def as_kokoro_error(err: BaseException) -> KokoroError:
    """`err` itself if it is one of ours; anything else (a bug, a torch failure) as `synthesis-failed`."""
    if isinstance(err, KokoroError):
        return err
    # What reaches a client: no exception text (it may name a server path); the log has the traceback.
    failed = KokoroError(f"synthesis failed ({type(err).__name__}; the server log has the details)",
                         code=Code.SYNTHESIS_FAILED)
    failed.__cause__ = err
    return failed


def wire_form(err: BaseException) -> WireForm:
    # A code missing from the table (the error-code test keeps that from happening) is a server fault.
    return ERRORS.get(as_kokoro_error(err).code, _SERVER_FAULT)


def wyoming_code(err: BaseException) -> str:
    return wire_form(err).wyoming

