"""The one "nothing to speak" rule, cheap enough for a server to run before queueing a request."""

from __future__ import annotations

from kokoro_engine.errors import NothingToSpeak


def check_speakable(text: object, text_format: str | None = None) -> None:
    """Raise NothingToSpeak (code nothing-to-speak) for what no voice can say: not a string, empty,
    whitespace, or plain text without a letter or digit once markdown is removed (`...`, `**`, emoji);
    an SSML document with neither visible text nor anything its elements say (a `<break>`, a
    `<sub alias>`, a `<phoneme>`). Linear in the text: no G2P (a document of tags only is parsed).

    The engine applies it before any audio; after G2P a text that still yields no phonemes (a lone
    symbol the G2P drops) is refused the same way, from the audio generator's first step."""
    from kokoro_engine.text.normalize import strip_markdown
    from kokoro_engine.text.ssml import is_ssml, parse_ssml, strip_tags

    if not isinstance(text, str) or not text.strip():
        raise NothingToSpeak("text is empty")
    if is_ssml(text, text_format):
        if not strip_tags(text).strip() and not parse_ssml(text):
            raise NothingToSpeak("SSML document has no text and no pause")
        return
    if not any(ch.isalnum() for ch in strip_markdown(text)):
        raise NothingToSpeak("text has nothing to speak (punctuation only)")
