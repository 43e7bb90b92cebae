"""The engine's limits on what one request may ask for, in one place (no torch: a server imports these).

Each bound keeps a request's work proportional to what it is worth hearing: a voice expression, an
SSML document's nesting and the speaking rate are checked against these before any synthesis.
"""

from __future__ import annotations

import math

from kokoro_engine.errors import EngineError

# Kokoro sounds natural from half to twice its normal rate; outside it words smear or clip. Every
# speed the engine speaks (a request's, times an SSML `<prosody rate>`) is clamped to this range.
SPEED_MIN = 0.5
SPEED_MAX = 2.0

MAX_VOICE_EXPR_CHARS = 256  # a voice name or blend expression (`a:0.7+b:0.3`)
MAX_BLEND_PARTS = 8  # voices in one blend: more adds nothing audible and costs a pack sum each
MAX_SSML_DEPTH = 32  # nested SSML elements; deeper documents are refused (code bad-ssml)
# distinct `<voice name>`s in one document: each may be a blend (a 0.5 MB pack to build); more are
# refused (code bad-ssml)
MAX_SSML_VOICES = 16


def clamp_speed(speed: float) -> float:
    """`speed` within SPEED_MIN–SPEED_MAX; EngineError for a speed that is not a positive finite number."""
    try:
        value = float(speed)
    except (TypeError, ValueError, OverflowError):
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise EngineError(f"speed {speed!r} is not a positive number")
    return min(max(value, SPEED_MIN), SPEED_MAX)
