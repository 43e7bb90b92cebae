"""`python -m wyoming_kokoro.health_check --uri tcp://host:port`: exit 0 if describe→info works."""

from __future__ import annotations

import argparse
import asyncio
import sys

from wyoming.client import AsyncClient
from wyoming.info import Describe, Info


async def check(uri: str, timeout: float) -> bool:
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

    try:
        return await asyncio.wait_for(round_trip(), timeout)
    except (OSError, asyncio.TimeoutError, ValueError):
        return False


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="wyoming_kokoro.health_check")
    p.add_argument("--uri", default="tcp://127.0.0.1:10200")
    p.add_argument("--timeout", type=float, default=5.0)
    args = p.parse_args(argv)
    ok = asyncio.run(check(args.uri, args.timeout))
    print("healthy" if ok else "unhealthy", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
