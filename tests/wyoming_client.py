"""Talking to a server under test the way Home Assistant does: the `wyoming` client over TCP."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
from wyoming.audio import AudioChunk
from wyoming.client import AsyncTcpClient
from wyoming.event import Event

ROOT = Path(__file__).resolve().parent.parent


def run(coro: Coroutine[Any, Any, Any], timeout: float = 280) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def exchange(port: int, events: list[Event], until: str = "audio-stop") -> list[Event]:
    """Send `events` on a new connection and read until an event of type `until` (inclusive)."""
    async with AsyncTcpClient("127.0.0.1", port) as client:
        for e in events:
            await client.write_event(e)
        got = []
        while True:
            ev = await client.read_event()
            assert ev is not None, f"connection closed after {[g.type for g in got]}"
            got.append(ev)
            if ev.type == until:
                return got


def audio_samples(events: list[Event]) -> np.ndarray:
    """The int16 samples of all audio-chunk events, in order."""
    return np.concatenate([np.frombuffer(AudioChunk.from_event(e).audio, np.int16)
                           for e in events if AudioChunk.is_type(e.type)] or [np.zeros(0, np.int16)])


@contextlib.contextmanager
def served(*args: str, timeout: float = 300) -> Iterator[tuple[int, IO[str]]]:
    """A real `python -m wyoming_kokoro` on a free port with the offline fallback and extra `args`;
    yields (port, log file) once it accepts connections, and checks a clean exit afterwards."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
    with tempfile.TemporaryDirectory() as data, tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen([sys.executable, "-m", "wyoming_kokoro", "--uri", f"tcp://127.0.0.1:{port}",
                                 "--data-dir", data, *args], cwd=ROOT, env=env, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"server did not start: {log.read()[-2000:]}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.5)
            yield port, log
        finally:
            proc.terminate()
            code = proc.wait(timeout=20)
        assert code == 0, f"server exited with {code}"
        log.seek(0)
        assert "Task exception was never retrieved" not in log.read()
