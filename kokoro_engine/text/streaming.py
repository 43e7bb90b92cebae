"""Incremental sentence splitting for streamed text (LLM deltas with arbitrary boundaries).

Built on the engine's splitter (`kokoro_engine.text.chunking.split_sentences`), so streamed and plain text
follow one rule set (abbreviations, decimals, `。`, the Hindi danda `।` …): every sentence but the
last is complete once more text has arrived after it; the last waits for more text or `finish()`.
Markdown is left alone: the engine's normalizer cleans it (and reads `2*3` and inline phonemes).

SSML streams (`text_format: ssml`, or a stream that starts with `<`) are read by the XML parser the
engine's SSML reader uses (expat), fed incrementally, so each character is parsed once. Pieces are cut
only outside every open element but `<speak>`: after a closed top-level `<s>` or `<p>`, and at a
sentence end in top-level text that more text follows in the same run. A tag split across chunks waits
for its `>`; a span (`<prosody>`, `<voice>`) covering several sentences stays whole up to `max_chars`
× 8, past which it is cut and reopened in the next piece. Each piece is the stream's own text, wrapped
in its `<speak …>` tag (its attributes, such as `xml:lang`, carry over); a piece with neither text nor
a pause joins the next, so nothing of the document is lost. A document that stops being well-formed is
read on from there as plain text (the engine speaks malformed SSML without its tags); one nested deeper
than `limits.MAX_SSML_DEPTH` raises BadSSML.

Work is linear in the text streamed and the open buffer is bounded: text without a sentence end is cut
at its last space past `max_chars`, and text is only re-split when the chunk holds a character where a
sentence can end.
"""

from __future__ import annotations

from xml.parsers import expat
from xml.sax.saxutils import quoteattr

from kokoro_engine.errors import BadSSML
from kokoro_engine.limits import MAX_SSML_DEPTH
from kokoro_engine.text.chunking import SENTENCE_BREAKS, split_sentences
from kokoro_engine.text.ssml import is_ssml

__all__ = ["SentenceBuffer"]


def _has_speech(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _last_word_gap(text: str, floor: int) -> int:
    """Where the whitespace before `text`'s last word begins (`floor` if there is none after it):
    every sentence end before it already has the letter after it, so its judgement is final."""
    end = len(text.rstrip())
    gap = max(text.rfind(c, floor, end) for c in " \n\t\r\u3000")
    if gap <= floor:
        return floor
    while gap > floor and text[gap - 1].isspace():
        gap -= 1
    return gap


class SentenceBuffer:
    max_chars = 1000  # an unfinished sentence longer than this is spoken up to its last space

    def __init__(self, lang: str = "", text_format: str | None = None) -> None:
        self._buf = ""  # plain text: the unfinished sentence
        self._breaks = False  # the plain buffer holds a character where a sentence can end
        self.lang = lang
        self.ssml: bool | None = True if is_ssml("", text_format) else None  # None: not decided yet
        # SSML state: the raw stream from the open piece's start (`_base`: its offset in the stream)
        self._raw = bytearray()
        self._base = 0
        self._start = 0  # stream offset where the open piece begins
        self._prefix = ""  # tags reopened at the start of the open piece (a long span was cut)
        self._speech = False  # the open piece has text or a pause
        self._parser: expat.XMLParserType | None = None
        self._stack: list[str] = []  # open elements below the root, as reopening tags
        self._names: list[str] = []
        self._root_seen = False
        self._speak_tag: str | None = None
        self._run: int | None = None  # stream offset of the top-level text run being read
        self._pieces: list[str] = []
        self._ended = False  # `</speak>` read: the rest is ignored
        self._broken = False  # not well-formed: read on as plain text
        self._head = ""  # the stream's first characters, until they show whether it opens with `<speak`
        self._run_breaks = False  # the top-level run holds a character where a sentence can end
        self._run_from = 0  # characters of the run whose sentence ends are decided (none: no cut there)

    def add(self, text: str) -> list[str]:
        if self.ssml is None:
            self._buf += text
            if not self._buf.strip():
                return []
            self.ssml = self._buf.lstrip().startswith("<")
            text, self._buf = self._buf, ""
        if self.ssml:
            return self._ssml_add(text)
        return self._plain_add(text)

    def finish(self) -> list[str]:
        if self.ssml:
            return self._ssml_finish()
        rest, self._buf = self._buf, ""
        return split_sentences(rest, self.lang)

    def __len__(self) -> int:
        return len(self._buf) + len(self._raw)

    # --- plain text --------------------------------------------------------------------------------
    def _plain_add(self, text: str) -> list[str]:
        self._buf += text
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

    # --- SSML ----------------------------------------------------------------------------------------
    def _ssml_add(self, text: str) -> list[str]:
        if self._ended:
            return []
        if self._broken:
            return [self._doc(s) for s in self._plain_add(text)]
        if self._parser is None:
            self._head += text
            head = self._head.lstrip()
            if any(len(head) < len(p) and p.startswith(head) for p in ("<speak", "<?xml")):
                return []  # cannot tell yet whether the stream brings its own `<speak>`
            text, self._head = self._head, ""
            self._new_parser(text)
        assert self._parser is not None
        data = text.encode("utf-8", "replace")
        self._raw += data
        self._run_breaks = self._run_breaks or not SENTENCE_BREAKS.isdisjoint(text)
        try:
            self._parser.Parse(data, False)
        except expat.ExpatError:
            self._break_down()
            return self._take()
        if not self._ended and not self._stack and self._run is not None:
            self._split_run()
        return self._take()

    def _ssml_finish(self) -> list[str]:
        if self._broken:
            rest, self._buf = self._buf, ""
            return [*self._take(), *(self._doc(s) for s in split_sentences(rest, self.lang))]
        if self._parser is None and self._head:  # a stream shorter than `<speak`
            self._new_parser(self._head)
            self._raw += self._head.encode("utf-8", "replace")
            self._head = ""
        if not self._ended:
            rest = self._text(self._start, self._base + len(self._raw))
            if self._speech or _has_speech(rest) or "<break" in rest or "<sub" in rest:
                self._pieces.append(self._doc(self._prefix + rest))
            self._ended = True
        self._raw.clear()
        return self._take()

    def _new_parser(self, first: str) -> None:
        self._parser = parser = expat.ParserCreate("utf-8")
        parser.StartElementHandler = self._on_start
        parser.EndElementHandler = self._on_end
        parser.CharacterDataHandler = self._on_data
        parser.CommentHandler = self._on_other
        parser.ProcessingInstructionHandler = self._on_pi
        head = first.lstrip()
        if not (head.startswith("<speak") or head.startswith("<?xml")):
            self._root_seen = True
            self._base = self._start = 7  # `<speak>` is not part of the stream: offsets shift by 7 bytes
            parser.Parse(b"<speak>", False)

    def _take(self) -> list[str]:
        pieces, self._pieces = self._pieces, []
        return pieces

    def _text(self, start: int, end: int) -> str:
        return bytes(self._raw[start - self._base:end - self._base]).decode("utf-8", "replace")

    def _doc(self, body: str) -> str:
        return f"{self._speak_tag or '<speak>'}{body.strip()}</speak>"

    def _cut(self, end: int, *, reopen: bool = False) -> None:
        """End the open piece at stream offset `end` (if it has something to say: else it joins the
        next) and drop what it held from the buffer."""
        if not self._speech and end - self._start <= self.max_chars:
            return  # nothing to say yet: joins the next piece
        if not self._speech:  # a long stretch of nothing to say (empty elements, marks): dropped
            self._prefix = "".join(self._stack) if reopen else ""
            del self._raw[:end - self._base]
            self._base = self._start = end
            return
        closing = "".join(f"</{name}>" for name in reversed(self._names)) if reopen else ""
        self._pieces.append(self._doc(self._prefix + self._text(self._start, end) + closing))
        self._prefix = "".join(self._stack) if reopen else ""
        self._speech = False
        del self._raw[:end - self._base]
        self._base = self._start = end

    def _index(self) -> int:
        assert self._parser is not None
        return self._parser.CurrentByteIndex

    def _tag_end(self, index: int) -> int:
        """The stream offset after the end tag (or empty-element tag) that starts at `index`."""
        end = self._raw.find(b">", index - self._base)
        return self._base + end + 1 if end >= 0 else self._base + len(self._raw)

    def _on_start(self, name: str, attrs: dict[str, str]) -> None:
        self._run = None
        tag = f"<{name}{''.join(f' {k}={quoteattr(v)}' for k, v in attrs.items())}>"
        if self._parser is not None and self._index() < self._base:
            return  # the `<speak>` this stream lacked, opened for it
        if not self._root_seen:
            self._root_seen = True
            if name.rsplit(":", 1)[-1].lower() == "speak":
                self._speak_tag = tag
                self._start = self._tag_end(self._index())
                del self._raw[:self._start - self._base]
                self._base = self._start
            return
        if len(self._stack) >= MAX_SSML_DEPTH:
            raise BadSSML(f"SSML nested deeper than {MAX_SSML_DEPTH} elements")
        local = name.rsplit(":", 1)[-1].lower()
        if local == "break" or (local == "sub" and _has_speech(attrs.get("alias", ""))):
            self._speech = True
        self._stack.append(tag)
        self._names.append(name)

    def _on_end(self, name: str) -> None:
        self._run = None
        if not self._stack:  # the root closes: the document ends
            self._cut(self._index())
            self._ended = True
            self._raw.clear()
            return
        self._stack.pop()
        self._names.pop()
        if not self._stack and (name.rsplit(":", 1)[-1].lower() in ("s", "p")
                                or self._base + len(self._raw) - self._start > self.max_chars):
            self._cut(self._tag_end(self._index()))

    def _on_data(self, data: str) -> None:
        if _has_speech(data):
            self._speech = True
        if self._stack:
            if self._base + len(self._raw) - self._start > 8 * self.max_chars:
                self._cut(self._index(), reopen=True)  # a span too long to hold: cut it, reopen it
        elif self._run is None:
            self._run = self._index()
            self._run_from = 0

    def _on_other(self, _data: str) -> None:
        self._run = None

    def _on_pi(self, _target: str, _data: str) -> None:
        self._run = None

    def _split_run(self) -> None:
        """Cut the top-level text run at its sentence ends (each complete once text follows it), and
        a run without one at its last space past `max_chars`. Work per chunk is bounded by `max_chars`:
        the run is re-split only while it holds a sentence break, and never grows past that."""
        while self._run is not None:
            end = self._base + len(self._raw)
            if not self._run_breaks and end - self._run <= self.max_chars:
                return
            run = self._text(self._run, end)
            lt = run.find("<")
            if lt >= 0:
                run = run[:lt]  # a tag not read yet
            cut = None
            if self._run_breaks:
                # Only the run's tail can hold a new sentence end: an end is decided once a letter
                # follows it, and the split of a tail that starts at whitespace judges its ends as the
                # whole run's split would (a word, a title, an initial never reach back past a space).
                tail = run[self._run_from:]
                sentences = split_sentences(tail, self.lang)
                if len(sentences) >= 2:
                    cut = self._run_from + tail.rfind(sentences[-1])
                else:
                    self._run_from = _last_word_gap(run, self._run_from)
            if cut is None and len(run) > self.max_chars:
                space = run.rfind(" ", self.max_chars // 2, self.max_chars)
                cut = space if space > 0 else self.max_chars
            if cut is None:
                return
            at = self._run + len(run[:cut].encode("utf-8", "replace"))
            rest = run[cut:]
            self._speech = self._speech or _has_speech(run[:cut])
            self._cut(at)
            if self._start != at:
                return  # nothing to say yet: the run joins what follows
            self._speech = _has_speech(rest)
            self._run = at
            self._run_from = 0
            self._run_breaks = not SENTENCE_BREAKS.isdisjoint(rest)

    def _break_down(self) -> None:
        """The stream is not well-formed from here: read the open piece and the rest as plain text."""
        rest = self._prefix + self._text(self._start, self._base + len(self._raw))
        self._broken = True
        self._parser = None
        self._raw.clear()
        self._pieces.extend(self._doc(s) for s in self._plain_add(rest))
