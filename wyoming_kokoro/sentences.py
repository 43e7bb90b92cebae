"""Incremental sentence boundary detection for streamed text (LLM deltas with arbitrary boundaries).

`SentenceBuffer.add(text)` returns the sentences completed so far; `finish()` returns the rest.
A sentence end is only accepted once the character *after* it has arrived, because "3." may
become "3.5" and "Dr." is followed by a name: we never cut before we can tell.
"""

from __future__ import annotations

import re

# Lower-cased abbreviations that end with a period but do not end a sentence.
ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st vs etc e.g i.e a.m p.m no fig approx dept est inc ltd co corp
    mt ave blvd jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k""".split()
)
_ENDERS = ".!?…"
_CJK_ENDERS = "。！？；"
_CLOSERS = "\"'”’)]}»」』）"
_MARKDOWN = re.compile(r"\*+")


def clean_markdown(text: str) -> str:
    """Strip emphasis asterisks an LLM emits (**bold**, *italic*, bullet stars) so they are not read."""
    return _MARKDOWN.sub("", text)


class SentenceBuffer:
    def __init__(self) -> None:
        self._buf = ""

    def add(self, text: str) -> list[str]:
        self._buf += text
        out: list[str] = []
        while True:
            cut = self._find_boundary(self._buf, final=False)
            if cut is None:
                break
            sentence, self._buf = self._buf[:cut], self._buf[cut:]
            sentence = clean_markdown(sentence).strip()
            if sentence:
                out.append(sentence)
        return out

    def finish(self) -> list[str]:
        rest = self.add("")
        tail = clean_markdown(self._buf).strip()
        self._buf = ""
        return rest + ([tail] if tail else [])

    @staticmethod
    def _find_boundary(buf: str, final: bool) -> int | None:
        """Index just past the first complete sentence end in buf, or None."""
        n = len(buf)
        i = 0
        while i < n:
            ch = buf[i]
            if ch in _CJK_ENDERS:
                j = i + 1
                while j < n and buf[j] in _CLOSERS + _CJK_ENDERS:
                    j += 1
                if j < n:  # need to see what follows to know any closing quote is complete
                    return j
                return None
            if ch == "\n" and i + 1 < n and buf[i + 1] == "\n" and buf[:i].strip():
                return i + 2  # a blank line (paragraph) ends a sentence
            if ch in _ENDERS:
                j = i + 1
                while j < n and (buf[j] in _ENDERS or buf[j] in _CLOSERS or buf[j] == "*"):
                    j += 1
                if j >= n:
                    return None  # cannot tell yet what follows
                if not buf[j].isspace():
                    i = j  # "3.5", "e.g.x", "U.S.A" — not an end
                    continue
                if ch == "." and not _ends_sentence(buf, i):
                    i = j
                    continue
                return j
            i += 1
        return None


def _ends_sentence(buf: str, dot: int) -> bool:
    """Whether the period at buf[dot] ends a sentence (not an abbreviation or an initial)."""
    start = dot
    while start > 0 and not buf[start - 1].isspace() and buf[start - 1] not in "(\"'“‘":
        start -= 1
    word = buf[start:dot].strip("*")
    if not word:
        return True
    if word.lower() in ABBREVIATIONS:
        return False
    if len(word) == 1 and word.isalpha() and word.isupper():
        return False  # an initial: "J. R. R. Tolkien"
    if re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]", word):
        return False  # "U.S.A." style
    return True
