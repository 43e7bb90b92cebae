"""Text to phonemes: normalization, sentences and ≤ 510-token chunks, SSML, the household lexicon, and the G2P of every language (`g2p/`). No torch."""
