"""Sentence splitting and ≤ 510-token phoneme chunks.

Kokoro's context is 512 tokens including the two pad tokens, so one forward pass speaks at most 510
phoneme tokens. Text is first split into sentences (cheap, language-aware heuristics), each sentence
is phonemized on its own, and a sentence whose phonemes are still too long is cut at the best place
that keeps every chunk within the limit: a sentence end, then a clause mark, then a space, and only
as a last resort inside a word. Nothing but whitespace at the cuts is ever dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from typing import Protocol

__all__ = ["MAX_TOKENS", "SENTENCE_BREAKS", "chunk_phonemes", "count_tokens", "iter_text_chunks", "iter_text_turns", "split_sentences", "text_to_chunks"]

MAX_TOKENS = 510
# A sentence longer than this is phonemized in pieces (cut at a clause mark, else a space): each step
# of a lazy plan then costs a bounded G2P, whatever a client sends (one "sentence" of 100k characters
# would otherwise hold the worker for minutes). Ordinary sentences are far shorter.
MAX_G2P_CHARS = 1000

# --- sentence splitting -------------------------------------------------------------------------

# Latin-script enders need whitespace (or the end, or a CJK/inverted mark) after them, which is what
# keeps "3.5", "example.com" and "e.g.x" whole.
_LATIN_ENDERS = ".!?…"
# These end a sentence wherever they are: CJK text has no spaces, Hindi puts the danda anywhere.
_UNCONDITIONAL_ENDERS = "。！？｡．।॥"
_ALL_ENDERS = _LATIN_ENDERS + _UNCONDITIONAL_ENDERS + "‼⁇⁈⁉"
# Every character at which split_sentences can cut (a text without any is one sentence).
SENTENCE_BREAKS = frozenset(_ALL_ENDERS + "\n")
# Closing quotes/brackets after an ender belong to the sentence that ends ('He said "Go."').
_CLOSERS = "\"'”’»)]}」』）】〕›"
# Skipped when looking at the first letter of what follows an ender.
_OPENERS = "\"'“‘«([{「『（【〔‹¿¡"
# Spanish inverted marks open a sentence, so an ender directly followed by one is a boundary.
_SENTENCE_OPENERS = "¿¡"

# Titles precede a name: a period after them never ends the sentence.
_TITLES = frozenset(
    """mr mrs ms mx dr prof st sr jr mt ft gen col lt sgt capt cmdr adm rev hon gov sen rep pres supt
    insp messrs vs cf viz approx ca sra srta dra dña mme mlle sig dott ing avv sto sta""".split()
)
# Abbreviations that precede a number: "No. 5", "Fig. 3", "Jan. 12".
_BEFORE_NUMBER = frozenset(
    """no nos nr vol vols fig figs p pp ch chap sec art eq ex op ed
    jan feb mar apr jun jul aug sep sept oct nov dec""".split()
)


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return (
        0x3040 <= o <= 0x30FF  # kana
        or 0x3400 <= o <= 0x4DBF
        or 0x4E00 <= o <= 0x9FFF  # CJK ideographs
        or 0xF900 <= o <= 0xFAFF
        or 0xFF00 <= o <= 0xFFEF  # full/half-width forms
        or 0xAC00 <= o <= 0xD7AF  # Hangul
    )


def _next_letter(text: str, j: int) -> str:
    """First character at or after j that is neither whitespace nor an opening mark ('' at the end)."""
    n = len(text)
    while j < n and (text[j].isspace() or text[j] in _OPENERS):
        j += 1
    return text[j] if j < n else ""


def _word_before(text: str, i: int) -> str:
    """The non-space run ending just before index i, without leading opening marks."""
    k = i
    while k > 0 and not text[k - 1].isspace():
        k -= 1
    return text[k:i].lstrip(_OPENERS)


def _period_ends_sentence(text: str, i: int, j: int, lang: str) -> bool:
    """Judge a lone '.' at index i (j = index after it and any closers) that is followed by a space/end."""
    word = _word_before(text, i)
    nxt = _next_letter(text, j)
    if not nxt:
        return True
    if nxt.islower():
        # "e.g. this", "etc. and", "approx. five": a lowercase continuation is the same sentence.
        return False
    key = word.lower().rstrip(".")
    if key in _TITLES:
        return False
    if key in _BEFORE_NUMBER and nxt.isdigit():
        return False
    # An initial: "J. R. R. Tolkien". English "I." is the pronoun far more often than an initial.
    if len(word) == 1 and word.isalpha() and word.isupper() and not (word == "I" and lang in ("a", "b")):
        return False
    return True


def split_sentences(text: str, lang: str) -> list[str]:
    """Split `text` into sentences, stripped of surrounding whitespace, none empty.

    Ends: `. ! ? …` (followed by whitespace), `。！？` and the Hindi danda `।` (anywhere), blank lines,
    and a line break before a line that does not start in lowercase (headings, list items). Periods
    after titles (Mr., Dr.), initials (J. R. R.), inside numbers (3.5) or before a lowercase word
    (e.g. this) do not end a sentence. `¿`/`¡` open the next sentence. Only whitespace between
    sentences is dropped.
    """
    from kokoro_engine.text.g2p import LANGUAGES, resolve_lang

    if lang and lang not in LANGUAGES:  # the engine passes resolved codes
        try:
            lang = resolve_lang(lang)
        except ValueError:
            pass  # splitting does not need a known language; the heuristics just get less specific
    n = len(text)
    cuts: list[int] = []
    i = 0
    while i < n:
        ch = text[i]
        if ch == "\n":
            j = i + 1
            while j < n and text[j].isspace():
                j += 1
            blank_line = "\n" in text[i + 1 : j]
            nxt = _next_letter(text, j)
            if j < n and (blank_line or not nxt.islower()):
                cuts.append(j)
            i = j
            continue
        if ch not in _ALL_ENDERS:
            i += 1
            continue
        # A run of enders ("?!", "...", "。」") plus closing marks is one sentence end.
        j = i
        while j < n and text[j] in _ALL_ENDERS:
            j += 1
        run = text[i:j]
        run_end = j
        while j < n and text[j] in _CLOSERS:
            j += 1
        if any(c not in _LATIN_ENDERS for c in run):
            # 「はい。」と言った / “好。”他说: a quote closed and continued without a break is
            # reported speech inside the sentence, not its end.
            ends = not (j > run_end and j < n and _is_cjk(text[j]) and text[j] not in _OPENERS + _ALL_ENDERS)
        elif j < n and "." not in run and text[j].isupper():
            ends = True  # a missing space after "!"/"?" ("¿Qué tal?Bien.") is still a sentence end
        elif j < n and not (text[j].isspace() or text[j] in _SENTENCE_OPENERS or _is_cjk(text[j])):
            ends = False  # 3.5, example.com, e.g.x
        elif run == ".":
            ends = _period_ends_sentence(text, i, j, lang)
        else:
            # "!", "?", "...", "…": a following lowercase word continues the sentence ("Well... maybe").
            ends = not _next_letter(text, j).islower()
        if ends and j < n:
            cuts.append(j)
        i = j
    sentences = []
    start = 0
    for cut in [*cuts, n]:
        piece = text[start:cut].strip()
        if piece:
            sentences.append(piece)
        start = cut
    return sentences


# --- phoneme chunking ---------------------------------------------------------------------------

_PS_SENTENCE_END = ".!?…"
_PS_CLAUSE = ",;:—"
_PS_CLOSERS = "”\")»"
# Characters that modify the phone before them (or, for stress marks, the vowel after them): a hard
# cut must not separate them from their phone.
_PS_MODIFIERS = "ːˑ\u0303\u0329ʰʲᵝ"
_PS_STRESS = "ˈˌ"


def count_tokens(phonemes: str, vocab: Collection[str]) -> int:
    """How many model tokens `phonemes` makes: characters with no id in `vocab` are dropped by the model."""
    return sum(1 for c in phonemes if c in vocab)


def _best_cut(ps: str, start: int, end: int, cum: list[int], target: int) -> int:
    """Where to end a piece that starts at `start` and may extend at most to `end` (exclusive).

    `cum[i]` is the token count of `ps[:i]`; `target` is the piece size (in tokens) that would split
    what is left into equal parts. Among the cuts of the best kind available, the one closest to the
    target wins, so a 600-token sentence becomes two pieces of about 300 rather than 510 + 90.
    """
    n = len(ps)
    levels: tuple[list[int], list[int], list[int]] = ([], [], [])  # sentence end, clause, space
    for c in range(end, start, -1):
        at_space = c == n or ps[c].isspace()
        k = c - 1
        while k > start and ps[k] in _PS_CLOSERS:
            k -= 1
        # Punctuation may be followed directly by the next word (Japanese/Chinese output has no spaces).
        followed_ok = at_space or ps[c - 1] in _PS_SENTENCE_END + _PS_CLAUSE + _PS_CLOSERS
        if followed_ok and ps[k] in _PS_SENTENCE_END:
            levels[0].append(c)
        elif followed_ok and ps[k] in _PS_CLAUSE:
            levels[1].append(c)
        elif at_space and not ps[c - 1].isspace():
            levels[2].append(c)
    for candidates in levels:
        if candidates:
            # Scanning went backwards, so on a tie min() keeps the later (longer) cut.
            return min(candidates, key=lambda c: abs(cum[c] - cum[start] - target))
    # Inside an overlong word: step back so a stress mark stays with its vowel and a length mark,
    # nasalization or palatalization stays with its phone.
    c = end
    while c > start + 1 and (ps[c - 1] in _PS_STRESS or ps[c] in _PS_MODIFIERS):
        c -= 1
    return c


def _chunk_spans(ps: str, vocab: Collection[str], limit: int) -> list[tuple[int, int]]:
    """(start, end) slices of `ps`, each ≤ `limit` tokens, covering every non-whitespace character."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    n = len(ps)
    cum = [0] * (n + 1)
    for i, ch in enumerate(ps):
        cum[i + 1] = cum[i] + (ch in vocab)
    spans: list[tuple[int, int]] = []
    start = 0
    while True:
        while start < n and ps[start].isspace():
            start += 1
        if start >= n:
            return spans
        remaining = cum[n] - cum[start]
        if remaining <= limit:
            cut = n
        else:
            # `end` stops at the token that would exceed the limit: ps[start:end] is the longest fit.
            end = start
            while end < n and not (ps[end] in vocab and cum[end] - cum[start] == limit):
                end += 1
            pieces_needed = -(-remaining // limit)
            cut = _best_cut(ps, start, end, cum, -(-remaining // pieces_needed))
        stop = cut
        while stop > start and ps[stop - 1].isspace():
            stop -= 1
        spans.append((start, stop))
        start = cut


def chunk_phonemes(phonemes: str, vocab: Collection[str], limit: int = MAX_TOKENS) -> list[str]:
    """Split a phoneme string into pieces of at most `limit` tokens (characters found in `vocab`).

    Cuts prefer sentence-final punctuation, then clause punctuation (`, ; : —`), then spaces, and
    cut inside a word only when one word alone exceeds the limit; among cuts of one kind, the one
    that makes the pieces closest to equal wins. Only whitespace at the cuts is dropped; no piece is
    empty.
    """
    return [phonemes[a:b] for a, b in _chunk_spans(phonemes, vocab, limit)]


def g2p_pieces(sentence: str, limit: int = MAX_G2P_CHARS) -> Iterator[str]:
    """`sentence` in pieces of at most `limit` characters: cut after the last clause mark in the
    second half of the window, else at its last space, else hard at the limit."""
    start, n = 0, len(sentence)
    while n - start > limit:
        end = start + limit
        cut = max(sentence.rfind(mark, start + limit // 2, end) for mark in ",;:—、，")
        cut = cut + 1 if cut >= 0 else sentence.rfind(" ", start + limit // 2, end)
        cut = cut if cut > start else end
        piece = sentence[start:cut].strip()
        if piece:
            yield piece
        start = cut
    piece = sentence[start:].strip()
    if piece:
        yield piece


class _Phonemizer(Protocol):
    def phonemize(self, text: str) -> str: ...


def _text_cut(text: str, ps: str, p: int, previous: int) -> int:
    """Approximate index in `text` matching phoneme index `p` (the start of a new piece)."""
    k = p - 1
    while k >= 0 and (ps[k].isspace() or ps[k] in _PS_CLOSERS):
        k -= 1
    mark = ps[k] if k >= 0 else ""
    # A cut after punctuation: if the text has the same number of that mark, use the same one.
    if mark and mark in _PS_SENTENCE_END + _PS_CLAUSE and text.count(mark) == ps.count(mark):
        nth = ps.count(mark, 0, k + 1)
        pos = -1
        for _ in range(nth):
            pos = text.index(mark, pos + 1)
        t = pos + 1
        while t < len(text) and text[t] in _CLOSERS:
            t += 1
        if previous < t < len(text):
            return t
    # Otherwise proportionally, moved to the nearest space when there is one close by.
    t = round(p / max(len(ps), 1) * len(text))
    t = min(max(t, previous + 1), len(text) - 1)
    best = None
    for d in range(0, 40):
        for cand in (t - d, t + d):
            if previous < cand < len(text) and text[cand].isspace():
                best = cand
                break
        if best is not None:
            break
    return best if best is not None else t


def _split_text(text: str, ps: str, spans: list[tuple[int, int]]) -> list[str]:
    cuts = []
    previous = 0
    for start, _ in spans[1:]:
        t = _text_cut(text, ps, start, previous)
        if t <= previous or t >= len(text):
            t = previous  # cannot place it (text shorter than the pieces): the piece gets no text
        cuts.append(t)
        previous = t
    bounds = [0, *cuts, len(text)]
    return [text[a:b].strip() for a, b in zip(bounds, bounds[1:], strict=False)]


def text_to_chunks(
    text: str,
    lang: str,
    g2p: _Phonemizer | Callable[[str], str],
    vocab: Collection[str],
    limit: int = MAX_TOKENS,
) -> list[tuple[str, str]]:
    """Text → [(text span, phonemes)], each phoneme string ≤ `limit` tokens, in order: the list
    form of `iter_text_chunks` (one chunk per sentence, for the lowest latency)."""
    return list(iter_text_chunks(text, lang, g2p, vocab, limit))


def iter_text_chunks(
    text: str,
    lang: str,
    g2p: _Phonemizer | Callable[[str], str],
    vocab: Collection[str],
    limit: int = MAX_TOKENS,
) -> Iterator[tuple[str, str]]:
    """(text span, phonemes) chunks, each ≤ `limit` tokens, phonemizing one sentence at a time as
    they are asked for: a long reply's first audio waits for its first sentences' G2P, not all of it.

    Long sentences are sub-split with `chunk_phonemes`; the text span of a sub-split piece is
    approximate (aligned on punctuation, else proportional). Sentences that yield no phonemes (a lone
    "—") lend their text to the next chunk, or to the last one at the end, so no text goes missing;
    that is why each chunk is handed out only once the next one (or the end) is known.
    """
    for chunk in iter_text_turns(text, lang, g2p, vocab, limit):
        if chunk is not None:
            yield chunk


def iter_text_turns(
    text: str,
    lang: str,
    g2p: _Phonemizer | Callable[[str], str],
    vocab: Collection[str],
    limit: int = MAX_TOKENS,
    due: Callable[[], bool] | None = None,
) -> Iterator[tuple[str, str] | None]:
    """`iter_text_chunks`, and a None whenever `due()` says the caller's turn is over after a sentence
    that made no chunk (20,000 `!` are 20,000 sentences without a phoneme: a scheduler gets its
    turn back between them, and a cancelled request ends there)."""
    phonemize = g2p.phonemize if hasattr(g2p, "phonemize") else g2p
    held: tuple[str, str] | None = None
    pending: list[str] = []  # text of phoneme-less sentences, prepended to the next chunk's text
    for sentence in (piece for whole in split_sentences(text, lang) for piece in g2p_pieces(whole)):
        ps = phonemize(sentence)
        spans = _chunk_spans(ps, vocab, limit)
        spans = [(a, b) for a, b in spans if count_tokens(ps[a:b], vocab)]
        if not spans:
            pending.append(sentence)
            if due is not None and due():
                yield None
            continue
        texts = [sentence] if len(spans) == 1 else _split_text(sentence, ps, spans)
        for span_text, (a, b) in zip(texts, spans, strict=True):
            if pending:
                span_text, pending = " ".join([*pending, span_text]).strip(), []
            if held is not None:
                yield held
            held = (span_text, ps[a:b])
    if held is not None:
        # else: nothing speakable at all; the caller sees no chunks
        yield (f"{held[0]} {' '.join(pending)}".strip(), held[1]) if pending else held


def split_first_clause(chunks: list[tuple[str, str]], vocab: Collection[str], *, longer_than: int = 40,
                       min_part: int = 12) -> list[tuple[str, str]]:
    """Split the first chunk at its first clause mark (, ; : —) when it is long.

    Time to first audio grows with the first chunk's length (the model renders a chunk at once), so
    a long opening sentence ("The temperature in the living room is twenty one degrees, and …")
    starts sooner when its first clause goes alone. The cut sits where the speaker pauses anyway,
    and both parts keep at least `min_part` tokens so neither sounds clipped. Later chunks stay
    whole: by then audio is already playing.
    """
    if not chunks:
        return chunks
    text, ps = chunks[0]
    if count_tokens(ps, vocab) <= longer_than:
        return chunks
    for i, ch in enumerate(ps):
        if ch in _PS_CLAUSE and count_tokens(ps[: i + 1], vocab) >= min_part:
            head, tail = ps[: i + 1].strip(), ps[i + 1:].strip()
            if count_tokens(tail, vocab) < min_part:
                return chunks
            head_text, tail_text = _split_text(text, ps, [(0, i + 1), (i + 1, len(ps))])
            if not head_text or not tail_text:
                return chunks
            return [(head_text, head), (tail_text, tail), *chunks[1:]]
    return chunks
