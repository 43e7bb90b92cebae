"""Incremental sentence splitting for streamed text (LLM deltas with arbitrary boundaries).

Built on the engine's splitter (`kokoro_engine.text.chunking.split_sentences`), so streamed and plain text
follow one rule set (abbreviations, decimals, `。`, the Hindi danda `।` …): every sentence but the
last is complete once more text has arrived after it; the last waits for more text or `finish()`.
Markdown is left alone: the engine's normalizer cleans it (and reads `2*3` and inline phonemes).

SSML streams (`text_format: ssml`, or a stream that starts with `<`) are read by the engine's one SSML
reader (`ssml.SsmlReader`: expat, no DTD or entities), fed incrementally, so each character is parsed
once; a document type declaration raises BadSSML, as in a whole document. Pieces are cut
only outside every open element but `<speak>`: after a closed top-level `<s>` or `<p>`, and at a
sentence end in top-level text that more text follows in the same run. A tag split across chunks waits
for its `>`; a span (`<prosody>`, `<voice>`) covering several sentences stays whole up to `max_chars`
× 8, past which it is cut and reopened in the next piece. Each piece is the stream's own text, wrapped
in its `<speak …>` tag (only its `xml:lang` carries over, and reopened spans keep only the attributes
the reader uses, each bounded: a piece never copies a client's long attribute); a piece with nothing
to speak (`ssml.element_speaks`, `ssml.text_speaks`: the whole document's rule) joins the next, so
nothing of the document is lost. A document that stops being well-formed is
read on from there as plain text (the engine speaks malformed SSML without its tags); one nested deeper
than `limits.MAX_SSML_DEPTH` raises BadSSML.

Work is linear in the text streamed and the open buffer is bounded: text without a sentence end is cut
at its last space past `max_chars`. Only the undecided tail of the text is re-split (from the space
before its last word: every sentence end before that has its next word), and only when it holds a
character where a sentence can end; a tail without a space is re-split each time it has doubled.
"""

from __future__ import annotations

from xml.parsers import expat
from xml.sax.saxutils import quoteattr

from kokoro_engine.limits import MAX_VOICE_EXPR_CHARS
from kokoro_engine.text.chunking import SENTENCE_BREAKS, split_sentences
from kokoro_engine.text.ssml import SsmlReader, element_speaks, is_ssml, local_name, tag_end, text_speaks

__all__ = ["SentenceBuffer"]


_has_speech = text_speaks
# What a reopened tag keeps of its attributes (what the reader acts on), each value at most this long.
_REOPEN_ATTRS = ("xml:lang", "lang", "name", "rate")
_MAX_ATTR_CHARS = MAX_VOICE_EXPR_CHARS
# A stream that starts with one of these brings its own root (or a DTD, which the reader refuses).
_OWN_ROOT = ("<speak", "<?xml", "<!DOCTYPE")
_MIN_RETRY = 64  # a tail without a space longer than this is re-split once it has doubled


def _reopen_tag(name: str, attrs: dict[str, str], keep: tuple[str, ...] = _REOPEN_ATTRS) -> str:
    """A start tag to reopen an element in a later piece: bounded, whatever the client's tag held."""
    kept = "".join(f" {k}={quoteattr(attrs[k])}" for k in keep if k in attrs and len(attrs[k]) <= _MAX_ATTR_CHARS)
    return f"<{name[:64]}{kept}>"


class _Tail:
    """The undecided end of a text being cut into sentences: `decided` (whose sentence ends are all
    judged, none an end) and `tail` (from the space before its last word), so a chunk costs the
    tail's length, not the buffer's."""

    def __init__(self) -> None:
        self.decided: list[str] = []
        self.decided_len = 0
        self.tail = ""
        self.breaks = False  # the tail holds a character where a sentence can end
        self.retry = 0  # the tail's length at which to re-split a tail that has no space

    def __len__(self) -> int:
        return self.decided_len + len(self.tail)

    def text(self) -> str:
        return "".join(self.decided) + self.tail

    def clear(self, rest: str = "") -> None:
        self.decided, self.decided_len, self.tail = [], 0, rest
        self.breaks = not SENTENCE_BREAKS.isdisjoint(rest)
        self.retry = 0

    def add(self, text: str, lang: str) -> list[str] | None:
        """Take `text`; the complete sentences it ends (all but the open one), or None."""
        self.tail += text
        self.breaks = self.breaks or not SENTENCE_BREAKS.isdisjoint(text)
        if not self.breaks or len(self.tail) < self.retry:
            return None
        sentences = split_sentences(self.tail, lang)
        if len(sentences) >= 2:
            cut = self.tail.rfind(sentences[-1])
            head = "".join(self.decided) + self.tail[:cut]
            done = split_sentences(head, lang) if self.decided else sentences[:-1]
            self.clear(self.tail[cut:])
            return done
        gap = _last_word_gap(self.tail, 0)
        if gap > 0:
            self.decided.append(self.tail[:gap])
            self.decided_len += gap
            self.tail = self.tail[gap:]
            self.retry = 0
        else:
            self.retry = 2 * len(self.tail) if len(self.tail) >= _MIN_RETRY else 0
        self.breaks = not SENTENCE_BREAKS.isdisjoint(self.tail)
        return None


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
        self._buf = ""  # the stream's first characters, until they show whether it is SSML
        self._plain = _Tail()  # plain text: the unfinished sentence
        self.lang = lang
        self.ssml: bool | None = True if is_ssml("", text_format) else None  # None: not decided yet
        # SSML state: the raw stream from the open piece's start (`_base`: its offset in the stream)
        self._raw = bytearray()
        self._base = 0
        self._start = 0  # stream offset where the open piece begins
        self._prefix = ""  # tags reopened at the start of the open piece (a long span was cut)
        self._speech = False  # the open piece has text or a pause
        self._parser: SsmlReader | None = None
        self._stack: list[str] = []  # open elements below the root, as reopening tags
        self._names: list[str] = []
        self._root_seen = False
        self._speak_tag: str | None = None
        self._run: int | None = None  # stream offset of the top-level text run being read
        self._pieces: list[str] = []
        self._ended = False  # `</speak>` read: the rest is ignored
        self._broken = False  # not well-formed: read on as plain text
        self._head = ""  # the stream's first characters, until they show whether it opens with `<speak`
        self._run_breaks = False  # the run's undecided tail holds a character where a sentence can end
        self._run_from = 0  # stream offset where the run's undecided tail begins (its ends before are decided)
        self._run_retry = 0  # the undecided tail's length in bytes at which to re-split one without a space
        self._run_check = 0  # the stream offset before which the run cannot be over `max_chars` characters

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
        rest = self._buf + self._plain.text()
        self._buf = ""
        self._plain.clear()
        return split_sentences(rest, self.lang)

    def __len__(self) -> int:
        return len(self._buf) + len(self._plain) + len(self._raw) + len(self._head)

    # --- plain text --------------------------------------------------------------------------------
    def _plain_add(self, text: str) -> list[str]:
        out = self._plain.add(text, self.lang) or []
        while len(self._plain) > self.max_chars:
            whole = self._plain.text()
            cut = whole.rfind(" ", self.max_chars // 2, self.max_chars)
            cut = cut if cut > 0 else self.max_chars
            head = whole[:cut].strip()
            self._plain.clear(whole[cut:].lstrip())
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
            if any(len(head) < len(p) and p.startswith(head) for p in _OWN_ROOT):
                return []  # cannot tell yet whether the stream brings its own `<speak>`
            text, self._head = self._head, ""
            self._new_parser(text)
        assert self._parser is not None
        data = text.encode("utf-8", "replace")
        self._raw += data
        self._run_breaks = self._run_breaks or not SENTENCE_BREAKS.isdisjoint(text)
        try:
            self._parser.feed(data)
        except expat.ExpatError:
            self._break_down()
            return self._take()
        if not self._ended and not self._stack and self._run is not None:
            self._split_run()
        return self._take()

    def _ssml_finish(self) -> list[str]:
        if self._broken:
            rest = self._plain.text()
            self._plain.clear()
            return [*self._take(), *(self._doc(s) for s in split_sentences(rest, self.lang))]
        if self._parser is None and self._head:  # a stream shorter than `<speak`
            self._new_parser(self._head)
            self._raw += self._head.encode("utf-8", "replace")
            self._head = ""
        if not self._ended:
            rest = self._text(self._start, self._base + len(self._raw))
            if self._speech or _has_speech(rest) or "<" in rest:  # an unfinished element may speak
                closing = "".join(f"</{name}>" for name in reversed(self._names))  # left open by the client
                self._pieces.append(self._doc(self._prefix + rest + closing))
            self._ended = True
        self._raw.clear()
        return self._take()

    def _new_parser(self, first: str) -> None:
        self._parser = parser = SsmlReader(self)
        head = first.lstrip()
        if not head.startswith(_OWN_ROOT):  # a DOCTYPE is the reader's to refuse, not text
            self._root_seen = True
            self._base = self._start = 7  # `<speak>` is not part of the stream: offsets shift by 7 bytes
            parser.feed(b"<speak>")

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
        return self._parser.index

    def _tag_end(self, index: int) -> int:
        """The stream offset after the tag that starts at `index` (a `>` in a quoted value is not its end)."""
        end = tag_end(self._raw, index - self._base)
        return self._base + end if end >= 0 else self._base + len(self._raw)

    # SsmlEvents: what the reader reports
    def start(self, name: str, attrs: dict[str, str], depth: int) -> None:
        self._run = None
        if self._parser is not None and self._index() < self._base:
            return  # the `<speak>` this stream lacked, opened for it
        if not self._root_seen:
            self._root_seen = True
            if local_name(name) == "speak":
                self._speak_tag = _reopen_tag(name, attrs, ("xml:lang",))
                self._start = self._tag_end(self._index())
                del self._raw[:self._start - self._base]
                self._base = self._start
            return
        if element_speaks(local_name(name), attrs):
            self._speech = True
        self._stack.append(_reopen_tag(name, attrs))
        self._names.append(name[:64])

    def end(self, name: str) -> None:
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

    def data(self, data: str) -> None:
        if self._stack:
            if self._base + len(self._raw) - self._start > 8 * self.max_chars:
                self._cut(self._index(), reopen=True)  # a span too long to hold: cut it (before this text)
        elif self._run is None:
            self._run = self._run_from = self._index()
            self._run_retry = self._run_check = 0
        if _has_speech(data):
            self._speech = True

    def other(self) -> None:
        self._run = None

    def _split_run(self) -> None:
        """Cut the top-level text run at its sentence ends (each complete once text follows it), and
        a run without one at its last space past `max_chars`. Only the run's undecided tail is read
        (from `_run_from`): an end is decided once a letter follows it, and the split of a tail that
        starts at whitespace judges its ends as the whole run's split would (a word, a title, an
        initial never reach back past a space)."""
        while self._run is not None:
            end = self._base + len(self._raw)
            long = end - self._run > self.max_chars and end >= self._run_check
            attempt = self._run_breaks and end - self._run_from >= self._run_retry
            if not long and not attempt:
                return
            cut = None  # a stream offset
            if attempt:
                tail = self._text(self._run_from, end)
                lt = tail.find("<")
                if lt >= 0:
                    tail = tail[:lt]  # a tag not read yet
                sentences = split_sentences(tail, self.lang)
                if len(sentences) >= 2:
                    cut = self._run_from + len(tail[:tail.rfind(sentences[-1])].encode("utf-8", "replace"))
                else:
                    gap = _last_word_gap(tail, 0)
                    if gap > 0:
                        self._run_from += len(tail[:gap].encode("utf-8", "replace"))
                        self._run_retry = 0
                    else:
                        undecided = end - self._run_from
                        self._run_retry = 2 * undecided if undecided >= _MIN_RETRY else 0
                    self._run_breaks = not SENTENCE_BREAKS.isdisjoint(tail[gap:])
            run = self._text(self._run, end) if cut is None and long else ""
            if cut is None and long:
                lt = run.find("<")
                if lt >= 0:
                    run = run[:lt]
                if len(run) > self.max_chars:
                    space = run.rfind(" ", self.max_chars // 2, self.max_chars)
                    cut = self._run + len(run[:space if space > 0 else self.max_chars].encode("utf-8", "replace"))
                else:  # not long in characters: no sooner than that many more bytes can make it so
                    self._run_check = end + self.max_chars - len(run)
            if cut is None:
                return
            head = self._text(self._run, cut)
            rest = self._text(cut, end)
            lt = rest.find("<")
            rest = rest[:lt] if lt >= 0 else rest
            self._speech = self._speech or _has_speech(head)
            self._cut(cut)
            if self._start != cut:  # nothing to say yet: the run joins what follows, decided up to here
                self._run_from, self._run_retry = cut, 0
                self._run_breaks = not SENTENCE_BREAKS.isdisjoint(rest)
                return
            self._speech = _has_speech(rest)
            self._run = self._run_from = cut
            self._run_retry = self._run_check = 0
            self._run_breaks = not SENTENCE_BREAKS.isdisjoint(rest)

    def _break_down(self) -> None:
        """The stream is not well-formed from here: read the open piece and the rest as plain text."""
        rest = self._prefix + self._text(self._start, self._base + len(self._raw))
        self._broken = True
        self._parser = None
        self._raw.clear()
        self._pieces.extend(self._doc(s) for s in self._plain_add(rest))
