"""Text normalization before G2P: numbers, units, times, symbols, markdown → speakable words."""

from __future__ import annotations


def normalize(text: str, lang: str) -> str:
    """Return `text` rewritten so the G2P of language `lang` can speak it.

    Placeholder until the language work lands: returns the text unchanged.
    """
    return text
