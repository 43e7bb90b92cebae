"""Kokoro-82M inference: text → phonemes → ≤ 510-token chunks → 24 kHz speech.

Knows nothing about Wyoming. Heavy pieces (torch model, spaCy, language extras) load lazily.
"""

__version__ = "0.1.0"
SAMPLE_RATE = 24000
