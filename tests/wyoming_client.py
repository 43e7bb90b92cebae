"""Talking to a server under test the way Home Assistant does: the `wyoming` client over TCP."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import numpy as np
from wyoming.audio import AudioChunk
from wyoming.client import AsyncTcpClient
from wyoming.event import Event


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
