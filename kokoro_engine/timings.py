"""Word timings from the model's own durations: when each word of a chunk is spoken, to the frame.

The prosody predictor decides how many frames each phoneme token lasts (`KokoroModel.forward`'s
second result, pad tokens at both ends included); the decoder turns every frame into FRAME_SAMPLES
samples, so a chunk's audio is exactly `sum(durations) * FRAME_SAMPLES` samples long. A word's
phonemes are found in the chunk's phoneme string through the G2P's word boundaries; its start is the
frame where its first phoneme token starts, its end where its last one ends.

Word boundaries come from misaki's English G2P (`phonemize_words`: each token's text with its
phonemes), for English (`a`, `b`) and for the Latin-script words that Japanese and Mandarin text
hands to the English G2P (their digits are read natively: no timings). The other readers return a phoneme string without tokens (misaki's Japanese
and Mandarin G2Ps return `None` for them; espeak-ng): their words get no timings. A word whose phonemes are not in the
chunk as the G2P gives them (a household lexicon entry, inline phonemes) is left out.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from kokoro_engine.audio import SAMPLE_RATE

# Samples per duration frame at 24 kHz: the decoder's last block doubles the frames, the generator
# upsamples 10 × 6 and the iSTFT hops 5 (config-v1_0.json): 2 × 300.
FRAME_SAMPLES = 600
FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE
# Languages whose G2P gives word boundaries, and those that read Latin-script runs with it.
WORD_LANGUAGES = frozenset("ab")
LATIN_RUN_LANGUAGES = frozenset("jz")


@dataclass(frozen=True)
class WordTiming:
    word: str
    start: float  # seconds from the start of the chunk's audio
    end: float


def words_with_phonemes(text: str, lang: str) -> list[tuple[str, str]]:
    """(word, phonemes) of `text` in reading order for languages whose G2P gives word boundaries;
    [] for the others. Punctuation tokens are not words."""
    # the very runs `latin_runs_in_english` hands to the English G2P (digits stay the native reader's)
    from kokoro_engine.text.g2p import _FULL_WIDTH, _LATIN_RUN, get_g2p

    if lang in WORD_LANGUAGES:
        runs = [text]
    elif lang in LATIN_RUN_LANGUAGES:
        runs = [run.translate(_FULL_WIDTH) for run in _LATIN_RUN.findall(text)]
    else:
        return []
    g2p = get_g2p(lang if lang in WORD_LANGUAGES else "a")
    split = getattr(g2p, "phonemize_words", None)
    if split is None:
        return []
    return [(w.text, w.phonemes) for run in runs for w in split(run)
            if w.phonemes and any(ch.isalnum() for ch in w.text)]


def word_timings(words: Sequence[tuple[str, str]], phonemes: str, durations: Sequence[int],
                 vocab: Collection[str]) -> list[WordTiming]:
    """Each word's start and end in the chunk's audio. `phonemes` is the chunk's phoneme string as
    tokenized (characters outside `vocab` have no token), `durations` the model's frames per token
    with the pad token at each end."""
    token_at = [0] * (len(phonemes) + 1)  # token index of each character position
    for i, ch in enumerate(phonemes):
        token_at[i + 1] = token_at[i] + (ch in vocab)
    frame_at = [0]  # frame where token k starts (k = 0 is the leading pad)
    for d in durations:
        frame_at.append(frame_at[-1] + int(d))
    out = []
    cursor = 0
    for word, word_phonemes in words:
        found = phonemes.find(word_phonemes, cursor)
        if found < 0:
            continue
        first, last = token_at[found], token_at[found + len(word_phonemes)]
        cursor = found + len(word_phonemes)
        if last <= first or last + 1 >= len(frame_at):
            continue
        out.append(WordTiming(word, frame_at[first + 1] * FRAME_SECONDS, frame_at[last + 1] * FRAME_SECONDS))
    return out
