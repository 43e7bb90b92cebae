"""Wyoming protocol server for Kokoro-82M text to speech."""

__version__ = "0.1.0"
