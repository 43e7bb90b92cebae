"""Browse `_wyoming._tcp.local.` the way Home Assistant does and report one service as JSON lines.

`python tests/zc_browse.py NAME [TIMEOUT]` prints, one JSON object per line (flushed):
  {"event": "browsing"}                                  once the browser runs
  {"event": "added", "port": ..., "ipv4": [...], "ipv6": [...]}   NAME appeared and was resolved
  {"event": "unresolved"}                                NAME appeared but did not resolve
  {"event": "removed"}                                   NAME said goodbye (then it exits 0)
  {"event": "timeout"}                                   TIMEOUT seconds passed (exit 1)
Used by tests/test_zeroconf.py inside a network namespace.
"""

from __future__ import annotations

import asyncio
import json
import sys

from zeroconf import IPVersion, ServiceStateChange
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

SERVICE_TYPE = "_wyoming._tcp.local."


def emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


async def browse(name: str, timeout: float) -> int:
    full = name if name.endswith(SERVICE_TYPE) else f"{name}.{SERVICE_TYPE}"
    azc = AsyncZeroconf(ip_version=IPVersion.All)
    removed = asyncio.Event()
    tasks: set[asyncio.Task] = set()

    async def resolve() -> None:
        for _ in range(5):
            info = AsyncServiceInfo(SERVICE_TYPE, full)
            if await info.async_request(azc.zeroconf, 3000) and info.parsed_addresses():
                emit(event="added", name=info.name, port=info.port,
                     ipv4=info.parsed_addresses(IPVersion.V4Only),
                     ipv6=info.parsed_addresses(IPVersion.V6Only))
                return
        emit(event="unresolved", name=full)

    def on_change(zeroconf, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if name.lower() != full.lower():
            return
        if state_change is ServiceStateChange.Added:
            task = asyncio.ensure_future(resolve())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        elif state_change is ServiceStateChange.Removed:
            emit(event="removed", name=name)
            removed.set()

    browser = AsyncServiceBrowser(azc.zeroconf, SERVICE_TYPE, handlers=[on_change])
    emit(event="browsing")
    try:
        await asyncio.wait_for(removed.wait(), timeout)
        return 0
    except asyncio.TimeoutError:
        emit(event="timeout")
        return 1
    finally:
        for task in tasks:
            task.cancel()
        await browser.async_cancel()
        await azc.async_close()


if __name__ == "__main__":
    sys.exit(asyncio.run(browse(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 120.0)))
