"""script/test-container's client: describe, a plain and a streaming synthesis through the mapped port,
with the `wyoming` client as Home Assistant uses it. Exit 0 only when every reply is real audio.
  container_check.py PORT [--quick] [--timeout S]
--quick (the emulated aarch64 check): describe and one short plain sentence only."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import numpy as np
from wyoming.audio import AudioChunk
from wyoming.client import AsyncTcpClient
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop

TEXT = "こんにちは。今日はいい天気ですね。"  # the offline default voice (jf_alpha) is Japanese
SHORT = "今日はいい天気ですね。"  # --quick: one sentence, minutes under emulation


async def exchange(port: int, events: list[Event], until: str) -> list[Event]:
    async with AsyncTcpClient("127.0.0.1", port) as client:
        for event in events:
            await client.write_event(event)
        got: list[Event] = []
        while True:
            event = await client.read_event()
            if event is None:
                raise RuntimeError(f"connection closed after {[g.type for g in got]}")
            got.append(event)
            if event.type == until:
                return got


def samples(events: list[Event]) -> np.ndarray:
    chunks = [np.frombuffer(AudioChunk.from_event(e).audio, np.int16) for e in events if AudioChunk.is_type(e.type)]
    return np.concatenate(chunks) if chunks else np.zeros(0, np.int16)


def check_audio(what: str, audio: np.ndarray, rate: int = 24000) -> bool:
    seconds = len(audio) / rate
    rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2))) if len(audio) else 0.0
    ok = seconds >= 0.8 and rms >= 300.0
    print(f"{what}: {seconds:.2f} s of audio, RMS {rms:.0f}: {'ok' if ok else 'TOO SHORT OR SILENT'}")
    return ok


async def main(port: int, quick: bool) -> int:
    info = Info.from_event((await exchange(port, [Describe().event()], "info"))[-1])
    voices = [v.name for program in info.tts for v in program.voices]
    streaming = any(program.supports_synthesize_streaming for program in info.tts)
    print(f"describe: {len(voices)} voice(s), streaming {streaming}, e.g. {voices[:5]}")
    ok = bool(voices) and streaming
    text = SHORT if quick else TEXT
    t0 = time.monotonic()
    plain = await exchange(port, [Synthesize(text=text).event()], "audio-stop")
    print(f"plain synthesis of {text!r} took {time.monotonic() - t0:.1f} s")
    ok &= check_audio("plain synthesis", samples(plain))
    if quick:
        return 0 if ok else 1
    half = len(TEXT) // 2
    t0 = time.monotonic()
    stream = await exchange(port, [SynthesizeStart().event(), SynthesizeChunk(text=TEXT[:half]).event(),
                                   SynthesizeChunk(text=TEXT[half:]).event(), SynthesizeStop().event()],
                            "synthesize-stopped")
    print(f"streaming synthesis took {time.monotonic() - t0:.1f} s")
    ok &= check_audio("streaming synthesis", samples(stream))
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("port", type=int)
    parser.add_argument("--quick", action="store_true", help="describe and one short plain sentence")
    parser.add_argument("--timeout", type=float, default=300.0, help="for the whole check, in seconds")
    args = parser.parse_args()
    sys.exit(asyncio.run(asyncio.wait_for(main(args.port, args.quick), args.timeout)))
