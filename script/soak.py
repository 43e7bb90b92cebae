"""Soak the Wyoming server: N requests of mixed lengths, resident memory of the server process
at the start, every 100 requests, and at the end (issue 5: flat within ±5 %, peak ≤ 1.5 GB).

Run through `script/soak [--requests 1000]`; it starts its own server on a free port.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from wyoming.audio import AudioChunk
from wyoming.client import AsyncTcpClient
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from kokoro_engine.tools.benchmark import TEXTS  # noqa: E402

# Mostly short Home Assistant replies, some longer answers; every fifth request streams.
MIX = ["short", "short", "medium", "short", "long", "short", "medium", "short", "short", "verylong"]


def rss_mb(pid: int) -> tuple[float, float]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health(http_port: int) -> tuple[float, float]:
    """MB the audio cache holds and the worker's memory floor (resident right after its last idle
    release, before it faults `retain_bytes` of free heap back in), from the server's own /health:
    the cache may fill to its bound, so the soak reports RSS with the cache, without it, and the
    floor, which is where a leak would show."""
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/health", timeout=10) as r:
        h = json.load(r)
    return h["audio_cache_bytes"] / 2**20, (h["memory"]["floor_bytes"] or 0) / 2**20


def idle_rss_mb(pid: int) -> tuple[float, float]:
    """RSS once the worker is idle: the last audio reaches us just before the server returns the
    request's freed buffers to the OS, so sampling at once would sometimes catch them."""
    time.sleep(1.0)
    return rss_mb(pid)


async def one(port: int, i: int) -> float:
    text = f"{TEXTS[MIX[i % len(MIX)]]} Request {i}."  # unique text: no cache hits
    async with AsyncTcpClient("127.0.0.1", port) as client:
        if i % 5 == 4:
            await client.write_event(SynthesizeStart().event())
            for word in text.split(" "):
                await client.write_event(SynthesizeChunk(text=word + " ").event())
            await client.write_event(SynthesizeStop().event())
            until = "synthesize-stopped"
        else:
            await client.write_event(Synthesize(text=text).event())
            until = "audio-stop"
        seconds = 0.0
        while True:
            event = await asyncio.wait_for(client.read_event(), 300)
            if event is None:
                raise RuntimeError(f"request {i}: connection closed early")
            if AudioChunk.is_type(event.type):
                chunk = AudioChunk.from_event(event)
                seconds += len(chunk.audio) / (chunk.width * chunk.rate)
            if event.type == until:
                return seconds


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--requests", type=int, default=1000)
    p.add_argument("--every", type=int, default=100)
    p.add_argument("server_args", nargs="*", help="extra wyoming-kokoro arguments (after --)")
    args = p.parse_args()
    port, http_port = free_port(), free_port()
    # A killed soak stops its server too (SIGTERM would otherwise skip the `finally` below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    log = open(ROOT / "data" / "soak-server.log", "w") if (ROOT / "data").is_dir() else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-m", "wyoming_kokoro", "--uri", f"tcp://127.0.0.1:{port}",
                             "--http", f"tcp://127.0.0.1:{http_port}",
                             "--data-dir", str(ROOT / "data"), *args.server_args],
                            cwd=ROOT, stdout=log, stderr=log, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise SystemExit("soak: the server exited during startup") from None
                time.sleep(0.5)
        # Warm up with one request of every length (plain and streaming): the first long request
        # sizes the allocator's pools once. Each is followed by a pause, as a household's requests
        # are, so the worker's idle work (handing a long reply's heap back, faulting a short reply's
        # working set in again) is done before the next one; the timed run sends back to back.
        # Flatness is judged from there; the peak column shows the whole run, warm-up included.
        for i in range(-len(MIX), 0):
            asyncio.run(one(port, i))
            time.sleep(1.0)
        start_rss, start_peak = idle_rss_mb(proc.pid)
        start_cache, start_floor = health(http_port)
        print(f"# {time.strftime('%Y-%m-%d %H:%M')} soak: {args.requests} requests, server pid {proc.pid}")
        print(f"{'requests':>8} {'RSS MB':>8} {'vs start':>8} {'cache MB':>8} {'w/o cache':>9} {'floor MB':>8} {'vs start':>8} "
              f"{'peak MB':>8} "
              f"{'audio s':>8} {'wall s':>7}", flush=True)

        def row(i: int, rss: float, cache: float, floor: float, peak: float, audio: float, wall: float) -> float:
            without = 100 * ((rss - cache) / (start_rss - start_cache) - 1)
            floors.append(100 * (floor / start_floor - 1))
            print(f"{i:>8} {rss:>8.0f} {100 * (rss / start_rss - 1):>+7.1f}% {cache:>8.1f} {without:>+8.1f}% "
                  f"{floor:>8.0f} {floors[-1]:>+7.1f}% {peak:>8.0f} {audio:>8.0f} {wall:>7.0f}", flush=True)
            return without

        floors: list[float] = []
        row(0, start_rss, start_cache, start_floor, start_peak, 0, 0)
        audio, t0 = 0.0, time.monotonic()
        samples, without_cache = [], []
        for i in range(1, args.requests + 1):
            audio += asyncio.run(one(port, i))
            if i % args.every == 0 or i == args.requests:
                rss, peak = idle_rss_mb(proc.pid)
                samples.append(rss)
                without_cache.append(row(i, rss, *health(http_port), peak, audio, time.monotonic() - t0))
        drift = [100 * (rss / start_rss - 1) for rss in samples]
        print(f"# after warm-up: RSS {min(drift):+.1f}..{max(drift):+.1f}% with the audio cache, "
              f"{min(without_cache):+.1f}..{max(without_cache):+.1f}% without, "
              f"floor {min(floors):+.1f}..{max(floors):+.1f}% (target ±5 %), peak {rss_mb(proc.pid)[1]:.0f} MB (target ≤ 1536 MB)")
        return 0
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
