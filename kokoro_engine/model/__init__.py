"""The Kokoro-82M network, one module per component (StyleTTS2 / iSTFTNet lineage)."""

from .kokoro import KokoroModel

__all__ = ["KokoroModel"]
