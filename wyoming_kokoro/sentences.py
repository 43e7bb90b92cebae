"""Incremental sentence splitting for streamed text (LLM deltas with arbitrary boundaries).

Built on the engine's splitter (`kokoro_engine.chunking.split_sentences`), so streamed and plain text
follow one rule set (abbreviations, decimals, `。`, the Hindi danda `।` …): every sentence but the
last is complete once more text has arrived after it; the last waits for more text or `finish()`.
Markdown is left alone: the engine's normalizer cleans it (and reads `2*3` and inline phonemes).

SSML streams (`text_format: ssml`, or a stream that starts with `<`) are kept whole until
`finish()`: a tag may be split across chunks and a span (`<prosody>`, `<voice>`) may cover several
sentences, so only the complete document can be parsed.
"""

from __future__ import annotations

from kokoro_engine.chunking import split_sentences
from kokoro_engine.ssml import is_ssml


class SentenceBuffer:
    def __init__(self, lang: str = "", text_format: str | None = None) -> None:
        self._buf = ""
        self.lang = lang
        self.ssml: bool | None = True if is_ssml("", text_format) else None  # None: not decided yet

    def add(self, text: str) -> list[str]:
        self._buf += text
        if self.ssml is None and self._buf.strip():
            self.ssml = self._buf.lstrip().startswith("<")
        if self.ssml is not False:
            return []
        sentences = split_sentences(self._buf, self.lang)
        if len(sentences) < 2:
            return []
        self._buf = self._buf[self._buf.rfind(sentences[-1]):]
        return sentences[:-1]

    def finish(self) -> list[str]:
        rest, self._buf = self._buf, ""
        if self.ssml:
            return [rest] if rest.strip() else []
        return split_sentences(rest, self.lang)

    def __len__(self) -> int:
        return len(self._buf)
