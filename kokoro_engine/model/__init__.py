"""The Kokoro-82M network, one module per component (StyleTTS2 / iSTFTNet lineage)."""

from kokoro_engine.model.kokoro import KokoroModel

__all__ = ["KokoroModel"]
