"""What Kokoro's audio is, for every layer that needs it (a leaf: it imports nothing of the engine)."""

SAMPLE_RATE = 24000  # the iSTFTNet decoder's output rate, in samples per second, mono
