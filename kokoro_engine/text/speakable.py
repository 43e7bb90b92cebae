"""The one "nothing to speak" rule, cheap enough for a server to run before queueing a request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kokoro_engine.errors import NothingToSpeak

if TYPE_CHECKING:
    from kokoro_engine.text.ssml import Segment


def check_speakable(text: object, text_format: str | None = None) -> None:
    """Raise NothingToSpeak (code nothing-to-speak) for what no voice can say: not a string, empty,
    whitespace, or plain text without a letter or digit once markdown is removed (`...`, `**`, emoji);
    an SSML document none of whose segments speaks (`check_segments`). Linear in the text: no G2P
    (an SSML document is read once by the one SSML reader; a server that reads it off its event loop
    calls `check_segments` on what it read instead).

    The engine applies it before any audio; after G2P a text that still yields no phonemes (a lone
    symbol the G2P drops) is refused the same way, from the audio generator's first step."""
    from kokoro_engine.text.normalize import strip_markdown
    from kokoro_engine.text.ssml import is_ssml, parse_ssml, text_speaks

    if not isinstance(text, str) or not text.strip():
        raise NothingToSpeak("text is empty")
    if is_ssml(text, text_format):
        check_segments(parse_ssml(text))
        return
    if not text_speaks(strip_markdown(text)):
        raise NothingToSpeak("text has nothing to speak (punctuation only)")


def check_segments(segments: list[Segment]) -> list[Segment]:
    """`segments` (an SSML document as the reader gave them) if one of them speaks: a pause, or text
    with a letter or digit (`ssml.text_speaks`, the rule the stream reader applies too); else
    NothingToSpeak."""
    from kokoro_engine.text.ssml import text_speaks

    if not any(seg.pause_s > 0 or text_speaks(seg.text) for seg in segments):
        raise NothingToSpeak("SSML document has no text and no pause")
    return segments
