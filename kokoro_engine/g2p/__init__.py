"""Grapheme-to-phoneme registry (filled in by the G2P work)."""
