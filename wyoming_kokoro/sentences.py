"""Incremental sentence splitting for streamed text (LLM deltas with arbitrary boundaries).

Built on the engine's splitter (`kokoro_engine.chunking.split_sentences`), so streamed and plain text
follow one rule set (abbreviations, decimals, `。`, the Hindi danda `।` …): every sentence but the
last is complete once more text has arrived after it; the last waits for more text or `finish()`.
Markdown is left alone: the engine's normalizer cleans it (and reads `2*3` and inline phonemes).

SSML streams (`text_format: ssml`, or a stream that starts with `<`) are kept whole until
`finish()`: a tag may be split across chunks and a span (`<prosody>`, `<voice>`) may cover several
sentences, so only the complete document can be parsed (the server bounds a stream's text).

The buffer of an unfinished sentence is bounded: past `max_chars` without a sentence end it is cut
at its last space (the engine splits long sentences the same way), so a stream without punctuation
neither grows without limit nor costs a re-split of ever more text per chunk; and text is only
re-split when the buffer holds a character where a sentence can end.
"""

from __future__ import annotations

from kokoro_engine.chunking import SENTENCE_BREAKS, split_sentences
from kokoro_engine.ssml import is_ssml


class SentenceBuffer:
    max_chars = 1000  # an unfinished sentence longer than this is spoken up to its last space

    def __init__(self, lang: str = "", text_format: str | None = None) -> None:
        self._buf = ""
        self._breaks = False  # the buffer holds a character where a sentence can end
        self.lang = lang
        self.ssml: bool | None = True if is_ssml("", text_format) else None  # None: not decided yet

    def add(self, text: str) -> list[str]:
        self._buf += text
        if self.ssml is None and self._buf.strip():
            self.ssml = self._buf.lstrip().startswith("<")
        if self.ssml is not False:
            return []
        self._breaks = self._breaks or not SENTENCE_BREAKS.isdisjoint(text)
        out: list[str] = []
        if self._breaks:
            sentences = split_sentences(self._buf, self.lang)
            if len(sentences) >= 2:
                self._buf = self._buf[self._buf.rfind(sentences[-1]):]
                self._breaks = not SENTENCE_BREAKS.isdisjoint(self._buf)
                out = sentences[:-1]
        while len(self._buf) > self.max_chars:
            cut = self._buf.rfind(" ", self.max_chars // 2, self.max_chars)
            cut = cut if cut > 0 else self.max_chars
            head, self._buf = self._buf[:cut].strip(), self._buf[cut:].lstrip()
            self._breaks = not SENTENCE_BREAKS.isdisjoint(self._buf)
            if head:
                out.append(head)
        return out

    def finish(self) -> list[str]:
        rest, self._buf = self._buf, ""
        if self.ssml:
            return [rest] if rest.strip() else []
        return split_sentences(rest, self.lang)

    def __len__(self) -> int:
        return len(self._buf)
