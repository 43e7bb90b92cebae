"""Voice catalog (catalog.json) and the voice packs we ship, installed as package `kokoro_voices`."""
