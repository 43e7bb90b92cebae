"""`python -m wyoming_kokoro.health_check --uri tcp://host:port [--http tcp://host:port]`: exit 0 if
describe→info works and, with `--http`, the HTTP face's `/health` answers 200 (warm-up has ended)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from urllib.parse import urlparse

from wyoming.client import AsyncClient
from wyoming.info import Describe, Info


async def ready(http_uri: str) -> bool:
    """`GET /health` answers 200: 503 ("starting") until the warm-up has ended."""
    parsed = urlparse(http_uri)
    if parsed.scheme != "tcp" or not parsed.hostname or not parsed.port:
        raise ValueError(f"--http needs tcp://HOST:PORT, got {http_uri!r}")
    reader, writer = await asyncio.open_connection(parsed.hostname, parsed.port)
    try:
        writer.write(f"GET /health HTTP/1.1\r\nHost: {parsed.hostname}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        status_line = await reader.readline()
    finally:
        writer.close()
    parts = status_line.split()
    return len(parts) >= 2 and parts[1] == b"200"


async def check(uri: str, timeout: float, http_uri: str | None = None) -> bool:
    async def round_trip() -> bool:
        async with AsyncClient.from_uri(uri) as client:
            await client.write_event(Describe().event())
            while True:
                event = await client.read_event()
                if event is None:
                    return False
                if Info.is_type(event.type):
                    info = Info.from_event(event)
                    return any(p.installed for p in info.tts)

    async def both() -> bool:
        return await round_trip() and (http_uri is None or await ready(http_uri))

    try:
        return await asyncio.wait_for(both(), timeout)
    except (OSError, asyncio.TimeoutError, ValueError):
        return False


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="wyoming_kokoro.health_check")
    p.add_argument("--uri", default="tcp://127.0.0.1:10200")
    p.add_argument("--http", default=None, metavar="URI",
                   help="also require the HTTP face's /health to answer 200 (ready: warm-up has ended)")
    p.add_argument("--timeout", type=float, default=5.0)
    args = p.parse_args(argv)
    ok = asyncio.run(check(args.uri, args.timeout, args.http))
    print("healthy" if ok else "unhealthy", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
