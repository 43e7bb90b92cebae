"""Incremental sentence splitting for streamed text (LLM deltas with arbitrary boundaries).

Built on the engine's splitter (`kokoro_engine.text.chunking.split_sentences`), so streamed and plain text
follow one rule set (abbreviations, decimals, `。`, the Hindi danda `।` …): every sentence but the
last is complete once more text has arrived after it; the last waits for more text or `finish()`.
Markdown is left alone: the engine's normalizer cleans it (and reads `2*3` and inline phonemes).

SSML streams (`text_format: ssml`, or a stream that starts with `<`) are cut only outside every open
element but `<speak>`: after a closed top-level `<s>` or `<p>`, and at a sentence end in top-level
text that more text follows in the same run. A tag split across chunks waits for its `>`; a span
(`<prosody>`, `<voice>`) covering several sentences stays whole. Each piece is a document of its own,
wrapped in the stream's `<speak …>` tag (its attributes, such as `xml:lang`, carry over); a piece with
neither text nor a pause joins the next, so nothing of the document is lost.

In plain text the buffer of an unfinished sentence is bounded: past `max_chars` without a sentence end it is cut
at its last space (the engine splits long sentences the same way), so a stream without punctuation
neither grows without limit nor costs a re-split of ever more text per chunk; and text is only
re-split when the buffer holds a character where a sentence can end.
"""

from __future__ import annotations

import re

from kokoro_engine import SENTENCE_BREAKS, is_ssml, parse_ssml, split_sentences, strip_tags

_TAG_NAME = re.compile(r"</?\s*([A-Za-z_][\w:.-]*)")
_MARKUP = re.compile(r"""<(?:[^>"']|"[^"]*"|'[^']*')*>""")  # a whole tag; `>` inside quoted values too


class SentenceBuffer:
    max_chars = 1000  # an unfinished sentence longer than this is spoken up to its last space

    def __init__(self, lang: str = "", text_format: str | None = None) -> None:
        self._buf = ""
        self._breaks = False  # the buffer holds a character where a sentence can end
        self.lang = lang
        self.ssml: bool | None = True if is_ssml("", text_format) else None  # None: not decided yet
        self._speak_tag: str | None = None  # the stream's `<speak …>` opening tag, once read
        self._ended = False  # `</speak>` read: the rest is ignored

    def add(self, text: str) -> list[str]:
        self._buf += text
        if self.ssml is None and self._buf.strip():
            self.ssml = self._buf.lstrip().startswith("<")
        if self.ssml is None:
            return []
        if self.ssml:
            return self._ssml_pieces()
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
        if self.ssml:
            pieces = self._ssml_pieces()
            rest, self._buf = self._buf, ""
            return [*pieces, *self._wrap(rest)]
        rest, self._buf = self._buf, ""
        return split_sentences(rest, self.lang)

    def __len__(self) -> int:
        return len(self._buf)

    # --- SSML ------------------------------------------------------------------------------------
    def _wrap(self, body: str) -> list[str]:
        """`body` as a document of its own, or nothing if it has nothing to say: no text and no pause
        (whitespace, a closing tag). Parsed only when no text is visible (a lone `<break/>`, `<sub alias>`)."""
        doc = f"{self._speak_tag or '<speak>'}{body.strip()}</speak>"
        if any(ch.isalnum() for ch in strip_tags(body)) or parse_ssml(doc):
            return [doc]
        return []

    def _ssml_pieces(self) -> list[str]:
        """Cut the complete pieces off the buffer (scanned from its start: it holds one piece at most).
        A piece with nothing to say is not cut off: it joins the next one, as in the whole document."""
        pieces: list[str] = []
        stack: list[str] = []
        start = pos = 0
        buf = self._buf

        def cut(end: int) -> None:
            nonlocal start
            piece = self._wrap(buf[start:end])
            if piece:
                pieces.extend(piece)
                start = end

        while pos < len(buf) and not self._ended:
            lt = buf.find("<", pos)
            run_end = len(buf) if lt < 0 else lt
            if not stack and run_end > pos:  # top-level text: cut at sentence ends that text follows
                run = buf[pos:run_end]
                sentences = split_sentences(run, self.lang)
                if len(sentences) >= 2:
                    cut(pos + run.rfind(sentences[-1]))
            if lt < 0:
                break
            if buf.startswith("<!--", lt):  # a comment may hold `<` and `>`
                end = buf.find("-->", lt + 4)
                if end < 0:
                    break
                pos = end + 3
                continue
            match = _MARKUP.match(buf, lt)
            if match is None:
                break  # a tag split across chunks: wait for the rest
            tag, pos = match.group(), match.end()
            name_match = _TAG_NAME.match(tag)
            if name_match is None or tag.endswith("/>"):  # declarations, `<break/>`
                continue
            name = name_match.group(1).lower()
            if name == "speak":
                if tag.startswith("</"):
                    pieces += self._wrap(buf[start:lt])
                    start, self._ended = pos, True
                elif self._speak_tag is None and not stack:
                    self._speak_tag, start = tag, pos
                continue
            if not tag.startswith("</"):
                stack.append(name)
            elif name in stack:
                del stack[len(stack) - 1 - stack[::-1].index(name):]
                if not stack and name in ("s", "p"):
                    cut(pos)
        self._buf = "" if self._ended else buf[start:]
        return pieces
