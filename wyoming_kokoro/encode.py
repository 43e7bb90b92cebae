"""Incremental audio encoding for streamed HTTP responses: libsndfile (via soundfile) does the encoding.

libsndfile writes to a file-like object through seek/tell/write. Most of its formats go back at close
to fill in lengths (WAV sizes, FLAC STREAMINFO, MP3's Xing frame); a stream has already sent those bytes,
so `_Sink` passes on only what lies beyond what was sent and drops later rewrites of sent bytes:
- WAV: the sizes of the first header are set to 0xFFFFFFFF, the convention for a stream of unknown length.
- MP3: the Xing/LAME frame stays the silent placeholder LAME writes first. Constant bit rate, so a
  decoder's length estimate from the first frame's bit rate holds (with VBR libsndfile misreads it).
- Ogg Opus: written strictly forward; nothing to drop.
- FLAC: a STREAMINFO without the sample count is legal, but libsndfile (soundfile) cannot read such a
  file, so FLAC is not streamed: the complete file goes out when synthesis ends (the HTTP adapter
  still looks for a departed client after every chunk). Held until then, a FLAC reply has its own
  audio cap, `FLAC_MAX_SECONDS` (5 minutes: at most 14 MB of 16-bit audio, twice that while it is
  handed over), so a request of silences cannot make the server hold hundreds of MB.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from kokoro_engine import SAMPLE_RATE

FLAC_MAX_SECONDS = 300.0


@dataclass(frozen=True)
class AudioFormat:
    name: str
    content_type: str
    sf_format: str | None  # None: raw 16-bit little-endian PCM, no container
    sf_subtype: str | None = None
    streams: bool = True  # bytes go out as audio is produced (else all at the end)
    options: tuple[tuple[str, object], ...] = ()  # further soundfile.SoundFile arguments
    max_seconds: float | None = None  # a cap on a reply's audio below --max-audio-seconds (None: none)


FORMATS: dict[str, AudioFormat] = {
    "wav": AudioFormat("wav", "audio/wav", "WAV", "PCM_16"),
    # compression_level 0.5 at 24 kHz mono: 80 kbit/s
    "mp3": AudioFormat("mp3", "audio/mpeg", "MP3", "MPEG_LAYER_III",
                       options=(("bitrate_mode", "CONSTANT"), ("compression_level", 0.5))),
    "opus": AudioFormat("opus", "audio/ogg; codecs=opus", "OGG", "OPUS"),
    "flac": AudioFormat("flac", "audio/flac", "FLAC", "PCM_16", streams=False, max_seconds=FLAC_MAX_SECONDS),
    "pcm": AudioFormat("pcm", "audio/pcm", None),
}


def available_formats() -> list[str]:
    """The formats this libsndfile can encode (the soundfile wheels ship all of them)."""
    import soundfile

    have = soundfile.available_formats()
    return [name for name, fmt in FORMATS.items()
            if fmt.sf_format is None or (fmt.sf_format in have
                                         and fmt.sf_subtype in soundfile.available_subtypes(fmt.sf_format))]


class _Sink(io.RawIOBase):
    """Seekable write-only target that hands out each byte once, in order (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self._pending = bytearray()  # written but not yet taken
        self._sent = 0  # bytes taken so far
        self._pos = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        end = self._sent + len(self._pending)
        self._pos = offset if whence == io.SEEK_SET else (self._pos + offset if whence == io.SEEK_CUR
                                                          else end + offset)
        return self._pos

    def write(self, data: bytes) -> int:  # type: ignore[override]
        data = bytes(data)
        n, start = len(data), self._pos - self._sent
        if start < 0:  # a rewrite of bytes already sent: keep only what reaches past them
            data, start = data[-start:], 0
        if start > len(self._pending):
            self._pending.extend(bytes(start - len(self._pending)))
        self._pending[start:start + len(data)] = data
        self._pos += n
        return n

    def take(self) -> bytes:
        out = bytes(self._pending)
        self._sent += len(out)
        self._pending.clear()
        return out


class StreamEncoder:
    """int16 audio in, encoded bytes out as soon as the codec produces them; `finish()` flushes. The
    service's `Encoder`: it runs on the worker thread, so encoding (Opus is the costly one) stays off
    the event loop."""

    def __init__(self, fmt: str, rate: int = SAMPLE_RATE) -> None:
        self.format = FORMATS[fmt]
        self.max_seconds = self.format.max_seconds  # the service caps the reply's audio here
        self._file = None
        self._first = True
        if self.format.sf_format is not None:
            import soundfile

            self._sink = _Sink()
            self._file = soundfile.SoundFile(self._sink, "w", samplerate=rate, channels=1,
                                             format=self.format.sf_format, subtype=self.format.sf_subtype,
                                             **dict(self.format.options))

    def feed(self, pcm: np.ndarray) -> bytes:
        """Encode 16-bit PCM (the service's int16 audio; libsndfile takes it as it is)."""
        pcm = np.asarray(pcm, dtype=np.int16)
        if self._file is None:
            return pcm.astype("<i2").tobytes()
        self._file.write(pcm)
        return self._take() if self.format.streams else b""

    def finish(self) -> bytes:
        if self._file is None:
            return b""
        self._file.close()
        return self._take()

    def close(self) -> None:
        """Release the encoder without using its output (the request went away)."""
        if self._file is not None and not self._file.closed:
            self._file.close()

    def _take(self) -> bytes:
        out = self._sink.take()
        if self._first and out and self.format.sf_format == "WAV":
            out = _unknown_wav_sizes(out)
        self._first = self._first and not out
        return out


def _unknown_wav_sizes(header: bytes) -> bytes:
    """RIFF and data chunk sizes set to 0xFFFFFFFF, the convention for a WAV stream of unknown length."""
    data = bytearray(header)
    data[4:8] = b"\xff\xff\xff\xff"
    at = data.find(b"data", 12)
    if at >= 0:
        data[at + 4:at + 8] = b"\xff\xff\xff\xff"
    return bytes(data)
